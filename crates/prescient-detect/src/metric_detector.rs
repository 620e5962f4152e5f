use prescient_core::{
    Detector, Error, Result, RingBuffer, Score, Severity, SeverityThresholds, Timestamp,
    VectorDetector,
};

pub use crate::alert::Combination;
use crate::alert::{Alerter, Tally};
use crate::{KnnCad, PeriodSearch, RollingZScore, SeasonalMedian, TailCalibrator};

/// Builds a member detector once the seasonal period is known (`None`: the series has none).
/// Returning `None` leaves the member out (a seasonal model on a series without a season).
pub type ScalarFactory = Box<dyn Fn(Option<usize>) -> Option<Box<dyn Detector>> + Send>;

/// Builds a multivariate member over [`LagFeatures`] vectors of the given dimension.
pub type VectorFactory = Box<dyn Fn(usize) -> Option<Box<dyn VectorDetector>> + Send>;

/// The most members a [`MetricDetector`] holds (the width of [`Verdict::contributors`]).
pub const MAX_MEMBERS: usize = 16;

/// What a [`MetricDetector`] says of one point.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Verdict {
    /// The combined, calibrated score in `[0, 1]`.
    pub score: Score,
    /// How bad the point is: [`Severity::None`] unless it raised an alert (see
    /// [`MetricDetectorParams::alert_rate`]).
    pub severity: Severity,
    /// Whether this point opens an alert episode (the first alert, or an escalation beyond the
    /// episode's score, after the refractory period).
    pub alert: bool,
    /// The score deduplicated: equal to `score` where it is a new peak, that is, above the score
    /// of every one of the previous [`MetricDetectorParams::refractory`] points (and, inside an
    /// alert episode, only where the point escalates the alert); zero elsewhere. A consumer that
    /// thresholds scores at any level (a pager, the NAB benchmark) sees one alarm per anomaly,
    /// not one per point of it.
    pub episode_score: Score,
    /// The weighted mean of the members' signed deviations (a direction for the alert).
    pub deviation: f64,
    /// Bit `i` is set when member `i` (see [`MetricDetector::member_names`]) scored at least
    /// [`MetricDetectorParams::contribution_level`] on this point.
    pub contributors: u16,
}

impl Verdict {
    /// The names of the members that contributed, given the detector's member names.
    pub fn contributor_names<'a>(&self, names: &'a [&'static str]) -> Vec<&'a str> {
        names
            .iter()
            .enumerate()
            .filter(|(i, _)| self.contributors & (1 << i) != 0)
            .map(|(_, n)| *n)
            .collect()
    }
}

/// Settings of a [`MetricDetector`].
pub struct MetricDetectorParams {
    scalars: Vec<(&'static str, f64, ScalarFactory)>,
    vectors: Vec<(&'static str, f64, VectorFactory)>,
    lags: usize,
    step_secs: Option<f64>,
    period: PeriodChoice,
    period_search_points: usize,
    calibration_window: usize,
    alert_rate: f64,
    refractory: usize,
    contribution_level: f64,
    thresholds: SeverityThresholds,
    combination: Combination,
}

/// How the seasonal period of the seasonal members is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PeriodChoice {
    Fixed(Option<usize>),
    Detect,
}

impl std::fmt::Debug for MetricDetectorParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricDetectorParams")
            .field(
                "scalars",
                &self.scalars.iter().map(|m| (m.0, m.1)).collect::<Vec<_>>(),
            )
            .field(
                "vectors",
                &self.vectors.iter().map(|m| (m.0, m.1)).collect::<Vec<_>>(),
            )
            .field("lags", &self.lags)
            .field("step_secs", &self.step_secs)
            .field("period", &self.period)
            .field("period_search_points", &self.period_search_points)
            .field("calibration_window", &self.calibration_window)
            .field("alert_rate", &self.alert_rate)
            .field("refractory", &self.refractory)
            .field("contribution_level", &self.contribution_level)
            .field("thresholds", &self.thresholds)
            .field("combination", &self.combination)
            .finish()
    }
}

impl MetricDetectorParams {
    /// No members yet; the defaults for everything else.
    pub fn empty() -> Self {
        MetricDetectorParams {
            scalars: Vec::new(),
            vectors: Vec::new(),
            lags: 8,
            step_secs: None,
            period: PeriodChoice::Detect,
            period_search_points: 4032,
            calibration_window: 3000,
            alert_rate: 1e-3,
            refractory: 50,
            contribution_level: 0.99,
            thresholds: SeverityThresholds::default(),
            combination: Combination::default(),
        }
    }

