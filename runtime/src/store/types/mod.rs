//! What the query API returns, and the parameters it takes. Every returned type is
//! `serde`-serialisable (the CLI's `--json`). Timestamps are the store's own UTC text,
//! `YYYY-MM-DD HH:MM:SS.ffffff`; use [`Span::start`] and friends for a
//! [`SystemTime`](std::time::SystemTime).

mod metric;
mod session;
mod span;
mod stats;
mod timeline;
mod trace;

pub use metric::{MetricPoint, MetricSeries};
pub use session::{SessionQuery, SessionSummary};
pub use span::{ExportRow, SearchHit, Span, SpanEvent, SpanWithChildren};
pub use stats::{LatencyStats, StoreStats, TokenStats};
pub use timeline::{ModelBucket, SlowSpan, Timeline, TimelineBucket, TraceCost, TraceFacets};
pub use trace::{Trace, TraceColumn, TraceOrder, TraceQuery, TraceStatusFilter};
