use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

use serde::{Deserialize, Serialize};

use super::corpus::{Corpus, OUTSIDE, Point};
use super::profile::{Profile, Weights};
use crate::{Error, Result};

/// A source of anomaly scores by file key (`<category>/<file>.csv`), one score per data row.
///
/// Implemented for `HashMap<String, Vec<f64>>` and `BTreeMap<String, Vec<f64>>`.
pub trait ScoreMap {
    /// The anomaly scores of the file `key`, if there are any.
    fn scores_for(&self, key: &str) -> Option<&[f64]>;
}

impl<S: BuildHasher> ScoreMap for HashMap<String, Vec<f64>, S> {
    fn scores_for(&self, key: &str) -> Option<&[f64]> {
        self.get(key).map(Vec::as_slice)
    }
}

impl ScoreMap for BTreeMap<String, Vec<f64>> {
    fn scores_for(&self, key: &str) -> Option<&[f64]> {
        self.get(key).map(Vec::as_slice)
    }
}

/// What to score and how.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreParams {
    /// The profiles to score, in this order (default: all three).
    pub profiles: Vec<Profile>,
    /// Fixed thresholds (`--thresholds`); profiles without one get the optimised threshold.
    /// `f64::INFINITY` is NAB's "never fire" (it still detects scores of `+inf`, as the
    /// reference does).
    pub thresholds: BTreeMap<Profile, f64>,
    /// Also report each file's raw score at the chosen threshold (`--per-file`).
    pub per_file: bool,
}

impl Default for ScoreParams {
    fn default() -> Self {
        ScoreParams {
            profiles: Profile::ALL.to_vec(),
            thresholds: BTreeMap::new(),
            per_file: false,
        }
    }
}

/// The NAB score of one detector under one profile.
///
/// The counts are over the scored rows (those after each file's probationary period).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileScore {
    /// The profile.
    pub profile: Profile,
    /// The threshold: a row is a detection when its anomaly score is `>=` it. `f64::INFINITY`
    /// when the best choice is to never fire (serialised as `null`, as `nab_score.py` does).
    #[serde(with = "threshold_serde")]
    pub threshold: f64,
    /// Whether the threshold was optimised (`false`: it was fixed by the caller).
    pub tuned: bool,
    /// The raw score: credits of detected windows, minus `A_FN` per missed window, minus the
    /// false positives' costs.
    pub raw: f64,
    /// The raw score of a detector that never fires: `-A_FN` times the countable windows.
    pub null: f64,
    /// The raw score of a perfect detector: `A_TP` times the listed windows.
    pub perfect: f64,
    /// `100 (raw - null) / (perfect - null)`: 0 for a detector that never fires, 100 for a
    /// perfect one; `None` when there are no windows (the reference then reports NaN).
    pub normalized: Option<f64>,
    /// Windows with at least one detection (`windows_detected`).
    pub true_positives: usize,
    /// Countable windows without a detection (`windows_missed`).
    pub false_negatives: usize,
    /// Detections outside every window (`fp_rows`).
    pub false_positives: usize,
    /// Rows outside every window without a detection (not reported by `nab_score.py`).
    pub true_negatives: usize,
    /// Each file's raw score at this threshold, when asked for (`--per-file`).
    pub files: Option<BTreeMap<String, f64>>,
}

/// The NAB scores of one detector, one per requested profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// One entry per profile, in the order requested.
    pub profiles: Vec<ProfileScore>,
}

impl Scores {
    /// The score under `profile`, if it was requested.
    pub fn get(&self, profile: Profile) -> Option<&ProfileScore> {
        self.profiles.iter().find(|p| p.profile == profile)
    }
}

mod threshold_serde {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(t: &f64, s: S) -> Result<S::Ok, S::Error> {
        if *t == f64::INFINITY {
            s.serialize_none()
        } else {
            s.serialize_some(t)
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::INFINITY))
    }
}

