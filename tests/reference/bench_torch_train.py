#!/usr/bin/python3
"""Times agfas-bench's training steps with the PyTorch reference networks
of this folder (unet.py, oanet.py, autoencoder_kl.py, iresnet.py, loaded
as bench_torch_models.py does), on the SAME random-weight checkpoints
agfas-bench wrote, in the same run.

`agfas-bench train --torch` writes the cases (step, preset, batch, inputs,
checkpoints, configuration) and calls

  /usr/bin/python3 tests/reference/bench_torch_train.py --cases cases.json \
      --json out.json --threads N

The steps are ours (trainer/bench_train_step.c, bench_train_dfg.c,
bench_train_ssdg.c):
  unet  eps = unet(latent, t, context); F.mse_loss(eps, noise); backward;
        AdamW(lr 1e-4, weight_decay 0.01) step; zero_grad
  vit   logits = OA-Net image_only(image); F.cross_entropy(logits, labels);
        backward; SGD(lr 1e-2, momentum 0.9, weight_decay 1e-4) step;
        zero_grad
  dfg   agfas-train dfg: under no_grad the frozen autoencoder encodes the
        256 faces (sample * scaling_factor) and the frozen iresnet gives
        the context (112 input, 49 tokens zero-padded); random t, add_noise;
        mse(unet(zt, t, ctx), noise).item(); backward; clip_grad_norm_(1)
        (f32); AdamW(lr 1e-5, 0.9/0.999, weight_decay 0.01); zero_grad; EMA
        0.999 of the U-Net's parameters
  oanet agfas-train oanet (SSDG): the full OA-Net in train mode on the 256
        image (resized to the ViT's size) and 256 cue; CE(logits) + 0.5 CE
        of the 2-layer discriminator (512 hidden, ReLU, dropout 0.5) on the
        live features behind the gradient-reversal layer + 1.0 batch-all
        asymmetric triplet (margin 0.1, loss.py's all_triplet); the terms
        and logits read back; SGD(lr 1e-3, momentum 0.9, weight_decay 5e-4)
  cue   no training: a whole reconstruction (bench_torch_models.py's
        reconstruct: identity, encode, forward jump, PNDM steps, decode)
        and the cue (dfg.py's cue_of), under no_grad; the warm-up is a
        1-step reconstruction as agfas-bench's
Every case runs on the CPU in float32 with torch.set_num_threads(N) (N =
our CPU backend's threads) and, when CUDA is present, on CUDA in float32
(TF32 off) and float16 (autocast + GradScaler: f32 master weights, as our
f16 rows keep; the cue case in plain float16, eval; peak from
torch.cuda.max_memory_allocated). Timing as agfas-bench: one warm-up step,
then the median of `runs` synced steps.
"""
import ast
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench_torch_models as btm  # noqa: E402
from dfg import cue_of  # noqa: E402
from oanet import OANet  # noqa: E402
from schedulers import Schedule  # noqa: E402


def _reference_functions(name):
    """The functions of tests/reference/<name>.py without running its
    golden-writing top level (loss.py computes and writes on import)."""
    path = os.path.join(HERE, name + ".py")
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    keep = [n for n in tree.body
            if isinstance(n, (ast.FunctionDef, ast.Import, ast.ImportFrom))]
    ns = {}
    exec(compile(ast.Module(body=keep, type_ignores=[]), path, "exec"), ns)
    return ns


_loss = _reference_functions("loss")


def triplet_fn(classes, margin, dev):
    """loss.py's all_triplet (HardTripletLoss(hardest=False)) with its mask
    built once on the CPU (the labels are fixed; loss.py builds it with
    CPU-only torch.eye), as ours builds it from host labels."""
    mask = _loss["_triplet_mask"](classes).float().to(dev)

    def loss(feat):
        d = _loss["_pairwise_distance"](feat)
        t = F.relu((d.unsqueeze(2) - d.unsqueeze(1) + margin) * mask)
        return t.sum() / (torch.gt(t, 1e-16).float().sum() + 1e-16)
    return loss


def build_vit(cfg, path):
    """The OA-Net image_only of the checkpoint (timm ViT names at the root)."""
    c = cfg["oanet"]
    net = OANet("image_only", c["feat"], c["norm"], img=c["img"],
                patch=c["patch"], dim=c["dim"], depth=c["depth"],
                heads=c["heads"], mlp=c["mlp"], eps=c["eps"])
    roots = ("head.", "classifier.")
    return btm.load(net, path,
                    rename=lambda k: k if k.startswith(roots) else "vit." + k)


class GradReverse(torch.autograd.Function):
    """SSDG's gradient-reversal layer: identity forward, -coeff * grad."""

    @staticmethod
    def forward(ctx, x, coeff):
        ctx.coeff = coeff
        return x.view_as(x)

    @staticmethod
    def backward(ctx, g):
        return -ctx.coeff * g, None


def ssdg_discriminator(feat, n_domains):
    """SSDG's Discriminator: fc1 normal(0, 0.01), fc2 normal(0, 0.3)."""
    fc1, fc2 = nn.Linear(feat, 512), nn.Linear(512, n_domains)
    for fc, std in ((fc1, 0.01), (fc2, 0.3)):
        nn.init.normal_(fc.weight, 0, std)
        nn.init.zeros_(fc.bias)
    return nn.Sequential(fc1, nn.ReLU(), nn.Dropout(0.5), fc2)


