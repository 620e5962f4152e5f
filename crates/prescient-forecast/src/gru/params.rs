use prescient_core::{Error, Forecaster, Result};

use super::window::{Corpus, Shape};
use super::{GruForecaster, GruModel, train};

/// The settings of a GRU forecaster: the window geometry, the network's size and the training
/// schedule. Checked by [`GruParams::check`]; fitted on one series by [`GruParams::fit`] or on
/// many by [`GruParams::fit_global`].
///
/// The defaults are the configuration measured on M4 Hourly (see the crate's README): two
/// weeks of hourly input fed as 14 daily chunks, 48 steps out, a seasonal skip of 24, 64 hidden
/// units, Adam at 10⁻³ on mini-batches of 256 windows, early stopping on the last 48 values of
/// every series (patience 5, at most 40 epochs of 100 mini-batches), an ensemble of three.
///
/// Training costs about `ensemble × epochs × steps_per_epoch × batch_size` window passes,
/// forward and backward, each about `6 · steps · 3·hidden·(chunk + hidden)` flops: on M4
/// Hourly (414 series) the default global model is about 220 CPU-seconds, under 2 minutes of
/// wall time on 2 threads. A per-series fit ([`GruParams::fit`]) is capped at one pass over the
/// series' windows per epoch, a few CPU-seconds for a series of a thousand values.
///
/// # Measured on M4 Hourly
///
/// One global model with these defaults, trained on the 414 training parts (the last 48 values
/// of each held out for early stopping and the intervals), forecasting 48 steps
/// (`examples/m4_gru.rs`, scored by `m4_eval.py`):
///
/// | configuration | sMAPE | MASE | OWA | 95 % coverage | training CPU |
/// |---|---:|---:|---:|---:|---:|
/// | defaults (ensemble of 3) | 10.060 | 1.023 | **0.487** | 0.952 | 240 s |
/// | one network | 10.356 | 1.062 | 0.503 | 0.954 | 72 s |
/// | one network, up to 80 epochs | 10.258 | 1.068 | 0.502 | 0.954 | 97 s |
/// | one network, level of the last 168 values | 10.334 | 1.099 | 0.511 | 0.955 | 76 s |
/// | defaults, one model per series ([`GruParams::fit`]) | 13.381 | 0.961 | 0.565 | | 668 s |
///
/// For reference: seasonal naive 0.627, the M4 winner (ES-RNN) 0.440. Predicting all 414
/// series takes under half a second. The results are identical from run to run and for 1 or 2
/// threads.
///
/// # Example
///
/// ```
/// use prescient_forecast::GruParams;
///
/// let params = GruParams::new().input(168).horizon(24).hidden(16).seed(7);
/// assert!(params.check().is_ok());
/// assert!(GruParams::new().input(100).chunk(24).check().is_err()); // not whole chunks
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct GruParams {
    pub(super) input: usize,
    pub(super) chunk: usize,
    pub(super) horizon: usize,
    pub(super) level: usize,
    pub(super) season: usize,
    pub(super) covariates: usize,
    pub(super) hidden: usize,
    pub(super) epochs: usize,
    pub(super) steps_per_epoch: usize,
    pub(super) batch_size: usize,
    pub(super) learning_rate: f64,
    pub(super) clip: f64,
    pub(super) patience: usize,
    pub(super) validation: bool,
    pub(super) ensemble: usize,
    pub(super) seed: u64,
    pub(super) threads: usize,
}

impl Default for GruParams {
    fn default() -> Self {
        GruParams {
            input: 336,
            chunk: 24,
            horizon: 48,
            level: 24,
            season: 24,
            covariates: 0,
            hidden: 64,
            epochs: 40,
            steps_per_epoch: 100,
            batch_size: 256,
            learning_rate: 1e-3,
            clip: 1.0,
            patience: 5,
            validation: true,
            ensemble: 3,
            seed: 0,
            threads: 1,
        }
    }
}

impl GruParams {
    /// The default settings.
    pub fn new() -> Self {
        GruParams::default()
    }

