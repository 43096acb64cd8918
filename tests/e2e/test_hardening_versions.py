"""test_hardening_versions.py — issue 12 point 5: a model version copied in two steps
(saved_model.pb first, variables/ later) never becomes AVAILABLE without its variables and never
replaces the serving version; once the copy completes (its files changed) it is retried and
serves. The good version answers every request throughout.

The model is generated (tools/gen_models.py half_plus_two_tf1: TF1 variables a = 0.5, b = 2
restored by a saver; y = a x + b), so nothing needs ../shared. 127.0.0.1 only, bounded in time.
"""

import os
import shutil
import subprocess
import sys
import time

import pytest

from conftest import REPO

POLL = "--file_system_poll_wait_seconds=1"


@pytest.fixture(scope="module")
def hpt_version(tmp_path_factory):
    out = tmp_path_factory.mktemp("version_models")
    r = subprocess.run([sys.executable, os.path.join(REPO, "tools", "gen_models.py"), str(out),
                        "--only", "half_plus_two_tf1"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    src = str(out / "half_plus_two_tf1" / "1")
    assert os.path.isfile(os.path.join(src, "variables", "variables.index"))
    return src


def states(server):
    r = server.get("/v1/models/hpt")
    assert r.status == 200, r.body
    return {int(v["version"]): (v["state"], v["status"]["error_message"]) for v in r.json()["model_version_status"]}


def predict_ok(server):
    r = server.post("/v1/models/hpt:predict", {"instances": [[2.0]]})
    assert r.status == 200 and r.json() == {"predictions": [[3.0]]}, (r.status, r.body)


def wait_for(server, cond, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        predict_ok(server)  # the serving version answers throughout
        st = states(server)
        assert st.get(2, ("",))[0] != "AVAILABLE" or cond(st), "version 2 AVAILABLE too early: %s" % st
        if cond(st):
            return st
        time.sleep(0.1)
    raise AssertionError("%s: not within %ds: %s\n%s" % (what, timeout, states(server), server.output()[-3000:]))


@pytest.mark.parametrize("retries", [0, 2])
def test_half_copied_version_waits_for_its_variables(model_servers, hpt_version, tmp_path, retries):
    base = tmp_path / "hpt"
    shutil.copytree(hpt_version, base / "1")
    extra = [POLL, "--max_num_load_retries=%d" % retries, "--load_retry_interval_micros=300000"]
    s = model_servers("hpt", str(base), extra)
    wait_for(s, lambda st: st.get(1, ("",))[0] == "AVAILABLE", 30, "version 1 available")
    # step 1: only saved_model.pb of version 2
    os.makedirs(base / "2")
    shutil.copy(os.path.join(hpt_version, "saved_model.pb"), base / "2" / "saved_model.pb")
    st = wait_for(s, lambda st: st.get(2, ("",))[0] == "END", 20, "version 2 tried and failed")
    assert "variables/variables.index does not exist" in st[2][1], st
    t_end = time.time() + 2.5  # several polls: the failed version is not retried, 1 keeps serving
    while time.time() < t_end:
        wait_for(s, lambda st: True, 1, "")
        assert states(s)[1][0] == "AVAILABLE"
    # step 2: the variables arrive (data first, then the index, as a copy tool might)
    os.makedirs(base / "2" / "variables")
    for name in sorted(os.listdir(os.path.join(hpt_version, "variables")), key=lambda n: n.endswith(".index")):
        shutil.copy(os.path.join(hpt_version, "variables", name), base / "2" / "variables" / name)
    wait_for(s, lambda st: st.get(2, ("",))[0] == "AVAILABLE", 20, "version 2 available after the copy")
    wait_for(s, lambda st: st.get(1, ("",))[0] == "END", 20, "version 1 retired")
    predict_ok(s)
