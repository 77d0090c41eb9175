#!/usr/bin/python3
"""Golden data for tests/test_loss.c: values and input gradients of
F.mse_loss, F.l1_loss, F.cross_entropy, F.binary_cross_entropy_with_logits
and SSDG's HardTripletLoss, batch-hard and batch-all (taylover-pei/SSDG-CVPR2020, loss/
hard_triplet_loss.py, transcribed below with the margin as a parameter
where upstream's hardest branch writes 0.1), on small odd shapes with a few
extreme values (large logits, a logit of exactly 0, two identical feature
rows for the sqrt(0) guard).

Run: /usr/bin/python3 tests/reference/loss.py  (torch 1.13)
Writes tests/golden/loss_values.safetensors (a few KB).
"""
import os

import torch
import torch.nn.functional as F

import st_io

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden",
                   "loss_values.safetensors")


def _pairwise_distance(x, squared=False, eps=1e-16):
    cor_mat = torch.matmul(x, x.t())
    norm_mat = cor_mat.diag()
    distances = norm_mat.unsqueeze(1) - 2 * cor_mat + norm_mat.unsqueeze(0)
    distances = F.relu(distances)
    if not squared:
        mask = torch.eq(distances, 0.0).float()
        distances = distances + mask * eps
        distances = torch.sqrt(distances)
        distances = distances * (1.0 - mask)
    return distances


def _anchor_positive_mask(labels):
    indices_not_equal = torch.eye(labels.shape[0]).byte() ^ 1
    labels_equal = torch.unsqueeze(labels, 0) == torch.unsqueeze(labels, 1)
    return indices_not_equal * labels_equal


def _anchor_negative_mask(labels):
    labels_equal = torch.unsqueeze(labels, 0) == torch.unsqueeze(labels, 1)
    return labels_equal ^ 1


def hard_triplet(embeddings, labels, margin):
    pairwise_dist = _pairwise_distance(embeddings)
    mask_ap = _anchor_positive_mask(labels).float()
    valid_positive_dist = pairwise_dist * mask_ap
    hardest_positive_dist, _ = torch.max(valid_positive_dist, dim=1,
                                         keepdim=True)
    mask_an = _anchor_negative_mask(labels).float()
    max_anchor_negative_dist, _ = torch.max(pairwise_dist, dim=1, keepdim=True)
    anchor_negative_dist = pairwise_dist + max_anchor_negative_dist * (
        1.0 - mask_an)
    hardest_negative_dist, _ = torch.min(anchor_negative_dist, dim=1,
                                         keepdim=True)
    loss = F.relu(hardest_positive_dist - hardest_negative_dist + margin)
    return torch.mean(loss)


def _triplet_mask(labels):
    indices_not_same = torch.eye(labels.shape[0]).byte() ^ 1
    i_not_equal_j = torch.unsqueeze(indices_not_same, 2)
    i_not_equal_k = torch.unsqueeze(indices_not_same, 1)
    j_not_equal_k = torch.unsqueeze(indices_not_same, 0)
    distinct_indices = i_not_equal_j * i_not_equal_k * j_not_equal_k
    label_equal = torch.eq(torch.unsqueeze(labels, 0),
                           torch.unsqueeze(labels, 1))
    i_equal_j = torch.unsqueeze(label_equal, 2)
    i_equal_k = torch.unsqueeze(label_equal, 1)
    valid_labels = i_equal_j * (i_equal_k ^ 1)
    return distinct_indices * valid_labels


def all_triplet(embeddings, labels, margin):
    """HardTripletLoss(hardest=False), what SSDG's train script uses."""
    pairwise_dist = _pairwise_distance(embeddings)
    anc_pos_dist = pairwise_dist.unsqueeze(dim=2)
    anc_neg_dist = pairwise_dist.unsqueeze(dim=1)
    loss = anc_pos_dist - anc_neg_dist + margin
    mask = _triplet_mask(labels).float()
    triplet_loss = F.relu(loss * mask)
    hard_triplets = torch.gt(triplet_loss, 1e-16).float()
    num_hard_triplets = torch.sum(hard_triplets)
    return torch.sum(triplet_loss) / (num_hard_triplets + 1e-16)


g = torch.Generator().manual_seed(77)
out = {}


def record(name, value, inputs):
    value.backward()
    out[f"{name}.value"] = value.detach().reshape(1)
    for k, t in inputs.items():
        out[f"{name}.{k}"] = t.detach()
        if t.requires_grad:
            out[f"{name}.{k}.grad"] = t.grad


pred = torch.randn(3, 5, generator=g).requires_grad_()
target = torch.randn(3, 5, generator=g)
record("mse", F.mse_loss(pred, target), {"pred": pred, "target": target})
pred = torch.randn(3, 5, generator=g).requires_grad_()
target = torch.randn(3, 5, generator=g)
record("l1", F.l1_loss(pred, target), {"pred": pred, "target": target})

logits = torch.randn(4, 5, generator=g) * 2
logits[2] = torch.tensor([60.0, -40.0, 55.0, 0.0, 3.0])  # exp would overflow
logits.requires_grad_()
labels = torch.tensor([1, 0, 2, 4])
record("ce", F.cross_entropy(logits, labels),
       {"logits": logits, "labels": labels.float()})

logits = torch.randn(3, 4, generator=g) * 3
logits[0, 0], logits[1, 2], logits[2, 3] = 0.0, 40.0, -35.0
logits.requires_grad_()
targets = torch.rand(3, 4, generator=g)
targets[1, 1] = 1.0
targets[2, 2] = 0.0
record("bce", F.binary_cross_entropy_with_logits(logits, targets),
       {"logits": logits, "targets": targets})

feats = torch.randn(9, 6, generator=g)
feats[8] = feats[1]  # a zero distance within class 0
feats.requires_grad_()
classes = torch.tensor([0, 0, 0, 1, 1, 2, 2, 0, 0])
record("triplet", hard_triplet(feats, classes, 0.1),
       {"features": feats, "classes": classes.float()})
feats2 = feats.detach().clone().requires_grad_()
record("triplet_all", all_triplet(feats2, classes, 0.1),
       {"features": feats2, "classes": classes.float()})

st_io.save(OUT, out, {"generator": "tests/reference/loss.py",
                      "torch": torch.__version__})
print("wrote", OUT, os.path.getsize(OUT), "bytes")