    /// Adds a univariate member with its weight in the combination.
    pub fn member(mut self, name: &'static str, weight: f64, factory: ScalarFactory) -> Self {
        self.scalars.push((name, weight, factory));
        self
    }

    /// Adds a multivariate member over [`LagFeatures`] vectors, with its weight.
    pub fn vector_member(
        mut self,
        name: &'static str,
        weight: f64,
        factory: VectorFactory,
    ) -> Self {
        self.vectors.push((name, weight, factory));
        self
    }

    /// Sets the sampling step, used to look for hourly, daily and weekly seasons (by default it
    /// is the median spacing of the first timestamps).
    pub fn step_secs(mut self, step_secs: f64) -> Self {
        self.step_secs = Some(step_secs);
        self
    }

    /// Fixes the seasonal period (`None`: the series has no season) instead of detecting it.
    pub fn period(mut self, period: Option<usize>) -> Self {
        self.period = PeriodChoice::Fixed(period);
        self
    }

    /// Sets how many points are kept, at most, while the period is looked for; if none is found
    /// by then, the seasonal members are left out.
    pub fn period_search_points(mut self, points: usize) -> Self {
        self.period_search_points = points;
        self
    }

    /// Sets the history of each member's calibrator, in points.
    pub fn calibration_window(mut self, window: usize) -> Self {
        self.calibration_window = window;
        self
    }

    /// Sets the target rate of alerts on ordinary data: a point alerts when its combined score's
    /// tail probability, under the history of combined scores, is below this rate.
    pub fn alert_rate(mut self, rate: f64) -> Self {
        self.alert_rate = rate;
        self
    }

    /// Sets how many points after an alert further alerts are suppressed, unless they escalate,
    /// and over how many previous points a score must be a new peak to show in
    /// [`Verdict::episode_score`] (default 50).
    pub fn refractory(mut self, points: usize) -> Self {
        self.refractory = points;
        self
    }

    /// Sets the member score from which a member counts as a contributor.
    pub fn contribution_level(mut self, level: f64) -> Self {
        self.contribution_level = level;
        self
    }

    /// Sets how the members' scores are combined.
    pub fn combination(mut self, combination: Combination) -> Self {
        self.combination = combination;
        self
    }

    /// Sets the score cut points of the severities.
    pub fn thresholds(mut self, thresholds: SeverityThresholds) -> Self {
        self.thresholds = thresholds;
        self
    }

    /// Sets the number of past values in the [`LagFeatures`] window of the vector members.
    pub fn lags(mut self, lags: usize) -> Self {
        self.lags = lags;
        self
    }

    /// Builds the detector.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] for no members or more than [`MAX_MEMBERS`], a weight that is
    /// negative or not finite, all weights zero, an alert rate outside `(0, 0.5)`, a
    /// contribution level outside `(0, 1)`, a calibration window below 20, fewer than 2 lags or
    /// a step that is not positive.
    pub fn build(self) -> Result<MetricDetector> {
        let n = self.scalars.len() + self.vectors.len();
        if n == 0 || n > MAX_MEMBERS {
            return Err(invalid(
                "members",
                format!("need 1 to {MAX_MEMBERS} members, got {n}"),
            ));
        }
        let weights = self
            .scalars
            .iter()
            .map(|m| m.1)
            .chain(self.vectors.iter().map(|m| m.1));
        let mut total = 0.0;
        for w in weights {
            if !(w.is_finite() && w >= 0.0) {
                return Err(invalid(
                    "weight",
                    format!("must be finite and non-negative, got {w}"),
                ));
            }
            total += w;
        }
        if total <= 0.0 {
            return Err(invalid(
                "weight",
                "at least one weight must be positive".into(),
            ));
        }
        if !(self.alert_rate > 0.0 && self.alert_rate < 0.5) {
            return Err(invalid(
                "alert_rate",
                format!("must be in (0, 0.5), got {}", self.alert_rate),
            ));
        }
        if !(self.contribution_level > 0.0 && self.contribution_level < 1.0) {
            return Err(invalid(
                "contribution_level",
                format!("must be in (0, 1), got {}", self.contribution_level),
            ));
        }
        if self.lags < 2 {
            return Err(invalid(
                "lags",
                format!("must be at least 2, got {}", self.lags),
            ));
        }
        if let Some(step) = self.step_secs {
            prescient_core::check_positive("step_secs", step)?;
        }
        let calibrator = TailCalibrator::new(self.calibration_window)?;
        let alerter = Alerter::new(
            self.calibration_window,
            self.alert_rate,
            self.refractory,
            self.thresholds,
            None,
        )?;
        let members = self
            .scalars
            .iter()
            .map(|(name, weight, _)| Member::new(name, *weight, &calibrator))
            .chain(
                self.vectors
                    .iter()
                    .map(|(name, weight, _)| Member::new(name, *weight, &calibrator)),
            )
            .collect();
        let mut d = MetricDetector {
            members,
            lag: LagFeatures::new(self.lags),
            vector_buf: vec![0.0; LagFeatures::DIM],
            pending: Vec::new(),
            period_decided: false,
            period: None,
            alerter,
            params: self,
        };
        d.start_members();
        Ok(d)
    }
}

