"""``python -m benchmarks.site --results results --out results/site``: write the leaderboard site."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.site.build import write_site


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.site", description=__doc__)
    ap.add_argument("--results", type=Path, default=Path("results"), help="results folder of a run (default results)")
    ap.add_argument("--out", type=Path, default=None, help="where the site goes (default <results>/site)")
    args = ap.parse_args(argv)
    try:
        index = write_site(args.results, args.out or args.results / "site")
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"site written: {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
