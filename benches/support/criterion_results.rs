//! Reading back what criterion measured in this run, for the benches' own summaries
//! (`overhead`, `http_middleware`): the median of a case, from
//! `target/criterion/<group>/<case>/new/estimates.json`.

use std::path::PathBuf;

/// Criterion's output directory: `$CRITERION_HOME`, else `<target dir>/criterion`.
fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("criterion")
}

/// The median of `group/case` in nanoseconds, from criterion's estimates of this run.
pub fn median_ns(group: &str, case: &str) -> Option<f64> {
    let path = criterion_dir()
        .join(group)
        .join(case)
        .join("new")
        .join("estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["median"]["point_estimate"].as_f64()
}
