#!/usr/bin/python3
"""Golden data for tests/test_dfg.c: a whole DFG reconstruction (identity ->
encode with sampling -> forward jump to t0 -> DDIM / PNDM steps -> decode),
the cue and its standardization, chained from the reference networks of
autoencoder_kl.py, unet.py, iresnet.py and the samplers of schedulers.py,
with the host noise of engine/pipeline/rng.h re-implemented below.

    /usr/bin/python3 tests/reference/dfg.py

Writes tests/golden/dfg.safetensors (f16 weights, ~800 KB):
  vae.*   autoencoder 8/16, 1 layer per block, 4 groups, 4 latent (f = 2)
  unet.*  U-Net 16/32, CrossAttnDown + Down, 2 heads, 8 groups, context 40
  id.*    iresnet 8/16/32/32, one block per stage, 16 features, 112
          input: 49 tokens x 32, zero-padded to the context width 40
  metadata "<part>.<key>" is the part's own metadata key.
  test.image [2, 3, 32, 32]; test.noise_s7_0 (stream 0, 1024 values) and
  test.uniform_s7_3 (stream 3, 8 values) to check the generator itself;
  per case (ddim: eta 0, 3 calls; ddim_eta: eta 0.5, 3 calls; pndm: 4
  calls, all 10-step schedules at strength 0.3, seed 7):
  test.<case>.timesteps, .recon, .cue (and for ddim .residual, .heat).
Reference computed in float64 from the stored (f16-rounded) weights.
"""
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402
from autoencoder_kl import AutoencoderKL  # noqa: E402
from iresnet import IResNet  # noqa: E402
from resnet18 import randomize as randomize_bn  # noqa: E402
from schedulers import DDIM, PNDM, img2img_timesteps  # noqa: E402
from sd_blocks import randomize  # noqa: E402
from unet import UNet2DConditionModel  # noqa: E402

M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
CUE_EPS = 1e-10  # cue.h AGF_CUE_EPS


def mix(x):
    """splitmix64's output function (rng.h)."""
    x &= M64
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & M64
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def uniform(seed, stream, j):
    key = mix(seed + GOLDEN * (stream + 1))
    w = mix(key + GOLDEN * (j + 1))
    return ((w >> 11) + 0.5) * 2.0 ** -53


def normal(seed, stream, n):
    """rng.h's normal(0 .. n-1): Box-Muller on uniform pairs, as float32."""
    out = []
    for e in range(n):
        p = e & ~1
        r = math.sqrt(-2.0 * math.log(uniform(seed, stream, p)))
        a = 2.0 * math.pi * uniform(seed, stream, p + 1)
        out.append(r * math.sin(a) if e & 1 else r * math.cos(a))
    return torch.tensor(out, dtype=torch.float32)


def noise(seed, stream, shape):
    """dfg.h: one sample's noise, repeated over the batch."""
    per = normal(seed, stream, math.prod(shape[1:])).reshape(shape[1:])
    return per.unsqueeze(0).expand(*shape).double()


def round_state(net):
    """Rounds every float tensor (buffers too) to f16 values in place."""
    with torch.no_grad():
        for t in net.state_dict().values():
            if t.is_floating_point():
                t.copy_(t.half().float())


def reconstruct(vae, unet, idnet, x, sampler, eta, seed, steps, strength,
                sf=0.18215):
    face = F.interpolate(x, size=(112, 112), mode="bilinear",
                         align_corners=False)
    tokens = idnet.tap(face).flatten(2).transpose(1, 2)
    ctx = torch.cat([tokens, torch.zeros(x.shape[0], 49, 8,
                                         dtype=x.dtype)], dim=2)
    mean, logvar = vae.encode(x)
    z = vae.sample(mean, logvar, noise(seed, 0, mean.shape)) * sf
    sched = DDIM() if sampler == "ddim" else PNDM()
    sched.set_timesteps(steps)
    ts = img2img_timesteps(sched, steps, strength)
    z = sched.add_noise(z, noise(seed, 1, z.shape), ts[:1])
    for i, t in enumerate(ts.tolist()):
        tt = torch.tensor([float(t)] * x.shape[0])
        eps = unet(z, tt, ctx)
        if sampler == "ddim":
            vn = noise(seed, 2 + i, z.shape) if eta > 0 else None
            z = sched.step(eps, t, z, eta=eta, variance_noise=vn)
        else:
            z, _ = sched.step(eps, t, z)
    return ts, vae.decode(z / sf)


