#!/usr/bin/env python3
"""Extract llm-telemetry's built-in price table (prices.json, beside this script) from
LiteLLM's model price list, `model_prices_and_context_window.json`.

Usage (see README.md here):

    python3 extract.py SOURCE --source-version VERSION [--retrieved YYYY-MM-DD] > prices.json

SOURCE is either the JSON file itself (BerriAI/litellm's repository root) or a litellm
wheel from PyPI, which ships the same file as
`litellm/model_prices_and_context_window_backup.json`. Only the standard library is used.

What is kept: the chat models of the common hosted providers (OpenAI, Anthropic, Google
Gemini and Vertex AI, Mistral, Meta Llama on Amazon Bedrock, Together AI and Fireworks AI),
with their input, output, cached-input (`cache_read_input_token_cost`) and reasoning
(`output_cost_per_reasoning_token`) prices converted from USD per token to USD per 1M
tokens. Names are the ones the providers' APIs report (LiteLLM's routing prefixes such as
`gemini/` or `together_ai/` are removed) and each entry carries the provider that bills it,
as an OpenTelemetry GenAI `gen_ai.provider.name` value. Tiered prices (above 200k tokens),
batch, flex and priority rates and cache writes are not kept.
"""

import argparse
import datetime
import hashlib
import io
import json
import re
import sys
import zipfile

WHEEL_MEMBER = "litellm/model_prices_and_context_window_backup.json"

DATE = r"(-\d{4}-\d{2}-\d{2}|-\d{8})?"

# (LiteLLM provider, key pattern, routing prefix to strip, gen_ai.provider.name), in the
# order the table lists them: for a name several providers price, the model maker's own
# API comes first.
RULES = [
    ("openai", r"gpt-4o(-mini)?" + DATE, "", "openai"),
    ("openai", r"gpt-4\.1(-mini|-nano)?" + DATE, "", "openai"),
    ("openai", r"(o1|o1-pro|o3|o3-mini|o3-pro|o4-mini)" + DATE, "", "openai"),
    (
        "openai",
        r"gpt-5(\.\d)?(-mini|-nano|-pro|-codex|-codex-mini|-codex-max|-chat|-chat-latest)?"
        + DATE,
        "",
        "openai",
    ),
    ("anthropic", r"claude-(opus|sonnet|haiku)-[\d-]+", "", "anthropic"),
    (
        "gemini",
        r"gemini/gemini-(\d(\.\d)?-(pro|flash|flash-lite)(-preview)?(-\d{2}-\d{4})?|pro-latest|flash-latest|flash-lite-latest)",
        "gemini/",
        "gcp.gemini",
    ),
    (
        "vertex_ai-language-models",
        r"gemini-\d(\.\d)?-(pro|flash|flash-lite)(-preview)?(-\d{2}-\d{4})?",
        "",
        "gcp.vertex_ai",
    ),
    ("vertex_ai", r"vertex_ai/gemini-\d(\.\d)?-(pro|flash|flash-lite)", "vertex_ai/", "gcp.vertex_ai"),
    (
        "vertex_ai-anthropic_models",
        r"vertex_ai/claude-[\w.-]+(@\d{8})?",
        "vertex_ai/",
        "gcp.vertex_ai",
    ),
    (
        "mistral",
        r"mistral/(mistral-(large|medium|small|tiny)[\w.-]*|codestral-[\w.-]+|ministral-[\w.-]+"
        r"|magistral-[\w.-]+|devstral-[\w.-]+|pixtral-[\w.-]+|open-mistral-nemo)",
        "mistral/",
        "mistral_ai",
    ),
    ("bedrock", r"(us\.)?anthropic\.claude-(3|opus|sonnet|haiku)[\w.:-]*", "", "aws.bedrock"),
    (
        "bedrock_converse",
        r"(us\.)?anthropic\.claude-(3|opus|sonnet|haiku)[\w.:-]*",
        "",
        "aws.bedrock",
    ),
    ("bedrock", r"((us|eu)\.)?meta\.llama[\w.:-]+", "", "aws.bedrock"),
    ("bedrock_converse", r"((us|eu)\.)?meta\.llama[\w.:-]+", "", "aws.bedrock"),
    ("together_ai", r"together_ai/meta-llama/[\w.-]+", "together_ai/", "together_ai"),
    (
        "fireworks_ai",
        r"fireworks_ai/accounts/fireworks/models/(llama-v3p[123]-[\w-]*instruct|llama4-[\w-]+)",
        "fireworks_ai/",
        "fireworks_ai",
    ),
    ("groq", r"groq/(meta-llama/)?llama-[\w.-]*(instruct|versatile|instant)[\w.-]*", "groq/", "groq"),
]

