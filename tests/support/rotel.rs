//! A real OpenTelemetry collector for the tests: `rotel` (PyPI package `rotel`, binary
//! `rotel-agent` inside it), installed on first use into a virtual environment under
//! `target/rotel-venv`, started on free loopback ports with its debug exporter, and
//! killed on drop. Its output (the Collector debug-exporter text format) is captured
//! for the tests to read.
//!
//! If rotel cannot be installed the test fails with a message saying so, unless
//! `LLM_TELEMETRY_SKIP_ROTEL=1` is set, in which case [`Rotel::start`] returns `None`
//! and the test says on stderr that it skipped.
#![allow(dead_code)]

#[path = "run_command.rs"]
mod run_command;
use run_command::run;

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The rotel release the tests were written against (its output format is what they parse).
pub const ROTEL_VERSION: &str = "0.0.1a15";
/// Set to `1` to skip the tests that need rotel where it cannot be installed.
pub const SKIP_VAR: &str = "LLM_TELEMETRY_SKIP_ROTEL";

/// A running rotel collector.
pub struct Rotel {
    child: Child,
    pub http_port: u16,
    pub grpc_port: u16,
    output: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
}

impl Rotel {
    /// Start rotel on free loopback ports. `None` only when rotel is unavailable and
    /// `LLM_TELEMETRY_SKIP_ROTEL=1` is set; otherwise an unavailable rotel panics.
    pub fn start() -> Option<Rotel> {
        let agent = agent_path()?;
        let mut last_error = String::new();
        for _ in 0..5 {
            let (http_port, grpc_port) = (free_port(), free_port());
            match Rotel::spawn(&agent, http_port, grpc_port, &["--exporter", "blackhole"]) {
                Ok(r) => return Some(r),
                Err(e) => last_error = e,
            }
        }
        panic!("rotel did not start: {last_error}");
    }

    /// Start rotel on the given ports (to bring a collector up where an exporter was
    /// already pointed).
    pub fn start_on(http_port: u16, grpc_port: u16) -> Option<Rotel> {
        let agent = agent_path()?;
        Some(
            Rotel::spawn(&agent, http_port, grpc_port, &["--exporter", "blackhole"])
                .unwrap_or_else(|e| panic!("rotel did not start: {e}")),
        )
    }

    /// Start rotel forwarding what it receives over OTLP/gRPC to `endpoint`
    /// (`http://HOST:PORT`), as a collector in front of a back-end.
    pub fn start_forwarding_to(endpoint: &str) -> Option<Rotel> {
        let agent = agent_path()?;
        let exporter = [
            "--exporter",
            "otlp",
            "--otlp-exporter-endpoint",
            endpoint,
            "--otlp-exporter-protocol",
            "grpc",
        ];
        let mut last_error = String::new();
        for _ in 0..5 {
            match Rotel::spawn(&agent, free_port(), free_port(), &exporter) {
                Ok(r) => return Some(r),
                Err(e) => last_error = e,
            }
        }
        panic!("rotel did not start: {last_error}");
    }

