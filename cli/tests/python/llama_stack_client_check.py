#!/usr/bin/env python3
"""Drive `llm-trace serve` with the real `llama-stack-client` and compare every answer
with the SQLite store the server reads (opened read-only with the standard library).

Run by cli/tests/serve_llama_stack_client.rs, inside the virtual environment that test
installs (llama-stack-client 0.2.23, or 0.3.5 for the /v1alpha mirrors). Modes:

  full     every telemetry method of the 0.2.23 client (/v1/telemetry), error cases,
           log_event of all three event types and what the other methods then see
  v1alpha  the seven methods of the 0.3.x client (/v1alpha/telemetry; it has no log_event)
  token    the server was started with --token: without api_key (or with a wrong one)
           every route is a 401, with the right api_key the methods work

Every check runs even after another failed; each failure is printed with what was sent,
what came back and what was expected. The exit status is 1 if any check failed. The last
line of stdout is `RESULT <json>` for the Rust side (the ids log_event wrote, counts).
"""

import argparse
import datetime as dt
import json
import logging
import math
import os
import re
import secrets
import sqlite3
import sys
import time
import traceback

import httpx
import llama_stack_client
from llama_stack_client import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    LlamaStackClient,
    NotFoundError,
)

UTC = dt.timezone.utc
TRACE_COLUMNS = ["trace_id", "service_name", "root_span_id", "start_time", "end_time"]
# RFC 3339 UTC with `Z`, microseconds, the fraction left out when it is zero (llama-stack's
# pydantic form, reference section 1.3).
WIRE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z$")


# --------------------------------------------------------------------------- checking


class Checker:
    def __init__(self):
        self.passed = 0
        self.failures = []
        self.section = ""

    def begin(self, section):
        self.section = section
        print(f"-- {section}", flush=True)

    def check(self, cond, what, sent=None, got=None, expected=None):
        if cond:
            self.passed += 1
            return True
        lines = [f"FAIL [{self.section}] {what}"]
        if sent is not None:
            lines.append(f"   sent:     {short(sent)}")
        if got is not None:
            lines.append(f"   got:      {short(got)}")
        if expected is not None:
            lines.append(f"   expected: {short(expected)}")
        msg = "\n".join(lines)
        print(msg, flush=True)
        self.failures.append(msg)
        return False

    def eq(self, got, expected, what, sent=None, context=None):
        """got == expected; `context` (e.g. the whole response body) is shown on failure."""
        shown = got if context is None else f"{short(got)}\n   context:  {short(context)}"
        return self.check(got == expected, what, sent=sent, got=shown, expected=expected)

    def run(self, section, fn, *args):
        """Run one group of checks; an exception fails the group, not the script."""
        self.begin(section)
        try:
            return fn(*args)
        except Exception as e:  # noqa: BLE001 - any exception is a failed check
            detail = describe_error(e)
            self.check(False, f"raised {type(e).__name__}: {detail}\n{traceback.format_exc()}")
            return None


def short(v, limit=1500):
    if isinstance(v, (dict, list)):
        try:
            v = json.dumps(v, default=str, sort_keys=False)
        except (TypeError, ValueError):
            v = repr(v)
    s = v if isinstance(v, str) else repr(v)
    return s if len(s) <= limit else s[:limit] + f"... ({len(s)} chars)"


def describe_error(e):
    if isinstance(e, APIStatusError):
        return f"HTTP {e.status_code} {e.response.request.method} {e.response.request.url}: {e.response.text}"
    return str(e)


def expect_status_error(c, cls, status, what, call, *args, **kwargs):
    """`call` must raise `cls` (HTTP `status`); returns the error (or None)."""
    sent = f"{call.__name__}{args!r} {kwargs!r}"
    try:
        result = call(*args, **kwargs)
    except APIStatusError as e:
        c.check(
            isinstance(e, cls) and e.status_code == status,
            f"{what}: {cls.__name__} ({status})",
            sent=sent,
            got=f"{type(e).__name__} HTTP {e.status_code}: {e.response.text}",
            expected=f"{cls.__name__} HTTP {status}",
        )
        return e
    c.check(False, f"{what}: {cls.__name__} ({status})", sent=sent, got=f"success: {result!r}",
            expected=f"{cls.__name__} HTTP {status}")
    return None


def body_of(e):
    try:
        return e.response.json()
    except ValueError:
        return e.response.text


def check_detail(c, e, what, must_contain=()):
    """A handler error: 400 `{"detail": "<message>"}`."""
    if e is None:
        return
    body = body_of(e)
    ok = isinstance(body, dict) and isinstance(body.get("detail"), str)
    c.check(ok, f"{what}: body is {{\"detail\": \"...\"}}", got=body, expected='{"detail": "..."}')
    text = json.dumps(body).lower()
    for word in must_contain:
        c.check(word.lower() in text, f"{what}: error names {word!r}", got=body)


def check_validation_envelope(c, e, what, must_contain=()):
    """Request validation: 400 `{"error": {"detail": {"errors": [{"loc","msg","type"}]}}}`."""
    if e is None:
        return
    body = body_of(e)
    errors = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        detail = body["error"].get("detail")
        if isinstance(detail, dict):
            errors = detail.get("errors")
    ok = (
        isinstance(errors, list)
        and len(errors) > 0
        and all(isinstance(x, dict) and isinstance(x.get("loc"), list) and "msg" in x and "type" in x for x in errors)
    )
    c.check(ok, f"{what}: body is the validation envelope", got=body,
            expected='{"error": {"detail": {"errors": [{"loc": [...], "msg": ..., "type": ...}]}}}')
    text = json.dumps(body)
    for word in must_contain:
        c.check(word in text, f"{what}: error names {word!r}", got=body)


# --------------------------------------------------------------------------- the store


def parse_time(v):
    """A store or wire timestamp (or a datetime from the client) as an aware UTC datetime."""
    if v is None:
        return None
    if isinstance(v, dt.datetime):
        return v if v.tzinfo else v.replace(tzinfo=UTC)
    s = str(v).strip()
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    t = dt.datetime.fromisoformat(s)
    return t if t.tzinfo else t.replace(tzinfo=UTC)


class Store:
    def __init__(self, path):
        self.path = path

    def _conn(self):
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)
        conn.row_factory = sqlite3.Row
        return conn

    def rows(self, sql, params=()):
        conn = self._conn()
        try:
            return [dict(r) for r in conn.execute(sql, params).fetchall()]
        finally:
            conn.close()

    def traces(self):
        """Listed traces (root span closed), as llama-stack lists them."""
        return self.rows(
            "SELECT trace_id, service_name, root_span_id, start_time, end_time FROM traces "
            "WHERE root_span_id IS NOT NULL"
        )

    def spans(self, trace_id=None):
        sql = (
            "SELECT span_id, trace_id, parent_span_id, name, start_time, end_time, attributes, status, "
            "category FROM spans"
        )
        rows = self.rows(sql + " WHERE trace_id = ?", (trace_id,)) if trace_id else self.rows(sql)
        for r in rows:
            r["attributes"] = json.loads(r["attributes"] or "{}")
        return rows

    def span(self, span_id):
        rows = [s for s in self.spans() if s["span_id"] == span_id]
        return rows[0] if rows else None

    def tree(self, span_id, max_depth=None):
        """(span, depth) of the subtree under span_id, depth 1 at the start span."""
        by_parent = {}
        spans = self.spans()
        for s in spans:
            by_parent.setdefault(s["parent_span_id"], []).append(s)
        start = next((s for s in spans if s["span_id"] == span_id), None)
        if start is None:
            return []
        out, frontier, depth = [], [start], 1
        while frontier and (max_depth is None or depth <= max(max_depth, 1)):
            out.extend((s, depth) for s in frontier)
            frontier = [ch for s in frontier for ch in by_parent.get(s["span_id"], []) if ch["trace_id"] == s["trace_id"]]
            depth += 1
        return out


