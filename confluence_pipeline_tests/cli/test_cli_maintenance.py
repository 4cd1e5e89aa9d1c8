"""The maintenance commands on a real instance: spaces add/remove/list, reconcile, materialize --full, env."""

from __future__ import annotations

import subprocess
from pathlib import Path

import psycopg
import pytest
from dagster import DagsterInstance, RunsFilter

from confluence_pipeline import localstack
from confluence_pipeline.cli import main


def _stored(db_url: str, space: str) -> int:
    with psycopg.connect(db_url) as conn:
        return conn.execute("SELECT count(*) FROM pages WHERE space_key = %s", (space,)).fetchone()[0]


def _current(server, space: str) -> list[str]:
    return sorted((str(p.id) for p in server.corpus.pages(space_key=space, statuses=["current"])), key=int)


def test_spaces_are_added_removed_listed_and_purged_only_on_request(
    cli_env: None, make_sandbox, use_sandbox, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    server = make_sandbox(pages=40)
    use_sandbox(server, CONFLUENCE_RATE_LIMIT_RPS="1000")
    assert main(["spaces", "add", "ENG", "HR"]) == 0
    assert "ENG: " in capsys.readouterr().out
    assert main(["spaces", "add", "ENG", "NOPE"]) == 1
    assert "unknown space NOPE" in capsys.readouterr().err
    assert main(["materialize", "--space", "QM"]) == 1
    assert "unknown space QM: not a registered space" in capsys.readouterr().err

    assert main(["materialize", "--space", "ENG"]) == 0
    pages = _stored(db_url, "ENG")
    assert pages == len(_current(server, "ENG")) > 0
    capsys.readouterr()
    assert main(["spaces", "list"]) == 0
    listing = capsys.readouterr().out
    assert any(line.split()[:4] == ["ENG", "current", "weekly", str(pages)] for line in listing.splitlines())
    assert any(line.split()[:5] == ["HR", "current", "weekly", "0", "-"] for line in listing.splitlines())

    # Removing keeps the data; discovery does not bring the space back.
    assert main(["spaces", "remove", "ENG"]) == 0
    assert f"its {pages} stored page(s) stay stored" in capsys.readouterr().out
    assert _stored(db_url, "ENG") == pages
    assert main(["spaces"]) == 0
    discovered = capsys.readouterr().out.split()
    assert "ENG" not in discovered and "OPS" in discovered
    assert "ENG" not in DagsterInstance.get().get_dynamic_partitions("confluence_spaces")
    assert main(["spaces", "list"]) == 0
    assert any(line.split()[:2] == ["ENG", "removed"] for line in capsys.readouterr().out.splitlines())
    assert main(["reconcile", "--space", "ENG"]) == 1
    assert "unknown space ENG" in capsys.readouterr().err

    # Back, then out with its data.
    assert main(["spaces", "add", "ENG"]) == 0
    assert main(["spaces", "remove", "ENG", "--purge"]) == 0
    assert f"{pages} stored page(s) and their chunks deleted" in capsys.readouterr().out
    assert _stored(db_url, "ENG") == 0
    assert main(["spaces", "remove", "ENG"]) == 1
    assert "unknown space ENG" in capsys.readouterr().err


def test_reconcile_runs_through_the_instance_and_refuses_a_mass_deletion_without_force(
    cli_env: None, make_sandbox, use_sandbox, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    server = make_sandbox(pages=80)
    use_sandbox(server, CONFLUENCE_RATE_LIMIT_RPS="1000", CONFLUENCE_SPACES="OPS,HR")
    assert main(["materialize", "--all"]) == 0
    trashed = _current(server, "OPS")[0]
    server.set_status(trashed, "trashed")
    capsys.readouterr()
    assert main(["reconcile", "--space", "OPS"]) == 0
    out = capsys.readouterr().out
    assert "OPS: run " in out and f"1 removed ({trashed})" in out

    pages = _current(server, "OPS")
    for page_id in pages[: round(len(pages) * 0.3)]:
        server.set_status(page_id, "archived")
    assert main(["reconcile", "--all"]) == 1
    captured = capsys.readouterr()
    assert "HR: run" in captured.out and "OPS: run" in captured.err
    assert "Nothing was deleted" in captured.err and "--force" in captured.err
    assert main(["reconcile", "--all", "--force"]) == 0
    assert f"{round(len(pages) * 0.3)} removed" in capsys.readouterr().out

    instance = DagsterInstance.get()
    runs = instance.get_runs(RunsFilter(job_name="confluence_reconcile"))
    assert sorted((r.tags["dagster/partition"], r.status.value) for r in runs) == [
        ("HR", "SUCCESS"),
        ("HR", "SUCCESS"),
        ("OPS", "FAILURE"),
        ("OPS", "SUCCESS"),
        ("OPS", "SUCCESS"),
    ]
    assert main(["reconcile"]) == 2


def test_materialize_full_re_syncs_through_the_ingest_job(
    cli_env: None, make_sandbox, use_sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    server = make_sandbox(pages=40)
    use_sandbox(server, CONFLUENCE_RATE_LIMIT_RPS="1000")
    assert main(["spaces", "add", "ENG"]) == 0
    assert main(["materialize", "--space", "ENG"]) == 0
    server.reset_stats()
    assert main(["materialize", "--space", "ENG"]) == 0
    idle = server.stats()["total"]
    server.reset_stats()
    assert main(["materialize", "--space", "ENG", "--full"]) == 0
    assert "0 page(s) written" in capsys.readouterr().out
    # Everything was listed and fetched again, not just the listing an idle incremental run costs.
    assert server.stats()["total"] > idle
    [run, *_] = DagsterInstance.get().get_runs(RunsFilter(job_name="confluence_ingest"))
    assert run.run_config["ops"] == {"confluence_pages": {"config": {"full": True}}}


def _exports(text: str) -> dict[str, str]:
    import shlex

    found: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").partition("=")
            found[name] = shlex.split(value)[0]
    return found


def test_env_prints_the_stack_and_the_dev_sandbox_without_secrets(
    cli_env: None, make_sandbox, tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    server = make_sandbox(pages=40)
    home = tmp_path / "local"
    assert main(["env"]) == 0
    plain = _exports(capsys.readouterr().out)
    assert plain["DATABASE_URL"] == db_url and plain["DAGSTER_PG_URL"].startswith("postgresql+psycopg2://")
    assert Path(plain["DAGSTER_HOME"], "dagster.yaml").exists() and "CONFLUENCE_BASE_URL" not in plain

    localstack.write_sandbox_state(home, localstack.SandboxState.of(server))
    assert main(["env"]) == 0
    out = capsys.readouterr().out
    exports = _exports(out)
    assert exports["CONFLUENCE_BASE_URL"] == server.base_url and exports["CONFLUENCE_EMAIL"] == server.email
    assert server.token not in out and "CONFLUENCE_API_TOKEN" not in exports

    monkeypatch.setenv("DATABASE_URL", "postgresql://app:db-secret@db.example/confluence")
    monkeypatch.delenv("DAGSTER_PG_URL")
    assert main(["env"]) == 0
    out = capsys.readouterr().out
    assert "db-secret" not in out and "# DATABASE_URL holds a password: not printed" in out


def test_commands_beside_dev_use_its_sandbox_or_say_what_to_set(
    cli_env: None, make_sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "local"
    assert main(["spaces", "add", "ENG"]) == 1
    err = capsys.readouterr().err
    assert "CONFLUENCE_BASE_URL is not set, and no local sandbox from `make dev` is running" in err
    assert "start `make dev`" in err and "CONFLUENCE_API_TOKEN" in err

    # A record left by a `dev` that is gone is ignored, and removed.
    gone = subprocess.Popen(["true"])
    gone.wait()
    server = make_sandbox(pages=40)
    localstack.write_sandbox_state(home, localstack.SandboxState.of(server, pid=gone.pid))
    assert main(["spaces", "add", "ENG"]) == 1
    assert not localstack.sandbox_state_path(home).exists()
    capsys.readouterr()

    localstack.write_sandbox_state(home, localstack.SandboxState.of(server))
    assert localstack.sandbox_state_path(home).stat().st_mode & 0o777 == 0o600
    assert main(["spaces", "add", "ENG"]) == 0
    assert "ENG: " in capsys.readouterr().out
