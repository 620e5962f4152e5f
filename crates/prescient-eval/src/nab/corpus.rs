use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::csv::{DataSeries, read_data, read_text, split_key};
use super::profile::{probation_rows, scaled_sigmoid};
use crate::time::parse_micros;
use crate::{Error, Result};

/// A labelled anomaly window `[start, end]` (both inclusive), as listed in
/// `combined_windows.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    start: String,
    end: String,
    start_us: i64,
    end_us: i64,
}

impl Window {
    /// A window from its bounds, in the windows file's format (`YYYY-MM-DD HH:MM:SS.ffffff`; the
    /// fraction is optional).
    ///
    /// # Errors
    ///
    /// [`Error::UnparsableTimestamp`] (index 0 for `start`, 1 for `end`) when a bound does not
    /// parse.
    pub fn new(start: &str, end: &str) -> Result<Self> {
        let parse = |index: usize, s: &str| {
            parse_micros(s).ok_or_else(|| Error::UnparsableTimestamp {
                index,
                value: s.to_string(),
            })
        };
        Ok(Window {
            start_us: parse(0, start)?,
            end_us: parse(1, end)?,
            start: start.to_string(),
            end: end.to_string(),
        })
    }

    /// The first timestamp of the window, as written.
    pub fn start(&self) -> &str {
        &self.start
    }

    /// The last timestamp of the window, as written.
    pub fn end(&self) -> &str {
        &self.end
    }
}

/// Something `nab_score.py` would print as a warning: scoring goes on, but the input may not be
/// what was meant.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Warning {
    /// A window contains no row of its data file; it is left out of the file's windows (but
    /// still counts towards the perfect score, as in NAB).
    WindowCoversNoRows {
        /// The file key.
        key: String,
        /// The window's start, as written.
        start: String,
        /// The window's end, as written.
        end: String,
    },
    /// A window's bounds are not both timestamps of rows; it was mapped to the rows it covers.
    WindowInexact {
        /// The file key.
        key: String,
        /// The window's start, as written.
        start: String,
        /// The window's end, as written.
        end: String,
    },
    /// Some timestamps of a results file differ from those of its data file (rows are matched
    /// by position regardless).
    TimestampMismatch {
        /// The results file.
        path: PathBuf,
        /// How many rows differ.
        count: usize,
    },
    /// Fixed thresholds were requested, but none were given for this detector, so they were
    /// optimised.
    NoFixedThresholds {
        /// The detector.
        detector: String,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::WindowCoversNoRows { key, start, end } => {
                write!(f, "window {start}..{end} of {key} covers no rows")
            }
            Warning::WindowInexact { key, start, end } => write!(
                f,
                "window {start}..{end} of {key} does not match row timestamps exactly"
            ),
            Warning::TimestampMismatch { path, count } => write!(
                f,
                "{count} timestamps of {} differ from the data file",
                path.display()
            ),
            Warning::NoFixedThresholds { detector } => {
                write!(f, "no fixed thresholds for {detector}; optimising")
            }
        }
    }
}

/// Reads a windows file (`combined_windows.json`): a JSON object from file keys
/// (`<category>/<file>.csv`) to lists of `[start, end]` pairs.
///
/// # Errors
///
/// [`Error::Io`] when the file cannot be read, [`Error::Json`] when it is not JSON,
/// [`Error::InvalidWindows`] when it does not have that shape or a bound does not parse.
pub fn read_windows(path: &Path) -> Result<BTreeMap<String, Vec<Window>>> {
    let text = read_text(path)?;
    let raw: BTreeMap<String, Vec<Vec<String>>> =
        serde_json::from_str(&text).map_err(|source| Error::Json {
            path: path.to_path_buf(),
            source,
        })?;
    let invalid = |reason: String| Error::InvalidWindows {
        path: path.to_path_buf(),
        reason,
    };
    raw.into_iter()
        .map(|(key, list)| {
            let windows = list
                .iter()
                .enumerate()
                .map(|(i, pair)| match pair.as_slice() {
                    [start, end] => Window::new(start, end)
                        .map_err(|e| invalid(format!("`{key}` window {i}: {e}"))),
                    _ => Err(invalid(format!(
                        "`{key}` window {i} has {} bounds, expected 2",
                        pair.len()
                    ))),
                })
                .collect::<Result<Vec<_>>>()?;
            Ok((key, windows))
        })
        .collect()
}

