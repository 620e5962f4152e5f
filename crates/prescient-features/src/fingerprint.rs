//! The workload fingerprint: a PCA of the recent feature vectors, refitted on a schedule, with
//! its components kept pointing the same way across refits.

use prescient_core::{Error, Result, Timestamp};

use crate::pca::{Pca, PcaParams};

/// Settings of a [`Fingerprinter`].
///
/// The defaults suit a 15 s tick: one feature vector in 4 (one a minute) is kept for fitting,
/// up to a day of them (1,440 rows); the first fit comes after an hour of kept rows, refits
/// follow as the history doubles (2 h, 4 h, …) and then every 6 hours (1,440 ticks), so the
/// fingerprint follows a workload that changes over days while staying comparable within one.
///
/// ```
/// use prescient_features::FingerprintParams;
///
/// let mut fp = FingerprintParams::new(2).keep_every(1).min_rows(20).build(3)?;
/// # use prescient_core::Timestamp;
/// for i in 0..40 {
///     let x = i as f64;
///     // Two features that move together and one that alternates.
///     let row = [x, 2.0 * x + 1.0, (i % 2) as f64];
///     fp.update(Timestamp::from_secs(15 * i), &row)?;
/// }
/// let f = fp.fingerprint().expect("fitted after 20 rows");
/// assert_eq!(f.len(), 2);
/// # Ok::<(), prescient_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FingerprintParams {
    components: usize,
    history: usize,
    keep_every: usize,
    min_rows: usize,
    refit_every: usize,
}

impl FingerprintParams {
    /// A fingerprint of `components` dimensions, with the default schedule.
    pub fn new(components: usize) -> Self {
        FingerprintParams {
            components,
            history: 1_440,
            keep_every: 4,
            min_rows: 60,
            refit_every: 1_440,
        }
    }

    /// The most feature vectors kept for fitting (default 1,440); the oldest is dropped first.
    pub fn history(mut self, rows: usize) -> Self {
        self.history = rows;
        self
    }

    /// Keep one feature vector in `ticks` for fitting (default 4). Consecutive vectors of
    /// rolling features are nearly identical; thinning them buys a longer history for the same
    /// memory and fit time.
    pub fn keep_every(mut self, ticks: usize) -> Self {
        self.keep_every = ticks;
        self
    }

    /// Kept rows needed for the first fit (default 60).
    pub fn min_rows(mut self, rows: usize) -> Self {
        self.min_rows = rows;
        self
    }

    /// Ticks between refits once the history is full (default 1,440). Before that a refit
    /// follows each doubling of the kept rows.
    pub fn refit_every(mut self, ticks: usize) -> Self {
        self.refit_every = ticks;
        self
    }

    /// The fingerprint's dimension.
    pub fn components(&self) -> usize {
        self.components
    }

    /// Checks the settings for feature vectors of `d` values.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] naming the first setting out of range: `d` or `components` of 0,
    /// more components than features, a history, thinning, minimum or refit interval of 0, or a
    /// minimum above the history or below the number of components plus one.
    pub fn check(&self, d: usize) -> Result<()> {
        let invalid = |name, reason: String| Err(Error::InvalidParam { name, reason });
        if d == 0 {
            return invalid("d", "must be at least 1".into());
        }
        if self.components == 0 || self.components > d {
            return invalid(
                "components",
                format!(
                    "must be in 1..={d} (the number of features), got {}",
                    self.components
                ),
            );
        }
        for (name, v) in [
            ("history", self.history),
            ("keep_every", self.keep_every),
            ("refit_every", self.refit_every),
        ] {
            if v == 0 {
                return invalid(name, "must be at least 1".into());
            }
        }
        if self.min_rows <= self.components || self.min_rows > self.history {
            return invalid(
                "min_rows",
                format!(
                    "must be above the number of components ({}) and at most the history ({}), \
                     got {}",
                    self.components, self.history, self.min_rows
                ),
            );
        }
        Ok(())
    }

    /// A fingerprinter for feature vectors of `d` values.
    ///
    /// # Errors
    ///
    /// As [`FingerprintParams::check`].
    pub fn build(self, d: usize) -> Result<Fingerprinter> {
        self.check(d)?;
        Ok(Fingerprinter {
            params: self,
            d,
            rows: Vec::with_capacity(self.history.min(4_096) * d),
            next_row: 0,
            kept: 0,
            since_keep: 0,
            since_fit: 0,
            rows_at_fit: 0,
            pca: None,
            previous: None,
            refits: 0,
            fingerprint: vec![0.0; self.components],
            t2: 0.0,
            spe: 0.0,
            last_ts: None,
        })
    }
}

