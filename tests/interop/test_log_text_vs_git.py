"""`vcrdt log` and `log --oneline` print a commit's message as `git log` does, byte for byte.

git drops the blank lines before and after the text, right-strips each line of spaces, tabs and
carriage returns, and indents every line by four, a blank one too; a message with no text gets
no blank line under the header. Its subject (`--oneline`) is the first paragraph, its lines
joined by spaces. Messages are drawn, written into git commits as they are, imported, and both
logs compared (without the ``commit`` lines, whose ids differ).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pygit2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.cli import CliRunner

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git missing")

# Text, the whitespace git strips at a line's end, and what it keeps there (a vertical tab, a
# no-break space). Control codes other than these `--oneline` drops, as it does in any subject.
messages = st.text(alphabet=["a", "b", "é", " ", "\t", "\r", "\n", "\x0b", "\xa0"], max_size=30)
_CONTROLS = {ord("\r"): None, ord("\x0b"): None}


def _git_log(src: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(src)}
    return subprocess.run(["git", "log", *args], cwd=src, env=env, check=True, capture_output=True).stdout.decode()


def _without_ids(text: str) -> list[str]:
    return [line for line in text.split("\n") if not line.startswith("commit ")]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(messages, min_size=1, max_size=6))
def test_messages_print_as_git_prints_them(cli: CliRunner, texts: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        repo = pygit2.init_repository(str(base / "src.git"), bare=True)
        tree = repo.TreeBuilder().write()
        parents: list[pygit2.Oid] = []
        for i, text in enumerate(texts):
            sig = pygit2.Signature("A", "a@x", 1_700_000_000 + i, 0)
            parents = [repo.create_commit(None, sig, sig, text, tree, parents)]
        repo.references.create("refs/heads/main", parents[0])
        repo.set_head("refs/heads/main")
        cli.ok("init", str(base / "dst"))
        cli.ok("git", "import", str(base / "src.git"), "-q", cwd=base / "dst")
        out = cli.ok("--no-pager", "log", cwd=base / "dst").out
        assert _without_ids(out) == _without_ids(_git_log(base / "src.git")), texts
        ours = [line[13:] for line in cli.ok("log", "--oneline", cwd=base / "dst").out.split("\n")[:-1]]
        ours[0] = ours[0].removeprefix("(HEAD -> main) ")
        theirs = [line.split(" ", 1)[1] for line in _git_log(base / "src.git", "--format=%h %s").split("\n")[:-1]]
        assert [line.translate(_CONTROLS) for line in theirs] == ours, texts
