#!/usr/bin/env bash
# The one prepared GPU check (issue #24; benchmarks/gpu_check.py says what it measures).
#
#   bash scripts/gpu_check.sh            # JSON to $OUT/gpu_check.json, else runs/gpu_check/
#
# Python: $PYTHON, else the clone's .venv, else python3 (a GPU image's own PyTorch). At most
# 8 minutes: the whole check runs under `timeout 480`, and every section's figures are written
# as soon as it ends. On a machine without CUDA it prints "no CUDA device" and exits 0.
set -uo pipefail
cd "$(dirname "$0")/.."
if [[ -n "${PYTHON:-}" ]]; then
  py=$PYTHON
elif [[ -x .venv/bin/python ]]; then
  py=.venv/bin/python
else
  py=python3
fi
if ! "$py" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  echo "no CUDA device: the GPU check needs one; nothing was run ($py)"
  exit 0
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
export PYTHONUNBUFFERED=1 PYTHONPATH="$(pwd)${PYTHONPATH:+:$PYTHONPATH}"
timeout 480 "$py" benchmarks/gpu_check.py "$@"
