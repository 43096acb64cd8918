"""torch_twins.py — PyTorch forms of bench_twins.py's models (lstm, gru, bert, mobilenet), built
from the .npz weights in TF layouts (converted here), for torch_bench.py. Same inputs as the
other drivers: lstm/gru x [N,50,64], bert x [N,128,256], mobilenet x [N,224,224,3] (NHWC,
permuted to NCHW inside forward)."""
import numpy as np
import torch
from torch import nn
from torch.nn import functional as Fn

from bench_twins import BHID, BSEQ, FFN, HDIM, HEADS, HID, INP, LAYERS, LN_EPS, mobilenet_layers

INPUT_DIMS = {"lstm": [50, 64], "gru": [50, 64], "bert": [BSEQ, BHID], "mobilenet": [224, 224, 3]}


def _t(a):
    return torch.from_numpy(np.ascontiguousarray(a))


class RNN(nn.Module):
    def __init__(self, kind, w):
        super().__init__()
        H = HID
        if kind == "lstm":  # Keras i,f,c,o == torch i,f,g,o
            self.rnn = nn.LSTM(INP, H, batch_first=True)
            wi, wh, bi, bh = w["kernel"].T, w["rkernel"].T, w["bias"], np.zeros(4 * H, np.float32)
        else:  # Keras z,r,h -> torch r,z,n
            self.rnn = nn.GRU(INP, H, batch_first=True)
            order = lambda a: np.concatenate([a[..., H:2 * H], a[..., :H], a[..., 2 * H:]], axis=-1)  # noqa: E731
            wi, wh = order(w["kernel"]).T, order(w["rkernel"]).T
            bi, bh = order(w["bias"][0]), order(w["bias"][1])
        self.rnn.weight_ih_l0.data = _t(wi)
        self.rnn.weight_hh_l0.data = _t(wh)
        self.rnn.bias_ih_l0.data = _t(bi)
        self.rnn.bias_hh_l0.data = _t(bh)

    def forward(self, x):
        _, h = self.rnn(x)
        return (h[0] if isinstance(h, tuple) else h)[0]


class Bert(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.w = {k: _t(v) for k, v in w.items()}
        for l in range(LAYERS):
            for t in "qkv":
                self.w["l%d_%s_w" % (l, t)] = self.w["l%d_%s_w" % (l, t)].reshape(BHID, BHID)
                self.w["l%d_%s_b" % (l, t)] = self.w["l%d_%s_b" % (l, t)].reshape(BHID)
            self.w["l%d_o_w" % l] = self.w["l%d_o_w" % l].reshape(BHID, BHID)

    def forward(self, x):
        n = x.shape[0]
        for l in range(LAYERS):
            w = lambda k: self.w["l%d_%s" % (l, k)]  # noqa: E731
            q, k, v = (torch.addmm(w(t + "_b"), x.reshape(-1, BHID), w(t + "_w")).reshape(n, BSEQ, HEADS, HDIM)
                       .transpose(1, 2) for t in "qkv")
            p = torch.softmax(torch.matmul(q * (1.0 / np.sqrt(HDIM)), k.transpose(2, 3)), dim=-1)
            ctx = torch.matmul(p, v).transpose(1, 2).reshape(-1, BHID)
            a = torch.addmm(w("o_b"), ctx, w("o_w")).reshape(n, BSEQ, BHID)
            x = Fn.layer_norm(x + a, (BHID,), w("ln1_g"), w("ln1_b"), LN_EPS)
            h = Fn.gelu(torch.addmm(w("f1_b"), x.reshape(-1, BHID), w("f1_w")))
            h = torch.addmm(w("f2_b"), h, w("f2_w")).reshape(n, BSEQ, BHID)
            x = Fn.layer_norm(x + h, (BHID,), w("ln2_g"), w("ln2_b"), LN_EPS)
        return x


class MobileNetV2(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.layers = []
        self.mods = nn.ModuleList()
        for name, kind, cin, cout, stride, act in mobilenet_layers():
            if kind == "add":
                self.layers.append((name, None, 0, False))
                continue
            k = 3 if kind in ("dw", "conv3") else 1
            conv = nn.Conv2d(cin, cout, k, stride, 0, groups=cin if kind == "dw" else 1)
            wt = w[name + "_w"]
            conv.weight.data = _t(wt.transpose(2, 3, 0, 1) if kind == "dw" else wt.transpose(3, 2, 0, 1))
            conv.bias.data = _t(w[name + "_b"])
            self.mods.append(conv)
            pad = 0 if k == 1 else ((1, 1, 1, 1) if stride == 1 else (0, 1, 0, 1))
            self.layers.append((name, conv, pad, act))
        self.fc = nn.Linear(1280, 1000)
        self.fc.weight.data = _t(w["fc_w"].T)
        self.fc.bias.data = _t(w["fc_b"])

    def forward(self, x):
        h = x.permute(0, 3, 1, 2).contiguous()
        block_in, prev = None, None
        for name, conv, pad, act in self.layers:
            if conv is None:
                h = block_in + h
                continue
            if name.split("_")[0] != prev:
                block_in, prev = h, name.split("_")[0]
            if pad:
                h = Fn.pad(h, pad)
            h = conv(h)
            if act:
                h = Fn.relu6(h)
        return torch.softmax(self.fc(h.mean(dim=(2, 3))), dim=1)


def build(name, w):
    if name in ("lstm", "gru"):
        return RNN(name, w).eval()
    if name == "bert":
        return Bert(w).eval()
    return MobileNetV2(w).eval()


_ = FFN  # (documented dims)
