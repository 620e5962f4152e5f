use super::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `count` hourly series of `len` values: a level between 10 and 10⁴, a daily shape of two
/// harmonics of random phase, quieter weekends (days 5 and 6 of each week), and 5 % lognormal
/// noise. Every series starts on a Monday at midnight.
fn load_series(count: usize, len: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            let level = 10f64.powf(rng.gen_range(1.0..4.0));
            let (p1, p2) = (rng.gen_range(0.0..6.3), rng.gen_range(0.0..6.3));
            let (a1, a2) = (rng.gen_range(0.2..0.5), rng.gen_range(0.0..0.2));
            let weekend = rng.gen_range(0.5..0.9);
            (0..len)
                .map(|t| {
                    let x = std::f64::consts::TAU * (t % 24) as f64 / 24.0;
                    let day = (t / 24) % 7;
                    let w = if day >= 5 { weekend } else { 1.0 };
                    let noise = (0.05 * (rng.gen_range(-1.0f64..1.0) * 1.732)).exp();
                    level * w * (1.0 + a1 * (x + p1).sin() + a2 * (2.0 * x + p2).sin()) * noise
                })
                .collect()
        })
        .collect()
}

fn small() -> GruParams {
    GruParams::new()
        .input(168)
        .horizon(24)
        .hidden(12)
        .epochs(8)
        .steps_per_epoch(25)
        .batch_size(32)
        .learning_rate(3e-3)
        .patience(3)
        .ensemble(1)
}

fn refs(series: &[Vec<f64>]) -> Vec<&[f64]> {
    series.iter().map(|s| s.as_slice()).collect()
}

/// Mean absolute percentage error of forecasts from `history[..n]` against `future`.
fn mape(forecast: &[f64], future: &[f64]) -> f64 {
    forecast
        .iter()
        .zip(future)
        .map(|(f, y)| (f - y).abs() / y.abs())
        .sum::<f64>()
        / future.len() as f64
}

#[test]
fn a_global_model_beats_the_seasonal_naive_forecast_on_weekly_load() {
    // The seasonal naive forecast repeats yesterday, so it is wrong every Saturday and Monday;
    // a week of input lets the network see the weekly cycle.
    let all = load_series(12, 24 * 7 * 6, 1);
    let cut = all[0].len() - 24;
    let train: Vec<Vec<f64>> = all.iter().map(|s| s[..cut].to_vec()).collect();
    let model = small()
        .epochs(10)
        .steps_per_epoch(25)
        .learning_rate(1e-2)
        .patience(10)
        .fit_global(&refs(&train))
        .unwrap();
    let report = model.report();
    assert_eq!(report.members.len(), 1);
    assert!(report.validation_loss.unwrap().is_finite());
    let (mut gru, mut naive) = (0.0, 0.0);
    // Test on the last day of every series and on 30 fresh series of the same kind, at several
    // weekdays (so Mondays and Saturdays count).
    let fresh = load_series(30, 24 * 7 * 3, 99);
    let mut cases = 0;
    for (i, s) in fresh.iter().enumerate() {
        let cut = 24 * 7 * 2 + 24 * (i % 7);
        let f = model
            .forecaster(&s[..cut])
            .unwrap()
            .predict(24, 0.9)
            .unwrap();
        let future = &s[cut..cut + 24];
        gru += mape(&f.point, future);
        naive += mape(&s[cut - 24..cut], future);
        cases += 1;
    }
    let (gru, naive) = (gru / cases as f64, naive / cases as f64);
    assert!(
        gru < 0.8 * naive,
        "gru {gru:.4} vs seasonal naive {naive:.4}"
    );
}

#[test]
fn training_is_deterministic_and_independent_of_threads() {
    let series = load_series(4, 400, 2);
    let p = small().epochs(2).steps_per_epoch(5);
    let a = p.clone().threads(1).fit_global(&refs(&series)).unwrap();
    let b = p.clone().threads(2).fit_global(&refs(&series)).unwrap();
    assert_eq!(a, b);
    let c = p.seed(1).fit_global(&refs(&series)).unwrap();
    assert_ne!(a, c);
}

#[test]
fn an_ensemble_averages_its_members() {
    let series = load_series(3, 400, 3);
    let p = small().epochs(2).steps_per_epoch(5);
    let one = p.clone().fit_global(&refs(&series)).unwrap();
    let two = p.ensemble(2).fit_global(&refs(&series)).unwrap();
    assert_eq!(two.ensemble(), 2);
    assert_eq!(two.report().members.len(), 2);
    // The first member is the single model: same seed, same stream.
    assert_eq!(two.inner.nets[0], one.inner.nets[0]);
    assert_ne!(two.inner.nets[1], one.inner.nets[0]);
    let s = &series[0];
    let u1 = {
        let mut u = vec![0.0; 24];
        let mut k = vec![0.0; 24];
        let (w, c) = (&s[s.len() - 168..], &[][..]);
        let single = |net: &Net, u: &mut [f64]| {
            let m = GruModel {
                inner: Arc::new(Inner {
                    nets: vec![net.clone()],
                    ..(*two.inner).clone()
                }),
            };
            m.predict_unit(w, c, u)
        };
        single(&two.inner.nets[0], &mut u);
        single(&two.inner.nets[1], &mut k);
        u.iter()
            .zip(&k)
            .map(|(a, b)| (a + b) / 2.0)
            .collect::<Vec<_>>()
    };
    let mut both = vec![0.0; 24];
    two.predict_unit(&s[s.len() - 168..], &[], &mut both);
    for (a, b) in u1.iter().zip(&both) {
        assert!((a - b).abs() < 1e-12);
    }
}

