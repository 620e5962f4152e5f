//! The workload's regime: its fingerprint, how far that is from recent history, and when the
//! workload last looked like this.

use prescient_core::{RegimeMatch, RegimeNote, SeverityThresholds, Timestamp};
use prescient_detect::{
    RecentDistance, StreamingIsolationForest, StreamingOneClassSvm, VectorMonitor,
    VectorMonitorParams,
};
use prescient_features::{
    FingerprintParams, FingerprintStore, Fingerprinter, Observed, StoreParams,
};

use crate::Result;

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
/// distance against the last hour and an isolation forest over the last 2,048 ticks (8.5 h),
/// their scores calibrated over 3,000 ticks, an alert rate of 10⁻³ per tick, a fingerprint
/// stored every 5 minutes for two weeks.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RegimeParams {
    fingerprint: FingerprintParams,
    store: StoreParams,
    detectors: Vec<RegimeDetector>,
    distance_window: usize,
    calibration_window: usize,
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
            calibration_window: 3000,
            alert_rate: 1e-3,
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

    /// The calibration history of the detectors' scores, in ticks (default 3,000).
    pub fn calibration_window(mut self, ticks: usize) -> Self {
        self.calibration_window = ticks;
        self
    }

    /// The target alert rate per tick on an ordinary workload (default 10⁻³).
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
            .refractory(self.refractory)
            .thresholds(self.thresholds);
        let (window, seed) = (self.distance_window, self.seed);
        for d in &self.detectors {
            monitor = match d {
                RegimeDetector::Distance => monitor.member(
                    "distance",
                    1.0,
                    Box::new(move |dim| {
                        RecentDistance::new(dim, window)
                            .ok()
                            .map(|d| Box::new(d) as _)
                    }),
                ),
                RegimeDetector::IsolationForest => monitor.member(
                    "iforest",
                    1.0,
                    Box::new(move |dim| {
                        StreamingIsolationForest::params()
                            .seed(seed)
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
        Ok(RegimeMonitor {
            fingerprinter,
            store,
            monitor,
            vector: vec![0.0; k + 1],
            last: None,
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
///     let s = (i as f64 / 40.0).sin();
///     note = m.update(Timestamp::from_secs(15 * i), &[s, 2.0 * s, 1.0 - s], seen, &[])?;
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
    vector: Vec<f64>,
    last: Option<RegimeNote>,
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

    /// The vector the detectors saw at the last update (whitened fingerprint, then
    /// `ln(1 + SPE)`); zeros before the first fit.
    pub fn detector_input(&self) -> &[f64] {
        &self.vector
    }

    /// Takes the feature vector observed at `ts`, with what the platform `observed` and the
    /// `resources` in use, and says where the workload stands: `None` until the fingerprint is
    /// fitted and the detectors have warmed up.
    ///
    /// # Errors
    ///
    /// [`prescient_core::Error::SchemaMismatch`] when `features` or `resources` has the wrong
    /// length; nothing changes.
    pub fn update(
        &mut self,
        ts: Timestamp,
        features: &[f64],
        observed: Observed,
        resources: &[f64],
    ) -> Result<Option<RegimeNote>> {
        if features.len() != self.fingerprinter.features() {
            return Err(prescient_core::Error::SchemaMismatch {
                expected: self.fingerprinter.features(),
                got: features.len(),
            }
            .into());
        }
        if resources.len() != self.store_resources() {
            return Err(prescient_core::Error::SchemaMismatch {
                expected: self.store_resources(),
                got: resources.len(),
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
        }
        let (Some(f), Some(pca)) = (self.fingerprinter.fingerprint(), self.fingerprinter.pca())
        else {
            self.last = None;
            return Ok(None);
        };
        let k = f.len();
        for ((v, f), var) in self.vector.iter_mut().zip(f).zip(pca.explained_variance()) {
            *v = if *var > 0.0 { f / var.sqrt() } else { 0.0 };
        }
        self.vector[k] = self.fingerprinter.spe().ln_1p();
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
        // A timestamp not after the store's newest entry is an error of the store only: the
        // fingerprint is still reported.
        let _ = self.store.insert(ts, f, observed, resources);
        let verdict = self.monitor.update(ts, &self.vector)?;
        self.last = verdict.map(|v| RegimeNote {
            score: v.score,
            severity: v.severity,
            alert: v.alert,
            nearest,
        });
        Ok(self.last)
    }

    fn store_resources(&self) -> usize {
        self.store.resources()
    }

    /// Forgets everything: the history, the fits, the store and the detectors.
    pub fn reset(&mut self) {
        self.fingerprinter.reset();
        self.store.clear();
        self.monitor.reset();
        self.vector.fill(0.0);
        self.last = None;
    }
}
