"""CLI: ``python -m benchmarks.synthetic --out DIR [--benchmarks all|NAMES] [--scale tiny|small|N] [--seed S]``."""
from __future__ import annotations

import argparse
import sys
import time

from benchmarks.synthetic.generate import DEFAULT_SEED, generate
from benchmarks.synthetic.writers import ALIASES, WRITERS


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.synthetic",
        description="Write synthetic datasets in each benchmark's official format (labelled synthetic).")
    p.add_argument("--out", required=True, help="output folder; each benchmark goes to OUT/<name>/")
    p.add_argument("--benchmarks", default="all",
                   help=f"'all' or comma-separated names: {', '.join(WRITERS)}; aliases: "
                        f"{', '.join(a for a in ALIASES if a != 'all')}")
    p.add_argument("--scale", default="tiny", help="tiny | small | N (small geometry, N clips per split)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--jobs", type=int, default=1, help="benchmarks written in parallel processes")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    try:
        generate(args.out, args.benchmarks, args.scale, args.seed, args.jobs)
    except (ValueError, FileExistsError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"[synthetic] done in {time.perf_counter() - t0:.1f}s -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
