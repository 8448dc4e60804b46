"""The fast command-line reader agrees with typer: its table comes from the app, and it reads lines alike.

`vcrdt.cli.argv` reads a command line without importing click or typer, by a
table generated from the typer app. These tests keep it from drifting: the
committed table must be what the app generates, and on every command line
it accepts it must give the command the same arguments typer would (anything
else it must hand to typer).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers.cli import CliRunner
from tests.helpers.startup import modules_loaded
from vcrdt.cli import argv, argv_table
from vcrdt.cli.base import app


def test_table_is_current() -> None:
    from vcrdt.cli.app import command

    fresh = argv.generate(command())  # type: ignore[arg-type]
    current = Path(argv.TABLE_PATH).read_text()
    assert fresh == current, "run `python -m vcrdt.cli.argv` and commit vcrdt/cli/argv_table.py"


def _typer_reading(args: list[str]) -> list[tuple[str, dict[str, Any]]] | None:
    """What typer passes to the global callback and the command for `args`, or None if it refuses them."""
    import click
    import typer

    calls: list[tuple[str, dict[str, Any]]] = []

    def wrap(func: Any) -> Any:
        def record(**kwargs: Any) -> None:
            calls.append((f"{func.__module__}.{func.__qualname__}", kwargs))

        return record

    from vcrdt.cli.app import command

    command()  # every command module imported, so every command is registered
    cmd = typer.main.get_command(app.build(wrap=wrap))
    try:
        cmd.main(args=list(args), prog_name="vcrdt", standalone_mode=False)
    except (click.ClickException, click.exceptions.Exit):
        return None
    return calls


def _fast_reading(args: list[str]) -> list[tuple[str, dict[str, Any]]] | None:
    plan = argv.parse(list(args))
    if plan is None:
        return None
    return [("vcrdt.cli.base._global", plan.global_kwargs), (f"{plan.module}.{plan.function}", plan.kwargs)]


LINES = [
    ["status"],
    ["status", "-s"],
    ["status", "--short", "--json", "--ignored"],
    ["-C", "sub", "status"],
    ["-Csub", "-v", "--color", "never", "status"],
    ["--color=always", "status"],
    ["-v", "log", "-n", "1000"],
    ["log", "-n1000"],
    ["log", "--max-count=5", "main", "--", "--graph"],
    ["log", "-n", "x"],
    ["log", "--oneline", "--graph", "a", "b"],
    ["commit", "-m", "msg"],
    ["commit", "-mmsg", "-A", "a", "b"],
    ["commit", "-Am", "msg"],
    ["commit", "-m", "--json"],
    ["commit", "--message=", "--allow-empty"],
    ["commit", "-m=x"],
    ["commit", "-m"],
    ["commit", "--json=1", "-m", "x"],
    ["commit", "--mess", "x"],
    ["commit", "-m", "x", "-h"],
    ["commit", "-xm", "x"],
    ["diff", "-p", "a", "--path", "b", "-U0", "HEAD"],
    ["diff", "-U", "-3"],
    ["diff", "a", "b", "c"],
    ["diff", "--unified=+7", "--stat", "--name-only", "--exit-code"],
    ["switch", "-c", "topic"],
    ["switch"],
    ["switch", "a", "b"],
    ["switch", "--", "-c"],
    ["branch", "-d", "x"],
    ["branch", "-dD"],
    ["branch", "-m", "a", "b"],
    ["merge", "topic", "--no-ff", "-m", "m", "--on-conflict", "stop"],
    ["merge-file", "-p", "-L", "a", "-L", "b", "x", "y", "z"],
    ["merge-file", "x", "y"],
    ["merge-file", "--ours", "--theirs", "--ours", "-p", "x", "y", "z"],
    ["merge-file", "--union", "x", "y", "z", "--theirs"],
    ["merge-file", "--ours=1", "x", "y", "z"],
    ["merge-file", "-pq", "--theirs", "x", "y", "z"],
    ["init", "-b", "trunk", "dir"],
    ["init"],
    ["fetch", "../other"],
    ["add", "-", "x"],
    ["add"],
    ["rm", "--cached", "a"],
    ["show"],
    ["cat", "-t", "HEAD"],
    ["concurrent", "a", "b", "--check", "before"],
    ["config", "user.name", "A"],
    ["resolve", "--ours", "a"],
    ["restore", "-s", "HEAD", "a"],
    ["--version"],
    ["-V", "status"],
    ["-h"],
    ["status", "--help"],
    [],
    ["nosuch"],
    ["-", "status"],
    ["--", "status"],
    ["--color"],
    ["-C"],
    ["--bogus", "status"],
]


@pytest.mark.parametrize("args", LINES, ids=lambda a: " ".join(a) or "(none)")
def test_fast_reader_agrees_with_typer(args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    fast = _fast_reading(args)
    if fast is not None:
        assert fast == _typer_reading(args)


SERVE_LINES = [
    ["serve", "--stdio", "repo"],
    ["serve", "--stdio", "/srv/a b"],
    ["serve", "--stdio", "-"],
    ["serve", "--stdio", ""],
    ["serve", "--stdio", "--read-only", "repo"],
    ["serve", "repo", "--stdio"],
    ["serve", "--stdio", "a", "b"],
    ["serve", "--stdio"],
    ["-v", "serve", "--stdio", "repo"],
]


@pytest.mark.parametrize("args", SERVE_LINES, ids=lambda a: " ".join(a))
def test_serve_stdio_is_read_without_the_table_as_the_table_and_typer_read_it(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``serve --stdio PATH``, the peer of every sync over a command, is read without loading the table
    (`argv._serve_stdio`): as the table reads it, and typer; any other shape is left to the table."""
    monkeypatch.chdir(tmp_path)
    early = argv._serve_stdio(args)
    if early is not None:
        assert early == argv.parse(args, argv_table)
        assert _fast_reading(args) == _typer_reading(args)
    assert (early is not None) == (args in (["serve", "--stdio", "repo"], ["serve", "--stdio", "/srv/a b"]))


