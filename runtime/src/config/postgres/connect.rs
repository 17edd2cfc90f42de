//! From `TELEMETRY_POSTGRES_URL` (the `postgres` sink) or `--db postgres://...` (the store's
//! readers) to a connection: the driver's own parser reads the URL or
//! `key=value` string, the libpq `PG*` variables fill in what it leaves out (libpq's rule:
//! the string wins), and `sslmode` is handled here because the driver knows only
//! `disable|prefer|require`: `verify-ca` and `verify-full` verify the server's certificate
//! against `sslrootcert` (else the system's roots) through rustls with aws-lc-rs; `prefer`
//! and `require` encrypt without verifying, as libpq does.

use std::sync::Arc;
use std::time::Duration;

use postgres::config::{Config, Host, SslMode};
use postgres::{Client, NoTls};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::PgEnv;

/// How long a connection attempt may take when neither the URL nor `PGCONNECT_TIMEOUT`
/// says.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// libpq's `sslmode`, all of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TlsMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl TlsMode {
    fn parse(v: &str) -> Result<TlsMode, String> {
        Ok(match v {
            "disable" => TlsMode::Disable,
            // libpq's `allow` tries without TLS first; TLS when offered is as good.
            "allow" | "prefer" => TlsMode::Prefer,
            "require" => TlsMode::Require,
            "verify-ca" => TlsMode::VerifyCa,
            "verify-full" => TlsMode::VerifyFull,
            other => {
                return Err(format!(
                    "sslmode `{other}` is not one of disable, allow, prefer, require, \
                     verify-ca, verify-full"
                ))
            }
        })
    }
}

/// A parsed, ready-to-use connection target.
pub(crate) struct Target {
    config: Config,
    tls: Option<MakeRustlsConnect>,
}

impl Target {
    /// Parse `url` and fill in from `env`. The error is the reason alone (the caller names
    /// the variable and the masked value).
    pub(crate) fn parse(url: &str, env: &PgEnv) -> Result<Target, String> {
        let (rest, sslmode, sslrootcert) = take_tls_options(url);
        let mut config: Config = rest
            .parse()
            .map_err(|e: postgres::Error| format!("not a PostgreSQL connection string: {e}"))?;
        if config.get_hosts().is_empty() {
            let hosts = env.host.as_deref().unwrap_or("localhost");
            for host in hosts.split(',').map(str::trim).filter(|h| !h.is_empty()) {
                if host.starts_with('/') {
                    config.host_path(host);
                } else {
                    config.host(host);
                }
            }
        }
        if config.get_ports().is_empty() {
            if let Some(port) = &env.port {
                for p in port.split(',').map(str::trim) {
                    let p: u16 = p
                        .parse()
                        .map_err(|_| format!("PGPORT={port:?} is not a port number"))?;
                    config.port(p);
                }
            }
        }
        if config.get_user().is_none() {
            match env.user.as_ref().or(env.os_user.as_ref()) {
                Some(user) => config.user(user),
                None => return Err("no user name: set it in the URL or PGUSER".into()),
            };
        }
        if config.get_password().is_none() {
            if let Some(password) = &env.password {
                config.password(password);
            }
        }
        if config.get_dbname().is_none() {
            if let Some(db) = &env.dbname {
                config.dbname(db);
            }
        }
        if config.get_application_name().is_none() {
            config.application_name(env.application_name.as_deref().unwrap_or("llm-telemetry"));
        }
        if config.get_connect_timeout().is_none() {
            let timeout = match &env.connect_timeout {
                Some(s) => s
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|s| *s > 0)
                    .map(Duration::from_secs)
                    .ok_or_else(|| format!("PGCONNECT_TIMEOUT={s:?} is not a number of seconds"))?,
                None => DEFAULT_CONNECT_TIMEOUT,
            };
            config.connect_timeout(timeout);
        }
        // A dead peer is noticed within a minute rather than the system's two hours.
        config.keepalives_idle(Duration::from_secs(30));
        config.tcp_user_timeout(Duration::from_secs(60));
        let mode = match sslmode.or_else(|| env.sslmode.clone()) {
            Some(m) => TlsMode::parse(&m)?,
            None => TlsMode::Prefer,
        };
        let root = sslrootcert.or_else(|| env.sslrootcert.clone());
        let tls = match mode {
            TlsMode::Disable => {
                config.ssl_mode(SslMode::Disable);
                None
            }
            TlsMode::Prefer => {
                config.ssl_mode(SslMode::Prefer);
                Some(tls_config(mode, root.as_deref())?)
            }
            TlsMode::Require | TlsMode::VerifyCa | TlsMode::VerifyFull => {
                config.ssl_mode(SslMode::Require);
                Some(tls_config(mode, root.as_deref())?)
            }
        };
        Ok(Target { config, tls })
    }

    /// Open a connection (blocking up to the connect timeout).
    pub(crate) fn connect(&self) -> Result<Client, postgres::Error> {
        match &self.tls {
            Some(tls) => self.config.connect(tls.clone()),
            None => self.config.connect(NoTls),
        }
    }

    /// The first host, for messages.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn host(&self) -> String {
        match self.config.get_hosts().first() {
            Some(Host::Tcp(h)) => h.clone(),
            Some(Host::Unix(p)) => p.display().to_string(),
            None => String::new(),
        }
    }
}

