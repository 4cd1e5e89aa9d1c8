"""The wheel carries the product (code and SQL migrations) and nothing beside it: no sandbox, benchmarks or tests."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def _uv() -> list[str]:
    # The Makefile runs uv as `python3 -m uv` (a pyenv shim named uv may belong to another Python).
    for candidate in ([sys.executable, "-m", "uv"], ["python3", "-m", "uv"], ["uv"]):
        try:
            found = subprocess.run([*candidate, "--version"], capture_output=True, check=False, timeout=60)
        except OSError:
            continue
        if found.returncode == 0:
            return candidate
    pytest.fail("uv not found: install it with `python3 -m pip install uv` (make bootstrap does)")


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    out = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [*_uv(), "build", "--wheel", "--out-dir", str(out), str(REPO_ROOT)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    [wheel] = out.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_the_wheel_holds_only_the_product(wheel_names: set[str]) -> None:
    tops = {name.split("/")[0] for name in wheel_names}
    assert "confluence_pipeline" in tops
    assert not tops & {"confluence_sandbox", "benchmarks", "confluence_pipeline_tests"}, sorted(tops)
    assert all(top == "confluence_pipeline" or top.endswith(".dist-info") for top in tops), sorted(tops)


def test_the_wheel_holds_every_module_and_migration(wheel_names: set[str]) -> None:
    package = REPO_ROOT / "confluence_pipeline"
    sources = {
        path.relative_to(REPO_ROOT).as_posix()
        for pattern in ("*.py", "*.sql")
        for path in package.rglob(pattern)
        if "__pycache__" not in path.parts
    }
    assert "confluence_pipeline/store/migrations/0001_initial.sql" in sources
    assert sources - wheel_names == set()
