#!/usr/bin/env bash
# The variant ablation (issue 12): every generator variant of experiments/variants/ trained with the
# same budget on the same data (the real-photo composites of the training part of alphamatting_dev,
# experiments/splits/alphamatting_dev.json; no classical prior, so the architectures are compared and
# not the solver), then scored on the validation part (Trimap1/Trimap2, next to cf/knn/lkm) and on the
# first 12 hair-bench images; plus the Mask R-CNN auto-trimap front-end (trained on the same photos) in
# front of the released model. Resumable: re-running continues each training from its last checkpoint;
# mattes are recomputed only for weights newer than them.
#   bash experiments/variant_table.sh                 # STEPS=400 per variant, STEPS_MASKRCNN=300
#   STEPS=2 VARIANTS="unet autoencoder" QUICK=1 bash experiments/variant_table.sh
#       QUICK: the CI-sized check of this driver: procedural training data, no classical solvers,
#       no hair-bench, no Mask R-CNN
set -euo pipefail
cd "$(dirname "$0")/.."
GM=${GM:-.venv/bin/gan-matting}
PY=${PY:-.venv/bin/python}
STEPS=${STEPS:-400}
STEPS_MASKRCNN=${STEPS_MASKRCNN:-300}
VARIANTS=${VARIANTS:-"unet u2net basnet cross_channel autoencoder bisenet"}
DATA=${DATA:-../shared/data/alphamatting_dev}
OUT=${OUT:-runs/variant_table}
RUNS=$OUT/runs
SPLIT=experiments/splits/alphamatting_dev.json
mkdir -p "$OUT/pred"
if [ -n "${QUICK:-}" ]; then
  data=(--set data.source=synth --set data.synth_min_size=128 --set data.synth_max_size=160)
else
  data=(--set data.source=composites --set "data.root=$DATA" --set "data.split=$SPLIT")
fi
train() {  # CONFIG STEPS [--set ...]: trains or resumes runs under $RUNS
  local name=$1 steps=$2; shift 2
  local run="$RUNS/variant_$name" resume=()
  [ -d "$run/checkpoints" ] && resume=(--resume "$run/checkpoints")
  $GM train --config "experiments/variants/$name.yaml" "${resume[@]}" --no-progress "${data[@]}" \
    --set "train.steps=$steps" --set "train.out_dir=$RUNS" --set data.workers=0 "$@" > "$OUT/train_$name.log" 2>&1 \
    || { echo "training $name failed: see $OUT/train_$name.log" >&2; exit 1; }
}
models=()
for v in $VARIANTS; do
  train "$v" "$STEPS"
  weights="$RUNS/variant_$v/generator_last.safetensors"
  models+=(--model "$v ($STEPS steps)=$weights")
  cache="$OUT/pred/${v}__${STEPS}_steps_"
  if [ -e "$cache" ] && [ "$weights" -nt "$cache" ]; then rm -rf "$cache"; fi   # retrained: score afresh
done
classical=(--classical cf,knn,lkm)
[ -n "${QUICK:-}" ] && classical=(--classical "")
$PY experiments/real_photo_table.py --data "$DATA" --out "$OUT" "${classical[@]}" "${models[@]}" > /dev/null
hb_runs=()
if [ -z "${QUICK:-}" ]; then
  # hair-bench: the first 12 images, per region
  HB=runs/data/hair_bench12
  [ -f "$HB/meta.json" ] || $GM synth --preset hair-bench --n 12 --out "$HB" --workers 2 > /dev/null
  for v in $VARIANTS; do
    weights="$RUNS/variant_$v/generator_last.safetensors"
    if [ ! -f "$OUT/hair_bench/$v/metrics.csv" ] || [ "$weights" -nt "$OUT/hair_bench/$v/metrics.csv" ]; then
      $GM infer "$HB/images" --trimap "$HB/trimaps" --weights "$weights" --fg model --out "$OUT/hair_bench/$v" > /dev/null
      $GM eval --pred "$OUT/hair_bench/$v/alpha" --data "$HB" --out "$OUT/hair_bench/$v" > /dev/null
    fi
    hb_runs+=("$OUT/hair_bench/$v")
  done
  # the Mask R-CNN front-end: trained on the same photos (foreground alpha > 0.5 = one instance), its
  # masks -> trimaps -> the released model; 1 torch thread so it can share the machine
  train maskrcnn "$STEPS_MASKRCNN" --set train.threads=1
  mr="$RUNS/variant_maskrcnn/generator_last.safetensors"
  if [ ! -f "$OUT/maskrcnn/table.md" ] || [ "$mr" -nt "$OUT/maskrcnn/table.md" ]; then
    $PY experiments/maskrcnn_trimap_row.py --weights "$mr" --data "$DATA" --out "$OUT/maskrcnn" > "$OUT/maskrcnn.log"
  fi
fi
{
  cat "$OUT/table.md"
  if [ ${#hb_runs[@]} -gt 0 ]; then
    echo; echo "## hair-bench, first 12 images (procedural; does not decide anything)"; echo
    $PY experiments/variant_hair_table.py "${hb_runs[@]}"
    echo; cat "$OUT/maskrcnn/table.md"
  fi
} > "$OUT/variant_table.md"
echo "wrote $OUT/variant_table.md"
