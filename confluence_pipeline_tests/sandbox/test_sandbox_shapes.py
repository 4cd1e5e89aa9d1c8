"""Response shapes against real Confluence Cloud responses, through atlassian-python-api where it is involved."""

from __future__ import annotations

import re
import socket
from urllib.parse import urlencode

import pytest
import requests
from atlassian.errors import ApiError, ApiNotFoundError

from confluence_sandbox.server import SandboxServer

ISO_MS_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
FULL = "body.storage,version,history,ancestors,space,metadata.labels,children.attachment,children.page"


def keys(obj: dict) -> set[str]:
    return set(obj)


def test_fixture_page_matches_the_real_response(cloud_ro: SandboxServer, fixture_yaml, fixture_page_id: str) -> None:
    page_id = fixture_page_id
    real = fixture_yaml(page_id, "page.v1.yaml")
    ours = cloud_ro.client().get_page_by_id(page_id, expand="body.storage,ancestors")
    assert keys(ours) == keys(real)
    assert keys(ours["_links"]) == keys(real["_links"])
    assert keys(ours["_expandable"]) == keys(real["_expandable"])
    assert keys(ours["body"]["storage"]) == keys(real["body"]["storage"])
    assert ours["body"]["storage"]["representation"] == "storage"
    assert keys(ours["extensions"]) == keys(real["extensions"])
    for ours_anc, real_anc in zip(ours["ancestors"], real["ancestors"], strict=True):
        assert keys(ours_anc) == keys(real_anc)
        assert keys(ours_anc["_links"]) == keys(real_anc["_links"])
        assert keys(ours_anc["_expandable"]) == keys(real_anc["_expandable"])
        assert (ours_anc["id"], ours_anc["title"]) == (real_anc["id"], real_anc["title"])
        assert ours_anc["_links"]["tinyui"] == real_anc["_links"]["tinyui"]
        assert ours_anc["_links"]["webui"] == real_anc["_links"]["webui"]
    # Same page, same links: the web link slug and the tiny link follow Confluence's rules.
    for name in ("webui", "tinyui", "editui", "edituiv2"):
        assert ours["_links"][name] == real["_links"][name]
    assert ours["_links"]["context"] == "/wiki"
    assert ours["_links"]["base"] == cloud_ro.base_url
    assert ours["_links"]["self"] == f"{cloud_ro.base_url}/rest/api/content/{page_id}"
    assert (ours["id"], ours["title"], ours["type"]) == (real["id"], real["title"], real["type"])
    # The real body, unchanged (later sandbox versions only append revision notes).
    assert ours["body"]["storage"]["value"].startswith(real["body"]["storage"]["value"])


def test_attachments_and_ancestors_endpoints_match(cloud_ro: SandboxServer, fixture_yaml, fixture_page_id: str) -> None:
    page_id = fixture_page_id
    conf = cloud_ro.client()
    real = fixture_yaml(page_id, "attachments.v1.yaml")
    ours = conf.get(f"rest/api/content/{page_id}/child/attachment")
    assert keys(ours) == keys(real)
    assert keys(ours["_links"]) == keys(real["_links"])
    assert (ours["start"], ours["limit"], ours["size"]) == (real["start"], real["limit"], real["size"])
    for o, r in zip(ours["results"], real["results"], strict=True):
        assert keys(o) == keys(r)
        assert keys(o["extensions"]) == keys(r["extensions"])
        assert keys(o["_links"]) == keys(r["_links"])
        assert keys(o["_expandable"]) == keys(r["_expandable"])
        assert (o["id"], o["title"], o["extensions"]["fileSize"]) == (r["id"], r["title"], r["extensions"]["fileSize"])
        assert o["_links"]["download"] == r["_links"]["download"]
        assert o["_links"]["webui"] == r["_links"]["webui"]
    real_anc = fixture_yaml(page_id, "ancestors.v1.yaml")
    page = conf.get_page_by_id(page_id, expand="ancestors")
    assert [a["id"] for a in page["ancestors"]] == [a["id"] for a in real_anc["results"]]


