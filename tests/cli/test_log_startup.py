"""What a plain `vcrdt log` process loads on its way to the first row (`bench/plain.py`, issue 10)."""

from __future__ import annotations

from tests.helpers.cli import CliRunner
from tests.helpers.startup import modules_loaded


def _main_loads(repo: CliRunner, watched: set[str], args: list[str], **env_vars: str) -> tuple[str, str]:
    """Run `vcrdt ARGS` through `vcrdt.cli.main` in `repo`; its output and which `watched` modules it loaded."""
    code, out, err, loaded = modules_loaded(repo.cwd, args, watched, entry="main", env=env_vars)
    assert code == 0, (args, err)
    return out, loaded


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


def test_the_everyday_commands_load_sqlites_c_module_alone_and_log_no_datetime(repo: CliRunner) -> None:
    """The store uses `_sqlite3` itself: the `sqlite3` package (its date adapters) and, for log, `datetime` stay out.

    The package's `sqlite3.dbapi2` imports `datetime`; the two cost a plain process about 6 M
    instructions of start-up, against a `log -n 1000` of about 100 M.
    """
    repo.write("a.txt", "one\n")
    repo.ok("commit", "-A", "-m", "first")
    repo.write("a.txt", "two\n")
    for args in (["status"], ["diff"], ["add", "a.txt"], ["commit", "-m", "second"], ["log", "-n", "5"]):
        _out, loaded = _main_loads(repo, {"sqlite3", "sqlite3.dbapi2"}, args, VCRDT_NO_SERVER="1")
        assert loaded == "", args
    for args in (["log"], ["log", "-n", "1000"], ["log", "--oneline"], ["log", "--graph"]):
        out, loaded = _main_loads(repo, {"datetime"}, args, VCRDT_NO_SERVER="1")
        assert out == repo.ok(*args).out
        assert loaded == "", args


def test_a_command_that_asks_no_server_loads_no_socket_module(repo: CliRunner) -> None:
    """`_socket` is the server client's: the stdio module it shares with main loads it only to send descriptors."""
    repo.write("a.txt", "one\n")
    repo.ok("commit", "-A", "-m", "first")
    for args in (["log", "-n", "5"], ["status"]):
        _out, loaded = _main_loads(repo, {"_socket", "socket"}, args, VCRDT_NO_SERVER="1")
        assert loaded == "", args
