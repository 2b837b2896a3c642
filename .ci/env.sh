# Sourced by .ci/run: creates (once) and activates a virtual environment cached outside the clone,
# keyed by the hash of the dependency file, so an unchanged pyproject.toml costs no reinstall.
set -euo pipefail
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_key="$(sha256sum "$_root/pyproject.toml" | cut -c1-16)"
export PYRATOK_CACHE="${PYRATOK_CACHE:-$HOME/.cache/pyratok}"
_venv="$PYRATOK_CACHE/venv-$_key"
if [ ! -f "$_venv/.complete" ]; then
  echo "[ci] building environment $_venv (pyproject.toml changed or first run)"
  rm -rf "$_venv"
  python3 -m venv "$_venv"
  "$_venv/bin/pip" install -q --upgrade pip setuptools wheel
  # Dependencies only (the project itself is installed from the clone by the README command).
  "$_venv/bin/python" - "$_root/pyproject.toml" > "$_venv/requirements.txt" <<'PY'
import sys, tomllib
p = tomllib.load(open(sys.argv[1], "rb"))["project"]
deps = list(p["dependencies"]) + [d for ds in p.get("optional-dependencies", {}).values() for d in ds]
print("\n".join(deps))
PY
  "$_venv/bin/pip" install -q -r "$_venv/requirements.txt"
  touch "$_venv/.complete"
fi
# shellcheck disable=SC1091
source "$_venv/bin/activate"
