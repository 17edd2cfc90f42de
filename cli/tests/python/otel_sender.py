"""Send GenAI spans, metrics and logs to an OTLP endpoint with the real OpenTelemetry SDK.

Usage: otel_sender.py ENDPOINT PROTOCOL [TOKEN]
  PROTOCOL: http (OTLP/HTTP protobuf) or grpc.

What it sends (cli/tests/serve_otlp.rs checks it arrived):
- one trace of service "py-agent": an agent turn with three inferences, one in each GenAI
  convention (current gen_ai.*, the older gen_ai.system / prompt_tokens names, OpenInference),
  and a tool call that fails; an event and a link on the first inference;
- a counter exported twice (cumulative: 3, then 5), a histogram (0.1, 0.3, 2.0), a gauge (42);
- two logs, one inside the tool span and one outside any span.
Prints one JSON line: the trace id and each span's id by name (hex).
"""

import json
import logging
import sys

from opentelemetry import metrics, trace
from opentelemetry._logs import set_logger_provider
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Link, Status, StatusCode

endpoint, protocol = sys.argv[1], sys.argv[2]
headers = {"authorization": f"Bearer {sys.argv[3]}"} if len(sys.argv) > 3 else None

if protocol == "http":
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    spans_out = OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces", headers=headers)
    metrics_out = OTLPMetricExporter(endpoint=f"{endpoint}/v1/metrics", headers=headers)
    logs_out = OTLPLogExporter(endpoint=f"{endpoint}/v1/logs", headers=headers)
else:
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    target = endpoint.removeprefix("http://")
    spans_out = OTLPSpanExporter(endpoint=target, insecure=True, headers=headers)
    metrics_out = OTLPMetricExporter(endpoint=target, insecure=True, headers=headers)
    logs_out = OTLPLogExporter(endpoint=target, insecure=True, headers=headers)

resource = Resource.create({"service.name": "py-agent"})
tracer_provider = TracerProvider(resource=resource)
tracer_provider.add_span_processor(BatchSpanProcessor(spans_out))
trace.set_tracer_provider(tracer_provider)
tracer = trace.get_tracer("py-agent.instrumentation", "1.2.3")

reader = PeriodicExportingMetricReader(metrics_out, export_interval_millis=3_600_000)
meter_provider = MeterProvider(
    resource=resource,
    metric_readers=[reader],
    views=[
        View(
            instrument_name="app.latency",
            aggregation=ExplicitBucketHistogramAggregation([0.25, 1.0]),
        )
    ],
)
metrics.set_meter_provider(meter_provider)
meter = metrics.get_meter("py-agent.metrics")

logger_provider = LoggerProvider(resource=resource)
logger_provider.add_log_record_processor(BatchLogRecordProcessor(logs_out))
set_logger_provider(logger_provider)
log = logging.getLogger("py-agent")
log.addHandler(LoggingHandler(level=logging.INFO, logger_provider=logger_provider))
log.setLevel(logging.INFO)
log.propagate = False

ids = {}


def hexid(span, field):
    ctx = span.get_span_context()
    return format(getattr(ctx, field), "032x" if field == "trace_id" else "016x")


with tracer.start_as_current_span(
    "invoke_agent weather",
    attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.conversation.id": "conv-7"},
) as turn:
    ids["invoke_agent weather"] = hexid(turn, "span_id")
    trace_id = hexid(turn, "trace_id")
    with tracer.start_as_current_span(
        "chat gpt-4o",
        kind=trace.SpanKind.CLIENT,
        links=[Link(turn.get_span_context(), {"link.reason": "follows"})],
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.input_tokens": 12,
            "gen_ai.usage.output_tokens": 5,
            "temperature": 0.25,
            "stream": False,
        },
    ) as s:
        ids["chat gpt-4o"] = hexid(s, "span_id")
        s.add_event("first token", {"chunk": 1})
    with tracer.start_as_current_span(
        "chat llama-3",
        kind=trace.SpanKind.CLIENT,
        attributes={
            "gen_ai.system": "ollama",
            "gen_ai.request.model": "llama-3",
            "gen_ai.usage.prompt_tokens": 3,
            "gen_ai.usage.completion_tokens": 2,
        },
    ) as s:
        ids["chat llama-3"] = hexid(s, "span_id")
    with tracer.start_as_current_span(
        "ChatCompletion",
        attributes={
            "openinference.span.kind": "LLM",
            "llm.model_name": "gpt-4o-mini",
            "llm.provider": "openai",
            "llm.token_count.prompt": 20,
            "llm.token_count.completion": 7,
        },
    ) as s:
        ids["ChatCompletion"] = hexid(s, "span_id")
    with tracer.start_as_current_span(
        "execute_tool get_weather",
        attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "get_weather"},
    ) as s:
        ids["execute_tool get_weather"] = hexid(s, "span_id")
        log.warning("weather service answered 404")
        s.record_exception(ValueError("city not found"))
        s.set_status(Status(StatusCode.ERROR, "city not found"))

log.info("agent finished")

requests = meter.create_counter("app.requests", unit="{request}")
latency = meter.create_histogram("app.latency", unit="s")
level = meter.create_gauge("app.queue_depth", unit="{item}")
requests.add(3, {"route": "/chat"})
for v in (0.1, 0.3, 2.0):
    latency.record(v, {"route": "/chat"})
level.set(42)
assert reader.force_flush(), "first metrics export"
requests.add(2, {"route": "/chat"})
assert reader.force_flush(), "second metrics export"

assert tracer_provider.force_flush(), "spans export"
assert logger_provider.force_flush(), "logs export"
tracer_provider.shutdown()
meter_provider.shutdown()
logger_provider.shutdown()
print(json.dumps({"trace_id": trace_id, "spans": ids}))
