"""What a deletion reconciliation relies on: counts, statuses by id, and the faults that break a listing."""

from __future__ import annotations

import pytest
import requests

from confluence_sandbox.server import SandboxServer


def admin(server: SandboxServer, method: str, path: str, json: object | None = None) -> requests.Response:
    return requests.request(method, f"{server.admin_url}/{path.lstrip('/')}", json=json, timeout=10)


@pytest.fixture(params=["cloud", "dc"])
def server(request: pytest.FixtureRequest, make_server) -> SandboxServer:
    """A writable sandbox of each flavour."""
    return make_server(pages=120, flavor=request.param, include_fixtures=False)


def _search(server: SandboxServer, endpoint: str, **params: object) -> requests.Response:
    return server.session().get(f"{server.base_url}/rest/api/{endpoint}", params=params, timeout=10)


def test_total_size_counts_current_pages_only_and_only_on_the_wrapped_endpoint(server: SandboxServer) -> None:
    pages = server.corpus.pages(space_key="OPS", statuses=["current"])
    archived, trashed, purged = (str(p.id) for p in pages[:3])
    server.set_status(archived, "archived")
    server.set_status(trashed, "trashed")
    server.delete_page(purged)
    cql = 'space = "OPS" AND type = page'
    wrapped = _search(server, "search", cql=cql, limit=1000).json()
    assert wrapped["totalSize"] == len(pages) - 3 == wrapped["size"]
    listed = {r["content"]["id"] for r in wrapped["results"]}
    assert listed.isdisjoint({archived, trashed, purged})
    with_archived = _search(server, "search", cql=cql + " AND status IN (current, archived)").json()
    assert with_archived["totalSize"] == len(pages) - 2  # archived only when the query asks; trashed never
    plain = _search(server, "content/search", cql=cql, limit=1000).json()
    assert "totalSize" not in plain and {r["id"] for r in plain["results"]} == listed


def test_content_by_id_tells_archived_trashed_and_purged_apart(server: SandboxServer) -> None:
    archived, trashed, purged = (str(p.id) for p in server.corpus.pages(space_key="ENG", statuses=["current"])[:3])
    server.set_status(archived, "archived")
    server.set_status(trashed, "trashed")
    server.delete_page(purged)

    def status(page_id: str, wanted: str | None) -> object:
        params = {"expand": "space"} | ({"status": wanted} if wanted else {})
        response = server.session().get(f"{server.base_url}/rest/api/content/{page_id}", params=params, timeout=10)
        return response.json()["status"] if response.ok else response.status_code

    assert [status(archived, "any"), status(trashed, "any"), status(purged, "any")] == ["archived", "trashed", 404]
    assert status(trashed, None) == 404 and status(trashed, "trashed") == "trashed"
    assert status(archived, "current") == 404


def test_wrapped_search_caps_without_and_with_expansions(server: SandboxServer) -> None:
    ids_only = _search(server, "search", cql="type = page", limit=5000).json()
    versions = _search(server, "search", cql="type = page", limit=5000, expand="content.version").json()
    if server.flavor == "dc":
        assert (ids_only["limit"], versions["limit"]) == (1000, 200)
    else:
        assert ids_only["limit"] == versions["limit"] == 250
    assert all("version" in r["content"] for r in versions["results"])
    assert not any("version" in r["content"] for r in ids_only["results"])


def test_fail_endpoint_breaks_a_listing_half_way_until_turned_off(server: SandboxServer) -> None:
    settings = admin(server, "POST", "faults", {"fail_endpoint": "GET /rest/api/search", "fail_endpoint_after": 2})
    assert settings.json()["fail_endpoint"] == "GET /rest/api/search"
    codes = [_search(server, "search", cql="type = page", limit=5).status_code for _ in range(4)]
    assert codes == [200, 200, 500, 500]
    assert _search(server, "content/search", cql="type = page").status_code == 200  # other endpoints unaffected
    assert server.stats()["faults"]["injected_error"] == 2
    server.set_faults(fail_endpoint_after=1)  # setting it again restarts the count
    assert [_search(server, "search", cql="type = page").status_code for _ in range(2)] == [200, 500]
    admin(server, "POST", "faults/reset")
    assert _search(server, "search", cql="type = page").status_code == 200
    assert admin(server, "POST", "faults", {"fail_endpoint": "/rest/api/search"}).status_code == 400


def test_end_cursor_after_drops_the_next_link(server: SandboxServer) -> None:
    server.set_faults(end_cursor_after=10)
    first = _search(server, "search", cql="space = OPS", limit=5).json()
    assert "next" in first["_links"]
    second = server.session().get(server.base_url + first["_links"]["next"], timeout=10).json()
    assert second["size"] == 5 and "next" not in second["_links"] and second["totalSize"] > 10
    assert admin(server, "POST", "faults", {"end_cursor_after": 0}).json()["end_cursor_after"] is None


def test_hidden_spaces_answer_as_if_they_did_not_exist(server: SandboxServer) -> None:
    page = str(server.corpus.pages(space_key="OPS", statuses=["current"])[0].id)
    server.set_faults(hidden_spaces=["OPS"])
    listing = _search(server, "search", cql='space = "OPS" AND type = page').json()
    assert listing["totalSize"] == 0 and listing["results"] == []
    everywhere = _search(server, "search", cql="type = page", includeArchivedSpaces="true").json()
    assert everywhere["totalSize"] == len(
        [p for p in server.corpus.pages(statuses=["current"]) if p.space_key != "OPS"]
    )
    session = server.session()
    assert session.get(f"{server.base_url}/rest/api/content/{page}", params={"status": "any"}).status_code == 404
    assert session.get(f"{server.base_url}/rest/api/space/OPS").status_code == 404
    spaces = session.get(f"{server.base_url}/rest/api/space", params={"limit": 100}).json()
    assert "OPS" not in {s["key"] for s in spaces["results"]}
    assert admin(server, "POST", "faults", {"hidden_spaces": "OPS"}).status_code == 400
    server.reset_faults()
    assert session.get(f"{server.base_url}/rest/api/space/OPS").status_code == 200


def test_unindexed_pages_are_missing_from_search_but_served_by_id(server: SandboxServer) -> None:
    page = server.corpus.pages(space_key="OPS", statuses=["current"])[0]
    before = _search(server, "search", cql='space = "OPS" AND type = page').json()["totalSize"]
    server.set_faults(unindexed_page_ids=[str(page.id)])
    listing = _search(server, "search", cql='space = "OPS" AND type = page').json()
    assert listing["totalSize"] == before - 1
    assert str(page.id) not in {r["content"]["id"] for r in listing["results"]}
    direct = server.session().get(f"{server.base_url}/rest/api/content/{page.id}", timeout=10)
    assert direct.json()["status"] == "current"
    assert admin(server, "POST", "faults", {"unindexed_page_ids": ["x"]}).status_code == 400
