#!/usr/bin/env bash
# Every GPU check of a device session, in one go (the README's CUDA tables come from here):
#   bash experiments/cuda_checks.sh OUT_DIR [SUITE_SECONDS]
# 1. the CUDA tests (tests/test_cuda.py: CPU parity, fp16, training step, real OOM fallback, CLI, bench)
# 2. gan-matting bench cuda: fast-mode FPS / VRAM at HD, 4K, 8K; tiled quality mode; cf on the CPU for scale
# 3. if SUITE_SECONDS > 0: the rest of the suite (not slow) with CUDA visible, to catch CPU-only assumptions
# 4. gan-matting bench train: seconds per step of the light and the full CUDA recipe, fp32 / bf16 / fp16 autocast
set -uo pipefail
out=${1:-runs/cuda}
suite=${2:-0}
mkdir -p "$out"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available())"
python3 -m pytest -q -m cuda tests/test_cuda.py -p no:cacheprovider 2>&1 | tee "$out/cuda_tests.txt"
python3 -m gan_matting.cli bench cuda --out "$out" --repeats 5 2>&1 | tail -45
if [ "$suite" -gt 0 ]; then
  timeout "$suite" python3 -m pytest -q -m "not slow and not cuda" -p no:cacheprovider -n 8 --ignore=tests/test_serve.py --ignore=tests/test_video.py tests 2>&1 \
    | tail -30 | tee "$out/suite_tail.txt"
fi
# 4. training throughput: the default light recipe and the full CUDA recipe (fp32 / channels_last / bf16 / fp16)
python3 -m gan_matting.cli bench train --out "$out/train_light" --repeats 5 2>&1 | tail -12
python3 -m gan_matting.cli bench train --config experiments/cuda_full.yaml --out "$out/train_full" --repeats 5 2>&1 | tail -12
