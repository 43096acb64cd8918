"""test_tls_auth.py — issue 12 point 6 (authority): TLS on both ports, bearer tokens, the
model-management switch, error texts that never echo file contents, bounded metrics and
model names with NUL / control bytes.

Certificates are made at test time with Debian's openssl in a tmp dir: a CA, a server
certificate for 127.0.0.1 / localhost, a client certificate from the same CA, and a rogue CA
with its own client certificate. The model is generated (tools/gen_models.py
half_plus_two_tf1: y = 0.5 x + 2), so nothing needs ../shared. Everything talks to 127.0.0.1.
"""

import os
import shutil
import subprocess
import sys
import time

import grpc
import numpy as np
import pytest
import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import grpc_client as gc  # noqa: E402
from conftest import REPO  # noqa: E402

TOKEN = "td-test-token-7f3a9c"
HEALTH_CHECK = "/grpc.health.v1.Health/Check"


@pytest.fixture(scope="module")
def hpt_base(tmp_path_factory):
    out = tmp_path_factory.mktemp("auth_models")
    r = subprocess.run([sys.executable, os.path.join(REPO, "tools", "gen_models.py"), str(out),
                        "--only", "half_plus_two_tf1"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return str(out / "half_plus_two_tf1")


def _openssl(cwd, *args):
    r = subprocess.run(["openssl"] + list(args), cwd=cwd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, "openssl %s failed:\n%s" % (" ".join(args), r.stderr)


def _ca(d, name):
    _openssl(d, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", name + ".key", "-out", name + ".pem", "-days", "2", "-subj", "/CN=" + name,
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")


def _leaf(d, name, ca, ext):
    _openssl(d, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + name)
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write(ext)
    _openssl(d, "x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
             "-CAcreateserial", "-out", name + ".pem", "-days", "2", "-extfile", name + ".ext")


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    if not shutil.which("openssl"):
        pytest.skip("openssl not installed (apt-get install openssl)")
    d = str(tmp_path_factory.mktemp("certs"))
    _ca(d, "ca")
    _ca(d, "rogue_ca")
    _leaf(d, "server", "ca", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    _leaf(d, "client", "ca", "extendedKeyUsage=clientAuth\n")
    _leaf(d, "rogue", "rogue_ca", "extendedKeyUsage=clientAuth\n")

    def path(name):
        return os.path.join(d, name)

    def read(name):
        with open(path(name), "rb") as f:
            return f.read()

    def ssl_config(client_verify):
        def field(name, file):
            return '%s: "%s"\n' % (name, read(file).decode().replace("\n", "\\n"))
        text = field("server_key", "server.key") + field("server_cert", "server.pem") + field("custom_ca", "ca.pem")
        text += "client_verify: %s\n" % ("true" if client_verify else "false")
        p = path("ssl_%s.cfg" % ("verify" if client_verify else "plain"))
        with open(p, "w") as f:
            f.write(text)
        return p

    class Certs:
        pass

    c = Certs()
    c.path, c.read = path, read
    c.plain_cfg, c.verify_cfg = ssl_config(False), ssl_config(True)
    return c


def grpc_port(server):
    return int([a for a in server.args if a.startswith("--port=")][0].split("=", 1)[1])


class SecureClient(gc.Client):
    """gc.Client over a TLS channel (server name checked as 'localhost')."""

    def __init__(self, target, creds):  # noqa: super().__init__ would open an insecure channel
        pb = gc.protos()
        self.channel = grpc.secure_channel(target, creds, options=[("grpc.ssl_target_name_override", "localhost")])
        for name, (path, req, resp) in gc.METHODS.items():
            setattr(self, name, self.channel.unary_unary(
                path, request_serializer=getattr(pb, req).SerializeToString,
                response_deserializer=getattr(pb, resp).FromString))


def predict_request(name="hpt", values=(1.0, 2.0, 5.0)):
    pb = gc.protos()
    req = pb.PredictRequest()
    req.model_spec.name = name
    req.inputs["x"].CopyFrom(gc.tensor(np.array(values, dtype=np.float32)))
    return req


def check_prediction(resp, values=(1.0, 2.0, 5.0)):
    got = gc.to_numpy(resp.outputs["y"]).reshape(-1)
    np.testing.assert_allclose(got, 0.5 * np.array(values, dtype=np.float32) + 2.0, rtol=1e-6)


# ---- TLS ----

def test_grpc_tls_predict(model_servers, hpt_base, certs):
    s = model_servers("hpt", hpt_base, extra=["--ssl_config_file=%s" % certs.plain_cfg])
    target = "127.0.0.1:%d" % grpc_port(s)
    assert "(TLS)" in s.output()
    c = SecureClient(target, grpc.ssl_channel_credentials(root_certificates=certs.read("ca.pem")))
    try:
        check_prediction(c.Predict(predict_request(), timeout=20))
    finally:
        c.close()
    # a plaintext client gets no answer from the TLS port
    plain = gc.Client(target)
    try:
        with pytest.raises(grpc.RpcError) as e:
            plain.Predict(predict_request(), timeout=5)
        assert e.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
    finally:
        plain.close()
    # a client that does not trust the server's CA refuses the handshake
    wrong = SecureClient(target, grpc.ssl_channel_credentials(root_certificates=certs.read("rogue_ca.pem")))
    try:
        with pytest.raises(grpc.RpcError) as e:
            wrong.Predict(predict_request(), timeout=5)
        assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        wrong.close()


def test_grpc_tls_client_verify(model_servers, hpt_base, certs):
    s = model_servers("hpt", hpt_base, extra=["--ssl_config_file=%s" % certs.verify_cfg])
    target = "127.0.0.1:%d" % grpc_port(s)
    ca = certs.read("ca.pem")
    good = SecureClient(target, grpc.ssl_channel_credentials(ca, certs.read("client.key"), certs.read("client.pem")))
    try:
        check_prediction(good.Predict(predict_request(), timeout=20))
    finally:
        good.close()
    for creds in (grpc.ssl_channel_credentials(ca),  # no client certificate
                  grpc.ssl_channel_credentials(ca, certs.read("rogue.key"), certs.read("rogue.pem"))):
        bad = SecureClient(target, creds)
        try:
            with pytest.raises(grpc.RpcError) as e:
                bad.Predict(predict_request(), timeout=5)
            assert e.value.code() == grpc.StatusCode.UNAVAILABLE
        finally:
            bad.close()


def test_rest_https(model_servers, hpt_base, certs):
    s = model_servers("hpt", hpt_base, extra=["--rest_ssl_config_file=%s" % certs.plain_cfg])
    base = "https://127.0.0.1:%d" % s.rest_port
    ca = certs.path("ca.pem")
    r = requests.post(base + "/v1/models/hpt:predict", json={"instances": [1.0, 2.0, 5.0]}, verify=ca, timeout=20)
    assert r.status_code == 200, r.text
    np.testing.assert_allclose(r.json()["predictions"], [2.5, 3.0, 4.5])
    assert requests.get(base + "/v1/models/hpt", verify=ca, timeout=10).json()["model_version_status"][0]["state"] \
        == "AVAILABLE"
    with pytest.raises(requests.exceptions.SSLError):  # the server's CA is not trusted by default
        requests.get(base + "/healthz", timeout=10)
    with pytest.raises(requests.exceptions.ConnectionError):  # plain HTTP to the HTTPS port
        requests.get("http://127.0.0.1:%d/healthz" % s.rest_port, timeout=10)
    # the gRPC port stays plaintext (--ssl_config_file not given)
    c = gc.Client("127.0.0.1:%d" % grpc_port(s))
    try:
        check_prediction(c.Predict(predict_request(), timeout=20))
    finally:
        c.close()


def test_rest_https_client_verify(model_servers, hpt_base, certs):
    s = model_servers("hpt", hpt_base, extra=["--rest_ssl_config_file=%s" % certs.verify_cfg])
    base = "https://127.0.0.1:%d" % s.rest_port
    ca = certs.path("ca.pem")
    r = requests.post(base + "/v1/models/hpt:predict", json={"instances": [1.0]}, verify=ca,
                      cert=(certs.path("client.pem"), certs.path("client.key")), timeout=20)
    assert r.status_code == 200, r.text
    np.testing.assert_allclose(r.json()["predictions"], [2.5])
    for cert in (None, (certs.path("rogue.pem"), certs.path("rogue.key"))):
        for path in ("/v1/models/hpt", "/healthz"):
            try:
                r = requests.get(base + path, verify=ca, cert=cert, timeout=10)
            except requests.exceptions.SSLError:
                continue  # refused in the handshake: as good as a 403
            assert r.status_code == 403, (cert, path, r.status_code, r.text)
            assert "client certificate" in r.json()["error"]


def test_bad_ssl_config_is_a_startup_error(tensord, hpt_base, certs, tmp_path):
    secret = "TOPSECRET-KEY-MATERIAL"
    bad = tmp_path / "bad.cfg"
    bad.write_text('server_key: "%s"\nserver_cert: "%s"\n' % (secret, certs.read("server.pem").decode().replace(
        "\n", "\\n")))
    garbled = tmp_path / "garbled.cfg"
    garbled.write_text("root:x:0:0:%s:/root:/bin/bash\n" % secret)
    for cfg, want in ((bad, "server_key is not PEM"), (garbled, "Error parsing text-format tensorflow.serving.SSLConfig: 1:1")):
        r = subprocess.run([tensord, "--port=%d" % gc.free_port(), "--model_name=hpt", "--model_base_path=" + hpt_base,
                            "--ssl_config_file=%s" % cfg], capture_output=True, text=True, timeout=60)
        assert r.returncode == 255, r.stderr
        assert want in r.stderr and str(cfg) in r.stderr, r.stderr
        assert secret not in r.stderr + r.stdout


# ---- bearer tokens ----

def test_bearer_tokens(model_servers, hpt_base, tmp_path):
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("# test tokens\nother-token\n%s\n" % TOKEN)
    s = model_servers("hpt", hpt_base, extra=["--auth_token_file=%s" % tokens])
    base = "http://127.0.0.1:%d" % s.rest_port
    body = {"instances": [1.0, 2.0, 5.0]}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN},
                    {"Authorization": "Basic %s" % TOKEN}):
        r = requests.post(base + "/v1/models/hpt:predict", json=body, headers=headers, timeout=10)
        assert r.status_code == 401, (headers, r.status_code, r.text)
        assert "bearer token" in r.json()["error"]
        assert r.headers.get("WWW-Authenticate") == "Bearer"
    assert requests.get(base + "/v1/models/hpt", timeout=10).status_code == 401
    for t in (TOKEN, "other-token"):
        r = requests.post(base + "/v1/models/hpt:predict", json=body, headers={"Authorization": "Bearer " + t},
                          timeout=10)
        assert r.status_code == 200, r.text
        np.testing.assert_allclose(r.json()["predictions"], [2.5, 3.0, 4.5])
    # probes and metrics stay open
    for path in ("/healthz", "/readyz", "/monitoring/prometheus/metrics"):
        assert requests.get(base + path, timeout=10).status_code == 200, path

    c = gc.Client("127.0.0.1:%d" % grpc_port(s))
    try:
        for md in (None, [("authorization", "Bearer wrong")], [("authorization", TOKEN)]):
            with pytest.raises(grpc.RpcError) as e:
                c.Predict(predict_request(), timeout=10, metadata=md)
            assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED, md
        check_prediction(c.Predict(predict_request(), timeout=10, metadata=[("authorization", "Bearer " + TOKEN)]))
        pb = gc.protos()
        req = pb.GetModelStatusRequest()
        req.model_spec.name = "hpt"
        with pytest.raises(grpc.RpcError) as e:
            c.GetModelStatus(req, timeout=10)
        assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
        # grpc.health.v1 stays open: HealthCheckResponse{status: SERVING (1)}
        assert c.raw(HEALTH_CHECK, b"") == b"\x08\x01"
    finally:
        c.close()


def test_metrics_require_auth(model_servers, hpt_base, tmp_path):
    tokens = tmp_path / "tokens.txt"
    tokens.write_text(TOKEN + "\n")
    s = model_servers("hpt", hpt_base, extra=["--auth_token_file=%s" % tokens, "--metrics_require_auth"])
    base = "http://127.0.0.1:%d" % s.rest_port
    metrics = base + "/monitoring/prometheus/metrics"
    assert requests.get(metrics, timeout=10).status_code == 401
    r = requests.get(metrics, headers={"Authorization": "Bearer " + TOKEN}, timeout=10)
    assert r.status_code == 200 and "# TYPE" in r.text
    assert requests.get(base + "/healthz", timeout=10).status_code == 200  # probes stay open


def test_bad_token_file_is_a_startup_error(tensord, hpt_base, tmp_path):
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("secret with spaces TOPSECRET\n")
    r = subprocess.run([tensord, "--port=%d" % gc.free_port(), "--model_name=hpt", "--model_base_path=" + hpt_base,
                        "--auth_token_file=%s" % tokens], capture_output=True, text=True, timeout=60)
    assert r.returncode == 255
    assert "line 1" in r.stderr and str(tokens) in r.stderr and "TOPSECRET" not in r.stderr, r.stderr
    r = subprocess.run([tensord, "--port=%d" % gc.free_port(), "--model_name=hpt", "--model_base_path=" + hpt_base,
                        "--metrics_require_auth"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 255 and "--metrics_require_auth needs --auth_token_file" in r.stderr, r.stderr


# ---- model management ----

def _reload_request(base_paths):
    pb = gc.protos()
    req = pb.ReloadConfigRequest()
    for name, path in base_paths.items():
        m = req.config.model_config_list.config.add()
        m.name, m.base_path, m.model_platform = name, path, "tensorflow"
    return req


def test_model_management_off(model_servers, hpt_base):
    s = model_servers("hpt", hpt_base, extra=["--enable_model_management=false"])
    c = gc.Client("127.0.0.1:%d" % grpc_port(s))
    try:
        with pytest.raises(grpc.RpcError) as e:
            c.HandleReloadConfigRequest(_reload_request({}), timeout=10)  # would unload everything
        assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "--enable_model_management=false" in e.value.details()
        check_prediction(c.Predict(predict_request(), timeout=10))  # still serving
    finally:
        c.close()


def test_reload_errors_never_echo_file_contents(model_servers, hpt_base, tmp_path):
    """A reload pointing a model at a version whose saved_model.pbtxt is any file (here a link to
    a passwd-like secret) reports a parse error by file, line and column, never the file's bytes."""
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:TOPSECRET-PASSWORD-HASH:/root:/bin/bash\n")
    leak = tmp_path / "leak" / "1"
    leak.mkdir(parents=True)
    os.symlink(str(secret), str(leak / "saved_model.pbtxt"))
    s = model_servers("hpt", hpt_base, extra=["--max_num_load_retries=0"])
    c = gc.Client("127.0.0.1:%d" % grpc_port(s))
    pb = gc.protos()
    msg = ""
    try:
        c.HandleReloadConfigRequest(_reload_request({"hpt": hpt_base, "leak": str(tmp_path / "leak")}), timeout=60)
    except grpc.RpcError as e:  # the reload answers with the load error itself
        msg = e.details()
    try:
        req = pb.GetModelStatusRequest()
        req.model_spec.name = "leak"
        for _ in range(100):
            if msg:
                break
            try:
                st = c.GetModelStatus(req, timeout=10).model_version_status
                msg = " ".join(v.status.error_message for v in st)
                if msg:
                    break
            except grpc.RpcError as e:
                msg = e.details()
            time.sleep(0.1)
        assert "saved_model.pbtxt" in msg and "1:1" in msg, msg
        assert "TOPSECRET" not in msg and "root:x" not in msg and "/bin/bash" not in msg, msg
    finally:
        c.close()
    assert "TOPSECRET" not in s.output()


# ---- model names and metrics ----

def _series(text):
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_bogus_model_names_do_not_grow_metrics(model_servers, hpt_base):
    s = model_servers("hpt", hpt_base)
    base = "http://127.0.0.1:%d" % s.rest_port
    metrics = base + "/monitoring/prometheus/metrics"
    with requests.Session() as http:
        assert http.post(base + "/v1/models/hpt:predict", json={"instances": [1.0]}, timeout=10).status_code == 200
        before = _series(http.get(metrics, timeout=10).text)
        for i in range(1000):
            r = http.post(base + "/v1/models/bogus%d:predict" % i, json={"instances": [1.0]}, timeout=10)
            assert r.status_code == 404
        c = gc.Client("127.0.0.1:%d" % grpc_port(s))
        try:
            for i in range(200):
                with pytest.raises(grpc.RpcError):
                    c.Predict(predict_request(name="grpcbogus%d" % i), timeout=10)
        finally:
            c.close()
        after_text = http.get(metrics, timeout=10).text
    after = _series(after_text)
    assert "bogus" not in after_text
    assert len(after) - len(before) < 10, (len(before), len(after))
    unknown = [line for line in after if 'model_name="__unknown__"' in line and "request_count" in line]
    assert sum(float(line.rsplit(" ", 1)[1]) for line in unknown) == 1200, unknown
    assert any('model_name="hpt"' in line for line in after)


def test_nul_and_control_bytes_in_model_names(model_servers, hpt_base):
    s = model_servers("hpt", hpt_base)
    base = "http://127.0.0.1:%d" % s.rest_port
    for name in ("hpt%00x", "hpt%00", "hp%01t", "hpt%0a", "%7f"):
        r = requests.post(base + "/v1/models/%s:predict" % name, json={"instances": [1.0]}, timeout=10)
        assert r.status_code == 400, (name, r.status_code, r.text)
        assert "Invalid model name" in r.json()["error"]
        r = requests.get(base + "/v1/models/%s/metadata" % name, timeout=10)
        assert r.status_code == 400, name
    r = requests.get(base + "/v1/models/hpt/labels/a%00b", timeout=10)
    assert r.status_code == 400
    c = gc.Client("127.0.0.1:%d" % grpc_port(s))
    pb = gc.protos()
    try:
        for name in ("hpt\x00x", "hpt\x00", "hp\x1bt"):
            with pytest.raises(grpc.RpcError) as e:  # "hpt\0x" must not be served as "hpt"
                c.Predict(predict_request(name=name), timeout=10)
            assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "Invalid model name" in e.value.details()
            req = pb.GetModelStatusRequest()
            req.model_spec.name = name
            with pytest.raises(grpc.RpcError) as e:
                c.GetModelStatus(req, timeout=10)
            assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        check_prediction(c.Predict(predict_request(), timeout=10))
    finally:
        c.close()
