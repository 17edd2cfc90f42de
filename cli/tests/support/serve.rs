//! A `llm-trace serve` started by a test: on a free loopback port, its ready line read and
//! checked, stopped by SIGTERM (and never left running, see [`Server`]); shared by the
//! serve tests.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

const READY_PREFIX: &str = "llm-trace serve: listening on http://";
const SERVER_START_TIMEOUT: Duration = Duration::from_secs(30);
const SERVER_STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// No telemetry, OpenTelemetry, token or client settings from the environment.
pub fn clean_env(cmd: &mut Command) {
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("TELEMETRY_")
            || k.starts_with("OTEL_")
            || k.starts_with("LLAMA_STACK_")
            || k == "LLM_TRACE_TOKEN"
            || k.starts_with("PYTHON")
        {
            cmd.env_remove(k);
        }
    }
}

/// `llm-trace serve --addr 127.0.0.1:0` under a tiny `sh` watchdog: the watchdog holds the
/// read end of a pipe whose write end only this process holds, and sends the server
/// SIGTERM when that pipe closes, either because [`Server::stop`] closed it or because this
/// process exited. So a server is never left running, even from a static fixture.
pub struct Server {
    watchdog: Mutex<Option<(Child, ChildStdin)>>,
    pub base_url: String,
    stderr_path: PathBuf,
    pub stdout: Mutex<mpsc::Receiver<String>>,
    /// `http://127.0.0.1:PORT` of the OTLP/HTTP receiver (on a free port unless the test
    /// gave its own OTLP flags; `None` with `--no-otlp`).
    pub otlp_http: Option<String>,
    /// `http://127.0.0.1:PORT` of the OTLP/gRPC receiver.
    pub otlp_grpc: Option<String>,
}

impl Server {
    pub fn start(db: &Path, extra: &[&str]) -> Server {
        // Beside the store file (a PostgreSQL store's: in the target's tmp dir).
        let beside = if llm_telemetry::store::is_postgres_url(db) {
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("postgres-store")
        } else {
            db.to_path_buf()
        };
        let stderr_path = beside.with_extension(format!("serve-{}.stderr", std::process::id()));
        let stderr_path = unique(stderr_path);
        let stderr = std::fs::File::create(&stderr_path).expect("server stderr file");
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(
                r#""$0" "$@" & pid=$!; cat >/dev/null; kill -TERM "$pid" 2>/dev/null; wait "$pid""#,
            )
            .arg(env!("CARGO_BIN_EXE_llm-trace"))
            .args(["serve", "--addr", "127.0.0.1:0", "--db"])
            .arg(db);
        let own_otlp = extra
            .iter()
            .any(|a| a.starts_with("--otlp-") || *a == "--no-otlp");
        if !own_otlp {
            cmd.args([
                "--otlp-http-addr",
                "127.0.0.1:0",
                "--otlp-grpc-addr",
                "127.0.0.1:0",
            ]);
        }
        cmd.args(extra);
        clean_env(&mut cmd);
        cmd.env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr);
        let mut child = cmd.spawn().expect("start llm-trace serve");
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + SERVER_START_TIMEOUT;
        let mut seen = Vec::new();
        let line = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left.max(Duration::from_millis(1))) {
                Ok(line) if line.starts_with(READY_PREFIX) => break line,
                Ok(line) => seen.push(line),
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "llm-trace serve printed no ready line within {SERVER_START_TIMEOUT:?}; \
                         stdout: {seen:?}; stderr:\n{}",
                        std::fs::read_to_string(&stderr_path).unwrap_or_default()
                    );
                }
            }
        };
        assert!(
            seen.is_empty(),
            "the ready line is the first line: {seen:?} then {line}"
        );
        // `llm-trace serve: listening on http://127.0.0.1:PORT (store: PATH)`
        let rest = &line[READY_PREFIX.len()..];
        let (addr, store) = rest
            .split_once(" (store: ")
            .unwrap_or_else(|| panic!("ready line not in the documented form: {line}"));
        assert_eq!(
            store,
            format!("{})", llm_telemetry::store::display_db(db)),
            "ready line names the store (a PostgreSQL URL's password masked): {line}"
        );
        let port: u16 = addr
            .strip_prefix("127.0.0.1:")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("ready line without 127.0.0.1:PORT: {line}"));
        assert_ne!(port, 0, "--addr 127.0.0.1:0 binds a real port: {line}");
        // `llm-trace serve: receiving OTLP on http://H:P (HTTP) and http://H:P (gRPC)`
        let (mut otlp_http, mut otlp_grpc) = (None, None);
        if !extra.contains(&"--no-otlp") {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx
                .recv_timeout(left.max(Duration::from_millis(1)))
                .unwrap_or_else(|_| panic!("no OTLP line after the ready line"));
            let rest = line
                .strip_prefix("llm-trace serve: receiving OTLP on ")
                .unwrap_or_else(|| panic!("the second line names the OTLP receiver: {line}"));
            let (http, grpc) = rest
                .strip_suffix(" (gRPC)")
                .and_then(|r| r.split_once(" (HTTP) and "))
                .unwrap_or_else(|| panic!("OTLP line not in the documented form: {line}"));
            otlp_http = Some(http.to_owned());
            otlp_grpc = Some(grpc.to_owned());
        }
        Server {
            watchdog: Mutex::new(Some((child, stdin))),
            base_url: format!("http://127.0.0.1:{port}"),
            stderr_path,
            stdout: Mutex::new(rx),
            otlp_http,
            otlp_grpc,
        }
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// SIGTERM (through the watchdog) and wait, bounded, for the exit status.
    pub fn stop(&self) -> ExitStatus {
        let (mut child, stdin) = self
            .watchdog
            .lock()
            .unwrap()
            .take()
            .expect("server already stopped");
        drop(stdin);
        let deadline = Instant::now() + SERVER_STOP_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait().expect("wait for the server") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "llm-trace serve did not exit within {SERVER_STOP_TIMEOUT:?} of SIGTERM; stderr:\n{}",
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn unique(path: PathBuf) -> PathBuf {
    let mut p = path.clone();
    let mut n = 0;
    while p.exists() {
        n += 1;
        p = path.with_extension(format!("{n}.stderr"));
    }
    p
}

impl Server {
    /// `base_url` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

impl Drop for Server {
    /// A server not [`stop`](Server::stop)ped is stopped the same way (without panicking).
    fn drop(&mut self) {
        let watchdog = self.watchdog.get_mut().ok().and_then(Option::take);
        if let Some((mut child, stdin)) = watchdog {
            drop(stdin);
            let deadline = Instant::now() + SERVER_STOP_TIMEOUT;
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One GenAI span in OTLP/JSON as `curl` would send it (hex ids, string int64s, enums as
/// numbers): trace `5b8efff798038103d269b633813fc60c`, span `eee19b7ec3c1b174`, service
/// `curl`, `chat gpt-4o` with 9 input tokens.
pub fn curl_otlp_span() -> serde_json::Value {
    serde_json::json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "curl"}}]},
        "scopeSpans": [{"scope": {"name": "by-hand"}, "spans": [{
            "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
            "name": "chat gpt-4o", "kind": 3,
            "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000000250000000",
            "attributes": [
                {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}},
                {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "9"}}
            ],
            "status": {"code": 1}
        }]}]
    }]})
}
