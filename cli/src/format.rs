//! How the text output renders values that several commands show: trace ids, store
//! timestamps, durations, ages, costs, byte counts, and text cut to a column.

use std::time::Duration;

/// A trace or span id as the tables print it: `…` and its last digits, the part the
/// console sink prints too, which `show` accepts back.
pub use llm_telemetry::short_id;

/// `2026-11-22 04:12:35` from the store's `2026-11-22 04:12:35.691483`.
pub fn time(ts: &str) -> &str {
    ts.get(..19).unwrap_or(ts)
}

/// `11-22 04:12:35` from the store's `2026-11-22 04:12:35.691483`: [`time`] without the
/// year, for tables.
pub fn short_time(ts: &str) -> &str {
    ts.get(5..19).unwrap_or(ts)
}

/// `11-22 04:12` from the store's `2026-11-22 04:12:35.691483`: [`short_time`] to the
/// minute, for tables with two times.
pub fn minute(ts: &str) -> &str {
    ts.get(5..16).unwrap_or(ts)
}

/// A cost in US dollars: `$0.0035` under a dollar, `$12.40` from one.
pub fn usd(cost: f64) -> String {
    if cost.abs() < 1.0 {
        format!("${cost:.4}")
    } else {
        format!("${cost:.2}")
    }
}

/// A duration in milliseconds: `850µs`, `12.5ms`, `3.20s`, `4m05s`.
pub fn duration(ms: f64) -> String {
    if ms < 1.0 {
        format!("{:.0}µs", ms * 1000.0)
    } else if ms < 1000.0 {
        format!("{ms:.1}ms")
    } else if ms < 60_000.0 {
        format!("{:.2}s", ms / 1000.0)
    } else {
        let s = (ms / 1000.0).round() as u64;
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

/// An age in the largest whole unit: `7d`, `36h`, `90m`, `45s`.
pub fn humanize(d: Duration) -> String {
    let s = d.as_secs();
    for (unit, n) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if s >= n && s.is_multiple_of(n) {
            return format!("{}{unit}", s / n);
        }
    }
    format!("{s}s")
}

/// A size: `512 B`, `208.0 KiB`, `1.5 GiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// `s` on one line: every run of white space (newlines too) as one space.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `s` cut to `width` characters, ending in `…` when cut.
pub fn fit(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}
