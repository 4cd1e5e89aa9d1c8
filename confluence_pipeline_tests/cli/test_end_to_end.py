"""What the issue ran, end to end through the CLI: Cloud under /wiki, throttled with HTTP-date Retry-After.

A full sync; then edits in the watermark's minute and seven minutes back, new pages, and three archived, three
trashed and three purged pages; then ``materialize --all`` and ``reconcile --all``. Afterwards the store's current
pages and versions are the sandbox's, and search finds the new pages and none of the gone ones.
"""

from __future__ import annotations

import json
from datetime import timedelta

import psycopg
import pytest

from confluence_pipeline.cli import main

SPACES = ("ENG", "OPS")
# Pages that go, per space, with their fate and a word of their own, so that search can be asked for each.
GONE = {
    "ENG": (("archived", "zebracorn"), ("archived", "quokkaflux"), ("trashed", "marmotwave"), ("purged", "lynxpetal"),
            ("purged", "ibexmoss")),
    "OPS": (("archived", "tapirglow"), ("trashed", "okapiriff"), ("trashed", "dingofern"), ("purged", "walrusjade")),
}  # fmt: skip


def _current(server, space: str) -> list[str]:
    return sorted((str(p.id) for p in server.corpus.pages(space_key=space, statuses=["current"])), key=int)


def _sandbox_versions(server) -> dict[str, int]:
    return {str(p.id): p.version for key in SPACES for p in server.corpus.pages(space_key=key, statuses=["current"])}


def _stored_versions(db_url: str) -> dict[str, int]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT page_id, version_number FROM pages WHERE status = 'current' AND space_key = ANY(%s)",
            (list(SPACES),),
        ).fetchall()
    return dict(rows)


def _found(capsys: pytest.CaptureFixture[str], word: str) -> list[str]:
    capsys.readouterr()
    assert main(["search", word, "--json", "-k", "5"]) == 0
    return [hit["page_id"] for hit in json.loads(capsys.readouterr().out)]


def _page(word: str) -> str:
    return f"<p>The {word} procedure is documented here.</p>"


@pytest.mark.timeout(900)
def test_after_materialize_all_and_reconcile_all_the_store_is_confluence(
    cli_env: None, make_sandbox, use_sandbox, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    server = make_sandbox(pages=120, flavor="cloud")
    assert server.base_url.endswith("/wiki")
    # Both spaces at once, in processes of their own, sharing the client's rate limit.
    use_sandbox(
        server,
        CONFLUENCE_SPACES=",".join(SPACES),
        CONFLUENCE_RATE_LIMIT_RPS="20",
        CONFLUENCE_BACKOFF_MAX_S="2",
        PIPELINE_SPACE_PROCESSES="2",
    )
    # 10 requests a second; beyond that Confluence answers 429 with Retry-After as an HTTP date.
    server.set_faults(rate_limit_rps=10, rate_limit_burst=2, retry_after_s=1, retry_after_http_date=True)

    doomed: dict[str, tuple[str, str]] = {}
    for key, fates in GONE.items():
        for page_id, (fate, word) in zip(_current(server, key)[-len(fates) :], fates, strict=True):
            server.edit_page(page_id, body=_page(word))
            doomed[word] = (page_id, fate)

    assert main(["materialize", "--all"]) == 0
    assert _stored_versions(db_url) == _sandbox_versions(server)
    for word, (page_id, _) in doomed.items():
        assert _found(capsys, word)[:1] == [page_id]

    with psycopg.connect(db_url) as conn:
        watermark = conn.execute("SELECT watermark FROM spaces WHERE space_key = 'ENG'").fetchone()[0]
    changed: dict[str, str] = {}
    eng, ops = _current(server, "ENG"), _current(server, "OPS")
    server.set_clock(now=watermark.isoformat(), frozen=True)
    for word, page_id in (("narwhalspire", eng[0]), ("pelicanvault", ops[0])):
        server.edit_page(page_id, body=_page(word))  # in the watermark's own minute
        changed[word] = page_id
    server.set_clock(now=(watermark - timedelta(minutes=7)).isoformat(), frozen=True)
    for word, page_id in (("geckoprism", eng[1]), ("bisonlantern", ops[1])):
        server.edit_page(page_id, body=_page(word))  # seven minutes before it
        changed[word] = page_id
    server.set_clock(now=(watermark + timedelta(minutes=3)).isoformat(), frozen=True)
    for word, key in (("otterquartz", "ENG"), ("falconmesa", "OPS")):
        changed[word] = str(server.create_page(key, f"New {word}", body=_page(word))["id"])
    for page_id, fate in doomed.values():
        if fate == "purged":
            server.delete_page(page_id)
        else:
            server.set_status(page_id, fate)

    assert main(["materialize", "--all"]) == 0
    # The change listing cannot see pages that left: only the reconciliation can.
    assert set(_stored_versions(db_url)) > set(_sandbox_versions(server))
    assert main(["reconcile", "--all"]) == 0
    out = capsys.readouterr().out
    assert "ENG: run" in out and "5 removed" in out and "OPS: run" in out and "4 removed" in out

    assert _stored_versions(db_url) == _sandbox_versions(server)
    for word, page_id in changed.items():
        assert _found(capsys, word)[:1] == [page_id], word
    for word, (page_id, _) in doomed.items():
        assert page_id not in _found(capsys, word), word
    with psycopg.connect(db_url) as conn:
        fates = dict(conn.execute("SELECT page_id, status FROM pages WHERE deleted_at IS NOT NULL").fetchall())
    assert fates == {page_id: "deleted" if fate == "purged" else fate for page_id, fate in doomed.values()}
    assert server.stats()["by_status"].get("429", 0) > 0  # throttled all along, and waited out
