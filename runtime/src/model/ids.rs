//! W3C trace-context identifiers: 16-byte trace ids and 8-byte span ids, rendered
//! as lowercase hex. One span has one id in every sink.

use std::cell::Cell;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// A W3C trace id: 16 bytes, 32 lowercase hex characters, never all zero.
///
/// ```
/// use llm_telemetry::TraceId;
/// let id: TraceId = "4bf92f3577b34da6a3ce929d0e0e4736".parse().unwrap();
/// assert_eq!(id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TraceId(pub [u8; 16]);

/// A W3C span id: 8 bytes, 16 lowercase hex characters, never all zero.
///
/// ```
/// use llm_telemetry::SpanId;
/// let id: SpanId = "00f067aa0ba902b7".parse().unwrap();
/// assert_eq!(id.to_string(), "00f067aa0ba902b7");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpanId(pub [u8; 8]);

/// The id could not be parsed: wrong length, a non-hex character, or all zeros.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} `{value}`: expected {len} lowercase hex characters, not all zero")]
pub struct InvalidId {
    kind: &'static str,
    len: usize,
    value: String,
}

/// The hex digits of an id shown to a person: its last ones, which are random (an id's
/// first bytes are its start time, the same for every trace a process starts within a
/// second).
pub const SHORT_ID_DIGITS: usize = 11;

/// The part of a trace or span id shown to a person, the same everywhere (the console
/// sink, `llm-trace`): `…` and the id's last 11 hex digits.
/// `TraceStore::resolve_trace_id` and `llm-trace show` accept it back. An id too short to
/// cut is returned whole.
///
/// ```
/// assert_eq!(llm_telemetry::short_id("4bf92f3577b34da6a3ce929d0e0e4736"), "…29d0e0e4736");
/// assert_eq!(llm_telemetry::short_id("00f067aa0ba902b7"), "…7aa0ba902b7");
/// ```
pub fn short_id(id: &str) -> String {
    match id.len().checked_sub(SHORT_ID_DIGITS) {
        Some(at) if at > 0 && id.is_char_boundary(at) => format!("…{}", &id[at..]),
        _ => id.to_owned(),
    }
}

impl TraceId {
    /// A fresh trace id for a span starting now: 4 bytes of time, 5 of this process's id
    /// sequence, 7 random, as [`TraceId::new_at`] describes. (The name is the W3C
    /// "random" flag's: the right-most 7 bytes are random.)
    pub fn random() -> Self {
        Self::new_at(unix_seconds(SystemTime::now()))
    }

    /// A fresh trace id for a span that starts at `unix_secs`: 4 bytes of time
    /// (big-endian, so ids sort by creation second), 5 bytes of this process's id
    /// sequence (see below), then 56 random bits (W3C's "random" trace id keeps its right-most
    /// 7 bytes random).
    ///
    /// Time-prefixed, sequenced ids are still valid W3C ids (and never all zero), but they
    /// arrive in key order, so each insert into the store's id indexes touches the
    /// right-most pages instead of a random one: several times the write rate of random
    /// ids, and no page splits in the middle of an index. The sequence starts at a random
    /// value in each process and each thread takes blocks of it, so ids of one process
    /// never repeat and ids of two processes collide only if their ranges overlap.
    pub fn new_at(unix_secs: u64) -> Self {
        let mut bytes = [0u8; 16];
        bytes[..4].copy_from_slice(&(unix_secs as u32).to_be_bytes());
        bytes[4..9].copy_from_slice(&next_sequence().to_be_bytes()[3..]);
        bytes[9..].copy_from_slice(&next_random().to_be_bytes()[1..]);
        if bytes == [0; 16] {
            bytes[15] = 1;
        }
        TraceId(bytes)
    }

    /// The id as a `u128` (big-endian), as OpenTelemetry's `TraceId::from` takes it.
    pub fn to_u128(self) -> u128 {
        u128::from_be_bytes(self.0)
    }
}

impl SpanId {
    /// A fresh span id for a span starting now: the low 16 bits of the time in seconds,
    /// then 6 bytes of this process's id sequence, as [`SpanId::new_at`] describes (unique
    /// by construction, not random).
    pub fn random() -> Self {
        Self::new_at(unix_seconds(SystemTime::now()))
    }

    /// A fresh span id for a span that starts at `unix_secs`: the low 16 bits of the
    /// seconds (big-endian), then the low 48 bits of this process's id sequence (see
    /// [`TraceId::new_at`]); never all zero. The store's `span_id` primary key then
    /// appends (the prefix wraps every 18.2 hours, which costs one page split, not
    /// locality), and the span ids of one process are unique by construction.
    pub fn new_at(unix_secs: u64) -> Self {
        let mut v = ((unix_secs & 0xffff) << 48) | (next_sequence() & 0xffff_ffff_ffff);
        if v == 0 {
            v = 1;
        }
        SpanId(v.to_be_bytes())
    }

    /// The id as a `u64` (big-endian), as OpenTelemetry's `SpanId::from` takes it.
    pub fn to_u64(self) -> u64 {
        u64::from_be_bytes(self.0)
    }
}

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; 32];
    for (i, b) in bytes.iter().enumerate() {
        buf[2 * i] = HEX[(b >> 4) as usize];
        buf[2 * i + 1] = HEX[(b & 0xf) as usize];
    }
    // Only ASCII hex digits were written.
    f.write_str(std::str::from_utf8(&buf[..bytes.len() * 2]).unwrap_or_default())
}

