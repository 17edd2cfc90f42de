//! [`Sampler`]: head sampling of traces, as OpenTelemetry's `OTEL_TRACES_SAMPLER` names it.
//! The decision is a pure function of the trace id and of the remote parent's sampled flag,
//! made once per trace at its local root; every span below the root inherits it.

use super::ids::TraceId;

/// Which traces the trace sinks (`console`, `sqlite` spans, `otel_trace`) receive. Metrics
/// are never sampled: a sampled-out inference still counts in every token, cost and
/// duration metric.
///
/// The variants are the values of `OTEL_TRACES_SAMPLER` (with `OTEL_TRACES_SAMPLER_ARG` as
/// the ratio) in the OpenTelemetry SDK specification:
///
/// | variant | `OTEL_TRACES_SAMPLER` | a new trace | a trace continued from a remote `traceparent` |
/// |---|---|---|---|
/// | `AlwaysOn` | `always_on` | sampled | sampled |
/// | `AlwaysOff` | `always_off` | dropped | dropped |
/// | `TraceIdRatio(r)` | `traceidratio` | by its trace id, ratio `r` | by its trace id, ratio `r` |
/// | `ParentBasedAlwaysOn` (default) | `parentbased_always_on` | sampled | as the remote parent's sampled flag |
/// | `ParentBasedAlwaysOff` | `parentbased_always_off` | dropped | as the remote parent's sampled flag |
/// | `ParentBasedTraceIdRatio(r)` | `parentbased_traceidratio` | by its trace id, ratio `r` | as the remote parent's sampled flag |
///
/// The ratio decision is the one of OpenTelemetry's consistent probability sampling: a
/// trace is sampled when the right-most 56 bits of its id (the random part of a W3C
/// trace id) are at least `(1 − r) × 2⁵⁶`. It is deterministic, so every process that
/// sees a trace id decides the same, and a trace sampled at one ratio is sampled at every
/// larger ratio.
///
/// ```
/// use llm_telemetry::{Sampler, TraceId};
///
/// let id: TraceId = "4bf92f3577b34da6a3ce929d0e0e4736".parse().unwrap();
/// assert!(Sampler::AlwaysOn.samples_root(id, None));
/// assert!(!Sampler::AlwaysOff.samples_root(id, None));
/// // A parent-based sampler follows the caller's decision.
/// assert!(!Sampler::ParentBasedAlwaysOn.samples_root(id, Some(false)));
/// // The ratio decision depends on the trace id only.
/// let ratio = Sampler::TraceIdRatio(0.5);
/// assert_eq!(ratio.samples_root(id, None), ratio.samples_root(id, Some(true)));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[non_exhaustive]
pub enum Sampler {
    /// Every trace.
    AlwaysOn,
    /// No trace.
    AlwaysOff,
    /// A fraction of the traces (0.0 to 1.0), chosen by trace id.
    TraceIdRatio(f64),
    /// As the remote parent decided; a new trace is sampled. The default.
    #[default]
    ParentBasedAlwaysOn,
    /// As the remote parent decided; a new trace is dropped.
    ParentBasedAlwaysOff,
    /// As the remote parent decided; a new trace by trace id, at this ratio.
    ParentBasedTraceIdRatio(f64),
}

impl Sampler {
    /// Whether a trace whose local root has trace id `trace_id` is sampled, given the
    /// sampled flag of the remote parent it continues (`None`: a new trace).
    pub fn samples_root(&self, trace_id: TraceId, remote_parent_sampled: Option<bool>) -> bool {
        match (*self, remote_parent_sampled) {
            (Sampler::AlwaysOn, _) => true,
            (Sampler::AlwaysOff, _) => false,
            (Sampler::TraceIdRatio(ratio), _) => ratio_samples(ratio, trace_id),
            (
                Sampler::ParentBasedAlwaysOn
                | Sampler::ParentBasedAlwaysOff
                | Sampler::ParentBasedTraceIdRatio(_),
                Some(sampled),
            ) => sampled,
            (Sampler::ParentBasedAlwaysOn, None) => true,
            (Sampler::ParentBasedAlwaysOff, None) => false,
            (Sampler::ParentBasedTraceIdRatio(ratio), None) => ratio_samples(ratio, trace_id),
        }
    }

