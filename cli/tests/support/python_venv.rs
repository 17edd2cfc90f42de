//! The real Python client for the tests: `llama-stack-client` 0.2.23 (the newest with
//! llama-stack's 0.2.x `/v1/telemetry` API; it needs Python >= 3.12), installed on first
//! use into a virtual environment at `<target>/llama-stack-venv`, with the 0.3.5 client
//! (the `/v1alpha/telemetry` one; same dependencies) beside it in `client-0.3.5/`, used by
//! putting that directory first on `PYTHONPATH`. `.ci/run` pre-installs the same layout.
//!
//! The install goes into a fresh directory that is renamed into place, so test binaries
//! running at the same time never see a half-made venv. If it cannot be installed the
//! tests that need it fail with a message saying so and how to install it, unless
//! `LLM_TELEMETRY_SKIP_PYTHON_CLIENT=1` is set, in which case [`venv`] returns `None` and
//! the test says on stderr that it skipped.
#![allow(dead_code)]

#[path = "../../../tests/support/run_command.rs"]
mod run_command;
use run_command::run;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The client whose `client.telemetry` has all eight 0.2.x methods.
pub const CLIENT_VERSION: &str = "0.2.23";
/// The newest client with `client.telemetry` (paths under `/v1alpha`, no `log_event`).
pub const ALPHA_CLIENT_VERSION: &str = "0.3.5";
/// Set to `1` to skip the tests that need the Python client where it cannot be installed.
pub const SKIP_VAR: &str = "LLM_TELEMETRY_SKIP_PYTHON_CLIENT";
/// The venv's directory name under the target directory.
pub const VENV_DIR: &str = "llama-stack-venv";

/// An installed venv.
#[derive(Clone, Debug)]
pub struct Venv {
    /// `<venv>/bin/python`: runs with llama-stack-client 0.2.23.
    pub python: PathBuf,
    /// Put first on `PYTHONPATH` to run with llama-stack-client 0.3.5 instead.
    pub alpha_path: PathBuf,
}

/// The venv, installed if needed (once per process). `None` only when it cannot be
/// installed and `LLM_TELEMETRY_SKIP_PYTHON_CLIENT=1` is set; otherwise that panics.
pub fn venv() -> Option<Venv> {
    static VENV: OnceLock<Result<Venv, String>> = OnceLock::new();
    match VENV.get_or_init(install) {
        Ok(v) => Some(v.clone()),
        Err(e) => {
            if std::env::var(SKIP_VAR).is_ok_and(|v| v == "1") {
                eprintln!(
                    "SKIPPED: llama-stack-client is not available ({e}) and {SKIP_VAR}=1 is set"
                );
                None
            } else {
                panic!(
                    "llama-stack-client {CLIENT_VERSION} (the real Python client these tests drive) \
                     could not be installed: {e}\n\
                     It needs Python >= 3.12 (pyenv's 3.13.* / 3.12.*, or python3.13 / python3.12 on \
                     PATH). Install it with `python3.12 -m venv target/{VENV_DIR} && \
                     target/{VENV_DIR}/bin/python -m pip install llama-stack-client=={CLIENT_VERSION} && \
                     target/{VENV_DIR}/bin/python -m pip install --no-deps --target \
                     target/{VENV_DIR}/client-{ALPHA_CLIENT_VERSION} \
                     llama-stack-client=={ALPHA_CLIENT_VERSION}` (as .ci/run does), or set {SKIP_VAR}=1 \
                     to skip these tests"
                )
            }
        }
    }
}

/// The workspace's target directory (`CARGO_TARGET_DIR`, else `<workspace>/target`).
pub fn target_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ is inside the workspace")
        .to_path_buf();
    match std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from) {
        Some(p) if p.is_absolute() => p,
        Some(p) => workspace.join(p),
        None => workspace.join("target"),
    }
}