def dfg_loss_fn(case, dev, ins, gen):
    """The dfg step's loss closure and its trained U-Net, EMA shadow."""
    cfg, files, b = case["config"], case["files"], case["batch"]
    vae = btm.build_vae(cfg, files).to(dev).eval().requires_grad_(False)
    idnet = btm.build_iresnet(cfg, files).to(dev).eval().requires_grad_(False)
    net = btm.build_unet(cfg, files).to(dev).train()
    sched = Schedule()
    sched.alphas_cumprod = sched.alphas_cumprod.to(dev)
    sf = cfg["vae"]["scaling_factor"]
    ctx_dim = cfg["unet"]["cross_attention_dim"]
    x = ins[0]

    def loss_fn():
        with torch.no_grad():
            mean, logvar = vae.encode(x)
            z0 = vae.sample(mean, logvar, torch.randn_like(mean)) * sf
            face = F.interpolate(x, size=(112, 112), mode="bilinear",
                                 align_corners=False)
            tokens = idnet.tap(face).flatten(2).transpose(1, 2)
            ctx = F.pad(tokens, (0, ctx_dim - tokens.shape[2]))
        t = torch.randint(0, 1000, (b,), generator=gen).to(dev)
        noise = torch.randn_like(z0)
        zt = sched.add_noise(z0, noise, t)
        loss = F.mse_loss(net(zt, t.float(), ctx), noise)
        loss.item()  # the trainer logs it
        return loss
    return net, loss_fn


def ssdg_loss_fn(case, dev, ins):
    """The oanet (SSDG) step's loss closure and its trained modules."""
    cfg, b = case["config"], case["batch"]
    net = btm.build_oanet(cfg, case["files"]).to(dev).train()
    disc = ssdg_discriminator(cfg["oanet"]["feat"], 2).to(dev).train()
    half, per = b // 2, b // 4
    live = (torch.arange(b) < half).long()
    labels = live.to(dev)  # SSDG: live 1, spoof 0
    domain = (torch.arange(b) % half) // per
    triplet = triplet_fn((1 - live) * (1 + domain), 0.1, dev)  # live: 0
    domain = domain.to(dev)
    img = cfg["oanet"]["img"]

    def loss_fn():
        image = F.interpolate(ins[0], size=(img, img), mode="bilinear",
                              align_corners=False)
        logits, feat = net(image, ins[1])
        cls = F.cross_entropy(logits, labels)
        trip = triplet(feat)
        adv = F.cross_entropy(disc(GradReverse.apply(feat[:half], 0.5)),
                              domain[:half])
        total = cls + 1.0 * trip + 0.5 * adv
        for v in (cls, trip, adv, total):  # the trainer logs the terms
            v.item()
        logits.detach().cpu()  # and its accuracy
        return total
    return nn.ModuleList([net, disc]), loss_fn


def make_step(case, dev, half):
    """A callable running one whole training step of the case, and the
    warm-up (the step itself but for cue)."""
    gen = torch.Generator().manual_seed(42)

    def rand(shape):
        return (torch.rand(shape, generator=gen) * 2 - 1).to(dev)

    ins = [rand(s) for s in case["inputs"]]
    b = case["batch"]
    ema, clip = None, None
    if case["step"] == "cue":
        cfg, files = case["config"], case["files"]
        dt = torch.float16 if half else torch.float32
        nets = tuple(f(cfg, files).to(dev, dt).eval() for f in
                     (btm.build_vae, btm.build_unet, btm.build_iresnet))
        x = ins[0].to(dt)

        def cue(strength):
            with torch.no_grad():
                cue_of(x, btm.reconstruct(nets, x, case, cfg, strength))
        return (lambda: cue(case["strength"]),
                lambda: cue(1.0 / case["steps"]))
    if case["step"] == "unet":
        net = btm.build_unet(case["config"], case["files"])
        noise = rand(case["inputs"][0])
        t = torch.randint(0, 1000, (b,), generator=gen).float().to(dev)
        net = net.to(dev).train()
        opt = torch.optim.AdamW(net.parameters(), lr=1e-4, weight_decay=0.01)

        def loss_fn():
            return F.mse_loss(net(ins[0], t, ins[1]), noise)
    elif case["step"] == "vit":
        net = build_vit(case["config"], case["files"]["oanet"]).to(dev).train()
        labels = (torch.arange(b) % 2).to(dev)
        opt = torch.optim.SGD(net.parameters(), lr=1e-2, momentum=0.9,
                              weight_decay=1e-4)

        def loss_fn():
            return F.cross_entropy(net(ins[0], None)[0], labels)
    elif case["step"] == "dfg":
        net, loss_fn = dfg_loss_fn(case, dev, ins, gen)
        opt = torch.optim.AdamW(net.parameters(), lr=1e-5, betas=(0.9, 0.999),
                                weight_decay=0.01)
        ema = [p.detach().clone().float() for p in net.parameters()]
        clip = None if half else 1.0
    elif case["step"] == "oanet":
        net, loss_fn = ssdg_loss_fn(case, dev, ins)
        opt = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9,
                              weight_decay=5e-4)
    else:
        sys.exit("unknown training step %r" % case["step"])

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
            if clip:
                torch.nn.utils.clip_grad_norm_(net.parameters(), clip)
            opt.step()
        opt.zero_grad(set_to_none=True)
        if ema is not None:
            with torch.no_grad():
                for s, p in zip(ema, net.parameters()):
                    s.lerp_(p.float(), 1 - 0.999)
    return step, step


def main():
    args, spec, threads = btm.bench_setup(__doc__, "train")
    targets = btm.bench_targets(args.device)
    results = []
    for case in spec["cases"]:
        for dev, half, sync, devname in targets:
            step, warm = make_step(case, dev, half)
            # the warm-up also makes the optimizer state
            sec, peak = btm.time_case(step, warm, sync, case["runs"],
                                      dev == "cuda")
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
            del step, warm
            if dev == "cuda":
                torch.cuda.empty_cache()
    btm.write_results(args.json, "agfas-bench-train/1", threads, results)


if __name__ == "__main__":
    main()
