"""diffusers building blocks of the Stable Diffusion autoencoder and U-Net in
plain torch (diffusers is not installed here): same module tree, parameter
names and forward computation as diffusers' ResnetBlock2D, Downsample2D,
Upsample2D, Attention (AttnProcessor), BasicTransformerBlock, GEGLU and
Transformer2DModel, for the default SD-1.5 options. Used by autoencoder_kl.py
and unet.py."""
import math

import torch
import torch.nn.functional as F
from torch import nn


class ResnetBlock2D(nn.Module):
    """time_embedding_norm "default", output_scale_factor 1, 1x1 shortcut."""

    def __init__(self, in_channels, out_channels, temb_channels, groups, eps):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, in_channels, eps=eps, affine=True)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, 1, 1)
        self.time_emb_proj = (nn.Linear(temb_channels, out_channels)
                              if temb_channels else None)
        self.norm2 = nn.GroupNorm(groups, out_channels, eps=eps, affine=True)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1)
        self.conv_shortcut = (nn.Conv2d(in_channels, out_channels, 1, 1, 0)
                              if in_channels != out_channels else None)

    def forward(self, x, temb=None):
        h = self.conv1(F.silu(self.norm1(x)))
        if self.time_emb_proj is not None:
            h = h + self.time_emb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        if self.conv_shortcut is not None:
            x = self.conv_shortcut(x)
        return x + h


class Downsample2D(nn.Module):
    """padding 0: the autoencoder's F.pad(x, (0, 1, 0, 1)) + stride-2 conv."""

    def __init__(self, channels, padding):
        super().__init__()
        self.padding = padding
        self.conv = nn.Conv2d(channels, channels, 3, 2, padding)

    def forward(self, x):
        if self.padding == 0:
            x = F.pad(x, (0, 1, 0, 1), mode="constant", value=0)
        return self.conv(x)


class Upsample2D(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, 1, 1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


def sdpa(q, k, v, heads):
    """diffusers' head_to_batch_dim / get_attention_scores / bmm path."""
    b, lq, inner = q.shape
    d = inner // heads

    def split(t):
        return t.reshape(b, t.shape[1], heads, d).permute(0, 2, 1, 3)

    q, k, v = split(q), split(k), split(v)
    w = torch.softmax(q @ k.transpose(-1, -2) * (d ** -0.5), dim=-1)
    return (w @ v).permute(0, 2, 1, 3).reshape(b, lq, inner)


class Attention(nn.Module):
    """diffusers Attention: to_q/to_k/to_v, to_out = [Linear, Dropout];
    with norm_groups it is the autoencoder's spatial block (group_norm on
    the input, residual added)."""

    def __init__(self, query_dim, heads, dim_head, cross_attention_dim=None,
                 bias=False, norm_groups=None, eps=1e-5):
        super().__init__()
        inner = heads * dim_head
        kv = cross_attention_dim or query_dim
        self.heads = heads
        self.group_norm = (nn.GroupNorm(norm_groups, query_dim, eps=eps,
                                        affine=True) if norm_groups else None)
        self.to_q = nn.Linear(query_dim, inner, bias=bias)
        self.to_k = nn.Linear(kv, inner, bias=bias)
        self.to_v = nn.Linear(kv, inner, bias=bias)
        self.to_out = nn.ModuleList([nn.Linear(inner, query_dim),
                                     nn.Dropout(0.0)])

    def forward(self, x, context=None):
        residual = x
        if x.ndim == 4:
            b, c, hh, ww = x.shape
            x = x.view(b, c, hh * ww).transpose(1, 2)
        if self.group_norm is not None:
            x = self.group_norm(x.transpose(1, 2)).transpose(1, 2)
        ctx = x if context is None else context
        o = sdpa(self.to_q(x), self.to_k(ctx), self.to_v(ctx), self.heads)
        o = self.to_out[1](self.to_out[0](o))
        if residual.ndim == 4:
            o = o.transpose(-1, -2).reshape(b, c, hh, ww)
            o = o + residual  # residual_connection=True (the autoencoder)
        return o


class GEGLU(nn.Module):
    def __init__(self, dim_in, dim_out):
        super().__init__()
        self.proj = nn.Linear(dim_in, dim_out * 2)

    def forward(self, x):
        hidden, gate = self.proj(x).chunk(2, dim=-1)
        return hidden * F.gelu(gate)


class FeedForward(nn.Module):
    def __init__(self, dim, mult=4):
        super().__init__()
        self.net = nn.ModuleList([GEGLU(dim, dim * mult), nn.Dropout(0.0),
                                  nn.Linear(dim * mult, dim)])

    def forward(self, x):
        for m in self.net:
            x = m(x)
        return x


class BasicTransformerBlock(nn.Module):
    def __init__(self, dim, heads, dim_head, cross_attention_dim):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-5)
        self.attn1 = Attention(dim, heads, dim_head)
        self.norm2 = nn.LayerNorm(dim, eps=1e-5)
        self.attn2 = Attention(dim, heads, dim_head, cross_attention_dim)
        self.norm3 = nn.LayerNorm(dim, eps=1e-5)
        self.ff = FeedForward(dim)

    def forward(self, x, context):
        x = self.attn1(self.norm1(x)) + x
        x = self.attn2(self.norm2(x), context) + x
        return self.ff(self.norm3(x)) + x