def test_generated_page_with_every_expansion(cloud_ro: SandboxServer, fixture_yaml) -> None:
    conf = cloud_ro.client()
    page = next(p for p in cloud_ro.corpus.pages(space_key="OPS") if p.topic >= 0 and p.status == "current")
    got = conf.get_page_by_id(str(page.id), expand=FULL)
    real = fixture_yaml("544113141", "page.v1.yaml")
    assert {"id", "type", "status", "title", "_links", "_expandable", "extensions"} <= keys(got)
    assert keys(got["ancestors"][0]) == keys(real["ancestors"][0])
    assert got["space"]["key"] == "OPS" and {"id", "key", "name", "type", "status", "_links"} <= keys(got["space"])
    version = got["version"]
    assert keys(version) == {
        "by", "when", "friendlyWhen", "message", "number", "minorEdit", "contentTypeModified", "_expandable", "_links",
    }  # fmt: skip
    assert ISO_MS_Z.match(version["when"]) and version["number"] == page.version
    assert {"accountId", "publicName", "displayName", "accountType"} <= keys(version["by"])
    history = got["history"]
    assert keys(history) == {"latest", "createdBy", "ownedBy", "createdDate", "_expandable", "_links"}
    assert history["latest"] is True and ISO_MS_Z.match(history["createdDate"])
    labels = got["metadata"]["labels"]
    assert keys(labels) == {"results", "start", "limit", "size", "_links"}
    assert [lbl["name"] for lbl in labels["results"]] == list(page.labels)
    assert all(
        keys(lbl) == {"prefix", "name", "id", "label"} and lbl["prefix"] == "global" for lbl in labels["results"]
    )
    children = got["children"]
    assert {"attachment", "page", "_expandable", "_links"} <= keys(children)
    att_keys = keys(fixture_yaml("544113141", "attachments.v1.yaml")["results"][0])
    assert all(keys(a) == att_keys for a in children["attachment"]["results"])
    assert [a["id"] for a in got["ancestors"]][-1] == str(page.parent_id)
    assert got["body"]["storage"]["value"] == cloud_ro.corpus.body(page)
    assert conf.get(f"rest/api/content/{page.id}/label")["results"] == labels["results"]
    hist = conf.history(str(page.id))
    assert hist["lastUpdated"]["number"] == page.version and hist["createdBy"]["accountId"]
    kids = conf.get(f"rest/api/content/{page.parent_id}/child/page", params={"limit": 200})
    assert str(page.id) in [k["id"] for k in kids["results"]]


def test_spaces_through_the_client(cloud_ro: SandboxServer) -> None:
    conf = cloud_ro.client()
    spaces = conf.get_all_spaces(limit=50, expand="description.plain,homepage")
    by_key = {s["key"]: s for s in spaces["results"]}
    assert {"ENG", "OPS", "DATA", "HR", "QM", "~alice", "LEGACY"} == set(by_key)
    assert by_key["DATA"]["name"] == "데이터 팀"
    assert by_key["~alice"]["type"] == "personal" and by_key["LEGACY"]["status"] == "archived"
    assert by_key["QM"]["homepage"]["id"] == "576585864"
    assert by_key["ENG"]["description"]["plain"]["value"]
    personal = conf.get_all_spaces(space_type="personal")
    assert [s["key"] for s in personal["results"]] == ["~alice"]
    archived = conf.get_all_spaces(space_status="archived")
    assert [s["key"] for s in archived["results"]] == ["LEGACY"]
    filtered = conf.get("rest/api/space", params=[("spaceKey", "ENG"), ("spaceKey", "HR")])
    assert sorted(s["key"] for s in filtered["results"]) == ["ENG", "HR"]
    eng = conf.get_space("ENG")
    assert eng["key"] == "ENG" and eng["homepage"]["title"] == "Engineering Home"
    assert eng["_links"]["webui"] == "/spaces/ENG" and eng["_links"]["base"] == cloud_ro.base_url
    with pytest.raises(ApiError):
        conf.get_space("NOPE")
    raw = cloud_ro.session().get(cloud_ro.base_url + "/rest/api/space/NOPE")
    assert raw.status_code == 404 and raw.json()["statusCode"] == 404 and "NOPE" in raw.json()["message"]


