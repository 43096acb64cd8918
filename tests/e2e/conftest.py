"""conftest.py — shared fixtures for the end-to-end tests of the tensord binary.

Run with: /usr/bin/python3 -m pytest tests/e2e
Environment:
  TENSORD_BIN   path to the tensord binary (default <repo>/build/tensord)
  TD_FIXTURES   shared fixtures dir (default <repo>/../shared/fixtures); tests needing it skip
                with a clear reason when it is absent.
Invariants: tests never write into the repo or the fixtures (everything goes to pytest tmp
dirs); a tensord process killed by a signal (returncode < 0) always fails the test.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tools"))

TENSORD_BIN = os.environ.get("TENSORD_BIN") or os.path.join(REPO, "build", "tensord")
FIXTURES = os.environ.get("TD_FIXTURES") or os.path.join(REPO, "..", "shared", "fixtures")


@pytest.fixture(scope="session")
def tensord():
    if not os.path.isfile(TENSORD_BIN):
        pytest.skip("tensord binary not found at %s (build it, or set TENSORD_BIN)" % TENSORD_BIN)
    return TENSORD_BIN


@pytest.fixture(scope="session")
def fixtures_dir():
    if not os.path.isdir(FIXTURES):
        pytest.skip("shared fixtures not found at %s (set TD_FIXTURES)" % FIXTURES)
    return os.path.abspath(FIXTURES)


@pytest.fixture(scope="session")
def generated_models(tmp_path_factory):
    """Runs tools/gen_models.py once per session; returns the output dir."""
    out = tmp_path_factory.mktemp("generated_models")
    r = subprocess.run([sys.executable, os.path.join(REPO, "tools", "gen_models.py"), str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, "gen_models.py failed:\n" + r.stdout + r.stderr
    return str(out)


def run_cli(*args, timeout=300):
    """Runs tensord with args; fails the test on a crash (signal)."""
    r = subprocess.run([TENSORD_BIN] + [str(a) for a in args], capture_output=True, text=True, timeout=timeout)
    assert r.returncode >= 0, "tensord crashed with signal %d\nargs: %s\nstderr:\n%s" % (-r.returncode, args, r.stderr)
    return r


def run_outputs(model_dir, tmp_path, signature="serving_default", inputs=None, exprs=None, examples=None,
                tag_set=None, extra=()):
    """Runs `tensord run ... --outdir` and returns {output key: numpy array}.
    inputs: {key: numpy array} (written to .npy files); exprs/examples: {key: literal text}."""
    outdir = tmp_path / ("out_%d" % len(list(tmp_path.iterdir())))
    args = ["run", "--dir", model_dir, "--signature_def", signature, "--outdir", outdir]
    if tag_set:
        args += ["--tag_set", tag_set]
    if inputs:
        specs = []
        for k, v in inputs.items():
            p = tmp_path / ("in_%s_%d.npy" % (k.replace("/", "_"), len(list(tmp_path.iterdir()))))
            np.save(p, v)
            specs.append("%s=%s" % (k, p))
        args += ["--inputs", ";".join(specs)]
    if exprs:
        args += ["--input_exprs", ";".join("%s=%s" % kv for kv in exprs.items())]
    if examples:
        args += ["--input_examples", ";".join("%s=%s" % kv for kv in examples.items())]
    r = run_cli(*(list(args) + list(extra)))
    assert r.returncode == 0, "tensord run failed (rc %d):\n%s%s" % (r.returncode, r.stdout, r.stderr)
    return {f[:-4]: np.load(os.path.join(outdir, f)) for f in sorted(os.listdir(outdir)) if f.endswith(".npy")}
