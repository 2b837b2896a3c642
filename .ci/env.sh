# Sourced by .ci/run: creates (once) and activates a virtual environment cached outside the clone, keyed by the
# hash of the dependency list (pyproject's dependencies + the test extra), so an unchanged list costs no reinstall.
set -euo pipefail
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_reqs="$(python3 - "$_root/pyproject.toml" <<'PY'
import sys, tomllib
p = tomllib.load(open(sys.argv[1], "rb"))["project"]
print("\n".join(list(p["dependencies"]) + list(p.get("optional-dependencies", {}).get("test", []))))
PY
)"
_key="$(printf '%s\n' "$_reqs" | sha256sum | cut -c1-16)"
export PYRATOK_CACHE="${PYRATOK_CACHE:-$HOME/.cache/pyratok}"
_venv="$PYRATOK_CACHE/venv-$_key"
if [ ! -f "$_venv/.complete" ]; then
  echo "[ci] building environment $_venv (dependency list changed or first run)"
  rm -rf "$_venv"
  python3 -m venv "$_venv"
  "$_venv/bin/pip" install -q --upgrade pip setuptools wheel
  printf '%s\n' "$_reqs" > "$_venv/requirements.txt"
  # Dependencies only; the project itself is installed from the clone by the README command.
  "$_venv/bin/pip" install -q -r "$_venv/requirements.txt"
  touch "$_venv/.complete"
fi
# shellcheck disable=SC1091
source "$_venv/bin/activate"
