// TEMPORARY STUB by the lead so the crate builds; the SQLite helper replaces this file.
use crate::config::{ConfigError, TelemetryConfig};
use crate::pipeline::{BatchWriter, WriteError};
use crate::record::Telemetry;
pub(crate) struct SqliteWriter;
impl SqliteWriter {
    pub(crate) fn open(_: &std::path::Path, _: &TelemetryConfig) -> Result<Self, ConfigError> { Ok(SqliteWriter) }
}
impl BatchWriter for SqliteWriter {
    fn write_batch(&mut self, _: &[Telemetry]) -> Result<(), WriteError> { Ok(()) }
}
