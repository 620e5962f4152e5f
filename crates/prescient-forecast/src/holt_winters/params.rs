use prescient_core::{Error, Result};

use super::HoltWinters;
use super::init::min_len;

/// The settings of a [`HoltWinters`] model, checked and fitted by [`HoltWintersParams::fit`].
///
/// Made by [`HoltWinters::params`]; every smoothing parameter left unset is estimated.
/// The parameters are those of the ETS state-space form (Hyndman et al. 2008):
///
/// ```text
/// e[t] = y[t] − (ℓ[t−1] + φ·b[t−1] + s[t−m])
/// ℓ[t] = ℓ[t−1] + φ·b[t−1] + α·e[t]
/// b[t] = φ·b[t−1] + β·e[t]
/// s[t] = s[t−m] + γ·e[t]
/// ```
///
/// so `β` is the classic Holt–Winters trend smoothing `β*` times `α` (statsmodels reports `β*`).
///
/// # Example
///
/// ```
/// use prescient_forecast::HoltWinters;
///
/// let params = HoltWinters::params(Some(24)).damped(true).alpha(0.3);
/// assert!(params.check().is_ok());
/// assert!(HoltWinters::params(Some(24)).alpha(0.3).beta(0.5).check().is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HoltWintersParams {
    pub(super) period: Option<usize>,
    pub(super) damped: bool,
    pub(super) alpha: Option<f64>,
    pub(super) beta: Option<f64>,
    pub(super) gamma: Option<f64>,
    pub(super) phi: Option<f64>,
}

impl HoltWintersParams {
    pub(super) fn new(period: Option<usize>) -> Self {
        HoltWintersParams {
            period,
            damped: false,
            alpha: None,
            beta: None,
            gamma: None,
            phi: None,
        }
    }

    /// Whether the trend is damped (ETS(A,Ad,A)); off by default.
    pub fn damped(mut self, damped: bool) -> Self {
        self.damped = damped;
        self
    }