impl Corpus {
    /// Scores one detector's anomaly scores (one per data row, for every file of the corpus)
    /// with NAB's rules, without touching the disk.
    ///
    /// For each profile the threshold is optimised over the whole corpus as `nab_score.py`
    /// does (every distinct score tried from the highest down, plus never firing; the highest
    /// threshold wins ties), unless `params` fixes it.
    ///
    /// NaN scores in a probationary period are ignored, as the reference ignores every score
    /// there; after it they are an error.
    ///
    /// # Errors
    ///
    /// [`Error::MissingScores`] when a file has no scores, [`Error::LengthMismatch`] when it
    /// does not have one per row, [`Error::NanInScores`] for a NaN after the probationary
    /// period.
    ///
    /// # Example
    ///
    /// ```
    /// # use std::collections::{BTreeMap, HashMap};
    /// # use prescient_eval::nab::{Corpus, DataSeries, Profile, ScoreParams, Window};
    /// # let ts: Vec<String> = (0..100).map(|i| format!("2024-01-01 {:02}:{:02}:00", i / 60, i % 60)).collect();
    /// # let series = BTreeMap::from([("demo/a.csv".to_string(), DataSeries::new(ts.clone(), vec![0.0; 100])?)]);
    /// # let windows = BTreeMap::from([("demo/a.csv".to_string(), vec![Window::new(&ts[60], &ts[69])?])]);
    /// # let corpus = Corpus::from_series(&windows, series)?;
    /// // A detector that never fires scores 0.
    /// let silent = HashMap::from([("demo/a.csv".to_string(), vec![0.0; 100])]);
    /// let scores = corpus.score(&silent, &ScoreParams::default())?;
    /// assert_eq!(scores.get(Profile::Standard).and_then(|s| s.normalized), Some(0.0));
    /// # Ok::<(), prescient_eval::Error>(())
    /// ```
    pub fn score<M: ScoreMap + ?Sized>(&self, scores: &M, params: &ScoreParams) -> Result<Scores> {
        let per_file = self
            .files
            .iter()
            .map(|f| {
                scores
                    .scores_for(&f.key)
                    .ok_or_else(|| Error::MissingScores { key: f.key.clone() })
            })
            .collect::<Result<Vec<_>>>()?;
        self.score_slices(&per_file, params)
    }

    /// [`Corpus::score`] with the scores given in the order of [`Corpus::files`].
    pub(crate) fn score_slices(&self, per_file: &[&[f64]], params: &ScoreParams) -> Result<Scores> {
        // The anomaly score of every point, in corpus order.
        let mut a = Vec::with_capacity(self.points.len());
        for (f, s) in self.files.iter().zip(per_file) {
            if s.len() != f.series.len() {
                return Err(Error::LengthMismatch {
                    key: f.key.clone(),
                    expected: f.series.len(),
                    got: s.len(),
                });
            }
            if let Some(j) = s[f.probation..].iter().position(|x| x.is_nan()) {
                return Err(Error::NanInScores {
                    key: f.key.clone(),
                    index: f.probation + j,
                });
            }
            a.extend_from_slice(&s[f.probation..]);
        }
        let needs_sweep = params
            .profiles
            .iter()
            .any(|p| !params.thresholds.contains_key(p));
        // Python's stable sort on `-score`: descending, ties in corpus order.
        let order: Vec<u32> = if needs_sweep {
            let mut keyed: Vec<(u64, u32)> = a
                .iter()
                .enumerate()
                .map(|(i, &x)| (descending_key(x), i as u32))
                .collect();
            keyed.sort_unstable();
            keyed.into_iter().map(|(_, i)| i).collect()
        } else {
            Vec::new()
        };
        let profiles = params
            .profiles
            .iter()
            .map(|&profile| {
                let w = profile.weights();
                let fixed = params.thresholds.get(&profile).copied();
                let threshold = fixed
                    .unwrap_or_else(|| sweep(&self.points, &a, &order, self.countable_windows, w));
                let at = score_at(&self.points, &a, 0, self.countable_windows, threshold, w);
                let null = -w.false_negative * self.countable_windows as f64;
                let perfect = w.true_positive * self.listed_windows as f64;
                let normalized =
                    (perfect != null).then(|| 100.0 * (at.raw - null) / (perfect - null));
                let files = params.per_file.then(|| {
                    self.files
                        .iter()
                        .map(|f| {
                            let r = f.point_start..f.point_start + (f.series.len() - f.probation);
                            let raw = score_at(
                                &self.points[r.clone()],
                                &a[r],
                                f.window_start,
                                f.countable,
                                threshold,
                                w,
                            )
                            .raw;
                            (f.key.clone(), raw)
                        })
                        .collect()
                });
                ProfileScore {
                    profile,
                    threshold,
                    tuned: fixed.is_none(),
                    raw: at.raw,
                    null,
                    perfect,
                    normalized,
                    true_positives: at.detected,
                    false_negatives: at.missed,
                    false_positives: at.fp,
                    true_negatives: at.tn,
                    files,
                }
            })
            .collect();
        Ok(Scores { profiles })
    }
}