#[test]
fn intervals_cover_about_as_promised_on_fresh_series() {
    let train = load_series(40, 24 * 7 * 4, 4);
    let model = small().fit_global(&refs(&train)).unwrap();
    let fresh = load_series(60, 24 * 7 * 3, 5);
    let (mut inside, mut total) = (0, 0);
    for s in &fresh {
        let cut = s.len() - 24;
        let f = model
            .forecaster(&s[..cut])
            .unwrap()
            .predict(24, 0.9)
            .unwrap();
        assert!(f.is_consistent());
        for (h, y) in s[cut..].iter().enumerate() {
            inside += usize::from(f.lower[h] <= *y && *y <= f.upper[h]);
            total += 1;
        }
    }
    let coverage = inside as f64 / total as f64;
    assert!((0.75..=0.99).contains(&coverage), "coverage {coverage}");
}

#[test]
fn residual_pooling_and_quantiles() {
    // Two windows, horizon 3: steps pool with their neighbours until 40 values.
    let r = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let pooled = pooled_residuals(&r, 3);
    assert_eq!(pooled[0], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let q = quantile_pair(&[-2.0, -1.0, 0.5, 1.0, 3.0], 0.5);
    // n = 5: ranks ⌊6·0.25⌋ = 1 and ⌈6·0.75⌉ = 5.
    assert_eq!(q, (-2.0, 3.0));
    assert_eq!(quantile_pair(&[], 0.9), (0.0, 0.0));
    // The interval always contains the forecast.
    assert_eq!(quantile_pair(&[1.0, 2.0], 0.5), (0.0, 2.0));
}

#[test]
fn the_forecaster_streams_and_rejects_bad_input() {
    let series = load_series(2, 400, 6);
    let model = small()
        .epochs(1)
        .steps_per_epoch(3)
        .fit_global(&refs(&series))
        .unwrap();
    let mut f = model.forecaster(&series[0][..100]).unwrap();
    assert!(!f.is_ready());
    assert!(matches!(f.predict(24, 0.9), Err(Error::NotReady(_))));
    for (t, &y) in series[0][100..168].iter().enumerate() {
        f.update(Timestamp::from_secs(t as i64), y).unwrap();
    }
    assert!(f.is_ready());
    assert_eq!(f.len(), 168);
    let before = f.predict(30, 0.8).unwrap();
    assert_eq!(
        f.update(Timestamp::EPOCH, f64::NAN),
        Err(Error::NonFinite { index: 168 })
    );
    assert_eq!(f.predict(30, 0.8).unwrap(), before);
    assert!(f.predict(0, 0.8).is_err());
    assert!(f.predict(1, 1.0).is_err());
    // Updating moves the window: the forecaster made from the longer history agrees.
    f.update(Timestamp::EPOCH, series[0][168]).unwrap();
    let g = model.forecaster(&series[0][..169]).unwrap();
    assert_eq!(f.predict(30, 0.8).unwrap(), g.predict(30, 0.8).unwrap());
    f.reset();
    assert!(f.is_empty() && !f.is_ready());
}

#[test]
fn degenerate_histories_give_finite_forecasts() {
    let series = load_series(2, 400, 7);
    let model = small()
        .epochs(1)
        .steps_per_epoch(3)
        .fit_global(&refs(&series))
        .unwrap();
    let cases: Vec<Vec<f64>> = vec![
        vec![0.0; 200],
        vec![-5.0; 200],
        vec![1e300; 200],
        vec![1e-300; 200],
        (0..200)
            .map(|t| if t % 2 == 0 { 1e6 } else { 0.0 })
            .collect(),
        (0..200)
            .map(|t| if t == 50 { f64::NAN } else { 3.0 })
            .collect(),
    ];
    for h in &cases {
        let f = model.forecaster(h).unwrap();
        match f.predict(60, 0.95) {
            Ok(fc) => assert!(fc.is_consistent(), "{:?}", &h[..3]),
            Err(e) => assert!(matches!(e, Error::NonFinite { .. }), "{e:?}"),
        }
    }
    assert!(model.forecaster(&[f64::NAN; 3]).is_err());
    // A constant series trains without NaN.
    let flat = vec![vec![42.0; 300]];
    let m = small()
        .epochs(1)
        .steps_per_epoch(3)
        .fit_global(&refs(&flat))
        .unwrap();
    let f = m.forecaster(&flat[0]).unwrap().predict(24, 0.9).unwrap();
    assert!(f.point.iter().all(|p| p.is_finite() && *p > 0.0));
}

#[test]
fn per_series_fitting_is_a_forecast_method() {
    use prescient_core::ForecastMethod;
    let y = &load_series(1, 500, 8)[0];
    let p = small().epochs(2).steps_per_epoch(5);
    let boxed = ForecastMethod::fit(&p, y).unwrap();
    assert_eq!(boxed.name(), "gru");
    assert_eq!(ForecastMethod::name(&p), "gru");
    let direct = p.fit(y).unwrap();
    assert_eq!(
        boxed.predict(24, 0.9).unwrap(),
        direct.predict(24, 0.9).unwrap()
    );
}

#[test]
fn covariates_that_announce_the_next_day_are_used() {
    // Each day's level is 1 or 3 at random, announced by a covariate over the previous day;
    // without the covariate the next day cannot be known.
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let days = 40;
    let mut series = Vec::new();
    let mut covs = Vec::new();
    for _ in 0..6 {
        let levels: Vec<f64> = (0..=days)
            .map(|_| if rng.gen_bool(0.5) { 1.0 } else { 3.0 })
            .collect();
        let mut y = Vec::new();
        let mut c = Vec::new();
        for d in 0..days {
            for h in 0..24 {
                y.push(levels[d] * (10.0 + (h as f64 / 3.0).sin()));
                c.push(levels[d + 1] - 2.0);
            }
        }
        series.push(y);
        covs.push(c);
    }
    let p = GruParams::new()
        .input(72)
        .horizon(24)
        .hidden(8)
        .epochs(15)
        .steps_per_epoch(30)
        .batch_size(32)
        .learning_rate(1e-2)
        .ensemble(1)
        .validation(false);
    let with = p
        .clone()
        .covariates(1)
        .fit_global_with_covariates(&refs(&series), &refs(&covs))
        .unwrap();
    let without = p.fit_global(&refs(&series)).unwrap();
    let (mut e_with, mut e_without) = (0.0, 0.0);
    for (y, c) in series.iter().zip(&covs) {
        for day in [10, 20, 30] {
            let cut = day * 24;
            let f = with
                .forecaster_with_covariates(&y[..cut], &c[..cut])
                .unwrap();
            e_with += mape(&f.predict(24, 0.9).unwrap().point, &y[cut..cut + 24]);
            let g = without.forecaster(&y[..cut]).unwrap();
            e_without += mape(&g.predict(24, 0.9).unwrap().point, &y[cut..cut + 24]);
        }
    }
    assert!(
        e_with < 0.5 * e_without,
        "with {e_with:.3}, without {e_without:.3}"
    );
    // A covariate model refuses plain updates and covariates of the wrong size.
    let mut f = with
        .forecaster_with_covariates(&series[0], &covs[0])
        .unwrap();
    assert!(matches!(
        f.update(Timestamp::EPOCH, 1.0),
        Err(Error::InvalidParam {
            name: "covariates",
            ..
        })
    ));
    assert!(
        f.update_with_covariates(Timestamp::EPOCH, 1.0, &[0.0, 1.0])
            .is_err()
    );
    assert!(
        f.update_with_covariates(Timestamp::EPOCH, 1.0, &[f64::NAN])
            .is_err()
    );
    assert!(
        f.update_with_covariates(Timestamp::EPOCH, 1.0, &[0.5])
            .is_ok()
    );
    assert!(with.forecaster(&series[0]).is_err());
}

#[test]
fn calendar_features_go_round_the_day_and_week() {
    let midnight_thursday = calendar(Timestamp::EPOCH);
    assert!(midnight_thursday[0].abs() < 1e-12 && (midnight_thursday[1] - 1.0).abs() < 1e-12);
    // Thursday is day 3 of a Monday week.
    let w = std::f64::consts::TAU * 3.0 / 7.0;
    assert!((midnight_thursday[2] - w.sin()).abs() < 1e-12);
    let a_week_later = calendar(Timestamp::from_secs(7 * 86_400));
    for (a, b) in midnight_thursday.iter().zip(a_week_later) {
        assert!((a - b).abs() < 1e-9);
    }
}

#[cfg(feature = "serde")]
#[test]
fn a_model_round_trips_through_serde() {
    let series = load_series(2, 400, 10);
    let model = small()
        .epochs(1)
        .steps_per_epoch(3)
        .fit_global(&refs(&series))
        .unwrap();
    let json = serde_json::to_string(&model).unwrap();
    let back: GruModel = serde_json::from_str(&json).unwrap();
    assert_eq!(back, model);
    // Weights that do not fit the shape are an error, not a panic later.
    let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
    if let Some(w) = value["nets"][0]["w"].as_array_mut() {
        w.pop();
    }
    assert!(serde_json::from_value::<GruModel>(value).is_err());
    let f = model.forecaster(&series[1]).unwrap();
    let json = serde_json::to_string(&f).unwrap();
    let g: GruForecaster = serde_json::from_str(&json).unwrap();
    assert_eq!(g.predict(48, 0.9).unwrap(), f.predict(48, 0.9).unwrap());
    let p: GruParams = serde_json::from_str(&serde_json::to_string(&small()).unwrap()).unwrap();
    assert_eq!(p, small());
}
