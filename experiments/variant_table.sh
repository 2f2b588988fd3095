#!/usr/bin/env bash
# The variant ablation (issue 12): every generator variant of experiments/variants/ trained with the
# same budget on the same data (the real-photo composites of the training part of alphamatting_dev,
# experiments/splits/alphamatting_dev.json; no classical prior, so the architectures are compared and
# not the solver), then scored on the validation part (Trimap1/Trimap2, next to cf/knn/lkm) and on the
# first 12 hair-bench images. Resumable: re-running continues each training from its last checkpoint
# and re-scores.
#   bash experiments/variant_table.sh                 # STEPS=400 per variant by default
#   STEPS=2 VARIANTS="unet bisenet" QUICK=1 bash experiments/variant_table.sh   # CI-sized check of the driver
set -euo pipefail
cd "$(dirname "$0")/.."
GM=${GM:-.venv/bin/gan-matting}
PY=${PY:-.venv/bin/python}
STEPS=${STEPS:-400}
VARIANTS=${VARIANTS:-"unet u2net basnet cross_channel autoencoder bisenet"}
DATA=${DATA:-../shared/data/alphamatting_dev}
OUT=${OUT:-runs/variant_table}
RUNS=$OUT/runs
mkdir -p "$OUT/pred"
# the classical solvers' mattes are the same as the real-photo table's: reuse them when present
for m in cf knn lkm; do
  [ -d "runs/real_photo/pred/$m" ] && [ ! -e "$OUT/pred/$m" ] && cp -r "runs/real_photo/pred/$m" "$OUT/pred/$m"
done
models=()
for v in $VARIANTS; do
  run="$RUNS/variant_$v"
  resume=()
  [ -d "$run/checkpoints" ] && resume=(--resume "$run/checkpoints")
  $GM train --config "experiments/variants/$v.yaml" "${resume[@]}" --no-progress \
    --set data.source=composites --set "data.root=$DATA" --set data.split=experiments/splits/alphamatting_dev.json \
    --set "train.steps=$STEPS" --set "train.out_dir=$RUNS" --set data.workers=0 > "$OUT/train_$v.log" 2>&1 \
    || { echo "training $v failed: see $OUT/train_$v.log" >&2; exit 1; }
  models+=(--model "$v ($STEPS steps)=$run/generator_last.safetensors")
  rm -rf "$OUT/pred/$v ($STEPS steps)" "$OUT/pred/${v}__${STEPS}_steps_"   # retrained: score afresh
done
classical=cf,knn,lkm
[ -n "${QUICK:-}" ] && classical=cf
$PY experiments/real_photo_table.py --data "$DATA" --out "$OUT" --classical "$classical" "${models[@]}" > /dev/null
# hair-bench: the first 12 images, per region
HB=runs/data/hair_bench12
[ -f "$HB/meta.json" ] || $GM synth --preset hair-bench --n 12 --out "$HB" --workers 2 > /dev/null
hb_runs=()
for v in $VARIANTS; do
  [ -n "${QUICK:-}" ] && break
  $GM infer "$HB/images" --trimap "$HB/trimaps" --weights "$RUNS/variant_$v/generator_last.safetensors" \
     --fg model --out "$OUT/hair_bench/$v" > /dev/null
  $GM eval --pred "$OUT/hair_bench/$v/alpha" --data "$HB" --out "$OUT/hair_bench/$v" > /dev/null
  hb_runs+=("$OUT/hair_bench/$v")
done
{
  cat "$OUT/table.md"
  if [ ${#hb_runs[@]} -gt 0 ]; then
    echo; echo "## hair-bench, first 12 images (procedural; does not decide anything)"; echo
    $PY experiments/variant_hair_table.py "${hb_runs[@]}"
  fi
} > "$OUT/variant_table.md"
echo "wrote $OUT/variant_table.md"
