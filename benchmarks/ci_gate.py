"""Alias of :mod:`benchmarks.tools.ci_gate` so that ``python -m benchmarks.ci_gate`` (used by ``.ci/run``) keeps
working; new code and docs use ``python -m benchmarks.tools.ci_gate``."""
import sys

from benchmarks.tools.ci_gate import *  # noqa: F401,F403
from benchmarks.tools.ci_gate import __all__, main  # noqa: F401

if __name__ == "__main__":
    sys.exit(main())