/// Marks a row that lies outside every window.
pub(crate) const OUTSIDE: u32 = u32::MAX;

/// The scoring material of one row after the probationary period.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Point {
    /// Inside a window: the unweighted credit `f(y) / f(-1)`; outside: the unweighted false
    /// positive factor `f(y)` (negative).
    pub(crate) val: f64,
    /// The corpus-wide index of the window, or [`OUTSIDE`].
    pub(crate) window: u32,
}

/// One data file of a [`Corpus`] with its windows mapped to rows.
#[derive(Debug, Clone)]
pub struct CorpusFile {
    pub(crate) key: String,
    pub(crate) series: DataSeries,
    pub(crate) windows: Vec<Window>,
    pub(crate) rows: Vec<(usize, usize)>,
    pub(crate) probation: usize,
    /// Where this file's points start in [`Corpus::points`].
    pub(crate) point_start: usize,
    /// The corpus-wide index of this file's first countable window.
    pub(crate) window_start: usize,
    /// Windows with at least one row after the probationary period.
    pub(crate) countable: usize,
}

impl CorpusFile {
    /// The file key, `<category>/<file>.csv`.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The file's category (the key up to its first `/`).
    pub fn category(&self) -> &str {
        self.key.split_once('/').map_or(&*self.key, |(c, _)| c)
    }

    /// The data series.
    pub fn series(&self) -> &DataSeries {
        &self.series
    }

    /// The windows as listed for this file.
    pub fn windows(&self) -> &[Window] {
        &self.windows
    }

    /// The inclusive row ranges of the windows that cover at least one row, sorted by start.
    pub fn window_rows(&self) -> &[(usize, usize)] {
        &self.rows
    }

    /// The number of leading rows whose detections are ignored (see
    /// [`probation_rows`](super::probation_rows)).
    pub fn probation(&self) -> usize {
        self.probation
    }

    /// The number of windows that can be detected: those with a row after the probationary
    /// period. Missing one of them costs `A_FN`.
    pub fn countable_windows(&self) -> usize {
        self.countable
    }
}

/// The data files and windows of a NAB benchmark, prepared for scoring many sets of anomaly
/// scores.
///
/// Loading maps every window to its rows and computes, for every row after the probationary
/// period, the credit a detection there would earn (or the cost of a false positive), so that
/// scoring a set of anomaly scores is one sort and a few linear passes.
#[derive(Debug, Clone)]
pub struct Corpus {
    pub(crate) files: Vec<CorpusFile>,
    pub(crate) points: Vec<Point>,
    /// Windows listed for the files (the perfect score's count).
    pub(crate) listed_windows: usize,
    /// Windows with a row after the probationary period (the null score's count).
    pub(crate) countable_windows: usize,
    pub(crate) warnings: Vec<Warning>,
}

impl Corpus {
    /// Loads every file listed in the windows file `windows_path` from
    /// `<data_dir>/<category>/<file>.csv`.
    ///
    /// # Errors
    ///
    /// Those of [`read_windows`] and [`read_data`], [`Error::InvalidKey`] for a key that is not
    /// `<category>/<file>`, [`Error::NoFiles`] when the windows file lists no file.
    pub fn load(data_dir: &Path, windows_path: &Path) -> Result<Self> {
        Self::load_inner(data_dir, windows_path, None)
    }

    /// Loads the files of the given categories only (`--categories` of `nab_score.py`): the
    /// threshold is then optimised, and the score normalised, on these files alone.
    ///
    /// # Errors
    ///
    /// As [`Corpus::load`]; [`Error::NoFiles`] when no listed file is in these categories.
    pub fn load_categories(
        data_dir: &Path,
        windows_path: &Path,
        categories: &[&str],
    ) -> Result<Self> {
        Self::load_inner(data_dir, windows_path, Some(categories))
    }

