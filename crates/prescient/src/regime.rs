//! The workload's regime: its fingerprint, how far that is from recent history, and when the
//! workload last looked like this.

use prescient_core::{RegimeMatch, RegimeNote, RingBuffer, SeverityThresholds, Timestamp};
use prescient_detect::{
    DistanceNorm, RecentDistance, StreamingIsolationForest, StreamingOneClassSvm, VectorMonitor,
    VectorMonitorParams, Verdict,
};
use prescient_features::{
    FingerprintParams, FingerprintStore, Fingerprinter, Observed, StoreParams,
};

use crate::Result;

/// At least this many recent feature vectors are replayed into the regime detectors after a
/// refit: the isolation forest's first fit needs 256.
const REPLAY_MIN: usize = 256;

/// Ticks between the regrowths of the regime's isolation forest.
const IFOREST_REFIT_EVERY: usize = 1024;

/// A detector of the regime monitor, over the fingerprint vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum RegimeDetector {
    /// [`RecentDistance`]: the multivariate rolling z-score against the last hour.
    Distance,
    /// [`StreamingIsolationForest`] on a sliding window of fingerprints.
    IsolationForest,
    /// [`StreamingOneClassSvm`] on a sliding window of fingerprints.
    OneClassSvm,
}

/// Settings of a [`RegimeMonitor`].
///
/// The defaults suit 15 s ticks: a 4-dimensional fingerprint (see [`FingerprintParams`]), the
/// distance against the last hour and an isolation forest over the last 2,048 ticks (8.5 h,
/// regrown every 1,024),
/// their scores calibrated over 3,000 ticks, alerts after a warm-up of 1,000 ticks at a target
/// rate of 10⁻⁴ per tick, a fingerprint stored every 5 minutes for two weeks.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RegimeParams {
    fingerprint: FingerprintParams,
    store: StoreParams,
    detectors: Vec<RegimeDetector>,
    distance_window: usize,
    distance_norm: DistanceNorm,
    calibration_window: usize,
    warmup: usize,
    alert_rate: f64,
    refractory: usize,
    thresholds: SeverityThresholds,
    seed: u64,
}

impl Default for RegimeParams {
    fn default() -> Self {
        RegimeParams {
            fingerprint: FingerprintParams::default(),
            store: StoreParams::default(),
            detectors: vec![RegimeDetector::Distance, RegimeDetector::IsolationForest],
            distance_window: 240,
            distance_norm: DistanceNorm::Rms,
            calibration_window: 3000,
            warmup: 1000,
            alert_rate: 1e-4,
            refractory: 240,
            thresholds: SeverityThresholds::default(),
            seed: 0x5eed,
        }
    }
}

impl RegimeParams {
    /// The fingerprint's settings (dimension, history, refit schedule).
    pub fn fingerprint(mut self, p: FingerprintParams) -> Self {
        self.fingerprint = p;
        self
    }

    /// The fingerprint store's settings (capacity, interval, exclusion of recent entries).
    pub fn store(mut self, p: StoreParams) -> Self {
        self.store = p;
        self
    }

    /// The detectors over the fingerprint vector (default distance and isolation forest).
    pub fn detectors(mut self, detectors: &[RegimeDetector]) -> Self {
        self.detectors = detectors.to_vec();
        self
    }

    /// The distance detector's window, in ticks (default 240).
    pub fn distance_window(mut self, ticks: usize) -> Self {
        self.distance_window = ticks;
        self
    }

    /// How the distance detector combines its coordinates (default [`DistanceNorm::Rms`]).
    pub fn distance_norm(mut self, norm: DistanceNorm) -> Self {
        self.distance_norm = norm;
        self
    }

    /// The calibration history of the detectors' scores, in ticks (default 3,000).
    pub fn calibration_window(mut self, ticks: usize) -> Self {
        self.calibration_window = ticks;
        self
    }

    /// How many of the detectors' combined scores are held before the first alert (default
    /// 1,000 ticks, about 4 hours): the alert threshold is a far tail quantile of their
    /// history, which a few dozen points cannot estimate.
    pub fn warmup(mut self, ticks: usize) -> Self {
        self.warmup = ticks;
        self
    }

    /// The target alert rate per tick on an ordinary workload (default 10⁻⁴: at 15 s ticks,
    /// about one alert every three days on a workload that does not change, since a regime
    /// change is rare and persistent, not a passing spike).
    pub fn alert_rate(mut self, rate: f64) -> Self {
        self.alert_rate = rate;
        self
    }

    /// Ticks after an alert during which only an escalation alerts again (default 240: one
    /// regime change, one alert).
    pub fn refractory(mut self, ticks: usize) -> Self {
        self.refractory = ticks;
        self
    }

