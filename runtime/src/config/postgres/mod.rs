//! The `postgres` sink's settings: `TELEMETRY_POSTGRES_URL` (a `postgres://` URL or a libpq
//! `key=value` string), `TELEMETRY_POSTGRES_RETENTION`, and the libpq `PG*` variables that
//! fill in what the URL leaves out ([`PgEnv`]), and (feature `postgres`) `connect`, which
//! turns them into a connection for the sink's writer and the store's readers alike, and
//! `prune_sql`, the retention's statements both run. Every
//! message shows the URL through [`mask_password`].

#[cfg(feature = "postgres")]
pub(crate) mod connect;
#[cfg(feature = "postgres")]
pub(crate) mod prune_sql;

/// The libpq environment variables the `postgres` sink honours for what
/// `TELEMETRY_POSTGRES_URL` does not say: `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`,
/// `PGDATABASE`, `PGSSLMODE`, `PGSSLROOTCERT`, `PGAPPNAME`, `PGCONNECT_TIMEOUT`.
///
/// ```
/// use llm_telemetry::PgEnv;
///
/// let env = PgEnv::from_lookup(|k| (k == "PGPORT").then(|| "6543".to_owned()));
/// assert_eq!(env.port.as_deref(), Some("6543"));
/// assert_eq!(env.host, None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PgEnv {
    /// `PGHOST`: host names, or a directory of a Unix socket (comma-separated).
    pub host: Option<String>,
    /// `PGPORT`.
    pub port: Option<String>,
    /// `PGUSER`.
    pub user: Option<String>,
    /// `PGPASSWORD`.
    pub password: Option<String>,
    /// `PGDATABASE`.
    pub dbname: Option<String>,
    /// `PGSSLMODE`.
    pub sslmode: Option<String>,
    /// `PGSSLROOTCERT`: a PEM file of the certificate authorities to trust.
    pub sslrootcert: Option<String>,
    /// `PGAPPNAME`.
    pub application_name: Option<String>,
    /// `PGCONNECT_TIMEOUT`, in seconds.
    pub connect_timeout: Option<String>,
    /// The operating system user, libpq's default user name (`USER`).
    pub os_user: Option<String>,
}

impl PgEnv {
    /// Read the variables from `lookup` (empty values count as unset).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> PgEnv {
        let get = |k: &str| lookup(k).filter(|v| !v.is_empty());
        PgEnv {
            host: get("PGHOST"),
            port: get("PGPORT"),
            user: get("PGUSER"),
            password: get("PGPASSWORD"),
            dbname: get("PGDATABASE"),
            sslmode: get("PGSSLMODE"),
            sslrootcert: get("PGSSLROOTCERT"),
            application_name: get("PGAPPNAME"),
            connect_timeout: get("PGCONNECT_TIMEOUT"),
            os_user: get("USER").or_else(|| get("LOGNAME")),
        }
    }

    /// Read the variables from the process environment.
    pub fn from_env() -> PgEnv {
        PgEnv::from_lookup(|k| std::env::var(k).ok())
    }
}

/// `value` (a `postgres://` URL or a libpq `key=value` string) with its password replaced by
/// `****`, for messages: `postgres://app:s3cret@db/t` is shown as `postgres://app:****@db/t`,
/// `host=db password='a b'` as `host=db password=****`.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) fn mask_password(value: &str) -> String {
    let trimmed = value.trim_start();
    if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
        let scheme_end = value.find("://").map_or(0, |i| i + 3);
        let (head, rest) = value.split_at(scheme_end);
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        let authority = match authority.rfind('@') {
            Some(at) => {
                let userinfo = &authority[..at];
                match userinfo.find(':') {
                    Some(colon) => format!("{}:****{}", &userinfo[..colon], &authority[at..]),
                    None => authority.to_owned(),
                }
            }
            None => authority.to_owned(),
        };
        let tail = match tail.split_once('?') {
            Some((path, query)) => {
                let query: Vec<String> = query
                    .split('&')
                    .map(|kv| match kv.split_once('=') {
                        Some((k, _)) if k == "password" => format!("{k}=****"),
                        _ => kv.to_owned(),
                    })
                    .collect();
                format!("{path}?{}", query.join("&"))
            }
            None => tail.to_owned(),
        };
        return format!("{head}{authority}{tail}");
    }
    // key=value pairs: a value may be 'quoted' with \' and \\ escapes.
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = find_key(rest, "password") {
        out.push_str(&rest[..at]);
        let after_key = &rest[at + "password".len()..];
        let spaces = after_key.len() - after_key.trim_start().len();
        let after = &after_key[spaces..];
        let Some(after_eq) = after.strip_prefix('=') else {
            out.push_str(&rest[at..at + "password".len()]);
            rest = after_key;
            continue;
        };
        let v = after_eq.trim_start();
        let end = if let Some(quoted) = v.strip_prefix('\'') {
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        chars.next();
                    }
                    '\'' => {
                        end = i + 1;
                        break;
                    }
                    _ => {}
                }
            }
            1 + end
        } else {
            v.find(char::is_whitespace).unwrap_or(v.len())
        };
        out.push_str("password=****");
        rest = &v[end..];
    }
    out.push_str(rest);
    out
}

// Where `key` starts as a whole word in `s`.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
fn find_key(s: &str, key: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = s[from..].find(key).map(|i| i + from) {
        let before_ok = i == 0 || s[..i].ends_with(char::is_whitespace);
        let after = s[i + key.len()..].trim_start();
        if before_ok && after.starts_with('=') {
            return Some(i);
        }
        from = i + key.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::mask_password;

    #[test]
    fn passwords_are_masked_in_urls_and_key_value_strings() {
        assert_eq!(
            mask_password("postgres://app:s3cret@db:5432/t"),
            "postgres://app:****@db:5432/t"
        );
        assert_eq!(mask_password("postgres://app@db/t"), "postgres://app@db/t");
        assert_eq!(
            mask_password("host=db password='a b\\' c' user=app"),
            "host=db password=**** user=app"
        );
        assert_eq!(
            mask_password("host=db password = x user=app"),
            "host=db password=**** user=app"
        );
        assert_eq!(
            mask_password("postgresql://db/t?password=x&sslmode=require"),
            "postgresql://db/t?password=****&sslmode=require"
        );
        assert_eq!(mask_password("user=mypassword"), "user=mypassword");
    }
}
