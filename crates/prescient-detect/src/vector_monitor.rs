//! An ensemble of multivariate detectors over the caller's own feature vectors (a workload
//! fingerprint), calibrated and judged as [`MetricDetector`](crate::MetricDetector) judges one
//! metric.

use prescient_core::{Error, Result, Score, SeverityThresholds, Timestamp, VectorDetector};

use crate::alert::{Alerter, Combination, Tally};
use crate::{MAX_MEMBERS, TailCalibrator, VectorFactory, Verdict};

/// Settings of a [`VectorMonitor`]: its members and how their scores become a verdict.
pub struct VectorMonitorParams {
    members: Vec<(&'static str, f64, VectorFactory)>,
    calibration_window: usize,
    alert_rate: f64,
    refractory: usize,
    contribution_level: f64,
    thresholds: SeverityThresholds,
    combination: Combination,
    warmup: Option<usize>,
}

impl std::fmt::Debug for VectorMonitorParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VectorMonitorParams")
            .field(
                "members",
                &self.members.iter().map(|m| (m.0, m.1)).collect::<Vec<_>>(),
            )
            .field("calibration_window", &self.calibration_window)
            .field("alert_rate", &self.alert_rate)
            .field("refractory", &self.refractory)
            .field("contribution_level", &self.contribution_level)
            .field("thresholds", &self.thresholds)
            .field("combination", &self.combination)
            .field("warmup", &self.warmup)
            .finish()
    }
}

impl VectorMonitorParams {
    /// No members yet; [`MetricDetectorParams`](crate::MetricDetectorParams)' defaults for
    /// the rest (calibration over 3,000 points, alert rate 10⁻³, refractory 50 points, the mean
    /// of the surprises).
    pub fn empty() -> Self {
        VectorMonitorParams {
            members: Vec::new(),
            calibration_window: 3000,
            alert_rate: 1e-3,
            refractory: 50,
            contribution_level: 0.99,
            thresholds: SeverityThresholds::default(),
            combination: Combination::default(),
            warmup: None,
        }
    }

    /// Adds a member, built for the monitor's dimension, with its weight in the combination.
    pub fn member(mut self, name: &'static str, weight: f64, factory: VectorFactory) -> Self {
        self.members.push((name, weight, factory));
        self
    }

    /// Sets the history of each member's calibrator and of the combined score, in points.
    pub fn calibration_window(mut self, window: usize) -> Self {
        self.calibration_window = window;
        self
    }

    /// Sets the target rate of alerts on ordinary data.
    pub fn alert_rate(mut self, rate: f64) -> Self {
        self.alert_rate = rate;
        self
    }

    /// Sets how many points after an alert further alerts are suppressed unless they escalate.
    pub fn refractory(mut self, points: usize) -> Self {
        self.refractory = points;
        self
    }

    /// Sets the member score from which a member counts as a contributor.
    pub fn contribution_level(mut self, level: f64) -> Self {
        self.contribution_level = level;
        self
    }

    /// Sets the score cut points of the severities.
    pub fn thresholds(mut self, thresholds: SeverityThresholds) -> Self {
        self.thresholds = thresholds;
        self
    }

    /// Sets how many combined scores are held before the first alert (default 30, as
    /// [`TailCalibrator`]'s): the alert threshold is a tail quantile of their history, which a
    /// few dozen points estimate poorly when the target rate is small.
    pub fn warmup(mut self, points: usize) -> Self {
        self.warmup = Some(points);
        self
    }

    /// Sets how the members' scores are combined.
    pub fn combination(mut self, combination: Combination) -> Self {
        self.combination = combination;
        self
    }

