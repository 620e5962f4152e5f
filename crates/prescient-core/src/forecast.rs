/// A forecast: a point prediction and a central prediction interval for each step ahead.
///
/// `point[h]`, `lower[h]` and `upper[h]` are for `h + 1` steps after the last observation; the
/// interval covers the true value with probability `level` when the model is right.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Forecast {
    /// Point predictions.
    pub point: Vec<f64>,
    /// Lower ends of the intervals.
    pub lower: Vec<f64>,
    /// Upper ends of the intervals.
    pub upper: Vec<f64>,
    /// The intervals' coverage, in `(0, 1)`.
    pub level: f64,
}

impl Forecast {
    /// An empty forecast, ready to be filled by a `predict_inplace`.
    pub fn new() -> Self {
        Forecast::default()
    }

    /// Empties the forecast and sizes it for `horizon` steps at `level`, keeping its allocations.
    pub fn reset(&mut self, horizon: usize, level: f64) {
        self.point.clear();
        self.lower.clear();
        self.upper.clear();
        self.point.reserve(horizon);
        self.lower.reserve(horizon);
        self.upper.reserve(horizon);
        self.level = level;
    }

    /// Appends one step.
    pub fn push(&mut self, point: f64, lower: f64, upper: f64) {
        self.point.push(point);
        self.lower.push(lower);
        self.upper.push(upper);
    }

    /// The number of steps.
    pub fn len(&self) -> usize {
        self.point.len()
    }

    /// Whether the forecast has no steps.
    pub fn is_empty(&self) -> bool {
        self.point.is_empty()
    }

    /// Whether every number in the forecast is finite and every interval contains its point.
    pub fn is_consistent(&self) -> bool {
        self.point.len() == self.lower.len()
            && self.point.len() == self.upper.len()
            && self
                .point
                .iter()
                .zip(&self.lower)
                .zip(&self.upper)
                .all(|((p, l), u)| {
                    p.is_finite() && l.is_finite() && u.is_finite() && l <= p && p <= u
                })
    }
}