    fn load_inner(
        data_dir: &Path,
        windows_path: &Path,
        categories: Option<&[&str]>,
    ) -> Result<Self> {
        let mut windows = read_windows(windows_path)?;
        if let Some(cats) = categories {
            windows.retain(|k, _| in_categories(k, cats));
        }
        let mut series = BTreeMap::new();
        for key in windows.keys() {
            let (category, file) = split_key(key)?;
            series.insert(key.clone(), read_data(&data_dir.join(category).join(file))?);
        }
        Self::from_series(&windows, series)
    }

    /// A corpus from windows and series held in memory; the files are the keys of `windows`
    /// (in sorted order, as the reference scorer takes them), and series for other keys are
    /// ignored.
    ///
    /// # Errors
    ///
    /// [`Error::MissingSeries`] when a key of `windows` has no series, [`Error::NoFiles`] when
    /// `windows` is empty.
    pub fn from_series(
        windows: &BTreeMap<String, Vec<Window>>,
        mut series: BTreeMap<String, DataSeries>,
    ) -> Result<Self> {
        if windows.is_empty() {
            return Err(Error::NoFiles);
        }
        let mut corpus = Corpus {
            files: Vec::with_capacity(windows.len()),
            points: Vec::new(),
            listed_windows: 0,
            countable_windows: 0,
            warnings: Vec::new(),
        };
        for (key, list) in windows {
            let s = series
                .remove(key)
                .ok_or_else(|| Error::MissingSeries { key: key.clone() })?;
            corpus.push_file(key.clone(), s, list.clone());
        }
        Ok(corpus)
    }

    /// A corpus of this one's files in the given categories, as if loaded with
    /// [`Corpus::load_categories`].
    ///
    /// # Errors
    ///
    /// [`Error::NoFiles`] when no file is in these categories.
    pub fn restrict_to_categories(&self, categories: &[&str]) -> Result<Self> {
        let mut windows = BTreeMap::new();
        let mut series = BTreeMap::new();
        for f in self
            .files
            .iter()
            .filter(|f| in_categories(&f.key, categories))
        {
            windows.insert(f.key.clone(), f.windows.clone());
            series.insert(f.key.clone(), f.series.clone());
        }
        Self::from_series(&windows, series)
    }

    /// The files, sorted by key.
    pub fn files(&self) -> &[CorpusFile] {
        &self.files
    }

    /// The file with this key, if any.
    pub fn file(&self, key: &str) -> Option<&CorpusFile> {
        self.files
            .binary_search_by(|f| f.key.as_str().cmp(key))
            .ok()
            .map(|i| &self.files[i])
    }

    /// The number of windows listed for the files: a perfect detector earns `A_TP` for each.
    pub fn window_count(&self) -> usize {
        self.listed_windows
    }

    /// The number of windows with a row after the probationary period: a detector that never
    /// fires loses `A_FN` for each.
    pub fn countable_window_count(&self) -> usize {
        self.countable_windows
    }

    /// What `nab_score.py` would have warned about while mapping windows to rows.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    fn push_file(&mut self, key: String, series: DataSeries, windows: Vec<Window>) {
        self.listed_windows += windows.len();
        let rows = window_rows(&series.micros, &windows, &key, &mut self.warnings);
        let n = series.len();
        let probation = probation_rows(n);
        let point_start = self.points.len();
        let window_start = self.countable_windows;
        let countable = annotate(n, probation, &rows, window_start, &mut self.points);
        self.countable_windows += countable;
        self.files.push(CorpusFile {
            key,
            series,
            windows,
            rows,
            probation,
            point_start,
            window_start,
            countable,
        });
    }
}

fn in_categories(key: &str, categories: &[&str]) -> bool {
    let category = key.split_once('/').map_or(key, |(c, _)| c);
    categories.contains(&category)
}