    fn spawn(
        agent: &Path,
        http_port: u16,
        grpc_port: u16,
        exporter: &[&str],
    ) -> Result<Rotel, String> {
        let pid_dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let mut cmd = Command::new(agent);
        cmd.args(["start", "--otlp-http-endpoint"])
            .arg(format!("127.0.0.1:{http_port}"))
            .arg("--otlp-grpc-endpoint")
            .arg(format!("127.0.0.1:{grpc_port}"))
            .args(exporter)
            .args(["--debug-log", "traces", "--debug-log", "metrics"])
            .args(["--debug-log-verbosity", "detailed"])
            .arg("--pid-file")
            .arg(pid_dir.path().join("rotel.pid"))
            .arg("--log-file")
            .arg(pid_dir.path().join("rotel.log"))
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // The collector must not see our own OTEL/ROTEL settings.
        for (k, _) in std::env::vars() {
            if k.starts_with("ROTEL_") || k.starts_with("OTEL_") {
                cmd.env_remove(k);
            }
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", agent.display()))?;
        let output = Arc::new(Mutex::new(String::new()));
        let mut readers = Vec::new();
        let out: Box<dyn Read + Send> = Box::new(child.stdout.take().expect("piped stdout"));
        let err: Box<dyn Read + Send> = Box::new(child.stderr.take().expect("piped stderr"));
        for mut stream in [out, err] {
            let output = output.clone();
            readers.push(std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                // Bytes of a UTF-8 character that a read split, kept for the next read.
                let mut pending = Vec::new();
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    pending.extend_from_slice(&buf[..n]);
                    let complete = match std::str::from_utf8(&pending) {
                        Ok(_) => pending.len(),
                        Err(e) if e.error_len().is_none() => e.valid_up_to(),
                        Err(_) => pending.len(),
                    };
                    let text = strip_ansi(&String::from_utf8_lossy(&pending[..complete]));
                    output.lock().unwrap().push_str(&text);
                    pending.drain(..complete);
                }
            }));
        }
        let mut rotel = Rotel {
            child,
            http_port,
            grpc_port,
            output,
            readers,
        };
        // Keep the temp dir (pid and log files) for the life of the process.
        std::mem::forget(pid_dir);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = rotel.child.try_wait() {
                return Err(format!(
                    "rotel exited with {status}; output:\n{}",
                    rotel.output()
                ));
            }
            if listening(http_port) && listening(grpc_port) {
                return Ok(rotel);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "rotel did not listen within 20 s; output:\n{}",
                    rotel.output()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `http://127.0.0.1:{http_port}`: the base endpoint for OTLP/HTTP.
    pub fn http_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// `http://127.0.0.1:{grpc_port}`: the endpoint for OTLP/gRPC.
    pub fn grpc_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.grpc_port)
    }

    /// Everything rotel printed so far, colour codes removed.
    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Wait (at most `timeout`) until `ready` holds for the output; panic with the
    /// output if it never does.
    pub fn wait_for(&self, timeout: Duration, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let out = self.output();
            if ready(&out) {
                // Let a batch that is being printed finish.
                std::thread::sleep(Duration::from_millis(200));
                return self.output();
            }
            if Instant::now() > deadline {
                panic!("rotel did not show {what} within {timeout:?}; its output:\n{out}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Rotel {
    /// Stop rotel as an operator would (SIGTERM, so that it finishes what it has
    /// received), wait for it (at most 10 s, then kill it), and return all it printed.
    pub fn stop(mut self) -> String {
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: signals our own child process, which has not been waited for yet.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        self.output()
    }
}

impl Drop for Rotel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
    }
}