impl Default for FingerprintParams {
    /// Four components.
    fn default() -> Self {
        FingerprintParams::new(4)
    }
}

/// Turns each tick's feature vector into a `k`-dimensional fingerprint: its projection on the
/// principal components of the recent feature vectors (standardised, so units do not matter).
///
/// Alongside the fingerprint it reports the two statistics of PCA process monitoring: Hotelling's
/// T² (how unusual the vector is *within* the components, each scaled by its variance) and the
/// squared prediction error (how far the vector is *from* the components' span: a correlation
/// the history never showed). A change of workload moves one or both.
///
/// # Refits
///
/// The history holds one vector in `keep_every` ticks (vectors with a non-finite value are not
/// kept). The model is fitted once `min_rows` are held, refitted each time the history doubles,
/// and then every `refit_every` ticks. A refit is sign-aligned with the fit it replaces
/// ([`Pca::align_to`]: matching components keep their place and sign), and the replaced fit stays available ([`Fingerprinter::previous_fit`])
/// so that stored fingerprints can be carried into the new basis
/// ([`FingerprintStore::rebase`](crate::FingerprintStore::rebase)).
///
/// A refit costs one PCA fit of the history (O(rows · d²), a few milliseconds for a day of
/// 200 features, `docs/BENCHMARKS.md`) inside that one [`Fingerprinter::update`]; every other
/// update is one projection, O(k · d).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Fingerprinter {
    params: FingerprintParams,
    d: usize,
    /// Kept rows, row-major, at most `history` of them; once full, `next_row` is overwritten.
    /// The fit does not need them in time order (a covariance ignores order).
    rows: Vec<f64>,
    next_row: usize,
    /// Rows kept since the start (not bounded by the history).
    kept: u64,
    since_keep: usize,
    since_fit: usize,
    rows_at_fit: usize,
    pca: Option<Pca>,
    previous: Option<Pca>,
    refits: u64,
    fingerprint: Vec<f64>,
    t2: f64,
    spe: f64,
    last_ts: Option<Timestamp>,
}

impl Fingerprinter {
    /// The settings.
    pub fn params(&self) -> &FingerprintParams {
        &self.params
    }

    /// The number of features an input vector has.
    pub fn features(&self) -> usize {
        self.d
    }

    /// The fingerprint's dimension.
    pub fn components(&self) -> usize {
        self.params.components
    }

    /// How many rows the history holds.
    pub fn rows(&self) -> usize {
        self.rows.len() / self.d
    }

    /// The current model, once fitted.
    pub fn pca(&self) -> Option<&Pca> {
        self.pca.as_ref()
    }

    /// The model the latest refit replaced (`None` before the second fit).
    pub fn previous_fit(&self) -> Option<&Pca> {
        self.previous.as_ref()
    }

    /// How many fits so far (the first included).
    pub fn fits(&self) -> u64 {
        self.refits
    }

    /// The fingerprint of the last update, once the model is fitted.
    pub fn fingerprint(&self) -> Option<&[f64]> {
        self.pca.as_ref().map(|_| self.fingerprint.as_slice())
    }

    /// Hotelling's T² of the last update: the sum over the components of the squared
    /// fingerprint divided by the component's variance (0 before the first fit).
    pub fn t2(&self) -> f64 {
        self.t2
    }

    /// The squared prediction error of the last update: the squared distance of the
    /// standardised vector from the components' span (0 before the first fit).
    pub fn spe(&self) -> f64 {
        self.spe
    }

    /// Takes the feature vector `x` observed at `ts`: keeps it for fitting (one in
    /// `keep_every`), refits when due, and projects it. Returns whether this update fitted a
    /// new model.
    ///
    /// A non-finite feature is replaced by its fitted mean in the projection and the vector is
    /// not kept for fitting. A timestamp not after the previous one projects but keeps nothing,
    /// so a replayed tick is not learned twice.
    ///
    /// # Errors
    ///
    /// [`Error::SchemaMismatch`] when `x.len()` is not [`Fingerprinter::features`]; nothing
    /// changes.
    pub fn update(&mut self, ts: Timestamp, x: &[f64]) -> Result<bool> {
        if x.len() != self.d {
            return Err(Error::SchemaMismatch {
                expected: self.d,
                got: x.len(),
            });
        }
        let fresh = self.last_ts.is_none_or(|t| ts > t);
        let mut refitted = false;
        if fresh {
            self.last_ts = Some(ts);
            self.since_fit = self.since_fit.saturating_add(1);
            self.since_keep += 1;
            if self.since_keep >= self.params.keep_every && x.iter().all(|v| v.is_finite()) {
                self.since_keep = 0;
                self.keep(x);
            }
            if self.refit_due() {
                refitted = self.refit();
            }
        }
        self.project(x);
        Ok(refitted)
    }

