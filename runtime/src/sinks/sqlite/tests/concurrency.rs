//! Several writers on one store: two writers, a busy writer whose WAL the checkpointer
//! copies as it goes, a store locked by another connection, concurrent opens of a new file.

use std::time::Instant;

use super::super::checkpointer::NUDGE_EVERY_ITEMS;
use super::*;

#[test]
fn two_writers_on_one_file_both_land_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let shared = TraceId::random();
    let shared_root = SpanId::random();
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut w = open(&path);
                let mut own = Vec::new();
                for _ in 0..50 {
                    let trace = TraceId::random();
                    let root = S::new(trace, None, "root");
                    let batch: Vec<Telemetry> = (0..19)
                        .map(|_| S::new(trace, Some(root.span), "child").item())
                        .chain([
                            S::new(shared, Some(shared_root), "shared child").item(),
                            root.item(),
                        ])
                        .collect();
                    w.write_batch(&batch).unwrap();
                    own.push(trace);
                }
                own
            })
        })
        .collect();
    let traces: Vec<TraceId> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let conn = reader(&path);
    assert_eq!(count(&conn, "SELECT count(*) FROM spans"), 2 * 50 * 21);
    assert_eq!(count(&conn, "SELECT count(*) FROM traces"), 101);
    for t in traces {
        let (root, _, _, _, _, spans, _) = trace_row(&conn, t);
        assert!(root.is_some());
        assert_eq!(spans, 20);
    }
    let (root, ..) = trace_row(&conn, shared);
    assert_eq!(root, None);
    assert_eq!(trace_row(&conn, shared).5, 100);
}

#[test]
fn a_busy_writer_has_its_wal_copied_into_the_file_as_it_goes() {
    // Far below the auto-checkpoint threshold: only the background checkpointer moves
    // pages from the WAL into the database file before shutdown.
    let (_dir, path, mut w) = temp_store();
    let empty = std::fs::metadata(&path).unwrap().len();
    let batch = || -> Vec<Telemetry> {
        (0..NUDGE_EVERY_ITEMS)
            .map(|_| S::new(TraceId::random(), None, "busy").item())
            .collect()
    };
    w.write_batch(&batch()).unwrap();
    w.write_batch(&batch()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::metadata(&path).unwrap().len() == empty && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        std::fs::metadata(&path).unwrap().len() > empty,
        "nothing was checkpointed into the database file while the writer was running"
    );
    // Writing goes on while (and after) the checkpointer works; shutdown stops it first.
    w.write_batch(&batch()).unwrap();
    w.shutdown();
    drop(w);
    let conn = reader(&path);
    assert_eq!(
        count(&conn, "SELECT count(*) FROM spans"),
        3 * NUDGE_EVERY_ITEMS as i64
    );
}

#[test]
fn a_locked_store_fails_the_batch_without_panicking() {
    let (_dir, path, mut w) = temp_store();
    w.conn.busy_timeout(Duration::from_millis(50)).unwrap();
    let blocker = reader(&path);
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let s = S::new(TraceId::random(), None, "blocked");
    let e = w.write_batch(&[s.item()]).unwrap_err().to_string();
    assert!(e.contains("t.db") && e.contains("locked"), "{e}");
    blocker.execute_batch("ROLLBACK").unwrap();
    w.write_batch(&[s.item()]).unwrap();
    assert_eq!(count(&reader(&path), "SELECT count(*) FROM spans"), 1);
}

#[test]
fn concurrent_opens_of_a_new_file_create_it_once() {
    for _ in 0..30 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.db");
        let opens: Vec<_> = (0..3)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || {
                    SqliteWriter::open(&path, &config())
                        .map(drop)
                        .map_err(|e| e.to_string())
                })
            })
            .collect();
        for open in opens {
            open.join().unwrap().unwrap();
        }
    }
}
