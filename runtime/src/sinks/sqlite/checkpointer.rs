//! Copies the SQLite sink's write-ahead log into the database file on a thread of its own.
//!
//! A checkpoint reads every frame the writer appended to the WAL and writes it again into
//! the database file: about as much I/O as the inserts themselves. Run from the writer's
//! commit (SQLite's auto-checkpoint), it stalls the writer; run at shutdown, it delays the
//! guard's drop by a large part of the final drain (the README's Performance section has
//! the figures). Here a second connection runs `PASSIVE` checkpoints, which never block
//! the writer, while the writer keeps going; the writer's own auto-checkpoint stays as the
//! backstop that lets the WAL restart from its beginning, and finds little left to copy.
//!
//! The thread starts on the first nudge, so an application that writes little never has
//! it, and a store that cannot be opened a second time just keeps the old behaviour.

use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use crossbeam_channel::{Sender, TrySendError};
use rusqlite::{Connection, OpenFlags};

/// Items written between two nudges: a few MiB of WAL, so a checkpoint (and its `fsync`)
/// runs a few times a second at most.
pub(super) const NUDGE_EVERY_ITEMS: usize = 4096;

/// The background checkpointer of one store.
pub(crate) struct WalCheckpointer {
    path: PathBuf,
    written_since_nudge: usize,
    state: State,
}

enum State {
    NotStarted,
    Running {
        nudge: Sender<()>,
        thread: JoinHandle<()>,
    },
    /// Stopped, or could not start: the writer's own checkpoints do the work.
    Off,
}

impl WalCheckpointer {
    pub(crate) fn new(path: &Path) -> WalCheckpointer {
        WalCheckpointer {
            path: path.to_path_buf(),
            written_since_nudge: 0,
            state: State::NotStarted,
        }
    }

    /// Called after each committed batch of `items`; asks for a checkpoint once enough has
    /// been written. Never blocks: a nudge while one is pending is dropped.
    pub(crate) fn committed(&mut self, items: usize) {
        self.written_since_nudge += items;
        if self.written_since_nudge < NUDGE_EVERY_ITEMS {
            return;
        }
        self.written_since_nudge = 0;
        if let State::NotStarted = self.state {
            self.state = start(&self.path);
        }
        if let State::Running { nudge, .. } = &self.state {
            if let Err(TrySendError::Disconnected(())) = nudge.try_send(()) {
                self.state = State::Off;
            }
        }
    }

    /// Waits for a running checkpoint to finish and closes the second connection, so that
    /// the writer's final checkpoint and close find the WAL to themselves.
    pub(crate) fn stop(&mut self) {
        if let State::Running { nudge, thread } = std::mem::replace(&mut self.state, State::Off) {
            drop(nudge);
            let _ = thread.join();
        }
    }
}

impl Drop for WalCheckpointer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn start(path: &Path) -> State {
    // No CREATE: the writer has created the file; a store that vanished is not recreated.
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let Ok(conn) = Connection::open_with_flags(path, flags) else {
        return State::Off;
    };
    let (nudge, nudged) = crossbeam_channel::bounded::<()>(1);
    let thread = std::thread::Builder::new()
        .name("llm-telemetry-wal".into())
        .spawn(move || {
            while nudged.recv().is_ok() {
                // PASSIVE copies what no reader still needs and returns; failures are
                // harmless (the writer's auto-checkpoint still runs).
                let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
            }
        });
    match thread {
        Ok(thread) => State::Running { nudge, thread },
        Err(_) => State::Off,
    }
}
