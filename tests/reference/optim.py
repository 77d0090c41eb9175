#!/usr/bin/python3
"""Golden data for tests/test_optim.c: torch.optim.SGD (momentum, nesterov,
weight decay), torch.optim.AdamW, a cosine-with-warm-up LambdaLR,
clip_grad_norm_, an EMA of weights (diffusers EMAModel.step with a fixed
decay) and GradScaler's scale updates (its CUDA kernel's rule), each a few
steps on small odd-shaped tensors with fixed gradients (no autograd).

Run: /usr/bin/python3 tests/reference/optim.py  (torch 1.13)
Writes tests/golden/optim_steps.safetensors (a few KB).
"""
import math
import os

import torch

import st_io

SHAPES = [(5, 7), (13,)]
STEPS = 4
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden",
                   "optim_steps.safetensors")

g = torch.Generator().manual_seed(1234)
init = [torch.randn(s, generator=g) for s in SHAPES]
grads = [[torch.randn(s, generator=g) * 0.5 for s in SHAPES]
         for _ in range(STEPS)]
lrs = torch.tensor([0.05, 0.04, 0.03, 0.02])
out = {}
for i, t in enumerate(init):
    out[f"init.{i}"] = t
    for s in range(STEPS):
        out[f"grad.{s}.{i}"] = grads[s][i]
out["lrs"] = lrs

CASES = {
    "sgd": lambda ps: torch.optim.SGD(ps, lr=1.0),
    "sgd_momentum": lambda ps: torch.optim.SGD(ps, lr=1.0, momentum=0.9,
                                               weight_decay=0.01),
    "sgd_nesterov": lambda ps: torch.optim.SGD(ps, lr=1.0, momentum=0.9,
                                               nesterov=True,
                                               weight_decay=0.01),
    "adamw": lambda ps: torch.optim.AdamW(ps, lr=1.0, betas=(0.9, 0.99),
                                          eps=1e-6, weight_decay=0.05),
}
EMA_DECAY = 0.8
for name, make in CASES.items():
    ps = [torch.nn.Parameter(t.clone()) for t in init]
    opt = make(ps)
    shadow = [t.clone() for t in init]
    for s in range(STEPS):
        for group in opt.param_groups:
            group["lr"] = float(lrs[s])
        for p, gr in zip(ps, grads[s]):
            p.grad = gr.clone()
        opt.step()
        if name == "sgd_momentum":  # EMAModel.step: s -= (1 - d) * (s - p)
            with torch.no_grad():
                for sh, p in zip(shadow, ps):
                    sh.sub_((1 - EMA_DECAY) * (sh - p))
    for i, p in enumerate(ps):
        out[f"{name}.param.{i}"] = p.detach()
        st = opt.state[p]
        for key in ("momentum_buffer", "exp_avg", "exp_avg_sq"):
            if key in st and st[key] is not None:
                out[f"{name}.{key}.{i}"] = st[key]
    if name == "sgd_momentum":
        for i, sh in enumerate(shadow):
            out[f"ema.{i}"] = sh

# Cosine with linear warm-up (transformers' get_cosine_schedule_with_warmup
# plus a floor): 20 steps, 3 warm-up, base 0.1, min 0.001.
TOTAL, WARM, BASE, MIN = 20, 3, 0.1, 0.001


def lam(step):
    if step < WARM:
        return step / WARM
    prog = min(1.0, (step - WARM) / max(1, TOTAL - WARM))
    return (MIN + (BASE - MIN) * 0.5 * (1 + math.cos(math.pi * prog))) / BASE


p = torch.nn.Parameter(torch.zeros(1))
opt = torch.optim.SGD([p], lr=BASE)
sched = torch.optim.lr_scheduler.LambdaLR(opt, lam)
sched_lrs = []
for _ in range(TOTAL + 2):
    sched_lrs.append(opt.param_groups[0]["lr"])
    opt.step()
    sched.step()
out["cosine.lrs"] = torch.tensor(sched_lrs, dtype=torch.float32)

# clip_grad_norm_(max_norm=0.5) on step 0's gradients.
ps = [torch.nn.Parameter(t.clone()) for t in init]
for p, gr in zip(ps, grads[0]):
    p.grad = gr.clone()
norm = torch.nn.utils.clip_grad_norm_(ps, 0.5)
out["clip.norm"] = norm.reshape(1).float()
for i, p in enumerate(ps):
    out[f"clip.grad.{i}"] = p.grad

# GradScaler.update: init 1024, growth 2, backoff 0.5, interval 3; found_inf
# per step below. torch 1.13 has _amp_update_scale_ for CUDA only, so this is
# its kernel (aten/src/ATen/native/cuda/AmpKernels.cu) transcribed.
found = [0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0]
scale, tracker, scales = 1024.0, 0, []
for f in found:
    if f:
        scale, tracker = scale * 0.5, 0
    elif tracker + 1 == 3:
        scale, tracker = scale * 2.0, 0
    else:
        tracker += 1
    scales.append(scale)
out["scaler.found_inf"] = torch.tensor(found, dtype=torch.float32)
out["scaler.scales"] = torch.tensor(scales, dtype=torch.float32)

st_io.save(OUT, out, {"generator": "tests/reference/optim.py",
                      "torch": torch.__version__})
print("wrote", OUT, os.path.getsize(OUT), "bytes")