fn parse_hex<const N: usize>(s: &str, kind: &'static str) -> Result<[u8; N], InvalidId> {
    let err = || InvalidId {
        kind,
        len: N * 2,
        value: s.to_owned(),
    };
    let raw = s.as_bytes();
    if raw.len() != N * 2 {
        return Err(err());
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; N];
    for (i, pair) in raw.chunks_exact(2).enumerate() {
        out[i] = (nibble(pair[0]).ok_or_else(err)? << 4) | nibble(pair[1]).ok_or_else(err)?;
    }
    if out.iter().all(|b| *b == 0) {
        return Err(err());
    }
    Ok(out)
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}
impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceId({self})")
    }
}
impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}
impl fmt::Debug for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpanId({self})")
    }
}
impl FromStr for TraceId {
    type Err = InvalidId;
    fn from_str(s: &str) -> Result<Self, InvalidId> {
        parse_hex::<16>(s, "trace id").map(TraceId)
    }
}
impl FromStr for SpanId {
    type Err = InvalidId;
    fn from_str(s: &str) -> Result<Self, InvalidId> {
        parse_hex::<8>(s, "span id").map(SpanId)
    }
}
impl serde::Serialize for TraceId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
impl serde::Serialize for SpanId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Whole seconds since the Unix epoch (0 before it).
pub(crate) fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

thread_local! {
    // Per-thread generator: id generation must not contend across threads.
    static RNG: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    // RandomState is seeded from the OS once per process and perturbed per instance.
    let mut h = RandomState::new().build_hasher();
    h.write_u64(std::process::id() as u64);
    h.write_usize(&h as *const _ as usize);
    if let Ok(d) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(d.as_nanos());
    }
    h.finish() | 1
}

/// Values of the sequence a thread takes from the process-wide counter at a time: ids of
/// concurrent threads then append at a few spots instead of contending on one counter.
const SEQUENCE_BLOCK: u64 = 64;

/// The process-wide id sequence, from a random start.
static SEQUENCE: OnceLock<AtomicU64> = OnceLock::new();

thread_local! {
    // The next value of this thread's block, and how many are left in it.
    static BLOCK: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

/// The next value of this process's id sequence: unique within the process (until the
/// 64-bit counter wraps), increasing within a thread's block.
fn next_sequence() -> u64 {
    BLOCK.with(|block| {
        let (mut next, mut left) = block.get();
        if left == 0 {
            let counter = SEQUENCE.get_or_init(|| AtomicU64::new(seed()));
            next = counter.fetch_add(SEQUENCE_BLOCK, Ordering::Relaxed);
            left = SEQUENCE_BLOCK;
        }
        block.set((next.wrapping_add(1), left - 1));
        next
    })
}

/// SplitMix64: fast, full-period, and good enough for ids (they need uniqueness, not secrecy).
fn next_random() -> u64 {
    RNG.with(|s| {
        let mut z = s.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        s.set(z);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_bad_input() {
        let t = TraceId::random();
        assert_eq!(t.to_string().len(), 32);
        assert_eq!(t.to_string().parse::<TraceId>().unwrap(), t);
        let s = SpanId::random();
        assert_eq!(s.to_string().parse::<SpanId>().unwrap(), s);
        assert!("00000000000000000000000000000000"
            .parse::<TraceId>()
            .is_err());
        assert!("4BF92F3577B34DA6A3CE929D0E0E4736"
            .parse::<TraceId>()
            .is_err());
        assert!("abc".parse::<SpanId>().is_err());
    }

    #[test]
    fn ids_are_time_prefixed_and_valid() {
        let secs = 0x6543_2109_u64;
        let t = TraceId::new_at(secs);
        assert_eq!(&t.0[..4], &[0x65, 0x43, 0x21, 0x09]);
        assert_eq!(t.to_string()[..8], *"65432109");
        let s = SpanId::new_at(secs);
        assert_eq!(&s.0[..2], &[0x21, 0x09]);
        // Valid W3C ids: parse back, never all zero, even at time 0.
        assert_eq!(t.to_string().parse::<TraceId>().unwrap(), t);
        assert_eq!(s.to_string().parse::<SpanId>().unwrap(), s);
        for _ in 0..1000 {
            assert_ne!(TraceId::new_at(0).0, [0; 16]);
            assert_ne!(SpanId::new_at(0).0, [0; 8]);
        }
        // Ids of later seconds sort after earlier ones.
        assert!(TraceId::new_at(secs + 1) > TraceId::new_at(secs));
        assert!(SpanId::new_at(secs + 1) > SpanId::new_at(secs));
        // The current time is used by `random()`.
        let now = unix_seconds(SystemTime::now());
        let prefix = u32::from_be_bytes(TraceId::random().0[..4].try_into().unwrap()) as u64;
        assert!(prefix.abs_diff(now) <= 2, "{prefix} vs {now}");
    }

    #[test]
    fn ids_of_one_thread_and_second_are_in_key_order() {
        // What makes the store's id indexes append (the sequence wraps its 40 / 48 bits
        // once in 2^40 ids: not in a test of 10,000).
        let secs = 0x6543_2109_u64;
        let traces: Vec<_> = (0..10_000).map(|_| TraceId::new_at(secs)).collect();
        assert!(traces.windows(2).all(|w| w[0] < w[1]));
        let spans: Vec<_> = (0..10_000).map(|_| SpanId::new_at(secs)).collect();
        assert!(spans.windows(2).all(|w| w[0] < w[1]));
        // The end of a trace id stays random: no two of these share their last 7 bytes.
        let ends: std::collections::HashSet<_> = traces.iter().map(|t| t.0[9..].to_vec()).collect();
        assert_eq!(ends.len(), traces.len());
    }

    #[test]
    fn ids_are_unique_across_threads() {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| (0..10_000).map(|_| SpanId::random()).collect::<Vec<_>>())
            })
            .collect();
        let mut all = std::collections::HashSet::new();
        for h in handles {
            for id in h.join().unwrap() {
                assert!(all.insert(id));
            }
        }
    }
}