def test_cql_through_the_client_wraps_results(cloud_ro: SandboxServer) -> None:
    conf = cloud_ro.client()
    res = conf.cql('space = "QM" AND type = page ORDER BY id', limit=5, expand="content.version,content.body.storage")
    assert {"results", "start", "limit", "size", "totalSize", "cqlQuery", "searchDuration", "_links"} <= keys(res)
    assert res["size"] == 5 and res["totalSize"] == 28 and res["cqlQuery"].startswith('space = "QM"')
    first = res["results"][0]
    assert {"content", "title", "excerpt", "url", "lastModified", "friendlyLastModified", "entityType"} <= keys(first)
    assert first["entityType"] == "content" and first["content"]["title"] == first["title"]
    assert first["content"]["version"]["number"] >= 1 and "storage" in first["content"]["body"]
    assert first["url"] == first["content"]["_links"]["webui"]
    assert res["_links"]["next"].startswith("/rest/api/search?next=true&cursor=")
    plain = conf.cql('space = "QM"', limit=3)
    assert "version" not in plain["results"][0]["content"]
    assert plain["results"][0]["excerpt"]
    archived_space = conf.cql("space = LEGACY")
    assert archived_space["totalSize"] == 0  # /rest/api/search leaves out archived spaces by default
    assert conf.cql("space = LEGACY", include_archived_spaces=True)["totalSize"] > 0
    with pytest.raises(ApiError):
        conf.cql("text ~ banana")


def test_content_endpoints_status_and_404(cloud_ro: SandboxServer, make_server) -> None:
    server = make_server(pages=80)
    conf = server.client()
    page = next(p for p in server.corpus.pages(space_key="ENG") if p.topic >= 0 and p.status == "current")
    server.set_status(page.id, "archived")
    assert conf.get_page_by_id(str(page.id))["status"] == "archived"
    server.set_status(page.id, "trashed")
    with pytest.raises(ApiError):
        conf.get_page_by_id(str(page.id))
    assert conf.get_page_by_id(str(page.id), status="trashed")["status"] == "trashed"
    assert conf.get_page_by_id(str(page.id), status="any")["status"] == "trashed"
    server.delete_page(page.id)
    with pytest.raises(ApiError):
        conf.get_page_by_id(str(page.id), status="any")
    with pytest.raises(ApiError):
        conf.get_page_by_id("not-a-number")
    by_title = conf.get("rest/api/content", params={"spaceKey": "QM", "title": "audit log export", "expand": "version"})
    assert [r["id"] for r in by_title["results"]] == ["544379140"]


def test_users_cloud_and_dc(cloud_ro: SandboxServer, dc_ro: SandboxServer) -> None:
    cloud = cloud_ro.client()
    alice = cloud_ro.corpus.find_user("alice")
    assert alice is not None
    got = cloud.get_user_details_by_accountid(alice.account_id)
    assert got["accountId"] == alice.account_id and got["displayName"] == "Alice Kim" and "username" not in got
    assert {"publicName", "accountType", "profilePicture"} <= keys(got)
    me = cloud.get("rest/api/user/current")
    assert me["timeZone"] == "Asia/Seoul" and me["email"] == cloud_ro.email
    with pytest.raises(ApiNotFoundError):
        cloud.get_user_details_by_accountid("712020:nobody")
    dc = dc_ro.client()
    by_name = dc.get_user_details_by_username("alice")
    assert by_name["userKey"] == alice.user_key and "accountId" not in by_name
    assert dc.get_user_details_by_userkey(alice.user_key)["username"] == "alice"
    assert "timeZone" not in dc.get("rest/api/user/current")


