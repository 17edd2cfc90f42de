//! The one mapping from OpenTelemetry metric and label names to Prometheus names, used by
//! the `prometheus` sink to expose them and by the store's `query_metrics` to accept them.

/// A Prometheus metric or label name: `[a-zA-Z_:][a-zA-Z0-9_:]*`, other characters `_`.
pub fn sanitize(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// Every Prometheus name a stored metric is known by: the sanitized name, with the unit
/// suffix Prometheus adds (`_seconds` for `s`, `_milliseconds`, `_bytes`, `_usd`), and for counters
/// both with `_total`.
pub fn prometheus_names(name: &str, instrument: &str, unit: Option<&str>) -> Vec<String> {
    let base = sanitize(name);
    let mut with_unit = base.clone();
    match unit {
        Some("s") if !base.ends_with("_seconds") => with_unit.push_str("_seconds"),
        Some("ms") if !base.ends_with("_milliseconds") => with_unit.push_str("_milliseconds"),
        Some("By") if !base.ends_with("_bytes") => with_unit.push_str("_bytes"),
        Some("USD") if !base.ends_with("_usd") => with_unit.push_str("_usd"),
        _ => {}
    }
    let mut out = vec![base.clone(), with_unit.clone()];
    if instrument == "counter" {
        out.push(format!("{base}_total"));
        out.push(format!("{with_unit}_total"));
    }
    out
}
