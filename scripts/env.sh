#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment and point .venv at it.
#
# The environment lives outside the clone, keyed by a hash of pyproject.toml and
# constraints.txt (as CI caches do), so a fresh clone with unchanged dependencies reuses it
# and only re-links the editable install of `lib` (seconds). Changing a dependency makes a
# new environment; an interrupted build is detected and rebuilt from scratch.
set -euo pipefail
cd "$(dirname "$0")/.."
here=$(pwd -P)
python=${PYTHON:-python3}
root=${RIPR_VENV_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/ripr-venvs}
hash=$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
venv="$root/$hash"

if [ ! -f "$venv/.complete" ]; then
  echo "make env: building the environment in $venv (dependencies changed or first run)"
  rm -rf "$venv"
  mkdir -p "$root"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip "setuptools>=68" wheel
  "$venv/bin/python" -m pip install -q -c constraints.txt -e ".[dev]"
  "$venv/bin/python" -m nbstripout --version >/dev/null
  touch "$venv/.complete"
  # Keep this environment and the most recent other one; older ones are 5+ GB each.
  (cd "$root" && ls -1t | { grep -vx "$hash" || true; } | tail -n +2 | xargs -r rm -rf)
fi

ln -sfn "$venv" .venv

# The environment may be shared by several clones: make `lib` resolve to this one.
where=$("$venv/bin/python" -c 'import lib, pathlib; print(pathlib.Path(lib.__file__).resolve().parent.parent)' 2>/dev/null || true)
if [ "$where" != "$here" ]; then
  "$venv/bin/python" -m pip install -q --no-deps --no-build-isolation -e .
fi
echo "make env: ready ($venv, torch $("$venv/bin/python" -c 'import torch; print(torch.__version__)'))"
