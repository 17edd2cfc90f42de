//! The query API of [`TraceStore`](super::TraceStore), one file per query family: traces,
//! spans and span trees, span events, metrics, search, statistics, conversations and
//! export. Each family is an `impl TraceStore` block of its own; what several families
//! need (the statement runner, column lists, row readers) is in `rows`. Every statement is
//! a fixed SQL text with bound parameters, in the dialect of the store's backend (SQLite,
//! or PostgreSQL with the `postgres` feature); rows of either are decoded by the same code.

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
