"""Pagination through ``_links.next`` exactly as the pipeline's client follows it (``confluence.get(next)``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from atlassian import Confluence

from confluence_sandbox.server import SandboxServer


def follow(conf: Confluence, path: str, params: dict[str, Any]) -> list[dict]:
    """Collect every page of a listing by following ``_links.next``; return the raw responses."""
    responses = [conf.get(path, params=params)]
    while (nxt := responses[-1]["_links"].get("next")) is not None:
        responses.append(conf.get(nxt))
        assert len(responses) < 500
    return responses


def next_params(response: dict) -> dict[str, list[str]]:
    return parse_qs(urlsplit(response["_links"]["next"]).query)


def test_cloud_cursor_paging_with_an_empty_last_page(make_server) -> None:
    server = make_server(pages=300)
    conf = server.client()
    expected = server.search_ids('space = "ENG" AND type = page')
    assert len(expected) > 40
    # Pad the space so that its current pages are an exact multiple of the page size.
    for i in range(-len(expected) % 20):
        server.create_page("ENG", f"Padding page {i}")
    expected = server.search_ids('space = "ENG" AND type = page')
    assert len(expected) % 20 == 0
    cql = 'space = "ENG" AND type = page'
    responses = follow(conf, "rest/api/content/search", {"cql": cql, "limit": 20, "expand": "version"})
    ids = [r["id"] for resp in responses for r in resp["results"]]
    assert ids == [str(i) for i in expected]
    assert [resp["size"] for resp in responses][-2:] == [20, 0]  # a next link on the last full page, then nothing
    assert "next" not in responses[-1]["_links"]
    for resp in responses[:-1]:
        link = resp["_links"]["next"]
        assert link.startswith("/rest/api/content/search?next=true&cursor=")  # relative to the /wiki context path
        params = next_params(resp)
        assert params["limit"] == ["20"] and params["cql"] == [cql] and params["expand"] == ["version"]
        assert resp["limit"] == 20
    assert responses[1]["_links"]["prev"].startswith("/rest/api/content/search?prev=true&cursor=")
    assert all(r["_links"]["base"] == server.base_url and r["_links"]["context"] == "/wiki" for r in responses)


def test_cloud_cursor_is_what_counts_and_start_still_works(make_server) -> None:
    server = make_server(pages=200)
    session = server.session()
    url = server.base_url + "/rest/api/content/search"
    cql = "space = OPS ORDER BY id"
    first = session.get(url, params={"cql": cql, "limit": 10}).json()
    cursor = next_params(first)["cursor"][0]
    by_cursor = session.get(url, params={"cql": cql, "limit": 10, "cursor": cursor, "start": 0}).json()
    by_start = session.get(url, params={"cql": cql, "limit": 10, "start": 10}).json()  # deprecated, still accepted
    assert [r["id"] for r in by_cursor["results"]] == [r["id"] for r in by_start["results"]]
    assert by_cursor["start"] == 10
    assert session.get(url, params={"cql": cql, "cursor": "garbage!"}).status_code == 400
    other = session.get(url, params={"cql": "space = ENG", "cursor": cursor})
    assert other.status_code == 400 and "cursor" in other.json()["message"]


def test_cloud_search_endpoint_pages_with_cursor(cloud_ro: SandboxServer) -> None:
    conf = cloud_ro.client()
    cql = "space = DATA ORDER BY lastmodified DESC"
    responses = follow(conf, "rest/api/search", {"cql": cql, "limit": 25, "expand": "content.version"})
    ids = [r["content"]["id"] for resp in responses for r in resp["results"]]
    assert ids == [str(i) for i in cloud_ro.search_ids(cql, include_archived_spaces=False)]
    assert all(resp["totalSize"] == len(ids) for resp in responses)
    assert all("version" in r["content"] for resp in responses for r in resp["results"])


def test_cloud_caps(cloud_ro: SandboxServer) -> None:
    session = cloud_ro.session()
    url = cloud_ro.base_url + "/rest/api/content/search"
    with_body = session.get(url, params={"cql": "type = page", "limit": 500, "expand": "body.storage"}).json()
    assert with_body["limit"] == 50 and with_body["size"] == 50
    assert next_params(with_body)["limit"] == ["50"]
    plain = session.get(url, params={"cql": "type = page", "limit": 1000}).json()
    assert plain["limit"] == 250 and plain["size"] == 250 and next_params(plain)["limit"] == ["250"]
    wrapped = session.get(
        cloud_ro.base_url + "/rest/api/search",
        params={"cql": "type = page", "limit": 400, "expand": "content.body.storage"},
    ).json()
    assert wrapped["limit"] == 50


@pytest.mark.parametrize(
    ("expand", "cap"),
    [("body.storage,version", 50), ("version,ancestors", 200), ("", 1000), ("children.page.body.storage", 50)],
)
def test_dc_caps_clamp_silently(make_server, expand: str, cap: int) -> None:
    server = make_server(pages=1200, flavor="dc")
    session = server.session()
    got = session.get(
        server.base_url + "/rest/api/content/search", params={"cql": "type = page", "limit": 5000, "expand": expand}
    )
    assert got.status_code == 200
    data = got.json()
    assert data["limit"] == cap and data["size"] == cap
    assert next_params(data)["limit"] == [str(cap)] and next_params(data)["start"] == [str(cap)]


def test_dc_offset_paging_follows_next(make_server) -> None:
    server = make_server(pages=400, flavor="dc", context_path="/confluence")
    conf = server.client()
    cql = 'space = "OPS" AND type = page'
    responses = follow(conf, "rest/api/content/search", {"cql": cql, "limit": 30, "expand": "version"})
    ids = [r["id"] for resp in responses for r in resp["results"]]
    assert ids == [str(i) for i in server.search_ids(cql)]
    for resp in responses[:-1]:
        link = resp["_links"]["next"]
        assert link.startswith("/rest/api/content/search?") and "cursor" not in link and "next=true" not in link
        assert next_params(resp)["start"] == [str(resp["start"] + 30)]
    assert all(r["_links"]["context"] == "/confluence" for r in responses)
    wrapped = follow(conf, "rest/api/search", {"cql": cql, "limit": 30})
    assert [r["content"]["id"] for resp in wrapped for r in resp["results"]] == ids


def test_spaces_children_and_attachments_page(cloud_ro: SandboxServer) -> None:
    conf = cloud_ro.client()
    spaces = follow(conf, "rest/api/space", {"limit": 2})
    assert [s["key"] for resp in spaces for s in resp["results"]] == [
        "~alice", "DATA", "ENG", "HR", "LEGACY", "OPS", "QM",
    ]  # fmt: skip
    assert spaces[0]["_links"]["next"].startswith("/rest/api/space?next=true")
    home = cloud_ro.corpus.space_home("ENG")
    assert home is not None
    kids = follow(conf, f"rest/api/content/{home.id}/child/page", {"limit": 3})
    assert [k["id"] for resp in kids for k in resp["results"]] == [str(c.id) for c in cloud_ro.corpus.children(home.id)]
    atts = follow(conf, "rest/api/content/1454342158/child/attachment", {"limit": 10})
    assert [len(r["results"]) for r in atts] == [10, 10, 7]


def test_invalid_paging_parameters_are_400(cloud_ro: SandboxServer) -> None:
    session = cloud_ro.session()
    url = cloud_ro.base_url + "/rest/api/content/search"
    assert session.get(url, params={"cql": "type = page", "limit": "ten"}).status_code == 400
    assert session.get(url, params={"cql": "type = page", "start": -5}).status_code == 400
    missing = session.get(url)
    assert missing.status_code == 400 and missing.json()["statusCode"] == 400
    bad = session.get(url, params={"cql": "spaec = ENG"})
    body = bad.json()
    assert bad.status_code == 400 and body["message"].startswith("Could not parse cql : spaec = ENG")
    assert "unsupported field 'spaec'" in body["message"] and body["data"]["errors"]