    /// Builds the monitor for vectors of `dim` values.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] for a `dim` of 0, no members or more than [`MAX_MEMBERS`], a
    /// weight that is negative or not finite, all weights zero, a member whose factory builds
    /// nothing or builds for another dimension, an alert rate outside `(0, 0.5)`, a contribution
    /// level outside `(0, 1)`, a calibration window below 20, or a warm-up outside
    /// `[10, calibration_window]`.
    pub fn build(self, dim: usize) -> Result<VectorMonitor> {
        let invalid = |name, reason: String| Err(Error::InvalidParam { name, reason });
        if dim == 0 {
            return invalid("dim", "must be at least 1".into());
        }
        let n = self.members.len();
        if n == 0 || n > MAX_MEMBERS {
            return invalid(
                "members",
                format!("need 1 to {MAX_MEMBERS} members, got {n}"),
            );
        }
        let mut total = 0.0;
        for &(_, w, _) in &self.members {
            if !(w.is_finite() && w >= 0.0) {
                return invalid(
                    "weight",
                    format!("must be finite and non-negative, got {w}"),
                );
            }
            total += w;
        }
        if total <= 0.0 {
            return invalid("weight", "at least one weight must be positive".into());
        }
        if !(self.alert_rate > 0.0 && self.alert_rate < 0.5) {
            return invalid(
                "alert_rate",
                format!("must be in (0, 0.5), got {}", self.alert_rate),
            );
        }
        if !(self.contribution_level > 0.0 && self.contribution_level < 1.0) {
            return invalid(
                "contribution_level",
                format!("must be in (0, 1), got {}", self.contribution_level),
            );
        }
        if let Some(w) = self.warmup {
            if w < 10 || w > self.calibration_window {
                return invalid(
                    "warmup",
                    format!("must be in [10, {}], got {w}", self.calibration_window),
                );
            }
        }
        let calibrator = TailCalibrator::new(self.calibration_window)?;
        let mut members = Vec::with_capacity(n);
        for (name, weight, factory) in &self.members {
            let Some(model) = factory(dim).filter(|m| m.dim() == dim) else {
                return invalid(
                    "members",
                    format!("member `{name}` could not be built for dimension {dim}"),
                );
            };
            members.push(Member {
                name,
                weight: *weight,
                model,
                calibrator: calibrator.clone(),
                last: None,
            });
        }
        Ok(VectorMonitor {
            dim,
            alerter: Alerter::new(
                self.calibration_window,
                self.alert_rate,
                self.refractory,
                self.thresholds,
                self.warmup,
            )?,
            members,
            params: self,
        })
    }
}

struct Member {
    name: &'static str,
    weight: f64,
    model: Box<dyn VectorDetector>,
    calibrator: TailCalibrator,
    last: Option<Score>,
}

/// The anomaly detector of a stream of feature vectors: several [`VectorDetector`]s (an
/// isolation forest, a one-class SVM, a [`RecentDistance`](crate::RecentDistance)) on the same
/// vectors, each calibrated against its own history ([`TailCalibrator`]), combined with weights,
/// with the adaptive alert threshold, severities and alert deduplication of
/// [`MetricDetector`](crate::MetricDetector) (see there).
///
/// The vectors are the caller's: a workload fingerprint, the features of one metric, several
/// metrics at one instant. A multivariate anomaly has no direction, so [`Verdict::deviation`] is
/// always 0.
///
/// ```
/// use prescient_core::Timestamp;
/// use prescient_detect::{RecentDistance, VectorMonitorParams};
///
/// let mut m = VectorMonitorParams::empty()
///     .member("distance", 1.0, Box::new(|dim| {
///         RecentDistance::new(dim, 120).ok().map(|d| Box::new(d) as _)
///     }))
///     .build(2)?;
/// let mut alerts = 0;
/// for i in 0..2_000 {
///     let wobble = ((i * 7919) % 1000) as f64 / 1000.0 - 0.5;
///     let v = m.update(Timestamp::from_secs(15 * i), &[wobble, -wobble])?;
///     alerts += v.is_some_and(|v| v.alert) as usize;
/// }
/// assert!(alerts <= 4);
/// // A jump that the last two hours never showed.
/// let jump = m.update(Timestamp::from_secs(30_000), &[6.0, 2.0])?.expect("warmed up");
/// assert!(jump.alert);
/// # Ok::<(), prescient_core::Error>(())
/// ```
pub struct VectorMonitor {
    params: VectorMonitorParams,
    dim: usize,
    members: Vec<Member>,
    alerter: Alerter,
}