def cue_of(x, recon):
    r = x - recon
    m = r.mean(dim=(1, 2, 3), keepdim=True)
    var = r.var(dim=(1, 2, 3), unbiased=True, keepdim=True)
    return r, r.abs().mean(dim=1, keepdim=True), (r - m) / torch.sqrt(
        var + CUE_EPS)


def main():
    torch.manual_seed(0)
    vae = AutoencoderKL(block_out_channels=(8, 16), layers_per_block=1,
                        latent_channels=4, norm_num_groups=4)
    randomize(vae, 0)
    unet = UNet2DConditionModel(block_out_channels=(16, 32),
                                down_attention=(True, False),
                                layers_per_block=1, attention_head_dim=2,
                                cross_attention_dim=40, norm_num_groups=8)
    randomize(unet, 1)
    idnet = IResNet((1, 1, 1, 1), widths=(8, 16, 32, 32), num_features=16,
                    stem=8)
    gen = torch.Generator().manual_seed(50)
    randomize_bn(idnet, gen)
    with torch.no_grad():
        for name, p in idnet.named_parameters():
            if name.endswith("prelu.weight"):
                p.copy_(0.5 * torch.rand(p.shape, generator=gen))
    nets = {"vae": vae, "unet": unet, "id": idnet}
    for n in nets.values():
        round_state(n)
        n.double().eval()

    x = (torch.rand(2, 3, 32, 32, generator=gen) * 2 - 1).float().double()
    tensors = {"test.image": x.float(),
               "test.noise_s7_0": normal(7, 0, 1024),
               "test.uniform_s7_3": torch.tensor(
                   [uniform(7, 3, j) for j in range(8)], dtype=torch.float32)}
    cases = {"ddim": ("ddim", 0.0), "ddim_eta": ("ddim", 0.5),
             "pndm": ("pndm", 0.0)}
    with torch.no_grad():
        for case, (sampler, eta) in cases.items():
            ts, recon = reconstruct(vae, unet, idnet, x, sampler, eta, 7, 10,
                                    0.3)
            r, heat, cue = cue_of(x, recon)
            outs = dict(timesteps=ts.float(), recon=recon, cue=cue)
            if case == "ddim":
                outs.update(residual=r, heat=heat)
            for k, v in outs.items():
                tensors["test.%s.%s" % (case, k)] = v.float()
            print("%s: timesteps %s, recon max %.3f, residual max %.3f" % (
                case, ts.tolist(), recon.abs().max().item(),
                r.abs().max().item()))
    for part, net in nets.items():
        for k, v in net.state_dict().items():
            if not k.endswith("num_batches_tracked"):
                tensors[part + "." + k] = v.half()
    meta = {"vae.norm_num_groups": 4, "vae.scaling_factor": 0.18215,
            "vae.block_out_channels": "[8, 16]",
            "unet.attention_head_dim": 2, "unet.norm_num_groups": 8,
            "unet.down_block_types": '["CrossAttnDownBlock2D", "DownBlock2D"]',
            "unet.up_block_types": '["UpBlock2D", "CrossAttnUpBlock2D"]'}
    out = os.path.normpath(os.path.join(os.path.dirname(
        os.path.abspath(__file__)), "..", "golden", "dfg.safetensors"))
    st_io.save(out, tensors, meta)
    print("wrote", out, os.path.getsize(out), "bytes")


if __name__ == "__main__":
    main()