def test_serve_stdio_loads_no_parse_table(tmp_path: Path) -> None:
    """The peer's command line is read without the table: `serve --stdio PATH` on an empty stdin loads none of it."""
    import subprocess
    import sys

    repo = tmp_path / "r"
    CliRunner(tmp_path).ok("init", str(repo))
    script = (
        "import sys\nfrom vcrdt.cli import run\ncode = run(sys.argv[1:])\n"
        "print('vcrdt.cli.argv_table' in sys.modules, code)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, "serve", "--stdio", str(repo)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.stdout.split() == ["False", "0"], proc.stderr


def test_fast_reader_takes_the_common_command_lines() -> None:
    lines = (["status"], ["-C", "x", "log", "-n", "5"], ["commit", "-Am", "x"], ["diff", "--stat"], ["switch", "b"])
    for args in lines:
        assert argv.parse(args) is not None, args


def test_fast_reader_leaves_help_and_errors_to_typer() -> None:
    for args in (["status", "-h"], ["--help"], ["-V"], [], ["commit", "-m"], ["log", "-n", "x"], ["status", "--bogus"]):
        assert argv.parse(args) is None, args


def _tokens() -> st.SearchStrategy[str]:
    words = {"--", "-", "x", "3", "-5", "=", "", "-h", "--help", "--nosuch", "-Z", "status", "log"}
    for _module, _function, options, _defaults, _arguments in argv_table.COMMANDS.values():
        for opt in options:
            words.update({opt, f"{opt}=v", f"{opt}7"})
    return st.sampled_from(sorted(words))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(["-v", "-C", ".", "--color", "never", "--verbose"]), max_size=3),
    st.sampled_from(sorted(argv_table.COMMANDS)),
    st.lists(_tokens(), max_size=6),
)
def test_fast_reader_agrees_with_typer_on_generated_lines(pre: list[str], name: str, rest: list[str]) -> None:
    args = [*pre, *name.split(" "), *rest]  # "git import": a group's command
    fast = _fast_reading(args)
    if fast is not None:
        assert fast == _typer_reading(args), args


def _through_typer(monkeypatch: pytest.MonkeyPatch) -> None:
    import vcrdt.cli.app

    monkeypatch.setattr(vcrdt.cli.app, "_parse", lambda args: None)


