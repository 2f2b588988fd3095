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
# the context refiner: also the coarse alpha blurred by context_sigma coarse px (the surround a 9x9 window
# cannot see), gated, pixel losses; budget 25 % (all band cells of most photos); a fixed unsharp mask of the
# band through the same channel for comparison (not a network)
CTX=("${GATE[@]}" --set lr=3e-3 --set lambda_grad=20 --set budget=0.25)
train ctx_g5 experiments/refiner_l1.yaml "${CTX[@]}" --set context_sigma=1.5 --set lambda_grad=5
train ctx_g20 experiments/refiner_l1.yaml "${CTX[@]}" --set context_sigma=1.5
train ctx_g20_1600 experiments/refiner_l1.yaml "${CTX[@]}" --set context_sigma=1.5 --set steps=1600
train ctx_real_g20 experiments/refiner_l1.yaml "${CTX[@]}" --set context_sigma=1.5 --set "synth_root=''"
train ctx_s3_g20 experiments/refiner_l1.yaml "${CTX[@]}" --set context_sigma=3
train ctx_s3_synth experiments/refiner_l1.yaml "${CTX[@]}" --set context_sigma=3 --set "real_root=''"
train ctx_s3_hair85 experiments/refiner_l1.yaml "${CTX[@]}" --set context_sigma=3 --set hair_frac=0.85
train ctx_s3_hair100 experiments/refiner_l1.yaml "${CTX[@]}" --set context_sigma=3 --set hair_frac=1.0
train ctx_s3_hair85_g40 experiments/refiner_l1.yaml "${CTX[@]}" --set context_sigma=3 --set hair_frac=0.85 --set lambda_grad=40
$PY -c "from gan_matting.models.weights import set_refiner_settings as s; import shutil
for b in (0.08, 0.5):
    p = f'runs/ctx_g20/refiner_b{b}.safetensors'; shutil.copy('runs/ctx_g20/refiner_last.safetensors', p); s(p, budget=b)"
$PY experiments/refiner_ablation.py --out runs/refiner_ablation --prior-share 0.5 --unsharp 1.5,0.25 \
  --refiner "context gate, grad x5=runs/ctx_g5/refiner_last.safetensors" \
  --refiner "context gate, grad x20=runs/ctx_g20/refiner_last.safetensors" \
  --refiner "context gate, grad x20, budget 0.08=runs/ctx_g20/refiner_b0.08.safetensors" \
  --refiner "context gate, grad x20, budget 0.5=runs/ctx_g20/refiner_b0.5.safetensors" \
  --refiner "context gate, grad x20, 1600 steps=runs/ctx_g20_1600/refiner_last.safetensors" \
  --refiner "context gate, real photos only, grad x20=runs/ctx_real_g20/refiner_last.safetensors" \
  --refiner "context gate sigma 3, grad x20=runs/ctx_s3_g20/refiner_last.safetensors" \
  --refiner "context gate sigma 3, synthetic only=runs/ctx_s3_synth/refiner_last.safetensors" \
  --refiner "context gate sigma 3, hair cells 85 %=runs/ctx_s3_hair85/refiner_last.safetensors" \
  --refiner "context gate sigma 3, hair cells 100 %=runs/ctx_s3_hair100/refiner_last.safetensors" \
  --refiner "context gate sigma 3, hair cells 85 %, grad x40=runs/ctx_s3_hair85_g40/refiner_last.safetensors"
# the released context refiner's recipe with two more seeds (the spread of one recipe)
for sd in 1 2; do
  train ctx_s3_hair85_seed$sd experiments/refiner_l1.yaml "${CTX[@]}" --set context_sigma=3 --set hair_frac=0.85 --set seed=$sd
done
$PY experiments/refiner_ablation.py --out runs/refiner_ablation --prior-share 0.5 \
  --refiner "context gate sigma 3, hair cells 85 %=runs/ctx_s3_hair85/refiner_last.safetensors" \
  --refiner "context gate sigma 3, hair cells 85 %, seed 1=runs/ctx_s3_hair85_seed1/refiner_last.safetensors" \
  --refiner "context gate sigma 3, hair cells 85 %, seed 2=runs/ctx_s3_hair85_seed2/refiner_last.safetensors"
# and with more capacity: width 24, and 6 layers (a 13x13 window)
train ctx_s3_hair85_w24 experiments/refiner_l1.yaml "${CTX[@]}" --set context_sigma=3 --set hair_frac=0.85 --set width=24
train ctx_s3_hair85_l6 experiments/refiner_l1.yaml "${CTX[@]}" --set context_sigma=3 --set hair_frac=0.85 --set n_layers=6
$PY experiments/refiner_ablation.py --out runs/refiner_ablation --prior-share 0.5 \
  --refiner "context gate sigma 3, hair cells 85 %, width 24=runs/ctx_s3_hair85_w24/refiner_last.safetensors" \
  --refiner "context gate sigma 3, hair cells 85 %, 6 layers=runs/ctx_s3_hair85_l6/refiner_last.safetensors"
