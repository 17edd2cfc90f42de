//! Conversations: [`SessionSummary`], what
//! [`TraceStore::sessions`](super::super::TraceStore::sessions) returns, and the
//! [`SessionQuery`] it takes.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::model::time::parse_sqlite_timestamp;

/// One conversation: the spans of the store whose `gen_ai.conversation.id` is
/// [`SessionSummary::conversation_id`] (an agent turn's `session = ...`, or a workflow's),
/// with what they did. [`TraceStore::sessions`](super::super::TraceStore::sessions) says
/// exactly which spans each figure counts.
///
/// ```no_run
/// use llm_telemetry::store::{SessionQuery, TraceStore};
///
/// let store = TraceStore::open("traces.db")?;
/// for s in store.sessions(&SessionQuery::default())? {
///     println!("{} {:?}: {} turns, {} tokens", s.conversation_id, s.user_id, s.turns, s.total_tokens);
/// }
/// # Ok::<(), llm_telemetry::store::StoreError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SessionSummary {
    /// `gen_ai.conversation.id`.
    pub conversation_id: String,
    /// The end user (`user.id`) seen first in the conversation's traces, if any.
    pub user_id: Option<String>,
    /// How many distinct `user.id`s its traces carry (0 when none; more than 1 for a
    /// conversation several users took part in).
    pub users: u64,
    /// Agent turns: its spans with `gen_ai.operation.name = invoke_agent`.
    pub turns: u64,
    /// Traces holding its spans.
    pub traces: u64,
    /// `gen_ai.usage.input_tokens` of its inference spans.
    pub input_tokens: u64,
    /// `gen_ai.usage.output_tokens` of its inference spans.
    pub output_tokens: u64,
    /// `input_tokens + output_tokens`.
    pub total_tokens: u64,
    /// `gen_ai.usage.cost` (USD) of its inference spans; `None` when none has a price.
    pub cost: Option<f64>,
    /// The earliest start of its spans (the store's UTC text).
    pub first_time: String,
    /// The latest end of its spans.
    pub last_time: String,
}

impl SessionSummary {
    /// [`SessionSummary::last_time`] as a [`SystemTime`].
    ///
    /// ```no_run
    /// # let store = llm_telemetry::store::TraceStore::open("traces.db")?;
    /// # let s = store.sessions(&Default::default())?.remove(0);
    /// let idle = s.last().and_then(|t| t.elapsed().ok());
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn last(&self) -> Option<SystemTime> {
        parse_sqlite_timestamp(&self.last_time)
    }
}

/// Which conversations [`TraceStore::sessions`](super::super::TraceStore::sessions)
/// returns, most recently active first.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use llm_telemetry::store::SessionQuery;
///
/// let q = SessionQuery {
///     since: Some(SystemTime::now() - Duration::from_secs(24 * 3600)),
///     user: Some("alice".into()),
///     ..SessionQuery::default()
/// };
/// assert_eq!(q.limit, 100);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct SessionQuery {
    /// Only spans started at or after this time count: the conversations active since
    /// then, with what they did since then.
    pub since: Option<SystemTime>,
    /// Only conversations whose traces have a span with this `user.id`.
    pub user: Option<String>,
    /// At most this many conversations.
    pub limit: usize,
}

impl Default for SessionQuery {
    fn default() -> Self {
        SessionQuery {
            since: None,
            user: None,
            limit: 100,
        }
    }
}
