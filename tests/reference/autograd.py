"""Golden for tests/test_autograd.c: BatchNorm2d in train mode (batch
statistics, running-statistics update with momentum 0.1 and the unbiased
variance) and its backward, from PyTorch.

Writes tests/golden/autograd_batch_norm.safetensors:
  bn.{weight,bias,running_mean,running_var}  the layer before the step
  x, r                                       input and the loss weights
  y, dx, dweight, dbias                      forward output and gradients
                                             of loss = sum(y * r)
  running_mean_after, running_var_after      the updated statistics

Run with Debian's python3 (python3-torch):
  /usr/bin/python3 tests/reference/autograd.py
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402


def main():
    torch.manual_seed(3)
    n, c, h, w = 3, 5, 4, 3
    bn = torch.nn.BatchNorm2d(c, eps=1e-5, momentum=0.1)
    with torch.no_grad():
        bn.weight.copy_(torch.rand(c) + 0.5)
        bn.bias.copy_(torch.randn(c) * 0.3)
        bn.running_mean.copy_(torch.randn(c) * 0.2)
        bn.running_var.copy_(torch.rand(c) + 0.5)
    before = {"bn.weight": bn.weight.detach().clone(),
              "bn.bias": bn.bias.detach().clone(),
              "bn.running_mean": bn.running_mean.clone(),
              "bn.running_var": bn.running_var.clone()}
    x = (torch.randn(n, c, h, w) * 1.5 + 0.7).requires_grad_(True)
    r = torch.randn(n, c, h, w)
    bn.train()
    y = bn(x)
    (y * r).sum().backward()
    out = dict(before)
    out.update({"x": x.detach(), "r": r, "y": y.detach(), "dx": x.grad,
                "dweight": bn.weight.grad, "dbias": bn.bias.grad,
                "running_mean_after": bn.running_mean.clone(),
                "running_var_after": bn.running_var.clone()})
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.join(root, "golden", "autograd_batch_norm.safetensors")
    st_io.save(path, out, {"eps": "1e-5", "momentum": "0.1"})
    print("wrote", path)


if __name__ == "__main__":
    main()
