"""The message editor and the pager (issue 14), with real programs standing in for vi and less.

The fake editor is a shell script that saves the template it was given and writes a reply
into the file; the fake pager saves what it reads. The terminal cases run in a real
pseudo-terminal (pexpect): on a command server's client too under ``--through-daemon``.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pexpect
import pytest

from tests.helpers import cli as cli_helpers
from tests.helpers.cli import CliRunner

EDITOR = """#!/bin/sh
cp "$1" "{dir}/template.txt"
cp "{dir}/reply.txt" "$1"
"""
FAILING_EDITOR = "#!/bin/sh\nexit 3\n"
TERMINAL_EDITOR = """#!/bin/sh
printf 'message? ' > /dev/tty
read line < /dev/tty
printf '%s\\n' "$line" > "$1"
"""
PAGER = """#!/bin/sh
cat > "{dir}/{name}.txt"
"""


def _script(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


class Editor:
    """The fake editor: `reply` is what it saves, `template` what it was given."""

    def __init__(self, root: Path) -> None:
        root.mkdir()
        self.dir = root
        self.program = _script(root / "editor.sh", EDITOR.format(dir=root))

    def reply(self, text: str) -> None:
        (self.dir / "reply.txt").write_text(text, encoding="utf-8")

    @property
    def template(self) -> str:
        return (self.dir / "template.txt").read_text(encoding="utf-8")

    @property
    def ran(self) -> bool:
        return (self.dir / "template.txt").exists()


@pytest.fixture
def editor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Editor:
    ed = Editor(tmp_path / "editor")
    monkeypatch.setenv("VCRDT_EDITOR", str(ed.program))
    return ed


def _head(r: CliRunner) -> dict[str, object]:
    return json.loads(r.ok("log", "--json", "-n", "1").out)[0]  # type: ignore[no-any-return]


def _state(r: CliRunner) -> tuple[str, str, str]:
    return r.ok("branch", "--json").out, r.ok("log", "--json").out, r.ok("status", "--json").out


def _fsck_clean(r: CliRunner) -> None:
    assert "0 problems" in r.ok("fsck").err


# --- the editor ----------------------------------------------------------------------------------


def test_commit_without_a_message_opens_the_editor(repo: CliRunner, editor: Editor) -> None:
    repo.write("a.txt", "one\n")
    repo.ok("add", "a.txt")
    editor.reply("From the editor\n\nBody line.\n# a comment the editor left\n")
    r = repo.ok("commit")
    assert "From the editor" in r.out
    assert _head(repo)["message"] == "From the editor\n\nBody line.\n"
    assert "# Please enter the commit message" in editor.template
    assert "# On branch main" in editor.template and "new file:   a.txt" in editor.template


def test_an_empty_message_aborts_the_commit(repo: CliRunner, editor: Editor) -> None:
    repo.write("a.txt", "one\n")
    repo.ok("commit", "-A", "-m", "one")
    repo.write("a.txt", "two\n")
    before = _state(repo)
    editor.reply("# only comments\n\n# and blank lines\n")
    r = repo("commit")
    assert r.code == 1
    assert r.err == "Aborting commit due to empty commit message.\n"
    assert _state(repo) == before
    _fsck_clean(repo)


def test_a_failing_editor_commits_nothing(repo: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo.write("a.txt", "one\n")
    repo.ok("add", "a.txt")
    before = _state(repo)
    monkeypatch.setenv("VCRDT_EDITOR", str(_script(tmp_path / "bad.sh", FAILING_EDITOR)))
    r = repo("commit")
    assert r.code == 1 and "problem with the editor" in r.err and "exit 3" in r.err
    assert _state(repo) == before


def test_the_editor_variables_in_order(repo: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ed = Editor(tmp_path / "ed")
    bad = str(_script(tmp_path / "bad.sh", FAILING_EDITOR))
    repo.write("a.txt", "one\n")
    repo.ok("add", "a.txt")
    ed.reply("via EDITOR\n")
    monkeypatch.setenv("EDITOR", str(ed.program))
    repo.ok("commit")
    assert _head(repo)["message"] == "via EDITOR\n"
    monkeypatch.setenv("EDITOR", bad)
    monkeypatch.setenv("VISUAL", str(ed.program))
    ed.reply("via VISUAL\n")
    repo.ok("commit", "--amend")
    assert _head(repo)["message"] == "via VISUAL\n"
    monkeypatch.setenv("VISUAL", bad)
    monkeypatch.setenv("VCRDT_EDITOR", str(ed.program))
    ed.reply("via VCRDT_EDITOR\n")
    repo.ok("commit", "--amend")
    assert _head(repo)["message"] == "via VCRDT_EDITOR\n"


def test_amend_edits_the_old_message(repo: CliRunner, editor: Editor) -> None:
    repo.write("a.txt", "one\n")
    repo.ok("commit", "-A", "-m", "first wording")
    old = _head(repo)["id"]
    editor.reply("second wording\n")
    repo.ok("commit", "--amend")
    assert editor.template.startswith("first wording\n")
    head = _head(repo)
    assert head["message"] == "second wording\n" and head["id"] != old


def test_revert_with_edit_opens_the_editor(repo: CliRunner, editor: Editor) -> None:
    repo.write("a.txt", "one\n")
    repo.ok("commit", "-A", "-m", "one")
    repo.write("a.txt", "two\n")
    repo.ok("commit", "-m", "two")
    editor.reply("Put one back\n")
    repo.ok("revert", "--edit", "HEAD")
    assert editor.template.startswith('Revert "two"\n')
    assert _head(repo)["message"] == "Put one back\n"
    editor.reply("\n")
    before = _state(repo)
    r = repo("revert", "--edit", "HEAD")
    assert r.code == 1 and r.err == "Aborting commit due to empty commit message.\n"
    assert _state(repo) == before


def _diverged(repo: CliRunner) -> None:
    repo.write("a.txt", "base\n")
    repo.ok("commit", "-A", "-m", "base")
    repo.ok("switch", "-c", "side")
    repo.write("b.txt", "side\n")
    repo.ok("commit", "-A", "-m", "side")
    repo.ok("switch", "main")
    repo.write("c.txt", "main\n")
    repo.ok("commit", "-A", "-m", "main")


def test_merge_with_edit_opens_the_editor_for_its_commit(repo: CliRunner, editor: Editor) -> None:
    _diverged(repo)
    editor.reply("\n# nothing\n")
    before = _state(repo)
    r = repo("merge", "--edit", "side")
    assert r.code == 1 and r.err.endswith("Aborting commit due to empty commit message.\n")
    assert _state(repo) == before and not (repo.cwd / "b.txt").exists()
    editor.reply("Bring side in\n")
    repo.ok("merge", "--edit", "side")
    assert editor.template.startswith("Merge side into main\n")
    head = _head(repo)
    assert head["message"] == "Bring side in\n" and len(head["parents"]) == 2  # type: ignore[arg-type]
    _fsck_clean(repo)


def test_merge_off_a_terminal_does_not_open_the_editor(repo: CliRunner, editor: Editor) -> None:
    _diverged(repo)
    repo.ok("merge", "side")
    assert not editor.ran
    assert _head(repo)["message"] == "Merge side into main\n"


def test_commit_after_a_conflicted_merge_proposes_its_message(repo: CliRunner, editor: Editor) -> None:
    repo.write("a.txt", "base\n")
    repo.ok("commit", "-A", "-m", "base")
    repo.ok("switch", "-c", "side")
    repo.write("a.txt", "side\n")
    repo.ok("commit", "-m", "side")
    repo.ok("switch", "main")
    repo.write("a.txt", "main\n")
    repo.ok("commit", "-m", "main")
    assert repo("merge", "side").code == 1
    repo.write("a.txt", "both\n")
    repo.ok("resolve", "a.txt")
    editor.reply("Merge side, both kept\n")
    repo.ok("commit")
    assert editor.template.startswith("Merge side into main\n")
    assert len(_head(repo)["parents"]) == 2  # type: ignore[arg-type]


# --- on a real terminal ------------------------------------------------------------------------------


def _program() -> tuple[str, list[str], dict[str, str]]:
    """The command to spawn and its environment: the session's command-server client under --through-daemon."""
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env["TERM"] = "xterm-256color"
    if cli_helpers.DAEMON:
        env = {k: v for k, v in env.items() if k != "VCRDT_NO_SERVER"} | cli_helpers.DAEMON["env"]
        program = cli_helpers.DAEMON["program"]
        return program[0], list(program[1:]), env
    return sys.executable, ["-m", "vcrdt"], env