/// A key whose ascending order is the descending order of the (non-NaN) scores, with `-0.0`
/// equal to `0.0` as Python compares them.
fn descending_key(x: f64) -> u64 {
    // `+ 0.0` turns -0.0 into 0.0; the rest is the usual map of IEEE bits to a total order.
    let bits = (x + 0.0).to_bits();
    let ascending = if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    };
    !ascending
}

/// The best threshold over all distinct anomaly scores, as `sweep` of `nab_score.py`, with the
/// same additions in the same order: `f64::INFINITY` when never firing is best.
fn sweep(points: &[Point], a: &[f64], order: &[u32], countable: usize, w: Weights) -> f64 {
    let (a_tp, a_fp, a_fn) = (w.true_positive, w.false_positive, w.false_negative);
    let mut best_in: Vec<Option<f64>> = vec![None; countable];
    let mut total = -a_fn * countable as f64;
    let mut best = (total, f64::INFINITY);
    let mut k = 0;
    while k < order.len() {
        let thr = a[order[k] as usize];
        while k < order.len() && a[order[k] as usize] == thr {
            let p = points[order[k] as usize];
            if p.window == OUTSIDE {
                total += a_fp * p.val;
            } else {
                let credit = a_tp * p.val;
                let slot = &mut best_in[p.window as usize];
                match *slot {
                    None => {
                        total += credit + a_fn;
                        *slot = Some(credit);
                    }
                    Some(old) if credit > old => {
                        total += credit - old;
                        *slot = Some(credit);
                    }
                    Some(_) => {}
                }
            }
            k += 1;
        }
        if total > best.0 {
            best = (total, thr);
        }
    }
    best.1
}

/// The raw score and counts at a fixed threshold.
struct At {
    raw: f64,
    detected: usize,
    missed: usize,
    fp: usize,
    tn: usize,
}