def test_bulk_user_lookup_on_cloud_only(cloud_ro: SandboxServer, dc_ro: SandboxServer) -> None:
    alice, bob = cloud_ro.corpus.find_user("alice"), cloud_ro.corpus.find_user("bob")
    assert alice is not None and bob is not None
    ids = [alice.account_id, "712020:nobody", bob.account_id]
    got = cloud_ro.client().get("rest/api/user/bulk?" + urlencode([("accountId", ref) for ref in ids]))
    # Ids of no user are left out; the others come back as single lookups render them.
    assert [u["accountId"] for u in got["results"]] == [alice.account_id, bob.account_id]
    assert got["results"][0]["displayName"] == "Alice Kim" and got["size"] == 2
    with pytest.raises(requests.HTTPError, match="accountId is required"):
        cloud_ro.client().get("rest/api/user/bulk")
    with pytest.raises(requests.HTTPError, match="null for uri"):
        dc_ro.client().get("rest/api/user/bulk?" + urlencode({"accountId": ids[0]}))  # no such resource on DC


def test_dc_shapes_and_context_path(dc_ro: SandboxServer) -> None:
    assert dc_ro.base_url.endswith("/confluence")
    dc = dc_ro.client()
    page = next(p for p in dc_ro.corpus.pages(space_key="ENG") if p.topic >= 0 and p.status == "current")
    got = dc.get_page_by_id(str(page.id), expand="version,history,children.attachment,body.storage")
    assert "ari" not in got and "macroRenderedOutput" not in got
    assert keys(got["_links"]) == {"webui", "edit", "tinyui", "self", "context", "collection", "base"}
    assert got["_links"]["context"] == "/confluence" and got["_links"]["base"] == dc_ro.base_url
    assert {"username", "userKey"} <= keys(got["version"]["by"]) and "accountId" not in got["version"]["by"]
    assert "ri:userkey=" in got["body"]["storage"]["value"] or "ri:user" not in got["body"]["storage"]["value"]
    for att in got["children"]["attachment"]["results"]:
        assert att["_links"]["download"].endswith("&api=v2") and "cacheVersion" not in att["_links"]["download"]
    # The REST API answers at the root too.
    root = dc_ro.session().get(dc_ro.root_url + f"/rest/api/content/{page.id}")
    assert root.status_code == 200 and root.json()["id"] == str(page.id)


def test_download_and_keep_alive_with_nodelay(cloud_ro: SandboxServer) -> None:
    session = cloud_ro.session()
    page = cloud_ro.corpus.page(544113141)
    assert page is not None
    att = cloud_ro.corpus.attachments(page)[0]
    got = session.get(cloud_ro.base_url + att.download)
    assert got.status_code == 200 and got.headers["Content-Type"] == "image/png"
    assert len(got.content) == att.file_size and got.content.startswith(b"\x89PNG")
    for _ in range(3):
        r = session.get(cloud_ro.base_url + "/rest/api/space/ENG")
        assert r.headers["Connection"] == "keep-alive" and int(r.headers["Content-Length"]) == len(r.content)
    with cloud_ro._httpd._conn_lock:
        conns = list(cloud_ro._httpd._connections)
    assert conns and all(c.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for c in conns)


def test_writes_through_the_client_follow_version_rules(make_server) -> None:
    server = make_server(pages=60)
    conf = server.client()
    parent = server.corpus.space_home("HR")
    assert parent is not None
    created = conf.create_page("HR", "Play DB", "<p>empty</p>", parent_id=str(parent.id))
    pid = created["id"]
    assert created["version"]["number"] == 1 and created["ancestors"][-1]["id"] == str(parent.id)
    updated = conf.update_page(pid, "Play DB", "<table><tbody><tr><td>1</td></tr></tbody></table>")
    assert updated["version"]["number"] == 2
    assert conf.get_page_by_id(pid, expand="body.storage")["body"]["storage"]["value"].startswith("<table>")
    stale = server.session().put(
        f"{server.base_url}/rest/api/content/{pid}",
        json={"id": pid, "type": "page", "title": "Play DB", "version": {"number": 2}, "body": {}},
    )
    assert stale.status_code == 409 and "Version must be incremented" in stale.json()["message"]
    assert server.search_ids('space = HR AND title = "Play DB"') == [int(pid)]
