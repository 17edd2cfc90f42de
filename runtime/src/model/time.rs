//! The store's timestamp text: SQLite's own UTC form `YYYY-MM-DD HH:MM:SS.ffffff`, so that
//! `datetime()` and `julianday()` comparisons on stored text are correct. One writer
//! ([`write_timestamp`], into a stack buffer) and one reader ([`parse_sqlite_timestamp`]).

use std::time::{Duration, SystemTime};

/// `t` as `YYYY-MM-DD HH:MM:SS.ffffff` (UTC) in a stack buffer, without allocating. Years
/// outside 0..=9999 are clamped to that range.
pub fn write_timestamp(t: SystemTime) -> [u8; 26] {
    let micros: i64 = match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_micros()).map_or(i64::MIN, |m| -m),
    };
    // 0000-01-01 and 9999-12-31 23:59:59.999999, in microseconds since the epoch.
    let micros = micros.clamp(-62_167_219_200_000_000, 253_402_300_799_999_999);
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let mut out = *b"0000-00-00 00:00:00.000000";
    let mut put = |at: usize, width: usize, mut v: i64| {
        for i in (at..at + width).rev() {
            out[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, y);
    put(5, 2, i64::from(m));
    put(8, 2, i64::from(d));
    put(11, 2, sod / 3600);
    put(14, 2, sod % 3600 / 60);
    put(17, 2, sod % 60);
    put(20, 6, frac);
    out
}

/// [`write_timestamp`] as a `String`.
pub fn sqlite_timestamp(t: SystemTime) -> String {
    let bytes = write_timestamp(t);
    // Only ASCII digits and separators were written.
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Parse the store's timestamp form, `YYYY-MM-DD HH:MM:SS.ffffff` (fraction optional, `T`
/// accepted).
pub fn parse_sqlite_timestamp(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    let (date, time) = s.split_once([' ', 'T'])?;
    let mut dp = date.splitn(3, '-');
    let y: i64 = dp.next()?.parse().ok()?;
    let m: u32 = dp.next()?.parse().ok()?;
    let d: u32 = dp.next()?.parse().ok()?;
    let time = time.trim_end_matches('Z');
    let (hms, frac) = match time.split_once('.') {
        Some((a, b)) => (a, b),
        None => (time, ""),
    };
    let mut tp = hms.splitn(3, ':');
    let hh: i64 = tp.next()?.parse().ok()?;
    let mm: i64 = tp.next()?.parse().ok()?;
    let ss: i64 = tp.next().unwrap_or("0").parse().ok()?;
    let mut micros: i64 = 0;
    if !frac.is_empty() {
        let digits: String = frac.chars().take(6).collect();
        micros = digits.parse::<i64>().ok()? * 10i64.pow(6 - digits.len() as u32);
    }
    let days = days_from_civil(y, m, d);
    let total = (days * 86_400 + hh * 3600 + mm * 60 + ss) * 1_000_000 + micros;
    let t = if total >= 0 {
        SystemTime::UNIX_EPOCH + Duration::from_micros(total as u64)
    } else {
        SystemTime::UNIX_EPOCH - Duration::from_micros(total.unsigned_abs())
    };
    Some(t)
}

// Howard Hinnant's civil-date algorithms: exact for the proleptic Gregorian calendar.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_timestamps_round_trip() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_micros(1_732_245_296_123_456);
        let s = sqlite_timestamp(t);
        assert_eq!(s, "2024-11-22 03:14:56.123456");
        assert_eq!(parse_sqlite_timestamp(&s), Some(t));
        assert_eq!(
            sqlite_timestamp(SystemTime::UNIX_EPOCH),
            "1970-01-01 00:00:00.000000"
        );
        assert_eq!(
            parse_sqlite_timestamp("2000-02-29 12:00:00"),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(951_825_600))
        );
    }

    /// The formatter this module replaced (`format!` over the same civil date), kept as
    /// the oracle of the stack writer.
    fn reference(t: SystemTime) -> String {
        let micros = match t.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(d) => d.as_micros() as i64,
            Err(e) => -(e.duration().as_micros() as i64),
        };
        let secs = micros.div_euclid(1_000_000);
        let frac = micros.rem_euclid(1_000_000);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
        format!(
            "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{frac:06}",
            sod / 3600,
            (sod % 3600) / 60,
            sod % 60
        )
    }

    #[test]
    fn timestamps_match_the_reference_formatter_and_parse_back() {
        let mut t = SystemTime::UNIX_EPOCH - Duration::from_secs(86_400 * 365 * 3 + 17);
        for step in [1u64, 999_999, 86_399_000_001, 7_777_777_777_777] {
            for _ in 0..200 {
                let ours = sqlite_timestamp(t);
                assert_eq!(ours, reference(t));
                assert_eq!(parse_sqlite_timestamp(&ours), Some(t));
                t += Duration::from_micros(step);
            }
        }
        let now = SystemTime::now();
        assert_eq!(sqlite_timestamp(now), reference(now));
    }
}
