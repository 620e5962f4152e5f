//! What the batch paths of the univariate detectors share.

use prescient_core::{Detector, Error, Result, Timestamp};

use crate::floored_std;

/// `(x − mean) / sd` with the detectors' floor on `sd` and clamp on the result; 0 when `mean` is
/// NaN (the point was not scored).
#[inline(always)]
pub(crate) fn standardised(x: f64, mean: f64, sd: f64) -> f64 {
    let z = (x - mean) / floored_std(sd, mean);
    if z.is_nan() {
        0.0
    } else {
        z.clamp(-1e12, 1e12)
    }
}

/// Updates `d` with each value of `xs` in turn, writing each deviation into `out` (0 where `d`
/// gives none): the point-by-point path, which a batch path must equal.
pub(crate) fn update_each(d: &mut impl Detector, xs: &[f64], out: &mut [f64]) {
    for (o, &x) in out.iter_mut().zip(xs) {
        *o = d
            .update(Timestamp::EPOCH, x)
            .map_or(0.0, |det| det.deviation);
    }
}

/// Checks that a batch's output is as long as its input.
pub(crate) fn check_batch(xs: &[f64], out: &[f64]) -> Result<()> {
    if xs.len() == out.len() {
        Ok(())
    } else {
        Err(Error::InvalidParam {
            name: "out",
            reason: format!(
                "must be as long as the input ({}), got {}",
                xs.len(),
                out.len()
            ),
        })
    }
}
