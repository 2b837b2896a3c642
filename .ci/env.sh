# Sourced by .ci/run: creates (once) and activates a virtual environment cached outside the clone, keyed by the
# hash of the dependency list (pyproject's dependencies + the test extra), so an unchanged list costs no reinstall.
set -euo pipefail
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_reqs="$(python3 - "$_root/pyproject.toml" <<'PY'
import sys, tomllib
p = tomllib.load(open(sys.argv[1], "rb"))["project"]
print("\n".join(list(p["dependencies"]) + list(p.get("optional-dependencies", {}).get("test", []))))
print("# no-deps: mmaction2==1.2.0")
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
  grep -v '^#' "$_venv/requirements.txt" > "$_venv/requirements.deps.txt"
  "$_venv/bin/pip" install -q -r "$_venv/requirements.deps.txt"
  # mmaction2's evaluation functions cross-check our TAL/classification metrics; its full dependency set (mmcv,
  # OpenCV) does not install here, and the tests load only its numpy-only evaluation files
  "$_venv/bin/pip" install -q --no-deps mmaction2==1.2.0
  touch "$_venv/.complete"
fi
# shellcheck disable=SC1091
source "$_venv/bin/activate"
