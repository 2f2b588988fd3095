#!/usr/bin/env bash
# Issue 9: train the cf-prior models on the training part of alphamatting_dev and write the
# validation-part table (runs/real_photo/table.md + metrics.csv) and the hair grid (docs/hair_grid.png).
# About 1 CPU-hour per 1000-step run on 2 cores; each run resumes where it stopped (rerun the script).
set -euo pipefail
cd "$(dirname "$0")/.."
GM=${GM:-.venv/bin/gan-matting}
PY=${PY:-.venv/bin/python}
run() {  # NAME, extra args...
  local name=$1; shift
  if [ -d "runs/$name/checkpoints" ]; then
    $GM train --config experiments/real_prior_cf.yaml --set train.name="$name" "$@" --resume "runs/$name/checkpoints" --no-progress
  else
    $GM train --config experiments/real_prior_cf.yaml --set train.name="$name" "$@" --no-progress
  fi
}
# the release: cf prior, the 12 training photos with their own trimaps (no re-composites), 200 steps
run real_prior_cf_photos_only --set data.variants=0 --set train.steps=200 --set train.ckpt_every=100
# the second release: cf + knn priors
run real_prior_cfknn_photos_only --set data.variants=0 --set "model.generator.prior=cf+knn" --set train.steps=200 --set train.ckpt_every=100
# the third release: the U²-Net RSU encoder (issue 12's best variant) with cf + knn priors
run real_u2net_cfknn_photos --set data.variants=0 --set "model.generator.prior=cf+knn" --set model.generator.name=u2net \
  --set model.generator.max_width=64 --set train.steps=200 --set train.ckpt_every=50
run real_u2net_cfknn_grad2 --set data.variants=0 --set "model.generator.prior=cf+knn" --set model.generator.name=u2net \
  --set model.generator.max_width=64 --set train.steps=200 --set train.ckpt_every=50 --set loss.lambda_grad=2.0
# the learned per-pixel blend of cf and knn (not released: better mean, worse hair image)
blend=(--set data.variants=0 --set "model.generator.prior=blend:cf+knn" --set model.generator.name=u2net
       --set model.generator.max_width=64 --set train.steps=400 --set train.ckpt_every=50 --set train.val_every=50)
run real_u2net_blend "${blend[@]}"
run real_u2net_blend_grad2 "${blend[@]}" --set loss.lambda_grad=2.0
# the fourth release: the same, 1000 steps (validation every 100 steps; released: step 800, generator_best)
run real_u2net_blend_grad2_long "${blend[@]}" --set loss.lambda_grad=2.0 --set train.steps=1000 \
  --set train.val_every=100 --set train.ckpt_every=100
run real_u2net_blend_grad2_long_seed1 "${blend[@]}" --set loss.lambda_grad=2.0 --set train.steps=1000 \
  --set train.val_every=100 --set train.ckpt_every=100 --set train.seed=1   # the second seed (README)
run real_u2net_blend_grad2_long_seed2 "${blend[@]}" --set loss.lambda_grad=2.0 --set train.steps=1000 \
  --set train.val_every=100 --set train.ckpt_every=100 --set train.seed=2   # the third seed (README)
# lever 3: + 24 photographed procedural portraits in the pool (data.synth_hair; the same recipe otherwise)
run real_u2net_blend_synthhair "${blend[@]}" --set loss.lambda_grad=2.0 --set train.steps=1000 \
  --set train.val_every=100 --set train.ckpt_every=100 --set data.synth_hair=24
# lever 3 in a small dose: the release fine-tuned 200 steps with 4 portraits (14 %), and its control without
ftune=(--set data.variants=0 --set "model.generator.prior=blend:cf+knn" --set model.generator.name=u2net --set model.generator.max_width=64
       --set loss.lambda_grad=2.0 --set train.steps=200 --set train.val_every=100 --set train.ckpt_every=100 --set optim.lr_g=0.0001)
[ -d runs/ft_release_synth4/checkpoints ] || run ft_release_synth4 "${ftune[@]}" --set data.synth_hair=4 --init-from checkpoints/gan_matting_real_u2net_blend.safetensors
[ -d runs/ft_release_plain/checkpoints ] || run ft_release_plain "${ftune[@]}" --init-from checkpoints/gan_matting_real_u2net_blend.safetensors
# lkm as a third prior of the blend (prior=blend:cf+knn+lkm; lkm is the best classical solver on the hair Grad)
run real_u2net_blend3 "${blend[@]}" --set loss.lambda_grad=2.0 --set train.steps=1000 \
  --set train.val_every=100 --set train.ckpt_every=100 --set "model.generator.prior=blend:cf+knn+lkm"