fn invalid(name: &'static str, reason: String) -> Error {
    Error::InvalidParam { name, reason }
}

impl Default for MetricDetectorParams {
    /// The default ensemble, one member per kind of anomaly:
    ///
    /// - `zscore`: a rolling z-score over 300 points (a value far from the recent mean);
    /// - `knn`: a [`KnnCad`] over patterns of 3 values (a value, or a step, that the last 2000
    ///   points have not produced: it stays quiet on spikes a series makes all the time);
    /// - `knn_long`: a [`KnnCad`] over patterns of 8 values (a shape not seen lately: a change of
    ///   texture, of rhythm or of spike density);
    /// - `seasonal`: a [`SeasonalMedian`], built only when [`PeriodSearch`] confirms a season (a
    ///   daily peak that does not come, a pattern that goes flat).
    ///
    /// They are combined by the mean of their surprises ([`Combination::Mean`]) and deduplicated
    /// over a refractory period of 50 points.
    ///
    /// Measured on the NAB subset of `../shared/data/nab` (`prescient nab`): each member adds to
    /// the score and none dominates; the EWMA chart and the isolation forest of the
    /// earlier default lowered it once the nearest-neighbour members were in (they flag the same
    /// points, with more false alarms). An STL residual member is not in the default: it raised
    /// false alarms at the sharp edges of clean daily patterns, which the same-phase median
    /// expects exactly; add it with [`MetricDetectorParams::member`] for smooth seasonal
    /// metrics.
    fn default() -> Self {
        MetricDetectorParams::empty()
            .member(
                "zscore",
                1.0,
                Box::new(|_| RollingZScore::new(300).ok().map(|d| Box::new(d) as _)),
            )
            .member(
                "knn",
                1.0,
                Box::new(|_| KnnCad::new(3, 2, 2000).ok().map(|d| Box::new(d) as _)),
            )
            .member(
                "knn_long",
                1.0,
                Box::new(|_| KnnCad::new(8, 2, 2000).ok().map(|d| Box::new(d) as _)),
            )
            .member(
                "seasonal",
                1.0,
                Box::new(|period| SeasonalMedian::new(period?).ok().map(|d| Box::new(d) as _)),
            )
    }
}

/// The features of the latest value that the vector members see: the value, its change from the
/// previous one, and its deviation from the mean of the last `lags` values in units of their
/// standard deviation (0 when they are flat).
#[derive(Debug, Clone, PartialEq)]
pub struct LagFeatures {
    recent: RingBuffer<f64>,
}

impl LagFeatures {
    /// The dimension of the feature vectors.
    pub const DIM: usize = 3;

    /// Features over the last `lags` values (at least 2).
    pub fn new(lags: usize) -> Self {
        LagFeatures {
            recent: RingBuffer::new(lags.max(2)),
        }
    }

    /// Writes the features of `x` (finite) against the values before it into `out[..3]`, then
    /// remembers `x`. `false` (and nothing written) before the first value.
    pub fn push(&mut self, x: f64, out: &mut [f64]) -> bool {
        let ready = !self.recent.is_empty() && out.len() >= Self::DIM;
        if ready {
            let n = self.recent.len() as f64;
            let mean = self.recent.iter().sum::<f64>() / n;
            let var = self
                .recent
                .iter()
                .map(|v| (v - mean) * (v - mean))
                .sum::<f64>()
                / n;
            let prev = self.recent.back().copied().unwrap_or(x);
            let sd = var.sqrt();
            out[0] = x;
            out[1] = x - prev;
            out[2] = if sd > 0.0 && sd.is_finite() {
                (x - mean) / sd
            } else {
                0.0
            };
            for o in out.iter_mut().take(Self::DIM) {
                if !o.is_finite() {
                    *o = 0.0;
                }
            }
        }
        self.recent.push(x);
        ready
    }

