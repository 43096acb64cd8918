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


# ---------------------------------------------------------------------------------------------
# Model server (REST) fixtures: start the real binary on free ports, stop it with SIGTERM.

import json  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import time  # noqa: E402
import urllib.error  # noqa: E402
import urllib.request  # noqa: E402


_ports_given = set()


def free_port():
    """A port nobody listens on, never the same twice in this process (two back-to-back binds
    to port 0 can return the same number, which would give --port and --rest_api_port one port)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _ports_given:
            _ports_given.add(port)
            return port


class RestResponse:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        # TF Serving prints NaN / Infinity tokens; Python's json accepts them.
        return json.loads(self.body)


class ModelServer:
    """A running `tensord --port=.. --rest_api_port=.. --model_name=.. --model_base_path=..`."""

    def __init__(self, args, log_path):
        self.args, self.log_path = args, log_path
        self.rest_port = int([a for a in args if a.startswith("--rest_api_port=")][0].split("=")[1])
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)

    def output(self):
        with open(self.log_path) as f:
            return f.read()

    def wait_ready(self, timeout=60):
        """Until the REST port accepts connections; fails if the process exits first."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("tensord exited with %d before serving:\n%s" % (self.proc.returncode, self.output()))
            try:
                with socket.create_connection(("127.0.0.1", self.rest_port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError("tensord did not open its REST port in %ds:\n%s" % (timeout, self.output()))

    def request(self, method, path, body=None, headers=None, timeout=60):
        """body: bytes/str sent as is, anything else JSON-encoded. Never raises on HTTP errors."""
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.rest_port, path), data=body, method=method,
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return RestResponse(r.status, dict(r.headers), r.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as e:
            return RestResponse(e.code, dict(e.headers), e.read().decode("utf-8", "replace"))

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=b"", **kw):
        return self.request("POST", path, body, **kw)

    def stop(self, timeout=20):
        """SIGTERM and wait; returns the exit code (a crash — killed by a signal — fails)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("tensord did not stop within %ds of SIGTERM:\n%s" % (timeout, self.output()))
        self.log.close()
        rc = self.proc.returncode
        assert rc >= 0, "tensord died of signal %d:\n%s" % (-rc, self.output())
        return rc


def start_model_server(tensord_bin, log_dir, model_name, base_path, extra=(), wait=True):
    args = [tensord_bin, "--port=%d" % free_port(), "--rest_api_port=%d" % free_port(),
            "--model_name=%s" % model_name, "--model_base_path=%s" % base_path] + list(extra)
    s = ModelServer(args, os.path.join(str(log_dir), "tensord_%s_%d.log" % (model_name, time.time_ns())))
    return s.wait_ready() if wait else s


def version_base(tmp_dir, versions):
    """A model base path in tmp_dir with {version number: source version dir} symlinked in."""
    os.makedirs(tmp_dir, exist_ok=True)
    for v, src in versions.items():
        os.symlink(os.path.abspath(src), os.path.join(tmp_dir, str(v)))
    return str(tmp_dir)


@pytest.fixture(scope="module")
def model_servers(tensord, tmp_path_factory):
    """Factory start(model_name, base_path, extra=()) → ModelServer; every server started is
    stopped at module end and must exit 0."""
    started = []
    log_dir = tmp_path_factory.mktemp("tensord_logs")

    def start(model_name, base_path, extra=(), wait=True):
        s = start_model_server(tensord, log_dir, model_name, base_path, extra, wait=False)
        started.append(s)
        return s.wait_ready() if wait else s

    yield start
    for s in started:
        rc = s.stop()
        assert rc == 0, "tensord exited with %d:\n%s" % (rc, s.output())
