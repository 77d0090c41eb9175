#!/usr/bin/python3
"""Times agfas-bench's op cases with PyTorch, for comparison in the same run.

Reads the cases that `agfas-bench ops --export-cases FILE` (or `--torch`)
writes, times each with torch on the CPU (float32) and on CUDA when present
(float32 with TF32 off, and float16), and writes the agfas-bench JSON schema.
Run it with Debian's python3 (/usr/bin/python3, package python3-torch).

  /usr/bin/python3 tests/reference/bench_torch_ops.py --cases cases.json --json out.json
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F


def make_op(case, dev, dtype):
    """Returns a no-argument callable running the case on fresh tensors."""
    gen = torch.Generator().manual_seed(42)
    ins = [(torch.rand(s, generator=gen) - 0.5).to(dev, dtype) for s in case["inputs"]]
    p = case["params"]
    op = case["op"]
    if op == "gemm":
        a, b = ins[0], ins[1]
        bias = ins[2] if len(ins) > 2 else None
        if p.get("trans_b"):
            return lambda: F.linear(a, b, bias)
        return (lambda: torch.matmul(a, b) + bias) if bias is not None else (lambda: torch.matmul(a, b))
    if op == "conv2d":
        x, w, bias = ins[0], ins[1], ins[2] if len(ins) > 2 else None
        return lambda: F.conv2d(x, w, bias, stride=p["stride"], padding=p["padding"])
    if op == "group_norm":
        x, g, b = ins
        return lambda: F.group_norm(x, p["groups"], g, b, p["eps"])
    if op == "layer_norm":
        x, g, b = ins
        return lambda: F.layer_norm(x, (x.shape[-1],), g, b, p["eps"])
    if op == "attention":
        h = p["n_heads"]

        def heads(t):  # [B, L, H*D] -> [B, H, L, D], outside the timing
            bsz, length, width = t.shape
            return t.reshape(bsz, length, h, width // h).transpose(1, 2).contiguous()

        q, k, v = (heads(t) for t in ins)
        if hasattr(F, "scaled_dot_product_attention"):
            return lambda: F.scaled_dot_product_attention(q, k, v)
        scale = q.shape[-1] ** -0.5
        return lambda: torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * scale, -1) @ v
    if op == "unary":
        fn = {"silu": F.silu, "gelu": F.gelu, "relu": F.relu}[p["fn"]]
        x = ins[0]
        return lambda: fn(x)
    if op == "binary":
        a, b = ins
        return lambda: a + b
    if op == "softmax":
        x = ins[0]
        return lambda: torch.softmax(x, -1)
    return None


def time_op(fn, sync, samples, batch_sec):
    """Median time of one call: warm-up, then batches of about batch_sec."""
    fn()
    sync()
    t0 = time.perf_counter()
    fn()
    sync()
    once = max(time.perf_counter() - t0, 1e-6)
    reps = int(min(max(batch_sec / once, 1), 10000))
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        sync()
        times.append((time.perf_counter() - t0) / reps)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", required=True, help="cases JSON from agfas-bench --export-cases")
    ap.add_argument("--json", required=True, help="results JSON to write")
    ap.add_argument("--quick", action="store_true", help="fewer, shorter samples")
    ap.add_argument("--device", default="all", choices=["cpu", "cuda", "all"])
    args = ap.parse_args()

    with open(args.cases) as f:
        cases = json.load(f)["cases"]
    samples, batch_sec = (3, 0.02) if args.quick else (7, 0.1)
    torch.backends.cuda.matmul.allow_tf32 = False  # fp32 means fp32
    torch.backends.cudnn.allow_tf32 = False

    targets = []
    if args.device in ("cpu", "all"):
        targets.append(("cpu", torch.float32, lambda: None,
                        f"torch {torch.__version__} CPU, {torch.get_num_threads()} threads"))
    if args.device in ("cuda", "all") and torch.cuda.is_available():
        name = f"torch {torch.__version__} {torch.cuda.get_device_name(0)}"
        for dt in (torch.float32, torch.float16):
            targets.append(("cuda", dt, torch.cuda.synchronize, name))

    results = []
    with torch.no_grad():
        for case in cases:
            for dev, dt, sync, devname in targets:
                fn = make_op(case, dev, dt)
                if fn is None:
                    continue
                sec = time_op(fn, sync, samples, batch_sec)
                usec = sec * 1e6
                dts = "f16" if dt == torch.float16 else "f32"
                size = 2 if dt == torch.float16 else 4
                row = {
                    "case": case["case"], "group": case["group"], "op": case["label"],
                    "shape": case["shape"], "dtype": dts, "backend": "torch-" + dev,
                    "device": "torch-" + dev, "device_name": devname, "usec": usec,
                    "gflops": case["flops"] / usec * 1e-3 if case["flops"] > 0 else None,
                    "gbps": case["elements"] * size / usec * 1e-3,
                }
                results.append(row)
                print(f"torch-{dev:5s} {case['case']:34s} {dts} {usec / 1000:10.3f} ms", flush=True)
    with open(args.json, "w") as f:
        json.dump({"schema": "agfas-bench-ops/1", "quick": args.quick, "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
