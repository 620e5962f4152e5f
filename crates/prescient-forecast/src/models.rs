//! The forecasting models by name, for command lines and configuration files.

use prescient_core::{Error, ForecastMethod, Result};

use crate::{AutoArima, EnsembleParams, GruParams, MstlParams, Naive2Params, SeasonalNaiveParams};

/// The names [`method`] knows, in the order a listing should show them.
#[cfg(not(feature = "prophet"))]
pub const MODEL_NAMES: &[&str] = &[
    "snaive", "naive2", "ets", "mstl", "arima", "gru", "ensemble",
];
/// The names [`method`] knows, in the order a listing should show them.
#[cfg(feature = "prophet")]
pub const MODEL_NAMES: &[&str] = &[
    "snaive", "naive2", "ets", "mstl", "arima", "prophet", "gru", "ensemble",
];

/// The members of the default `ensemble`: a global learner and a local statistical model.
///
/// Chosen on M4 Hourly (`docs/BENCHMARKS.md`): the GRU and MSTL, equally weighted, beat every
/// larger combination tried (adding AutoARIMA, Prophet or the additive ETS made it worse).
/// Through [`method`] the GRU is trained per series, which is slow; the command line trains one
/// global GRU across all series instead.
pub const ENSEMBLE_MEMBERS: &[&str] = &["gru", "mstl"];

/// The default settings of the model called `name`, for series of seasonal period `season` (in
/// steps; 1 for none).
///
/// - `snaive`: [`SeasonalNaiveParams`];
/// - `naive2`: [`Naive2Params`], the M4 benchmark;
/// - `ets`: augurs' AutoETS on the series adjusted by an additive MSTL with periods `season`
///   and `7·season` (daily and weekly for hourly data): [`MstlParams::new`] with
///   [`MstlParams::log`] off;
/// - `mstl`: the same on the log scale, a multiplicative decomposition ([`MstlParams::new`]);
/// - `arima`: [`AutoArima`] on the series adjusted by an additive MSTL with periods `season`
///   and `7·season` ([`AutoArimaParams::seasons`](crate::AutoArimaParams::seasons), the
///   default [`SeasonalStrategy::Decompose`](crate::SeasonalStrategy::Decompose));
/// - `prophet` (feature `prophet`): [`ProphetParams`](crate::ProphetParams) with daily and
///   weekly seasonality, `season` steps taken as one day (hourly for 24);
/// - `gru`: [`GruParams`] trained on the one series (a global model, trained across many
///   series with [`GruParams::fit_global`], is itself a method: [`GruModel`](crate::GruModel));
/// - `ensemble`: [`ensemble`] of [`ENSEMBLE_MEMBERS`].
///
/// The [`CONFORMAL`] models come with conformal intervals calibrated on a 2-fold backtest
/// ([`EnsembleParams::conformal`]); [`base_method`] gives them without.
///
/// augurs' AutoETS has no seasonal models, and an STL with the daily period alone does worse
/// than the seasonal naive forecast on M4 Hourly (OWA 0.70–0.78 against 0.627, see
/// `docs/BENCHMARKS.md`): the weekly cycle is what the decomposition must remove.
///
/// # Errors
///
/// [`Error::InvalidParam`] for an unknown name (the message lists the known ones) or a season
/// of 0.
///
/// # Example
///
/// ```
/// use prescient_forecast::models;
///
/// let ets = models::method("ets", 24)?;
/// assert_eq!(ets.name(), "ets");
/// assert!(models::method("oracle", 24).is_err());
/// # Ok::<(), prescient_core::Error>(())
/// ```
pub fn method(name: &str, season: usize) -> Result<Box<dyn ForecastMethod>> {
    let base = base_method(name, season)?;
    Ok(if CONFORMAL.contains(&name) {
        Box::new(EnsembleParams::conformal(base))
    } else {
        base
    })
}