@pytest.mark.parametrize(
    "args",
    [
        ["reset", "--soft", "--hard", "HEAD"],
        ["--color", "sometimes", "status"],
        ["branch", "-d"],
        ["diff", "a", "b", "c"],
        ["concurrent", "a", "b", "--check", "nope"],
        ["branch", "-m", "only-one"],
    ],
)
def test_usage_errors_raised_by_a_command_read_alike(
    args: list[str], repo: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert argv.parse(args) is not None  # the fast path reads it; the command itself refuses it
    fast = repo(*args)
    _through_typer(monkeypatch)
    slow = repo(*args)
    assert (fast.code, fast.out, fast.err) == (slow.code, slow.out, slow.err)
    assert fast.code == 2 and "Usage: vcrdt" in fast.err


def _loaded(repo: CliRunner, *args: str) -> tuple[str, str]:
    """Run `vcrdt ARGS` as a plain process in `repo`; its output, and which of typer, click and rich it loaded."""
    _code, out, _err, loaded = modules_loaded(repo.cwd, args, {"typer", "click", "rich"}, top_level=True)
    return out, loaded


def test_plain_output_to_a_pipe_imports_no_typer_click_or_rich(repo: CliRunner) -> None:
    repo.write("a.txt", "one\n")
    repo.ok("commit", "-A", "-m", "first")
    repo.write("a.txt", "two\n")
    for args in (["status"], ["status", "-s"], ["log", "-n", "5"], ["diff"], ["diff", "--stat"], ["show"]):
        out, loaded = _loaded(repo, *args)
        assert out == repo.ok(*args).out
        assert loaded == "", (args, loaded)
    out, loaded = _loaded(repo, "commit", "-m", "second")
    assert out.startswith("[main ") and loaded == ""
    repo.write("b.txt", "b\n")
    for args in (["add", "b.txt"], ["branch", "topic"], ["switch", "topic"], ["branch"], ["rm", "b.txt"]):
        _out, loaded = _loaded(repo, *args)
        assert loaded == "", (args, loaded)
    _out, loaded = _loaded(repo, "status", "-h")
    assert loaded != ""  # help is typer's


def test_merge_file_switch_is_read_by_the_table_last_one_winning() -> None:
    """merge-file's --ours/--theirs/--union are one switch (as git's one variable): the table reads them."""
    for args, favor in (
        (["merge-file", "a", "b", "c"], None),
        (["merge-file", "--ours", "--theirs", "--ours", "a", "b", "c"], "ours"),
        (["merge-file", "--union", "a", "b", "c", "--theirs"], "theirs"),
    ):
        plan = argv.parse(args)
        assert plan is not None, args
        assert plan.kwargs["favor"] == favor
        assert _fast_reading(args) == _typer_reading(args)


def test_merge_file_imports_no_typer_click_or_rich(repo: CliRunner) -> None:
    repo.write("o", "a\nb\nc\n")
    repo.write("x", "a\nB1\nc\n")
    repo.write("y", "a\nB2\nc\n")
    for args in (["merge-file", "-p", "x", "o", "y"], ["merge-file", "-p", "--ours", "--union", "x", "o", "y"]):
        _out, loaded = _loaded(repo, *args)
        assert loaded == "", (args, loaded)
    out, loaded = _loaded(repo, "merge-file", "-p", "--union", "--theirs", "x", "o", "y")
    assert (out, loaded) == ("a\nB2\nc\n", "")
    _out, loaded = _loaded(repo, "merge-file", "x", "o", "y")  # writes x, with its conflict count on stderr
    assert loaded == "" and (repo.cwd / "x").read_text().startswith("a\n<<<<<<< x\n")


def _modules_loaded(repo: CliRunner, watched: set[str], args: list[str]) -> str:
    """Run `vcrdt ARGS` as a plain process in `repo`; which of the `watched` modules it loaded."""
    code, _out, err, loaded = modules_loaded(repo.cwd, args, watched)
    assert code == 0, (args, err)
    return loaded


def test_the_everyday_commands_import_neither_typing_nor_the_zstandard_package(repo: CliRunner) -> None:
    # Each costs a plain process millions of instructions of start-up (typing about 16 M, the
    # zstandard package about 23 M): annotations are strings, and the store loads zstandard's C
    # backend alone (`vcrdt.store.zstd`).
    def loaded(args: list[str]) -> str:
        return _modules_loaded(repo, {"typing", "zstandard"}, args)

    repo.write("a.txt", "one\n")
    repo.ok("commit", "-A", "-m", "first")
    repo.write("a.txt", "two\n")
    for args in (["status"], ["add", "a.txt"], ["commit", "-m", "second"], ["log", "-n", "5"], ["status"]):
        assert loaded(args) == "", args
    assert "second" in repo.ok("log", "-n", "1").out
    repo.write("a.txt", "three\n")
    for args in (["diff"], ["diff", "--stat"]):  # a line diff through libgit2 too
        assert loaded(args) == "", args


def test_the_everyday_commands_load_no_pathlib_and_status_log_add_diff_no_re_or_enum(repo: CliRunner) -> None:
    # pathlib costs a plain process about 17 M instructions of start-up with what it imports (re,
    # fnmatch, urllib.parse, ipaddress), re about 7 M and enum 6 M: the layers every command goes
    # through (the global options, the repository, its database, the work tree) use `os.path`
    # strings, the patterns are compiled where a command meets their input (a `~`/`^` revision
    # suffix, a commit to decode, a temporary file's name, an ignore file), and `EntryKind` is not
    # an `enum.Enum`. `commit` writes its oplog entry as JSON (json imports re, re imports enum)
    # and `show` decodes a commit: they need re for their work.
    heavy = {"pathlib", "fnmatch", "urllib.parse", "ipaddress", "typing"}

    def loaded(args: list[str]) -> str:
        return _modules_loaded(repo, heavy | {"re", "enum"}, args)

    repo.write("a.txt", "one\n")
    repo.ok("commit", "-A", "-m", "first")
    repo.write("a.txt", "two\n")
    for args in (["--version"], ["status"], ["status", "-s"], ["diff"], ["diff", "--stat"], ["add", "a.txt"]):
        assert loaded(args) == "", args
    assert loaded(["commit", "-m", "second"]) in ("", "enum,re")
    for args in (["log", "-n", "5"], ["log", "--oneline"], ["log", "-n", "1", "main"], ["status"]):
        assert loaded(args) == "", args
    assert loaded(["show"]) in ("", "enum,re")
    assert loaded(["log", "-n", "1", "HEAD~1"]) == "enum,re"  # a revision suffix is read by a pattern (re imports enum)


def test_commands_that_leave_the_files_alone_load_no_work_tree_writer(repo: CliRunner) -> None:
    # `vcrdt.worktree` makes its file writer and checkout on first use: status, diff, add and
    # commit read the work tree only, and a plain process should not pay for loading them.
    def loaded(args: list[str]) -> str:
        return _modules_loaded(repo, {"vcrdt.worktree.checkout", "vcrdt.worktree.writing"}, args)

    repo.write("a.txt", "one\n")
    repo.ok("commit", "-A", "-m", "first")

    assert loaded(["status"]) == ""
    repo.write("a.txt", "two\n")
    repo.write("b.txt", "b\n")
    for args in (["status"], ["status", "-s"], ["diff"], ["add", "b.txt"], ["commit", "-m", "second"]):
        assert loaded(args) == "", args
    assert "second" in repo.ok("log", "-n", "1").out
    assert loaded(["switch", "-c", "topic", "main~1"]) != ""  # a checkout writes the files


def test_merge_file_loads_no_repository_tree_merge_typing_or_dataclasses(repo: CliRunner) -> None:
    # merge-file merges three plain files: a plain process needs diff3 and the line matchers, not
    # the repository, the tree merge, typing or dataclasses (each milliseconds of start-up, against
    # git merge-file's whole run of about 10 ms).
    watched = {"typing", "dataclasses", "vcrdt.repo", "vcrdt.merge.trees", "vcrdt.porcelain.merging", "vcrdt.dag"}
    repo.write("o", "a\nb\nc\n")
    repo.write("x", "a\nB1\nc\n")
    repo.write("y", "a\nb\nc\nd\n")
    assert _modules_loaded(repo, watched, ["merge-file", "-p", "x", "o", "y"]) == ""
    assert _modules_loaded(repo, watched, ["merge-file", "-p", "--theirs", "--diff3", "x", "o", "y"]) == ""
