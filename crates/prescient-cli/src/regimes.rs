//! `prescient regimes`: how early the workload fingerprint flags a regime change, against
//! detectors that watch one metric each, on seeded services with labelled regime changes.
//!
//! Each seed generates a week of a multi-metric service ([`generate_mix`]). In the `mix`
//! scenario its request mix changes at random times (the request rate does not); in the
//! `level` scenario its request rate changes level (the mix does not). Both keep the service's
//! ordinary flash crowds, which no detector should call a regime change. The fingerprint
//! detector is the `Scaler`'s own regime monitor with its defaults; the per-metric detectors
//! are a rolling z-score and the default per-metric ensemble, each inside a `MetricDetector`,
//! on each of the six metrics, at the same target alert rate as the fingerprint's.
//!
//! A change is *detected* when an alert comes within `--window-mins` of its start; the delay is
//! that alert's time minus the start. Alerts less than an hour apart form one episode; an
//! episode that starts outside every detection window, after the warm-up, is a false alarm.

use prescient::detect::{DistanceNorm, MetricDetectorParams};
use prescient::regime::{RegimeDetector, RegimeParams};
use prescient::synth::{MixParams, MixWorkload, WorkloadParams, generate_mix};
use prescient::{PlannerParams, PoolStatus, Scaler, Timestamp};

const DAY_SECS: f64 = 86_400.0;

/// Alerts closer than this belong to one episode.
const EPISODE_GAP_SECS: f64 = 3_600.0;

/// Settings of `prescient regimes`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct RegimesArgs {
    /// How many seeds to run.
    #[arg(long, default_value_t = 20)]
    pub(crate) seeds: u64,
    /// The first seed.
    #[arg(long, default_value_t = 1)]
    pub(crate) first_seed: u64,
    /// The fingerprint's regime detectors (repeatable): distance, iforest, ocsvm (default:
    /// the `Scaler`'s, distance and iforest).
    #[arg(long = "regime-detector")]
    pub(crate) regime_detectors: Vec<String>,
    /// How the distance detector combines its coordinates: rms or max (default: the
    /// `Scaler`'s).
    #[arg(long)]
    pub(crate) distance_norm: Option<String>,
    /// The `Scaler`'s feature window, in ticks (default: the `Scaler`'s, 20).
    #[arg(long)]
    pub(crate) feature_window: Option<usize>,
    /// Days per seed.
    #[arg(long, default_value_t = 7.0)]
    pub(crate) days: f64,
    /// Days of warm-up: no change is placed, and no alert counted, before.
    #[arg(long, default_value_t = 2.0)]
    pub(crate) warmup_days: f64,
    /// An alert this many minutes after a change's start still detects it.
    #[arg(long, default_value_t = 60.0)]
    pub(crate) window_mins: f64,
    /// Scenarios (repeatable): `mix` (the request mix changes) and `level` (the request rate
    /// changes level).
    #[arg(long = "scenario", default_values_t = [String::from("mix"), String::from("level")])]
    pub(crate) scenarios: Vec<String>,
    /// Worker threads over the seeds.
    #[arg(long, default_value_t = 2)]
    pub(crate) jobs: usize,
    /// Write the per-detector results as JSON.
    #[arg(long)]
    pub(crate) json: Option<std::path::PathBuf>,
}

/// What one detector did over every seed of a scenario.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub(crate) struct Tally {
    detector: String,
    changes: usize,
    detected: usize,
    delays_min: Vec<f64>,
    false_alarms: usize,
    days: f64,
}

impl Tally {
    fn median_delay(&self) -> Option<f64> {
        let mut d = self.delays_min.clone();
        if d.is_empty() {
            return None;
        }
        d.sort_by(f64::total_cmp);
        let n = d.len();
        Some(if n % 2 == 1 {
            d[n / 2]
        } else {
            0.5 * (d[n / 2 - 1] + d[n / 2])
        })
    }

    fn mean_delay(&self) -> Option<f64> {
        (!self.delays_min.is_empty())
            .then(|| self.delays_min.iter().sum::<f64>() / self.delays_min.len() as f64)
    }

    fn false_alarms_per_day(&self) -> f64 {
        self.false_alarms as f64 / self.days.max(1e-9)
    }

    fn add(&mut self, other: &Tally) {
        self.changes += other.changes;
        self.detected += other.detected;
        self.delays_min.extend_from_slice(&other.delays_min);
        self.false_alarms += other.false_alarms;
        self.days += other.days;
    }
}

/// The labelled changes of one run: their starts.
fn changes_of(w: &MixWorkload, scenario: &str) -> Vec<Timestamp> {
    match scenario {
        "mix" => w.changes.iter().map(|c| c.at).collect(),
        _ => w.load.regime_changes.iter().map(|c| c.at).collect(),
    }
}

