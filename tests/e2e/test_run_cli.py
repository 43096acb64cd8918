"""test_run_cli.py — `tensord run` command-line behaviour (saved_model_cli compatibility):
printing format, --input_exprs literals and np.* calls, .npz inputs, --outdir/--overwrite,
and clear errors (exit 1) / usage errors (exit 2) on bad flags, keys, dtypes and shapes.
Uses the generated half_plus_two models (tools/gen_models.py).
"""

import os

import numpy as np
import pytest

from conftest import run_cli, run_outputs

HALF_PLUS_TWO = ["half_plus_two_tf1", "half_plus_two_tf2"]


def model_dir(generated_models, name):
    return os.path.join(generated_models, name, "1")


@pytest.mark.parametrize("name", HALF_PLUS_TWO)
def test_half_plus_two_prints_like_saved_model_cli(tensord, generated_models, name):
    r = run_cli("run", "--dir", model_dir(generated_models, name), "--tag_set", "serve",
                "--signature_def", "serving_default", "--input_exprs", "x=[[1.0],[2.0],[-3.5]]")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Result for output key y:\n[[2.5 ]\n [3.  ]\n [0.25]]\n"


def test_input_exprs_numpy_calls(tensord, generated_models, tmp_path):
    d = model_dir(generated_models, "half_plus_two_tf1")
    out = run_outputs(d, tmp_path, exprs={"x": "np.ones((3,1))"})
    np.testing.assert_array_equal(out["y"], np.full((3, 1), 2.5, np.float32))
    out = run_outputs(d, tmp_path, exprs={"x": "[[4]]"})  # ints are cast to the float input
    np.testing.assert_array_equal(out["y"], [[4.0]])


def test_npz_inputs(tensord, generated_models, tmp_path):
    d = model_dir(generated_models, "half_plus_two_tf2")
    npz = tmp_path / "feeds.npz"
    np.savez(npz, first=np.array([[2.0]], np.float32), second=np.array([[6.0], [8.0]], np.float32))
    for spec, want in (("x=%s" % npz, [[3.0]]), ("x=%s[second]" % npz, [[5.0], [6.0]])):
        out_dir = tmp_path / ("o%d" % len(want))
        r = run_cli("run", "--dir", d, "--inputs", spec, "--outdir", out_dir)
        assert r.returncode == 0, r.stderr
        np.testing.assert_array_equal(np.load(out_dir / "y.npy"), want)
    np.savez_compressed(tmp_path / "c.npz", x=np.ones((1, 1), np.float32))
    r = run_cli("run", "--dir", d, "--inputs", "x=%s" % (tmp_path / "c.npz"))
    assert r.returncode == 1 and "savez_compressed" in r.stderr


# ---- error handling ----

@pytest.mark.parametrize("args,needle", [
    (["--input_exprs", "nope=[[1.0]]"], "not a valid input key"),
    (["--input_exprs", "x=[['a']]"], "dtype"),
    (["--input_exprs", "x=[1.0, 2.0]"], "shape"),
    (["--input_exprs", "x=[[1.0], [2.0, 3.0]]"], "ragged"),
    (["--input_exprs", "x=[[1.0"], "Python literal"),
    (["--inputs", "x=/nonexistent/file.npy"], "file.npy"),
    (["--signature_def", "missing", "--input_exprs", "x=[[1.0]]"], "no signature 'missing'"),
    (["--tag_set", "gpu", "--input_exprs", "x=[[1.0]]"], "gpu"),
])
def test_cli_errors(tensord, generated_models, args, needle):
    r = run_cli("run", "--dir", model_dir(generated_models, "half_plus_two_tf1"), *args)
    assert r.returncode == 1, r.stdout + r.stderr
    assert needle in r.stderr and r.stdout == ""


def test_cli_usage_errors(tensord, generated_models):
    assert run_cli("run").returncode == 2
    assert run_cli("run", "--dir", model_dir(generated_models, "half_plus_two_tf1")).returncode == 2
    assert run_cli("run", "--bogus").returncode == 2


def test_outdir_overwrite(tensord, generated_models, tmp_path):
    d = model_dir(generated_models, "half_plus_two_tf1")
    args = ["run", "--dir", d, "--input_exprs", "x=[[1.0]]", "--outdir", tmp_path / "o"]
    r = run_cli(*args)
    assert r.returncode == 0 and "Output y is saved to" in r.stdout
    r = run_cli(*args)
    assert r.returncode == 1 and "already exists" in r.stderr
    r = run_cli(*(args + ["--overwrite"]))
    assert r.returncode == 0
    np.testing.assert_array_equal(np.load(tmp_path / "o" / "y.npy"), [[2.5]])
