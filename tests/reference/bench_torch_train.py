#!/usr/bin/python3
"""Times agfas-bench's training steps with the PyTorch reference networks
of this folder (unet.py, oanet.py, loaded as bench_torch_models.py does),
on the SAME random-weight checkpoints agfas-bench wrote, in the same run.

`agfas-bench train --torch` writes the cases (step, preset, batch, inputs,
checkpoint, configuration) and calls

  /usr/bin/python3 tests/reference/bench_torch_train.py --cases cases.json \
      --json out.json --threads N

The steps are ours (trainer/bench_train_step.c):
  unet  eps = unet(latent, t, context); F.mse_loss(eps, noise); backward;
        AdamW(lr 1e-4, weight_decay 0.01) step; zero_grad
  vit   logits = OA-Net image_only(image); F.cross_entropy(logits, labels);
        backward; SGD(lr 1e-2, momentum 0.9, weight_decay 1e-4) step;
        zero_grad
Every case runs on the CPU in float32 with torch.set_num_threads(N) (N =
our CPU backend's threads) and, when CUDA is present, on CUDA in float32
(TF32 off) and float16 (autocast + GradScaler: f32 master weights, as our
f16 rows keep; peak from torch.cuda.max_memory_allocated). Timing as
agfas-bench: one warm-up step, then the median of `runs` synced steps.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_torch_models as btm  # noqa: E402
from oanet import OANet  # noqa: E402


def build_vit(cfg, path):
    """The OA-Net image_only of the checkpoint (timm ViT names at the root)."""
    c = cfg["vit"]
    net = OANet("image_only", c["feat"], c["norm"], img=c["img"],
                patch=c["patch"], dim=c["dim"], depth=c["depth"],
                heads=c["heads"], mlp=c["mlp"], eps=c["eps"])
    roots = ("head.", "classifier.")
    return btm.load(net, path,
                    rename=lambda k: k if k.startswith(roots) else "vit." + k)


def make_step(case, dev, half):
    """A callable running one whole training step of the case."""
    gen = torch.Generator().manual_seed(42)

    def rand(shape):
        return (torch.rand(shape, generator=gen) * 2 - 1).to(dev)

    ins = [rand(s) for s in case["inputs"]]
    b = case["batch"]
    if case["step"] == "unet":
        net = btm.build_unet(case["config"], {"unet": case["file"]})
        noise = rand(case["inputs"][0])
        t = torch.randint(0, 1000, (b,), generator=gen).float().to(dev)
        net = net.to(dev).train()
        opt = torch.optim.AdamW(net.parameters(), lr=1e-4, weight_decay=0.01)

        def loss_fn():
            return F.mse_loss(net(ins[0], t, ins[1]), noise)
    else:
        net = build_vit(case["config"], case["file"]).to(dev).train()
        labels = (torch.arange(b) % 2).to(dev)
        opt = torch.optim.SGD(net.parameters(), lr=1e-2, momentum=0.9,
                              weight_decay=1e-4)

        def loss_fn():
            return F.cross_entropy(net(ins[0], None)[0], labels)

    scaler = torch.cuda.amp.GradScaler(init_scale=1024.0) if half else None

    def step():
        with torch.autocast("cuda", dtype=torch.float16, enabled=half):
            loss = loss_fn()
        if scaler:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            opt.step()
        opt.zero_grad(set_to_none=True)
    return step


def time_case(step, sync, runs, cuda):
    step()  # warm-up: allocator, optimizer state
    sync()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t0)
    return (statistics.median(times),
            torch.cuda.max_memory_allocated() if cuda else None)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", required=True,
                    help="cases JSON written by agfas-bench train --torch")
    ap.add_argument("--json", required=True, help="results JSON to write")
    ap.add_argument("--threads", type=int, default=0,
                    help="torch.set_num_threads (our CPU backend's threads)")
    ap.add_argument("--device", default="all", choices=["cpu", "cuda", "all"])
    args = ap.parse_args()

    with open(args.cases) as f:
        spec = json.load(f)
    threads = args.threads or spec.get("threads", 0)
    if threads:
        torch.set_num_threads(threads)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(0)

    targets = []
    if args.device in ("cpu", "all"):
        targets.append(("cpu", False, lambda: None,
                        "torch %s CPU, %d threads" % (torch.__version__,
                                                      torch.get_num_threads())))
    if args.device in ("cuda", "all") and torch.cuda.is_available():
        name = "torch %s %s" % (torch.__version__, torch.cuda.get_device_name(0))
        for half in (False, True):
            targets.append(("cuda", half, torch.cuda.synchronize, name))
    print("torch %s, %d CPU threads (torch.set_num_threads)"
          % (torch.__version__, torch.get_num_threads()), flush=True)

    results = []
    for case in spec["cases"]:
        for dev, half, sync, devname in targets:
            step = make_step(case, dev, half)
            sec, peak = time_case(step, sync, case["runs"], dev == "cuda")
            dts = "f16" if half else "f32"
            results.append({
                "id": case["id"], "step": case["step"],
                "preset": case["preset"], "batch": case["batch"],
                "dtype": dts, "backend": "torch-" + dev,
                "device": "torch-" + dev, "device_name": devname,
                "usec": sec * 1e6, "runs": case["runs"],
                "samples_per_sec": case["batch"] / sec, "peak_bytes": peak})
            print("torch-%-5s %-7s %-5s %s %10.2f ms %10.2f samples/s" % (
                dev, case["preset"], case["step"], dts, sec * 1e3,
                case["batch"] / sec), flush=True)
            del step
            if dev == "cuda":
                torch.cuda.empty_cache()
    with open(args.json, "w") as f:
        json.dump({"schema": "agfas-bench-train/1", "threads": threads,
                   "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