/// Whether `venv` holds both clients.
fn complete(venv: &Path) -> Option<Venv> {
    let python = venv.join("bin").join("python");
    let alpha_path = venv.join(format!("client-{ALPHA_CLIENT_VERSION}"));
    let has_main = std::fs::read_dir(venv.join("lib"))
        .ok()?
        .flatten()
        .any(|e| {
            e.path()
                .join("site-packages")
                .join(format!("llama_stack_client-{CLIENT_VERSION}.dist-info"))
                .is_dir()
        });
    let has_alpha = alpha_path
        .join(format!(
            "llama_stack_client-{ALPHA_CLIENT_VERSION}.dist-info"
        ))
        .is_dir();
    (python.exists() && has_main && has_alpha).then_some(Venv { python, alpha_path })
}

fn install() -> Result<Venv, String> {
    let target = target_dir();
    let venv = target.join(VENV_DIR);
    if let Some(v) = complete(&venv) {
        return Ok(v);
    }
    let python = find_python()?;
    let staging = target.join(format!("{VENV_DIR}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&target)
        .map_err(|e| format!("cannot create {}: {e}", target.display()))?;
    let started = std::time::Instant::now();
    let result = (|| {
        run(Command::new(&python).args(["-m", "venv"]).arg(&staging))?;
        let staged_python = staging.join("bin").join("python");
        let pip = |args: &[&str]| {
            run(Command::new(&staged_python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                ])
                .args(args))
        };
        pip(&[&format!("llama-stack-client=={CLIENT_VERSION}")])?;
        let alpha = staging.join(format!("client-{ALPHA_CLIENT_VERSION}"));
        pip(&[
            "--no-deps",
            "--target",
            alpha.to_str().ok_or("the target directory is not UTF-8")?,
            &format!("llama-stack-client=={ALPHA_CLIENT_VERSION}"),
        ])?;
        complete(&staging)
            .map(|_| ())
            .ok_or_else(|| "pip finished but the venv lacks a client".to_string())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    if std::fs::rename(&staging, &venv).is_err() {
        // Another process got there first (or a broken venv is in the way).
        let _ = std::fs::remove_dir_all(&staging);
    }
    eprintln!(
        "installed llama-stack-client {CLIENT_VERSION} and {ALPHA_CLIENT_VERSION} into {} with {} in {:.1} s",
        venv.display(),
        python.display(),
        started.elapsed().as_secs_f64()
    );
    complete(&venv).ok_or_else(|| {
        format!(
            "{} exists but is incomplete; delete it to reinstall",
            venv.display()
        )
    })
}

/// A Python >= 3.12: pyenv's newest 3.13.* / 3.12.*, else `python3.13`, `python3.12` or
/// `python3` on PATH.
pub fn find_python() -> Result<PathBuf, String> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    let pyenv_root = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| {
            let out = Command::new("pyenv")
                .arg("root")
                .stderr(Stdio::null())
                .output()
                .ok()?;
            let root = String::from_utf8(out.stdout).ok()?;
            (out.status.success() && !root.trim().is_empty()).then(|| PathBuf::from(root.trim()))
        })
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".pyenv")));
    if let Some(root) = pyenv_root {
        let mut versions: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir(root.join("versions"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let parts: Vec<u32> = name
                    .split('.')
                    .map(|p| p.parse().ok())
                    .collect::<Option<_>>()?;
                (parts.len() >= 2 && parts[0] == 3 && parts[1] >= 12)
                    .then(|| (parts, e.path().join("bin").join("python3")))
            })
            .collect();
        versions.sort();
        candidates.extend(versions.into_iter().rev().map(|(_, p)| p));
    }
    candidates.extend(["python3.13", "python3.12", "python3"].map(PathBuf::from));
    let mut tried = Vec::new();
    for c in candidates {
        let ok = Command::new(&c)
            .args([
                "-c",
                "import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Ok(c);
        }
        tried.push(c.display().to_string());
    }
    Err(format!(
        "no Python >= 3.12 found (tried {}); llama-stack-client {CLIENT_VERSION} requires it",
        tried.join(", ")
    ))
}