def matches(attrs, cond):
    """llama-stack's per-span comparison: json_extract(attributes, key) <op> value."""
    key, op, value = cond["key"], cond["op"], cond["value"]
    if key not in attrs or attrs[key] is None:
        return False  # NULL compares to nothing
    a = attrs[key]
    if isinstance(value, bool) or isinstance(a, bool):
        a, value = int(a) if isinstance(a, bool) else a, int(value) if isinstance(value, bool) else value
    num = (int, float)
    if isinstance(a, num) != isinstance(value, num):
        # SQLite: a number is less than any text; equality never holds across types.
        if op == "eq":
            return False
        if op == "ne":
            return True
        a_less = isinstance(a, num)
        return a_less if op == "lt" else not a_less
    return {"eq": a == value, "ne": a != value, "gt": a > value, "lt": a < value}[op]


def expected_trace_ids(store, filters):
    """Traces with at least one span that satisfies every condition at once."""
    ids = set()
    listed = {t["trace_id"] for t in store.traces()}
    for s in store.spans():
        if s["trace_id"] in listed and all(matches(s["attributes"], f) for f in filters):
            ids.add(s["trace_id"])
    return ids


def store_metric_points(store, metric):
    """Every measurement query_metrics(metric) must answer from: the MetricEvents in
    span_events (the token events derived from each inference span, and logged ones) and
    the rows of the metrics table of that name. (labels, value, time, unit) each."""
    rows = store.rows(
        "SELECT timestamp, value, unit, attributes FROM span_events WHERE event_type = 'metric' AND metric = ? "
        "UNION ALL SELECT timestamp, value, unit, attributes FROM metrics WHERE name = ?",
        (metric, metric),
    )
    return [
        (json.loads(r["attributes"] or "{}"), float(r["value"]), parse_time(r["timestamp"]), r["unit"])
        for r in rows
    ]


def label_key(labels):
    return tuple(sorted(labels.items()))


def series_labels(series):
    return {lab.name: lab.value for lab in series.labels}


# --------------------------------------------------------------------------- the checks


