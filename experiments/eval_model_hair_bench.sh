#!/usr/bin/env bash
# Score generator weights on the procedural hair-detail benchmark (overall and per region).
#   bash experiments/eval_model_hair_bench.sh checkpoints/gan_matting_cpu_light.safetensors cpu_light
set -euo pipefail
WEIGHTS=${1:?weights .safetensors}
NAME=${2:-model}
BENCH=${BENCH:-runs/data/hair_bench}
GM=${GM:-gan-matting}
[ -f "$BENCH/meta.json" ] || $GM synth --preset hair-bench --out "$BENCH" --workers 2
$GM infer "$BENCH/images" --trimap "$BENCH/trimaps" --weights "$WEIGHTS" --out "runs/eval/${NAME}_hair_bench" > /dev/null
$GM eval --pred "runs/eval/${NAME}_hair_bench/alpha" --data "$BENCH" --out "runs/eval/${NAME}_hair_bench"
