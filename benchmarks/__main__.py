"""``python -m benchmarks``: every figure of ``make bench`` (full sync, converter, search)."""

import argparse
import sys

from benchmarks import full_sync


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and run the full-sync bench, then the converter and search benches."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--pages", type=int, nargs="+", default=[4000, 40000], help="corpus sizes to sync")
    parser.add_argument("--seed", type=int, default=11)
    return full_sync.main(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