/// Whether rotel can be used: installs it if needed. False only when it cannot be
/// installed and `LLM_TELEMETRY_SKIP_ROTEL=1` is set; otherwise that panics.
pub fn installed() -> bool {
    agent_path().is_some()
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn listening(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The `target/` directory of this workspace (these helpers serve the root package's
/// tests and, through `#[path]`, the cli package's).
fn target_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workspace = manifest
        .ancestors()
        .find(|d| d.join("Cargo.lock").is_file())
        .unwrap_or(manifest);
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| {
            if p.is_absolute() {
                p
            } else {
                workspace.join(p)
            }
        })
        .unwrap_or_else(|| workspace.join("target"))
}

/// The `rotel-agent` binary inside a venv, if it is there.
fn find_agent(venv: &Path) -> Option<PathBuf> {
    let lib = venv.join("lib");
    for entry in std::fs::read_dir(lib).ok()?.flatten() {
        let candidate = entry
            .path()
            .join("site-packages")
            .join("rotel")
            .join("rotel-agent");
        if candidate.is_file() {
            return Some(candidate);
        }
    }
    None
}

/// Install rotel once per process (and once per checkout: the venv is reused).
fn agent_path() -> Option<PathBuf> {
    static AGENT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let result = AGENT.get_or_init(install);
    match result {
        Ok(p) => Some(p.clone()),
        Err(e) => {
            if std::env::var(SKIP_VAR).is_ok_and(|v| v == "1") {
                eprintln!("SKIPPED: rotel is not available ({e}) and {SKIP_VAR}=1 is set");
                None
            } else {
                panic!(
                    "rotel (the OpenTelemetry collector these tests export to) could not be installed: \
                     {e}\nInstall it with `python3 -m venv target/rotel-venv && \
                     target/rotel-venv/bin/pip install rotel=={ROTEL_VERSION}` (as .ci/run does), \
                     or set {SKIP_VAR}=1 to skip these tests"
                )
            }
        }
    }
}

fn install() -> Result<PathBuf, String> {
    let venv = target_dir().join("rotel-venv");
    if let Some(agent) = find_agent(&venv) {
        return Ok(agent);
    }
    // Install into a fresh directory and rename it into place, so test binaries
    // running at the same time never see a half-made venv.
    let staging = target_dir().join(format!("rotel-venv.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(target_dir()).map_err(|e| e.to_string())?;
    run(Command::new("python3").args(["-m", "venv"]).arg(&staging))?;
    let pip = staging.join("bin").join("pip");
    run(Command::new(&pip).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        &format!("rotel=={ROTEL_VERSION}"),
    ]))?;
    if find_agent(&staging).is_none() {
        let _ = std::fs::remove_dir_all(&staging);
        return Err("pip installed rotel but no rotel-agent binary is in the package".into());
    }
    if std::fs::rename(&staging, &venv).is_err() {
        // Another process got there first: use its venv.
        let _ = std::fs::remove_dir_all(&staging);
    }
    find_agent(&venv).ok_or_else(|| format!("no rotel-agent under {}", venv.display()))
}

/// One span as rotel's debug exporter printed it.
#[derive(Clone, Debug, Default)]
pub struct OtlpSpan {
    pub resource: Vec<(String, String)>,
    pub scope: String,
    pub trace_id: String,
    /// Empty for a root span.
    pub parent_id: String,
    pub span_id: String,
    pub name: String,
    pub kind: String,
    pub status_code: String,
    pub status_message: String,
    /// Values as printed: `Str(chat)`, `Int(10)`, `Double(0.5)`, `Bool(true)`.
    pub attributes: Vec<(String, String)>,
    pub events: Vec<OtlpEvent>,
}

/// One span event.
#[derive(Clone, Debug, Default)]
pub struct OtlpEvent {
    pub name: String,
    pub attributes: Vec<(String, String)>,
}

/// One metric data point (of a sum or a histogram), with its metric's descriptor.
#[derive(Clone, Debug, Default)]
pub struct OtlpPoint {
    pub resource: Vec<(String, String)>,
    pub metric: String,
    pub unit: String,
    pub data_type: String,
    pub monotonic: String,
    pub temporality: String,
    pub attributes: Vec<(String, String)>,
    /// Sums and gauges.
    pub value: Option<f64>,
    /// Histograms.
    pub count: Option<u64>,
    pub sum: Option<f64>,
    pub bounds: Vec<f64>,
    pub bucket_counts: Vec<u64>,
}

fn find<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// `Str(x)` → `x`, `Int(3)` → `3`: the value inside the type tag.
pub fn untag(v: &str) -> &str {
    match (v.find('('), v.ends_with(')')) {
        (Some(i), true) => &v[i + 1..v.len() - 1],
        _ => v,
    }
}

impl OtlpSpan {
    /// An attribute as printed (`Str(chat)`).
    pub fn attr(&self, key: &str) -> Option<&str> {
        find(&self.attributes, key)
    }
    /// A resource attribute's value, untagged.
    pub fn resource_attr(&self, key: &str) -> Option<&str> {
        find(&self.resource, key).map(untag)
    }
}

impl OtlpEvent {
    pub fn attr(&self, key: &str) -> Option<&str> {
        find(&self.attributes, key)
    }
}

impl OtlpPoint {
    pub fn attr(&self, key: &str) -> Option<&str> {
        find(&self.attributes, key).map(untag)
    }
    pub fn resource_attr(&self, key: &str) -> Option<&str> {
        find(&self.resource, key).map(untag)
    }
}

fn arrow(line: &str) -> Option<(String, String)> {
    let rest = line.trim_start().strip_prefix("-> ")?;
    let (k, v) = rest.split_once(": ")?;
    Some((k.trim().to_owned(), v.trim().to_owned()))
}

fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let rest = line.trim_start().strip_prefix(name)?;
    let rest = rest.trim_start().strip_prefix(':')?;
    Some(rest.trim())
}