    /// Forgets the values.
    pub fn clear(&mut self) {
        self.recent.clear();
    }
}

/// One member of the ensemble and its calibrator.
struct Member {
    name: &'static str,
    weight: f64,
    model: Option<Model>,
    calibrator: TailCalibrator,
    last: Option<Score>,
}

enum Model {
    Scalar(Box<dyn Detector>),
    Vector(Box<dyn VectorDetector>),
}

impl Member {
    fn new(name: &'static str, weight: f64, calibrator: &TailCalibrator) -> Self {
        Member {
            name,
            weight,
            model: None,
            calibrator: calibrator.clone(),
            last: None,
        }
    }
}

/// The anomaly detector of one metric: several detectors, each calibrated against its own
/// history, combined into one score with weights, with an adaptive alert threshold, severities
/// and alert deduplication.
///
/// **Members.** Each member is a [`Detector`] on the raw values (a z-score, an EWMA chart, a
/// [`KnnCad`], a [`SeasonalMedian`], an STL residual, a forecast residual) or a
/// [`VectorDetector`] on [`LagFeatures`] (an isolation forest, a one-class SVM). Members that need the seasonal period are built once it is known: it is
/// detected ([`PeriodSearch`], with the sampling step given or inferred from the timestamps) on
/// the first points, which are kept until then (at most
/// [`MetricDetectorParams::period_search_points`]) and replayed into the new members so that they
/// start warm. Every member keeps bounded memory, so the detector does too.
///
/// **Calibration.** Each member's raw statistic (the absolute deviation of a univariate member,
/// the anomaly statistic of a multivariate one) goes through its own [`TailCalibrator`], which
/// turns it into a score whose tail matches that member's recent history: members with different
/// scales and tails become comparable.
///
/// **Combination.** The weighted mean of the members' surprises `−ln(1 − score)` (see
/// [`Score::surprise`]); members still warming up are left out.
///
/// **Alerts.** The combined surprise is calibrated once more against its own history; a point
/// alerts when that tail probability is below [`MetricDetectorParams::alert_rate`], so the alert
/// rate on ordinary data follows the target whatever the metric. An alert's severity is the
/// combined score's [`SeverityThresholds`] class, at least `Low`. After an alert, further alerts
/// are suppressed for [`MetricDetectorParams::refractory`] points unless the score rises above the
/// episode's peak. [`Verdict::episode_score`] keeps only new peaks (a score above those of the
/// previous `refractory` points), so that a consumer thresholding it at any level sees one point
/// per rise, not every point of a sustained anomaly.
///
/// Online: the verdict on a point depends only on the points before it and the point itself.
pub struct MetricDetector {
    params: MetricDetectorParams,
    members: Vec<Member>,
    lag: LagFeatures,
    vector_buf: Vec<f64>,
    pending: Vec<(Timestamp, f64)>,
    period_decided: bool,
    period: Option<usize>,
    alerter: Alerter,
}

impl std::fmt::Debug for MetricDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricDetector")
            .field("members", &self.member_names())
            .field("period", &self.period)
            .finish_non_exhaustive()
    }
}

impl MetricDetector {
    /// The default ensemble ([`MetricDetectorParams::default`]).
    ///
    /// # Errors
    ///
    /// None with the default settings; the signature leaves room for settings that can fail.
    pub fn new() -> Result<Self> {
        MetricDetectorParams::default().build()
    }

