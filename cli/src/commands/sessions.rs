//! `llm-trace sessions`: conversations, most recently active first, one line each.

use std::io::Write;

use llm_telemetry::store::{SessionQuery, TraceStore};

use crate::args::{self, SessionsArgs};
use crate::error::Error;
use crate::format::{minute, usd};
use crate::ui::{
    Column::{Cut, Left, Rest, Right},
    Table, Ui,
};

/// 16 + 1 + 10 + 1 + 5 + 1 + 6 + 1 + 7 + 1 + 7 + 1 + 11 + 1 + 11 (`LAST`) = 80 columns.
const TABLE: Table<8> = Table([
    ("SESSION", Cut(16)),
    ("USER", Cut(10)),
    ("TURNS", Right(5)),
    ("TRACES", Right(6)),
    ("TOKENS", Right(7)),
    ("COST", Right(7)),
    ("FIRST", Left(11)),
    ("LAST", Rest),
]);

pub fn run<W: Write>(store: &TraceStore, args: SessionsArgs, ui: &mut Ui<W>) -> Result<(), Error> {
    let filtered = args.since.is_some() || args.user.is_some();
    let sessions = store.sessions(&SessionQuery {
        since: args::ago(args.since),
        user: args.user,
        limit: args.limit,
    })?;
    if ui.json {
        return ui.write_json(&sessions);
    }
    if sessions.is_empty() {
        let why = if filtered {
            ""
        } else {
            ": no span has a gen_ai.conversation.id (a turn's `session = ...`)"
        };
        writeln!(ui.out, "No sessions{why}.")?;
        return Ok(());
    }
    ui.heading(&TABLE)?;
    for s in &sessions {
        // A conversation several users took part in: the first, and how many others.
        let user = match (&s.user_id, s.users) {
            (Some(u), n) if n > 1 => format!("{u} +{}", n - 1),
            (Some(u), _) => u.clone(),
            (None, _) => "-".into(),
        };
        let line = TABLE.line([
            &s.conversation_id,
            &user,
            &s.turns.to_string(),
            &s.traces.to_string(),
            &s.total_tokens.to_string(),
            &s.cost.map_or_else(|| "-".into(), usd),
            minute(&s.first_time),
            minute(&s.last_time),
        ]);
        writeln!(ui.out, "{line}")?;
    }
    Ok(())
}
