//! A real PostgreSQL server for the tests: `initdb` into a temporary directory under the
//! target dir and `pg_ctl start` on a free loopback port, stopped (and its directory
//! removed) when the test binary exits. The server binaries are `/usr/local/bin/initdb`
//! and `pg_ctl`, else Debian's `/usr/lib/postgresql/<version>/bin`; when neither is there
//! and we are root, `apt-get install -y postgresql` brings them (`.ci/run` does it first).
//!
//! PostgreSQL refuses to run as root: as root, the server runs as the `postgres` user
//! (Debian's package creates it), else as a system user `llmt-postgres` created here, via
//! `runuser`. Connections over TCP need the superuser's password (scram-sha-256), so a
//! wrong password is refused as on a real deployment; fsync is off (a test database).
#![allow(dead_code)]

#[path = "run_command.rs"]
mod run_command;
use run_command::run;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// The superuser's password of every test server.
pub const PASSWORD: &str = "llmt-test-secret";

/// A running server.
pub struct PgServer {
    pub port: u16,
    bin: PathBuf,
    dir: PathBuf,
    user: Option<String>,
}

/// Servers to stop at exit.
static RUNNING: Mutex<Vec<(PathBuf, PathBuf, Option<String>)>> = Mutex::new(Vec::new());

impl PgServer {
    /// The server shared by the tests of this binary (started on first use).
    pub fn shared() -> &'static PgServer {
        static SHARED: OnceLock<PgServer> = OnceLock::new();
        SHARED.get_or_init(PgServer::start)
    }

    /// A server of its own (for a test that stops and restarts it).
    pub fn start() -> PgServer {
        let bin = binaries().unwrap_or_else(|e| panic!("no PostgreSQL server binaries: {e}"));
        let user = server_user();
        let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        std::fs::create_dir_all(&base).expect("target tmp dir");
        let dir = tempfile::Builder::new()
            .prefix("postgres-")
            .tempdir_in(&base)
            .expect("temp dir")
            .keep();
        let data = dir.join("data");
        let pwfile = dir.join("pwfile");
        std::fs::write(&pwfile, PASSWORD).expect("pwfile");
        make_certificates(&dir);
        if let Some(user) = &user {
            // The server's user owns its directory and reaches it through the target dir.
            open_path_to(&dir);
            run(Command::new("chown").args(["-R", user]).arg(&dir)).expect("chown");
        }
        as_user(&user, bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
            ])
            .arg(format!("--pwfile={}", pwfile.display()))
            .args(["-E", "UTF8", "--locale=C", "--no-sync"])
            .output()
            .map_err(|e| e.to_string())
            .and_then(|out| {
                if out.status.success() {
                    Ok(())
                } else {
                    Err(format!(
                        "{}{}",
                        String::from_utf8_lossy(&out.stdout),
                        String::from_utf8_lossy(&out.stderr)
                    ))
                }
            })
            .unwrap_or_else(|e| panic!("initdb failed: {e}"));
        let server = PgServer {
            port: 0,
            bin,
            dir,
            user,
        };
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            match server.pg_ctl_start(port) {
                Ok(()) => {
                    RUNNING.lock().unwrap().push((
                        server.bin.clone(),
                        server.dir.clone(),
                        server.user.clone(),
                    ));
                    register_atexit();
                    return PgServer { port, ..server };
                }
                Err(e) => last = e,
            }
        }
        panic!("PostgreSQL did not start: {last}");
    }

    fn pg_ctl_start(&self, port: u16) -> Result<(), String> {
        let options = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -k {} -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off -c max_connections=50 \
             -c ssl=on -c ssl_cert_file={1}/server.crt -c ssl_key_file={1}/server.key",
            self.dir.display(),
            self.dir.display()
        );
        run(as_user(&self.user, self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.join("data"))
            .arg("-l")
            .arg(self.dir.join("server.log"))
            .args(["-w", "-t", "60", "-o", &options, "start"]))
    }

    /// Stop the server (fast shutdown: connections are closed).
    pub fn stop(&self) {
        run(as_user(&self.user, self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-w", "-t", "60", "-m", "fast", "stop"]))
        .expect("pg_ctl stop");
    }

    /// Start it again on its port.
    pub fn restart(&self) {
        self.pg_ctl_start(self.port).expect("pg_ctl start again");
    }

    /// The certificate authority that signed the server's certificate (for
    /// `localhost` and `127.0.0.1`), for `sslrootcert`.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }

    /// A URL of `db` on this server as the superuser.
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://postgres:{PASSWORD}@127.0.0.1:{}/{db}?sslmode=disable",
            self.port
        )
    }

    /// A new empty database; its URL.
    pub fn create_db(&self, name: &str) -> String {
        // One at a time: CREATE DATABASE copies template1, which must have no other user.
        static ONE: Mutex<()> = Mutex::new(());
        let _one = ONE.lock().unwrap_or_else(|e| e.into_inner());
        let mut c = self.client("postgres");
        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .expect("drop database");
        c.batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create database");
        self.url(name)
    }

    /// A client of `db`.
    pub fn client(&self, db: &str) -> postgres::Client {
        postgres::Client::connect(&self.url(db), postgres::NoTls)
            .unwrap_or_else(|e| panic!("connect to the test server: {e}"))
    }
}