/// The service of `seed` in `scenario`.
fn workload(args: &RegimesArgs, scenario: &str, seed: u64) -> Result<MixWorkload, String> {
    let warmup = args.warmup_days * DAY_SECS;
    let load = WorkloadParams::web_service(seed)
        .without_anomalies()
        .span_secs(args.days * DAY_SECS);
    let p = match scenario {
        "mix" => MixParams::new(seed)
            .load(load.regime_changes_per_day(0.0))
            .min_change_after_secs(warmup),
        "level" => MixParams::new(seed)
            .load(load.regime_changes_per_day(0.5).regime_shift_sd(0.3))
            .changes_per_day(0.0),
        other => {
            return Err(format!(
                "unknown scenario `{other}` (expected mix or level)"
            ));
        }
    };
    generate_mix(&p).map_err(|e| e.to_string())
}

/// The `Scaler`'s regime settings with the command's changes.
fn regime_params(args: &RegimesArgs) -> Result<RegimeParams, String> {
    let mut p = RegimeParams::default();
    if !args.regime_detectors.is_empty() {
        let detectors = args
            .regime_detectors
            .iter()
            .map(|d| match d.as_str() {
                "distance" => Ok(RegimeDetector::Distance),
                "iforest" => Ok(RegimeDetector::IsolationForest),
                "ocsvm" => Ok(RegimeDetector::OneClassSvm),
                other => Err(format!(
                    "unknown regime detector `{other}` (expected distance, iforest or ocsvm)"
                )),
            })
            .collect::<Result<Vec<_>, _>>()?;
        p = p.detectors(&detectors);
    }
    match args.distance_norm.as_deref() {
        None => {}
        Some("rms") => p = p.distance_norm(DistanceNorm::Rms),
        Some("max") => p = p.distance_norm(DistanceNorm::Max),
        Some(other) => return Err(format!("unknown norm `{other}` (expected rms or max)")),
    }
    Ok(p)
}

/// The per-metric detector `kind` for one metric (as `prescient nab` builds it), at the
/// fingerprint's alert rate.
fn metric_detector(kind: &str, alert_rate: f64) -> Result<MetricDetectorParams, String> {
    Ok(crate::nab::params_for(kind)?
        .alert_rate(alert_rate)
        .step_secs(15.0))
}

const KINDS: [&str; 2] = ["zscore", "prescient"];

/// Runs one seed of one scenario: a tally per detector (the fingerprint first, then each
/// kind on each metric).
fn run_seed(args: &RegimesArgs, scenario: &str, seed: u64) -> Result<Vec<Tally>, String> {
    let w = workload(args, scenario, seed)?;
    let schema = MixWorkload::schema("service").map_err(|e| e.to_string())?;
    let regime = regime_params(args)?;
    let alert_rate = regime.target_alert_rate();
    let mut builder = Scaler::builder(schema, PlannerParams::new(50.0).bounds(1, 10_000));
    if let Some(w) = args.feature_window {
        builder = builder.feature_window(w);
    }
    let mut scaler = builder
        .regime(regime)
        .mode(prescient::Mode::ForecastOnly)
        .build()
        .map_err(|e| e.to_string())?;
    let m = MixWorkload::NAMES.len();
    let mut detectors = Vec::new();
    for kind in KINDS {
        for _ in 0..m {
            detectors.push(
                metric_detector(kind, alert_rate)?
                    .build()
                    .map_err(|e| e.to_string())?,
            );
        }
    }
    let pool = PoolStatus {
        desired: w.workers,
        ready: w.workers,
    };
    let mut alerts: Vec<Vec<Timestamp>> = vec![Vec::new(); 1 + detectors.len()];
    for i in 0..w.len() {
        let (ts, values) = (w.ts(i), w.values(i));
        let d = scaler.tick(ts, values, pool).map_err(|e| e.to_string())?;
        if d.regime.is_some_and(|r| r.alert) {
            alerts[0].push(ts);
        }
        for (j, det) in detectors.iter_mut().enumerate() {
            if det.update(ts, values[j % m]).is_some_and(|v| v.alert) {
                alerts[1 + j].push(ts);
            }
        }
    }
    // Without knowing in advance which metric will show a change, a host watching each
    // metric alerts when any of them does: the union of each kind's alerts.
    for k in 0..KINDS.len() {
        let mut union: Vec<Timestamp> = alerts[1 + k * m..1 + (k + 1) * m]
            .iter()
            .flatten()
            .copied()
            .collect();
        union.sort();
        alerts.push(union);
    }
    let changes = changes_of(&w, scenario);
    let start = w.ts(0).add_secs(args.warmup_days * DAY_SECS);
    let end = w.ts(w.len() - 1);
    let names = std::iter::once("fingerprint".to_string())
        .chain(
            KINDS
                .iter()
                .flat_map(|k| MixWorkload::NAMES.iter().map(move |n| format!("{k}:{n}"))),
        )
        .chain(KINDS.iter().map(|k| format!("{k}:any metric")));
    Ok(names
        .zip(&alerts)
        .map(|(name, a)| score(name, a, &changes, start, end, args.window_mins * 60.0))
        .collect())
}

