"""`vcrdt log -- PATH` shows the commits `git log -- PATH` shows, on the same history.

git simplifies history for paths: a merge TREESAME to one of its parents (the paths the same
there) is left out and only that parent is walked, so the commits only its other parents reach
are not shown either. `--full-history` walks every parent and shows each commit that is not
TREESAME to all of them. The histories are built with git (its own commands, and random DAGs
written with pygit2), imported with `vcrdt git import`, and both logs compared commit by commit
(by subject; the two order commits differently, git by date and vcrdt by Lamport clock).
"""

from __future__ import annotations

import json
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

MODES = ([], ["--full-history"], ["--first-parent"])


def _git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(cwd),
        "GIT_AUTHOR_NAME": "A",
        "GIT_AUTHOR_EMAIL": "a@x",
        "GIT_COMMITTER_NAME": "A",
        "GIT_COMMITTER_EMAIL": "a@x",
    }
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def _vcrdt_subjects(cli: CliRunner, cwd: Path, *args: str) -> list[str]:
    return sorted(e["message"].splitlines()[0] for e in json.loads(cli.ok("log", "--json", *args, cwd=cwd).out))


def _git_subjects(src: Path, *args: str) -> list[str]:
    return sorted(_git(src, "log", "--format=%s", *args).splitlines())


def _same_logs(cli: CliRunner, src: Path, dst: Path, paths: list[str]) -> None:
    for mode in MODES:
        for path in paths:
            assert _vcrdt_subjects(cli, dst, *mode, "--", path) == _git_subjects(src, *mode, "--", path), (mode, path)


def _commit(repo: Path, message: str, files: dict[str, str | None], *, when: int) -> None:
    for name, text in files.items():
        if text is None:
            _git(repo, "rm", "-q", name)
            continue
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
        _git(repo, "add", name)
    stamp = f"{1_700_000_000 + when} +0000"
    _git(repo, "commit", "-q", "--allow-empty", "-m", message, "--date", stamp)


def test_merges_that_kept_one_side_and_their_side_branches(cli: CliRunner, tmp_path: Path) -> None:
    # git's own test of TREESAME (t6111's shape): an odd merge that takes the old version of the
    # file, a change and its revert merged in (TREESAME to both parents), a conflicted merge
    # whose result is neither side.
    src = tmp_path / "src"
    src.mkdir()
    _git(src, "init", "-q", "-b", "main")
    _commit(src, "A", {"file": "Hi there\n"}, when=1)
    _git(src, "branch", "other")
    _commit(src, "B", {"file": "Hello\n"}, when=2)
    _git(src, "branch", "third")
    _git(src, "checkout", "-q", "other")
    _commit(src, "C", {"other": "Hello\n"}, when=3)
    _git(src, "checkout", "-q", "main")
    _git(src, "merge", "-q", "--no-ff", "-m", "D", "other")
    _git(src, "checkout", "-q", "third")
    _commit(src, "E", {"third": "Nothing\n"}, when=5)
    _git(src, "checkout", "-q", "main")
    _commit(src, "F", {"file": "Blah\n"}, when=6)
    _git(src, "merge", "-q", "--no-commit", "third")
    _git(src, "checkout", "third", "--", "file")
    _commit(src, "G", {}, when=7)
    _git(src, "branch", "fiddler")
    _git(src, "checkout", "-q", "-b", "part2")
    _commit(src, "H", {"file": "Part 2\n"}, when=8)
    _git(src, "checkout", "-q", "fiddler")
    _commit(src, "I", {"file": "Silly\n"}, when=9)
    _commit(src, "J", {"file": "Hello\n"}, when=10)
    _git(src, "checkout", "-q", "main")
    _git(src, "merge", "-q", "--no-ff", "-m", "K", "fiddler")
    _commit(src, "L", {"file": "Part 1\n"}, when=12)
    subprocess.run(["git", "merge", "-q", "part2"], cwd=src, capture_output=True, check=False)  # conflicts
    _commit(src, "M", {"file": "Parts 1+2\n"}, when=13)
    dst = tmp_path / "dst"
    cli.ok("init", str(dst))
    cli.ok("git", "import", str(src), "-q", cwd=dst)
    _same_logs(cli, src, dst, ["file", "other", "third", "."])
    # What git shows, written out. G kept the version of B (through E): F, whose change G
    # dropped, is not walked, nor the fiddler branch (I and its revert J) that K brings back to
    # the same file. With --full-history: every commit that differs from one of its parents.
    assert _vcrdt_subjects(cli, dst, "--", "file") == ["A", "B", "H", "L", "M"]
    assert _vcrdt_subjects(cli, dst, "--full-history", "--", "file") == [
        "A", "B", "D", "F", "G", "H", "I", "J", "L", "M"
    ]  # fmt: skip


# A random history: each commit names its parents among the earlier ones and, for each of a few
# paths, a version (or none): few versions, so that merges keep one side's often.
PATHS = ["f", "d/g", "d/h", "e"]
commit_spec = st.fixed_dictionaries(
    {
        "parents": st.lists(st.integers(0, 20), max_size=3, unique=True),
        "files": st.fixed_dictionaries({p: st.sampled_from([None, "1\n", "2\n"]) for p in PATHS}),
    }
)


def _write_tree(repo: pygit2.Repository, files: dict[str, str | None]) -> pygit2.Oid:
    sub = repo.TreeBuilder()
    top = repo.TreeBuilder()
    for path, text in files.items():
        if text is None:
            continue
        blob = repo.create_blob(text.encode())
        if path.startswith("d/"):
            sub.insert(path[2:], blob, pygit2.GIT_FILEMODE_BLOB)
        else:
            top.insert(path, blob, pygit2.GIT_FILEMODE_BLOB)
    if len(sub):
        top.insert("d", sub.write(), pygit2.GIT_FILEMODE_TREE)
    return top.write()


def _build(path: Path, specs: list[dict]) -> None:
    repo = pygit2.init_repository(str(path), bare=True)
    made: list[pygit2.Oid] = []
    for i, spec in enumerate(specs):
        parents = [made[p % len(made)] for p in spec["parents"]] if made else []
        parents = list(dict.fromkeys(parents))
        sig = pygit2.Signature("A", "a@x", 1_700_000_000 + i, 0)
        made.append(repo.create_commit(None, sig, sig, f"c{i}", _write_tree(repo, spec["files"]), parents))
    repo.references.create("refs/heads/main", made[-1])
    repo.set_head("refs/heads/main")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=st.lists(commit_spec, min_size=1, max_size=14))
def test_random_histories_log_the_paths_as_git_does(cli: CliRunner, specs: list[dict]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        _build(base / "src.git", specs)
        cli.ok("init", str(base / "dst"))
        cli.ok("git", "import", str(base / "src.git"), "-q", cwd=base / "dst")
        _same_logs(cli, base / "src.git", base / "dst", [*PATHS, "d", "."])
