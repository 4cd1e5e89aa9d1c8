"""The peer-loader baseline: what the best peer Confluence loader does, timed on the same corpus and sandbox.

LlamaIndex's Confluence reader lists a space's pages with their bodies through atlassian-python-api, 50 per
request, and converts each body to text; it stores nothing. This does the same with ``get_all_pages_from_space``
(which in atlassian-python-api 4.0.7 returns one batch per call, so the loop pages with ``start`` as the reader
does) and plain ``markdownify``, one space after another in one process. Its pages/s is the denominator of the
benchmark's ratio: ratios hold on a noisy machine, absolute figures do not.

``python -m benchmarks.baseline worker SPACE,…`` runs it with the ``CONFLUENCE_*`` variables of the environment
and prints one JSON line.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from benchmarks.harness import PeakMemory

PAGE_SIZE = 50


def run_baseline(base_url: str, email: str, token: str, spaces: list[str]) -> dict[str, Any]:
    """List every current page of ``spaces`` with its storage body and convert it with markdownify.

    Returns:
        pages, seconds, Markdown characters produced and the requests made.
    """
    from atlassian import Confluence
    from markdownify import markdownify

    # The client's own back-off on 429, as a peer loader relies on it.
    api = Confluence(url=base_url, username=email, password=token, cloud=True, backoff_and_retry=True)
    pages = requests = characters = 0
    started = time.monotonic()
    for space in spaces:
        start = 0
        while True:
            batch = api.get_all_pages_from_space(
                space, start=start, limit=PAGE_SIZE, status="current", expand="body.storage"
            )
            requests += 1
            for page in batch:
                characters += len(markdownify(page["body"]["storage"]["value"]))
            pages += len(batch)
            if len(batch) < PAGE_SIZE:
                break
            start += PAGE_SIZE
    return {"pages": pages, "seconds": time.monotonic() - started, "markdown_chars": characters, "requests": requests}


def worker_main(spaces: str) -> int:
    """Child process: run the baseline under the memory sampler and print JSON."""
    with PeakMemory() as memory:
        result = run_baseline(
            os.environ["CONFLUENCE_BASE_URL"],
            os.environ["CONFLUENCE_EMAIL"],
            os.environ["CONFLUENCE_API_TOKEN"],
            [s for s in spaces.split(",") if s],
        )
    result["peak_rss_mb"] = memory.peak_mb
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "worker":
        sys.exit(worker_main(sys.argv[2]))
    print("usage: python -m benchmarks.baseline worker SPACE,SPACE (or run `make bench`)", file=sys.stderr)
    sys.exit(2)
