#!/usr/bin/env bash
# Reproduce the pymatting baseline table on the alphamatting.com development split (19 images with GT).
#   bash experiments/baselines_alphamatting_dev.sh [DATA] [OUT]
set -euo pipefail
DATA=${1:-../shared/data/alphamatting_dev}
OUT=${2:-runs/baselines}
GM=${GM:-gan-matting}
for method in cf knn lkm; do
  for trimap in trimap1 trimap2; do
    $GM eval --method "$method" --data "$DATA" --trimap "$trimap" --out "$OUT/${method}_${trimap}"
  done
done
python - "$OUT" <<'PY'
import sys, pathlib
out = pathlib.Path(sys.argv[1])
parts = [p.read_text() for p in sorted(out.glob("*/metrics.md"))]
(out / "baselines.md").write_text("\n".join(parts))
print(f"wrote {out / 'baselines.md'}")
PY
