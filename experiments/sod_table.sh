#!/usr/bin/env bash
# Salient-object table (PySODMetrics conventions) and one PR-curve figure for cf, the full-resolution
# model and --mode fast on the first 12 hair-bench images (runs/data/hair_bench12).
# Needs the predictions of experiments/refiner_ablation.py (runs/refiner_ablation/pred/...).
#   bash experiments/sod_table.sh   -> runs/sod/table.md, docs/pr_hair_bench12.png
set -euo pipefail
cd "$(dirname "$0")/.."
GM=${GM:-.venv/bin/gan-matting}
DATA=runs/data/hair_bench12
PRED=runs/refiner_ablation/pred
mkdir -p runs/sod
[ -f runs/sod/cf/sod.md ] || $GM eval --method cf --data $DATA --out runs/sod/cf   # ~13 min on 2 CPU cores
$GM eval --pred "$PRED/full-resolution_single_pass/hair_bench/alpha" --data $DATA --out runs/sod/model_full_res
$GM eval --pred "$PRED/refiner__+_GAN_+_style_+_Gabor/hair_bench/alpha" --data $DATA --out runs/sod/model_fast
{
  echo "### salient-object metrics, hair-bench first 12 ($(date -I), $($GM --version 2>/dev/null || echo gan-matting))"
  echo
  sed -n '3,4p' runs/sod/cf/sod.md
  for r in cf model_full_res model_fast; do sed -n '5p' runs/sod/$r/sod.md; done
  echo
  tail -n 1 runs/sod/cf/sod.md
} > runs/sod/table.md
$GM plot-pr runs/sod/cf runs/sod/model_full_res runs/sod/model_fast --out docs/pr_hair_bench12.png \
    --title "hair-bench (first 12): PR and F curves"
cat runs/sod/table.md
