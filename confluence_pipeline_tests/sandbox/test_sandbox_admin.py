"""Authentication, the admin API (over HTTP), faults, clock and statistics."""

from __future__ import annotations

import base64
import time
from collections import Counter
from email.utils import parsedate_to_datetime

import pytest
import requests
from atlassian import Confluence
from requests import HTTPError

from confluence_sandbox.server import SandboxServer, is_loopback_client


def admin(server: SandboxServer, method: str, path: str, json: object | None = None) -> requests.Response:
    return requests.request(method, f"{server.admin_url}/{path.lstrip('/')}", json=json, timeout=10)


def test_basic_and_bearer_auth(make_server) -> None:
    cloud = make_server(pages=40, include_fixtures=False)
    url = cloud.base_url + "/rest/api/space/ENG"
    assert requests.get(url, auth=(cloud.email, cloud.token), timeout=5).status_code == 200
    bearer = requests.get(url, headers={"Authorization": f"Bearer {cloud.token}"}, timeout=5)
    assert bearer.status_code == 200
    for bad in (
        requests.get(url, auth=(cloud.email, "wrong"), timeout=5),
        requests.get(url, auth=("someone@example.com", cloud.token), timeout=5),
        requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=5),
        requests.get(url, headers={"Authorization": "Basic !!!"}, timeout=5),
        requests.get(url, timeout=5),
    ):
        assert bad.status_code == 401
        assert bad.headers["Content-Type"] == "application/json;charset=UTF-8"
        assert bad.headers["WWW-Authenticate"].startswith("Basic")
        assert bad.json()["statusCode"] == 401 and bad.json()["message"]
    wrong = Confluence(url=cloud.base_url, username=cloud.email, password="not-the-token")
    with pytest.raises(HTTPError) as err:
        wrong.get_space("ENG")
    assert err.value.response.status_code == 401
    assert admin(cloud, "GET", "stats").status_code == 200  # the admin API needs no credentials
    dc = make_server(pages=40, include_fixtures=False, flavor="dc", token="pat-123", email="me@example.com")
    dc_conf = Confluence(url=dc.base_url, token="pat-123")
    assert dc_conf.get_space("ENG")["key"] == "ENG"
    denied = requests.get(dc.base_url + "/rest/api/space/ENG", headers={"Authorization": "Bearer x"}, timeout=5)
    assert denied.status_code == 401 and denied.headers["X-Seraph-LoginReason"] == "AUTHENTICATED_FAILED"
    basic = base64.b64encode(b"sandbox:pat-123").decode()
    ok = requests.get(dc.base_url + "/rest/api/space/ENG", headers={"Authorization": f"Basic {basic}"}, timeout=5)
    assert ok.status_code == 200


def test_admin_page_lifecycle_over_http(make_server) -> None:
    server = make_server(pages=120, timezone="Asia/Seoul")
    conf = server.client()
    assert admin(server, "POST", "clock", {"now": "2026-02-01T10:00:00Z"}).json() == {
        "now": "2026-02-01T10:00:00.000Z",
        "frozen": True,
    }
    created = admin(
        server, "POST", "pages", {"space": "ENG", "title": "새 페이지 Sandbox", "body": "<p>hello</p>", "labels": ["x"]}
    )
    assert created.status_code == 200
    page = created.json()
    pid = page["id"]
    assert page["version"]["number"] == 1 and page["version"]["when"] == "2026-02-01T10:00:00.000Z"
    assert page["body"]["storage"]["value"] == "<p>hello</p>"
    assert page["ancestors"][-1]["id"] == str(server.corpus.spaces["ENG"].homepage_id)
    assert admin(server, "POST", "pages", {"space": "ENG", "title": "새 페이지 sandbox"}).status_code == 400
    assert admin(server, "POST", "pages", {"space": "NOPE", "title": "x"}).status_code == 404
    assert admin(server, "POST", "pages", {"title": "x"}).status_code == 400

    admin(server, "POST", "clock", {"advance_s": 90})
    edited = admin(server, "POST", f"pages/{pid}/edit", {"title": "Renamed", "body": "<p>v2</p>", "message": "m"})
    assert edited.json()["version"]["number"] == 2
    assert edited.json()["version"]["when"] == "2026-02-01T10:01:30.000Z"
    assert conf.get_page_by_id(pid, expand="body.storage,version")["title"] == "Renamed"
    assert pid in [str(i) for i in server.search_ids('lastmodified >= "2026-02-01 19:01"')]  # Seoul time

    target = server.corpus.pages(space_key="OPS")[2]
    moved = admin(server, "POST", f"pages/{pid}/move", {"parent_id": str(target.id)}).json()
    assert moved["space"]["key"] == "OPS" and moved["ancestors"][-1]["id"] == str(target.id)
    assert moved["version"]["number"] == 2  # a move is not an edit
    bumped = admin(server, "POST", f"pages/{pid}/move", {"space": "HR", "bump_version": True}).json()
    assert bumped["space"]["key"] == "HR" and bumped["version"]["number"] == 3

    archived = admin(server, "POST", f"pages/{pid}/status", {"status": "archived"}).json()
    assert archived["status"] == "archived"
    assert int(pid) not in server.search_ids("space = HR")
    assert admin(server, "POST", f"pages/{pid}/status", {"status": "gone"}).status_code == 400
    admin(server, "POST", f"pages/{pid}/status", {"status": "trashed"})
    assert (
        requests.get(f"{server.base_url}/rest/api/content/{pid}", auth=(server.email, server.token)).status_code == 404
    )
    listing = admin(server, "GET", "pages?space=HR&status=any").json()
    assert pid in [p["id"] for p in listing["results"]]
    record = admin(server, "GET", f"pages/{pid}").json()
    assert record["status"] == "trashed" and record["version"] == 3
    assert admin(server, "DELETE", f"pages/{pid}").json() == {"deleted": [pid]}
    assert admin(server, "GET", f"pages/{pid}").status_code == 404
    assert admin(server, "DELETE", f"pages/{pid}").status_code == 404
    info = admin(server, "GET", "info").json()
    assert info["base_url"] == server.base_url and info["timezone"] == "Asia/Seoul"
    kw = admin(server, "GET", f"pages/{server.corpus.query_candidates()[0].page_id}").json()["keywords"]
    assert kw["code"] and kw["queries"]


