#!/usr/bin/env bash
# Install everything acom needs into ./.venv: the Debian packages below (libopus0 for opuslib, headless
# chromium for the listening-page checks), then the pinned Python stack and the acom package itself (editable).
# Usage: ./install.sh            (PYTHON=/path/to/python3.11 ./install.sh to choose the interpreter)
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
"$PYTHON" - <<'PY' || { echo "install.sh: acom needs Python >= 3.11 (found $("$PYTHON" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY

# System packages: libopus0 is what opuslib loads at import time; chromium (headless) checks that the
# listening page's audio decodes in a real browser and takes its screenshot; fonts-dejavu-core gives
# headless Chromium a font, without which its screenshots show no text at all. gcc and the Python
# headers build sed_scores_eval's Cython extension (PyPI has only its source distribution).
system_packages=(libopus0 chromium fonts-dejavu-core gcc libc6-dev python3-dev)
missing=()
for pkg in "${system_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        echo "install.sh: installing system package(s) ${missing[*]} with apt-get"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}"
    else
        echo "install.sh: acom needs the Debian package(s) ${missing[*]}; install them first:" >&2
        echo "    sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
fi

[[ -x .venv/bin/python ]] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test]"

# Fail here, not in the middle of a workflow run, if a native piece is missing.
.venv/bin/python -c "import opuslib, torch, torchaudio, encodec, soundfile, sed_eval, sed_scores_eval.base_modules.cy_detection, snakemake, acom; print('acom', acom.__version__, '| torch', torch.__version__, '| torchaudio', torchaudio.__version__)"
echo "install.sh: done. Activate with: source .venv/bin/activate"
