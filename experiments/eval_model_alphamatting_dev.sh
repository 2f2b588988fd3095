#!/usr/bin/env bash
# Score trained generator weights on the alphamatting.com development split (Trimap1 and Trimap2)
# next to the pymatting baselines (run experiments/baselines_alphamatting_dev.sh first).
#   bash experiments/eval_model_alphamatting_dev.sh runs/cpu_light/generator_best.safetensors cpu_light
set -euo pipefail
WEIGHTS=${1:?weights .safetensors}
NAME=${2:-model}
DATA=${DATA:-../shared/data/alphamatting_dev}
GM=${GM:-gan-matting}
for t in trimap1 trimap2; do
  $GM infer "$DATA/input" --trimap "$DATA/$t" --weights "$WEIGHTS" --out "runs/eval/${NAME}_${t}" > /dev/null
  $GM eval --pred "runs/eval/${NAME}_${t}/alpha" --data "$DATA" --trimap "$t" --out "runs/eval/${NAME}_${t}" > /dev/null
  echo "### $t"
  python experiments/compare_tables.py runs/baselines/*_"$t" "runs/eval/${NAME}_${t}"
done