def test_python_api_matches_admin_api(make_server) -> None:
    server = make_server(pages=60, include_fixtures=False)
    server.set_clock("2026-03-01T00:00:00+09:00")
    page = server.create_page("OPS", "Python API page", body="<p>a</p>")
    assert page["version"]["when"] == "2026-02-28T15:00:00.000Z"
    server.set_clock(advance_s=30)
    assert server.edit_page(page["id"], body="<p>b</p>")["version"]["when"] == "2026-02-28T15:00:30.000Z"
    server.set_clock(frozen=False)
    assert server.clock.frozen is False and server.now_ms() >= 1772290830000
    with pytest.raises(ValueError, match="offset"):
        server.set_clock("2026-03-01T00:00:00")
    assert admin(server, "POST", "clock", {"now": "2026-03-01T00:00:00"}).status_code == 400
    assert admin(server, "POST", "clock", {"when": "x"}).status_code == 400


def test_stats_count_by_endpoint_and_status(make_server) -> None:
    server = make_server(pages=60)
    session = server.session()
    server.reset_stats()
    session.get(server.base_url + "/rest/api/content/search", params={"cql": "type = page"})
    session.get(server.base_url + "/rest/api/content/544113141")
    session.get(server.base_url + "/rest/api/content/1")
    session.get(server.root_url + "/rest/api/space")  # the root answers too; counted under the same endpoint
    requests.get(server.base_url + "/rest/api/space", timeout=5)
    session.get(server.base_url + "/rest/api/nothing-here")
    admin(server, "GET", "faults")  # the admin API is never counted
    stats = admin(server, "GET", "stats").json()
    assert stats["total"] == 6
    assert stats["by_endpoint"] == {
        "GET (unmatched)": 1,
        "GET /rest/api/content/search": 1,
        "GET /rest/api/content/{id}": 2,
        "GET /rest/api/space": 2,
    }
    assert stats["by_status"] == {"200": 3, "401": 1, "404": 2}
    assert stats["by_endpoint_status"]["GET /rest/api/content/{id}"] == {"200": 1, "404": 1}
    assert admin(server, "POST", "stats/reset").json()["total"] == 0


def test_rate_limit_with_retry_after_seconds_and_http_date(make_server) -> None:
    server = make_server(pages=40, include_fixtures=False)
    session = server.session()
    url = server.base_url + "/rest/api/space/ENG"
    got = admin(server, "POST", "faults", {"rate_limit_rps": 2, "retry_after_s": 7})
    assert got.json()["rate_limit_rps"] == 2
    statuses = [session.get(url) for _ in range(6)]
    limited = [r for r in statuses if r.status_code == 429]
    assert len(limited) >= 3 and statuses[0].status_code == 200
    r = limited[0]
    assert r.headers["Retry-After"] == "7"
    assert r.headers["X-RateLimit-Limit"] == "2" and r.headers["X-RateLimit-Remaining"] == "0"
    assert "X-RateLimit-Reset" in r.headers and r.headers["RateLimit-Reason"]
    assert r.json()["statusCode"] == 429
    server.set_faults(retry_after_http_date=True, retry_after_s=30)
    for _ in range(4):
        r = session.get(url)
    assert r.status_code == 429
    when = parsedate_to_datetime(r.headers["Retry-After"])
    assert 20 <= when.timestamp() - time.time() <= 40
    stats = server.stats()
    assert stats["faults"]["rate_limited"] >= 4 and stats["by_status"]["429"] >= 4
    assert admin(server, "GET", "stats").status_code == 200  # admin is never throttled
    server.set_faults(rate_limit_rps=None)
    assert all(session.get(url).status_code == 200 for _ in range(10))


