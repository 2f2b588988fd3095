#!/usr/bin/env bash
# Issue 10's tables from scratch: stage-2 training (the refiner with and without its GAN/style/Gabor
# terms), the refiner ablation, and the speed + memory bench. Re-running resumes unfinished trainings.
#   bash experiments/reproduce_refiner.sh            # needs ../shared/data (alphamatting_dev, fur_1080p)
set -euo pipefail
GM=${GM:-gan-matting}
PY=${PY:-python}
SHARED=${SHARED:-../shared/data}
[ -f runs/data/refiner_train_synth/meta.json ] || \
  $GM synth --preset train --n 16 --seed 777 --size 1024 --out runs/data/refiner_train_synth --workers 2
[ -f runs/data/hair_bench12/meta.json ] || \
  $GM synth --preset hair-bench --n 12 --out runs/data/hair_bench12 --workers 2   # the first 12 of hair-bench
train() {  # name config [--set ...]: resumes a run that a previous call left unfinished
  local name=$1 config=$2; shift 2
  local resume=(); [ -d "runs/$name/checkpoints" ] && resume=(--resume)
  $GM train-refiner --config "$config" --set "name=$name" "$@" "${resume[@]}" --no-progress
}
train refiner experiments/refiner.yaml                      # released as checkpoints/gan_matting_refiner.safetensors
train refiner_l1 experiments/refiner_l1.yaml
train refiner_f experiments/refiner.yaml --set features=true
train refiner_l1_f experiments/refiner_l1.yaml --set features=true
train refiner_big experiments/refiner.yaml --set width=32 --set n_layers=6 --stop-after 400   # the ablation's row: 400 of 800 steps
train refiner_joint experiments/refiner.yaml --set joint=true --stop-after 400   # joint fine-tuning: the README's 400-step rows
$PY experiments/refiner_ablation.py --out runs/refiner_ablation \
  --refiner "refiner, L1 + grad only=runs/refiner_l1/refiner_last.safetensors" \
  --refiner "refiner, + GAN + style + Gabor=runs/refiner/refiner_last.safetensors" \
  --refiner "refiner + G features, L1 + grad only=runs/refiner_l1_f/refiner_last.safetensors" \
  --refiner "refiner + G features, + GAN + style + Gabor=runs/refiner_f/refiner_last.safetensors" \
  --refiner "larger refiner (width 32, 6 layers), + GAN + style + Gabor, 400 steps=runs/refiner_big/refiner_last.safetensors" \
  --refiner "joint fine-tuning (G + refiner), 400 of 800 steps=runs/refiner_joint/refiner_last.safetensors@runs/refiner_joint/generator_joint.safetensors" \
  --coarse-only "joint run's generator, refiner off=runs/refiner_joint/generator_joint.safetensors"
train refiner_joint experiments/refiner.yaml --set joint=true   # resumes to 800 steps: the README's 800-step rows
$PY experiments/refiner_ablation.py --out runs/refiner_ablation \
  --refiner "joint, 800 steps (G + refiner)=runs/refiner_joint/refiner_last.safetensors@runs/refiner_joint/generator_joint.safetensors" \
  --coarse-only "joint G (800 steps), refiner off=runs/refiner_joint/generator_joint.safetensors"