    /// The severities' score thresholds.
    pub fn thresholds(mut self, t: SeverityThresholds) -> Self {
        self.thresholds = t;
        self
    }

    /// The seed of the randomised detectors (the isolation forest, the SVM's subsample).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The fingerprint's dimension.
    pub fn components(&self) -> usize {
        self.fingerprint.components()
    }

    /// The target alert rate per tick.
    pub fn target_alert_rate(&self) -> f64 {
        self.alert_rate
    }

    /// A monitor for feature vectors of `features` values, storing `resources` resource values
    /// with each fingerprint.
    ///
    /// # Errors
    ///
    /// [`prescient_core::Error::InvalidParam`] (wrapped in [`crate::Error::Core`]) for invalid fingerprint, store or detector
    /// settings, or no detector.
    pub fn build(&self, features: usize, resources: usize) -> Result<RegimeMonitor> {
        let k = self.fingerprint.components();
        let fingerprinter = self.fingerprint.build(features)?;
        let store = self.store.build(k, resources)?;
        let mut monitor = VectorMonitorParams::empty()
            .calibration_window(self.calibration_window)
            .alert_rate(self.alert_rate)
            .warmup(self.warmup)
            .refractory(self.refractory)
            .thresholds(self.thresholds);
        let (window, norm, seed) = (self.distance_window, self.distance_norm, self.seed);
        for d in &self.detectors {
            monitor = match d {
                RegimeDetector::Distance => monitor.member(
                    "distance",
                    1.0,
                    Box::new(move |dim| {
                        RecentDistance::new(dim, window)
                            .ok()
                            .map(|d| Box::new(d.norm(norm)) as _)
                    }),
                ),
                RegimeDetector::IsolationForest => monitor.member(
                    "iforest",
                    1.0,
                    Box::new(move |dim| {
                        // The fingerprint moves slowly: a forest over the last 2,048 ticks
                        // regrown every 1,024 (not the default 256) costs a quarter as much
                        // per tick.
                        StreamingIsolationForest::params()
                            .seed(seed)
                            .refit_every(IFOREST_REFIT_EVERY)
                            .build(dim)
                            .ok()
                            .map(|d| Box::new(d) as _)
                    }),
                ),
                RegimeDetector::OneClassSvm => monitor.member(
                    "ocsvm",
                    1.0,
                    Box::new(move |dim| {
                        StreamingOneClassSvm::params()
                            .seed(seed)
                            .build(dim)
                            .ok()
                            .map(|d| Box::new(d) as _)
                    }),
                ),
            };
        }
        let monitor = monitor.build(k + 1)?;
        // Enough recent vectors to refill the distance's window and fit a first forest.
        let replay = self.distance_window.max(REPLAY_MIN);
        Ok(RegimeMonitor {
            fingerprinter,
            store,
            monitor,
            recent: RingBuffer::new(replay),
            spare: None,
            vector: vec![0.0; k + 1],
            last: None,
            verdict: None,
        })
    }
}

/// The workload's regime, tick by tick: the feature vector's fingerprint
/// ([`Fingerprinter`]), a calibrated score of how far it is from recent history (a
/// [`VectorMonitor`] over the whitened fingerprint and its residual), and the closest earlier
/// moment in a [`FingerprintStore`] with the workers it needed.
///
/// The monitor's input is the fingerprint with each component divided by its standard
/// deviation over the fit, plus `ln(1 + SPE)`, the residual the fingerprint cannot express: a
/// change of request mix that breaks a correlation shows there first. Whitening keeps the
/// detectors' inputs on the same scale across refits.
///
/// ```
/// use prescient::regime::RegimeParams;
/// use prescient::features::{FingerprintParams, Observed};
/// use prescient::Timestamp;
///
/// let fp = FingerprintParams::new(2).keep_every(1).min_rows(50);
/// let mut m = RegimeParams::default().fingerprint(fp).build(3, 0)?;
/// let seen = Observed { workers: 4, needed: Some(4) };
/// let mut note = None;
/// for i in 0..600 {
///     let (ts, s) = (Timestamp::from_secs(15 * i), (i as f64 / 40.0).sin());
///     note = m.update(ts, &[s, 2.0 * s, 1.0 - s])?;
///     // What the platform ran and needed at this moment, once known.
///     m.record(ts, seen, &[])?;
/// }
/// let note = note.expect("fitted and warmed up");
/// assert!(note.nearest.is_some());
/// assert!(!note.alert);
/// # Ok::<(), prescient::Error>(())
/// ```
#[derive(Debug)]
pub struct RegimeMonitor {
    fingerprinter: Fingerprinter,
    store: FingerprintStore,
    monitor: VectorMonitor,
    /// The latest feature vectors, replayed into the detectors in the new basis after a refit.
    recent: RingBuffer<(Timestamp, Vec<f64>)>,
    spare: Option<Vec<f64>>,
    vector: Vec<f64>,
    last: Option<RegimeNote>,
    verdict: Option<Verdict>,
}

