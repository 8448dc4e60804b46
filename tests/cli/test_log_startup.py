"""What a plain `vcrdt log` process loads on its way to the first row (`bench/plain.py`, issue 10)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.helpers.cli import CliRunner

# The console script's entry point, reporting at exit which of the watched modules it loaded.
MAIN_SCRIPT = """
import atexit, sys
watched = set(sys.argv.pop(1).split(","))
atexit.register(lambda: sys.stderr.write("LOADED " + ",".join(sorted(set(sys.modules) & watched)) + "\\n"))
from vcrdt.cli import main
main()
"""


def _main_loads(repo: CliRunner, watched: set[str], args: list[str], **env_vars: str) -> tuple[str, str]:
    """Run `vcrdt ARGS` through `vcrdt.cli.main` in `repo`; its output and which `watched` modules it loaded."""
    env = {"NO_COLOR": "1", "PATH": "/usr/bin:/bin", **env_vars}
    env |= {k: v for k, v in os.environ.items() if k.startswith(("VCRDT_AUTHOR", "HOME", "XDG_"))}
    proc = subprocess.run(
        [sys.executable, "-c", MAIN_SCRIPT, ",".join(sorted(watched)), *args],
        cwd=repo.cwd,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, (args, proc.stderr)
    return proc.stdout, proc.stderr.rsplit("LOADED ", 1)[1].strip()


def test_no_server_wanted_loads_no_server_client(repo: CliRunner) -> None:
    """With VCRDT_NO_SERVER=1 no request is made and no server started: the client module stays unloaded."""
    repo.write("a.txt", "one\n")
    repo.ok("commit", "-A", "-m", "first")
    watched = {"vcrdt.daemon.client"}
    for args in (["log", "-n", "5"], ["log", "--oneline"], ["status"]):
        out, loaded = _main_loads(repo, watched, args, VCRDT_NO_SERVER="1")
        assert out == repo.ok(*args).out
        assert loaded == "", args


def test_log_loads_no_tree_diff_or_merge_module(repo: CliRunner) -> None:
    """The default, --oneline and --graph formats read the commit table: nothing that reads or writes trees loads."""
    repo.write("a.txt", "one\n")
    repo.ok("commit", "-A", "-m", "first")
    repo.write("a.txt", "two\n")
    repo.ok("commit", "-A", "-m", "second")
    watched = {"vcrdt.diff.tree", "vcrdt.merge", "vcrdt.merge.pending", "vcrdt.worktree"}
    for args in (["log"], ["log", "-n", "1"], ["log", "--oneline"], ["log", "--graph"], ["log", "HEAD~1..HEAD"]):
        out, loaded = _main_loads(repo, watched, args, VCRDT_NO_SERVER="1")
        assert out == repo.ok(*args).out
        assert loaded == "", args