# the fast mode averaged with its guided-upsampled cf prior (infer --prior-share), refiner on and off
# (the released refiner file stores share 0.5 since 2026-11-26: the rows name their share)
$PY experiments/refiner_ablation.py --out runs/refiner_ablation --prior-share 0 --prior-share 0.25 --prior-share 0.5
# the gated refiner: it reads the guided-upsampled cf prior and learns a per-pixel gate between it and the
# coarse alpha (averaged 50/50 with the prior at the coarse size); pixel losses only, and + GAN + style + Gabor
GATE=(--set prior_channel=true --set prior_share=0.5)
train refiner_gate_l1 experiments/refiner_l1.yaml "${GATE[@]}"
train refiner_gate experiments/refiner.yaml "${GATE[@]}"
train refiner_gate_l1_lr3 experiments/refiner_l1.yaml "${GATE[@]}" --set lr=3e-3
train refiner_gate_real_l1 experiments/refiner_l1.yaml "${GATE[@]}" --set lr=3e-3 --set "synth_root=''"
train refiner_gate_real experiments/refiner.yaml "${GATE[@]}" --set lr=3e-3 --set "synth_root=''"
train refiner_gate_lr3_hair25 experiments/refiner.yaml "${GATE[@]}" --set lr=3e-3 --set hair_frac=0.25
train refiner_gate_real_grad5 experiments/refiner_l1.yaml "${GATE[@]}" --set lr=3e-3 --set "synth_root=''" --set lambda_grad=5
# released as checkpoints/gan_matting_refiner_gated.safetensors (an option, `infer --mode fast --refiner ...`)
train refiner_gate_real_grad20 experiments/refiner_l1.yaml "${GATE[@]}" --set lr=3e-3 --set "synth_root=''" --set lambda_grad=20
$PY experiments/refiner_ablation.py --out runs/refiner_ablation --prior-share 0.5 \
  --refiner "gated, L1 + grad=runs/refiner_gate_l1/refiner_last.safetensors" \
  --refiner "gated, + GAN + style + Gabor=runs/refiner_gate/refiner_last.safetensors" \
  --refiner "gated, L1 + grad, lr 3e-3=runs/refiner_gate_l1_lr3/refiner_last.safetensors" \
  --refiner "gated, real photos only, L1 + grad=runs/refiner_gate_real_l1/refiner_last.safetensors" \
  --refiner "gated, real photos only, + GAN + style + Gabor=runs/refiner_gate_real/refiner_last.safetensors" \
  --refiner "gated, + GAN + style + Gabor, lr 3e-3, hair cells 25 %=runs/refiner_gate_lr3_hair25/refiner_last.safetensors" \
  --refiner "gated, real photos only, L1 + grad x5=runs/refiner_gate_real_grad5/refiner_last.safetensors" \
  --refiner "gated, real photos only, L1 + grad x20=runs/refiner_gate_real_grad20/refiner_last.safetensors"
$PY experiments/refiner_generalisation.py                      # memorise vs generalise (README)
$PY experiments/gate_learnability.py                           # is the per-pixel gate learnable? (README)
$PY experiments/refiner_generalisation.py --lr 1e-3 --set width=32 --set n_layers=8 --set features=true
# speed: a 1080p fur photo (its trimap from the *predicted* alpha shipped with it; never scored)
mkdir -p runs/bench_input
$GM make-trimap --mask "$SHARED/fur_1080p_pseudo_alpha/pseudo_alpha_GFM_prediction_NOT_GT/sample1.png" \
  --radius 10 --out runs/bench_input/sample1_trimap.png
$GM bench infer --image "$SHARED/fur_1080p_pseudo_alpha/input/sample1.jpg" --trimap runs/bench_input/sample1_trimap.png \
  --refiner "${REFINER:-checkpoints/gan_matting_refiner.safetensors}" --repeats 3 --out runs/bench
# the fast mode with its default F against cf + ML only (README: docs/bench_infer_fast_cpu.md; run it on an idle CPU)
$GM bench infer --fast-only --image "$SHARED/fur_1080p_pseudo_alpha/input/sample1.jpg" \
  --trimap runs/bench_input/sample1_trimap.png --repeats 5 --out runs/bench_fast
$PY experiments/foreground_table.py --data runs/data/hair_bench12 --out runs/foreground
$PY experiments/hair_grid.py --weights checkpoints/gan_matting_real_cf.safetensors \
  --refiner checkpoints/gan_matting_refiner.safetensors --out docs/fast_mode_grid.png
# the fast mode next to cf / knn / lkm on the validation part (the README's real-photo table)
$PY experiments/real_photo_table.py --out runs/real_photo \
  --model "gan_cf-prior (photos only, step 200)=checkpoints/gan_matting_real_cf.safetensors" \
  --model "real_cf --mode fast=checkpoints/gan_matting_real_cf.safetensors@fast"
