#!/usr/bin/python3
"""Times agfas-bench's network cases with the PyTorch reference networks of
this folder (autoencoder_kl.py, unet.py, iresnet.py, resnet18.py, oanet.py,
face_nets.py, schedulers.py), loading the SAME random-weight checkpoints
agfas-bench wrote (st_io.load), for comparison in the same run.

`agfas-bench models --torch` writes the cases (networks, configurations,
checkpoint paths, input shapes, run counts) and calls

  /usr/bin/python3 tests/reference/bench_torch_models.py --cases cases.json \
      --json out.json --threads N

Every case runs on the CPU in float32 with torch.set_num_threads(N) (N =
our CPU backend's threads) and, when CUDA is present, on CUDA in float32
(TF32 off) and float16 (eager, what a GPU run compares against; peak memory
from torch.cuda.max_memory_allocated). Timing as agfas-bench: one warm-up,
then the median of `runs` synced forwards. Input values and noises are
random (speed does not depend on them).
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
import sd_blocks  # noqa: E402
import st_io  # noqa: E402
import unet as unet_ref  # noqa: E402
from autoencoder_kl import AutoencoderKL  # noqa: E402
from face_nets import MobileFaceNet, PNet  # noqa: E402
from iresnet import IResNet  # noqa: E402
from oanet import OANet  # noqa: E402
from resnet18 import ResNet  # noqa: E402
from schedulers import DDIM, PNDM, img2img_timesteps  # noqa: E402


def _timestep_embedding(t, dim, *args, **kw):
    # The reference builds its frequency table on the CPU: compute there,
    # then move to the sample's device (matters for CUDA only).
    return sd_blocks.timestep_embedding(t.cpu(), dim, *args, **kw).to(t.device)


unet_ref.timestep_embedding = _timestep_embedding


def load(module, path, rename=None, keep=None):
    """Loads a checkpoint into module; every parameter must be in the file."""
    tensors, _ = st_io.load(path)
    sd = {}
    for k, v in tensors.items():
        if keep is not None and not keep(k):
            continue
        sd[rename(k) if rename else k] = v
    # 1x1 convs stored as linears (diffusers' use_linear_projection
    # layout, which our loader accepts too) take the module's shape.
    own = module.state_dict()
    for k, v in sd.items():
        if k in own and own[k].shape != v.shape and own[k].numel() == v.numel():
            sd[k] = v.reshape(own[k].shape)
    missing, unexpected = module.load_state_dict(sd, strict=False)
    missing = [m for m in missing if not m.endswith("num_batches_tracked")]
    if missing or unexpected:
        sys.exit("%s does not match the reference network: missing %s, "
                 "unexpected %s" % (path, missing[:5], unexpected[:5]))
    return module


def build_vae(cfg, files):
    c = cfg["vae"]
    vae = AutoencoderKL(c["in_channels"], c["out_channels"],
                        c["block_out_channels"], c["layers_per_block"],
                        c["latent_channels"], c["norm_num_groups"])
    return load(vae, files["vae"])


def build_unet(cfg, files):
    c = cfg["unet"]
    if len(set(c["heads"])) != 1:
        sys.exit("unet.py takes one head count for every level, not %s"
                 % c["heads"])
    net = unet_ref.UNet2DConditionModel(
        c["in_channels"], c["out_channels"], c["block_out_channels"],
        [bool(a) for a in c["down_attention"]], c["layers_per_block"],
        c["heads"][0], c["cross_attention_dim"], c["norm_num_groups"],
        c["norm_eps"], c["transformer_depth"])
    return load(net, files["unet"])


def build_iresnet(cfg, files):
    c = cfg["iresnet"]
    net = IResNet(c["layers"], c["widths"], c["num_features"], c["stem"])
    return load(net, files["iresnet"])


def cue_encoder(c):
    return ResNet(c["cue_in"], c["cue_widths"], c["cue_blocks"], num_classes=0)


def build_oanet(cfg, files):
    c = cfg["oanet"]
    net = OANet(c["variant"], c["feat"], c["norm"], c["cue_widths"],
                c["cue_in"], img=c["img"], patch=c["patch"], dim=c["dim"],
                depth=c["depth"], heads=c["heads"], mlp=c["mlp"],
                eps=c["eps"])
    net.cue_encoder = cue_encoder(c)  # any blocks per stage, as the file
    roots = ("cue_encoder.", "head.", "classifier.")
    return load(net, files["oanet"],
                rename=lambda k: k if k.startswith(roots) else "vit." + k)


def build_resnet18(cfg, files):
    p = "cue_encoder."
    return load(cue_encoder(cfg["oanet"]), files["oanet"],
                rename=lambda k: k[len(p):], keep=lambda k: k.startswith(p))


def reconstruct(nets, x, case, cfg, strength):
    """dfg.h's pipeline: identity context, encode + sample, forward jump to
    t0, sampler steps, decode."""
    vae, unet, idnet = nets
    sf = cfg["vae"]["scaling_factor"]
    ctx_dim = cfg["unet"]["cross_attention_dim"]
    face = F.interpolate(x, size=(112, 112), mode="bilinear",
                         align_corners=False)
    tokens = idnet.tap(face).flatten(2).transpose(1, 2)
    ctx = F.pad(tokens, (0, ctx_dim - tokens.shape[2]))
    mean, logvar = vae.encode(x)
    z = vae.sample(mean, logvar, torch.randn_like(mean)) * sf
    pndm = case["sampler"] == "pndm"
    sched = PNDM() if pndm else DDIM()
    sched.set_timesteps(case["steps"])
    ts = img2img_timesteps(sched, case["steps"], strength).tolist()
    if ts:
        a = float(sched.alphas_cumprod[ts[0]])
        z = a ** 0.5 * z + (1 - a) ** 0.5 * torch.randn_like(z)
    for t in ts:
        tt = torch.full((x.shape[0],), float(t), device=x.device)
        eps = unet(z, tt, ctx)
        z = sched.step(eps, t, z)[0] if pndm else sched.step(eps, t, z)
    return vae.decode(z / sf)


def make_runner(case, dev, dtype):
    """(forward, warm-up) callables on fresh inputs for one case."""
    cfg, files, net = case["config"], case["files"], case["network"]
    ins = [(torch.rand(s) * 2 - 1).to(dev, dtype) for s in case["inputs"]]

    def ready(m):
        return m.to(dev, dtype).eval()

    if net in ("vae_encode", "vae_decode"):
        vae = ready(build_vae(cfg, files))
        fn = vae.encode if net == "vae_encode" else vae.decode
        run = lambda: fn(ins[0])  # noqa: E731
    elif net == "unet":
        u = ready(build_unet(cfg, files))
        t = torch.full((ins[0].shape[0],), 801.0, device=dev)
        run = lambda: u(ins[0], t, ins[1])  # noqa: E731
    elif net == "iresnet":
        idn = ready(build_iresnet(cfg, files))

        def run():
            m = idn.tap(ins[0])
            return m.flatten(2).transpose(1, 2), idn.features(idn.fc(m.flatten(1)))
    elif net == "oanet":
        oa = ready(build_oanet(cfg, files))
        run = lambda: oa(ins[0], ins[1])  # noqa: E731
    elif net == "resnet18":
        rn = ready(build_resnet18(cfg, files))
        run = lambda: rn.features(ins[0]).flatten(2).transpose(1, 2)  # noqa: E731
    elif net == "mobilefacenet":
        mfn = ready(load(MobileFaceNet(), files["mobilefacenet"]))
        run = lambda: mfn(ins[0])  # noqa: E731
    elif net == "pnet":
        pn = ready(load(PNet(), files["pnet"]))
        run = lambda: pn(ins[0])  # noqa: E731
    elif net == "reconstruct":
        nets = (ready(build_vae(cfg, files)), ready(build_unet(cfg, files)),
                ready(build_iresnet(cfg, files)))
        run = lambda: reconstruct(nets, ins[0], case, cfg, case["strength"])  # noqa: E731
        # as agfas-bench: a 1-step reconstruction touches every network
        warm = lambda: reconstruct(nets, ins[0], case, cfg, 1.0 / case["steps"])  # noqa: E731
        return run, warm
    else:
        return None, None
    return run, run


def time_case(run, warm, sync, runs, cuda):
    """Median seconds, and the CUDA peak of the timed runs (weights
    included, as agfas-bench reports ours)."""
    warm()
    sync()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        run()
        sync()
        times.append(time.perf_counter() - t0)
    return (statistics.median(times),
            torch.cuda.max_memory_allocated() if cuda else None)


def bench_setup(doc, command):
    """The command line of the torch benchmark scripts (doc: the script's
    docstring; command: the agfas-bench subcommand that writes the cases):
    returns the arguments, the cases JSON and the thread count, with torch
    set to that many threads, no TF32 (fp32 means fp32) and seed 0."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--cases", required=True,
                    help="cases JSON written by agfas-bench %s --torch"
                    % command)
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
    return args, spec, threads


