"""``confluence-pipeline convert [FILE]``: show the Markdown a storage-format body is indexed as."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from typing import Any

from confluence_pipeline.convert.resolve import ReferenceResolver, ResolveLimits
from confluence_pipeline.convert.storage import ConvertContext, convert_storage

StoreOpener = Callable[[], AbstractContextManager[tuple[ReferenceResolver, ResolveLimits]]]


def register(subparsers: Any, open_store: StoreOpener | None = None) -> argparse.ArgumentParser:
    """Add the ``convert`` command to the top-level CLI.

    Args:
        subparsers: the object returned by ``ArgumentParser.add_subparsers()``.
        open_store: opens a resolver over the pipeline's database and its limits, for ``--from-store`` (the CLI
            passes one; this module cannot reach the store itself).

    Returns:
        The command's parser (its handler is set as the ``func`` default).
    """
    parser = subparsers.add_parser(
        "convert",
        help="convert Confluence storage format (file or stdin) to Markdown",
        description="Read a page body in Confluence storage format and print the Markdown the pipeline indexes.",
    )
    parser.add_argument("file", nargs="?", metavar="FILE", help="storage-format file ('-' or omitted: stdin)")
    parser.add_argument("--page-id", help="page id, for attachment URLs and warnings")
    parser.add_argument("--title", help="page title, for warnings")
    parser.add_argument("--space", help="space key of page links without one")
    parser.add_argument("--base-url", help="Confluence site URL for links, e.g. https://example.atlassian.net/wiki")
    parser.add_argument("--jira-url", help="Jira site URL for issue-key links")
    parser.add_argument(
        "--from-store",
        action="store_true",
        help="show what include, excerpt-include, children, pagetree, gallery and contentbylabel macros show, from "
        "the configured database (DATABASE_URL or the embedded one); without it they are links",
    )
    parser.set_defaults(func=run, open_store=open_store)
    return parser


def run(args: argparse.Namespace) -> int:
    """Convert the file (or stdin) and print the Markdown; warnings are logged (to stderr by default).

    Args:
        args: parsed arguments of the ``convert`` command.

    Returns:
        0 on success, 2 when the file cannot be read or ``--from-store`` has no store to open.
    """
    path = getattr(args, "file", None)
    try:
        if path in (None, "-"):
            storage = sys.stdin.read()
        else:
            with open(path, encoding="utf-8") as handle:
                storage = handle.read()
    except OSError as exc:
        print(f"convert: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    context = ConvertContext(
        page_id=getattr(args, "page_id", None),
        page_title=getattr(args, "title", None),
        space_key=getattr(args, "space", None),
        base_url=getattr(args, "base_url", None),
        jira_base_url=getattr(args, "jira_url", None),
    )
    opener: StoreOpener | None = getattr(args, "open_store", None)
    if getattr(args, "from_store", False) and opener is None:
        print("convert: --from-store needs the pipeline's command line (confluence-pipeline convert)", file=sys.stderr)
        return 2
    store = opener() if getattr(args, "from_store", False) and opener is not None else nullcontext(None)
    with store as found:
        if found is not None:
            resolver, limits = found
            context = replace(context, resolver=resolver, limits=limits)
        # The converter logs its warnings (loggers under confluence_pipeline.convert), so they are not printed again.
        sys.stdout.write(convert_storage(storage, context).markdown)
    return 0
