"""test_connections.py — connection exhaustion defences on both ports (issue 12, points 3, 8).

- 2,000 idle connections on each port: a normal REST and gRPC client are still answered within 1 s;
- with the open-files limit at 256, floods of idle connections are refused beyond the headroom,
  the log stays small, and both ports serve again once the clients go;
- the limit lowered at run time below what is open (accept fails with EMFILE): accept errors are
  backed off and rate-limited in the log, and both ports serve again once the limit is back;
- a Content-Length the body never reaches, or headers that never end, are closed within the
  REST connection timeout;
- --grpc_channel_arguments reach the server: a short keepalive closes a socket that never
  speaks HTTP/2.
Everything talks to 127.0.0.1; every wait is bounded.
"""

import os
import resource
import socket
import subprocess
import sys
import time
import urllib.request

import grpc
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import grpc_client as gc  # noqa: E402
from conftest import FIXTURES, free_port  # noqa: E402

HPT = os.path.join(FIXTURES, "tfserving_testdata", "saved_model_half_plus_two_cpu")

pytestmark = pytest.mark.skipif(not os.path.isdir(HPT), reason="fixtures absent")


def raise_own_fd_limit(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < want:
        pytest.skip("open files hard limit %d < %d" % (hard, want))
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


class Server:
    def __init__(self, tensord, tmp_path, extra=(), nofile=None):
        self.port, self.rest_port = free_port(), free_port()
        self.log_path = str(tmp_path / ("tensord_%d.log" % self.port))
        self.log = open(self.log_path, "w")
        args = [tensord, "--port=%d" % self.port, "--rest_api_port=%d" % self.rest_port, "--model_name=hpt",
                "--model_base_path=" + HPT, "--file_system_poll_wait_seconds=0"] + list(extra)

        def limit():  # nofile: the limit (soft and hard), or (soft, hard)
            if nofile:
                resource.setrlimit(resource.RLIMIT_NOFILE, nofile if isinstance(nofile, tuple) else (nofile, nofile))

        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=limit)
        assert gc.wait_grpc("127.0.0.1:%d" % self.port, self.proc, 60), self.output()
        self.client = gc.Client("127.0.0.1:%d" % self.port)

    def output(self):
        with open(self.log_path) as f:
            return f.read()

    def rest_ok(self, timeout):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/v1/models/hpt" % self.rest_port, timeout=timeout) as r:
                return r.status == 200
        except OSError:
            return False

    def grpc_ok(self, timeout):
        req = gc.protos().GetModelStatusRequest()
        req.model_spec.name = "hpt"
        try:
            self.client.GetModelStatus(req, timeout=timeout)
            return True
        except grpc.RpcError:
            return False

    def both_serve_within(self, seconds):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if self.rest_ok(1) and self.grpc_ok(1):
                return True
            time.sleep(0.2)
        return False

    def stop(self):
        self.client.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


@pytest.fixture
def servers(tensord, tmp_path):
    started = []

    def start(extra=(), nofile=None):
        s = Server(tensord, tmp_path, extra, nofile)
        started.append(s)
        return s

    yield start
    for s in started:
        assert s.stop() == 0, s.output()[-3000:]


def open_idle(port, n):
    socks = []
    for _ in range(n):
        try:
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        except OSError:
            break
    return socks


def close_all(socks):
    for k in socks:
        k.close()


def test_2000_idle_connections_do_not_starve_a_normal_client(servers):
    raise_own_fd_limit(5000)
    # the usual default soft limit: the server raises it to the hard one
    s = servers(nofile=(1024, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    idle = open_idle(s.rest_port, 2000) + open_idle(s.port, 2000)
    assert len(idle) == 4000
    time.sleep(1.0)  # the server has accepted them
    t0 = time.time()
    assert s.rest_ok(1), "REST not answered within 1 s"
    rest_s = time.time() - t0
    t0 = time.time()
    assert s.grpc_ok(1), "gRPC not answered within 1 s"
    grpc_s = time.time() - t0
    assert rest_s < 1 and grpc_s < 1
    close_all(idle)


def test_fd_limit_256_flood_then_release(servers):
    s = servers(nofile=256)
    before = os.path.getsize(s.log_path)
    idle = open_idle(s.port, 400) + open_idle(s.rest_port, 400)
    time.sleep(2.0)
    assert s.proc.poll() is None
    grown = os.path.getsize(s.log_path) - before
    assert grown < 20000, "log grew %d bytes:\n%s" % (grown, s.output()[-3000:])
    close_all(idle)
    assert s.both_serve_within(10), s.output()[-3000:]


def test_emfile_backs_off_and_recovers(servers):
    s = servers(nofile=512)
    pid = s.proc.pid
    in_use = len(os.listdir("/proc/%d/fd" % pid))
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (in_use + 1, 512))  # the next accepts fail: EMFILE
    before = os.path.getsize(s.log_path)
    idle = open_idle(s.port, 100) + open_idle(s.rest_port, 100)
    time.sleep(3.0)
    assert s.proc.poll() is None
    grown = os.path.getsize(s.log_path) - before
    assert grown < 20000, "log grew %d bytes in 3 s:\n%s" % (grown, s.output()[-3000:])
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (512, 512))
    close_all(idle)
    assert s.both_serve_within(10), s.output()[-3000:]


def recv_until_closed(sock, seconds):
    """Seconds until the server closed sock (None if it did not within `seconds`)."""
    t0 = time.time()
    sock.settimeout(0.5)
    while time.time() - t0 < seconds:
        try:
            if sock.recv(65536) == b"":
                return time.time() - t0
        except socket.timeout:
            continue
        except ConnectionResetError:
            return time.time() - t0
    return None


def test_rest_read_timeouts(servers):
    s = servers(["--rest_api_connection_timeout_seconds=2"])
    short_body = socket.create_connection(("127.0.0.1", s.rest_port), timeout=5)
    short_body.sendall(b"POST /v1/models/hpt:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
    endless_headers = socket.create_connection(("127.0.0.1", s.rest_port), timeout=5)
    endless_headers.sendall(b"GET /v1/models/hpt HTTP/1.1\r\nHost: x\r\nX-Slow: a")
    for k in (short_body, endless_headers):
        took = recv_until_closed(k, 8)
        assert took is not None and took < 6, took
        k.close()
    assert s.rest_ok(2)


def test_grpc_channel_arguments_keepalive_closes_silent_socket(servers):
    s = servers(["--grpc_channel_arguments=grpc.keepalive_time_ms=500,grpc.keepalive_timeout_ms=500"])
    silent = socket.create_connection(("127.0.0.1", s.port), timeout=5)
    took = recv_until_closed(silent, 10)
    assert took is not None and took < 8, took
    silent.close()
    assert s.grpc_ok(5)
