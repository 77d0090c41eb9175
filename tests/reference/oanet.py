#!/usr/bin/python3
"""Golden data for tests/test_oanet.c: the OA-Net of AG-FAS (method.md,
"What the authors' public code does") in plain torch, with timm ViT names
plus our names for the parts timm lacks (engine/models/oanet.h):

  patch_embed.proj, cls_token, pos_embed, blocks.i.norm1, blocks.i.attn.qkv,
  blocks.i.attn.proj, blocks.i.cross_norm, blocks.i.cross_attn.{q,k,v,proj},
  blocks.i.norm2, blocks.i.mlp.fc1/fc2, norm      (the ViT)
  cue_encoder.*        (torchvision ResNet-18 conv1..layer4: the cue tokens)
  cue_vit.*            (the second ViT of the dual-branch variant)
  head.fc, classifier.weight_g/weight_v/bias      (torch weight_norm, dim 0)

Block: x += attn(norm1(x)); x += cross_attn(cross_norm(x), cue tokens);
x += mlp(norm2(x)) (GELU, erf). Head: CLS after norm -> head.fc -> feature
normalization ("l2": f/||f||, or "ssdg": f / sqrt(2 ||f||) as the authors'
SSDG embedder does) -> classifier with w = g v / ||v|| per row.

Four tiny goldens (depth 2, width 32, 2 heads, patch 16, image 32, MLP 128,
16 features, batch 2), one per variant in metadata "oanet.variant":
  oanet.safetensors                 image [2,3,32,32], cue [2,3,64,64] through
                                    a ResNet-18 of widths 4/8/16/32 (4 tokens)
  oanet_image_only.safetensors      image only, LayerNorm eps 1e-12
  oanet_residual_only.safetensors   the ViT on a 6-channel cue [2,6,32,32]
  oanet_dual_branch.safetensors     two ViTs, concatenated CLS, "ssdg" norm
Inputs "test.image", "test.cue"; outputs "test.logits" [2,2],
"test.feature" [2,16], "test.prob_spoof" [2] (softmax column 0: SSDG
labels live = 1).

Also prints the parameter counts of ViT-B/16 at 224 and of the paper OA-Net.

Run: /usr/bin/python3 tests/reference/oanet.py
Writes the four tests/golden/oanet*.safetensors (about 650 KB in all).
"""
import math
import os
import sys

import torch
from torch import nn
from torch.nn import functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402
from resnet18 import ResNet, randomize, state  # noqa: E402


