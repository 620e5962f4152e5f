//! Fits every fast forecaster (seasonal naive, Naive2, ETS, AutoARIMA, MSTL, Holt-Winters, the
//! level profile) to an arbitrary history, then updates it with arbitrary values (NaN, ±inf, huge, subnormal) and
//! predicts.
//!
//! Oracle: no panic; a fit, an update and a prediction either fail with an error or succeed, and
//! every prediction that succeeds is consistent: finite, each interval containing its point.
//!
//! `cargo fuzz run forecasters` (needs cargo-fuzz and a nightly toolchain).

use prescient::Timestamp;
use prescient::forecast::{HoltWinters, LevelProfileParams, models};
use prescient::types::ForecastMethod;

const MODELS: [&str; 7] = [
    "snaive",
    "naive2",
    "ets",
    "arima",
    "mstl",
    "holt_winters",
    "level_profile",
];

fn method(name: &str) -> Option<Box<dyn ForecastMethod>> {
    match name {
        "holt_winters" => Some(Box::new(HoltWinters::params(Some(4)))),
        "level_profile" => Some(Box::new(
            LevelProfileParams::new(8).bins(4).periods(2, 1).error_window(32),
        )),
        other => models::method(other, 4).ok(),
    }
}

/// One input of the target: panics when the oracle fails.
pub fn run(data: &[u8]) {
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    let Some(method) = method(MODELS[usize::from(head) % MODELS.len()]) else {
        return;
    };
    let values: Vec<f64> = rest
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
        .take(256)
        .collect();
    // The first part is the history, the rest arrives as updates.
    let split = values.len() * usize::from(head >> 3) / 32;
    let (history, updates) = values.split_at(split);
    let Ok(mut model) = method.fit(history) else {
        return;
    };
    let check = |model: &dyn prescient::types::Forecaster| {
        if let Ok(f) = model.predict(6, 0.8) {
            assert!(f.is_consistent(), "{}: inconsistent forecast {f:?}", model.name());
        }
    };
    check(model.as_ref());
    for (k, &y) in updates.iter().enumerate() {
        let _ = model.update(Timestamp::from_secs(k as i64 * 15), y);
        check(model.as_ref());
    }
}