def _spawn(args: list[str], cwd: Path, extra: dict[str, str] | None = None) -> tuple[pexpect.spawn, bytes]:
    exe, lead, env = _program()
    env.update(extra or {})
    child = pexpect.spawn(exe, [*lead, *args], cwd=str(cwd), env=env, timeout=60)
    return child, b""


def _finish(child: pexpect.spawn) -> tuple[int, bytes]:
    out = child.read()
    child.close()
    return int(child.exitstatus or 0), bytes(out)


def test_commit_on_a_terminal_runs_the_editor_on_it(repo: CliRunner, tmp_path: Path) -> None:
    ed = _script(tmp_path / "ask.sh", TERMINAL_EDITOR)
    repo.write("a.txt", "one\n")
    repo.ok("add", "a.txt")
    child, _ = _spawn(["commit"], repo.cwd, {"VCRDT_EDITOR": str(ed)})
    child.expect("message\\? ")
    child.sendline("typed on the terminal")
    code, out = _finish(child)
    assert code == 0, out
    assert _head(repo)["message"] == "typed on the terminal\n"


@pytest.fixture
def history(repo: CliRunner) -> CliRunner:
    for n in range(3):
        repo.write("a.txt", f"line {n}\n")
        repo.ok("commit", "-A", "-m", f"commit number {n}")
    repo.write("a.txt", "edited\n")
    return repo