    /// Fixes the level smoothing `α`, in `(0, 1]`, instead of estimating it.
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.alpha = Some(alpha);
        self
    }

    /// Fixes the trend smoothing `β`, in `[0, α]`, instead of estimating it.
    pub fn beta(mut self, beta: f64) -> Self {
        self.beta = Some(beta);
        self
    }

    /// Fixes the seasonal smoothing `γ`, in `[0, 1 − α]`, instead of estimating it (only with a
    /// period).
    pub fn gamma(mut self, gamma: f64) -> Self {
        self.gamma = Some(gamma);
        self
    }

    /// Fixes the damping `φ`, in `(0, 1]`, instead of estimating it in `[0.8, 0.98]` (only with
    /// a damped trend).
    pub fn phi(mut self, phi: f64) -> Self {
        self.phi = Some(phi);
        self
    }

    /// The seasonal period, in steps (`None`: Holt's linear trend, no seasonality).
    pub fn period(&self) -> Option<usize> {
        self.period
    }

    /// Whether the trend is damped.
    pub fn is_damped(&self) -> bool {
        self.damped
    }

    /// The fewest observations [`HoltWintersParams::fit`] accepts: two full periods, and at
    /// least ten points of the centred moving average the initial level and trend come from
    /// (10 without a period).
    pub fn min_history(&self) -> usize {
        min_len(self.period)
    }

    /// Checks every rule on the settings.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`], naming the offending setting, when
    /// - `period` is `Some(0)` or `Some(1)` (a period must be at least 2; use `None` for no
    ///   seasonality);
    /// - `alpha` is not in `(0, 1]`, `beta` or `gamma` not in `[0, 1]`, `phi` not in `(0, 1]`
    ///   (NaN included);
    /// - `gamma` is set without a period, or `phi` without a damped trend;
    /// - `beta` exceeds `alpha`, or `gamma` exceeds `1 − alpha`;
    /// - `beta` and `gamma` are both set with `beta > 1 − gamma`, which leaves no valid `alpha`.
    pub fn check(&self) -> Result<()> {
        let invalid =
            |name: &'static str, reason: String| Err(Error::InvalidParam { name, reason });
        if let Some(m) = self.period {
            if m < 2 {
                return invalid(
                    "period",
                    format!("must be at least 2 (use None for no seasonality), got {m}"),
                );
            }
        }
        if let Some(a) = self.alpha {
            if !(a > 0.0 && a <= 1.0) {
                return invalid("alpha", format!("must be in (0, 1], got {a}"));
            }
        }
        if let Some(b) = self.beta {
            if !(0.0..=1.0).contains(&b) {
                return invalid("beta", format!("must be in [0, 1], got {b}"));
            }
        }
        if let Some(g) = self.gamma {
            if self.period.is_none() {
                return invalid("gamma", "needs a seasonal period".into());
            }
            if !(0.0..=1.0).contains(&g) {
                return invalid("gamma", format!("must be in [0, 1], got {g}"));
            }
        }
        if let Some(p) = self.phi {
            if !self.damped {
                return invalid("phi", "needs a damped trend (`.damped(true)`)".into());
            }
            if !(p > 0.0 && p <= 1.0) {
                return invalid("phi", format!("must be in (0, 1], got {p}"));
            }
        }
        match (self.alpha, self.beta, self.gamma) {
            (Some(a), Some(b), _) if b > a => {
                invalid("beta", format!("must not exceed alpha = {a}, got {b}"))
            }
            (Some(a), _, Some(g)) if g > 1.0 - a => invalid(
                "gamma",
                format!("must not exceed 1 - alpha = {}, got {g}", 1.0 - a),
            ),
            (None, Some(b), Some(g)) if b > 1.0 - g => invalid(
                "gamma",
                format!(
                    "leaves no alpha with beta = {b} <= alpha <= 1 - gamma = {}",
                    1.0 - g
                ),
            ),
            _ => Ok(()),
        }
    }

    /// Checks the settings, estimates the unset smoothing parameters on `history` by minimising
    /// the in-sample one-step squared error, and returns the model with its state at the end of
    /// `history`, ready to forecast.
    ///
    /// The initial state comes from the first seasons (statsmodels' "heuristic"
    /// initialisation); the estimated parameters stay in `[1e-4, 1 − 1e-4]` with `β ≤ α` and
    /// `γ ≤ 1 − α`, and `φ` in `[0.8, 0.98]`. Fitting is deterministic.
    ///
    /// # Errors
    ///
    /// - [`Error::InvalidParam`] as [`HoltWintersParams::check`];
    /// - [`Error::NonFinite`] at the first NaN or infinite value of `history`;
    /// - [`Error::NotEnoughData`] when `history` is shorter than
    ///   [`HoltWintersParams::min_history`];
    /// - [`Error::NonFinite`] (index: the length of `history`) if the fitted state overflows.
    ///
    /// # Example
    ///
    /// ```
    /// use prescient_core::Forecaster;
    /// use prescient_forecast::HoltWinters;
    ///
    /// let y: Vec<f64> = (0..96).map(|t| 50.0 + 0.1 * t as f64 + [5.0, -5.0][t % 2]).collect();
    /// let model = HoltWinters::params(Some(2)).fit(&y)?;
    /// let f = model.predict(2, 0.8)?;
    /// assert!((f.point[0] - (59.6 + 5.0)).abs() < 0.1);
    /// # Ok::<(), prescient_core::Error>(())
    /// ```
    pub fn fit(&self, history: &[f64]) -> Result<HoltWinters> {
        self.check()?;
        if let Some(index) = history.iter().position(|y| !y.is_finite()) {
            return Err(Error::NonFinite { index });
        }
        let needed = self.min_history();
        if history.len() < needed {
            return Err(Error::NotEnoughData {
                needed,
                got: history.len(),
            });
        }
        HoltWinters::fit_checked(self.clone(), history)
    }
}

impl prescient_core::ForecastMethod for HoltWintersParams {
    fn name(&self) -> &'static str {
        "holt_winters"
    }

    /// Fits on `history` with its gaps filled (see [`crate::history`]).
    fn fit(&self, history: &[f64]) -> Result<Box<dyn prescient_core::Forecaster>> {
        let history = crate::history::fill_gaps(history)?;
        Ok(Box::new(HoltWintersParams::fit(self, &history)?))
    }
}
