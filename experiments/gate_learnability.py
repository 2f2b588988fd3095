"""Issue 10 (README, *Fast full-resolution inference*): can a per-pixel gate between the guided-upsampled
network alpha (a) and cf prior (p) of the fast mode be learned from local features? A gradient-boosted
regressor is fitted on the training part of alphamatting_dev and scored on the validation part (Trimap1 +
Trimap2); it prints the unknown band's L1 (SAD / 1000 in float alpha) of a, p, their 50/50 average, the learned
gate and the per-pixel oracle, per image and in total.

    python experiments/gate_learnability.py      # needs ../shared/data/alphamatting_dev
"""
import json, numpy as np, torch
from pathlib import Path
from kornia.filters import sobel, box_blur
from sklearn.ensemble import HistGradientBoostingRegressor
from gan_matting.data.io import read_rgb, read_trimap, read_alpha
from gan_matting.data.trimap_format import trimap_to_unit
from gan_matting.inference.coarse_fine import coarse_pass, guided_upsample
from gan_matting.models.weights import load_generator, FAST_WEIGHTS
torch.set_num_threads(2)
G, _ = load_generator(FAST_WEIGHTS)
data = Path("../shared/data/alphamatting_dev")
split = json.load(open("experiments/splits/alphamatting_dev.json"))
rng = np.random.default_rng(0)

def feats(n, tn):
    img = read_rgb(data / "input" / f"{n}.png"); tri = read_trimap(data / tn / f"{n}.png"); gt = read_alpha(data / "alpha" / f"{n}.png")
    x = torch.from_numpy(img.transpose(2, 0, 1).copy())[None].float(); t = torch.from_numpy(trimap_to_unit(tri))[None, None]
    c = coarse_pass(G, x, t, 320)
    a = guided_upsample(c["image"], c["alpha"], x).clamp(0, 1)
    p = guided_upsample(c["image"], c["prior"][:, :1].clamp(0, 1), x).clamp(0, 1)
    gray = x.mean(1, keepdim=True)
    f = [a, p, a - p, (a - p).abs(), gray, sobel(gray), sobel(a), sobel(p),
         (box_blur(gray ** 2, (5, 5)) - box_blur(gray, (5, 5)) ** 2).clamp_min(0).sqrt(),
         box_blur((a - p).abs(), (9, 9)), box_blur(a, (9, 9)), box_blur(p, (9, 9)), sobel(x).mean(1, keepdim=True)]
    F_ = torch.cat(f, 1)[0].reshape(len(f), -1).T.numpy()
    u = (tri == 128).reshape(-1)
    return F_[u], gt.reshape(-1)[u], a[0, 0].numpy().reshape(-1)[u], p[0, 0].numpy().reshape(-1)[u]

X, Y, W = [], [], []
for n in split["train"]:
    for tn in ("trimap1", "trimap2"):
        f, gt, a, p = feats(n, tn)
        d = a - p
        ok = np.abs(d) > 0.02
        idx = np.flatnonzero(ok)
        idx = rng.choice(idx, min(len(idx), 20000), replace=False)
        X.append(f[idx]); Y.append(np.clip((gt[idx] - p[idx]) / d[idx], 0, 1)); W.append(np.abs(d[idx]))
X, Y, W = np.concatenate(X), np.concatenate(Y), np.concatenate(W)
print("train pixels", len(X))
m = HistGradientBoostingRegressor(max_iter=200, learning_rate=0.1, max_leaf_nodes=31).fit(X, Y, sample_weight=W)
tot = np.zeros(5)
for tn in ("trimap1", "trimap2"):
    for n in split["validation"]:
        f, gt, a, p = feats(n, tn)
        w = np.clip(m.predict(f), 0, 1)
        r = [np.abs(a - gt).sum(), np.abs(p - gt).sum(), np.abs(0.5 * a + 0.5 * p - gt).sum(),
             np.abs(w * a + (1 - w) * p - gt).sum(), np.minimum(np.abs(a - gt), np.abs(p - gt)).sum()]
        tot += r
        print(tn, n, " ".join(f"{v/1000:.2f}" for v in r), f"mean gate {w.mean():.2f}")
print("SAD/1000 net, prior, mix, learned gate, oracle:", " ".join(f"{v/1000:.2f}" for v in tot))
