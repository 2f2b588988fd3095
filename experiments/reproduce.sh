#!/usr/bin/env bash
# Every README table and figure from scratch: bash experiments/reproduce.sh all | TARGET... | --list | --tiny ...
# (the driver is experiments/reproduce.py; each target writes runs/reproduce/TARGET.md with its stamp)
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PY:-.venv/bin/python}" experiments/reproduce.py "$@"