    /// Input values per window (default 336, two weeks of hours); a multiple of the chunk.
    pub fn input(mut self, n: usize) -> Self {
        self.input = n;
        self
    }

    /// Input values fed to the cell per step (default 24): the window is `input / chunk` steps.
    pub fn chunk(mut self, n: usize) -> Self {
        self.chunk = n;
        self
    }

    /// Steps the head predicts at once (default 48); longer forecasts are recursive.
    pub fn horizon(mut self, n: usize) -> Self {
        self.horizon = n;
        self
    }

    /// Input values whose mean magnitude normalises a window (default 24).
    pub fn level(mut self, n: usize) -> Self {
        self.level = n;
        self
    }

    /// Period of the seasonal skip (default 24; 0 for none): the network predicts the log ratio
    /// of each target to the value one or more periods before it in the last period of the
    /// input.
    pub fn season(mut self, period: usize) -> Self {
        self.season = period;
        self
    }

    /// Covariates per time step (default 0): with `d > 0`, every series comes with `d` values
    /// per position ([`GruParams::fit_global_with_covariates`],
    /// [`GruForecaster::update_with_covariates`]) and each cell step also sees the covariates
    /// of its chunk's last position.
    ///
    /// Covariates are not free: on M4 Hourly, each series' own workload fingerprint (2 or 4
    /// covariates) raised the global model's OWA from 0.487–0.491 to 0.499–0.514, and the
    /// calendar phase to 0.535–0.544 (`docs/BENCHMARKS.md`, "The workload fingerprint as GRU
    /// covariates"). Check a covariate on held-out data before relying on it.
    pub fn covariates(mut self, d: usize) -> Self {
        self.covariates = d;
        self
    }

    /// Hidden units of the GRU (default 64).
    pub fn hidden(mut self, n: usize) -> Self {
        self.hidden = n;
        self
    }

    /// The most epochs to train (default 40).
    pub fn epochs(mut self, n: usize) -> Self {
        self.epochs = n;
        self
    }

    /// The most mini-batches per epoch (default 100); an epoch is never more than one pass over
    /// the training windows (`⌈windows / batch_size⌉` mini-batches). The validation loss is
    /// checked after each epoch.
    pub fn steps_per_epoch(mut self, n: usize) -> Self {
        self.steps_per_epoch = n;
        self
    }

    /// Windows per mini-batch (default 256).
    pub fn batch_size(mut self, n: usize) -> Self {
        self.batch_size = n;
        self
    }

    /// Adam's step size (default 10⁻³).
    pub fn learning_rate(mut self, lr: f64) -> Self {
        self.learning_rate = lr;
        self
    }

    /// The largest global norm of a mini-batch's gradient (default 1); larger ones are scaled
    /// down to it.
    pub fn clip(mut self, norm: f64) -> Self {
        self.clip = norm;
        self
    }

    /// Epochs without a better validation loss before training stops (default 5).
    pub fn patience(mut self, n: usize) -> Self {
        self.patience = n;
        self
    }

    /// Whether the last `horizon` values of every series are held out of the training targets
    /// for early stopping and the intervals (default true). Without it, every epoch is run and
    /// the intervals come from in-sample errors, which makes them too narrow.
    pub fn validation(mut self, on: bool) -> Self {
        self.validation = on;
        self
    }

    /// Networks trained from different seeds and averaged (default 3). Training time grows in
    /// proportion; on M4 Hourly three networks gave an OWA of 0.487 against 0.503 for one.
    pub fn ensemble(mut self, n: usize) -> Self {
        self.ensemble = n;
        self
    }