/// The OpenTelemetry Python SDK the OTLP receiver's tests send with, and its OTLP/HTTP
/// and OTLP/gRPC exporters, all at this version.
pub const OTEL_SDK_VERSION: &str = "1.45.2";
/// Its venv's directory name under the target directory.
pub const OTEL_VENV_DIR: &str = "otel-sdk-venv";
/// The file in a venv made by [`install_packages`] that lists what it holds.
const REQUIREMENTS_FILE: &str = "llm-telemetry-requirements.txt";

/// The requirements of [`otel_sdk_python`].
pub fn otel_sdk_requirements() -> Vec<String> {
    [
        "opentelemetry-sdk",
        "opentelemetry-exporter-otlp-proto-http",
        "opentelemetry-exporter-otlp-proto-grpc",
    ]
    .map(|p| format!("{p}=={OTEL_SDK_VERSION}"))
    .to_vec()
}

/// `<target>/otel-sdk-venv/bin/python`, with the OpenTelemetry SDK installed on first
/// use (once per checkout; `.ci/run` pre-installs it). Panics, saying how to install it,
/// when it cannot be installed.
pub fn otel_sdk_python() -> PathBuf {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match PYTHON.get_or_init(|| install_packages(OTEL_VENV_DIR, &otel_sdk_requirements())) {
        Ok(p) => p.clone(),
        Err(e) => panic!(
            "the OpenTelemetry Python SDK {OTEL_SDK_VERSION} (the real sender these tests use) \
             could not be installed: {e}\nInstall it with `python3 -m venv target/{OTEL_VENV_DIR} && \
             target/{OTEL_VENV_DIR}/bin/python -m pip install {}` and write that list, one per \
             line, to target/{OTEL_VENV_DIR}/{REQUIREMENTS_FILE} (as .ci/run does)",
            otel_sdk_requirements().join(" ")
        ),
    }
}

/// A venv at `<target>/<dir>` holding `requirements` (pip specifiers): reused when its
/// requirements file lists exactly them, else made in a staging directory that is renamed
/// into place, as [`venv`] does. Returns its `bin/python`.
pub fn install_packages(dir: &str, requirements: &[String]) -> Result<PathBuf, String> {
    let target = target_dir();
    let venv = target.join(dir);
    let wanted = requirements.join("\n");
    let complete = |v: &Path| {
        let python = v.join("bin").join("python");
        let listed = std::fs::read_to_string(v.join(REQUIREMENTS_FILE)).unwrap_or_default();
        (python.exists() && listed.trim() == wanted).then_some(python)
    };
    if let Some(python) = complete(&venv) {
        return Ok(python);
    }
    let python = find_python()?;
    let staging = target.join(format!("{dir}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&target)
        .map_err(|e| format!("cannot create {}: {e}", target.display()))?;
    let started = std::time::Instant::now();
    let result = (|| {
        run(Command::new(&python).args(["-m", "venv"]).arg(&staging))?;
        run(Command::new(staging.join("bin").join("python"))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(requirements))?;
        std::fs::write(staging.join(REQUIREMENTS_FILE), &wanted)
            .map_err(|e| format!("cannot write the requirements file: {e}"))
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    if complete(&venv).is_none() {
        // An outdated or broken one (nothing uses it: it is not complete).
        let _ = std::fs::remove_dir_all(&venv);
    }
    if std::fs::rename(&staging, &venv).is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    eprintln!(
        "installed {} into {} with {} in {:.1} s",
        requirements.join(", "),
        venv.display(),
        python.display(),
        started.elapsed().as_secs_f64()
    );
    complete(&venv)
        .ok_or_else(|| format!("{} is incomplete; delete it to reinstall", venv.display()))
}