/// Detections, delays and false alarms of one detector's alerts on one run.
fn score(
    detector: String,
    alerts: &[Timestamp],
    changes: &[Timestamp],
    start: Timestamp,
    end: Timestamp,
    window_secs: f64,
) -> Tally {
    let mut t = Tally {
        detector,
        days: end.secs_since(start).max(0.0) / DAY_SECS,
        ..Tally::default()
    };
    for &c in changes.iter().filter(|&&c| c >= start) {
        t.changes += 1;
        if let Some(&a) = alerts
            .iter()
            .find(|&&a| a >= c && a.secs_since(c) <= window_secs)
        {
            t.detected += 1;
            t.delays_min.push(a.secs_since(c) / 60.0);
        }
    }
    let in_window = |a: Timestamp| {
        changes
            .iter()
            .any(|&c| a >= c && a.secs_since(c) <= window_secs)
    };
    let mut last: Option<Timestamp> = None;
    for &a in alerts {
        let opens = last.is_none_or(|l| a.secs_since(l) >= EPISODE_GAP_SECS);
        last = Some(a);
        if opens && a >= start && !in_window(a) {
            t.false_alarms += 1;
        }
    }
    t
}

/// Runs `prescient regimes`; returns the text to print.
pub(crate) fn run(args: &RegimesArgs) -> Result<String, String> {
    let mut out = String::new();
    let mut json = serde_json::Map::new();
    for scenario in &args.scenarios {
        let seeds: Vec<u64> = (args.first_seed..args.first_seed + args.seeds).collect();
        let jobs = args.jobs.max(1);
        let per_seed: Vec<Result<Vec<Tally>, String>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..jobs)
                .map(|j| {
                    let seeds = &seeds;
                    s.spawn(move || {
                        seeds
                            .iter()
                            .skip(j)
                            .step_by(jobs)
                            .map(|&seed| run_seed(args, scenario, seed))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| {
                    h.join()
                        .unwrap_or_else(|_| vec![Err("a worker panicked".into())])
                })
                .collect()
        });
        let mut totals: Vec<Tally> = Vec::new();
        for r in per_seed {
            let tallies = r?;
            if totals.is_empty() {
                totals = tallies
                    .iter()
                    .map(|t| Tally {
                        detector: t.detector.clone(),
                        ..Tally::default()
                    })
                    .collect();
            }
            for (total, t) in totals.iter_mut().zip(&tallies) {
                total.add(t);
            }
        }
        out.push_str(&table(scenario, &totals));
        json.insert(
            scenario.clone(),
            serde_json::to_value(&totals).map_err(|e| e.to_string())?,
        );
    }
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?;
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        out.push_str(&format!("results written to {}\n", path.display()));
    }
    Ok(out)
}

/// The scenario's table: the fingerprint, the best single-metric detector (most changes
/// found, then the lower median delay), then every detector, then each kind on any metric.
fn table(scenario: &str, totals: &[Tally]) -> String {
    let fmt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1}"));
    let row = |t: &Tally| {
        format!(
            "| {} | {}/{} | {} | {} | {} | {:.2} |\n",
            t.detector,
            t.detected,
            t.changes,
            fmt(t.median_delay()),
            fmt(t.mean_delay()),
            t.false_alarms,
            t.false_alarms_per_day()
        )
    };
    let mut s = format!(
        "\nscenario {scenario}\n\n| detector | detected | median delay (min) | mean delay (min) \
         | false alarms | per day |\n|---|---:|---:|---:|---:|---:|\n"
    );
    let best = totals
        .iter()
        .skip(1)
        .take(totals.len() - 1 - KINDS.len())
        .min_by(|a, b| {
            b.detected.cmp(&a.detected).then(
                a.median_delay()
                    .unwrap_or(f64::INFINITY)
                    .total_cmp(&b.median_delay().unwrap_or(f64::INFINITY)),
            )
        });
    if let Some(best) = best {
        s.push_str(&row(&totals[0]));
        s.push_str(&format!("| best single metric: {} ", best.detector));
        s.push_str(&row(best)[2 + best.detector.len()..]);
    }
    for t in totals.iter().skip(1) {
        s.push_str(&row(t));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_counts_detections_delays_and_false_alarm_episodes() {
        let t0 = Timestamp::from_secs(0);
        let at = |m: f64| t0.add_secs(60.0 * m);
        let changes = [at(100.0), at(500.0)];
        // One alert 5 minutes into the first change, two more inside its window (no new
        // episode), then a false alarm at 300 min and another 30 min later (one episode), and
        // nothing near the second change; the alert at 10 min is before the warm-up ends.
        let alerts = [
            at(10.0),
            at(105.0),
            at(120.0),
            at(150.0),
            at(300.0),
            at(330.0),
        ];
        let t = score(
            "x".into(),
            &alerts,
            &changes,
            at(50.0),
            at(50.0 + 1_440.0),
            3_600.0,
        );
        assert_eq!((t.changes, t.detected), (2, 1));
        assert_eq!(t.delays_min, vec![5.0]);
        assert_eq!(t.false_alarms, 1);
        assert!((t.days - 1.0).abs() < 1e-12);
    }
}