    fn keep(&mut self, x: &[f64]) {
        let d = self.d;
        if self.rows.len() < self.params.history * d {
            self.rows.extend_from_slice(x);
        } else {
            let at = self.next_row * d;
            self.rows[at..at + d].copy_from_slice(x);
            self.next_row = (self.next_row + 1) % self.params.history;
        }
        self.kept += 1;
    }

    fn refit_due(&self) -> bool {
        let rows = self.rows();
        if rows < self.params.min_rows {
            return false;
        }
        match self.pca {
            None => true,
            // Growing: refit when the history has doubled since the last fit.
            Some(_) if self.rows_at_fit < self.params.history => {
                rows >= (2 * self.rows_at_fit).min(self.params.history)
            }
            Some(_) => self.since_fit >= self.params.refit_every,
        }
    }

    /// Refits on the history now, whatever the schedule. Returns whether a new model was fitted
    /// (not with fewer than `min_rows` rows).
    pub fn refit(&mut self) -> bool {
        if self.rows() < self.params.min_rows {
            return false;
        }
        // Every kept row is finite and the settings were checked, so the fit cannot fail; a
        // failure would leave the current model in place.
        let Ok(mut fitted) = PcaParams::new(self.params.components).fit(&self.rows, self.d) else {
            return false;
        };
        if let Some(old) = &self.pca {
            fitted.align_to(old);
        }
        self.previous = self.pca.replace(fitted);
        self.rows_at_fit = self.rows();
        self.since_fit = 0;
        self.refits += 1;
        true
    }

    fn project(&mut self, x: &[f64]) {
        let Some(pca) = &self.pca else {
            return;
        };
        pca.project_inplace(x, &mut self.fingerprint);
        let var = pca.explained_variance();
        // A component without variance (a rank-deficient history) says nothing about how
        // unusual a vector is along it: the floor keeps T² finite without letting it dominate.
        let floor = 1e-9 * var.first().copied().unwrap_or(1.0).max(1e-300);
        self.t2 = self
            .fingerprint
            .iter()
            .zip(var)
            .map(|(f, v)| f * f / v.max(floor))
            .sum::<f64>()
            .min(f64::MAX);
        self.spe = pca.residual_sq(x).min(f64::MAX);
    }

