#!/usr/bin/python3
"""Golden data for tests/test_iresnet.c: insightface's ArcFace IResNet
(recognition/arcface_torch/backbones/iresnet.py) re-implemented in plain
torch with its module names (conv1, bn1, prelu, layerN.i.{bn1, conv1, bn2,
prelu, conv2, bn3, downsample.0/1}, bn2, dropout, fc, features), in eval mode.

The golden keeps iresnet18's structure (IBasicBlock, [2, 2, 2, 2], every
stage stride 2, 112x112 input -> 7x7 map, fc over the flattened map,
BatchNorm1d "features") but narrow widths 8/16/32/32 and 16 output features,
so that it stays small. Tensors: the weights by insightface name, "test.x"
[2, 3, 112, 112], "test.map" [2, 32, 7, 7] (after bn2, the identity tap),
"test.tokens" [2, 49, 32], "test.context" [2, 49, 40] (tokens zero-padded
to width 40) and "test.embedding" [2, 16].

Also prints the parameter counts of iresnet18/34/50/100 at insightface's
widths (64..512, 512 features), which the C test checks.

Run: /usr/bin/python3 tests/reference/iresnet.py
Writes tests/golden/iresnet.safetensors (about 500 KB).
"""
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402
from resnet18 import randomize, state  # noqa: E402

LAYERS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 14, 3),
          100: (3, 13, 30, 3)}


def conv3x3(i, o, stride=1):
    return nn.Conv2d(i, o, 3, stride, 1, bias=False)


class IBasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(inplanes, eps=1e-05)
        self.conv1 = conv3x3(inplanes, planes)
        self.bn2 = nn.BatchNorm2d(planes, eps=1e-05)
        self.prelu = nn.PReLU(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn3 = nn.BatchNorm2d(planes, eps=1e-05)
        self.downsample = downsample

    def forward(self, x):
        out = self.bn3(self.conv2(self.prelu(self.bn2(self.conv1(self.bn1(x))))))
        identity = x if self.downsample is None else self.downsample(x)
        return out + identity


class IResNet(nn.Module):
    fc_scale = 7 * 7

    def __init__(self, layers, widths=(64, 128, 256, 512), num_features=512,
                 stem=64):
        super().__init__()
        self.inplanes = stem
        self.conv1 = nn.Conv2d(3, stem, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem, eps=1e-05)
        self.prelu = nn.PReLU(stem)
        for i, (w, n) in enumerate(zip(widths, layers)):
            setattr(self, "layer%d" % (i + 1), self._make_layer(w, n, 2))
        self.bn2 = nn.BatchNorm2d(widths[-1], eps=1e-05)
        self.dropout = nn.Dropout(p=0, inplace=True)
        self.fc = nn.Linear(widths[-1] * self.fc_scale, num_features)
        self.features = nn.BatchNorm1d(num_features, eps=1e-05)

    def _make_layer(self, planes, blocks, stride):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes, 1, stride, bias=False),
                nn.BatchNorm2d(planes, eps=1e-05))
        layers = [IBasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        layers += [IBasicBlock(planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def tap(self, x):
        x = self.prelu(self.bn1(self.conv1(x)))
        for i in range(1, 5):
            x = getattr(self, "layer%d" % i)(x)
        return self.bn2(x)

    def forward(self, x):
        x = self.dropout(torch.flatten(self.tap(x), 1))
        return self.features(self.fc(x))


def main():
    for depth, layers in LAYERS.items():
        n = sum(p.numel() for p in IResNet(layers).parameters())
        print("iresnet%d parameters: %d" % (depth, n))

    gen = torch.Generator().manual_seed(50)
    net = IResNet(LAYERS[18], widths=(8, 16, 32, 32), num_features=16,
                  stem=8).eval()
    randomize(net, gen)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith("prelu.weight"):  # slopes in (0, 0.5)
                p.copy_(0.5 * torch.rand(p.shape, generator=gen))
    x = torch.randn(2, 3, 112, 112, generator=gen)
    with torch.no_grad():
        fmap = net.tap(x)
        emb = net(x)
    tokens = fmap.flatten(2).transpose(1, 2)
    context = torch.cat([tokens, torch.zeros(2, 49, 8)], dim=2)
    tensors = state(net)
    tensors["test.x"] = x
    tensors["test.map"] = fmap
    tensors["test.tokens"] = tokens
    tensors["test.context"] = context
    tensors["test.embedding"] = emb
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                       "golden", "iresnet.safetensors")
    st_io.save(out, tensors, {"format": "pt", "reference": "iresnet.py"})
    print("wrote", os.path.normpath(out), os.path.getsize(out), "bytes")


if __name__ == "__main__":
    main()