/// Maps windows to inclusive row ranges exactly as `window_index_ranges` of `nab_score.py`: a
/// window starts at the first row stamped at or after its start and ends at the first later row
/// stamped at or after its end (one row earlier if that row is past the end), scanning in row
/// order so that duplicated timestamps do not split a window.
fn window_rows(
    micros: &[i64],
    windows: &[Window],
    key: &str,
    warnings: &mut Vec<Warning>,
) -> Vec<(usize, usize)> {
    let mut sorted: Vec<&Window> = windows.iter().collect();
    // Stable, like Python's `sorted`.
    sorted.sort_by_key(|w| w.start_us);
    let n = micros.len();
    let mut out = Vec::with_capacity(sorted.len());
    for w in sorted {
        let (t0, t1) = (w.start_us, w.end_us);
        let covered = micros.iter().position(|&t| t >= t0).and_then(|s| {
            let mut e = micros[s..]
                .iter()
                .position(|&t| t >= t1)
                .map_or(n - 1, |j| s + j);
            if micros[e] > t1 {
                // `e` >= `s`, so this only reaches `s - 1` (an empty range) when `e == s`.
                if e == s {
                    return None;
                }
                e -= 1;
            }
            Some((s, e))
        });
        let warn = |w: &Window| (key.to_string(), w.start.clone(), w.end.clone());
        match covered {
            None => {
                let (key, start, end) = warn(w);
                warnings.push(Warning::WindowCoversNoRows { key, start, end });
            }
            Some((s, e)) => {
                if micros[s] != t0 || micros[e] != t1 {
                    let (key, start, end) = warn(w);
                    warnings.push(Warning::WindowInexact { key, start, end });
                }
                out.push((s, e));
            }
        }
    }
    out
}