class Suite:
    def __init__(self, client, store, c, args, raw_client):
        self.client = client
        self.t = client.telemetry
        self.store = store
        self.c = c
        self.args = args
        self.raw = raw_client  # httpx client on the same base URL (shape checks)
        self.prefix = args.prefix
        self.result = {}

    # -- helpers

    def raw_json(self, method, path, body=None):
        r = self.raw.request(method, f"{self.prefix}{path}", json=body)
        return r.status_code, (r.json() if r.content else None), r

    def check_wire_times(self, obj, what, keys=("start_time", "end_time")):
        for k in keys:
            v = obj.get(k)
            if v is not None:
                self.c.check(isinstance(v, str) and WIRE_TIME.match(v) is not None,
                             f"{what}: {k} is RFC 3339 UTC with Z and microseconds", got=v,
                             expected="YYYY-MM-DDTHH:MM:SS[.ffffff]Z")

    def same_time(self, got, stored, what):
        self.c.eq(parse_time(got), parse_time(stored), what)

    def check_trace(self, got, st, what):
        self.c.eq(got.trace_id, st["trace_id"], f"{what}: trace_id")
        self.c.eq(got.root_span_id, st["root_span_id"], f"{what}: root_span_id")
        self.same_time(got.start_time, st["start_time"], f"{what}: start_time")
        self.same_time(got.end_time, st["end_time"], f"{what}: end_time")

    def check_span(self, got, st, what, attributes=None):
        self.c.eq(got.span_id, st["span_id"], f"{what}: span_id")
        self.c.eq(got.trace_id, st["trace_id"], f"{what}: trace_id (the real one)")
        self.c.eq(got.parent_span_id, st["parent_span_id"], f"{what}: parent_span_id")
        self.c.eq(got.name, st["name"], f"{what}: name")
        self.same_time(got.start_time, st["start_time"], f"{what}: start_time")
        self.same_time(got.end_time, st["end_time"], f"{what}: end_time")
        want = st["attributes"] if attributes is None else attributes
        self.c.eq(got.attributes, want, f"{what}: attributes")

    # -- query_traces

    def query_traces(self):
        c, store = self.c, self.store
        stored = {t["trace_id"]: t for t in store.traces()}
        c.check(len(stored) >= 5, "the example agent wrote at least 5 traces", got=len(stored))

        got = self.t.query_traces()
        c.eq(sorted(t.trace_id for t in got), sorted(stored), "query_traces(): every listed trace of the store")
        for t in got:
            if t.trace_id in stored:
                self.check_trace(t, stored[t.trace_id], f"query_traces() {t.trace_id}")

        status, body, _ = self.raw_json("POST", "/traces", {})
        c.eq(status, 200, "POST /traces {} is 200", sent={})
        if status == 200:
            c.check(isinstance(body, dict) and isinstance(body.get("data"), list), "query_traces wraps in {data: [...]}", got=body)
            for t in body.get("data", []):
                c.eq(list(t.keys())[:4], ["trace_id", "root_span_id", "start_time", "end_time"], "Trace fields first, in order", context=t)
                self.check_wire_times(t, "query_traces raw")
        r = self.raw.post(f"{self.prefix}/traces", content=b"", headers={"content-type": "application/json"})
        c.eq(r.status_code, 200, "POST /traces with an empty body is 200 (defaults)", context=r.text)

        by_start = sorted(stored.values(), key=lambda t: parse_time(t["start_time"]))
        asc = self.t.query_traces(order_by=["start_time"])
        c.eq([t.trace_id for t in asc], [t["trace_id"] for t in by_start], "order_by ['start_time'] ascends", sent=["start_time"])
        desc = self.t.query_traces(order_by=["-start_time"])
        c.eq([t.trace_id for t in desc], [t["trace_id"] for t in reversed(by_start)], "order_by ['-start_time'] descends", sent=["-start_time"])
        by_id = sorted(stored)
        got_ids = [t.trace_id for t in self.t.query_traces(order_by=["-trace_id"])]
        c.eq(got_ids, list(reversed(by_id)), "order_by ['-trace_id'] descends", sent=["-trace_id"])
        by_end = [t["trace_id"] for t in sorted(stored.values(), key=lambda t: parse_time(t["end_time"]))]
        c.eq([t.trace_id for t in self.t.query_traces(order_by=["end_time"])], by_end, "order_by ['end_time']")

        page = self.t.query_traces(order_by=["start_time"], limit=2, offset=1)
        c.eq([t.trace_id for t in page], [t["trace_id"] for t in by_start[1:3]], "limit=2 offset=1 over start_time order",
             sent={"limit": 2, "offset": 1, "order_by": ["start_time"]})
        c.eq(len(self.t.query_traces(limit=1)), 1, "limit=1 gives one trace")
        c.eq(self.t.query_traces(order_by=["start_time"], offset=len(stored)), [], "offset past the end gives []")

        for bad in (["nope"], ["duration_ms"], ["created_at; DROP TABLE spans"]):
            e = expect_status_error(c, BadRequestError, 400, f"order_by {bad}", self.t.query_traces, order_by=bad)
            if e is not None:
                text = e.response.text
                for col in TRACE_COLUMNS:
                    c.check(col in text, f"order_by {bad}: the 400 names accepted column {col!r}", got=text)
        e = expect_status_error(c, BadRequestError, 400, "limit 'x' (malformed body)", self.t.query_traces, limit="x")
        check_validation_envelope(c, e, "limit 'x'", must_contain=("limit",))

        filters = [
            [{"key": "gen_ai.conversation.id", "op": "eq", "value": "session-paris"}],
            [{"key": "gen_ai.conversation.id", "op": "ne", "value": "session-paris"}],
            [{"key": "gen_ai.usage.input_tokens", "op": "gt", "value": 10}],
            [{"key": "gen_ai.usage.input_tokens", "op": "lt", "value": 7}],
            [{"key": "gen_ai.operation.name", "op": "eq", "value": "chat"},
             {"key": "gen_ai.usage.output_tokens", "op": "gt", "value": 12}],
            [{"key": "gen_ai.tool.name", "op": "eq", "value": "get_weather"}],
            [{"key": "no.such.attribute", "op": "eq", "value": "x"}],
        ]
        for f in filters:
            want = expected_trace_ids(store, f)
            got = {t.trace_id for t in self.t.query_traces(attribute_filters=f)}
            c.eq(sorted(got), sorted(want), "attribute_filters select the traces of matching spans", sent=f)
        nonempty = [f for f in filters[:4] if expected_trace_ids(store, f)]
        c.check(len(nonempty) == 4, "eq/ne/gt/lt each match something in the example store (a real test)",
                got=len(nonempty))
        e = expect_status_error(c, BadRequestError, 400, "attribute_filters op 'like'", self.t.query_traces,
                                attribute_filters=[{"key": "a", "op": "like", "value": "x"}])
        check_validation_envelope(c, e, "op 'like'")

    # -- get_trace

    def get_trace(self):
        c = self.c
        stored = self.store.traces()
        for st in stored:
            self.check_trace(self.t.get_trace(st["trace_id"]), st, f"get_trace({st['trace_id']})")
        st = stored[0]
        status, body, r = self.raw_json("GET", f"/traces/{st['trace_id']}")
        c.eq(status, 200, "GET /traces/{id} is 200")
        if status == 200:
            c.eq(list(body.keys())[:4], ["trace_id", "root_span_id", "start_time", "end_time"], "get_trace: bare Trace, its fields first, in order", context=body)
            self.check_wire_times(body, "get_trace raw")
        for bad in ("0" * 32, "doesnotexist", "abc/def", "a/b/c", "x y", "%2F", st["trace_id"] + "/"):
            e = expect_status_error(c, BadRequestError, 400, f"get_trace({bad!r})", self.t.get_trace, bad)
            check_detail(c, e, f"get_trace({bad!r})", must_contain=("not found",))

    # -- get_span

    def get_span(self):
        c = self.c
        spans = self.store.spans()
        for st in spans:
            got = self.t.get_span(st["span_id"], trace_id=st["trace_id"])
            self.check_span(got, st, f"get_span({st['span_id']})")
        inference = [s for s in spans if s["category"] == "inference"]
        c.check(len(inference) > 0, "the store has inference spans", got=len(inference))
        for st in inference:
            got = self.t.get_span(st["span_id"], trace_id=st["trace_id"])
            c.eq((got.attributes or {}).get("gen_ai.request.model"), st["attributes"]["gen_ai.request.model"],
                 "get_span of an inference span carries gen_ai.request.model")
            c.check(isinstance((got.attributes or {}).get("gen_ai.usage.input_tokens"), (int, float)),
                    "token counts are numbers", got=got.attributes)
        root = next(s for s in spans if s["parent_span_id"] is None)
        status, body, _ = self.raw_json("GET", f"/traces/{root['trace_id']}/spans/{root['span_id']}")
        c.eq(status, 200, "GET /traces/{t}/spans/{s} is 200")
        if status == 200:
            c.eq(list(body.keys())[:7], ["span_id", "trace_id", "parent_span_id", "name", "start_time", "end_time", "attributes"],
                 "get_span: bare Span, its fields first, in order (null parent included)", context=body)
            c.check("parent_span_id" in body and body["parent_span_id"] is None, "root span: parent_span_id is null", got=body)
            c.check(isinstance(body.get("attributes"), dict), "get_span: attributes is a dict, not a string", got=body)
            self.check_wire_times(body, "get_span raw")
        other = next(t for t in self.store.traces() if t["trace_id"] != root["trace_id"])
        e = expect_status_error(c, BadRequestError, 400, "get_span with another trace's id", self.t.get_span,
                                root["span_id"], trace_id=other["trace_id"])
        check_detail(c, e, "get_span wrong trace", must_contain=("not found",))
        e = expect_status_error(c, BadRequestError, 400, "get_span unknown span", self.t.get_span, "f" * 16, trace_id=root["trace_id"])
        check_detail(c, e, "get_span unknown span", must_contain=("not found",))
        e = expect_status_error(c, BadRequestError, 400, "get_span span id with '/'", self.t.get_span, "a/b", trace_id=root["trace_id"])
        check_detail(c, e, "get_span 'a/b'", must_contain=("not found",))

    # -- get_span_tree

    def get_span_tree(self):
        c, store = self.c, self.store
        for tr in store.traces():
            root = tr["root_span_id"]
            want = store.tree(root)
            got = self.t.get_span_tree(root)
            want_order = [s["span_id"] for s, _ in sorted(want, key=lambda x: (x[1], parse_time(x[0]["start_time"])))]
            c.eq(list(got.keys()), want_order, f"get_span_tree({root}): the trace's spans keyed by id, by depth then start")
            for s, _ in want:
                g = got.get(s["span_id"])
                if g is None:
                    continue
                self.check_span(g, s, f"get_span_tree({root}) {s['span_id']}")
                c.eq(g.status, s["status"] if s["status"] != "unset" else g.status, f"get_span_tree status of {s['span_id']}")
                c.check(g.status in ("ok", "error", "unset", None), "status is ok/error/unset/null", got=g.status)
            for depth in (1, 2):
                got_d = self.t.get_span_tree(root, max_depth=depth)
                c.eq(sorted(got_d), sorted(s["span_id"] for s, _ in store.tree(root, depth)),
                     f"get_span_tree({root}, max_depth={depth})")
        errored = [s for s in store.spans() if s["status"] == "error"]
        c.check(len(errored) > 0, "the example store has an error span", got=len(errored))
        for s in errored:
            got = self.t.get_span_tree(s["span_id"])
            c.eq(got.get(s["span_id"]).status if s["span_id"] in got else None, "error", "an error span's status is 'error'")

        tr = next(t for t in store.traces())
        child = next(s for s in store.spans(tr["trace_id"]) if s["parent_span_id"] is not None)
        got = self.t.get_span_tree(child["span_id"])
        c.eq(sorted(got), sorted(s["span_id"] for s, _ in store.tree(child["span_id"])), "get_span_tree of a child span: its subtree")

        keys = ["gen_ai.request.model", "no.such.key"]
        got = self.t.get_span_tree(tr["root_span_id"], attributes_to_return=keys)
        for s, _ in store.tree(tr["root_span_id"]):
            g = got.get(s["span_id"])
            if g is None:
                c.check(False, f"attributes_to_return tree misses {s['span_id']}")
                continue
            c.eq(g.attributes, {k: s["attributes"].get(k) for k in keys},
                 "attributes_to_return: exactly those keys, a missing one null", sent=keys)
        status, body, _ = self.raw_json("POST", f"/spans/{tr['root_span_id']}/tree", {"attributes_to_return": keys, "max_depth": 1})
        c.eq(status, 200, "POST /spans/{id}/tree raw")
        if status == 200:
            data = body.get("data", {}) if isinstance(body, dict) else {}
            entry = data.get(tr["root_span_id"], {})
            c.eq(list(entry.keys())[:8], ["span_id", "trace_id", "parent_span_id", "name", "start_time", "end_time", "attributes", "status"],
                 "SpanWithStatus fields first, in order", context=entry)
            c.check("no.such.key" in entry.get("attributes", {}) and entry["attributes"]["no.such.key"] is None,
                    "a missing attribute is present as JSON null", got=entry)
            self.check_wire_times(entry, "get_span_tree raw")
        e = expect_status_error(c, BadRequestError, 400, "get_span_tree unknown span", self.t.get_span_tree, "f" * 16)
        check_detail(c, e, "get_span_tree unknown", must_contain=("not found",))
        e = expect_status_error(c, BadRequestError, 400, "get_span_tree id with '/'", self.t.get_span_tree, "a/b")
        check_detail(c, e, "get_span_tree 'a/b'", must_contain=("not found",))
        e = expect_status_error(c, BadRequestError, 400, "get_span_tree max_depth 'deep'", self.t.get_span_tree,
                                tr["root_span_id"], max_depth="deep")
        check_validation_envelope(c, e, "max_depth 'deep'", must_contain=("max_depth",))

    # -- query_spans

    def expected_spans(self, filters, attrs, max_depth=None):
        """llama-stack's query_spans: the trees of the (first 100) matching traces, spans
        with a non-null value for every attribute asked for (or any attribute at all)."""
        out = []
        listed = {t["trace_id"]: t for t in self.store.traces()}
        ids = expected_trace_ids(self.store, filters) if filters else set(listed)
        for tid in ids:
            for s, _ in self.store.tree(listed[tid]["root_span_id"], max_depth):
                a = s["attributes"]
                if attrs:
                    if all(a.get(k) is not None for k in attrs):
                        out.append((s, {k: a[k] for k in attrs}))
                elif a:
                    out.append((s, a))
        return out

    def query_spans(self):
        c = self.c
        cases = [
            ([{"key": "gen_ai.conversation.id", "op": "eq", "value": "session-paris"}], ["gen_ai.request.model"], None),
            ([], [], None),
            ([], ["gen_ai.tool.name", "gen_ai.operation.name"], None),
            ([{"key": "gen_ai.usage.input_tokens", "op": "gt", "value": 10}], ["gen_ai.usage.input_tokens"], 2),
            ([], [], 1),
            ([{"key": "no.such.attribute", "op": "eq", "value": 1}], [], None),
        ]
        for filters, attrs, depth in cases:
            sent = {"attribute_filters": filters, "attributes_to_return": attrs, "max_depth": depth}
            kwargs = {"attribute_filters": filters, "attributes_to_return": attrs}
            if depth is not None:
                kwargs["max_depth"] = depth
            got = self.t.query_spans(**kwargs)
            want = self.expected_spans(filters, attrs, depth)
            c.eq(sorted(s.span_id for s in got), sorted(s["span_id"] for s, _ in want), "query_spans: the spans", sent=sent)
            want_by_id = {s["span_id"]: (s, a) for s, a in want}
            for g in got:
                if g.span_id in want_by_id:
                    s, a = want_by_id[g.span_id]
                    self.check_span(g, s, f"query_spans {g.span_id}", attributes=a)
                    c.check(g.trace_id != s["span_id"] or s["trace_id"] == s["span_id"],
                            "query_spans: trace_id is not the root span id", got=g.trace_id)
        c.check(len(self.expected_spans(*cases[0][:2])) > 0, "the first query_spans case selects spans (a real test)")
        e = expect_status_error(c, BadRequestError, 400, "query_spans without attributes_to_return", self.t.query_spans,
                                attribute_filters=[], attributes_to_return=None)
        check_validation_envelope(c, e, "attributes_to_return null", must_contain=("attributes_to_return",))
        status, body, _ = self.raw_json("POST", "/spans", {"attribute_filters": []})
        c.eq(status, 400, "query_spans with attributes_to_return missing is a 400", context=body)
        check_validation_envelope(c, FakeError(body), "attributes_to_return missing", must_contain=("attributes_to_return", "missing"))

    # -- save_spans_to_dataset

    def save_spans_to_dataset(self):
        c = self.c
        ds_dir = self.args.datasets_dir
        filters = [{"key": "gen_ai.operation.name", "op": "eq", "value": "chat"}]
        attrs = ["gen_ai.request.model", "gen_ai.usage.output_tokens"]
        dataset_id = f"py-{self.args.mode}-chat-{secrets.token_hex(3)}"
        path = os.path.join(ds_dir, f"{dataset_id}.jsonl")
        res = self.t.save_spans_to_dataset(attribute_filters=filters, attributes_to_save=attrs, dataset_id=dataset_id)
        c.eq(res, None, "save_spans_to_dataset returns None")
        if not c.check(os.path.isfile(path), f"save_spans_to_dataset wrote {path}",
                       got=sorted(os.listdir(ds_dir)) if os.path.isdir(ds_dir) else f"no directory {ds_dir}"):
            return
        with open(path, encoding="utf-8") as f:
            lines = [ln for ln in f.read().splitlines() if ln.strip()]
        rows = []
        for ln in lines:
            try:
                rows.append(json.loads(ln))
            except ValueError:
                c.check(False, "every line of the dataset is JSON", got=ln)
        want = self.expected_spans(filters, attrs)
        c.check(len(want) > 0, "the dataset selection is not empty (a real test)", got=len(want))
        c.eq(sorted(r.get("span_id") for r in rows), sorted(s["span_id"] for s, _ in want), "dataset rows: the selected spans",
             sent={"attribute_filters": filters, "attributes_to_save": attrs})
        want_by_id = {s["span_id"]: (s, a) for s, a in want}
        for r in rows:
            if r.get("span_id") not in want_by_id:
                continue
            s, a = want_by_id[r["span_id"]]
            for k in ("trace_id", "parent_span_id", "name"):
                c.eq(r.get(k), s[k], f"dataset row {s['span_id']}: {k}")
            for k in ("start_time", "end_time"):
                c.eq(parse_time(r.get(k)), parse_time(s[k]), f"dataset row {s['span_id']}: {k}")
            for k, v in a.items():
                c.eq(r.get(k), v, f"dataset row {s['span_id']}: attribute {k}")
        self.result["dataset_rows"] = len(rows)

        for bad in ("../escape", "a/b", "", "..", "/tmp/abs"):
            e = expect_status_error(c, BadRequestError, 400, f"dataset_id {bad!r}", self.t.save_spans_to_dataset,
                                    attribute_filters=[], attributes_to_save=[], dataset_id=bad)
            if e is not None:
                c.check("dataset_id" in e.response.text, f"dataset_id {bad!r}: the 400 names dataset_id", got=e.response.text)
        c.check(not os.path.exists(os.path.join(os.path.dirname(ds_dir), "escape.jsonl")), "no file escaped the datasets dir")

    # -- query_metrics

    def metric_series(self, name, **kwargs):
        return self.t.query_metrics(name, **kwargs)

    def check_token_metric(self, name, start, end):
        c = self.c
        events = store_metric_points(self.store, name)
        c.check(len(events) > 0, f"the store has {name} events", got=len(events))
        groups = {}
        for labels, value, ts, unit in events:
            groups.setdefault(label_key(labels), []).append((value, ts, unit))
        got = self.metric_series(name, query_type="range", start_time=start, end_time=end)
        c.eq(sorted(label_key(series_labels(s)) for s in got), sorted(groups),
             f"{name} range: one series per label set", sent={"start_time": start, "end_time": end})
        for s in got:
            c.eq(s.metric, name, f"{name}: series metric name")
            want = groups.get(label_key(series_labels(s)), [])
            c.eq(sorted(p.value for p in s.values), sorted(v for v, _, _ in want), f"{name} {series_labels(s)}: one point per event")
            c.eq(sorted(p.timestamp for p in s.values), sorted(int(ts.timestamp()) for _, ts, _ in want),
                 f"{name} {series_labels(s)}: point timestamps (unix seconds)")
            c.check(all(p.unit == "tokens" for p in s.values), f"{name}: unit tokens", got=[p.unit for p in s.values])
        for gran, step in (("1h", 3600), ("1m", 60), ("1d", 86400)):
            got = self.metric_series(name, query_type="range", start_time=start, end_time=end, granularity=gran)
            c.eq(sorted(label_key(series_labels(s)) for s in got), sorted(groups), f"{name} granularity {gran}: series")
            for s in got:
                want = groups.get(label_key(series_labels(s)), [])
                c.check(math.isclose(sum(p.value for p in s.values), sum(v for v, _, _ in want)),
                        f"{name} granularity {gran}: the buckets sum to the store's total",
                        got=[(p.timestamp, p.value) for p in s.values], expected=sum(v for v, _, _ in want))
                buckets = {int(ts.timestamp()) // step * step for _, ts, _ in want}
                c.eq(sorted(p.timestamp for p in s.values), sorted(buckets), f"{name} granularity {gran}: one point per bucket start")
        got = self.metric_series(name, query_type="instant", start_time=start, end_time=end)
        c.eq(sorted(label_key(series_labels(s)) for s in got), sorted(groups), f"{name} instant: series")
        for s in got:
            want = groups.get(label_key(series_labels(s)), [])
            c.eq(len(s.values), 1, f"{name} instant: one point")
            c.check(math.isclose(sum(p.value for p in s.values), sum(v for v, _, _ in want)), f"{name} instant: the sum",
                    got=[p.value for p in s.values], expected=sum(v for v, _, _ in want))
        return groups

    def query_metrics(self):
        c, store = self.c, self.store
        times = [parse_time(s["end_time"]) for s in store.spans()]
        start = int(min(times).timestamp()) - 3600
        end = int(time.time()) + 3600
        inference = [s for s in store.spans() if s["category"] == "inference"]
        groups = self.check_token_metric("prompt_tokens", start, end)
        agent_total = sum(s["attributes"].get("gen_ai.usage.input_tokens", 0) for s in inference)
        key = (("model_id", "local-rules-1"), ("provider_id", "local"))
        c.check(math.isclose(sum(v for v, _, _ in groups.get(key, [])), agent_total),
                "prompt_tokens of the agent's model = the inference spans' input tokens", got=groups.get(key), expected=agent_total)
        self.check_token_metric("completion_tokens", start, end)
        self.check_token_metric("total_tokens", start, end)

        status, body, _ = self.raw_json("POST", "/metrics/prompt_tokens", {"start_time": start, "end_time": end, "query_type": "range"})
        c.eq(status, 200, "POST /metrics/prompt_tokens raw")
        if status == 200:
            for s in body.get("data", []):
                c.eq(list(s.keys())[:3], ["metric", "labels", "values"], "MetricSeries fields first, in order", context=s)
                for p in s.get("values", []):
                    c.check(type(p.get("timestamp")) is int, "a data point's timestamp is an integer", got=p)
                    c.check({"timestamp", "value", "unit"} <= set(p.keys()), "MetricDataPoint fields", got=p)
                for lab in s.get("labels", []):
                    c.check({"name", "value"} <= set(lab.keys()), "MetricLabel fields", got=lab)
        status, body, _ = self.raw_json("POST", "/metrics/prompt_tokens", {"start_time": start})
        c.eq(status, 200, "query_metrics with start_time only (query_type defaults to range)", context=body)

        # Label matchers, over the label sets in the store (the agent's; log_event adds one).
        sets = sorted(groups)
        for name, op, value in (
            ("model_id", "=", "local-rules-1"),
            ("model_id", "!=", "local-rules-1"),
            ("model_id", "=~", "local-.*"),
            ("model_id", "!~", "local-.*"),
            ("model_id", "=~", "py-.*"),
            ("provider_id", "=", "local"),
            ("model_id", "=", "DOES-NOT-MATCH"),
        ):
            m = [{"name": name, "operator": op, "value": value}]
            got = self.metric_series("prompt_tokens", query_type="range", start_time=start, end_time=end, label_matchers=m)
            want = [k for k in sets if label_ok(dict(k), name, op, value)]
            c.eq(sorted(label_key(series_labels(s)) for s in got), want, "label_matchers filter the series", sent=m)
            for s in got:
                c.check(math.isclose(sum(p.value for p in s.values), sum(v for v, _, _ in groups[label_key(series_labels(s))])),
                        "a filtered series keeps all its points", sent=m)
        both = [{"name": "model_id", "operator": "=~", "value": ".*"}, {"name": "provider_id", "operator": "!=", "value": "local"}]
        got = self.metric_series("prompt_tokens", query_type="instant", start_time=start, end_time=end, label_matchers=both)
        c.eq(sorted(label_key(series_labels(s)) for s in got),
             [k for k in sets if all(label_ok(dict(k), m["name"], m["operator"], m["value"]) for m in both)],
             "two label_matchers are ANDed", sent=both)
        self.result["prompt_token_series"] = len(sets)

        # Stored metric names (the metrics table).
        for name in ("llama_stack.tokens", "gen_ai.client.token.usage", "llama_stack.prompt_tokens"):
            rows = store.rows("SELECT value, attributes, timestamp FROM metrics WHERE name = ?", (name,))
            c.check(len(rows) > 0, f"the store has {name} rows", got=len(rows))
            want = {}
            for r in rows:
                want.setdefault(label_key(json.loads(r["attributes"] or "{}")), []).append(float(r["value"]))
            got = self.metric_series(name, query_type="instant", start_time=start, end_time=end)
            c.eq(sorted(label_key(series_labels(s)) for s in got), sorted(want), f"{name}: one series per label set")
            for s in got:
                w = want.get(label_key(series_labels(s)), [])
                c.check(math.isclose(sum(p.value for p in s.values), sum(w)), f"{name} {series_labels(s)}: instant sum",
                        got=[p.value for p in s.values], expected=sum(w))
            if name == "llama_stack.tokens":
                total = sum(sum(v) for v in want.values())
                spans_total = sum(s["attributes"].get("gen_ai.usage.input_tokens", 0) + s["attributes"].get("gen_ai.usage.output_tokens", 0)
                                  for s in inference)
                c.check(math.isclose(total, spans_total), "llama_stack.tokens sums to the spans' tokens", got=total, expected=spans_total)
                alias = self.metric_series("llama_stack_tokens_total", query_type="instant", start_time=start, end_time=end)
                c.check(math.isclose(sum(p.value for s in alias for p in s.values), total),
                        "llama_stack_tokens_total (Prometheus name) = llama_stack.tokens",
                        got=[(series_labels(s), [p.value for p in s.values]) for s in alias], expected=total)
            if name == "gen_ai.client.token.usage":
                m = [{"name": "gen_ai.token.type", "operator": "=", "value": "input"}]
                got = self.metric_series(name, query_type="instant", start_time=start, end_time=end, label_matchers=m)
                want_in = [k for k in want if dict(k).get("gen_ai.token.type") == "input"]
                c.eq(sorted(label_key(series_labels(s)) for s in got), sorted(want_in), f"{name} gen_ai.token.type = input", sent=m)

        c.eq(self.metric_series("no_such_metric", query_type="range", start_time=start), [], "an unknown metric: data []")
        c.eq(self.metric_series("prompt_tokens", query_type="range", start_time=end + 10, end_time=end + 20), [],
             "a window with no points: data []")
        e = expect_status_error(c, BadRequestError, 400, "start_time 'yesterday'", self.metric_series, "prompt_tokens",
                                query_type="range", start_time="yesterday")
        check_validation_envelope(c, e, "start_time 'yesterday'", must_contain=("start_time",))
        e = expect_status_error(c, BadRequestError, 400, "query_type 'sometimes'", self.metric_series, "prompt_tokens",
                                query_type="sometimes", start_time=start)
        check_validation_envelope(c, e, "query_type 'sometimes'", must_contain=("query_type",))
        e = expect_status_error(c, BadRequestError, 400, "label operator '=='", self.metric_series, "prompt_tokens",
                                query_type="range", start_time=start, label_matchers=[{"name": "a", "operator": "==", "value": "b"}])
        check_validation_envelope(c, e, "operator '=='")
        e = expect_status_error(c, BadRequestError, 400, "an invalid regex", self.metric_series, "prompt_tokens",
                                query_type="range", start_time=start, label_matchers=[{"name": "model_id", "operator": "=~", "value": "("}])

    # -- log_event

    def log_event(self):
        c = self.c
        now = dt.datetime.now(UTC)
        trace_id, root_id, child_id = secrets.token_hex(16), secrets.token_hex(8), secrets.token_hex(8)
        message = f"hello from llama-stack-client {secrets.token_hex(4)}"
        common = {"trace_id": trace_id}

        def at(seconds_ago):
            return now - dt.timedelta(seconds=seconds_ago)

        events = [
            {**common, "span_id": root_id, "type": "structured_log", "timestamp": at(3.0),
             "attributes": {"py.check": "yes", "py.n": 3, "session_id": "py-session"},
             "payload": {"type": "span_start", "name": "py-client root"}},
            {**common, "span_id": child_id, "type": "structured_log", "timestamp": at(2.5),
             "attributes": {"py.role": "child"},
             "payload": {"type": "span_start", "name": "py-client child", "parent_span_id": root_id}},
            {**common, "span_id": child_id, "type": "unstructured_log", "timestamp": at(2.0),
             "message": message, "severity": "warn", "attributes": {"py.where": "child"}},
            {**common, "span_id": child_id, "type": "metric", "timestamp": at(1.8), "metric": "prompt_tokens",
             "value": 11, "unit": "tokens", "attributes": {"model_id": "py-model", "provider_id": "py-provider"}},
            {**common, "span_id": child_id, "type": "metric", "timestamp": at(1.7), "metric": "py_client_checks",
             "value": 2, "unit": "checks", "attributes": {"suite": "a"}},
            {**common, "span_id": root_id, "type": "metric", "timestamp": at(1.6), "metric": "py_client_checks",
             "value": 3.5, "unit": "checks", "attributes": {"suite": "b"}},
            {**common, "span_id": child_id, "type": "structured_log", "timestamp": at(1.0),
             "payload": {"type": "span_end", "status": "ok"}},
            {**common, "span_id": root_id, "type": "structured_log", "timestamp": at(0.5),
             "payload": {"type": "span_end", "status": "error"}},
        ]
        for ev in events:
            c.eq(self.t.log_event(event=ev, ttl_seconds=3600), None, f"log_event {ev['type']} returns None", sent=ev)
        # A naive timestamp is sent without a zone (the client's iso8601 form).
        c.eq(self.t.log_event(event={**common, "span_id": child_id, "type": "unstructured_log",
                                     "timestamp": now.replace(tzinfo=None) - dt.timedelta(seconds=1.9),
                                     "message": message + " (naive)", "severity": "info"}, ttl_seconds=60),
             None, "log_event with a naive timestamp")
        self.result.update(logged_trace_id=trace_id, logged_root_span_id=root_id, logged_child_span_id=child_id,
                           logged_message=message, logged_root_name="py-client root", logged_child_name="py-client child")

        trace = None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                trace = self.t.get_trace(trace_id)
                break
            except BadRequestError:
                time.sleep(0.1)
        if not c.check(trace is not None, "the logged trace appears in get_trace within 15 s", sent=trace_id):
            return
        c.eq(trace.root_span_id, root_id, "logged trace: root_span_id")
        self.same_time(trace.start_time, at(3.0), "logged trace: start_time = span_start's timestamp")
        self.same_time(trace.end_time, at(0.5), "logged trace: end_time = the root's span_end timestamp")
        listed = {t.trace_id for t in self.t.query_traces(limit=1000)}
        c.check(trace_id in listed, "the logged trace is listed by query_traces", got=len(listed))
        f = [{"key": "py.check", "op": "eq", "value": "yes"}]
        c.eq([t.trace_id for t in self.t.query_traces(attribute_filters=f)], [trace_id], "query_traces by a logged attribute", sent=f)

        tree = self.t.get_span_tree(root_id)
        c.eq(list(tree.keys()), [root_id, child_id], "get_span_tree of the logged root: root then child")
        if root_id in tree:
            r = tree[root_id]
            c.eq((r.name, r.trace_id, r.parent_span_id, r.status), ("py-client root", trace_id, None, "error"), "logged root span")
            c.eq(r.attributes, {"py.check": "yes", "py.n": 3, "session_id": "py-session"}, "logged root span: attributes")
            self.same_time(r.start_time, at(3.0), "logged root: start_time")
            self.same_time(r.end_time, at(0.5), "logged root: end_time")
        if child_id in tree:
            ch = tree[child_id]
            c.eq((ch.name, ch.parent_span_id, ch.status), ("py-client child", root_id, "ok"), "logged child span")
            c.eq(ch.attributes, {"py.role": "child"}, "logged child span: attributes")
        got = self.t.get_span(child_id, trace_id=trace_id)
        c.eq((got.name, got.parent_span_id), ("py-client child", root_id), "get_span of the logged child")

        st_spans = {s["span_id"]: s for s in self.store.spans(trace_id)}
        c.eq(sorted(st_spans), sorted([root_id, child_id]), "the store holds the two logged spans")
        if root_id in st_spans:
            c.eq(st_spans[root_id]["status"], "error", "store: the root's status")
            c.eq(st_spans[root_id]["parent_span_id"], None, "store: the root has no parent")
        logs = self.store.rows("SELECT span_id, severity, message FROM span_events WHERE trace_id = ? AND event_type = 'unstructured_log' ORDER BY timestamp", (trace_id,))
        c.eq([(r["span_id"], r["severity"], r["message"]) for r in logs],
             [(child_id, "warn", message), (child_id, "info", message + " (naive)")], "store: the logged logs, on the child span")

        start = int(now.timestamp()) - 3600
        got = self.metric_series("py_client_checks", query_type="range", start_time=start)
        c.eq(sorted((label_key(series_labels(s)), [p.value for p in s.values]) for s in got),
             [((("suite", "a"),), [2.0]), ((("suite", "b"),), [3.5])], "query_metrics sees the logged MetricEvents, one series per label set")
        for s in got:
            c.check(all(p.unit == "checks" for p in s.values), "logged metric: unit", got=[p.unit for p in s.values])
            c.check(all(abs(p.timestamp - int(now.timestamp())) <= 3 for p in s.values), "logged metric: timestamp", got=[p.timestamp for p in s.values])
        m = [{"name": "suite", "operator": "=", "value": "b"}]
        got = self.metric_series("py_client_checks", query_type="instant", start_time=start, label_matchers=m)
        c.eq([(series_labels(s), [p.value for p in s.values]) for s in got], [({"suite": "b"}, [3.5])], "label matcher on a logged metric", sent=m)
        # The logged prompt_tokens event is a second label set next to the agent's model.
        end = int(time.time()) + 3600
        groups = self.check_token_metric("prompt_tokens", start - 86400, end)
        c.check((("model_id", "py-model"), ("provider_id", "py-provider")) in groups and len(groups) >= 2,
                "prompt_tokens now has the logged label set too", got=sorted(groups))
        self.query_metrics_label_sets(start - 86400, end, groups)

        # Bad ids and bodies.
        base = {"type": "unstructured_log", "timestamp": now, "message": "x", "severity": "info"}
        for field, ev in (
            ("trace_id", {**base, "trace_id": "xyz", "span_id": child_id}),
            ("trace_id", {**base, "trace_id": trace_id.upper()[:31] + "G", "span_id": child_id}),
            ("span_id", {**base, "trace_id": trace_id, "span_id": trace_id}),
            ("span_id", {**base, "trace_id": trace_id, "span_id": "not-hex-at-all!"}),
        ):
            e = expect_status_error(c, BadRequestError, 400, f"log_event with a bad {field}", self.t.log_event, event=ev, ttl_seconds=60)
            if e is not None:
                c.check(field in e.response.text, f"log_event bad {field}: the 400 names {field}", got=e.response.text)
        for what, ev in (
            ("no message", {k: v for k, v in base.items() if k != "message"} | {"trace_id": trace_id, "span_id": child_id}),
            ("unknown type", {**base, "type": "telepathy", "trace_id": trace_id, "span_id": child_id}),
            ("bad severity", {**base, "severity": "loud", "trace_id": trace_id, "span_id": child_id}),
            ("span_end without status", {"type": "structured_log", "timestamp": now, "trace_id": trace_id, "span_id": child_id,
                                         "payload": {"type": "span_end"}}),
        ):
            e = expect_status_error(c, BadRequestError, 400, f"log_event {what}", self.t.log_event, event=ev, ttl_seconds=60)
            check_validation_envelope(c, e, f"log_event {what}")
        status, body, _ = self.raw_json("POST", "/events", {"ttl_seconds": 5})
        c.eq(status, 400, "log_event without an event is a 400", context=body)
        check_validation_envelope(c, FakeError(body), "log_event without event", must_contain=("event", "missing"))

    def query_metrics_label_sets(self, start, end, groups):
        c = self.c
        sets = sorted(groups)
        for name, op, value in (
            ("model_id", "=", "py-model"),
            ("model_id", "!=", "local-rules-1"),
            ("model_id", "=~", "local-.*"),
            ("model_id", "!~", "local-.*"),
            ("provider_id", "=~", "py-.*"),
        ):
            m = [{"name": name, "operator": op, "value": value}]
            got = self.metric_series("prompt_tokens", query_type="instant", start_time=start, end_time=end, label_matchers=m)
            want = [k for k in sets if label_ok(dict(k), name, op, value)]
            c.check(0 < len(want) < len(sets), "the matcher splits the label sets (a real filter test)", sent=m, got=want)
            c.eq(sorted(label_key(series_labels(s)) for s in got), want, "label_matchers over two label sets", sent=m)

    # -- version / prefix

    def client_paths(self):
        c = self.c
        resp = self.t.with_raw_response.query_traces(limit=1)
        c.check(resp.http_request.url.path == f"{self.prefix}/traces", "the client called the expected prefix",
                got=str(resp.http_request.url), expected=f"{self.prefix}/traces")
        c.eq(resp.status_code, 200, "raw query_traces status")
        r = self.raw.get("/v1/health")
        c.eq(r.status_code, 200, "GET /v1/health", context=r.text)
        r = self.raw.get("/openapi.json")
        c.eq(r.status_code, 200, "GET /openapi.json", context=r.text[:300])
        if r.status_code == 200:
            paths = set(r.json().get("paths", {}))
            for route in ("/traces", "/traces/{trace_id}", "/traces/{trace_id}/spans/{span_id}", "/spans/{span_id}/tree",
                          "/spans", "/spans/export", "/events", "/metrics/{metric_name}"):
                c.check(f"/v1/telemetry{route}" in paths, f"openapi.json describes /v1/telemetry{route}", got=sorted(paths))
        r = self.raw.get("/metrics")
        c.eq(r.status_code, 200, "GET /metrics (the server's own request metrics)", context=r.text[:300])

    # -- token mode

    def token(self):
        c = self.c
        base = self.args.base_url
        tr = self.store.traces()[0]
        for label, key in (("no api_key", None), ("a wrong api_key", "not-the-token")):
            cl = LlamaStackClient(base_url=base, api_key=key, max_retries=0, timeout=20)
            if self.prefix.startswith("/v1alpha"):
                calls = []
            else:
                calls = [(cl.telemetry.log_event, (), {"event": {"type": "unstructured_log", "trace_id": tr["trace_id"],
                                                                  "span_id": tr["root_span_id"], "timestamp": dt.datetime.now(UTC),
                                                                  "message": "x", "severity": "info"}, "ttl_seconds": 5})]
            calls += [
                (cl.telemetry.query_traces, (), {}),
                (cl.telemetry.get_trace, (tr["trace_id"],), {}),
                (cl.telemetry.get_span, (tr["root_span_id"],), {"trace_id": tr["trace_id"]}),
                (cl.telemetry.get_span_tree, (tr["root_span_id"],), {}),
                (cl.telemetry.query_spans, (), {"attribute_filters": [], "attributes_to_return": []}),
                (cl.telemetry.save_spans_to_dataset, (), {"attribute_filters": [], "attributes_to_save": [], "dataset_id": "never"}),
                (cl.telemetry.query_metrics, ("prompt_tokens",), {"query_type": "range", "start_time": 0}),
            ]
            for call, a, kw in calls:
                expect_status_error(c, AuthenticationError, 401, f"{label}: {call.__name__}", call, *a, **kw)
            headers = {} if key is None else {"Authorization": f"Bearer {key}"}
            for path in ("/v1/health", "/openapi.json", "/metrics", "/v1alpha/telemetry/traces/" + tr["trace_id"]):
                r = httpx.get(base + path, headers=headers, timeout=20)
                c.eq(r.status_code, 401, f"{label}: GET {path} is 401", context=r.text)
        c.check(not os.path.exists(os.path.join(self.args.datasets_dir, "never.jsonl")), "an unauthorised export wrote nothing")

        ok = LlamaStackClient(base_url=base, api_key=self.args.token, max_retries=0, timeout=20)
        got = ok.telemetry.query_traces()
        c.eq(sorted(t.trace_id for t in got), sorted(t["trace_id"] for t in self.store.traces()), "with api_key: query_traces works")
        self.check_trace(ok.telemetry.get_trace(tr["trace_id"]), tr, "with api_key: get_trace")
        r = httpx.get(base + "/v1/health", headers={"Authorization": f"Bearer {self.args.token}"}, timeout=20)
        c.eq(r.status_code, 200, "with the token: GET /v1/health is 200", context=r.text)
        dataset_id = f"token-run-{llama_stack_client.__version__}"
        ok.telemetry.save_spans_to_dataset(attribute_filters=[], attributes_to_save=["gen_ai.request.model"], dataset_id=dataset_id)
        path = os.path.join(self.args.datasets_dir, dataset_id + ".jsonl")
        if c.check(os.path.isfile(path), f"with api_key: the export went to --datasets-dir ({path})",
                   got=os.listdir(self.args.datasets_dir) if os.path.isdir(self.args.datasets_dir) else "no such directory"):
            with open(path, encoding="utf-8") as f:
                n = sum(1 for ln in f if ln.strip())
            c.eq(n, len(self.expected_spans([], ["gen_ai.request.model"])), "with api_key: the export has the inference spans")


class FakeError:
    """Lets the envelope checks read a body fetched with httpx."""

    def __init__(self, body):
        self.response = self
        self._body = body

    def json(self):
        return self._body


def label_ok(labels, name, op, value):
    v = labels.get(name, "")
    if op == "=":
        return v == value
    if op == "!=":
        return v != value
    if op == "=~":
        return re.fullmatch(value, v) is not None
    return re.fullmatch(value, v) is None


# --------------------------------------------------------------------------- main


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base-url", required=True)
    p.add_argument("--db", required=True)
    p.add_argument("--datasets-dir", required=True)
    p.add_argument("--mode", choices=["full", "v1alpha", "token"], required=True)
    p.add_argument("--token")
    args = p.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    version = llama_stack_client.__version__
    args.prefix = "/v1alpha/telemetry" if version.startswith("0.3.") else "/v1/telemetry"
    print(f"llama-stack-client {version} ({llama_stack_client.__file__}), Python {sys.version.split()[0]}, "
          f"mode {args.mode}, {args.base_url}{args.prefix}", flush=True)

    c = Checker()
    store = Store(args.db)
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    raw = httpx.Client(base_url=args.base_url, headers=headers, timeout=30)
    # No retries: a 5xx must show as what it is, not after three tries.
    client = LlamaStackClient(base_url=args.base_url, api_key=args.token, max_retries=0, timeout=30)
    s = Suite(client, store, c, args, raw)

    if args.mode == "token":
        c.run("token", s.token)
    else:
        c.run("client paths", s.client_paths)
        if args.mode == "full":
            c.check(hasattr(client.telemetry, "log_event") and hasattr(client.telemetry, "query_metrics"),
                    "the 0.2.23 client has all eight methods")
        c.run("query_traces", s.query_traces)
        c.run("get_trace", s.get_trace)
        c.run("get_span", s.get_span)
        c.run("get_span_tree", s.get_span_tree)
        c.run("query_spans", s.query_spans)
        c.run("save_spans_to_dataset", s.save_spans_to_dataset)
        c.run("query_metrics", s.query_metrics)
        if args.mode == "full":
            c.run("log_event", s.log_event)
            # Everything again over the store as log_event left it.
            c.run("query_traces after log_event", s.query_traces)
            c.run("query_spans after log_event", s.query_spans)

    s.result.update(passed=c.passed, failed=len(c.failures), client=version, mode=args.mode)
    print(f"{c.passed} checks passed, {len(c.failures)} failed ({args.mode}, llama-stack-client {version})", flush=True)
    print("RESULT " + json.dumps(s.result), flush=True)
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