impl std::fmt::Debug for VectorMonitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VectorMonitor")
            .field("dim", &self.dim)
            .field("members", &self.member_names())
            .finish_non_exhaustive()
    }
}

impl VectorMonitor {
    /// The dimension of the vectors.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The members' names, in member order.
    pub fn member_names(&self) -> Vec<&'static str> {
        self.members.iter().map(|m| m.name).collect()
    }

    /// Each member's calibrated score on the latest vector (`None` while it warms up).
    pub fn member_scores(&self) -> Vec<Option<Score>> {
        self.members.iter().map(|m| m.last).collect()
    }

    /// Scores `x`, observed at `ts`, then learns from it. `Ok(None)` while every member warms
    /// up and for a vector with a non-finite value (which is not learned from).
    ///
    /// # Errors
    ///
    /// [`Error::SchemaMismatch`] when `x` does not have [`VectorMonitor::dim`] values; nothing
    /// changes.
    pub fn update(&mut self, ts: Timestamp, x: &[f64]) -> Result<Option<Verdict>> {
        if x.len() != self.dim {
            return Err(Error::SchemaMismatch {
                expected: self.dim,
                got: x.len(),
            });
        }
        if x.iter().any(|v| !v.is_finite()) {
            return Ok(None);
        }
        let mut tally = Tally::default();
        for (i, m) in self.members.iter_mut().enumerate() {
            m.last = None;
            // The dimension was checked above and at build, so a member cannot fail here.
            let Some(d) = m.model.update(ts, x).ok().flatten() else {
                continue;
            };
            let Some(score) = m.calibrator.update(d.deviation) else {
                continue;
            };
            m.last = Some(score);
            tally.add(i, m.weight, score, 0.0, self.params.contribution_level);
        }
        Ok(tally
            .combined(self.params.combination)
            .map(|s| self.alerter.judge(s, 0.0, tally.contributors())))
    }

    /// Forgets what the members' models learned, keeping their calibration and the alert
    /// history: for a caller whose vectors change basis (a refitted fingerprint), followed by
    /// [`VectorMonitor::learn`] on recent vectors expressed in the new basis.
    pub fn reset_models(&mut self) {
        for m in &mut self.members {
            m.model.reset();
            m.last = None;
        }
    }

    /// Lets the members' models learn `x` without scoring it: no calibrator, alert or episode
    /// changes. A vector with a non-finite value is skipped.
    ///
    /// # Errors
    ///
    /// [`Error::SchemaMismatch`] when `x` does not have [`VectorMonitor::dim`] values; nothing
    /// changes.
    pub fn learn(&mut self, ts: Timestamp, x: &[f64]) -> Result<()> {
        if x.len() != self.dim {
            return Err(Error::SchemaMismatch {
                expected: self.dim,
                got: x.len(),
            });
        }
        if x.iter().any(|v| !v.is_finite()) {
            return Ok(());
        }
        for m in &mut self.members {
            // The dimension was checked above and at build, so a member cannot fail here.
            let _ = m.model.update(ts, x);
        }
        Ok(())
    }

    /// Forgets everything seen.
    pub fn reset(&mut self) {
        for m in &mut self.members {
            m.model.reset();
            m.calibrator.reset();
            m.last = None;
        }
        self.alerter.reset();
    }

    /// What the monitor has learned, encoded for a snapshot: each member's model (through
    /// [`VectorDetector::save_state`]), its calibration and last score, and the alert
    /// history. The settings are not saved: they are the monitor's own.
    ///
    /// # Errors
    ///
    /// [`Error::Unsupported`] when a member's model cannot be saved.
    #[cfg(feature = "serde")]
    pub fn save_state(&self) -> Result<Vec<u8>> {
        let members = self
            .members
            .iter()
            .map(|m| {
                Ok(SavedMember {
                    name: m.name.to_owned(),
                    model: m.model.save_state()?,
                    calibrator: m.calibrator.clone(),
                    last: m.last,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        prescient_core::snapshot::encode(&SavedMonitor {
            dim: self.dim,
            members,
            alerter: self.alerter.clone(),
        })
    }

    /// Restores what [`VectorMonitor::save_state`] saved of a monitor with the same members
    /// and dimension.
    ///
    /// Everything is decoded and checked before the members' models load their states; a
    /// model that refuses its state after an earlier one took its own leaves the monitor
    /// partly restored, so restore into a newly built monitor and drop it on error (as
    /// the `Scaler` does).
    ///
    /// # Errors
    ///
    /// [`Error::CorruptSnapshot`] when `state` does not decode, and
    /// [`Error::IncompatibleSnapshot`] when the members or the dimension differ.
    #[cfg(feature = "serde")]
    pub fn load_state(&mut self, state: &[u8]) -> Result<()> {
        let saved: SavedMonitor = prescient_core::snapshot::decode(state)?;
        let names: Vec<&str> = saved.members.iter().map(|m| m.name.as_str()).collect();
        if saved.dim != self.dim || names != self.member_names() {
            return Err(Error::IncompatibleSnapshot(format!(
                "a monitor of {names:?} over {} dimensions cannot be restored into one of {:?} \
                 over {}",
                saved.dim,
                self.member_names(),
                self.dim
            )));
        }
        for (m, s) in self.members.iter_mut().zip(&saved.members) {
            m.model.load_state(&s.model)?;
        }
        for (m, s) in self.members.iter_mut().zip(saved.members) {
            m.calibrator = s.calibrator;
            m.last = s.last;
        }
        self.alerter = saved.alerter;
        Ok(())
    }
}

/// A [`VectorMonitor`] member in a snapshot.
#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct SavedMember {
    name: String,
    model: Vec<u8>,
    calibrator: TailCalibrator,
    last: Option<Score>,
}

/// A [`VectorMonitor`] in a snapshot.
#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct SavedMonitor {
    dim: usize,
    members: Vec<SavedMember>,
    alerter: Alerter,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{RecentDistance, StreamingIsolationForest};
    use proptest::prelude::*;

    fn distance(window: usize) -> VectorFactory {
        Box::new(move |dim| {
            RecentDistance::new(dim, window)
                .ok()
                .map(|d| Box::new(d) as _)
        })
    }

    fn forest() -> VectorFactory {
        Box::new(|dim| {
            StreamingIsolationForest::params()
                .seed(3)
                .build(dim)
                .ok()
                .map(|d| Box::new(d) as _)
        })
    }

    /// Seeded uniform noise around the origin, in 3 dimensions: the same for the same `i`.
    fn ordinary(i: i64) -> [f64; 3] {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(i as u64);
        [(); 3].map(|_| rng.gen_range(-0.5..0.5))
    }

    #[test]
    fn params_are_checked() {
        assert!(VectorMonitorParams::empty().build(2).is_err());
        let one = || VectorMonitorParams::empty().member("d", 1.0, distance(10));
        assert!(one().build(2).is_ok());
        assert!(one().build(0).is_err());
        assert!(one().alert_rate(0.5).build(2).is_err());
        assert!(one().contribution_level(0.0).build(2).is_err());
        assert!(one().calibration_window(5).build(2).is_err());
        assert!(one().warmup(9).build(2).is_err());
        assert!(one().calibration_window(100).warmup(101).build(2).is_err());
        assert!(one().calibration_window(100).warmup(100).build(2).is_ok());
        assert!(
            VectorMonitorParams::empty()
                .member("d", 0.0, distance(10))
                .build(2)
                .is_err()
        );
        let wrong_dim: VectorFactory =
            Box::new(|_| RecentDistance::new(5, 10).ok().map(|d| Box::new(d) as _));
        assert!(
            VectorMonitorParams::empty()
                .member("d", 1.0, wrong_dim)
                .build(2)
                .is_err()
        );
    }

    #[test]
    fn a_shift_alerts_and_names_its_contributors() {
        let mut m = VectorMonitorParams::empty()
            .member("distance", 1.0, distance(240))
            .member("iforest", 1.0, forest())
            .build(3)
            .unwrap();
        let mut clean_alerts = 0;
        for i in 0..3_000 {
            let v = m
                .update(Timestamp::from_secs(15 * i), &ordinary(i))
                .unwrap();
            // The calibrators are still learning over the first few hundred points.
            if i >= 500 {
                clean_alerts += v.is_some_and(|v| v.alert) as usize;
            }
        }
        // A target rate of 1e-3 on 2,500 ordinary points.
        assert!(clean_alerts <= 6, "{clean_alerts} alerts on clean data");
        let v = m
            .update(Timestamp::from_secs(45_000), &[3.0, 0.0, -3.0])
            .unwrap()
            .unwrap();
        assert!(v.alert, "{v:?}");
        assert_eq!(v.deviation, 0.0);
        let names = m.member_names();
        assert_eq!(v.contributor_names(&names), vec!["distance", "iforest"]);
    }

    #[test]
    fn wrong_length_is_rejected_and_non_finite_is_skipped() {
        let mut m = VectorMonitorParams::empty()
            .member("distance", 1.0, distance(10))
            .build(3)
            .unwrap();
        assert_eq!(
            m.update(Timestamp::EPOCH, &[1.0]).unwrap_err(),
            Error::SchemaMismatch {
                expected: 3,
                got: 1
            }
        );
        assert_eq!(
            m.update(Timestamp::EPOCH, &[1.0, f64::NAN, 0.0]).unwrap(),
            None
        );
    }

    #[test]
    fn identical_input_gives_identical_verdicts_and_reset_starts_over() {
        let run = |m: &mut VectorMonitor| -> Vec<Option<Verdict>> {
            (0..800)
                .map(|i| {
                    m.update(Timestamp::from_secs(15 * i), &ordinary(i))
                        .unwrap()
                })
                .collect()
        };
        let build = || {
            VectorMonitorParams::empty()
                .member("distance", 1.0, distance(60))
                .member("iforest", 1.0, forest())
                .build(3)
                .unwrap()
        };
        let mut a = build();
        let first = run(&mut a);
        assert_eq!(first, run(&mut build()));
        a.reset();
        assert_eq!(first, run(&mut a));
    }

    #[test]
    fn relearning_after_reset_models_keeps_the_calibration() {
        let build = || {
            VectorMonitorParams::empty()
                .member("distance", 1.0, distance(60))
                .build(3)
                .unwrap()
        };
        let mut m = build();
        for i in 0..600 {
            m.update(Timestamp::from_secs(15 * i), &ordinary(i))
                .unwrap();
        }
        // Replaying the last 60 vectors into fresh models gives the models the state they had:
        // the next verdict is the one an untouched monitor gives.
        let mut replayed = build();
        for i in 0..600 {
            replayed
                .update(Timestamp::from_secs(15 * i), &ordinary(i))
                .unwrap();
        }
        replayed.reset_models();
        for i in 540..600 {
            replayed
                .learn(Timestamp::from_secs(15 * i), &ordinary(i))
                .unwrap();
        }
        let next = |m: &mut VectorMonitor| m.update(Timestamp::from_secs(9_000), &ordinary(600));
        assert_eq!(next(&mut replayed).unwrap(), next(&mut m).unwrap());
        assert!(replayed.learn(Timestamp::EPOCH, &[1.0]).is_err());
    }

    proptest! {
        #[test]
        fn prop_verdicts_are_finite_and_in_range(xs in proptest::collection::vec(prop_oneof![
            any::<f64>(), Just(f64::NAN), Just(1e308), Just(-1e308), Just(0.0), -10.0f64..10.0
        ], 0..600)) {
            let mut m = VectorMonitorParams::empty()
                .member("distance", 1.0, distance(20))
                .calibration_window(20)
                .build(2)
                .unwrap();
            for (i, pair) in xs.chunks_exact(2).enumerate() {
                if let Some(v) = m.update(Timestamp::from_secs(i as i64), pair).unwrap() {
                    prop_assert!((0.0..=1.0).contains(&v.score.value()));
                    prop_assert!((0.0..=1.0).contains(&v.episode_score.value()));
                    prop_assert_eq!(v.deviation, 0.0);
                }
            }
        }
    }
}
