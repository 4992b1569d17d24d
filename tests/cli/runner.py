"""Run the CLI in this process (Typer's runner), as a subprocess would: its own environment (no
VISITORHUB_ setting but the given ones), settings read afresh, stdout and stderr apart, the exit code.

Only what needs a real process (serve, signals, kill -9, several workers) spawns one."""

from __future__ import annotations

import os
from contextlib import chdir, nullcontext
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from visitorhub.cli import app
from visitorhub.config import get_settings


@dataclass(frozen=True)
class Completed:
    """The parts of subprocess.CompletedProcess the tests read."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str | Path, url: str | None = None, cwd: Path | None = None, **env: str) -> Completed:
    environment: dict[str, str | None] = {k: None for k in os.environ if k.startswith("VISITORHUB_")}
    environment.update({"NO_COLOR": "1", **env})
    if url is not None:
        environment["VISITORHUB_DATABASE_URL"] = url
    get_settings.cache_clear()
    try:
        with chdir(cwd) if cwd is not None else nullcontext():
            result = CliRunner().invoke(app, [str(arg) for arg in args], env=environment)
    finally:
        get_settings.cache_clear()
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Completed(result.exit_code, result.stdout, result.stderr)


def run_cli_process(*args: str | Path, url: str | None = None, **env: str) -> Completed:
    """The console script as a real process: for what only a process has (a terminal's settings, read
    when its consoles are made; signals; start-up)."""
    import subprocess
    import sys

    environment = {k: v for k, v in os.environ.items() if not k.startswith("VISITORHUB_")}
    environment.update({"NO_COLOR": "1", "PYTHONUNBUFFERED": "1", **env})
    if url is not None:
        environment["VISITORHUB_DATABASE_URL"] = url
    done = subprocess.run(
        [sys.executable, "-m", "visitorhub", *map(str, args)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )
    return Completed(done.returncode, done.stdout, done.stderr)