class Attention(nn.Module):
    """timm Attention: fused qkv linear, heads, proj."""

    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        a = (q @ k.transpose(-2, -1)) / math.sqrt(c // self.heads)
        x = (a.softmax(-1) @ v).transpose(1, 2).reshape(b, n, c)
        return self.proj(x)


class CrossAttention(nn.Module):
    """The AG-FAS cross-attention: Q from the image tokens, K/V from the cue
    tokens (kv_dim wide), output projection zero-initialized upstream."""

    def __init__(self, dim, kv_dim, heads):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(kv_dim, dim)
        self.v = nn.Linear(kv_dim, dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, ctx):
        b, n, c = x.shape
        h, d = self.heads, c // self.heads
        q = self.q(x).reshape(b, n, h, d).transpose(1, 2)
        k = self.k(ctx).reshape(b, -1, h, d).transpose(1, 2)
        v = self.v(ctx).reshape(b, -1, h, d).transpose(1, 2)
        a = (q @ k.transpose(-2, -1)) / math.sqrt(d)
        x = (a.softmax(-1) @ v).transpose(1, 2).reshape(b, n, c)
        return self.proj(x)


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, heads, mlp, eps, kv_dim):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, heads)
        if kv_dim:
            self.cross_norm = nn.LayerNorm(dim, eps=eps)
            self.cross_attn = CrossAttention(dim, kv_dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = Mlp(dim, mlp)
        self.kv_dim = kv_dim

    def forward(self, x, ctx=None):
        x = x + self.attn(self.norm1(x))
        if self.kv_dim:
            x = x + self.cross_attn(self.cross_norm(x), ctx)
        return x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    def __init__(self, img=224, patch=16, in_ch=3, dim=768, depth=12, heads=12,
                 mlp=3072, eps=1e-6, kv_dim=0):
        super().__init__()
        n = (img // patch) ** 2
        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Conv2d(in_ch, dim, patch, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, n + 1, dim))
        self.blocks = nn.ModuleList(
            [Block(dim, heads, mlp, eps, kv_dim) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=eps)

    def forward(self, x, ctx=None):
        x = self.patch_embed.proj(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        x = x + self.pos_embed
        for blk in self.blocks:
            x = blk(x, ctx)
        return self.norm(x)[:, 0]


class OANet(nn.Module):
    def __init__(self, variant="oanet", feat=512, norm="l2", cue_widths=None,
                 cue_in=3, **vit):
        super().__init__()
        self.variant, self.norm_kind = variant, norm
        dim = vit.get("dim", 768)
        if variant == "oanet":
            self.cue_encoder = ResNet(cue_in, cue_widths, num_classes=0)
            self.vit = ViT(kv_dim=cue_widths[-1], **vit)
        elif variant == "residual_only":
            self.vit = ViT(in_ch=cue_in, **vit)
        else:
            self.vit = ViT(**vit)
        if variant == "dual_branch":
            self.cue_vit = ViT(in_ch=cue_in, **vit)
        self.head = nn.Module()
        self.head.fc = nn.Linear(2 * dim if variant == "dual_branch" else dim,
                                 feat)
        self.classifier = nn.utils.weight_norm(nn.Linear(feat, 2), dim=0)

    def named_for_file(self):
        """State dict with the ViT at the root (timm names)."""
        out = {}
        for k, v in state(self).items():
            out[k[4:] if k.startswith("vit.") else k] = v
        return out

    def forward(self, image, cue):
        if self.variant == "oanet":
            ctx = self.cue_encoder.features(cue).flatten(2).transpose(1, 2)
            f = self.vit(image, ctx)
        elif self.variant == "residual_only":
            f = self.vit(cue)
        elif self.variant == "dual_branch":
            f = torch.cat([self.vit(image), self.cue_vit(cue)], dim=1)
        else:
            f = self.vit(image)
        f = self.head.fc(f)
        n = f.norm(dim=1, keepdim=True).clamp(min=1e-12)
        f = f / n if self.norm_kind == "l2" else f / (n.sqrt() * math.sqrt(2))
        return self.classifier(f), f


def count(m):
    return sum(p.numel() for p in m.parameters())


def paper_counts():
    vit = ViT()
    print("ViT-B/16 (224) parameters:", count(vit))
    net = OANet(cue_widths=(64, 128, 256, 512))
    cue = count(net.cue_encoder)
    total = count(net)
    print("OA-Net parameters: %d in all, %d without the cue encoder "
          "(cue encoder %d)" % (total, total - cue, cue))


def golden(name, variant, seed, norm="l2", eps=1e-6, cue_shape=(2, 3, 64, 64)):
    gen = torch.Generator().manual_seed(seed)
    vit = dict(img=32, patch=16, dim=32, depth=2, heads=2, mlp=128, eps=eps)
    net = OANet(variant, feat=16, norm=norm, cue_widths=(4, 8, 16, 32),
                cue_in=cue_shape[1], **vit).eval()
    randomize(net, gen)
    image = torch.randn(2, 3, 32, 32, generator=gen)
    cue = torch.randn(*cue_shape, generator=gen)
    with torch.no_grad():
        logits, feat = net(image, cue)
    tensors = net.named_for_file()
    tensors["test.image"] = image
    tensors["test.cue"] = cue
    tensors["test.logits"] = logits
    tensors["test.feature"] = feat
    tensors["test.prob_spoof"] = logits.softmax(1)[:, 0].contiguous()
    meta = {"format": "pt", "reference": "oanet.py", "oanet.variant": variant,
            "oanet.num_heads": "2", "oanet.feature_norm": norm}
    if eps != 1e-6:
        meta["oanet.layer_norm_eps"] = repr(eps)
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                       "golden", name + ".safetensors")
    st_io.save(out, tensors, meta)
    print("wrote", os.path.normpath(out), os.path.getsize(out), "bytes")


def main():
    paper_counts()
    golden("oanet", "oanet", 224)
    golden("oanet_image_only", "image_only", 225, eps=1e-12)
    golden("oanet_residual_only", "residual_only", 226,
           cue_shape=(2, 6, 32, 32))
    golden("oanet_dual_branch", "dual_branch", 227, norm="ssdg",
           cue_shape=(2, 6, 32, 32))


if __name__ == "__main__":
    main()