/// The models whose own intervals are too narrow on M4 Hourly (in-sample errors understate
/// out-of-sample ones: 84–87% coverage at 95%), which [`method`] gives conformal intervals
/// ([`EnsembleParams::conformal`]).
pub const CONFORMAL: &[&str] = &["ets", "mstl", "prophet"];

/// As [`method`], without the conformal intervals of the [`CONFORMAL`] models: for members of
/// an ensemble, which calibrates its own.
///
/// # Errors
///
/// As [`method`].
pub fn base_method(name: &str, season: usize) -> Result<Box<dyn ForecastMethod>> {
    if season == 0 {
        return Err(Error::InvalidParam {
            name: "season",
            reason: "must be at least 1".into(),
        });
    }
    let periods = |ps: &[usize]| -> Vec<usize> { ps.iter().copied().filter(|&p| p >= 2).collect() };
    Ok(match name {
        "snaive" => Box::new(SeasonalNaiveParams::new(season)),
        "naive2" => Box::new(Naive2Params::new(season)),
        "ets" => Box::new(
            MstlParams::new(periods(&[season, 7 * season]))
                .log(false)
                .named("ets"),
        ),
        "mstl" => Box::new(MstlParams::new(periods(&[season, 7 * season]))),
        "arima" => Box::new(AutoArima::params().seasons(&periods(&[season, 7 * season]))),
        #[cfg(feature = "prophet")]
        "prophet" => Box::new(crate::ProphetParams::new().step_secs(step_secs(season))),
        "gru" => Box::new(GruParams::new().season(season)),
        "ensemble" => Box::new(ensemble(ENSEMBLE_MEMBERS, season)?),
        other => {
            return Err(Error::InvalidParam {
                name: "model",
                reason: format!("unknown model `{other}`; known: {}", MODEL_NAMES.join(", ")),
            });
        }
    })
}

/// The step, in seconds, that makes `season` steps one day (Prophet's seasonalities are in
/// days): 3,600 for hourly data.
#[cfg(feature = "prophet")]
fn step_secs(season: usize) -> i64 {
    (86_400 / season.max(1)).max(1) as i64
}

/// An [`EnsembleParams`] of the models called `members` (see [`method`]), with its default
/// combination and backtest.
///
/// # Errors
///
/// As [`method`] for each member; [`Error::InvalidParam`] for an `ensemble` inside an
/// ensemble.
pub fn ensemble(members: &[&str], season: usize) -> Result<EnsembleParams> {
    let methods = members
        .iter()
        .map(|&name| {
            if name == "ensemble" {
                Err(Error::InvalidParam {
                    name: "members",
                    reason: "an ensemble cannot be a member of an ensemble".into(),
                })
            } else {
                base_method(name, season)
            }
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(EnsembleParams::new(methods))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_name_is_known_and_named_so() {
        for &name in MODEL_NAMES {
            let m = method(name, 24).unwrap();
            let expected = match name {
                "snaive" => "seasonal_naive",
                other => other,
            };
            assert_eq!(m.name(), expected);
        }
        assert!(method("snaive", 0).is_err());
    }

    #[test]
    fn every_model_forecasts_a_seasonal_series() {
        let y: Vec<f64> = (0..24 * 20)
            .map(|t| 50.0 + 10.0 * ((t % 24) as f64 / 4.0).sin() + (t % 5) as f64 * 0.1)
            .collect();
        // The GRU's default training (alone or in the default ensemble) is too slow for a
        // debug-mode unit test; its own tests train small networks, and the ensemble's use
        // small members.
        for &name in MODEL_NAMES
            .iter()
            .filter(|&&n| n != "gru" && n != "ensemble")
        {
            let model = method(name, 24).unwrap().fit(&y).unwrap();
            let f = model.predict(48, 0.95).unwrap();
            assert_eq!(f.point.len(), 48);
            assert!(f.is_consistent(), "{name}");
        }
    }
}
