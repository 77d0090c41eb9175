"""diffusers AutoencoderKL (Stable Diffusion KL-f8 layout) in plain torch,
same parameter names, and the golden file of tests/test_autoencoder_kl.c.

    /usr/bin/python3 tests/reference/autoencoder_kl.py               # golden
    /usr/bin/python3 tests/reference/autoencoder_kl.py --count-sd15  # 83653863

The golden (tests/golden/autoencoder_kl.safetensors) holds a `tiny` network
(block_out_channels 16/32, 1 layer per block, 8 groups, 4 latent channels)
with random weights (seed 0; stored as f16 to keep the file small, and the
reference computes with exactly those values), the decoder's mid-block
attention under the OLD names (query/key/value/proj_attn) and the
encoder's under the new ones, and under "test.*": x [2, 3, 32, 32], noise,
the moments (mean, logvar), the sample and decode(sample). Reference
computed in float64.
"""
import os
import sys

import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402
from sd_blocks import (Attention, Downsample2D, ResnetBlock2D,  # noqa: E402
                       Upsample2D, half_weights, n_params, no_init,
                       randomize)

EPS = 1e-6


class MidBlock(nn.Module):
    """UNetMidBlock2D without time embedding: resnet, attention, resnet."""

    def __init__(self, ch, groups):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(ch, ch, 0, groups, EPS),
                                      ResnetBlock2D(ch, ch, 0, groups, EPS)])
        self.attentions = nn.ModuleList([
            Attention(ch, 1, ch, bias=True, norm_groups=groups, eps=EPS)])

    def forward(self, x):
        x = self.resnets[0](x)
        return self.resnets[1](self.attentions[0](x))


class Level(nn.Module):
    """DownEncoderBlock2D / UpDecoderBlock2D."""

    def __init__(self, chans, groups, down=False, up=False):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(a, b, 0, groups, EPS)
                                      for a, b in chans])
        out = chans[-1][1]
        if down:
            self.downsamplers = nn.ModuleList([Downsample2D(out, 0)])
        if up:
            self.upsamplers = nn.ModuleList([Upsample2D(out)])

    def forward(self, x):
        for r in self.resnets:
            x = r(x)
        for m in getattr(self, "downsamplers", []):
            x = m(x)
        for m in getattr(self, "upsamplers", []):
            x = m(x)
        return x


class Encoder(nn.Module):
    def __init__(self, cin, boc, lpb, latent, groups):
        super().__init__()
        self.conv_in = nn.Conv2d(cin, boc[0], 3, 1, 1)
        blocks, ch = [], boc[0]
        for i, out in enumerate(boc):
            chans = [(ch if j == 0 else out, out) for j in range(lpb)]
            blocks.append(Level(chans, groups, down=i < len(boc) - 1))
            ch = out
        self.down_blocks = nn.ModuleList(blocks)
        self.mid_block = MidBlock(boc[-1], groups)
        self.conv_norm_out = nn.GroupNorm(groups, boc[-1], eps=EPS)
        self.conv_out = nn.Conv2d(boc[-1], 2 * latent, 3, 1, 1)

    def forward(self, x):
        x = self.conv_in(x)
        for b in self.down_blocks:
            x = b(x)
        x = self.mid_block(x)
        return self.conv_out(F.silu(self.conv_norm_out(x)))


class Decoder(nn.Module):
    def __init__(self, cout, boc, lpb, latent, groups):
        super().__init__()
        rev = list(reversed(boc))
        self.conv_in = nn.Conv2d(latent, rev[0], 3, 1, 1)
        self.mid_block = MidBlock(rev[0], groups)
        blocks, ch = [], rev[0]
        for i, out in enumerate(rev):
            chans = [(ch if j == 0 else out, out) for j in range(lpb + 1)]
            blocks.append(Level(chans, groups, up=i < len(rev) - 1))
            ch = out
        self.up_blocks = nn.ModuleList(blocks)
        self.conv_norm_out = nn.GroupNorm(groups, boc[0], eps=EPS)
        self.conv_out = nn.Conv2d(boc[0], cout, 3, 1, 1)

    def forward(self, z):
        x = self.mid_block(self.conv_in(z))
        for b in self.up_blocks:
            x = b(x)
        return self.conv_out(F.silu(self.conv_norm_out(x)))


class AutoencoderKL(nn.Module):
    def __init__(self, in_channels=3, out_channels=3,
                 block_out_channels=(128, 256, 512, 512), layers_per_block=2,
                 latent_channels=4, norm_num_groups=32):
        super().__init__()
        boc = list(block_out_channels)
        self.encoder = Encoder(in_channels, boc, layers_per_block,
                               latent_channels, norm_num_groups)
        self.decoder = Decoder(out_channels, boc, layers_per_block,
                               latent_channels, norm_num_groups)
        self.quant_conv = nn.Conv2d(2 * latent_channels, 2 * latent_channels, 1)
        self.post_quant_conv = nn.Conv2d(latent_channels, latent_channels, 1)

    def encode(self, x):
        """DiagonalGaussianDistribution's mean and clamped logvar."""
        moments = self.quant_conv(self.encoder(x))
        mean, logvar = torch.chunk(moments, 2, dim=1)
        return mean, torch.clamp(logvar, -30.0, 20.0)

    @staticmethod
    def sample(mean, logvar, noise):
        return mean + torch.exp(0.5 * logvar) * noise

    def decode(self, z):
        return self.decoder(self.post_quant_conv(z))


OLD_NAMES = {"to_q": "query", "to_k": "key", "to_v": "value",
             "to_out.0": "proj_attn"}


def make_golden(path):
    torch.manual_seed(0)
    cfg = dict(block_out_channels=(16, 32), layers_per_block=1,
               latent_channels=4, norm_num_groups=8)
    vae = AutoencoderKL(**cfg)
    randomize(vae, 0)
    half_weights(vae)
    vae = vae.double().eval()
    x = (torch.rand(2, 3, 32, 32) * 2 - 1).double()
    noise = torch.randn(2, 4, 16, 16).double()
    with torch.no_grad():
        mean, logvar = vae.encode(x)
        sample = vae.sample(mean, logvar, noise)
        decoded = vae.decode(sample)
    tensors = {}
    for name, p in vae.state_dict().items():
        if name.startswith("decoder.mid_block.attentions.0."):
            for new, old in OLD_NAMES.items():
                name = name.replace("." + new + ".", "." + old + ".")
        tensors[name] = p.half()
    for k, v in dict(x=x, noise=noise, mean=mean, logvar=logvar,
                     sample=sample, decoded=decoded).items():
        tensors["test." + k] = v.float()
    meta = {"norm_num_groups": 8, "scaling_factor": 0.18215,
            "block_out_channels": "[16, 32]"}
    st_io.save(path, tensors, meta)
    print(f"{path}: {n_params(vae)} parameters, decoded max "
          f"{decoded.abs().max().item():.3f}")


if __name__ == "__main__":
    if "--count-sd15" in sys.argv:
        no_init()
        print(n_params(AutoencoderKL()))
    else:
        here = os.path.dirname(os.path.abspath(__file__))
        out = os.path.join(here, "..", "golden", "autoencoder_kl.safetensors")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        make_golden(os.path.normpath(out))
