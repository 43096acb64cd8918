"""test_generated_models.py — `tensord run` on the SavedModels written by tools/gen_models.py.

Covers (CLI flag behaviour lives in test_run_cli.py): TF1 (VariableV2 + save/restore_all) and TF2 (VarHandleOp + StatefulPartitionedCall +
traced_restore function) half_plus_two computing 0.5x+2 exactly; tf.Example regress/classify
via --input_examples; the numpy-trained mnist_mlp matching a numpy forward pass of its own
checkpoint; and corrupted copies that must fail with exit code 1 and a message, never crash.
"""

import json
import os
import shutil

import numpy as np
import pytest

from conftest import run_cli, run_outputs
import savedmodel_writer as W

HALF_PLUS_TWO = ["half_plus_two_tf1", "half_plus_two_tf2"]
XS = np.array([[0.0], [1.0], [2.0], [-3.5], [1e3], [0.1], [-1e-3]], np.float32)


def model_dir(generated_models, name):
    return os.path.join(generated_models, name, "1")


@pytest.mark.parametrize("name", HALF_PLUS_TWO)
def test_half_plus_two_predict_exact(tensord, generated_models, tmp_path, name):
    out = run_outputs(model_dir(generated_models, name), tmp_path, inputs={"x": XS})
    assert list(out) == ["y"]
    assert out["y"].dtype == np.float32 and out["y"].shape == XS.shape
    np.testing.assert_array_equal(out["y"], np.float32(0.5) * XS + np.float32(2.0))


@pytest.mark.parametrize("sig,out_key", [("regress_x_to_y", "outputs"), ("classify_x_to_y", "scores")])
def test_tf1_examples(tensord, generated_models, tmp_path, sig, out_key):
    d = model_dir(generated_models, "half_plus_two_tf1")
    out = run_outputs(d, tmp_path, signature=sig,
                      examples={"inputs": '[{"x":[1.0]},{"x":[4.0]},{"x":[-2.5],"unused":["a"]}]'})
    np.testing.assert_array_equal(out[out_key], [[2.5], [4.0], [0.75]])


def test_tf1_example_missing_required_feature(tensord, generated_models):
    r = run_cli("run", "--dir", model_dir(generated_models, "half_plus_two_tf1"), "--signature_def",
                "regress_x_to_y", "--input_examples", 'inputs=[{"y":[1.0]}]')
    assert r.returncode == 1
    assert "x" in r.stderr and "required" in r.stderr


def test_mnist_mlp_matches_numpy(tensord, generated_models, tmp_path):
    base = os.path.join(generated_models, "mnist_mlp")
    meta = json.load(open(os.path.join(base, "training.json")))
    ev = np.load(os.path.join(base, "eval.npz"))
    x, labels = ev["x"], ev["labels"]
    out = run_outputs(os.path.join(base, "1"), tmp_path, inputs={"x": x})
    assert out["probabilities"].shape == (len(x), 10) and out["classes"].dtype == np.int64
    # numpy forward pass of the checkpoint as written
    b = W.read_bundle(os.path.join(base, "1", "variables", "variables"))
    k = "layer_with_weights-%d/%s/.ATTRIBUTES/VARIABLE_VALUE"
    h = np.maximum(x @ b[k % (0, "kernel")] + b[k % (0, "bias")], 0)
    z = h @ b[k % (1, "kernel")] + b[k % (1, "bias")]
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    np.testing.assert_allclose(out["probabilities"], p, rtol=1e-5, atol=1e-6)
    top2 = np.sort(p, 1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 1e-5
    assert (out["classes"][clear] == p.argmax(1)[clear]).all()
    acc = float((out["classes"] == labels).mean())
    print("mnist_mlp (%s): tensord accuracy %.4f, numpy %.4f" % (meta["dataset"], acc, meta["numpy_eval_accuracy"]))
    assert acc >= meta["numpy_eval_accuracy"] - (~clear).mean() - 1e-9


def _corrupt(src, dst, how):
    shutil.copytree(src, dst)
    if how == "truncated_saved_model":
        p = os.path.join(dst, "saved_model.pb")
        data = open(p, "rb").read()
        open(p, "wb").write(data[: len(data) // 2])
    elif how == "empty_saved_model":
        open(os.path.join(dst, "saved_model.pb"), "wb").close()
    elif how == "garbage_saved_model":
        open(os.path.join(dst, "saved_model.pb"), "wb").write(b"\xff" * 64)
    elif how == "truncated_index":
        p = os.path.join(dst, "variables", "variables.index")
        data = open(p, "rb").read()
        open(p, "wb").write(data[:-10])
    elif how == "index_bad_crc":
        p = os.path.join(dst, "variables", "variables.index")
        data = bytearray(open(p, "rb").read())
        data[12] ^= 0x40
        open(p, "wb").write(bytes(data))
    elif how == "flipped_data":
        p = os.path.join(dst, "variables", "variables.data-00000-of-00001")
        data = bytearray(open(p, "rb").read())
        data[1] ^= 0x01
        open(p, "wb").write(bytes(data))
    elif how == "truncated_data":
        p = os.path.join(dst, "variables", "variables.data-00000-of-00001")
        data = open(p, "rb").read()
        open(p, "wb").write(data[:3])
    elif how == "missing_data":
        os.remove(os.path.join(dst, "variables", "variables.data-00000-of-00001"))
    else:
        raise ValueError(how)


CORRUPTIONS = ["truncated_saved_model", "empty_saved_model", "garbage_saved_model", "truncated_index",
               "index_bad_crc", "flipped_data", "truncated_data", "missing_data"]


@pytest.mark.parametrize("name", HALF_PLUS_TWO)
@pytest.mark.parametrize("how", CORRUPTIONS)
def test_corrupted_models_fail_cleanly(tensord, generated_models, tmp_path, name, how):
    dst = str(tmp_path / "m")
    _corrupt(model_dir(generated_models, name), dst, how)
    r = run_cli("run", "--dir", dst, "--input_exprs", "x=[[1.0]]")
    assert r.returncode == 1, "expected failure for %s, got rc %d\nstdout: %s" % (how, r.returncode, r.stdout)
    assert "error" in r.stderr and len(r.stderr.strip()) > 20, r.stderr
