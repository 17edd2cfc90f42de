//! The columns of one `span_logs` row (a log or metric event), whatever the database: the
//! event's own fields in their columns, the rest of its attributes as one JSON object. A
//! span start or end event's own fields go into its attributes.

use crate::model::log::{LogBody, LogRecord};

use super::json::{span_hex, JsonObject};

/// The columns of one event row besides its ids and timestamp; the attributes are in the
/// JSON buffer passed to [`EventColumns::encode`].
pub(crate) struct EventColumns<'a> {
    /// `unstructured_log`, `metric` or `structured_log`.
    pub(crate) event_type: &'static str,
    /// An unstructured log's severity.
    pub(crate) severity: Option<&'static str>,
    /// An unstructured log's text, or `span_start` / `span_end`.
    pub(crate) message: Option<&'a str>,
    /// A metric event's name.
    pub(crate) metric: Option<&'a str>,
    /// A metric event's value.
    pub(crate) value: Option<f64>,
    /// A metric event's unit.
    pub(crate) unit: Option<&'a str>,
}

impl<'a> EventColumns<'a> {
    /// The event's type alone, every other column empty.
    pub(crate) fn bare(event: &LogRecord) -> EventColumns<'a> {
        EventColumns {
            event_type: event.body.event_type(),
            severity: None,
            message: None,
            metric: None,
            value: None,
            unit: None,
        }
    }

    /// The columns of `event`; its attributes are written into `json` as one object.
    pub(crate) fn encode(
        json: &mut Vec<u8>,
        event: &'a LogRecord,
    ) -> Result<EventColumns<'a>, serde_json::Error> {
        let mut obj = JsonObject::new(json);
        let mut columns = EventColumns::bare(event);
        let own_keys: &[&str] = match &event.body {
            LogBody::Unstructured { message, severity } => {
                columns.severity = Some(severity.as_str());
                columns.message = Some(message.as_str());
                &[]
            }
            LogBody::Metric {
                metric,
                value,
                unit,
            } => {
                columns.metric = Some(metric.as_str());
                columns.value = Some(*value);
                columns.unit = Some(unit.as_str());
                &[]
            }
            LogBody::SpanStart {
                name,
                parent_span_id,
            } => {
                columns.message = Some("span_start");
                obj.str("name", name)?;
                match parent_span_id {
                    Some(p) => obj.str_bytes("parent_span_id", &span_hex(p))?,
                    None => obj.null("parent_span_id")?,
                }
                &["name", "parent_span_id"]
            }
            LogBody::SpanEnd { status } => {
                columns.message = Some("span_end");
                obj.str("status", status.as_str())?;
                &["status"]
            }
        };
        for (k, v) in &event.attributes {
            if !own_keys.contains(&k.as_ref()) {
                obj.attr(k, v)?;
            }
        }
        obj.finish();
        Ok(columns)
    }
}
