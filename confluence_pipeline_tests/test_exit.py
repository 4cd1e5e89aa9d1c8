"""A process that imports the package skips the final garbage collection at exit, and nothing else of its cleanup."""

import subprocess
import sys
import textwrap
from pathlib import Path

_SCRIPT = textwrap.dedent(
    """
    import atexit, gc, sys, tempfile
    from pathlib import Path

    out = Path(sys.argv[1])
    frozen_at_start = gc.get_freeze_count()
    # Registered before the import, so it runs after the package's own handler.
    atexit.register(lambda: (out / "frozen").write_text(str(gc.get_freeze_count() > frozen_at_start)))

    import confluence_pipeline  # noqa: E402, F401

    kept = tempfile.TemporaryDirectory()  # removed by its weakref finalizer at exit
    (out / "tempdir").write_text(kept.name)
    atexit.register(lambda: (out / "atexit").write_text("ran"))
    sys.exit(3)
    """
)


def test_exit_freezes_the_heap_and_still_cleans_up(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-c", _SCRIPT, str(tmp_path)], capture_output=True, text=True, timeout=60)

    assert result.returncode == 3, result.stderr
    assert (tmp_path / "frozen").read_text() == "True"
    assert (tmp_path / "atexit").read_text() == "ran"
    assert not Path((tmp_path / "tempdir").read_text()).exists()
