"""diffusers UNet2DConditionModel (Stable Diffusion 1.5 layout) in plain
torch, same parameter names, and the golden file of tests/test_unet.c.

    /usr/bin/python3 tests/reference/unet.py               # golden
    /usr/bin/python3 tests/reference/unet.py --count-sd15  # 859520964

The golden (tests/golden/unet.safetensors) holds a `tiny` network: block
channels 16/32, 1 layer per block, down blocks CrossAttnDownBlock2D +
DownBlock2D, up blocks UpBlock2D + CrossAttnUpBlock2D, cross-attention mid
block, 2 heads (metadata attention_head_dim, read as a head count as
diffusers does), 8 groups, context width 24; random weights (seed 0; stored
as f16 to keep the file small, and the reference computes with exactly those
values) and under "test.*": sample [2, 4, 8, 8], timesteps [2] (one per
batch item), context [2, 5, 24] and eps. Reference computed in float64
after diffusers' float32 timestep embedding.
"""
import os
import sys

import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402
from sd_blocks import (Downsample2D, ResnetBlock2D,  # noqa: E402
                       Transformer2DModel, Upsample2D, half_weights, n_params,
                       no_init, randomize, timestep_embedding)


class TimestepEmbedding(nn.Module):
    def __init__(self, in_dim, dim):
        super().__init__()
        self.linear_1 = nn.Linear(in_dim, dim)
        self.linear_2 = nn.Linear(dim, dim)

    def forward(self, x):
        return self.linear_2(F.silu(self.linear_1(x)))


class Block(nn.Module):
    """Cross-attention or plain down/up block; resnet i is followed by
    attention i when attention; then the optional down/upsampler."""

    def __init__(self, chans, out, temb, groups, eps, heads, ctx, depth,
                 attention, down=False, up=False):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(a, out, temb, groups, eps)
                                      for a in chans])
        if attention:
            self.attentions = nn.ModuleList([
                Transformer2DModel(heads, out // heads, out, depth, ctx,
                                   groups) for _ in chans])
        if down:
            self.downsamplers = nn.ModuleList([Downsample2D(out, 1)])
        if up:
            self.upsamplers = nn.ModuleList([Upsample2D(out)])

    def forward(self, x, temb, ctx, skips=None):
        outs = []
        attns = getattr(self, "attentions", [None] * len(self.resnets))
        for r, a in zip(self.resnets, attns):
            if skips is not None:
                x = torch.cat([x, skips.pop()], dim=1)
            x = r(x, temb)
            if a is not None:
                x = a(x, ctx)
            outs.append(x)
        for m in getattr(self, "downsamplers", []):
            x = m(x)
            outs.append(x)
        for m in getattr(self, "upsamplers", []):
            x = m(x)
        return x, outs


class MidBlock(nn.Module):
    def __init__(self, ch, temb, groups, eps, heads, ctx, depth):
        super().__init__()
        self.resnets = nn.ModuleList([
            ResnetBlock2D(ch, ch, temb, groups, eps),
            ResnetBlock2D(ch, ch, temb, groups, eps)])
        self.attentions = nn.ModuleList([
            Transformer2DModel(heads, ch // heads, ch, depth, ctx, groups)])

    def forward(self, x, temb, ctx):
        x = self.resnets[0](x, temb)
        return self.resnets[1](self.attentions[0](x, ctx), temb)


class UNet2DConditionModel(nn.Module):
    def __init__(self, in_channels=4, out_channels=4,
                 block_out_channels=(320, 640, 1280, 1280),
                 down_attention=(True, True, True, False), layers_per_block=2,
                 attention_head_dim=8, cross_attention_dim=768,
                 norm_num_groups=32, norm_eps=1e-5, transformer_depth=1):
        super().__init__()
        boc, n = list(block_out_channels), len(block_out_channels)
        heads = [attention_head_dim] * n  # upstream: a head count
        temb = boc[0] * 4
        self.boc0 = boc[0]
        self.conv_in = nn.Conv2d(in_channels, boc[0], 3, 1, 1)
        self.time_embedding = TimestepEmbedding(boc[0], temb)
        kw = dict(temb=temb, groups=norm_num_groups, eps=norm_eps,
                  ctx=cross_attention_dim, depth=transformer_depth)
        downs, out = [], boc[0]
        for i in range(n):
            inp, out = out, boc[i]
            chans = [inp if j == 0 else out for j in range(layers_per_block)]
            downs.append(Block(chans, out, heads=heads[i],
                               attention=down_attention[i],
                               down=i < n - 1, **kw))
        self.down_blocks = nn.ModuleList(downs)
        self.mid_block = MidBlock(boc[-1], heads=heads[-1], **kw)
        rb, rh = list(reversed(boc)), list(reversed(heads))
        up_attention = list(reversed(down_attention))
        ups, out = [], rb[0]
        for i in range(n):
            prev, out = out, rb[i]
            inp = rb[min(i + 1, n - 1)]
            chans = []
            for j in range(layers_per_block + 1):
                skip = inp if j == layers_per_block else out
                chans.append((prev if j == 0 else out) + skip)
            ups.append(Block(chans, out, heads=rh[i],
                             attention=up_attention[i], up=i < n - 1, **kw))
        self.up_blocks = nn.ModuleList(ups)
        self.conv_norm_out = nn.GroupNorm(norm_num_groups, boc[0],
                                          eps=norm_eps)
        self.conv_out = nn.Conv2d(boc[0], out_channels, 3, 1, 1)

    def forward(self, sample, timesteps, context):
        t = timestep_embedding(timesteps, self.boc0).to(sample.dtype)
        temb = self.time_embedding(t)
        x = self.conv_in(sample)
        skips = [x]
        for b in self.down_blocks:
            x, outs = b(x, temb, context)
            skips += outs
        x = self.mid_block(x, temb, context)
        for b in self.up_blocks:
            x, _ = b(x, temb, context, skips)
        return self.conv_out(F.silu(self.conv_norm_out(x)))


def make_golden(path):
    torch.manual_seed(0)
    cfg = dict(block_out_channels=(16, 32), down_attention=(True, False),
               layers_per_block=1, attention_head_dim=2,
               cross_attention_dim=24, norm_num_groups=8)
    net = UNet2DConditionModel(**cfg)
    randomize(net, 0)
    half_weights(net)
    net = net.double().eval()
    sample = torch.randn(2, 4, 8, 8).double()
    timesteps = torch.tensor([801.0, 37.0])
    context = torch.randn(2, 5, 24).double()
    with torch.no_grad():
        eps = net(sample, timesteps, context)
    tensors = {k: v.half() for k, v in net.state_dict().items()}
    for k, v in dict(sample=sample, timesteps=timesteps, context=context,
                     eps=eps).items():
        tensors["test." + k] = v.float()
    meta = {"attention_head_dim": 2, "norm_num_groups": 8,
            "down_block_types": '["CrossAttnDownBlock2D", "DownBlock2D"]',
            "up_block_types": '["UpBlock2D", "CrossAttnUpBlock2D"]'}
    st_io.save(path, tensors, meta)
    print(f"{path}: {n_params(net)} parameters, eps max "
          f"{eps.abs().max().item():.3f}")


if __name__ == "__main__":
    if "--count-sd15" in sys.argv:
        no_init()
        print(n_params(UNet2DConditionModel()))
    else:
        here = os.path.dirname(os.path.abspath(__file__))
        out = os.path.join(here, "..", "golden", "unet.safetensors")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        make_golden(os.path.normpath(out))