    /// The members' names, in member order (univariate members first).
    pub fn member_names(&self) -> Vec<&'static str> {
        self.members.iter().map(|m| m.name).collect()
    }

    /// Each member's calibrated score on the latest point (`None` while it warms up).
    pub fn member_scores(&self) -> Vec<Option<Score>> {
        self.members.iter().map(|m| m.last).collect()
    }

    /// The seasonal period in use, once decided.
    pub fn period(&self) -> Option<usize> {
        self.period
    }

    /// Scores `x`, observed at `ts`, then learns from it. `None` while every member warms up and
    /// for a non-finite `x` (which is not learned from).
    pub fn update(&mut self, ts: Timestamp, x: f64) -> Option<Verdict> {
        if !x.is_finite() {
            return None;
        }
        // Lag features only for the multivariate members that read them.
        let lag_ready = !self.params.vectors.is_empty() && self.lag.push(x, &mut self.vector_buf);
        let mut tally = Tally::default();
        for (i, m) in self.members.iter_mut().enumerate() {
            m.last = None;
            let raw = match &mut m.model {
                Some(Model::Scalar(d)) => d.update(ts, x).map(|d| (d.deviation.abs(), d.deviation)),
                Some(Model::Vector(d)) if lag_ready => d
                    .update(ts, &self.vector_buf)
                    .ok()
                    .flatten()
                    .map(|d| (d.deviation, 0.0)),
                _ => None,
            };
            let Some((stat, signed)) = raw else { continue };
            let Some(score) = m.calibrator.update(stat) else {
                continue;
            };
            m.last = Some(score);
            tally.add(i, m.weight, score, signed, self.params.contribution_level);
        }
        self.track_period(ts, x);
        let surprise = tally.combined(self.params.combination)?;
        Some(
            self.alerter
                .judge(surprise, tally.deviation(), tally.contributors()),
        )
    }

    /// Forgets everything seen (the seasonal period is looked for again).
    pub fn reset(&mut self) {
        for m in &mut self.members {
            m.model = None;
            m.calibrator.reset();
            m.last = None;
        }
        self.lag.clear();
        self.pending.clear();
        self.period_decided = false;
        self.period = None;
        self.alerter.reset();
        self.start_members();
    }

    /// Builds the members that need no period, and all of them when the period is fixed.
    fn start_members(&mut self) {
        if let PeriodChoice::Fixed(p) = self.params.period {
            self.period_decided = true;
            self.period = p;
        }
        let n_scalar = self.params.scalars.len();
        for (i, (_, _, factory)) in self.params.scalars.iter().enumerate() {
            // A factory that builds without a period does not need one.
            let model = if self.period_decided {
                factory(self.period)
            } else {
                factory(None)
            };
            self.members[i].model = model.map(Model::Scalar);
        }
        for (j, (_, _, factory)) in self.params.vectors.iter().enumerate() {
            self.members[n_scalar + j].model = factory(LagFeatures::DIM).map(Model::Vector);
        }
        // Nobody waits for a period: do not keep history to look for one.
        if self.members[..n_scalar].iter().all(|m| m.model.is_some()) {
            self.period_decided = true;
        }
    }

    /// Keeps the first points until the period is decided, then builds the seasonal members.
    fn track_period(&mut self, ts: Timestamp, x: f64) {
        if self.period_decided {
            return;
        }
        self.pending.push((ts, x));
        let n = self.pending.len();
        // Look every 256 points: each look fits STL once per candidate period.
        let give_up = n >= self.params.period_search_points;
        if n % 256 != 0 && !give_up {
            return;
        }
        let mut search = PeriodSearch::new();
        if let Some(step) = self.params.step_secs.or_else(|| median_step(&self.pending)) {
            if let Ok(s) = search.clone().step_secs(step) {
                search = s;
            }
        }
        let values: Vec<f64> = self.pending.iter().map(|p| p.1).collect();
        let found = search.detect(&values).map(|s| s.period);
        if found.is_none() && !give_up {
            return;
        }
        self.period_decided = true;
        self.period = found;
        let pending = std::mem::take(&mut self.pending);
        if let Some(period) = found {
            for (i, (_, _, factory)) in self.params.scalars.iter().enumerate() {
                if self.members[i].model.is_some() {
                    continue;
                }
                let Some(mut d) = factory(Some(period)) else {
                    continue;
                };
                // Replay the history so that the member and its calibrator start warm.
                let member = &mut self.members[i];
                for &(t, v) in &pending {
                    if let Some(det) = d.update(t, v) {
                        member.calibrator.learn(det.deviation.abs());
                    }
                }
                member.model = Some(Model::Scalar(d));
            }
        }
    }
}

