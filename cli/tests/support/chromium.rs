//! Headless Chromium from Debian (`chromium`, `chromium-driver`) driven over WebDriver
//! (fantoccini): installed on first use with `apt-get` when missing and run as root (as
//! `.ci/run` does beforehand), `chromedriver` started on a free loopback port in a process
//! group of its own (so the browsers it starts go with it, see [`Browser`]'s `Drop`), one
//! Chromium with the issue's flags and a fresh profile under the target dir.
//! `LLM_TELEMETRY_SKIP_BROWSER=1` skips the browser tests where Chromium cannot be had.
#![allow(dead_code)]

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder};
use serde_json::{json, Value};

const DRIVER_START_TIMEOUT: Duration = Duration::from_secs(30);

/// The Chromium flags: headless, no sandbox (root in a container), no GPU, and nothing
/// that reaches the network on its own.
pub const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--window-size=1400,900",
];

/// Whether the browser tests are to be skipped (`LLM_TELEMETRY_SKIP_BROWSER=1`).
pub fn skipped() -> bool {
    std::env::var("LLM_TELEMETRY_SKIP_BROWSER").is_ok_and(|v| v == "1")
}

/// `chromium` and `chromedriver`, installed with apt-get if missing (as root).
pub fn binaries() -> Result<(PathBuf, PathBuf), String> {
    let find = || {
        let chromium = which("chromium")?;
        let driver = which("chromedriver")?;
        Some((chromium, driver))
    };
    if let Some(found) = find() {
        return Ok(found);
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !root {
        return Err(
            "chromium and chromedriver are not installed and this is not root: \
                    `apt-get install chromium chromium-driver` (or LLM_TELEMETRY_SKIP_BROWSER=1)"
                .into(),
        );
    }
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .status()
            .map_err(|e| format!("apt-get: {e}"))
    };
    let installed = apt(&["install", "-y", "-q", "chromium", "chromium-driver"])?;
    if !installed.success() {
        apt(&["update", "-q"])?;
        let again = apt(&["install", "-y", "-q", "chromium", "chromium-driver"])?;
        if !again.success() {
            return Err("apt-get install chromium chromium-driver failed".into());
        }
    }
    find().ok_or_else(|| "chromium-driver is installed but chromedriver is not on PATH".into())
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// One Chromium under one chromedriver; `Drop` ends the session's process group.
pub struct Browser {
    driver: Child,
    pub client: Client,
    pub profile: PathBuf,
}

impl Browser {
    /// Start chromedriver on a free loopback port and open a session with a fresh profile
    /// in `scratch`, with the browser's console log kept (`goog:loggingPrefs`).
    pub async fn start(scratch: &Path) -> Result<Browser, String> {
        let (chromium, driver_bin) = binaries()?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let log = std::fs::File::create(scratch.join("chromedriver.log"))
            .map_err(|e| format!("chromedriver log: {e}"))?;
        let mut driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", driver_bin.display()))?;
        let url = format!("http://127.0.0.1:{port}");
        let profile = scratch.join("chromium-profile");
        let _ = std::fs::remove_dir_all(&profile);
        std::fs::create_dir_all(&profile).map_err(|e| e.to_string())?;
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium, "args": args },
            "goog:loggingPrefs": { "browser": "ALL" },
        });
        let caps = match caps {
            Value::Object(map) => map,
            _ => unreachable!(),
        };
        let deadline = Instant::now() + DRIVER_START_TIMEOUT;
        let client = loop {
            let attempt =
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                    .capabilities(caps.clone())
                    .connect(&url)
                    .await;
            match attempt {
                Ok(client) => break client,
                Err(e) if Instant::now() > deadline => {
                    let _ = driver.kill();
                    let _ = driver.wait();
                    return Err(format!(
                        "no WebDriver session within {DRIVER_START_TIMEOUT:?}: {e}; chromedriver log:\n{}",
                        std::fs::read_to_string(scratch.join("chromedriver.log")).unwrap_or_default()
                    ));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        Ok(Browser {
            driver,
            client,
            profile,
        })
    }

    /// The browser's console entries since the last call, as `(level, message)`.
    pub async fn console(&self) -> Vec<(String, String)> {
        let logs = self
            .client
            .issue_cmd(BrowserLog)
            .await
            .unwrap_or(Value::Null);
        logs.as_array()
            .map(|entries| {
                entries
                    .iter()
                    .map(|e| {
                        (
                            e["level"].as_str().unwrap_or("").to_owned(),
                            e["message"].as_str().unwrap_or("").to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// End the session (the browser exits), then chromedriver.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // chromedriver and every browser process it started are in its process group.
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.driver.id())])
            .status();
        let _ = self.driver.wait();
    }
}

/// Chromium's `GET /session/{id}/se/log`-style command: the `browser` log.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!("session/{}/se/log", session_id.unwrap_or("")))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.into()))
    }
}