def test_dc_can_throttle_with_403(make_server) -> None:
    cloud = make_server(pages=20, include_fixtures=False)
    assert admin(cloud, "POST", "faults", {"throttle_status": 403}).status_code == 400
    dc = make_server(pages=20, include_fixtures=False, flavor="dc")
    dc.set_faults(rate_limit_rps=1, throttle_status=403, retry_after_s=0)
    session = dc.session()
    codes = [session.get(dc.base_url + "/rest/api/space").status_code for _ in range(4)]
    assert 403 in codes
    r = session.get(dc.base_url + "/rest/api/space")
    assert r.status_code == 403 and r.headers["Retry-After"] == "0" and "X-RateLimit-FillRate" in r.headers


def test_error_rate_latency_and_turning_faults_off(make_server) -> None:
    server = make_server(pages=40, include_fixtures=False)
    session = server.session()
    url = server.base_url + "/rest/api/space/OPS"
    server.set_faults(error_rate=0.5, seed=3)
    codes = Counter(session.get(url).status_code for _ in range(120))
    assert 35 <= sum(v for k, v in codes.items() if k >= 500) <= 85
    assert set(codes) <= {200, 500, 502, 503, 504} and len(codes) >= 4
    server.set_faults(error_rate=0.5, seed=3)
    again = Counter(session.get(url).status_code for _ in range(120))
    assert again == codes  # seeded: the same sequence
    html = next(r for r in (session.get(url) for _ in range(50)) if r.status_code in (502, 503, 504))
    assert html.headers["Content-Type"] == "text/html"
    assert admin(server, "POST", "faults", {"error_rate": 1.0}).status_code == 200
    assert admin(server, "GET", "info").status_code == 200  # faults never touch /_sandbox
    admin(server, "POST", "faults", {"error_rate": 0, "latency_ms": 150})
    started = time.perf_counter()
    assert session.get(url).status_code == 200
    assert time.perf_counter() - started >= 0.15
    assert admin(server, "POST", "faults", {"latency_ms": 0}).json()["latency_ms"] == 0
    assert admin(server, "POST", "faults", {"bogus": 1}).status_code == 400
    assert admin(server, "POST", "faults", {"error_rate": 2}).status_code == 400
    assert admin(server, "POST", "faults/reset").json()["error_rate"] == 0


def test_fail_page_ids_break_only_responses_with_that_body(make_server) -> None:
    server = make_server(pages=100)
    conf = server.client()
    session = server.session()
    cql = "space = QM ORDER BY id"
    bad = server.search_ids(cql)[3]
    admin(server, "POST", "faults", {"fail_page_ids": [str(bad)]})
    search = server.base_url + "/rest/api/content/search"
    assert session.get(search, params={"cql": cql, "expand": "body.storage"}).status_code == 500
    assert session.get(search, params={"cql": cql, "expand": "version"}).status_code == 200
    assert session.get(search, params={"cql": cql, "expand": "body.storage", "limit": 3}).status_code == 200
    assert session.get(search, params={"cql": cql, "expand": "body.storage", "limit": 1, "start": 3}).status_code == 500
    wrapped = server.base_url + "/rest/api/search"
    assert session.get(wrapped, params={"cql": cql, "expand": "content.body.storage"}).status_code == 500
    with pytest.raises(HTTPError):
        conf.get_page_by_id(str(bad), expand="body.storage")
    assert conf.get_page_by_id(str(bad), expand="version")["id"] == str(bad)
    assert server.stats()["faults"]["page_body_failure"] == 4
    server.set_faults(fail_page_ids=[])
    assert conf.get_page_by_id(str(bad), expand="body.storage")["body"]["storage"]["value"]


def test_admin_api_is_loopback_only_and_validates(make_server) -> None:
    server = make_server(pages=20, include_fixtures=False)
    assert admin(server, "POST", "pages", None).status_code == 400
    assert admin(server, "GET", "nothing").status_code == 404
    bad_json = requests.post(server.admin_url + "/pages", data=b"{not json", timeout=5)
    assert bad_json.status_code == 400 and "JSON" in bad_json.json()["error"]
    assert is_loopback_client("127.0.0.1") and is_loopback_client("::1") and is_loopback_client("::ffff:127.0.0.1")
    assert not is_loopback_client("10.1.2.3") and not is_loopback_client("192.168.0.7") and not is_loopback_client("x")
