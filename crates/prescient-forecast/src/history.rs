//! The policy for gaps and non-finite values in a training history, shared by every model.
//!
//! A non-finite value (NaN or ±∞) in a history is a gap, not an error:
//!
//! - interior gaps are filled by linear interpolation between the finite values on either side;
//! - leading gaps are dropped, so the history starts at its first finite value;
//! - trailing gaps are filled with the last finite value, so that the forecast origin stays one
//!   step after the history's last position, where the caller expects it.
//!
//! A history with no finite value at all is [`Error::NotEnoughData`]. Live observations are
//! different: [`prescient_core::Forecaster::update`] rejects a non-finite value with
//! [`Error::NonFinite`] and leaves the model as it was.

use std::borrow::Cow;

use prescient_core::{Error, Result};

/// `history` with its gaps filled as the module documentation says; borrowed when it has none.
///
/// # Errors
///
/// [`Error::NotEnoughData`] when no value is finite (an empty history included).
pub fn fill_gaps(history: &[f64]) -> Result<Cow<'_, [f64]>> {
    if !history.is_empty() && history.iter().all(|x| x.is_finite()) {
        return Ok(Cow::Borrowed(history));
    }
    let Some(first) = history.iter().position(|x| x.is_finite()) else {
        return Err(Error::NotEnoughData { needed: 1, got: 0 });
    };
    let mut out: Vec<f64> = history[first..].to_vec();
    let mut last_finite = 0usize; // out[0] is finite
    let mut i = 1;
    while i < out.len() {
        if out[i].is_finite() {
            let gap = i - last_finite;
            if gap > 1 {
                let (a, b) = (out[last_finite], out[i]);
                for (k, x) in out[last_finite + 1..i].iter_mut().enumerate() {
                    let t = (k + 1) as f64 / gap as f64;
                    *x = a + t * (b - a);
                }
            }
            last_finite = i;
        }
        i += 1;
    }
    let carry = out[last_finite];
    out[last_finite + 1..].iter_mut().for_each(|x| *x = carry);
    Ok(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clean_history_is_borrowed() {
        let y = [1.0, 2.0, 3.0];
        assert!(matches!(fill_gaps(&y).unwrap(), Cow::Borrowed(_)));
    }

    #[test]
    fn gaps_are_interpolated_dropped_or_carried() {
        let y = [f64::NAN, 1.0, f64::INFINITY, f64::NAN, 4.0, 5.0, f64::NAN];
        assert_eq!(&*fill_gaps(&y).unwrap(), &[1.0, 2.0, 3.0, 4.0, 5.0, 5.0]);
    }

    #[test]
    fn no_finite_value_is_an_error() {
        assert!(matches!(
            fill_gaps(&[f64::NAN, f64::NEG_INFINITY]),
            Err(Error::NotEnoughData { .. })
        ));
        assert!(matches!(fill_gaps(&[]), Err(Error::NotEnoughData { .. })));
    }
}
