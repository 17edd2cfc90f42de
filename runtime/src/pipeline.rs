//! The path from the layer to the sinks: one bounded queue and one worker thread per
//! sink. The application thread only ever `try_send`s; a full queue drops the item and
//! counts it. Each worker batches what it receives and hands the batch to its writer.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender, TrySendError};

use crate::guard::SinkStats;
use crate::record::Telemetry;

/// The error a writer reports for a batch it could not write.
pub(crate) type WriteError = Box<dyn std::error::Error + Send + Sync>;

/// The I/O side of a sink. It lives on the sink's own worker thread.
pub(crate) trait BatchWriter: Send + 'static {
    /// Write one batch. On error the whole batch counts as failed.
    fn write_batch(&mut self, batch: &[Telemetry]) -> Result<(), WriteError>;
    /// Make everything written so far durable / exported.
    fn flush(&mut self) -> Result<(), WriteError> {
        Ok(())
    }
    /// Called about once a second, and when the queue is idle (retention, periodic export).
    fn tick(&mut self) {}
    /// Last call before the worker exits.
    fn shutdown(&mut self) {}
}

/// Which kinds of item a sink takes; the others are never offered to it nor counted.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Accepts {
    pub spans: bool,
    pub metrics: bool,
    pub logs: bool,
}

impl Accepts {
    pub const ALL: Accepts = Accepts {
        spans: true,
        metrics: true,
        logs: true,
    };
    /// Trace exporters: spans only.
    pub const SPANS: Accepts = Accepts {
        spans: true,
        metrics: false,
        logs: false,
    };
    /// Metric exporters: an inference's metric points only.
    pub const METRICS: Accepts = Accepts {
        spans: false,
        metrics: true,
        logs: false,
    };

    fn item(&self, item: &Telemetry) -> bool {
        match item {
            Telemetry::Span(_) => self.spans,
            Telemetry::Metrics(_) => self.metrics,
            Telemetry::Log(_) => self.logs,
            Telemetry::Inference(..) => self.spans || self.metrics,
        }
    }
}

/// Queue and batch sizes of a sink.
#[derive(Clone, Copy, Debug)]
pub(crate) struct QueueOptions {
    pub capacity: usize,
    pub max_batch: usize,
}

enum Msg {
    Item(Telemetry),
    Flush(Sender<()>),
    // Write everything queued before it, then exit.
    Shutdown,
}

// The application's threads count `emitted` and `dropped`, the worker `stored` and
// `failed`: on separate cache lines, so that neither side's counting evicts the other's.
#[derive(Default)]
struct Counters {
    emitted: CacheLine<AtomicU64>,
    dropped: AtomicU64,
    stored: CacheLine<AtomicU64>,
    failed: AtomicU64,
    // Set when the worker thread has exited (or panicked): the queue is then
    // disconnected, which a full queue must not be mistaken for.
    worker_gone: AtomicBool,
}

#[derive(Default)]
#[repr(align(64))]
struct CacheLine<T>(T);

impl<T> std::ops::Deref for CacheLine<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Prints a warning at most once per interval, with the count of what it swallowed.
pub(crate) struct RateLimitedWarning {
    last: Mutex<Option<Instant>>,
    // When the last warning was printed, on `coarse_now_ns`'s clock, plus one (0: never).
    // Read without the lock, so that a burst of warnings (a full queue drops every item
    // for a while) costs an atomic load and a coarse clock read each, not a mutex.
    last_ns: AtomicU64,
    suppressed: AtomicU64,
    interval: Duration,
}

impl RateLimitedWarning {
    pub fn new(interval: Duration) -> Self {
        RateLimitedWarning {
            last: Mutex::new(None),
            last_ns: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
            interval,
        }
    }