/// The median spacing of the timestamps, in seconds, when positive.
fn median_step(points: &[(Timestamp, f64)]) -> Option<f64> {
    let mut steps: Vec<i64> = points
        .windows(2)
        .map(|w| w[1].0.as_millis().saturating_sub(w[0].0.as_millis()))
        .filter(|d| *d > 0)
        .collect();
    if steps.is_empty() {
        return None;
    }
    let mid = steps.len() / 2;
    let (_, m, _) = steps.select_nth_unstable(mid);
    Some(*m as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn noisy(seed: u64, n: usize) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| 100.0 + rng.gen_range(-1.0..1.0)).collect()
    }

    #[test]
    fn params_are_checked() {
        assert!(MetricDetectorParams::empty().build().is_err());
        let one = || {
            MetricDetectorParams::empty().member(
                "z",
                1.0,
                Box::new(|_| RollingZScore::new(10).ok().map(|d| Box::new(d) as _)),
            )
        };
        assert!(one().build().is_ok());
        assert!(one().alert_rate(0.0).build().is_err());
        assert!(one().contribution_level(1.0).build().is_err());
        assert!(one().calibration_window(5).build().is_err());
        assert!(one().lags(1).build().is_err());
        assert!(one().step_secs(0.0).build().is_err());
        let zero = MetricDetectorParams::empty().member(
            "z",
            0.0,
            Box::new(|_| RollingZScore::new(10).ok().map(|d| Box::new(d) as _)),
        );
        assert!(zero.build().is_err());
    }

    #[test]
    fn a_spike_alerts_once_with_its_contributors() {
        let mut d = MetricDetectorParams::default()
            .period(None)
            .build()
            .unwrap();
        let xs = noisy(1, 1500);
        let mut alerts = 0;
        for (i, &x) in xs.iter().enumerate() {
            let v = d.update(Timestamp::from_secs(60 * i as i64), x);
            if v.is_some_and(|v| v.alert) {
                alerts += 1;
            }
        }
        // A target rate of 1e-3 on 1500 ordinary points: a handful at most.
        assert!(alerts <= 5, "{alerts} alerts on clean data");
        let spike = d.update(Timestamp::from_secs(60 * 1500), 160.0).unwrap();
        assert!(spike.alert);
        assert!(spike.severity >= Severity::Medium, "{spike:?}");
        assert!(spike.deviation > 0.0);
        let names = d.member_names();
        let who = spike.contributor_names(&names);
        assert!(who.contains(&"zscore") && who.contains(&"knn"), "{who:?}");
        // The same spike again right after: inside the episode, not above its peak.
        let again = d.update(Timestamp::from_secs(60 * 1501), 160.0).unwrap();
        assert!(!again.alert);
        assert_eq!(again.episode_score, Score::ZERO);
    }

    #[test]
    fn the_period_is_found_and_the_seasonal_member_built() {
        let mut d = MetricDetectorParams::default()
            .member(
                "stl",
                1.0,
                Box::new(|period| {
                    crate::StlResidual::new(period?)
                        .ok()
                        .map(|d| Box::new(d) as _)
                }),
            )
            .build()
            .unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for t in 0..24 * 12 {
            let x = 50.0
                + 20.0 * (std::f64::consts::TAU * t as f64 / 24.0).sin()
                + rng.gen_range(-1.0..1.0);
            d.update(Timestamp::from_secs(3600 * t), x);
        }
        assert_eq!(d.period(), Some(24));
        let stl = d.member_names().iter().position(|n| *n == "stl").unwrap();
        assert!(d.member_scores()[stl].is_some(), "stl member not running");
    }

    #[test]
    fn identical_input_gives_identical_verdicts() {
        let xs = noisy(3, 800);
        let run = || {
            let mut d = MetricDetector::new().unwrap();
            xs.iter()
                .enumerate()
                .map(|(i, &x)| d.update(Timestamp::from_secs(i as i64), x))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(), run());
    }

    proptest! {
        #[test]
        fn prop_verdicts_are_finite_and_in_range(xs in proptest::collection::vec(prop_oneof![
            any::<f64>(), -1e3f64..1e3, Just(1e308), Just(0.0), Just(5e-324)
        ], 0..400)) {
            let mut d = MetricDetectorParams::default().period_search_points(128).build().unwrap();
            for (i, &x) in xs.iter().enumerate() {
                if let Some(v) = d.update(Timestamp::from_secs(i as i64), x) {
                    prop_assert!((0.0..=1.0).contains(&v.score.value()));
                    prop_assert!((0.0..=1.0).contains(&v.episode_score.value()));
                    prop_assert!(v.deviation.is_finite());
                }
            }
        }
    }
}
