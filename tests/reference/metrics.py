#!/usr/bin/python3
"""Writes tests/golden/metrics.json: random frame scores with ties and the
metrics expected from engine/metrics, computed here in plain numpy straight
from the definitions (conventions in engine/metrics/roc.h: score = spoof
probability, label 1 = spoof, score >= threshold = attack). When scikit-learn
is installed, its roc_auc_score and roc_curve are cross-checked too.

Run: /usr/bin/python3 tests/reference/metrics.py
"""
import json
import os

import numpy as np

SEED = 20240607
N = 400
TYPES = ["print", "replay", "mask"]


def roc_points(s, y):
    """One point per distinct threshold, descending, starting at +inf."""
    ts = np.unique(s)[::-1]
    n_live, n_spoof = np.sum(y == 0), np.sum(y == 1)
    fpr = [0.0] + [np.sum((s >= t) & (y == 0)) / n_live for t in ts]
    tpr = [0.0] + [np.sum((s >= t) & (y == 1)) / n_spoof for t in ts]
    return np.array([np.inf] + list(ts)), np.array(fpr), np.array(tpr)


def auc_mann_whitney(s, y):
    """P(spoof > live) + 1/2 P(spoof == live) over all pairs."""
    sp, lv = s[y == 1][:, None], s[y == 0][None, :]
    return float(np.mean((sp > lv) + 0.5 * (sp == lv)))


def eer(th, fpr, tpr):
    d = fpr - (1.0 - tpr)
    i = int(np.argmax(d >= 0))
    if d[i] == 0:
        e = fpr[i]
    else:
        a = d[i - 1] / (d[i - 1] - d[i])
        e = fpr[i - 1] + a * (fpr[i] - fpr[i - 1])
    t = th[i] if abs(d[i]) <= abs(d[i - 1]) else th[i - 1]
    return float(e), float(t)


def tpr_at_fpr(fpr, tpr, x):
    j = int(np.nonzero(fpr <= x)[0][-1])
    if fpr[j] == x or j + 1 == len(fpr):
        return float(tpr[j])
    a = (x - fpr[j]) / (fpr[j + 1] - fpr[j])
    return float(tpr[j] + a * (tpr[j + 1] - tpr[j]))


def hter(s, y, t):
    far = np.mean(s[y == 1] < t)
    frr = np.mean(s[y == 0] >= t)
    return {"threshold": float(t), "far": float(far), "frr": float(frr),
            "hter": float((far + frr) / 2)}


def rates(s, y, types, t):
    apcer = {k: float(np.mean(s[(y == 1) & (types == k)] < t))
             for k in sorted(set(types[y == 1]))}
    worst = max(apcer.values())
    bpcer = float(np.mean(s[y == 0] >= t))
    return {"threshold": float(t), "apcer": apcer, "apcer_max": worst,
            "bpcer": bpcer, "acer": (worst + bpcer) / 2}


def main():
    rng = np.random.default_rng(SEED)
    y = (rng.random(N) < 0.6).astype(int)
    types = np.array([TYPES[k] for k in rng.integers(0, 3, N)])
    types[y == 0] = ""
    shift = np.where(types == "print", 1.2, np.where(types == "replay", 0.8,
                                                      0.4))
    raw = rng.normal(0.0, 1.0, N) + np.where(y == 1, shift, 0.0)
    # Rounded to 2 decimals: many ties, within and across classes.
    s = np.round(1.0 / (1.0 + np.exp(-raw)), 2)

    th, fpr, tpr = roc_points(s, y)
    auc = auc_mann_whitney(s, y)
    auc_trapz = float(np.trapz(tpr, fpr))
    assert abs(auc - auc_trapz) < 1e-12, (auc, auc_trapz)
    e, t_eer = eer(th, fpr, tpr)
    fixed = 0.5

    try:
        from sklearn.metrics import roc_auc_score, roc_curve
        sk_fpr, sk_tpr, _ = roc_curve(y, s, drop_intermediate=False)
        assert np.allclose(sk_fpr, fpr, atol=0, rtol=1e-15)
        assert np.allclose(sk_tpr, tpr, atol=0, rtol=1e-15)
        assert abs(roc_auc_score(y, s) - auc) < 1e-12
        print("scikit-learn roc_curve / roc_auc_score agree")
    except ImportError:
        print("scikit-learn not installed: numpy definitions only")

    golden = {
        "seed": SEED,
        "scores": [float(v) for v in s],
        "labels": [int(v) for v in y],
        "attack_types": [str(v) for v in types],
        "n_roc_points": len(th),
        "auc": auc,
        "eer": e,
        "eer_threshold": t_eer,
        "tpr_at_fpr_1pct": tpr_at_fpr(fpr, tpr, 0.01),
        "tpr_at_fpr_10pct": tpr_at_fpr(fpr, tpr, 0.10),
        "hter_at_eer": hter(s, y, t_eer),
        "fixed_threshold": fixed,
        "hter_at_fixed": hter(s, y, fixed),
        "rates_at_eer": rates(s, y, types, t_eer),
        "rates_at_fixed": rates(s, y, types, fixed),
    }
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                       "golden", "metrics.json")
    with open(out, "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")
    print(f"wrote {out}: AUC {auc:.6f} EER {e:.6f} @ {t_eer}")


if __name__ == "__main__":
    main()