    /// Warn now, or count the warning if one was printed within the interval.
    pub fn warn(&self, message: impl FnOnce() -> String) {
        let last_ns = self.last_ns.load(Ordering::Relaxed);
        if last_ns != 0
            && coarse_now_ns().saturating_sub(last_ns - 1) < self.interval.as_nanos() as u64
        {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let mut last = match self.last.try_lock() {
            Ok(guard) => guard,
            // Someone else is warning right now: that is enough.
            Err(_) => {
                self.suppressed.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        let now = Instant::now();
        if last.is_some_and(|t| now.duration_since(t) < self.interval) {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        *last = Some(now);
        self.last_ns.store(coarse_now_ns() + 1, Ordering::Relaxed);
        let suppressed = self.suppressed.swap(0, Ordering::Relaxed);
        let more = if suppressed > 0 {
            format!(" ({suppressed} similar warnings suppressed)")
        } else {
            String::new()
        };
        warn_stderr(&format!("{}{more}", message()));
    }
}

/// Nanoseconds on a monotonic clock that may lag by a few milliseconds, read for every
/// rate-limited warning: on Linux `CLOCK_MONOTONIC_COARSE`, a few times cheaper than
/// the precise clock.
#[cfg(target_os = "linux")]
fn coarse_now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a valid pointer to a `timespec`.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
    if rc != 0 {
        return precise_now_ns();
    }
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

#[cfg(not(target_os = "linux"))]
fn coarse_now_ns() -> u64 {
    precise_now_ns()
}

fn precise_now_ns() -> u64 {
    static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// The one place the runtime talks to the user outside the telemetry itself. It never
/// goes through `tracing`: that would feed the pipeline its own diagnostics.
pub(crate) fn warn_stderr(message: &str) {
    eprintln!("llm-telemetry: warning: {message}");
}

/// The application-side handle of a sink: its queue, counters and worker.
pub(crate) struct SinkHandle {
    name: &'static str,
    accepts: Accepts,
    tx: Sender<Msg>,
    open: AtomicBool,
    counters: Arc<Counters>,
    queue_full: RateLimitedWarning,
    worker: Mutex<Option<JoinHandle<()>>>,
    done: Receiver<()>,
}

impl SinkHandle {
    /// Start the worker thread of `writer`.
    pub fn spawn(
        name: &'static str,
        accepts: Accepts,
        options: QueueOptions,
        writer: impl BatchWriter,
    ) -> SinkHandle {
        let (tx, rx) = bounded(options.capacity.max(1));
        let (done_tx, done_rx) = bounded(1);
        let counters = Arc::new(Counters::default());
        let worker_counters = counters.clone();
        let max_batch = options.max_batch.max(1);
        let worker = std::thread::Builder::new()
            .name(format!("llm-telemetry-{name}"))
            .spawn(move || {
                struct Gone<'a>(&'a AtomicBool);
                impl Drop for Gone<'_> {
                    fn drop(&mut self) {
                        self.0.store(true, Ordering::Release);
                    }
                }
                let _gone = Gone(&worker_counters.worker_gone);
                let _quiet = crate::layer::suppress_on_this_thread();
                run_worker(name, rx, writer, max_batch, &worker_counters);
                let _ = done_tx.send(());
            })
            .expect("spawn llm-telemetry sink worker thread");
        SinkHandle {
            name,
            accepts,
            tx,
            open: AtomicBool::new(true),
            counters,
            queue_full: RateLimitedWarning::new(Duration::from_secs(10)),
            worker: Mutex::new(Some(worker)),
            done: done_rx,
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Offer an item; never blocks. Returns false when it was dropped.
    pub fn offer(&self, item: &Telemetry) -> bool {
        if !self.accepts.item(item) {
            return true;
        }
        self.counters.emitted.fetch_add(1, Ordering::Relaxed);
        // A full queue is seen before the item is cloned: under overload (when every
        // item is dropped) that saves an `Arc` increment and decrement per item.
        let sent = self.open.load(Ordering::Acquire)
            && match self.try_send(item) {
                Ok(()) => true,
                Err(TrySendError::Full(())) => {
                    self.queue_full.warn(|| {
                        format!(
                            "the `{}` sink's queue is full; dropping telemetry \
                             (see TelemetryGuard::stats() for counts)",
                            self.name
                        )
                    });
                    false
                }
                Err(TrySendError::Disconnected(_)) => false,
            };
        if !sent {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
        sent
    }

    fn try_send(&self, item: &Telemetry) -> Result<(), TrySendError<()>> {
        if self.tx.is_full() && !self.counters.worker_gone.load(Ordering::Acquire) {
            return Err(TrySendError::Full(()));
        }
        self.tx
            .try_send(Msg::Item(item.clone()))
            .map_err(|e| match e {
                TrySendError::Full(_) => TrySendError::Full(()),
                TrySendError::Disconnected(_) => TrySendError::Disconnected(()),
            })
    }

    /// Wait until everything offered before this call is written, up to `timeout`.
    pub fn flush(&self, timeout: Duration) -> bool {
        if !self.open.load(Ordering::Acquire) {
            return true;
        }
        let (ack_tx, ack_rx) = bounded(1);
        let deadline = Instant::now() + timeout;
        // A flush may wait for room in the queue: it is the caller asking to wait.
        if self.tx.send_deadline(Msg::Flush(ack_tx), deadline).is_err() {
            return false;
        }
        ack_rx.recv_deadline(deadline).is_ok()
    }

    /// Close the queue, let the worker drain it, and wait up to `timeout` for it.
    pub fn shutdown(&self, timeout: Duration) -> bool {
        if !self.open.swap(false, Ordering::AcqRel) {
            return true;
        }
        let deadline = Instant::now() + timeout;
        let finished = self.tx.send_deadline(Msg::Shutdown, deadline).is_ok()
            && self.done.recv_deadline(deadline).is_ok();
        if finished {
            if let Some(handle) = self.worker.lock().ok().and_then(|mut g| g.take()) {
                let _ = handle.join();
            }
        } else {
            warn_stderr(&format!(
                "the `{}` sink did not finish writing within {timeout:?}; abandoning it",
                self.name
            ));
        }
        finished
    }

    pub fn stats(&self) -> SinkStats {
        SinkStats {
            name: self.name,
            emitted: self.counters.emitted.load(Ordering::Relaxed),
            stored: self.counters.stored.load(Ordering::Relaxed),
            dropped: self.counters.dropped.load(Ordering::Relaxed),
            failed: self.counters.failed.load(Ordering::Relaxed),
        }
    }
}

fn run_worker(
    name: &'static str,
    rx: Receiver<Msg>,
    mut writer: impl BatchWriter,
    max_batch: usize,
    counters: &Counters,
) {
    let errors = RateLimitedWarning::new(Duration::from_secs(30));
    let mut batch: Vec<Telemetry> = Vec::with_capacity(max_batch);
    let mut last_tick = Instant::now();
    let tick_every = Duration::from_secs(1);
    let write = |batch: &mut Vec<Telemetry>, writer: &mut dyn BatchWriterDyn| {
        if batch.is_empty() {
            return;
        }
        let n = batch.len() as u64;
        match writer.write_batch_dyn(batch) {
            Ok(()) => counters.stored.fetch_add(n, Ordering::Relaxed),
            Err(e) => {
                errors.warn(|| format!("the `{name}` sink failed to write {n} items: {e}"));
                counters.failed.fetch_add(n, Ordering::Relaxed)
            }
        };
        batch.clear();
    };
    loop {
        let first = match rx.recv_timeout(tick_every) {
            Ok(msg) => Some(msg),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let mut pending_flush = Vec::new();
        let mut shutting_down = false;
        let mut next = first;
        while let Some(msg) = next {
            match msg {
                Msg::Item(item) => {
                    batch.push(item);
                    if batch.len() >= max_batch {
                        write(&mut batch, &mut writer);
                    }
                }
                Msg::Flush(ack) => {
                    write(&mut batch, &mut writer);
                    if let Err(e) = writer.flush() {
                        errors.warn(|| format!("the `{name}` sink failed to flush: {e}"));
                    }
                    pending_flush.push(ack);
                }
                Msg::Shutdown => shutting_down = true,
            }
            next = rx.try_recv().ok();
        }
        write(&mut batch, &mut writer);
        for ack in pending_flush {
            let _ = ack.send(());
        }
        if shutting_down {
            break;
        }
        if last_tick.elapsed() >= tick_every {
            writer.tick();
            last_tick = Instant::now();
        }
    }
    write(&mut batch, &mut writer);
    if let Err(e) = writer.flush() {
        errors.warn(|| format!("the `{name}` sink failed to flush: {e}"));
    }
    writer.shutdown();
}

// Lets the batching closure take the writer without being generic itself.
trait BatchWriterDyn {
    fn write_batch_dyn(&mut self, batch: &[Telemetry]) -> Result<(), WriteError>;
}
impl<W: BatchWriter> BatchWriterDyn for W {
    fn write_batch_dyn(&mut self, batch: &[Telemetry]) -> Result<(), WriteError> {
        self.write_batch(batch)
    }
}

/// Every enabled sink of one [`crate::TelemetryGuard`].
pub(crate) struct Pipeline {
    sinks: Vec<SinkHandle>,
    shut_down: AtomicBool,
}

impl Pipeline {
    pub fn new(sinks: Vec<SinkHandle>) -> Self {
        Pipeline {
            sinks,
            shut_down: AtomicBool::new(false),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.sinks.is_empty()
    }

    pub fn send(&self, item: Telemetry) {
        for sink in &self.sinks {
            sink.offer(&item);
        }
    }

    pub fn flush(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        self.sinks.iter().fold(true, |ok, s| {
            let left = deadline.saturating_duration_since(Instant::now());
            s.flush(left) && ok
        })
    }

    pub fn shutdown(&self, timeout: Duration) {
        if self.shut_down.swap(true, Ordering::AcqRel) {
            return;
        }
        let deadline = Instant::now() + timeout;
        for sink in &self.sinks {
            let left = deadline.saturating_duration_since(Instant::now());
            sink.shutdown(left.max(Duration::from_millis(100)));
        }
    }

    pub fn stats(&self) -> Vec<SinkStats> {
        self.sinks.iter().map(SinkHandle::stats).collect()
    }

    pub fn sink_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.sinks.iter().map(SinkHandle::name)
    }
}
