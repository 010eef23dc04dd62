#!/usr/bin/env bash
# Create (or reuse) the project's shared environment and give this clone its own .venv on it.
#
# The dependencies live outside the clone, keyed by a hash of pyproject.toml and
# constraints.txt (as CI caches do), so a fresh clone with unchanged dependencies reuses them.
# Changing a dependency makes a new environment; an interrupted build is detected and rebuilt
# from scratch. The shared environment holds the dependencies only, never the project itself.
#
# Each clone gets a thin .venv of its own (a few kB, seconds to make): a venv on the same
# interpreter whose site-packages holds one .pth file that puts THIS clone's root on sys.path
# first, then adds the shared environment's site-packages. Its bin/ has the shared console
# scripts (jupyter, pytest, ruff, ...) re-pointed at .venv/bin/python, and share/ and etc/
# link to the shared ones (JupyterLab's assets, widget extensions, kernel specs). So two
# clones that share one environment each import their own `lib`, whichever ran last.
#
# Every failure ends with one line "make env: FAILED ..." naming the step and the command (and,
# for an install, pip's own error line, which names the package); the full output is kept in
# the log file that line names.
#
# Settings: PYTHON (interpreter to build with, default python3), RIPR_VENV_ROOT (where the
# shared environments live, default ~/.cache/ripr-venvs).
set -Eeuo pipefail
trap 'rc=$?; echo "make env: FAILED at scripts/env.sh line $LINENO (exit $rc): $BASH_COMMAND" >&2; exit $rc' ERR
cd "$(dirname "$0")/.."
here=$(pwd -P)
python=${PYTHON:-python3}
root=${RIPR_VENV_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/ripr-venvs}
hash=$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
venv="$root/$hash"
log=$(mktemp "${TMPDIR:-/tmp}/ripr-env.XXXXXX")

# step WHAT COMMAND...: run COMMAND with its output in $log; on failure print one line naming
# WHAT, the command and the last error line of its output, and stop.
step() {
  local what=$1
  shift
  echo "== $what: $*" >>"$log"
  local rc=0
  "$@" >>"$log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    local why
    why=$(grep -E '^(ERROR|error|Error|[A-Za-z]*Error):' "$log" | tail -n 1 || true)
    [ -n "$why" ] || why=$(grep -v '^[[:space:]]*$' "$log" | grep -v '^== ' | tail -n 1 || true)
    trap - ERR
    echo "make env: FAILED $what (exit $rc: $*): ${why:-no output}; full log: $log" >&2
    exit "$rc"
  fi
}

if [ ! -f "$venv/.complete" ]; then
  echo "make env: building the environment in $venv (dependencies changed or first run; log: $log)"
  rm -rf "$venv"
  mkdir -p "$root"
  step "creating the shared environment with $python" "$python" -m venv "$venv"
  step "upgrading pip" "$venv/bin/python" -m pip install -q --upgrade pip "setuptools>=68" wheel
  # The project's dependencies, through the project's own metadata; the project itself is
  # then removed again, so the shared environment never decides which clone `lib` is.
  step "installing the dependencies" \
    "$venv/bin/python" -m pip install -q -c constraints.txt -e ".[dev]"
  step "removing the project from the shared environment" \
    "$venv/bin/python" -m pip uninstall -q -y resolution-invariant-reid
  step "checking nbstripout" "$venv/bin/python" -m nbstripout --version
  touch "$venv/.complete"
  # Keep this environment and the most recent other one; older ones are 5+ GB each.
  (cd "$root" && ls -1t | { grep -vx "$hash" || true; } | tail -n +2 | xargs -r rm -rf)
elif "$venv/bin/python" -m pip show -q resolution-invariant-reid >/dev/null 2>&1; then
  # an environment made before clones had their own .venv: it holds an editable install
  # that maps `lib` to whichever clone made it last
  step "removing an old editable install from the shared environment" \
    "$venv/bin/python" -m pip uninstall -q -y resolution-invariant-reid
fi

# This clone's own .venv on the shared environment (see the top of this file).
if [ -L .venv ] || [ "$(cat .venv/ripr-shared 2>/dev/null || true)" != "$venv" ] ||
  [ ! -x .venv/bin/python ]; then
  [ ! -L .venv ] || rm .venv # an older layout linked .venv to the shared environment itself
  step "creating this clone's .venv" "$venv/bin/python" -m venv --clear --without-pip .venv
fi
step "linking .venv to the shared environment" "$venv/bin/python" - "$venv" "$here" <<'PY'
import os, stat, sys, sysconfig
from pathlib import Path

shared, clone = Path(sys.argv[1]), Path(sys.argv[2])
thin = clone / ".venv"
vars_ = {"base": str(thin), "platbase": str(thin)}
site = Path(sysconfig.get_path("purelib", vars=vars_))
shared_sites = dict.fromkeys(sysconfig.get_path(k) for k in ("purelib", "platlib"))
lines = [str(clone)] + [f"import site; site.addsitedir({p!r})" for p in shared_sites]
(site / "ripr-shared.pth").write_text("\n".join(lines) + "\n")
for name in ("share", "etc"):  # jupyter's data and config paths are under sys.prefix
    link, target = thin / name, shared / name
    if link.is_symlink() or link.exists():
        link.unlink()
    if target.is_dir():
        link.symlink_to(target)
old = str(shared / "bin" / "python").encode()
new = str(thin / "bin" / "python").encode()
for script in sorted((shared / "bin").iterdir()):
    name = script.name
    if name.startswith(("python", "activate", "Activate")) or not script.is_file():
        continue
    dest = thin / "bin" / name
    if dest.is_symlink() or dest.exists():
        dest.unlink()
    body = script.read_bytes()
    if body.startswith(b"#!") and old in body[:512]:  # a console script: run it on .venv
        dest.write_bytes(body.replace(old, new))
        dest.chmod(dest.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    else:  # a binary (ruff) or a script of its own: the shared file as it is
        dest.symlink_to(script)
(thin / "ripr-shared").write_text(str(shared) + "\n")
PY

# from another folder, so that the current directory on sys.path cannot make it pass
where=$(cd / && "$here/.venv/bin/python" -c 'import lib, pathlib; print(pathlib.Path(lib.__file__).resolve().parent.parent)' 2>>"$log" || true)
if [ "$where" != "$here" ]; then
  trap - ERR
  echo "make env: FAILED checking which lib .venv imports: ${where:-nothing} instead of $here; full log: $log" >&2
  exit 1
fi
version=$(.venv/bin/python -c 'import torch; print(torch.__version__)' 2>>"$log") ||
  step "importing torch from .venv" .venv/bin/python -c 'import torch'
rm -f "$log"
echo "make env: ready (.venv on $venv, torch $version, lib from $here)"
