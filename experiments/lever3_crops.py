"""docs/lever3_gt03_crops.png: two hair crops of GT03 (Trimap1) from the cached mattes of real_photo_table.py:
photo | cf | the fourth release | the lever-3 run (+ photographed synthetic hair, step 500) | ground truth.

    python experiments/real_photo_table.py --out runs/u2net_prior --model "release=checkpoints/gan_matting_real_u2net_blend.safetensors" \
        --model "synth hair (lever 3), step 500=runs/real_u2net_blend_synthhair/generator_best.safetensors"
    python experiments/lever3_crops.py
"""
import numpy as np
from PIL import Image
from pathlib import Path
d = Path("../shared/data/alphamatting_dev"); p = Path("runs/u2net_prior/pred")
img = np.array(Image.open(d/"input/GT03.png").convert("RGB"))
gt = np.array(Image.open(d/"alpha/GT03.png").convert("L"))
ms = ("cf", "release", "synth_hair__lever_3___step_500")
cols = [img] + [np.repeat(np.array(Image.open(p/m/"trimap1/GT03.png").convert("L"))[..., None], 3, 2) for m in ms] + [np.repeat(gt[..., None], 3, 2)]
rows = []
for y0, x0, s in ((300, 80, 150), (0, 250, 150)):
    rows.append(np.concatenate([c[y0:y0+s, x0:x0+s] for c in cols], 1))
row = np.concatenate(rows, 0)
Image.fromarray(row).resize((row.shape[1]*2, row.shape[0]*2), Image.NEAREST).save("docs/lever3_gt03_crops.png")
