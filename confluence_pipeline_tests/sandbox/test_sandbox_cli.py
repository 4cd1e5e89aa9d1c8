from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys

import requests

from confluence_sandbox.cli import register


def test_register_adds_sandbox_serve() -> None:
    parser = argparse.ArgumentParser(prog="confluence-pipeline")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["sandbox", "serve", "--port", "0", "--pages", "30", "--seed", "3", "--flavor", "dc", "--timezone",
         "Asia/Seoul", "--email", "a@b.c", "--token", "t", "--context-path", "/confluence"]
    )  # fmt: skip
    assert (args.command, args.sandbox_command, args.port, args.pages, args.seed) == ("sandbox", "serve", 0, 30, 3)
    assert (args.flavor, args.timezone, args.email, args.token, args.context_path) == (
        "dc", "Asia/Seoul", "a@b.c", "t", "/confluence",
    )  # fmt: skip
    assert callable(args.func)


def test_module_serves_in_the_foreground_and_stops_on_sigterm() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "confluence_sandbox", "serve", "--port", "0", "--pages", "40",
         "--flavor", "dc", "--context-path", "/confluence", "--token", "cli-token"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        base = next(line.split("=", 1)[1].strip() for line in lines if "CONFLUENCE_BASE_URL=" in line)
        assert base.startswith("http://127.0.0.1:") and base.endswith("/confluence")
        assert any("cli-token" in line for line in lines)
        got = requests.get(base + "/rest/api/space", headers={"Authorization": "Bearer cli-token"}, timeout=5)
        assert got.status_code == 200 and got.json()["size"] > 0
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