    /// The seed of the initial weights and of the mini-batch draws (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Threads for training (default 1). Each mini-batch is always cut into the same two
    /// halves and their gradients added in the same order, so the result does not depend on
    /// this setting.
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = n;
        self
    }

    /// The fewest values a series needs to give one training window (and, with validation, its
    /// held-out tail).
    pub fn min_history(&self) -> usize {
        self.input + self.horizon + if self.validation { self.horizon } else { 0 }
    }

    pub(super) fn shape(&self) -> Shape {
        Shape {
            input: self.input,
            chunk: self.chunk,
            horizon: self.horizon,
            level: self.level,
            season: self.season,
            covariates: self.covariates,
        }
    }

    /// Checks every rule on the settings.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`], naming the offending setting, when
    /// - `chunk`, `horizon`, `level`, `hidden`, `epochs`, `steps_per_epoch`, `batch_size`,
    ///   `ensemble` or `threads` is 0;
    /// - `input` is not a positive multiple of `chunk`;
    /// - `level` or `season` exceeds `input`;
    /// - `learning_rate` or `clip` is not positive and finite.
    pub fn check(&self) -> Result<()> {
        let invalid =
            |name: &'static str, reason: String| Err(Error::InvalidParam { name, reason });
        for (name, v) in [
            ("chunk", self.chunk),
            ("horizon", self.horizon),
            ("level", self.level),
            ("hidden", self.hidden),
            ("epochs", self.epochs),
            ("steps_per_epoch", self.steps_per_epoch),
            ("batch_size", self.batch_size),
            ("ensemble", self.ensemble),
            ("threads", self.threads),
        ] {
            if v == 0 {
                return invalid(name, "must be at least 1".into());
            }
        }
        if self.input == 0 || self.input % self.chunk != 0 {
            return invalid(
                "input",
                format!(
                    "must be a positive multiple of the chunk ({}), got {}",
                    self.chunk, self.input
                ),
            );
        }
        if self.level > self.input {
            return invalid(
                "level",
                format!(
                    "must not exceed the input ({}), got {}",
                    self.input, self.level
                ),
            );
        }
        if self.season > self.input {
            return invalid(
                "season",
                format!(
                    "must not exceed the input ({}), got {}",
                    self.input, self.season
                ),
            );
        }
        prescient_core::check_positive("learning_rate", self.learning_rate)?;
        prescient_core::check_positive("clip", self.clip)?;
        Ok(())
    }

    /// Trains one model on all of `series` (a global model): equally spaced values, oldest
    /// first, gaps filled as [`crate::history`] says. Series shorter than
    /// [`GruParams::min_history`] give no training window but are still used for validation
    /// when they hold one input window and the tail.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] from [`GruParams::check`], or when the model expects covariates
    /// (use [`GruParams::fit_global_with_covariates`]); [`Error::NotEnoughData`] when no series
    /// is long enough for one training window.
    ///
    /// # Example
    ///
    /// ```
    /// use prescient_core::Forecaster;
    /// use prescient_forecast::GruParams;
    ///
    /// // Three daily cycles of different sizes.
    /// let series: Vec<Vec<f64>> = (1..=3)
    ///     .map(|k| (0..400).map(|t| k as f64 * (10.0 + (t % 24) as f64)).collect())
    ///     .collect();
    /// let refs: Vec<&[f64]> = series.iter().map(|s| s.as_slice()).collect();
    /// let params = GruParams::new().input(72).horizon(24).hidden(8).epochs(3).ensemble(1);
    /// let model = params.fit_global(&refs)?;
    /// let forecast = model.forecaster(&series[1])?.predict(24, 0.9)?;
    /// assert_eq!(forecast.len(), 24);
    /// # Ok::<(), prescient_core::Error>(())
    /// ```
    pub fn fit_global(&self, series: &[&[f64]]) -> Result<GruModel> {
        if self.covariates > 0 {
            return Err(Error::InvalidParam {
                name: "covariates",
                reason: "the model expects covariates: use fit_global_with_covariates".into(),
            });
        }
        let empty: Vec<&[f64]> = vec![&[]; series.len()];
        self.fit_global_with_covariates(series, &empty)
    }

    /// As [`GruParams::fit_global`], with the covariates of every series:
    /// `covariates[i]` holds `series[i].len() × d` values, row-major (the `d` covariates of
    /// position 0, then of position 1, …), where `d` is [`GruParams::covariates`]. Calendar
    /// features ([`super::calendar`]), feature or fingerprint vectors are typical covariates;
    /// they should be of order 1.
    ///
    /// # Errors
    ///
    /// As [`GruParams::fit_global`], and [`Error::InvalidParam`] when the number or sizes of
    /// the covariate slices do not match, or a covariate is not finite.
    pub fn fit_global_with_covariates(
        &self,
        series: &[&[f64]],
        covariates: &[&[f64]],
    ) -> Result<GruModel> {
        self.check()?;
        let d = self.covariates;
        if covariates.len() != series.len() {
            return Err(Error::InvalidParam {
                name: "covariates",
                reason: format!(
                    "one covariate slice per series: {} series, {} slices",
                    series.len(),
                    covariates.len()
                ),
            });
        }
        let mut values = Vec::with_capacity(series.len());
        let mut covs = Vec::with_capacity(series.len());
        for (i, (&y, &c)) in series.iter().zip(covariates).enumerate() {
            if d > 0 && (c.len() != y.len() * d || c.iter().any(|v| !v.is_finite())) {
                return Err(Error::InvalidParam {
                    name: "covariates",
                    reason: format!(
                        "series {i}: expected {} finite values ({} positions × {d}), got {}",
                        y.len() * d,
                        y.len(),
                        c.len()
                    ),
                });
            }
            // Gaps are filled; leading gaps are dropped, and so are their covariates.
            let filled = match crate::history::fill_gaps(y) {
                Ok(f) => f,
                Err(_) => std::borrow::Cow::Owned(Vec::new()),
            };
            let dropped = y.len() - filled.len();
            values.push(filled);
            covs.push(if d > 0 { &c[dropped * d..] } else { &c[..0] });
        }
        let corpus = Corpus {
            values,
            covariates: covs,
        };
        let trained = train::train(self, &corpus)?;
        Ok(GruModel::new(self.shape(), trained))
    }

    /// Trains a model on `history` alone and returns its forecaster, ready to forecast from
    /// one step after the history's last value.
    ///
    /// # Errors
    ///
    /// As [`GruParams::fit_global`].
    pub fn fit(&self, history: &[f64]) -> Result<GruForecaster> {
        self.fit_global(&[history])?.forecaster(history)
    }
}