impl RegimeMonitor {
    /// The fingerprinter.
    pub fn fingerprinter(&self) -> &Fingerprinter {
        &self.fingerprinter
    }

    /// The fingerprint store.
    pub fn store(&self) -> &FingerprintStore {
        &self.store
    }

    /// The fingerprint of the last update, once fitted.
    pub fn fingerprint(&self) -> Option<&[f64]> {
        self.fingerprinter.fingerprint()
    }

    /// What the last update said.
    pub fn last(&self) -> Option<&RegimeNote> {
        self.last.as_ref()
    }

    /// The regime detectors' full verdict on the last update (with the deduplicated episode
    /// score and the contributing detectors), once they have warmed up.
    pub fn verdict(&self) -> Option<&Verdict> {
        self.verdict.as_ref()
    }

    /// The names of the regime detectors, in the order of [`Verdict::contributors`]' bits.
    pub fn detector_names(&self) -> Vec<&'static str> {
        self.monitor.member_names()
    }

    /// The vector the detectors saw at the last update (whitened fingerprint, then
    /// `ln(1 + SPE)`); zeros before the first fit.
    pub fn detector_input(&self) -> &[f64] {
        &self.vector
    }

    /// Takes the feature vector observed at `ts` and says where the workload stands: `None`
    /// until the fingerprint is fitted and the detectors have warmed up.
    ///
    /// The nearest earlier moment is looked up among what [`RegimeMonitor::record`] stored;
    /// call that once the tick's outcome is known, so the store learns this moment too.
    ///
    /// # Errors
    ///
    /// [`prescient_core::Error::SchemaMismatch`] when `features` has the wrong length; nothing
    /// changes.
    pub fn update(&mut self, ts: Timestamp, features: &[f64]) -> Result<Option<RegimeNote>> {
        if features.len() != self.fingerprinter.features() {
            return Err(prescient_core::Error::SchemaMismatch {
                expected: self.fingerprinter.features(),
                got: features.len(),
            }
            .into());
        }
        let refitted = self.fingerprinter.update(ts, features)?;
        if refitted {
            if let (Some(from), Some(to)) =
                (self.fingerprinter.previous_fit(), self.fingerprinter.pca())
            {
                // Both fits have the store's dimension and the same features.
                self.store.rebase(from, to)?;
            }
            self.replay();
        }
        // The vector the ring drops is the next one's buffer: no allocation once it is full.
        let mut kept = self.spare.take().unwrap_or_default();
        kept.clear();
        kept.extend_from_slice(features);
        self.spare = self.recent.push((ts, kept)).map(|(_, dropped)| dropped);
        let Some(pca) = self.fingerprinter.pca() else {
            self.last = None;
            self.verdict = None;
            return Ok(None);
        };
        let f = self.fingerprinter.fingerprint().unwrap_or_default();
        detector_input(pca, f, self.fingerprinter.spe(), &mut self.vector);
        let nearest = self
            .store
            .nearest(f, ts, 1)
            .ok()
            .and_then(|n| n.into_iter().next())
            .map(|n| RegimeMatch {
                ts: n.ts,
                distance: n.distance,
                workers: n.observed.workers,
                needed: n.observed.needed,
            });
        let verdict = self.monitor.update(ts, &self.vector)?;
        self.verdict = verdict;
        self.last = verdict.map(|v| RegimeNote {
            score: v.score,
            severity: v.severity,
            alert: v.alert,
            nearest,
        });
        Ok(self.last)
    }

    /// After a refit, the detectors' models start over on the recent feature vectors expressed
    /// in the new basis, so that a refit is not taken for a change of regime: without this, a
    /// detector that compares the fingerprint with its recent values would see every refit
    /// as a jump. Their calibration and alert history are kept.
    fn replay(&mut self) {
        let Some(pca) = self.fingerprinter.pca() else {
            return;
        };
        self.monitor.reset_models();
        let k = pca.components();
        let mut f = vec![0.0; k];
        let mut input = vec![0.0; k + 1];
        for (ts, x) in self.recent.iter() {
            pca.project_inplace(x, &mut f);
            detector_input(pca, &f, pca.residual_sq(x), &mut input);
            // The vectors have the monitor's dimension.
            let _ = self.monitor.learn(*ts, &input);
        }
    }

    /// Stores the fingerprint of the last [`RegimeMonitor::update`] (made at `ts`) with what
    /// the platform `observed` and the `resources` in use then. Returns whether it was stored:
    /// not before the first fit, nor sooner than the store's interval after its newest entry.
    ///
    /// # Errors
    ///
    /// [`prescient_core::Error::SchemaMismatch`] when `resources` has the wrong length, and
    /// [`prescient_core::Error::OutOfOrder`] when `ts` is before the store's newest entry;
    /// nothing changes.
    pub fn record(&mut self, ts: Timestamp, observed: Observed, resources: &[f64]) -> Result<bool> {
        let Some(f) = self.fingerprinter.fingerprint() else {
            if resources.len() != self.store.resources() {
                return Err(prescient_core::Error::SchemaMismatch {
                    expected: self.store.resources(),
                    got: resources.len(),
                }
                .into());
            }
            return Ok(false);
        };
        Ok(self.store.insert(ts, f, observed, resources)?)
    }

    /// The fingerprint of the last update with each component divided by its standard
    /// deviation over the fit (unit variance on the history), or zeros before the first fit:
    /// the covariates a forecaster gets from the [`Scaler`](crate::Scaler).
    pub fn covariates(&self) -> &[f64] {
        &self.vector[..self.vector.len() - 1]
    }

    /// What the monitor has learned, encoded for a snapshot: the fingerprinter's history and
    /// fits, the store, the detectors' models and calibration, the recent feature vectors and
    /// the last note.
    ///
    /// # Errors
    ///
    /// [`prescient_core::Error::Unsupported`] when a regime detector cannot be saved.
    #[cfg(feature = "serde")]
    pub fn save_state(&self) -> Result<Vec<u8>> {
        let saved = SavedRegime {
            fingerprinter: self.fingerprinter.clone(),
            store: self.store.clone(),
            monitor: self.monitor.save_state()?,
            recent: self.recent.clone(),
            vector: self.vector.clone(),
            last: self.last,
            verdict: self.verdict,
        };
        Ok(prescient_core::snapshot::encode(&saved)?)
    }

    /// Restores what [`RegimeMonitor::save_state`] saved of a monitor built with the same
    /// settings. Restore into a newly built monitor: if a detector refuses its state, the
    /// monitor may be partly restored.
    ///
    /// # Errors
    ///
    /// [`prescient_core::Error::CorruptSnapshot`] when `state` does not decode, and
    /// [`prescient_core::Error::IncompatibleSnapshot`] when the fingerprint's or the
    /// detectors' dimensions differ.
    #[cfg(feature = "serde")]
    pub fn load_state(&mut self, state: &[u8]) -> Result<()> {
        let saved: SavedRegime = prescient_core::snapshot::decode(state)?;
        if saved.fingerprinter.features() != self.fingerprinter.features()
            || saved.vector.len() != self.vector.len()
            || saved.store.resources() != self.store.resources()
        {
            return Err(prescient_core::Error::IncompatibleSnapshot(
                "the regime monitor's dimensions differ".into(),
            )
            .into());
        }
        self.monitor.load_state(&saved.monitor)?;
        self.fingerprinter = saved.fingerprinter;
        self.store = saved.store;
        self.recent = saved.recent;
        self.vector = saved.vector;
        self.last = saved.last;
        self.verdict = saved.verdict;
        self.spare = None;
        Ok(())
    }

    /// Forgets everything: the history, the fits, the store and the detectors.
    pub fn reset(&mut self) {
        self.fingerprinter.reset();
        self.store.clear();
        self.monitor.reset();
        self.recent.clear();
        self.vector.fill(0.0);
        self.last = None;
        self.verdict = None;
    }
}

/// A [`RegimeMonitor`] in a snapshot.
#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct SavedRegime {
    fingerprinter: Fingerprinter,
    store: FingerprintStore,
    monitor: Vec<u8>,
    recent: RingBuffer<(Timestamp, Vec<f64>)>,
    vector: Vec<f64>,
    last: Option<RegimeNote>,
    verdict: Option<Verdict>,
}

/// The regime detectors' input: the fingerprint `f` whitened by each component's variance, then
/// `ln(1 + spe)`.
fn detector_input(pca: &prescient_features::Pca, f: &[f64], spe: f64, out: &mut [f64]) {
    let k = f.len();
    for ((v, f), var) in out.iter_mut().zip(f).zip(pca.explained_variance()) {
        *v = if *var > 0.0 { f / var.sqrt() } else { 0.0 };
    }
    out[k] = spe.ln_1p();
}