#[derive(PartialEq)]
enum Mode {
    None,
    Resource,
    SpanAttrs,
    Events,
    PointAttrs,
    Descriptor,
}

/// Every span in rotel's output, in the order printed.
pub fn parse_spans(output: &str) -> Vec<OtlpSpan> {
    let mut spans: Vec<OtlpSpan> = Vec::new();
    let mut resource = Vec::new();
    let mut scope = String::new();
    let mut mode = Mode::None;
    let mut in_spans = false;
    for line in output.lines() {
        let t = line.trim();
        if t.starts_with("ResourceSpans #") {
            in_spans = true;
            resource = Vec::new();
            mode = Mode::None;
            continue;
        }
        if t.starts_with("ResourceMetrics #") || t.starts_with("ResourceLogs #") {
            in_spans = false;
            continue;
        }
        if !in_spans {
            continue;
        }
        if t == "Resource attributes:" {
            mode = Mode::Resource;
        } else if let Some(s) = t.strip_prefix("InstrumentationScope ") {
            scope = s.to_owned();
            mode = Mode::None;
        } else if t.starts_with("ScopeSpans") {
            mode = Mode::None;
        } else if t.starts_with("Span #") {
            spans.push(OtlpSpan {
                resource: resource.clone(),
                scope: scope.clone(),
                ..OtlpSpan::default()
            });
            mode = Mode::None;
        } else if t == "Attributes:" {
            mode = Mode::SpanAttrs;
        } else if t == "Events:" || t == "Links:" {
            mode = if t == "Events:" {
                Mode::Events
            } else {
                Mode::None
            };
        } else if t.starts_with("SpanEvent #") {
            if let Some(s) = spans.last_mut() {
                s.events.push(OtlpEvent::default());
            }
            mode = Mode::Events;
        } else if let Some(span) = spans.last_mut().filter(|_| mode != Mode::Resource) {
            let indent = line.len() - line.trim_start().len();
            if mode == Mode::Events {
                if let (Some(ev), Some((k, v))) = (span.events.last_mut(), arrow(line)) {
                    if indent >= 10 {
                        ev.attributes.push((k, v));
                    } else if k == "Name" {
                        ev.name = v;
                    }
                }
            } else if mode == Mode::SpanAttrs && t.starts_with("-> ") {
                if let Some(kv) = arrow(line) {
                    span.attributes.push(kv);
                }
            } else if let Some(v) = field(line, "Trace ID") {
                span.trace_id = v.to_owned();
            } else if let Some(v) = field(line, "Parent ID") {
                span.parent_id = v.to_owned();
            } else if let Some(v) = field(line, "ID") {
                span.span_id = v.to_owned();
            } else if let Some(v) = field(line, "Name") {
                span.name = v.to_owned();
            } else if let Some(v) = field(line, "Kind") {
                span.kind = v.to_owned();
            } else if let Some(v) = field(line, "Status code") {
                span.status_code = v.to_owned();
            } else if let Some(v) = field(line, "Status message") {
                span.status_message = v.to_owned();
            }
        } else if mode == Mode::Resource {
            if let Some(kv) = arrow(line) {
                resource.push(kv);
            }
        }
    }
    spans
}