def bench_targets(device):
    """(device, half, synchronize, device name) of every torch target that
    --device selects and this machine has (CUDA in f32 and f16)."""
    targets = []
    if device in ("cpu", "all"):
        targets.append(("cpu", False, lambda: None,
                        "torch %s CPU, %d threads" % (torch.__version__,
                                                      torch.get_num_threads())))
    if device in ("cuda", "all") and torch.cuda.is_available():
        name = "torch %s %s" % (torch.__version__, torch.cuda.get_device_name(0))
        for half in (False, True):
            targets.append(("cuda", half, torch.cuda.synchronize, name))
    print("torch %s, %d CPU threads (torch.set_num_threads)"
          % (torch.__version__, torch.get_num_threads()), flush=True)
    return targets


def write_results(path, schema, threads, results):
    with open(path, "w") as f:
        json.dump({"schema": schema, "threads": threads, "results": results},
                  f, indent=2)


def main():
    args, spec, threads = bench_setup(__doc__, "models")
    targets = bench_targets(args.device)
    results = []
    with torch.no_grad():
        for case in spec["cases"]:
            for dev, half, sync, devname in targets:
                dt = torch.float16 if half else torch.float32
                run, warm = make_runner(case, dev, dt)
                if run is None:
                    continue
                sec, peak = time_case(run, warm, sync, case["runs"],
                                      dev == "cuda")
                dts = "f16" if half else "f32"
                results.append({
                    "id": case["id"], "network": case["network"],
                    "preset": case["preset"], "batch": case["batch"],
                    "dtype": dts, "backend": "torch-" + dev,
                    "device": "torch-" + dev, "device_name": devname,
                    "usec": sec * 1e6, "runs": case["runs"],
                    "peak_bytes": peak})
                print("torch-%-5s %-7s %-13s %s %11.2f ms" % (
                    dev, case["preset"], case["network"], dts, sec * 1e3),
                    flush=True)
                del run, warm
                if dev == "cuda":
                    torch.cuda.empty_cache()
    write_results(args.json, "agfas-bench-models/1", threads, results)

if __name__ == "__main__":
    main()