def test_log_diff_and_show_page_on_a_terminal(history: CliRunner, tmp_path: Path) -> None:
    for cmd in ("log", "diff", "show"):
        pager = _script(tmp_path / f"{cmd}.sh", PAGER.format(dir=tmp_path, name=cmd))
        child, _ = _spawn([cmd], history.cwd, {"VCRDT_PAGER": str(pager)})
        code, out = _finish(child)
        assert code == 0, out
        got = (tmp_path / f"{cmd}.txt").read_text(encoding="utf-8")
        want = {"log": "commit number 0", "diff": "+edited", "show": "commit number 2"}[cmd]
        assert want in got, (cmd, got)
        assert want.encode() not in out  # it went to the pager, not the terminal


def test_no_pager_and_the_pager_settings(history: CliRunner, tmp_path: Path) -> None:
    first = _script(tmp_path / "first.sh", PAGER.format(dir=tmp_path, name="first"))
    second = _script(tmp_path / "second.sh", PAGER.format(dir=tmp_path, name="second"))
    child, _ = _spawn(["--no-pager", "log"], history.cwd, {"VCRDT_PAGER": str(first)})
    code, out = _finish(child)
    assert code == 0 and b"commit number 0" in out
    assert not (tmp_path / "first.txt").exists()
    history.ok("config", "core.pager", str(second))
    child, _ = _spawn(["log"], history.cwd, {"PAGER": str(first)})
    assert _finish(child)[0] == 0
    assert "commit number 1" in (tmp_path / "second.txt").read_text()  # core.pager over $PAGER
    assert not (tmp_path / "first.txt").exists()
    child, _ = _spawn(["log"], history.cwd, {"VCRDT_PAGER": str(first)})
    assert _finish(child)[0] == 0
    assert "commit number 1" in (tmp_path / "first.txt").read_text()  # $VCRDT_PAGER over core.pager


def test_conflicts_page_on_a_terminal(repo: CliRunner, tmp_path: Path) -> None:
    repo.write("a.txt", "base\n")
    repo.ok("commit", "-A", "-m", "base")
    repo.ok("switch", "-c", "side")
    repo.write("a.txt", "side\n")
    repo.ok("commit", "-m", "side")
    repo.ok("switch", "main")
    repo.write("a.txt", "main\n")
    repo.ok("commit", "-m", "main")
    assert repo("merge", "side").code == 1
    pager = _script(tmp_path / "p.sh", PAGER.format(dir=tmp_path, name="conflicts"))
    child, _ = _spawn(["conflicts"], repo.cwd, {"VCRDT_PAGER": str(pager)})
    code, out = _finish(child)
    assert code == 0, out
    assert "a.txt: content conflict" in (tmp_path / "conflicts.txt").read_text()


def test_nothing_is_paged_off_a_terminal(history: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pager = _script(tmp_path / "p.sh", PAGER.format(dir=tmp_path, name="piped"))
    monkeypatch.setenv("VCRDT_PAGER", str(pager))
    r = history.ok("log")
    assert "commit number 0" in r.out
    assert not (tmp_path / "piped.txt").exists()