/// Parse `url` (filled in from `env`) and connect once: the target, to reconnect with, and
/// the connection. The error is one line, the reason alone (the caller names the variable
/// or the option, and shows the URL through [`mask_password`](super::mask_password)).
pub(crate) fn connect(url: &str, env: &PgEnv) -> Result<(Target, Client), String> {
    let target = Target::parse(url, env)?;
    let client = target.connect().map_err(|e| describe(&e))?;
    Ok((target, client))
}

/// Run `f` on a thread of its own and wait for it. The synchronous driver blocks on a
/// runtime of its own, which panics on a thread that drives a tokio runtime (an
/// application's `#[tokio::main]` calling `init()`, an async handler); a thread of its own
/// never does.
pub(crate) fn on_own_thread<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(f)
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// One line about a driver error: the server's message (with its SQLSTATE) or the
/// connection's failure.
pub(crate) fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({}: {})", db.message(), db.severity(), db.code().code()),
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                let line = s.to_string();
                if !text.contains(&line) {
                    text = format!("{text}: {line}");
                }
                source = s.source();
            }
            text
        }
    }
}

/// Remove `sslmode` and `sslrootcert` from a URL's query or a `key=value` string: the
/// driver rejects `verify-*` and does not know `sslrootcert`.
fn take_tls_options(url: &str) -> (String, Option<String>, Option<String>) {
    let (mut mode, mut root) = (None, None);
    let mut take = |k: &str, v: &str| match k {
        "sslmode" => {
            mode = Some(v.to_owned());
            true
        }
        "sslrootcert" => {
            root = Some(v.to_owned());
            true
        }
        _ => false,
    };
    let trimmed = url.trim();
    let rest = if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
        match trimmed.split_once('?') {
            Some((base, query)) => {
                let kept: Vec<&str> = query
                    .split('&')
                    .filter(|kv| match kv.split_once('=') {
                        Some((k, v)) => !take(k, v),
                        None => true,
                    })
                    .collect();
                if kept.is_empty() {
                    base.to_owned()
                } else {
                    format!("{base}?{}", kept.join("&"))
                }
            }
            None => trimmed.to_owned(),
        }
    } else {
        trimmed
            .split_whitespace()
            .filter(|kv| match kv.split_once('=') {
                Some((k, v)) => !take(k, v.trim_matches('\'')),
                None => true,
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    (rest, mode, root)
}

/// The rustls client configuration of `mode`, on aws-lc-rs.
fn tls_config(mode: TlsMode, root: Option<&str>) -> Result<MakeRustlsConnect, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    let config = match mode {
        TlsMode::VerifyCa | TlsMode::VerifyFull => {
            let mut roots = rustls::RootCertStore::empty();
            match root {
                Some(path) => {
                    let pem = std::fs::read(path)
                        .map_err(|e| format!("cannot read sslrootcert {path}: {e}"))?;
                    let certs =
                        rustls_pki_certs(&pem).map_err(|e| format!("sslrootcert {path}: {e}"))?;
                    for cert in certs {
                        roots
                            .add(cert)
                            .map_err(|e| format!("sslrootcert {path}: {e}"))?;
                    }
                }
                None => {
                    for cert in rustls_native_certs::load_native_certs().certs {
                        let _ = roots.add(cert);
                    }
                }
            }
            if roots.is_empty() {
                return Err("no certificate authority to verify the server with: set \
                            sslrootcert or PGSSLROOTCERT"
                    .into());
            }
            let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots),
                provider.clone(),
            )
            .build()
            .map_err(|e| format!("TLS: {e}"))?;
            if mode == TlsMode::VerifyFull {
                builder.with_webpki_verifier(webpki).with_no_client_auth()
            } else {
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(ChainOnly { webpki }))
                    .with_no_client_auth()
            }
        }
        _ => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider)))
            .with_no_client_auth(),
    };
    Ok(MakeRustlsConnect::new(config))
}