# and with specular highlights on the procedural strands (the same scenes: alpha and B unchanged, F only)
[ -f runs/data/refiner_train_synth_spec/meta.json ] || $GM synth --preset train --n 16 --seed 777 --size 1024 \
  --specular 0.8 --out runs/data/refiner_train_synth_spec --workers 2
train ctx_spec experiments/refiner_l1.yaml "${CTX[@]}" --set context_sigma=3 --set hair_frac=0.85 \
  --set synth_root=runs/data/refiner_train_synth_spec
$PY experiments/refiner_ablation.py --out runs/refiner_ablation --prior-share 0.5 \
  --refiner "context gate sigma 3, hair cells 85 %=runs/ctx_s3_hair85/refiner_last.safetensors" \
  --refiner "context gate sigma 3, hair cells 85 %, specular hair=runs/ctx_spec/refiner_last.safetensors"
# and with GT08, the train part's one long-hair photo, drawn 5x as often
train ctx_gt08x5 experiments/refiner_l1.yaml "${CTX[@]}" --set context_sigma=3 --set hair_frac=0.85 \
  --set "image_weights={GT08: 5}"
$PY experiments/refiner_ablation.py --out runs/refiner_ablation --prior-share 0.5 \
  --refiner "context gate sigma 3, hair cells 85 %=runs/ctx_s3_hair85/refiner_last.safetensors" \
  --refiner "context gate sigma 3, hair cells 85 %, GT08 drawn 5x=runs/ctx_gt08x5/refiner_last.safetensors"
# more real hair in the draws: GT08 5x (seed 1), 10x, 15x (width 24), with the procedural images weighted up;
# the released recipe (gan_matting_refiner_context_hair) is GT08 10x + procedural 2x, seed 0; seeds 1 and 2
H=(experiments/refiner_l1.yaml "${CTX[@]}" --set context_sigma=3 --set hair_frac=0.85)
train ctx_gt08x5_seed1 "${H[@]}" --set "image_weights={GT08: 5}" --set seed=1
train ctx_gt08x10 "${H[@]}" --set "image_weights={GT08: 10}"
train ctx_gt08x15 "${H[@]}" --set "image_weights={GT08: 15}"
train ctx_gt08x15_w24 "${H[@]}" --set "image_weights={GT08: 15}" --set width=24
train ctx_gt08x15_s25 "${H[@]}" --set "image_weights={GT08: 15, synth_*: 2.5}"
for sd in 0 1 2; do
  train ctx_gt08x10_s2$([ $sd = 0 ] || echo _seed$sd) "${H[@]}" --set "image_weights={GT08: 10, synth_*: 2}" --set seed=$sd
done
R="context gate sigma 3, hair cells 85 %"
$PY experiments/refiner_ablation.py --out runs/refiner_ablation --prior-share 0.5 \
  --refiner "$R, GT08 drawn 5x=runs/ctx_gt08x5/refiner_last.safetensors" \
  --refiner "$R, GT08 drawn 5x, seed 1=runs/ctx_gt08x5_seed1/refiner_last.safetensors" \
  --refiner "$R, GT08 drawn 10x=runs/ctx_gt08x10/refiner_last.safetensors" \
  --refiner "$R, GT08 drawn 15x=runs/ctx_gt08x15/refiner_last.safetensors" \
  --refiner "$R, GT08 drawn 15x, width 24=runs/ctx_gt08x15_w24/refiner_last.safetensors" \
  --refiner "$R, GT08 drawn 15x, procedural 2.5x=runs/ctx_gt08x15_s25/refiner_last.safetensors" \
  --refiner "$R, GT08 drawn 10x, procedural 2x=runs/ctx_gt08x10_s2/refiner_last.safetensors" \
  --refiner "$R, GT08 drawn 10x, procedural 2x, seed 1=runs/ctx_gt08x10_s2_seed1/refiner_last.safetensors" \
  --refiner "$R, GT08 drawn 10x, procedural 2x, seed 2=runs/ctx_gt08x10_s2_seed2/refiner_last.safetensors"
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
  --refiner checkpoints/gan_matting_refiner_context_hair.safetensors --out docs/fast_mode_grid.png
# the fast mode next to cf / knn / lkm on the validation part (the README's real-photo table)
$PY experiments/real_photo_table.py --out runs/real_photo \
  --model "gan_cf-prior (photos only, step 200)=checkpoints/gan_matting_real_cf.safetensors" \
  --model "real_cf --mode fast=checkpoints/gan_matting_real_cf.safetensors@fast"
$PY experiments/real_photo_table.py --out runs/real_photo \
  --model "fast mode, default (context refiner with real hair draws, averaging 0.5)=checkpoints/gan_matting_real_cf.safetensors@fast"