    /// Forgets the history and the model.
    pub fn reset(&mut self) {
        *self = self
            .params
            .build(self.d)
            .unwrap_or_else(|_| unreachable!("the settings were checked at build"));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ts(i: i64) -> Timestamp {
        Timestamp::from_secs(15 * i)
    }

    /// Three features: two driven by one slow factor, one noise-like; deterministic.
    fn row(i: i64) -> [f64; 3] {
        let s = (i as f64 / 20.0).sin();
        let n = ((i * 7919) % 101) as f64 / 101.0 - 0.5;
        [10.0 + s, 5.0 - 2.0 * s + 0.01 * n, n]
    }

    #[test]
    fn first_fit_after_min_rows_then_on_doubling_then_on_schedule() {
        let mut fp = FingerprintParams::new(2)
            .keep_every(1)
            .min_rows(10)
            .history(40)
            .refit_every(25)
            .build(3)
            .unwrap();
        let mut fits_at = Vec::new();
        for i in 0..120 {
            if fp.update(ts(i), &row(i)).unwrap() {
                fits_at.push(i + 1);
            }
        }
        // 10 rows, then 20 and 40 (the history is full), then every 25 ticks.
        assert_eq!(fits_at, vec![10, 20, 40, 65, 90, 115]);
        assert_eq!(fp.fits(), 6);
        assert_eq!(fp.rows(), 40);
    }

    #[test]
    fn keep_every_thins_the_history() {
        let mut fp = FingerprintParams::new(1)
            .keep_every(4)
            .min_rows(5)
            .history(100)
            .build(3)
            .unwrap();
        for i in 0..40 {
            fp.update(ts(i), &row(i)).unwrap();
        }
        assert_eq!(fp.rows(), 10);
    }

    #[test]
    fn no_fingerprint_before_the_first_fit() {
        let mut fp = FingerprintParams::new(2).min_rows(10).build(3).unwrap();
        fp.update(ts(0), &row(0)).unwrap();
        assert_eq!(fp.fingerprint(), None);
        assert_eq!((fp.t2(), fp.spe()), (0.0, 0.0));
    }

    #[test]
    fn refits_keep_the_sign_of_the_components() {
        let mut fp = FingerprintParams::new(2)
            .keep_every(1)
            .min_rows(30)
            .history(60)
            .refit_every(10)
            .build(3)
            .unwrap();
        for i in 0..400 {
            if fp.update(ts(i), &row(i)).unwrap() && fp.fits() > 1 {
                let (new, old) = (fp.pca().unwrap(), fp.previous_fit().unwrap());
                let dot: f64 = new
                    .component(0)
                    .iter()
                    .zip(old.component(0))
                    .map(|(a, b)| a * b)
                    .sum();
                assert!(dot > 0.0, "refit {} flipped the first component", fp.fits());
            }
        }
        assert!(fp.fits() > 20);
    }

    #[test]
    fn a_broken_correlation_raises_the_spe_not_t2() {
        let mut fp = FingerprintParams::new(1)
            .keep_every(1)
            .min_rows(100)
            .history(200)
            .build(3)
            .unwrap();
        for i in 0..200 {
            fp.update(ts(i), &row(i)).unwrap();
        }
        // In the span: the two correlated features move together, the third stays at its mean.
        let mean: Vec<f64> = fp.pca().unwrap().mean().to_vec();
        fp.update(ts(200), &[mean[0] + 0.5, mean[1] - 1.0, mean[2]])
            .unwrap();
        let (t2_in, spe_in) = (fp.t2(), fp.spe());
        // Off the span: the same move of the first feature with the second moving the wrong way.
        fp.update(ts(201), &[mean[0] + 0.5, mean[1] + 1.0, mean[2]])
            .unwrap();
        assert!(
            fp.spe() > 10.0 * spe_in.max(1e-3),
            "{spe_in} -> {}",
            fp.spe()
        );
        assert!(
            t2_in > 0.1,
            "a move along the component shows in T²: {t2_in}"
        );
    }

    #[test]
    fn wrong_length_is_rejected_and_changes_nothing() {
        let mut fp = FingerprintParams::new(1).min_rows(5).build(3).unwrap();
        let before = fp.clone();
        assert_eq!(
            fp.update(ts(0), &[1.0, 2.0]),
            Err(Error::SchemaMismatch {
                expected: 3,
                got: 2
            })
        );
        assert_eq!(fp, before);
    }

    #[test]
    fn replayed_and_non_finite_vectors_are_not_kept() {
        let mut fp = FingerprintParams::new(1)
            .keep_every(1)
            .min_rows(5)
            .build(3)
            .unwrap();
        fp.update(ts(1), &row(1)).unwrap();
        fp.update(ts(1), &row(2)).unwrap();
        fp.update(ts(0), &row(3)).unwrap();
        fp.update(ts(2), &[f64::NAN, 1.0, 2.0]).unwrap();
        assert_eq!(fp.rows(), 1);
    }

    #[test]
    fn outputs_stay_finite_on_wild_input() {
        let mut fp = FingerprintParams::new(2)
            .keep_every(1)
            .min_rows(5)
            .build(3)
            .unwrap();
        let wild = [1e308, -1e308, 5e-324, 0.0, f64::NAN, f64::INFINITY, 3.0];
        for i in 0..60 {
            let x = [wild[i % 7], wild[(i * 3) % 7], wild[(i * 5) % 7]];
            fp.update(ts(i as i64), &x).unwrap();
            if let Some(f) = fp.fingerprint() {
                assert!(f.iter().all(|v| v.is_finite()), "{f:?}");
            }
            assert!(fp.t2().is_finite() && fp.spe().is_finite());
        }
    }

    #[test]
    fn reset_forgets() {
        let mut fp = FingerprintParams::new(1)
            .keep_every(1)
            .min_rows(5)
            .build(3)
            .unwrap();
        for i in 0..10 {
            fp.update(ts(i), &row(i)).unwrap();
        }
        fp.reset();
        assert_eq!(
            fp,
            FingerprintParams::new(1)
                .keep_every(1)
                .min_rows(5)
                .build(3)
                .unwrap()
        );
    }

    #[test]
    fn settings_are_checked() {
        let p = FingerprintParams::new(2);
        assert!(matches!(
            p.check(0),
            Err(Error::InvalidParam { name: "d", .. })
        ));
        assert!(matches!(
            p.check(1),
            Err(Error::InvalidParam {
                name: "components",
                ..
            })
        ));
        for (bad, name) in [
            (p.history(0), "history"),
            (p.keep_every(0), "keep_every"),
            (p.refit_every(0), "refit_every"),
            (p.min_rows(2), "min_rows"),
            (p.history(10).min_rows(11), "min_rows"),
        ] {
            assert!(
                matches!(bad.check(3), Err(Error::InvalidParam { name: n, .. }) if n == name),
                "{name}"
            );
        }
        assert!(p.check(3).is_ok());
    }
}