fn rustls_pki_certs(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    use rustls::pki_types::pem::PemObject;
    CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not a PEM certificate file: {e}"))
}

/// `sslmode=prefer|require`: the connection is encrypted and the server's handshake
/// signature checked, but its certificate is not (libpq's meaning of these modes).
#[derive(Debug)]
struct EncryptOnly(Arc<CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `sslmode=verify-ca`: the certificate chain is verified, the host name is not.
#[derive(Debug)]
struct ChainOnly {
    webpki: Arc<rustls::client::WebPkiServerVerifier>,
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .webpki
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName))
            | Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> PgEnv {
        PgEnv::from_lookup(|k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn the_url_wins_and_pg_variables_fill_in_the_rest() {
        let e = env(&[
            ("PGHOST", "envhost"),
            ("PGPORT", "6000"),
            ("PGUSER", "envuser"),
            ("PGPASSWORD", "envpw"),
            ("PGDATABASE", "envdb"),
            ("PGSSLMODE", "disable"),
        ]);
        let t = Target::parse("postgres://app@db:5433/traces", &e).unwrap();
        assert_eq!(t.host(), "db");
        assert_eq!(t.config.get_ports(), &[5433]);
        assert_eq!(t.config.get_user(), Some("app"));
        assert_eq!(t.config.get_password(), Some(&b"envpw"[..]));
        assert_eq!(t.config.get_dbname(), Some("traces"));
        assert!(t.tls.is_none());
        let t = Target::parse("postgresql://", &e).unwrap();
        assert_eq!(t.host(), "envhost");
        assert_eq!(t.config.get_ports(), &[6000]);
        assert_eq!(t.config.get_user(), Some("envuser"));
        assert_eq!(t.config.get_dbname(), Some("envdb"));
        let t = Target::parse("host=/run/pg user=x", &e).unwrap();
        assert_eq!(t.host(), "/run/pg");
    }

    #[test]
    fn every_libpq_sslmode_is_accepted_and_others_are_named() {
        let e = env(&[("USER", "me")]);
        for mode in ["disable", "allow", "prefer", "require"] {
            let t = Target::parse(&format!("postgres://db/t?sslmode={mode}"), &e).unwrap();
            assert_eq!(t.tls.is_some(), mode != "disable", "{mode}");
        }
        let t = Target::parse("host=db sslmode=verify-full sslrootcert=/nonexistent", &e);
        assert!(t
            .err()
            .unwrap()
            .contains("cannot read sslrootcert /nonexistent"));
        let err = Target::parse("postgres://db/t?sslmode=bogus", &e)
            .err()
            .unwrap();
        assert!(err.contains("sslmode `bogus`"), "{err}");
        let err = Target::parse("postgres://db/t?frobnicate=1", &e)
            .err()
            .unwrap();
        assert!(err.contains("not a PostgreSQL connection string"), "{err}");
    }
}
