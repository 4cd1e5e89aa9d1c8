"""``python -m benchmarks``: every figure of ``make bench``.

The full sync end to end through Dagster and in process, the peer baseline, the converter, and search.
"""

import argparse
import sys

from benchmarks import full_sync


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and run the full-sync bench, then the converter and search benches."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--pages", type=int, nargs="+", default=[4000], help="corpus sizes to sync (e.g. --pages 4000 40000)"
    )
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--profile", choices=("real", "synthetic"), default="real", help="sandbox page bodies (default: real-size)"
    )
    parser.add_argument(
        "--rate-limit", type=float, default=10.0, help="the sandbox server's rate limit, requests/s (0: none)"
    )
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the peer baseline (its time grows with --pages)"
    )
    parser.add_argument("--no-convert", action="store_true", help="skip the converter benchmark")
    parser.add_argument("--no-search", action="store_true", help="skip the search benchmark (100k chunks)")
    parser.add_argument("--no-freshness", action="store_true", help="skip the edit-to-search latency (daemon)")
    return full_sync.main(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