# the three seeds averaged: one generator file, the priors solved once (README: seed ensemble)
$GM ensemble checkpoints/gan_matting_real_u2net_blend.safetensors runs/real_u2net_blend_grad2_long_seed1/generator_best.safetensors \
  runs/real_u2net_blend_grad2_long_seed2/generator_best.safetensors --out runs/ensemble_seeds012.safetensors
$GM ensemble checkpoints/gan_matting_real_u2net_blend.safetensors runs/real_u2net_blend_grad2_long_seed1/generator_best.safetensors \
  --out runs/ensemble_seeds01.safetensors
# ablations (the README's rows were cut at the steps it lists: use --stop-after to do the same)
run real_prior_cf                                  # + 8 re-composites per photo, GAN after step 200
run real_prior_cf_noadv --lambda-adv 0              # lever 6: no adversarial term
run real_noprior --set "model.generator.prior=''" --set train.steps=200 --set train.ckpt_every=100   # lever 4 off
$PY experiments/real_photo_table.py --out runs/real_photo \
  --model "released gan_matting_real_cf=checkpoints/gan_matting_real_cf.safetensors" \
  --model "released + propagate=checkpoints/gan_matting_real_cf.safetensors@propagate" \
  --model "released gan_matting_real_cfknn=checkpoints/gan_matting_real_cfknn.safetensors" \
  --model "released gan_matting_real_u2net_cfknn=checkpoints/gan_matting_real_u2net_cfknn.safetensors" \
  --model "u2net cf+knn, lambda_grad 2=runs/real_u2net_cfknn_grad2/generator_best.safetensors" \
  --model "u2net blend:cf+knn prior (step 400)=runs/real_u2net_blend/generator_best.safetensors" \
  --model "u2net blend:cf+knn prior, lambda_grad 2 (step 200)=runs/real_u2net_blend_grad2/generator_best.safetensors" \
  --model "released gan_matting_real_u2net_blend=checkpoints/gan_matting_real_u2net_blend.safetensors" \
  --model "same, seed 1=runs/real_u2net_blend_grad2_long_seed1/generator_best.safetensors" \
  --model "same, seed 2=runs/real_u2net_blend_grad2_long_seed2/generator_best.safetensors" \
  --model "ensemble of seeds 0+1=runs/ensemble_seeds01.safetensors" \
  --model "+ photographed synthetic hair (lever 3)=runs/real_u2net_blend_synthhair/generator_best.safetensors" \
  --model "blend:cf+knn+lkm=runs/real_u2net_blend3/generator_best.safetensors" \
  --model "release fine-tuned + 4 synthetic (step 100)=runs/ft_release_synth4/generator_best.safetensors" \
  --model "release fine-tuned + 4 synthetic (step 100) +propagate=runs/ft_release_synth4/generator_best.safetensors@propagate" \
  --model "ensemble of seeds 0+1+2=runs/ensemble_seeds012.safetensors" \
  --model "gan cf-prior, composites=runs/real_prior_cf/generator_best.safetensors" \
  --model "no-adv cf-prior=runs/real_prior_cf_noadv/generator_best.safetensors" \
  --model "gan no-prior=runs/real_noprior/generator_best.safetensors" \
  --model "old cpu_light (synthetic only)=checkpoints/gan_matting_cpu_light.safetensors"
$PY experiments/hair_grid.py --weights checkpoints/gan_matting_real_cf.safetensors --out docs/hair_grid.png
$PY experiments/hair_grid.py --weights checkpoints/gan_matting_real_u2net_blend.safetensors --out docs/hair_grid_u2net_blend.png
# the default model with the propagation post-process: data-term weights and 3x3 / 5x5 Laplacian windows (README)
$PY experiments/real_photo_table.py --out runs/u2net_prior \
  --model "release=checkpoints/gan_matting_real_u2net_blend.safetensors" \
  --model "release+propagate=checkpoints/gan_matting_real_u2net_blend.safetensors@propagate" \
  --model "release+propagate w0.02=checkpoints/gan_matting_real_u2net_blend.safetensors@propagate:0.02" \
  --model "release+propagate w0.2=checkpoints/gan_matting_real_u2net_blend.safetensors@propagate:0.2" \
  --model "release+propagate 5x5=checkpoints/gan_matting_real_u2net_blend.safetensors@propagate:0.05:2" \
  --model "release+propagate 5x5 w0.2=checkpoints/gan_matting_real_u2net_blend.safetensors@propagate:0.2:2"
# where the hair image's gradient error comes from (missing vs extra edges), on the mattes cached above
$PY experiments/grad_error_split.py --pred runs/u2net_prior/pred --methods cf,knn,lkm,release,release+propagate,release+propagate_5x5
# lever 3, the small dose from scratch (README: validated to step 600; best validation step 500)
run real_u2net_blend_synth4 "${blend[@]}" --set loss.lambda_grad=2.0 --set train.steps=1000 \
  --set train.val_every=100 --set train.ckpt_every=100 --set data.synth_hair=4 --stop-after 600
