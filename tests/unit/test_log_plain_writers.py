"""log's uncoloured writers of `--graph` and `--oneline` print the bytes their styled Text lines print.

(The default format's writer is checked against its own reference in tests/cli/test_log_plain.py: it
writes a message's control codes as they are, where a Text drops a few.)
"""

from __future__ import annotations

import io

import pytest

from tests.helpers.cli import CliRunner
from vcrdt import porcelain
from vcrdt.cli import render
from vcrdt.cli.commands import log as log_command
from vcrdt.cli.render import Text
from vcrdt.repo import Repository, Settings


class _Styled:
    """A DataOut that is not plain: the Text path runs; each line is kept as printing it uncoloured writes it."""

    is_plain = False

    def __init__(self) -> None:
        self.out = io.StringIO()

    def print(self, text: Text | str = "") -> None:
        self.out.write((text.plain if isinstance(text, Text) else text) + "\n")

    def write_text(self, text: str) -> None:  # pragma: no cover - the Text path never writes plain text
        raise AssertionError("the styled path wrote plain text")


class _Plain:
    is_plain = True

    def __init__(self) -> None:
        self.out = io.StringIO()
        self.writes = 0

    def write_text(self, text: str) -> None:
        self.out.write(text)
        self.writes += 1


def _history(repo: CliRunner) -> None:
    """Forks and merges (lanes opening and joining), branches and tags, messages with control codes."""
    repo.ok("commit", "--allow-empty", "-m", "root")
    for name in ("a", "b", "c"):
        repo.ok("branch", name)
    for name, message in (("a", "on a\rCR"), ("b", "bell\x07 b\n\nbody\x0b"), ("c", "tab\tc")):
        repo.ok("switch", name)
        repo.write(f"{name}.txt", f"{name}\n")
        repo.ok("commit", "-A", "-m", message)
        repo.ok("commit", "--allow-empty", "-m", f"{name} again  ")
    repo.ok("switch", "main")
    repo.ok("commit", "--allow-empty", "-m", "main work")
    repo.ok("merge", "a", "-m", "merge a")
    repo.ok("merge", "b", "-m", "merge b")
    repo.ok("tag", "v1")
    repo.ok("merge", "c", "-m", "merge c")
    repo.ok("tag", "v\u00e9")


@pytest.mark.parametrize("clock", [False, True])
@pytest.mark.parametrize(("graph", "oneline"), [(True, False), (True, True), (False, True)])
def test_plain_writers_print_what_the_texts_print(
    repo: CliRunner, monkeypatch: pytest.MonkeyPatch, graph: bool, oneline: bool, clock: bool
) -> None:
    _history(repo)
    r = Repository(repo.cwd, Settings())

    def printed(con: _Styled | _Plain, limit: int | None, all_refs: bool) -> str:
        monkeypatch.setattr(render, "data", lambda: con)
        entries = porcelain.log(r, limit=limit, all_refs=all_refs, decoded=clock)
        log_command._print_log(entries, json=False, graph=graph, oneline=oneline, stat=False, clock=clock)
        return con.out.getvalue()

    try:
        for limit, all_refs in ((None, False), (None, True), (4, False)):
            want = printed(_Styled(), limit, all_refs)
            assert printed(_Plain(), limit, all_refs) == want
            assert "\r" not in want and "\x07" not in want and "\x0b" not in want
            assert "merge b" in want or limit is not None
            assert "(" in want  # decorations
    finally:
        r.close()
