//! The query API of [`TraceStore`](super::TraceStore), one file per query family: traces,
//! spans and span trees, span events, metrics, search, statistics, conversations and
//! export. Each family is an `impl TraceStore` block of its own; what several families
//! need (the statement runner, column lists, row readers) is in `rows`. Every statement is
//! a fixed SQL text with bound parameters.

mod events;
mod export;
mod metrics;
mod rows;
mod search;
mod sessions;
mod spans;
mod stats;
mod timeline;
mod traces;