/// Every metric data point in rotel's output, in the order printed (cumulative
/// exports repeat: the last point of a series is its latest value).
pub fn parse_metrics(output: &str) -> Vec<OtlpPoint> {
    let mut points: Vec<OtlpPoint> = Vec::new();
    let mut resource = Vec::new();
    let mut descriptor = OtlpPoint::default();
    let mut mode = Mode::None;
    let mut in_metrics = false;
    for line in output.lines() {
        let t = line.trim();
        if t.starts_with("ResourceMetrics #") {
            in_metrics = true;
            resource = Vec::new();
            mode = Mode::None;
            continue;
        }
        if t.starts_with("ResourceSpans #") || t.starts_with("ResourceLogs #") {
            in_metrics = false;
            continue;
        }
        if !in_metrics {
            continue;
        }
        if t == "Resource attributes:" {
            mode = Mode::Resource;
        } else if t.starts_with("ScopeMetrics") || t.starts_with("InstrumentationScope") {
            mode = Mode::None;
        } else if t.starts_with("Metric #") {
            descriptor = OtlpPoint {
                resource: resource.clone(),
                ..OtlpPoint::default()
            };
            mode = Mode::None;
        } else if t == "Descriptor:" {
            mode = Mode::Descriptor;
        } else if t.starts_with("NumberDataPoints #") || t.starts_with("HistogramDataPoints #") {
            points.push(descriptor.clone());
            mode = Mode::None;
        } else if t == "Data point attributes:" {
            mode = Mode::PointAttrs;
        } else if mode == Mode::Resource {
            if let Some(kv) = arrow(line) {
                resource.push(kv);
            }
        } else if mode == Mode::Descriptor && t.starts_with("-> ") {
            if let Some((k, v)) = arrow(line) {
                match k.as_str() {
                    "Name" => descriptor.metric = v,
                    "Unit" => descriptor.unit = v,
                    "DataType" => descriptor.data_type = v,
                    "IsMonotonic" => descriptor.monotonic = v,
                    "AggregationTemporality" => descriptor.temporality = v,
                    _ => {}
                }
            }
        } else if let Some(p) = points.last_mut() {
            if mode == Mode::PointAttrs && t.starts_with("-> ") {
                if let Some(kv) = arrow(line) {
                    p.attributes.push(kv);
                }
                continue;
            }
            mode = Mode::None;
            if let Some(v) = field(line, "Value") {
                p.value = v.parse().ok();
            } else if let Some(v) = field(line, "Count") {
                p.count = v.parse().ok();
            } else if let Some(v) = field(line, "Sum") {
                p.sum = v.parse().ok();
            } else if let Some(rest) = t.strip_prefix("ExplicitBounds #") {
                if let Some((_, v)) = rest.split_once(": ") {
                    p.bounds.extend(v.trim().parse::<f64>().ok());
                }
            } else if let Some(rest) = t.strip_prefix("Buckets #") {
                if let Some((_, v)) = rest.split_once("Count: ") {
                    p.bucket_counts.extend(v.trim().parse::<u64>().ok());
                }
            }
        }
    }
    points
}

/// The latest point of every series (metric name + attributes).
pub fn latest_points(output: &str) -> Vec<OtlpPoint> {
    let mut latest: Vec<OtlpPoint> = Vec::new();
    for p in parse_metrics(output) {
        let mut key = p.attributes.clone();
        key.sort();
        match latest.iter_mut().find(|q| {
            let mut k = q.attributes.clone();
            k.sort();
            q.metric == p.metric && k == key
        }) {
            Some(q) => *q = p,
            None => latest.push(p),
        }
    }
    latest
}
