#![doc = include_str!("../README.md")]

mod accuracy;
mod arima;
mod ensemble;
mod gru;
pub mod history;
mod holt_winters;
mod interval;
mod level_profile;
mod log_scale;
pub mod models;
mod mstl;
mod naive2;
mod optim;
#[cfg(feature = "prophet")]
pub mod prophet;
mod seasonal_naive;

pub use accuracy::{Accuracy, AccuracyParams, AccuracyTracker};
pub use arima::{Arima, ArimaOrder, ArimaParams, AutoArima, AutoArimaParams, SeasonalStrategy};
pub use ensemble::{Combination, Ensemble, EnsembleParams};
pub use gru::{
    GruForecaster, GruModel, GruParams, MemberReport, TrainReport, calendar as gru_calendar,
};
pub use holt_winters::{HoltWinters, HoltWintersParams};
pub use level_profile::{LevelProfile, LevelProfileParams};
pub use log_scale::{LogForecaster, LogScale};
pub use mstl::{Mstl, MstlParams};
pub use naive2::{Naive2, Naive2Params};
#[cfg(feature = "prophet")]
pub use prophet::{MapOptimizer, ProphetForecaster, ProphetParams};
pub use seasonal_naive::{SeasonalNaive, SeasonalNaiveParams};

#[cfg(test)]
mod autotraits {
    use super::*;
    use prescient_core::Forecaster;

    fn is_send_sync<T: Send + Sync>() {}

    #[test]
    fn models_are_send_and_sync() {
        is_send_sync::<SeasonalNaive>();
        is_send_sync::<HoltWinters>();
        is_send_sync::<HoltWintersParams>();
        is_send_sync::<Arima>();
        is_send_sync::<ArimaParams>();
        is_send_sync::<AutoArimaParams>();
        is_send_sync::<SeasonalNaiveParams>();
        is_send_sync::<Naive2>();
        is_send_sync::<Naive2Params>();
        is_send_sync::<MstlParams>();
        is_send_sync::<Mstl>();
        is_send_sync::<GruParams>();
        is_send_sync::<GruModel>();
        is_send_sync::<GruForecaster>();
        is_send_sync::<EnsembleParams>();
    }

    fn is_send<T: Send>() {}

    #[test]
    fn wrappers_of_boxed_models_are_send() {
        // They hold `Box<dyn Forecaster>`, which is `Send` only.
        is_send::<Ensemble>();
        is_send::<LogForecaster>();
    }

    #[test]
    fn models_are_object_safe_forecasters() {
        let y: Vec<f64> = (0..48).map(|t| (t % 24) as f64).collect();
        let models: Vec<Box<dyn Forecaster>> = vec![
            Box::new(SeasonalNaive::new(24).unwrap()),
            Box::new(HoltWinters::params(Some(24)).fit(&y).unwrap()),
            Box::new(AutoArima::params().fit(&y).unwrap()),
        ];
        assert_eq!(models[0].name(), "seasonal_naive");
        assert_eq!(models[1].name(), "holt_winters");
        assert_eq!(models[2].name(), "arima");
    }
}
