//! Per-window normalisation and the training windows.
//!
//! A window is `input` consecutive values (the network's input) followed, when training, by
//! `horizon` target values. Each window is divided by its own scale `s`, the mean magnitude of
//! its last `level` input values, and then put on the log scale: `u = ln(max(v / s, FLOOR))`.
//! A series' level therefore never reaches the network, only its shape relative to the last
//! day: the same weights serve series of any size, and an absolute error on `u` is a relative
//! error on `v`, the kind sMAPE and MASE reward. With a seasonal skip of period `m`, the network
//! predicts the difference between each target and the value `m`, `2m`, … steps before it in
//! the last season of the input (a seasonal naive forecast on the log scale), so that an
//! untrained network is already the seasonal naive forecast.

/// The smallest ratio `v / s` taken to the log; below it (zero or negative values) is clamped.
pub(crate) const FLOOR: f64 = 1e-6;

/// The largest magnitude of a normalised prediction turned back into a value, so `exp` stays
/// finite relative to the scale.
pub(crate) const U_MAX: f64 = 30.0;

/// The geometry of a window: how many values in and out, and how they are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(crate) struct Shape {
    /// Input values per window (a multiple of `chunk`).
    pub(crate) input: usize,
    /// Input values fed to the cell at each step.
    pub(crate) chunk: usize,
    /// Values predicted at once.
    pub(crate) horizon: usize,
    /// Input values averaged for the scale.
    pub(crate) level: usize,
    /// Period of the seasonal skip (0: none).
    pub(crate) season: usize,
    /// Covariates per time step (0: none).
    pub(crate) covariates: usize,
}

impl Shape {
    /// Cell steps per window.
    pub(crate) fn steps(&self) -> usize {
        self.input / self.chunk
    }

    /// Width of one cell input: a chunk of values and the covariates of its last position.
    pub(crate) fn width(&self) -> usize {
        self.chunk + self.covariates
    }

    /// Length of an encoded window: `steps · width`.
    pub(crate) fn encoded_len(&self) -> usize {
        self.steps() * self.width()
    }
}

/// The scale of a window whose inputs are `input`: the mean magnitude of the last `level`
/// values, or 1 when that is zero or not finite.
pub(crate) fn scale(input: &[f64], level: usize) -> f64 {
    let tail = &input[input.len().saturating_sub(level)..];
    let s = tail.iter().map(|v| v.abs()).sum::<f64>() / tail.len().max(1) as f64;
    if s.is_finite() && s > 0.0 { s } else { 1.0 }
}

/// `v` on the normalised log scale of a window of scale `s`.
pub(crate) fn to_unit(v: f64, s: f64) -> f64 {
    let r = v / s;
    if r.is_nan() {
        FLOOR.ln()
    } else {
        r.max(FLOOR).ln()
    }
}

/// The value of the normalised `u` in a window of scale `s`.
pub(crate) fn from_unit(u: f64, s: f64) -> f64 {
    s * u.clamp(-U_MAX, U_MAX).exp()
}

/// Encodes one window.
///
/// `input` holds `shape.input` values, `covariates` (empty without covariates) the
/// `shape.input × shape.covariates` covariates of the same positions, row-major. Writes the cell
/// inputs to `x` (`shape.encoded_len()` values: for each step, the chunk's normalised values,
/// then the covariates of the chunk's last position) and the seasonal-skip baseline to `base`
/// (`shape.horizon` values, zero without a skip). Returns the scale.
pub(crate) fn encode(
    shape: &Shape,
    input: &[f64],
    covariates: &[f64],
    x: &mut [f64],
    base: &mut [f64],
) -> f64 {
    debug_assert_eq!(input.len(), shape.input);
    let s = scale(input, shape.level);
    let (c, d, w) = (shape.chunk, shape.covariates, shape.width());
    for k in 0..shape.steps() {
        let row = &mut x[k * w..(k + 1) * w];
        for (dst, &v) in row[..c].iter_mut().zip(&input[k * c..(k + 1) * c]) {
            *dst = to_unit(v, s);
        }
        if d > 0 {
            let last = (k + 1) * c - 1;
            row[c..].copy_from_slice(&covariates[last * d..(last + 1) * d]);
        }
    }
    let m = shape.season;
    for (h, b) in base.iter_mut().enumerate() {
        *b = if m == 0 {
            0.0
        } else {
            to_unit(input[shape.input - m + h % m], s)
        };
    }
    s
}

/// A training or validation window: a series and the position of its first target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Origin {
    pub(crate) series: usize,
    pub(crate) at: usize,
}

/// The series of a training set, with their covariates.
pub(crate) struct Corpus<'a> {
    pub(crate) values: Vec<std::borrow::Cow<'a, [f64]>>,
    /// Per series, `len × shape.covariates` values (empty without covariates).
    pub(crate) covariates: Vec<&'a [f64]>,
}

impl Corpus<'_> {
    /// Encodes the window at `o` into `x` and `base`, and its normalised targets, minus the
    /// baseline, into `target`.
    pub(crate) fn encode_window(
        &self,
        shape: &Shape,
        o: Origin,
        x: &mut [f64],
        base: &mut [f64],
        target: &mut [f64],
    ) {
        let y = &self.values[o.series];
        let start = o.at - shape.input;
        let cov = if shape.covariates > 0 {
            let d = shape.covariates;
            &self.covariates[o.series][start * d..o.at * d]
        } else {
            &[][..]
        };
        let s = encode(shape, &y[start..o.at], cov, x, base);
        for (h, t) in target.iter_mut().enumerate() {
            *t = to_unit(y[o.at + h], s) - base[h];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape() -> Shape {
        Shape {
            input: 6,
            chunk: 3,
            horizon: 4,
            level: 3,
            season: 3,
            covariates: 1,
        }
    }

    #[test]
    fn a_window_is_divided_by_its_last_level_and_logged() {
        let sh = shape();
        let input = [1.0, 2.0, 4.0, 2.0, 4.0, 6.0];
        let cov = [10.0, 11.0, 12.0, 13.0, 14.0, 15.0];
        let mut x = vec![0.0; sh.encoded_len()];
        let mut base = vec![0.0; 4];
        let s = encode(&sh, &input, &cov, &mut x, &mut base);
        assert_eq!(s, 4.0);
        let expected = [
            0.25f64.ln(),
            0.5f64.ln(),
            0.0,
            12.0,
            0.5f64.ln(),
            0.0,
            1.5f64.ln(),
            15.0,
        ];
        for (a, b) in x.iter().zip(expected) {
            assert!((a - b).abs() < 1e-12, "{x:?}");
        }
        // The skip repeats the last season: 2, 4, 6, 2.
        let want = [0.5f64.ln(), 0.0, 1.5f64.ln(), 0.5f64.ln()];
        for (a, b) in base.iter().zip(want) {
            assert!((a - b).abs() < 1e-12);
        }
        assert!((from_unit(to_unit(7.0, s), s) - 7.0).abs() < 1e-12);
    }

    #[test]
    fn degenerate_values_stay_finite() {
        assert_eq!(scale(&[0.0, 0.0], 2), 1.0);
        assert_eq!(scale(&[f64::NAN], 1), 1.0);
        assert!(to_unit(-5.0, 1.0).is_finite());
        assert!(to_unit(f64::NAN, 1.0).is_finite());
        assert!(from_unit(1e9, 1.0).is_finite());
    }
}