CHAT_MODES = {"chat", "responses", "completion"}


def per_million(cost):
    """USD per token -> USD per 1M tokens, without the float noise of the multiplication."""
    return None if cost is None else float(f"{cost * 1e6:.6g}")


def load(path):
    raw = open(path, "rb").read()
    if path.endswith(".whl"):
        raw = zipfile.ZipFile(io.BytesIO(raw)).read(WHEEL_MEMBER)
    return raw, json.loads(raw)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("source", help="model_prices_and_context_window.json or a litellm wheel")
    ap.add_argument("--source-version", required=True,
                    help="what SOURCE is, e.g. 'litellm 1.110.2 (PyPI)' or a git commit")
    ap.add_argument("--retrieved", default=datetime.date.today().isoformat(),
                    help="the day SOURCE was taken (default: today)")
    args = ap.parse_args()
    raw, data = load(args.source)

    models, seen = [], {}
    for provider, pattern, prefix, genai in RULES:
        rx = re.compile(pattern + r"\Z")
        for key in sorted(data):
            v = data[key]
            if not isinstance(v, dict) or v.get("litellm_provider") != provider:
                continue
            if v.get("mode") not in CHAT_MODES or not rx.match(key):
                continue
            if "input_cost_per_token" not in v or "output_cost_per_token" not in v:
                continue
            name = key[len(prefix):]
            entry = {"model": name, "provider": genai,
                     "input": per_million(v["input_cost_per_token"]),
                     "output": per_million(v["output_cost_per_token"])}
            cached = per_million(v.get("cache_read_input_token_cost"))
            reasoning = per_million(v.get("output_cost_per_reasoning_token"))
            if cached is not None:
                entry["cached_input"] = cached
            if reasoning is not None:
                entry["reasoning"] = reasoning
            prices = {k: x for k, x in entry.items() if k not in ("model", "provider")}
            lower = name.lower()
            # One entry per (name, provider); another provider's entry only if it bills
            # differently (the first one is what a span without a matching provider gets).
            same = seen.setdefault(lower, [])
            if any(p == genai or q == prices for p, q in same):
                continue
            same.append((genai, prices))
            models.append(entry)

    out = {
        "source": "LiteLLM model_prices_and_context_window.json (github.com/BerriAI/litellm)",
        "source_version": args.source_version,
        "source_sha256": hashlib.sha256(raw).hexdigest(),
        "retrieved": args.retrieved,
        "unit": "USD per 1M tokens",
        "models": models,
    }
    # One model a line: a refresh's diff shows what changed.
    w = sys.stdout
    w.write("{\n")
    for k in ("source", "source_version", "source_sha256", "retrieved", "unit"):
        w.write(f"  {json.dumps(k)}: {json.dumps(out[k])},\n")
    w.write('  "models": [\n')
    for i, m in enumerate(models):
        sep = "," if i + 1 < len(models) else ""
        w.write(f"    {json.dumps(m)}{sep}\n")
    w.write("  ]\n}\n")
    print(f"{len(models)} models", file=sys.stderr)


if __name__ == "__main__":
    main()
