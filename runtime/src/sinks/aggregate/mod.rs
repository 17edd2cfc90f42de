//! What a store's writer computes from a batch before writing it, whatever the database:
//! the `traces` rows ([`traces`]), the columns of an event row ([`events`]), the metric series summed per second ([`metrics`]) and
//! the JSON and hex encodings of attributes and ids ([`json`]). The SQLite and PostgreSQL
//! sinks import this and write its results in their own SQL.

pub(crate) mod events;
pub(crate) mod json;
pub(crate) mod metrics;
pub(crate) mod traces;
