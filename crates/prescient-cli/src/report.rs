//! The HTML report of `prescient simulate --report`.

use std::path::{Path, PathBuf};

use prescient_sim::{Run, Scenario};

/// Writes `report.html` into `dir` (created if missing) and returns its path.
pub(crate) fn write(
    dir: &Path,
    scenario: &Scenario,
    runs: &[(String, Run)],
) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join("report.html");
    let html = format!(
        "<!doctype html><title>{}</title><p>{} policies</p>",
        scenario.name(),
        runs.len()
    );
    std::fs::write(&path, html).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}
