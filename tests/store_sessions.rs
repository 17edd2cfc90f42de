//! Conversations in the Rust query API: `TraceStore::sessions` and the `session` / `user`
//! conditions of `TraceQuery`, over the hand-built store of `Fixture::sessions`.

#[path = "../cli/tests/fixture/mod.rs"]
mod fixture;

use std::time::{Duration, SystemTime};

use fixture::*;
use llm_telemetry::store::{SessionQuery, SessionSummary, TraceQuery, TraceStore};

fn store() -> (Fixture, TraceStore) {
    let fx = Fixture::sessions();
    let store = TraceStore::open(&fx.path).unwrap();
    (fx, store)
}

fn sessions(store: &TraceStore, q: SessionQuery) -> Vec<SessionSummary> {
    store.sessions(&q).unwrap()
}

fn convs(s: &[SessionSummary]) -> Vec<&str> {
    s.iter().map(|s| s.conversation_id.as_str()).collect()
}

fn hour_ago() -> Option<SystemTime> {
    Some(SystemTime::now() - Duration::from_secs(3600))
}

#[test]
fn sessions_count_turns_traces_users_and_each_inference_once() {
    let (fx, store) = store();
    let all = sessions(&store, SessionQuery::default());
    assert_eq!(convs(&all), ["conv-4", "conv-3", "conv-1", "conv-2"]);

    // conv-1: a workflow of the conversation around one of its turns (S1), another turn
    // (S2). The inferences under both the workflow and the turn count once; the turns' own
    // gen_ai.usage.input_tokens (1000 each) never.
    let c1 = &all[2];
    assert_eq!((c1.turns, c1.traces), (2, 2));
    assert_eq!(
        (c1.input_tokens, c1.output_tokens, c1.total_tokens),
        (190, 37, 227)
    );
    let cost = c1.cost.expect("three calls have a price");
    assert!((cost - 0.0035).abs() < 1e-12, "{cost}");
    assert_eq!((c1.user_id.as_deref(), c1.users), (Some("alice"), 1));
    let first: String = rusqlite::Connection::open(&fx.path)
        .unwrap()
        .query_row(
            "SELECT start_time FROM spans WHERE span_id = '5100000000000001'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        c1.first_time, first,
        "the workflow started the conversation"
    );
    assert!(c1.last_time > c1.first_time);
    let idle = c1.last().unwrap().elapsed().unwrap();
    assert!(idle > Duration::from_secs(110) && idle < Duration::from_secs(130));

    // conv-2: two users, the first seen is shown; no call has a price.
    let c2 = &all[3];
    assert_eq!((c2.turns, c2.traces, c2.total_tokens), (2, 2, 12));
    assert_eq!((c2.user_id.as_deref(), c2.users), (Some("bob"), 2));
    assert_eq!(c2.cost, None);

    // conv-3 and conv-4 share a trace: each counts only its own turn's inference; the
    // user is on the trace's root span.
    assert_eq!((all[1].total_tokens, all[0].total_tokens), (10, 16));
    assert_eq!((all[0].turns, all[0].traces), (1, 1));
    assert_eq!(all[0].user_id.as_deref(), Some("dave"));
}

#[test]
fn sessions_since_user_and_limit() {
    let (_fx, store) = store();
    // Since an hour ago, conv-2 is its S4 turn only: carol's, 2 tokens.
    let recent = sessions(
        &store,
        SessionQuery {
            since: hour_ago(),
            ..SessionQuery::default()
        },
    );
    assert_eq!(convs(&recent), ["conv-4", "conv-3", "conv-1", "conv-2"]);
    let c2 = &recent[3];
    assert_eq!((c2.turns, c2.traces, c2.total_tokens), (1, 1, 2));
    assert_eq!((c2.user_id.as_deref(), c2.users), (Some("carol"), 1));
    assert_eq!(recent[2].total_tokens, 227);
    let last_90s = sessions(
        &store,
        SessionQuery {
            since: Some(SystemTime::now() - Duration::from_secs(90)),
            ..SessionQuery::default()
        },
    );
    assert_eq!(convs(&last_90s), ["conv-4", "conv-3"]);

    let by = |user: &str| {
        sessions(
            &store,
            SessionQuery {
                user: Some(user.into()),
                ..SessionQuery::default()
            },
        )
    };
    assert_eq!(convs(&by("alice")), ["conv-1"]);
    // carol took part in conv-2, which bob started.
    let carol = by("carol");
    assert_eq!(convs(&carol), ["conv-2"]);
    assert_eq!(carol[0].user_id.as_deref(), Some("bob"));
    assert_eq!(convs(&by("dave")), ["conv-4", "conv-3"]);
    assert!(by("nobody").is_empty());
    // A user's value is bound, never SQL.
    assert!(by("x' OR 1=1 --").is_empty());
    let bob_recent = sessions(
        &store,
        SessionQuery {
            since: hour_ago(),
            user: Some("bob".into()),
            ..SessionQuery::default()
        },
    );
    assert!(bob_recent.is_empty(), "bob's turn is 3 days old");

    let two = sessions(
        &store,
        SessionQuery {
            limit: 2,
            ..SessionQuery::default()
        },
    );
    assert_eq!(convs(&two), ["conv-4", "conv-3"]);
}

#[test]
fn sessions_of_a_store_without_conversations() {
    let fx = Fixture::new();
    let store = TraceStore::open(&fx.path).unwrap();
    assert!(sessions(&store, SessionQuery::default()).is_empty());
}

#[test]
fn list_traces_by_session_and_user() {
    let (_fx, store) = store();
    let ids = |session: Option<&str>, user: Option<&str>| {
        store
            .list_traces(&TraceQuery {
                session: session.map(Into::into),
                user: user.map(Into::into),
                ..TraceQuery::default()
            })
            .unwrap()
            .into_iter()
            .map(|t| t.trace_id)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(Some("conv-1"), None), [S2, S1]);
    assert_eq!(ids(Some("conv-2"), None), [S4, S3]);
    assert_eq!(ids(None, Some("alice")), [S1]);
    assert_eq!(ids(None, Some("dave")), [S5]);
    // Both: on one span (S1's workflow), or on two (S5's root names the user, its turn
    // the conversation).
    assert_eq!(ids(Some("conv-1"), Some("alice")), [S1]);
    assert_eq!(ids(Some("conv-3"), Some("dave")), [S5]);
    assert_eq!(ids(Some("conv-2"), Some("carol")), [S4]);
    assert!(ids(Some("conv-3"), Some("alice")).is_empty());
    assert!(ids(Some("no-such"), None).is_empty());
    // With the other conditions.
    let recent = store
        .list_traces(&TraceQuery {
            session: Some("conv-2".into()),
            since: hour_ago(),
            ..TraceQuery::default()
        })
        .unwrap();
    assert_eq!(recent.len(), 1);
    assert_eq!(recent[0].trace_id, S4);
}
