#!/usr/bin/python3
"""Golden data for tests/test_resnet18.c: torchvision's ResNet-18 (BasicBlock,
[2, 2, 2, 2]) re-implemented in plain torch with torchvision's module names
(conv1, bn1, layerN.i.conv1/bn1/conv2/bn2, layerN.0.downsample.0/1, fc), in
eval mode (batch norm from running statistics).

The golden is a "tiny" ResNet-18: the real block structure with widths
4/8/16/32, a 6-channel input (image + cue, as the OA-Net cue encoder may
take) and a 10-class fc, on a [2, 6, 64, 64] input, so the final map is 2x2.
Tensors: the weights by torchvision name, "test.x", and the outputs
"test.features" [2, 32, 2, 2], "test.tokens" [2, 4, 32],
"test.logits" [2, 10].

Also prints the parameter count of torchvision's resnet18 configuration
(3 channels, 64..512, 1000 classes), which the C test checks.

Run: /usr/bin/python3 tests/reference/resnet18.py
Writes tests/golden/resnet18.safetensors (about 150 KB).
"""
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402


class BasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, planes, 1, stride, bias=False),
                nn.BatchNorm2d(planes))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class ResNet(nn.Module):
    def __init__(self, in_ch=3, widths=(64, 128, 256, 512), blocks=(2, 2, 2, 2),
                 num_classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, widths[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        inplanes = widths[0]
        for i, (w, n) in enumerate(zip(widths, blocks)):
            stride = 1 if i == 0 else 2
            layer = [BasicBlock(inplanes, w, stride)]
            layer += [BasicBlock(w, w, 1) for _ in range(1, n)]
            setattr(self, "layer%d" % (i + 1), nn.Sequential(*layer))
            inplanes = w
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(inplanes, num_classes) if num_classes else None

    def features(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for i in range(1, 5):
            x = getattr(self, "layer%d" % i)(x)
        return x

    def forward(self, x):
        return self.fc(torch.flatten(self.avgpool(self.features(x)), 1))


def randomize(model, gen):
    """Every parameter and batch-norm statistic random (so a mixed-up tensor
    shows), scaled to keep activations O(1) through the depth."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() > 1:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=gen) / fan_in ** 0.5)
            elif name.endswith("weight"):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(0.1 * torch.randn(b.shape, generator=gen))
            elif name.endswith("running_var"):
                b.copy_(0.5 + torch.rand(b.shape, generator=gen))


def state(model):
    return {k: v for k, v in model.state_dict().items()
            if not k.endswith("num_batches_tracked")}


def main():
    full = ResNet()
    n_full = sum(p.numel() for p in full.parameters())
    print("torchvision resnet18 parameters:", n_full)

    gen = torch.Generator().manual_seed(18)
    net = ResNet(in_ch=6, widths=(4, 8, 16, 32), num_classes=10).eval()
    randomize(net, gen)
    x = torch.randn(2, 6, 64, 64, generator=gen)
    with torch.no_grad():
        feat = net.features(x)
        logits = net(x)
    tensors = state(net)
    tensors["test.x"] = x
    tensors["test.features"] = feat
    tensors["test.tokens"] = feat.flatten(2).transpose(1, 2)
    tensors["test.logits"] = logits
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                       "golden", "resnet18.safetensors")
    st_io.save(out, tensors, {"format": "pt", "reference": "resnet18.py"})
    print("wrote", os.path.normpath(out), os.path.getsize(out), "bytes")


if __name__ == "__main__":
    main()