    /// The `OTEL_TRACES_SAMPLER` value of this sampler.
    ///
    /// ```
    /// assert_eq!(llm_telemetry::Sampler::TraceIdRatio(0.1).name(), "traceidratio");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            Sampler::AlwaysOn => "always_on",
            Sampler::AlwaysOff => "always_off",
            Sampler::TraceIdRatio(_) => "traceidratio",
            Sampler::ParentBasedAlwaysOn => "parentbased_always_on",
            Sampler::ParentBasedAlwaysOff => "parentbased_always_off",
            Sampler::ParentBasedTraceIdRatio(_) => "parentbased_traceidratio",
        }
    }

    /// The ratio of a ratio sampler.
    pub fn ratio(&self) -> Option<f64> {
        match self {
            Sampler::TraceIdRatio(r) | Sampler::ParentBasedTraceIdRatio(r) => Some(*r),
            _ => None,
        }
    }
}

/// `(1 − ratio) × 2⁵⁶ ≤` the right-most 56 bits of the trace id.
fn ratio_samples(ratio: f64, trace_id: TraceId) -> bool {
    if ratio >= 1.0 {
        return true;
    }
    if ratio.is_nan() || ratio <= 0.0 {
        return false;
    }
    const MAX: u64 = 1 << 56;
    let mut low = [0u8; 8];
    low[1..].copy_from_slice(&trace_id.0[9..]);
    let randomness = u64::from_be_bytes(low);
    // `ratio` in (0, 1): the threshold is in (0, 2⁵⁶), exact to within one unit.
    let threshold = ((1.0 - ratio) * MAX as f64) as u64;
    randomness >= threshold
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(low56: u64) -> TraceId {
        let mut bytes = [0xab; 16];
        bytes[8..].copy_from_slice(&low56.to_be_bytes());
        TraceId(bytes)
    }

    #[test]
    fn ratio_uses_the_right_most_56_bits() {
        // Byte 8 (the 57th to 64th bits) is left out: it is part of the sequence.
        let low = id(0x00_00_00_00_00_00_00_01);
        let high = id(0x00_ff_ff_ff_ff_ff_ff_ff);
        let seq_only = id(0xff_00_00_00_00_00_00_00);
        let r = Sampler::TraceIdRatio(0.5);
        assert!(!r.samples_root(low, None));
        assert!(r.samples_root(high, None));
        assert!(!r.samples_root(seq_only, None));
        assert!(!Sampler::TraceIdRatio(0.0).samples_root(high, None));
        assert!(Sampler::TraceIdRatio(1.0).samples_root(low, None));
    }

    #[test]
    fn a_trace_sampled_at_one_ratio_is_sampled_at_every_larger_one() {
        for step in 0..200u64 {
            let t = id(step.wrapping_mul(0x0000_9e37_79b9_7f4a) & ((1 << 56) - 1));
            let mut sampled_before = false;
            for r in [0.01, 0.1, 0.25, 0.5, 0.9, 1.0] {
                let now = Sampler::TraceIdRatio(r).samples_root(t, None);
                assert!(!sampled_before || now, "ratio {r}");
                sampled_before = now;
            }
        }
    }

    #[test]
    fn the_ratio_is_met_over_random_ids() {
        let n = 20_000;
        let sampled = (0..n)
            .filter(|_| Sampler::TraceIdRatio(0.1).samples_root(TraceId::new_at(0), None))
            .count();
        let share = sampled as f64 / n as f64;
        assert!((0.08..0.12).contains(&share), "{share}");
    }

    #[test]
    fn parent_based_follows_the_remote_flag_and_others_ignore_it() {
        let t = id(1);
        for parent in [Some(true), Some(false)] {
            let want = parent.unwrap();
            for s in [
                Sampler::ParentBasedAlwaysOn,
                Sampler::ParentBasedAlwaysOff,
                Sampler::ParentBasedTraceIdRatio(0.5),
            ] {
                assert_eq!(s.samples_root(t, parent), want, "{s:?}");
            }
            assert!(Sampler::AlwaysOn.samples_root(t, parent));
            assert!(!Sampler::AlwaysOff.samples_root(t, parent));
        }
        assert!(Sampler::ParentBasedAlwaysOn.samples_root(t, None));
        assert!(!Sampler::ParentBasedAlwaysOff.samples_root(t, None));
    }
}
