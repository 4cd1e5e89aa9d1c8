"""``confluence-pipeline``: the command line.

Commands: demo, dev, status, search, materialize, backfill, reconcile, spaces, env, validate, convert, db, plays,
events.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from confluence_pipeline.cli import ingest, maintenance, plays
from confluence_pipeline.cli.common import store_references
from confluence_pipeline.convert import cli as convert_cli


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests)."""
    parser = argparse.ArgumentParser(prog="confluence-pipeline", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO")
    sub = parser.add_subparsers(dest="command", required=True)
    ingest.register(sub)
    maintenance.register(sub)
    plays.register(sub)
    convert_cli.register(sub, store_references)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``confluence-pipeline``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from confluence_pipeline.confluence.errors import ConfluenceError
        from confluence_pipeline.store.db import DatabaseError

        if isinstance(exc, ConfluenceError | DatabaseError | ValueError | RuntimeError) and not args.verbose:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
