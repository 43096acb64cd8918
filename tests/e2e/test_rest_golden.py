"""test_rest_golden.py — data-driven REST conformance: every tests/e2e/rest_cases/*.json is one
request against the real tensord and its expected answer (tfserving-api.md §1.6-§1.11).

Case file keys:
  model          which served model the case needs (see MODELS below)
  method, path   the HTTP request (default POST)
  body           JSON value sent JSON-encoded, or
  body_text      a raw body (for invalid JSON or NaN / Infinity tokens)
  status         expected HTTP status
  body_json      expected parsed response (numbers compare with float32 tolerance, NaN == NaN), or
  error_contains expected substring of the {"error": ...} message
  error_equals   the exact {"error": ...} message (TF Serving's text, byte for byte)
  raw_contains   optional list of substrings of the raw response text (number formatting)
  description    what the case is (from which TF test)
Case files are parsed with Python's json module, which accepts NaN / Infinity tokens.
"""

import glob
import json
import math
import os

import pytest

from conftest import version_base

CASES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rest_cases")
CASE_FILES = sorted(glob.glob(os.path.join(CASES_DIR, "*.json")))


def _hp_fixture(fixtures_dir, generated_models, name):
    return os.path.join(fixtures_dir, "tfserving_testdata", name, "00000123")


# model name in the URL → (version, source version dir)
MODELS = {
    "json_types": lambda fx, gen: (1, os.path.join(gen, "json_types", "1")),
    "saved_model_half_plus_two_2_versions":
        lambda fx, gen: (123, _hp_fixture(fx, gen, "saved_model_half_plus_two_2_versions")),
    "default": lambda fx, gen: (123, _hp_fixture(fx, gen, "saved_model_half_plus_two_cpu")),
}


@pytest.fixture(scope="module")
def golden_server(model_servers, fixtures_dir, generated_models, tmp_path_factory):
    """model name → running server (started on first use, one per model for the module)."""
    servers = {}

    def get(name):
        if name not in servers:
            version, src = MODELS[name](fixtures_dir, generated_models)
            base = version_base(tmp_path_factory.mktemp("golden") / name, {version: src})
            servers[name] = model_servers(name, base)
        return servers[name]

    return get


def same(want, got, where="$"):
    """Structural equality; numbers equal within float32 precision; NaN == NaN."""
    if isinstance(want, bool) or isinstance(got, bool):
        assert want is got, "%s: want %r, got %r" % (where, want, got)
    elif isinstance(want, (int, float)) and isinstance(got, (int, float)):
        if isinstance(want, float) and math.isnan(want):
            assert isinstance(got, float) and math.isnan(got), "%s: want NaN, got %r" % (where, got)
        elif math.isinf(want) or math.isinf(got):
            assert want == got, "%s: want %r, got %r" % (where, want, got)
        else:
            assert abs(want - got) <= 1e-6 * max(abs(want), abs(got)), "%s: want %r, got %r" % (where, want, got)
    elif isinstance(want, dict):
        assert isinstance(got, dict) and sorted(want) == sorted(got), "%s: want keys %s, got %r" % (
            where, sorted(want), got)
        for k in want:
            same(want[k], got[k], "%s.%s" % (where, k))
    elif isinstance(want, list):
        assert isinstance(got, list) and len(want) == len(got), "%s: want %r, got %r" % (where, want, got)
        for i, (w, g) in enumerate(zip(want, got)):
            same(w, g, "%s[%d]" % (where, i))
    else:
        assert want == got, "%s: want %r, got %r" % (where, want, got)


def test_cases_exist():
    assert len(CASE_FILES) >= 20, "rest_cases/ has only %d cases" % len(CASE_FILES)


@pytest.mark.parametrize("case_file", CASE_FILES, ids=[os.path.basename(f)[:-5] for f in CASE_FILES])
def test_golden(golden_server, case_file):
    with open(case_file) as f:
        case = json.load(f)
    server = golden_server(case["model"])
    body = case["body_text"] if "body_text" in case else json.dumps(case["body"]) if "body" in case else None
    r = server.request(case.get("method", "POST"), case["path"], body)
    assert r.headers.get("Content-Type") == "application/json"
    assert r.status == case["status"], "%s\nstatus %d, body: %s" % (case.get("description", ""), r.status, r.body)
    if "body_json" in case:
        same(case["body_json"], r.json())
    if "error_contains" in case:
        err = r.json()["error"]
        assert case["error_contains"] in err, "error %r lacks %r" % (err, case["error_contains"])
    if "error_equals" in case:
        assert r.json() == {"error": case["error_equals"]}, r.body
    for text in case.get("raw_contains", []):
        assert text in r.body, "response lacks %r: %s" % (text, r.body)