/// A certificate authority and a server certificate it signed for `localhost` and
/// `127.0.0.1` (openssl), so that the server speaks TLS and `verify-full` can be tested.
fn make_certificates(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let ssl = |args: &[&str]| {
        run(Command::new("openssl").args(args).current_dir(dir))
            .unwrap_or_else(|e| panic!("making the test server's certificates: {e}"))
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    ssl(&[
        &["req", "-x509"][..],
        &ec,
        &[
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "3",
            "-subj",
            "/CN=llm-telemetry test CA",
        ],
    ]
    .concat());
    ssl(&[
        &["req"][..],
        &ec,
        &[
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    ]
    .concat());
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .expect("server.ext");
    ssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "3",
        "-extfile",
        "server.ext",
    ]);
    std::fs::set_permissions(
        dir.join("server.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .expect("server.key mode");
}

/// Make every directory above `dir` traversable by other users (the target dir may be
/// 0700 on some machines).
fn open_path_to(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for d in dir.ancestors().skip(1) {
        if let Ok(meta) = std::fs::metadata(d) {
            let mode = meta.permissions().mode();
            if mode & 0o001 == 0 {
                let _ = std::fs::set_permissions(d, std::fs::Permissions::from_mode(mode | 0o001));
            }
        }
    }
}

fn as_user(user: &Option<String>, program: PathBuf) -> Command {
    match user {
        Some(user) => {
            let mut c = Command::new("runuser");
            c.args(["-u", user, "--"]).arg(program);
            c
        }
        None => Command::new(program),
    }
}

/// The user to run the server as: none when we are not root.
fn server_user() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    for user in ["postgres", "llmt-postgres"] {
        if Command::new("id")
            .arg(user)
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return Some(user.to_owned());
        }
    }
    run(Command::new("useradd").args(["--system", "--no-create-home", "llmt-postgres"]))
        .expect("create a user to run PostgreSQL as");
    Some("llmt-postgres".to_owned())
}

/// The directory of `initdb` and `pg_ctl`.
fn binaries() -> Result<PathBuf, String> {
    fn find() -> Option<PathBuf> {
        let local = Path::new("/usr/local/bin");
        if local.join("initdb").exists() && local.join("pg_ctl").exists() {
            return Some(local.to_path_buf());
        }
        let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let v = e.file_name().to_str()?.parse().ok()?;
                let bin = e.path().join("bin");
                bin.join("initdb").exists().then_some((v, bin))
            })
            .collect();
        versions.sort();
        versions.pop().map(|(_, bin)| bin)
    }
    if let Some(bin) = find() {
        return Ok(bin);
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err("install Debian's `postgresql` package (initdb, pg_ctl)".into());
    }
    static INSTALL: Mutex<()> = Mutex::new(());
    let _one = INSTALL.lock().unwrap();
    if let Some(bin) = find() {
        return Ok(bin);
    }
    let _ = run(Command::new("apt-get").arg("update"));
    run(Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends", "postgresql"])
        .env("DEBIAN_FRONTEND", "noninteractive"))?;
    find().ok_or_else(|| "apt-get installed postgresql but no initdb was found".into())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn register_atexit() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        extern "C" fn stop_all() {
            let servers = std::mem::take(&mut *RUNNING.lock().unwrap_or_else(|e| e.into_inner()));
            for (bin, dir, user) in servers {
                let _ = as_user(&user, bin.join("pg_ctl"))
                    .arg("-D")
                    .arg(dir.join("data"))
                    .args(["-w", "-t", "30", "-m", "immediate", "stop"])
                    .output();
                let _ = std::fs::remove_dir_all(&dir);
            }
        }
        // SAFETY: registering a plain extern "C" function.
        unsafe { libc::atexit(stop_all) };
    });
}
