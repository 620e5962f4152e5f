//! Scoring of the Numenta Anomaly Benchmark (NAB), a faithful port of the reference scorer
//! `nab_score.py`.
//!
//! A [`Corpus`] holds the data files and their labelled anomaly windows, loaded once; each set
//! of anomaly scores (one per data row) is then scored in memory with [`Corpus::score`], or a
//! whole NAB results folder with [`score_results_dir`].
//!
//! # The rules
//!
//! * The first [`probation_rows`] rows of a file (15%, at most 750) are a probationary period:
//!   detections there are ignored, and a window counts only if it has a row after it.
//! * A row is a detection when its anomaly score is `>=` the threshold. The earliest detection
//!   in a window earns `A_TP f(y) / f(-1)`, where `y = -(end - i + 1) / width` is its relative
//!   position and `f` the [`scaled_sigmoid`]; a window without detection costs `A_FN`.
//! * A detection outside every window costs `A_FP f(y)` with `y` the distance from the end of
//!   the preceding window in its file over that window's width minus one (so false positives
//!   right after a window are nearly free), or `A_FP` when no window precedes it.
//! * Per detector and [`Profile`], the threshold is the distinct score (or "never fire") with
//!   the highest total raw score over the corpus, the highest threshold winning ties; the raw
//!   score is normalised to 0 for a detector that never fires and 100 for a perfect one.
//!
//! # Agreement with the reference
//!
//! Every sum is done in the reference's order (windows' credits in order of first detection,
//! false positives in row order, the sweep in descending score with ties in corpus order), so
//! on the shared NAB subset the scores, raw scores and thresholds are bit-identical to those of
//! `nab_score.py` under Python 3.11 (`tests/nab_agrees_with_python.rs` checks them to 1e-9).
//! Python 3.12's compensated `sum` may move the last bits of a raw score.
//!
//! Deliberate differences: a NaN anomaly score after the probationary period is an error here
//! (the reference's sweep never ends on one, since NaN equals nothing, and a fixed threshold
//! counts it as a detection); data files need a `value` column as well as `timestamp`, since
//! the corpus keeps the values for running detectors; a normalised score without windows is
//! `None` rather than NaN.

mod corpus;
mod csv;
mod profile;
mod run;
mod score;

pub use corpus::{Corpus, CorpusFile, Warning, Window, read_windows};
pub use csv::{DataSeries, ResultsFile, read_data, read_scores, results_path, write_results};
pub use profile::{Profile, Weights, probation_rows, scaled_sigmoid};
pub use run::{RunParams, RunReport, ThresholdTable, score_results_dir};
pub use score::{ProfileScore, ScoreMap, ScoreParams, Scores};
