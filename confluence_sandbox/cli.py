"""``sandbox serve``: run the local Confluence in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from datetime import date, datetime
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo

from confluence_sandbox.corpus import generate_corpus
from confluence_sandbox.plays import PLAY_TIMEZONE
from confluence_sandbox.server import DEFAULT_EMAIL, DEFAULT_TOKEN, SandboxServer


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``sandbox`` command (with its ``serve`` subcommand) to a CLI.

    Args:
        subparsers: The object returned by ``ArgumentParser.add_subparsers()``.

    Returns:
        The ``sandbox`` parser. Each leaf parser sets ``func`` (called with the parsed namespace, returns an exit
        code).
    """
    sandbox = subparsers.add_parser("sandbox", help="Run the local Confluence sandbox.")
    commands = sandbox.add_subparsers(dest="sandbox_command", metavar="COMMAND")
    commands.required = True
    _add_serve(commands)
    return sandbox


def _add_serve(commands: Any) -> argparse.ArgumentParser:
    serve = commands.add_parser(
        "serve",
        help="Serve a generated corpus over the Confluence REST API (foreground; Ctrl-C stops it).",
        description="Serve a deterministic generated Confluence corpus on 127.0.0.1. The REST API answers at the "
        "base URL it prints (and at the root); the admin API at /_sandbox/.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="Interface to bind (default: 127.0.0.1).")
    serve.add_argument("--port", type=int, default=8090, help="Port to bind; 0 picks a free one (default: 8090).")
    serve.add_argument("--pages", type=int, default=500, help="Total number of pages (default: 500).")
    serve.add_argument("--seed", type=int, default=42, help="Corpus seed (default: 42).")
    serve.add_argument(
        "--flavor", choices=("cloud", "dc"), default="cloud", help="Confluence flavour (default: cloud)."
    )
    serve.add_argument("--timezone", default="UTC", help="The site's time zone for CQL dates (default: UTC).")
    serve.add_argument("--email", default=DEFAULT_EMAIL, help=f"Basic-auth email (default: {DEFAULT_EMAIL}).")
    serve.add_argument("--token", default=DEFAULT_TOKEN, help=f"API token / PAT (default: {DEFAULT_TOKEN}).")
    serve.add_argument(
        "--context-path",
        default=None,
        help="Context path (Cloud: /wiki; Data Center: none unless given, e.g. /confluence).",
    )
    serve.add_argument("--no-fixtures", action="store_true", help="Leave out the bundled real pages (space QM).")
    serve.add_argument("--no-plays", action="store_true", help="Leave out the Play tracking space (PLAY).")
    serve.add_argument(
        "--plays-as-of",
        type=date.fromisoformat,
        default=None,
        help="Day the Play pages are current to, YYYY-MM-DD (default: today in Asia/Seoul).",
    )
    serve.add_argument(
        "--profile",
        choices=("synthetic", "real"),
        default="synthetic",
        help="Page bodies: synthetic (generated, ~4 KB) or real (built from the real pages, ~16 KB; spaces ENG, "
        "OPS, DATA, HR only). Default: synthetic.",
    )
    serve.add_argument("--log-requests", action="store_true", help="Print one line per request to stderr.")
    serve.set_defaults(func=serve_command)
    return serve


def serve_command(args: argparse.Namespace) -> int:
    """Run ``sandbox serve`` with parsed arguments until interrupted.

    Args:
        args: The namespace built by the parser from :func:`register`.

    Returns:
        The exit code.
    """
    started = time.perf_counter()
    corpus = generate_corpus(
        args.pages,
        args.seed,
        flavor=args.flavor,
        include_fixtures=not args.no_fixtures,
        timezone=args.timezone,
        include_plays=not args.no_plays,
        plays_as_of=args.plays_as_of or datetime.now(ZoneInfo(PLAY_TIMEZONE)).date(),
        profile=args.profile,
    )
    server = SandboxServer(
        corpus,
        host=args.host,
        port=args.port,
        flavor=args.flavor,
        context_path=args.context_path,
        email=args.email,
        token=args.token,
        timezone=args.timezone,
        log_requests=args.log_requests,
    )
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server.start()
    summary = corpus.summary()
    spaces = ", ".join(f"{s['key']} ({sum(s['pages'].values())})" for s in summary["spaces"])
    auth = "Basic email + API token, or Bearer PAT" if args.flavor == "cloud" else "Bearer PAT, or Basic"
    print(
        f"Confluence sandbox ({args.flavor}) ready in {time.perf_counter() - started:.1f}s\n"
        f"  CONFLUENCE_BASE_URL={server.base_url}\n"
        f"  CONFLUENCE_EMAIL={args.email}\n"
        f"  CONFLUENCE_API_TOKEN={args.token}   (auth: {auth}; the token is a test value)\n"
        f"  admin API: {server.admin_url}/  (stats, faults, clock, pages)\n"
        f"  pages: {summary['pages']} in {spaces}; seed {args.seed}; time zone {args.timezone}\n"
        "Press Ctrl-C to stop.",
        flush=True,
    )
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        print("Confluence sandbox stopped.", file=sys.stderr, flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m confluence_sandbox``.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit code.
    """
    parser = argparse.ArgumentParser(prog="python -m confluence_sandbox", description=__doc__)
    commands = parser.add_subparsers(dest="sandbox_command", metavar="COMMAND")
    commands.required = True
    _add_serve(commands)
    args = parser.parse_args(argv)
    return int(args.func(args))