$PY experiments/real_photo_table.py --out runs/u2net_prior \
  --model "release=checkpoints/gan_matting_real_u2net_blend.safetensors" \
  --model "release+propagate=checkpoints/gan_matting_real_u2net_blend.safetensors@propagate" \
  --model "+ 4 synthetic from scratch (step 500)=runs/real_u2net_blend_synth4/generator_best.safetensors" \
  --model "+ 4 synthetic from scratch (step 500) +propagate=runs/real_u2net_blend_synth4/generator_best.safetensors@propagate"
# lever 6 as a fine-tune: both discriminators from the start, lambda_adv 0.05 (control: ft_release_plain)
[ -d runs/ft_release_adv05/checkpoints ] || run ft_release_adv05 "${ftune[@]}" --set optim.warmup_g_only=0 \
  --set optim.warmup_d_only=25 --set loss.lambda_adv=0.05 --set train.val_every=50 --set train.ckpt_every=50 \
  --init-from checkpoints/gan_matting_real_u2net_blend.safetensors
# real fur with GFM's predicted mattes as pseudo-labels (not ground truth), G-only fine-tune like the control
[ -d runs/ft_release_fur/checkpoints ] || run ft_release_fur "${ftune[@]}" --set train.val_every=50 --set train.ckpt_every=50 \
  --set data.pseudo_root=../shared/data/fur_1080p_pseudo_alpha --set data.pseudo_alpha=pseudo_alpha_GFM_prediction_NOT_GT \
  --init-from checkpoints/gan_matting_real_u2net_blend.safetensors
$PY experiments/real_photo_table.py --out runs/u2net_prior \
  --model "release=checkpoints/gan_matting_real_u2net_blend.safetensors" \
  --model "release+propagate=checkpoints/gan_matting_real_u2net_blend.safetensors@propagate" \
  --model "release fine-tuned with lambda_adv 0.05 (step 200)=runs/ft_release_adv05/generator_best.safetensors" \
  --model "release fine-tuned with lambda_adv 0.05 (step 200) +propagate=runs/ft_release_adv05/generator_best.safetensors@propagate" \
  --model "release fine-tuned + GFM fur pseudo-labels (step 100)=runs/ft_release_fur/generator_best.safetensors" \
  --model "release fine-tuned + GFM fur pseudo-labels (step 100) +propagate=runs/ft_release_fur/generator_best.safetensors@propagate"
# a stronger gradient loss as a G-only fine-tune (lambda_grad 6; README: best validation step 50)
[ -d runs/ft_release_grad6/checkpoints ] || run ft_release_grad6 "${ftune[@]}" --set loss.lambda_grad=6.0 \
  --set train.val_every=50 --set train.ckpt_every=50 --init-from checkpoints/gan_matting_real_u2net_blend.safetensors
$PY experiments/real_photo_table.py --out runs/u2net_prior \
  --model "release=checkpoints/gan_matting_real_u2net_blend.safetensors" \
  --model "release fine-tuned with lambda_grad 6 (step 50)=runs/ft_release_grad6/generator_best.safetensors"
# the default post-process since 2026-11-26: propagation, then 25 % large-kernel matting (shares 0.2 / 0.3 beside it)
$PY experiments/real_photo_table.py --out runs/u2net_prior \
  --model "release=checkpoints/gan_matting_real_u2net_blend.safetensors" \
  --model "release+propagate=checkpoints/gan_matting_real_u2net_blend.safetensors@propagate" \
  --model "release+propagate+lkm=checkpoints/gan_matting_real_u2net_blend.safetensors@propagate+lkm" \
  --model "release+propagate+lkm 0.2=checkpoints/gan_matting_real_u2net_blend.safetensors@propagate+lkm::1:0.2" \
  --model "release+propagate+lkm 0.3=checkpoints/gan_matting_real_u2net_blend.safetensors@propagate+lkm::1:0.3"
$PY experiments/grad_error_split.py --pred runs/u2net_prior/pred --methods lkm,release+propagate,release+propagate+lkm
$PY experiments/hair_grid.py --weights checkpoints/gan_matting_real_u2net_blend.safetensors --post auto \
  --trimap trimap1 --out docs/hair_grid_default.png
# the fast mode after 2026-11-26 (averaging 50/50 with cf; and the gated refiner option) next to cf / knn / lkm
$PY experiments/real_photo_table.py --out runs/real_photo \
  --model "fast mode, default (averaging 0.5 + released refiner)=checkpoints/gan_matting_real_cf.safetensors@fast" \
  --model "fast mode, gated refiner option=checkpoints/gan_matting_real_cf.safetensors@fast:checkpoints/gan_matting_refiner_gated.safetensors"