impl prescient_core::ForecastMethod for GruParams {
    fn name(&self) -> &'static str {
        "gru"
    }

    /// Trains on `history` alone (see [`GruParams::fit`]).
    fn fit(&self, history: &[f64]) -> Result<Box<dyn Forecaster>> {
        Ok(Box::new(GruParams::fit(self, history)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_sizes_are_rejected_by_name() {
        for (p, name) in [
            (GruParams::new().chunk(0), "chunk"),
            (GruParams::new().horizon(0), "horizon"),
            (GruParams::new().hidden(0), "hidden"),
            (GruParams::new().epochs(0), "epochs"),
            (GruParams::new().batch_size(0), "batch_size"),
            (GruParams::new().ensemble(0), "ensemble"),
            (GruParams::new().threads(0), "threads"),
            (GruParams::new().input(0), "input"),
            (GruParams::new().input(30), "input"),
            (GruParams::new().level(400), "level"),
            (GruParams::new().season(400), "season"),
            (GruParams::new().learning_rate(0.0), "learning_rate"),
            (GruParams::new().clip(f64::NAN), "clip"),
        ] {
            match p.check() {
                Err(Error::InvalidParam { name: n, .. }) => assert_eq!(n, name),
                other => panic!("{name}: {other:?}"),
            }
        }
        assert!(GruParams::new().check().is_ok());
    }

    #[test]
    fn too_short_series_are_not_enough_data() {
        let y = vec![1.0; 100];
        assert!(matches!(
            GruParams::new().fit_global(&[&y]),
            Err(Error::NotEnoughData {
                needed: 432,
                got: 100
            })
        ));
    }

    #[test]
    fn covariates_must_match_the_series() {
        let y = vec![1.0; 500];
        let c = vec![0.0; 10];
        let p = GruParams::new().covariates(2);
        assert!(matches!(
            p.fit_global(&[&y]),
            Err(Error::InvalidParam {
                name: "covariates",
                ..
            })
        ));
        assert!(matches!(
            p.fit_global_with_covariates(&[&y], &[&c]),
            Err(Error::InvalidParam {
                name: "covariates",
                ..
            })
        ));
    }
}