/// Appends the points of one file (rows from `probation` on) and returns how many of its windows
/// are countable, as `annotate_file` of `nab_score.py` does; countable windows are numbered from
/// `window_start` in order of their first row after the probationary period.
fn annotate(
    n: usize,
    probation: usize,
    rows: &[(usize, usize)],
    window_start: usize,
    points: &mut Vec<Point>,
) -> usize {
    // Later windows overwrite earlier ones where they overlap, as in the reference.
    let mut win_of: Vec<Option<usize>> = vec![None; n];
    for (w, &(s, e)) in rows.iter().enumerate() {
        for slot in &mut win_of[s..=e] {
            *slot = Some(w);
        }
    }
    let f_start = scaled_sigmoid(-1.0);
    let mut global: Vec<Option<u32>> = vec![None; rows.len()];
    let mut countable = 0;
    let mut prev: Option<(usize, f64)> = None;
    points.reserve(n.saturating_sub(probation));
    for (i, w) in win_of.iter().enumerate() {
        let (val, window) = match *w {
            Some(w) => {
                let (s, e) = rows[w];
                let width = (e - s + 1) as f64;
                let y = -((e - i + 1) as f64) / width;
                if i == e {
                    prev = Some((e, width));
                }
                (scaled_sigmoid(y) / f_start, Some(w))
            }
            None => {
                let val = match prev {
                    Some((prev_end, prev_width)) if prev_width - 1.0 > 0.0 => {
                        scaled_sigmoid(i.abs_diff(prev_end) as f64 / (prev_width - 1.0))
                    }
                    _ => -1.0,
                };
                (val, None)
            }
        };
        if i < probation {
            continue;
        }
        let window = match window {
            None => OUTSIDE,
            Some(w) => *global[w].get_or_insert_with(|| {
                countable += 1;
                (window_start + countable - 1) as u32
            }),
        };
        points.push(Point { val, window });
    }
    countable
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamps(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("2020-01-01 {:02}:{:02}:00", i / 60, i % 60))
            .collect()
    }

    fn micros(n: usize) -> Vec<i64> {
        stamps(n).iter().map(|s| parse_micros(s).unwrap()).collect()
    }

    fn win(ts: &[String], s: usize, e: usize) -> Window {
        Window::new(&ts[s], &ts[e]).unwrap()
    }

    #[test]
    fn windows_map_to_rows() {
        let ts = stamps(100);
        let m = micros(100);
        let mut warnings = Vec::new();
        // Listed out of order: sorted by start.
        let ws = [win(&ts, 60, 69), win(&ts, 10, 19)];
        let rows = window_rows(&m, &ws, "a/b.csv", &mut warnings);
        assert_eq!(rows, [(10, 19), (60, 69)]);
        assert!(warnings.is_empty());
    }

    #[test]
    fn inexact_and_empty_windows_warn() {
        let ts = stamps(100);
        let m = micros(100);
        let mut warnings = Vec::new();
        // Bounds between rows: the window shrinks to the rows inside it.
        let inexact = Window::new("2020-01-01 00:10:30", "2020-01-01 00:20:30").unwrap();
        // Entirely between two rows.
        let empty = Window::new("2020-01-01 00:30:10", "2020-01-01 00:30:50").unwrap();
        // After the last row.
        let late = Window::new("2021-01-01 00:00:00", "2021-01-02 00:00:00").unwrap();
        // Ends after the last row: runs to the end.
        let tail = Window::new(&ts[95], "2021-01-01 00:00:00").unwrap();
        let rows = window_rows(&m, &[inexact, empty, late, tail], "a/b.csv", &mut warnings);
        assert_eq!(rows, [(11, 20), (95, 99)]);
        assert_eq!(warnings.len(), 4);
        assert!(matches!(warnings[0], Warning::WindowInexact { .. }));
        // In order of start: inexact, empty, tail, late.
        assert!(matches!(warnings[1], Warning::WindowCoversNoRows { .. }));
        assert!(matches!(warnings[2], Warning::WindowInexact { .. }));
        assert!(matches!(warnings[3], Warning::WindowCoversNoRows { .. }));
    }

    #[test]
    fn duplicated_timestamps_do_not_split_a_window() {
        // A clock change repeats 00:02 after 00:04.
        let m: Vec<i64> = [0, 1, 2, 3, 4, 2, 5, 6]
            .iter()
            .map(|&x| x * 60_000_000)
            .collect();
        let w = Window::new("1970-01-01 00:01:00", "1970-01-01 00:05:00").unwrap();
        let rows = window_rows(&m, &[w], "a/b.csv", &mut Vec::new());
        assert_eq!(rows, [(1, 6)]);
    }

    #[test]
    fn annotation_credits_and_costs() {
        let mut points = Vec::new();
        // 20 rows, probation 3, one window over rows 10..=14.
        let countable = annotate(20, 3, &[(10, 14)], 7, &mut points);
        assert_eq!(countable, 1);
        assert_eq!(points.len(), 17);
        let f1 = scaled_sigmoid(-1.0);
        // Before the window: full cost.
        assert_eq!(points[0].val, -1.0);
        assert_eq!(points[0].window, OUTSIDE);
        // Window start (row 10): full credit; end (row 14): f(-1/5) / f(-1).
        assert_eq!(points[7].window, 7);
        assert_eq!(points[7].val, 1.0);
        assert_eq!(points[11].val, scaled_sigmoid(-0.2) / f1);
        // After the window: f(distance / (width - 1)).
        assert_eq!(points[12].val, scaled_sigmoid(1.0 / 4.0));
        assert_eq!(points[16].val, scaled_sigmoid(5.0 / 4.0));
    }

    #[test]
    fn windows_in_probation_are_not_countable() {
        let mut points = Vec::new();
        // 100 rows, probation 15; the first window ends in probation, the second straddles it.
        let countable = annotate(100, 15, &[(2, 5), (12, 20), (50, 50)], 0, &mut points);
        assert_eq!(countable, 2);
        // Row 15 is in window 1 (first countable, index 0); row 21 is an FP after it.
        assert_eq!(points[0].window, 0);
        assert_eq!(points[6].window, OUTSIDE);
        assert_eq!(points[6].val, scaled_sigmoid(1.0 / 8.0));
        // A one-row window: FPs after it cost the full -1 (width - 1 = 0).
        assert_eq!(points[35].window, 1);
        assert_eq!(points[36].val, -1.0);
    }
}