class Transformer2DModel(nn.Module):
    """Continuous input; 1x1-conv projections unless use_linear_projection."""

    def __init__(self, heads, dim_head, in_channels, depth, cross_attention_dim,
                 norm_groups, use_linear_projection=False):
        super().__init__()
        inner = heads * dim_head
        self.linear = use_linear_projection
        self.norm = nn.GroupNorm(norm_groups, in_channels, eps=1e-6,
                                 affine=True)
        if use_linear_projection:
            self.proj_in = nn.Linear(in_channels, inner)
            self.proj_out = nn.Linear(inner, in_channels)
        else:
            self.proj_in = nn.Conv2d(in_channels, inner, 1, 1, 0)
            self.proj_out = nn.Conv2d(inner, in_channels, 1, 1, 0)
        self.transformer_blocks = nn.ModuleList([
            BasicTransformerBlock(inner, heads, dim_head, cross_attention_dim)
            for _ in range(depth)])

    def forward(self, x, context):
        b, _, hh, ww = x.shape
        residual = x
        h = self.norm(x)
        if not self.linear:
            h = self.proj_in(h)
        inner = h.shape[1]
        h = h.permute(0, 2, 3, 1).reshape(b, hh * ww, inner)
        if self.linear:
            h = self.proj_in(h)
        for blk in self.transformer_blocks:
            h = blk(h, context)
        if self.linear:
            h = self.proj_out(h)
        h = h.reshape(b, hh, ww, inner).permute(0, 3, 1, 2).contiguous()
        if not self.linear:
            h = self.proj_out(h)
        return h + residual


def timestep_embedding(t, dim, flip_sin_to_cos=True, shift=0.0,
                       max_period=10000):
    """diffusers get_timestep_embedding, float32 as upstream."""
    half = dim // 2
    exponent = -math.log(max_period) * torch.arange(0, half,
                                                    dtype=torch.float32)
    exponent = exponent / (half - shift)
    emb = t[:, None].float() * torch.exp(exponent)[None, :]
    emb = torch.cat([torch.sin(emb), torch.cos(emb)], dim=-1)
    if flip_sin_to_cos:
        emb = torch.cat([emb[:, half:], emb[:, :half]], dim=-1)
    if dim % 2 == 1:
        emb = F.pad(emb, (0, 1, 0, 0))
    return emb


def randomize(module, seed):
    """Default init plus random norm affines (so a swapped weight/bias or a
    missed norm shows), from a fixed seed."""
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.GroupNorm, nn.LayerNorm)):
                m.weight.copy_(1 + 0.2 * torch.randn(m.weight.shape,
                                                     generator=g))
                m.bias.copy_(0.2 * torch.randn(m.bias.shape, generator=g))


def half_weights(module):
    """Rounds every parameter to f16 in place: the goldens store weights as
    f16 (half the size) and the reference must use the stored values."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(p.half().float())


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def no_init():
    """Skips weight initialization (for parameter counts of big configs)."""
    for name in ("kaiming_uniform_", "uniform_", "normal_", "zeros_",
                 "ones_"):
        setattr(nn.init, name, lambda t, *a, **k: t)
