#!/usr/bin/env bash
# GPU check: the shared ESC-50 grid on this machine's CPU and on its GPU, per-stage times of both and
# the check that the GPU reproduces the CPU's tables (benchmarks/gpu_check.py says what is compared).
# Run from the repository root on a CUDA machine with ../shared beside the checkout:
#   benchmarks/gpu_check.sh                      # 2 clips per class and fold (500 clips): minutes
#   benchmarks/gpu_check.sh --clips-per-class 8  # all of ESC-50
# Python: the project's .venv when there is one (./install.sh), else python3 with acom's dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$( [[ -x .venv/bin/python ]] && echo .venv/bin/python || command -v python3 )}
"$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'gpu_check.sh: torch sees no CUDA device')"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
exec "$PYTHON" benchmarks/gpu_check.py "$@"