/// The raw score at `threshold`, as `score_at` of `nab_score.py`: windows' best credits summed
/// in the order they were first detected, then the misses, then the false positives (summed in
/// row order).
fn score_at(
    points: &[Point],
    a: &[f64],
    window_start: usize,
    countable: usize,
    threshold: f64,
    w: Weights,
) -> At {
    let (a_tp, a_fp, a_fn) = (w.true_positive, w.false_positive, w.false_negative);
    let mut best_in: Vec<Option<f64>> = vec![None; countable];
    let mut first_detected = Vec::new();
    let (mut fp_sum, mut fp, mut tn) = (0.0, 0, 0);
    for (p, &x) in points.iter().zip(a) {
        if x < threshold {
            tn += usize::from(p.window == OUTSIDE);
            continue;
        }
        if p.window == OUTSIDE {
            fp_sum += a_fp * p.val;
            fp += 1;
        } else {
            let credit = a_tp * p.val;
            let k = p.window as usize - window_start;
            match best_in[k] {
                None => {
                    best_in[k] = Some(credit);
                    first_detected.push(k);
                }
                Some(old) if credit > old => best_in[k] = Some(credit),
                Some(_) => {}
            }
        }
    }
    // Python's `sum` starts from the integer 0, and 0 + x == x.
    let detected_sum = first_detected
        .iter()
        .fold(0.0, |s, &k| s + best_in[k].unwrap_or(0.0));
    let missed = countable - first_detected.len();
    At {
        raw: detected_sum - a_fn * missed as f64 + fp_sum,
        detected: first_detected.len(),
        missed,
        fp,
        tn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nab::{DataSeries, Window, scaled_sigmoid};

    const KEY: &str = "cat/file.csv";

    /// 100 rows one minute apart (probation 15) with windows over the given inclusive rows.
    fn corpus(windows: &[(usize, usize)]) -> Corpus {
        let ts: Vec<String> = (0..100)
            .map(|i| format!("2020-01-01 {:02}:{:02}:00", i / 60, i % 60))
            .collect();
        let series = DataSeries::new(ts.clone(), vec![0.0; 100]).unwrap();
        let ws = windows
            .iter()
            .map(|&(s, e)| Window::new(&ts[s], &ts[e]).unwrap())
            .collect();
        Corpus::from_series(
            &BTreeMap::from([(KEY.to_string(), ws)]),
            BTreeMap::from([(KEY.to_string(), series)]),
        )
        .unwrap()
    }

    fn with_hits(hits: &[(usize, f64)]) -> BTreeMap<String, Vec<f64>> {
        let mut s = vec![0.0; 100];
        for &(i, v) in hits {
            s[i] = v;
        }
        BTreeMap::from([(KEY.to_string(), s)])
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    /// One window over rows 60..=69; a hit at row 62 (score 0.9), a false positive at row 30
    /// (score 0.8, before the window) and one at row 80 (score 0.7, 11 rows after the window's
    /// end: y = 11 / 9).
    fn hand_case(profile: Profile) -> (ProfileScore, f64, f64, f64) {
        let c = corpus(&[(60, 69)]);
        let s = with_hits(&[(62, 0.9), (30, 0.8), (80, 0.7)]);
        let params = ScoreParams {
            profiles: vec![profile],
            ..ScoreParams::default()
        };
        let r = c.score(&s, &params).unwrap().profiles.remove(0);
        let credit = scaled_sigmoid(-0.8) / scaled_sigmoid(-1.0);
        let fp_before = -1.0;
        let fp_after = scaled_sigmoid(11.0 / 9.0);
        (r, credit, fp_before, fp_after)
    }

    #[test]
    fn hand_computed_standard() {
        let (r, credit, fp_before, fp_after) = hand_case(Profile::Standard);
        // Candidates: never (-1), 0.9 (credit), 0.8 (credit - 0.11), 0.7, 0.0 (many FPs).
        assert_eq!(r.threshold, 0.9);
        assert!(close(r.raw, credit));
        // f(y) = tanh(-5y / 2), so the credit is tanh(2) / tanh(2.5) = 0.97710684...
        assert!(close(credit, 2f64.tanh() / 2.5f64.tanh()), "{credit}");
        assert!((credit - 0.977_106_841).abs() < 1e-9);
        assert_eq!((r.null, r.perfect), (-1.0, 1.0));
        assert!(close(r.normalized.unwrap(), 100.0 * (credit + 1.0) / 2.0));
        assert_eq!((r.true_positives, r.false_negatives), (1, 0));
        assert_eq!((r.false_positives, r.true_negatives), (0, 75));
        // At a fixed 0.7 both false positives count.
        let c = corpus(&[(60, 69)]);
        let s = with_hits(&[(62, 0.9), (30, 0.8), (80, 0.7)]);
        let params = ScoreParams {
            profiles: vec![Profile::Standard],
            thresholds: BTreeMap::from([(Profile::Standard, 0.7)]),
            per_file: true,
        };
        let r = c.score(&s, &params).unwrap().profiles.remove(0);
        assert!(!r.tuned);
        assert!(close(r.raw, credit + 0.11 * fp_before + 0.11 * fp_after));
        assert_eq!(r.false_positives, 2);
        assert_eq!(r.files.unwrap()[KEY], r.raw);
    }

    #[test]
    fn hand_computed_reward_low_fp_rate() {
        let (r, credit, _, _) = hand_case(Profile::RewardLowFpRate);
        assert_eq!(r.threshold, 0.9);
        assert!(close(r.raw, credit));
        assert_eq!((r.null, r.perfect), (-1.0, 1.0));
        // Lowering the threshold to 0.8 would cost 0.22.
        let c = corpus(&[(60, 69)]);
        let s = with_hits(&[(62, 0.9), (30, 0.8), (80, 0.7)]);
        let params = ScoreParams {
            profiles: vec![Profile::RewardLowFpRate],
            thresholds: BTreeMap::from([(Profile::RewardLowFpRate, 0.8)]),
            per_file: false,
        };
        let r = c.score(&s, &params).unwrap().profiles.remove(0);
        assert!(close(r.raw, credit - 0.22));
    }

    #[test]
    fn hand_computed_reward_low_fn_rate() {
        let (r, credit, _, _) = hand_case(Profile::RewardLowFnRate);
        assert_eq!(r.threshold, 0.9);
        assert!(close(r.raw, credit));
        assert_eq!((r.null, r.perfect), (-2.0, 1.0));
        assert!(close(r.normalized.unwrap(), 100.0 * (credit + 2.0) / 3.0));
    }

    #[test]
    fn earliest_detection_counts() {
        let c = corpus(&[(60, 69)]);
        // Two hits in the window; the earlier one (row 61) has the lower score, so lowering
        // the threshold to 0.5 improves the credit. Row 65 at 0.9 alone is worse.
        let s = with_hits(&[(65, 0.9), (61, 0.5)]);
        let r = c.score(&s, &ScoreParams::default()).unwrap();
        let st = r.get(Profile::Standard).unwrap();
        assert_eq!(st.threshold, 0.5);
        assert!(close(st.raw, scaled_sigmoid(-0.9) / scaled_sigmoid(-1.0)));
        assert_eq!(st.true_positives, 1);
        // A detector that never fires is best left silent.
        let zeros = with_hits(&[]);
        let r = c.score(&zeros, &ScoreParams::default()).unwrap();
        for p in &r.profiles {
            assert_eq!(p.threshold, f64::INFINITY);
            assert_eq!(p.normalized, Some(0.0));
            assert_eq!(p.false_negatives, 1);
        }
    }

    #[test]
    fn tie_between_thresholds_keeps_the_higher() {
        // Rows with equal scores are one candidate: the hit at row 60 comes with the false
        // positive at row 20.
        let c = corpus(&[(60, 69)]);
        let s = with_hits(&[(60, 0.5), (20, 0.5), (61, 0.4)]);
        let r = c.score(&s, &ScoreParams::default()).unwrap();
        let st = r.get(Profile::Standard).unwrap();
        // At 0.5: credit 1 - 0.11 = 0.89; at 0.4 nothing improves (row 61 is later), so the
        // total is equal and 0.5 (the higher) is kept.
        assert_eq!(st.threshold, 0.5);
        assert!(close(st.raw, 1.0 - 0.11));
    }

    #[test]
    fn infinite_scores_follow_the_reference() {
        let c = corpus(&[(60, 69)]);
        // +inf at the window start: the sweep's best group is `inf`, reported as never firing
        // but (as in the reference) the +inf row still counts at that threshold.
        let s = with_hits(&[(60, f64::INFINITY)]);
        let r = c.score(&s, &ScoreParams::default()).unwrap();
        let st = r.get(Profile::Standard).unwrap();
        assert_eq!(st.threshold, f64::INFINITY);
        assert_eq!(st.true_positives, 1);
        assert_eq!(st.normalized, Some(100.0));
        let json = serde_json::to_value(st).unwrap();
        assert!(json["threshold"].is_null());
    }

    #[test]
    fn nan_is_an_error_after_probation_only() {
        let c = corpus(&[(60, 69)]);
        let mut s = with_hits(&[(62, 0.9)]);
        s.get_mut(KEY).unwrap()[3] = f64::NAN;
        assert!(c.score(&s, &ScoreParams::default()).is_ok());
        s.get_mut(KEY).unwrap()[40] = f64::NAN;
        assert!(matches!(
            c.score(&s, &ScoreParams::default()),
            Err(Error::NanInScores { index: 40, .. })
        ));
    }

    #[test]
    fn missing_and_short_scores_are_errors() {
        let c = corpus(&[(60, 69)]);
        let empty: HashMap<String, Vec<f64>> = HashMap::new();
        assert!(matches!(
            c.score(&empty, &ScoreParams::default()),
            Err(Error::MissingScores { .. })
        ));
        let short = BTreeMap::from([(KEY.to_string(), vec![0.0; 99])]);
        assert!(matches!(
            c.score(&short, &ScoreParams::default()),
            Err(Error::LengthMismatch {
                expected: 100,
                got: 99,
                ..
            })
        ));
    }

    #[test]
    fn descending_key_orders_like_python() {
        let xs = [
            f64::INFINITY,
            1.5,
            1.0,
            f64::MIN_POSITIVE,
            0.0,
            -0.0,
            -1e-300,
            -2.0,
            f64::NEG_INFINITY,
        ];
        for w in xs.windows(2) {
            if w[0] == w[1] {
                assert_eq!(descending_key(w[0]), descending_key(w[1]));
            } else {
                assert!(descending_key(w[0]) < descending_key(w[1]), "{w:?}");
            }
        }
    }

    #[test]
    fn no_windows_has_no_normalised_score() {
        let c = corpus(&[]);
        let s = with_hits(&[(50, 1.0)]);
        let r = c.score(&s, &ScoreParams::default()).unwrap();
        for p in &r.profiles {
            assert_eq!(p.normalized, None);
            assert_eq!(p.threshold, f64::INFINITY);
            assert_eq!(p.raw, 0.0);
        }
    }
}
