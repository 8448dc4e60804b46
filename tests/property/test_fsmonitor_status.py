"""Status with the file-system monitor equals status without it, under random file and tracking changes.

A real inotify `Watcher` (the one the command server runs) answers the work
tree's questions directly here; `tests/cli/test_server.py` runs the same
through a real server.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vcrdt import porcelain
from vcrdt.daemon.monitor import Watcher
from vcrdt.errors import VcrdtError
from vcrdt.repo import Repository, Settings
from vcrdt.worktree import Changes, WorktreeStatus

SETTINGS = Settings(author_name="Ada", author_email="ada@example.com")
NAMES = ["a.txt", "b.log", "c.py", "d/e.txt", "d/f.log", "d/g/h.txt", "build/x.o", "build/y.txt", "k/l.txt"]
DIRS = ["d", "d/g", "build", "k", "m"]


class DirectMonitor:
    """The watcher of a server, asked in this process."""

    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher
        self.asked = 0
        self.fast = 0

    def changes(self, root: str, generation: str, counter: int) -> Changes | None:
        self.asked += 1
        answer = self.watcher.changes(root, generation, counter)
        if answer is not None and answer.paths is not None and answer.generation == generation:
            self.fast += 1
        return answer


@pytest.fixture
def watcher() -> Iterator[Watcher]:
    w = Watcher()
    if w.fd < 0:
        pytest.skip("no inotify here")
    yield w
    os.close(w.fd)


op = st.one_of(
    st.tuples(st.just("write"), st.sampled_from(NAMES), st.binary(max_size=20)),
    st.tuples(st.just("delete"), st.sampled_from(NAMES)),
    st.tuples(st.just("chmod"), st.sampled_from(NAMES)),
    st.tuples(st.just("rename"), st.sampled_from(NAMES), st.sampled_from(NAMES)),
    st.tuples(st.just("rmtree"), st.sampled_from(DIRS)),
    st.tuples(st.just("mvdir"), st.sampled_from(DIRS), st.sampled_from(DIRS)),
    st.tuples(st.just("mkdir"), st.sampled_from(DIRS)),
    st.tuples(st.just("symlink"), st.sampled_from(NAMES)),
    st.tuples(st.just("ignore"), st.sampled_from(["*.log", "build/", "!build/y.txt", "d/g", ""])),
    st.tuples(st.just("add"), st.sampled_from(NAMES)),
    st.tuples(st.just("untrack"), st.sampled_from(NAMES)),
    st.tuples(st.just("commit")),
    st.tuples(st.just("status")),
)


def apply(repo: Repository, root: Path, step: tuple[object, ...]) -> None:
    kind = step[0]
    path = root / str(step[1]) if len(step) > 1 else root
    try:
        if kind == "write":
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            path.write_bytes(bytes(step[2]))  # type: ignore[call-overload]
        elif kind == "delete":
            path.unlink()
        elif kind == "chmod":
            path.chmod(path.stat().st_mode ^ 0o100)
        elif kind == "rename":
            target = root / str(step[2])
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
        elif kind == "rmtree":
            shutil.rmtree(path)
        elif kind == "mvdir":
            os.rename(path, root / str(step[2]))
        elif kind == "mkdir":
            path.mkdir(parents=True)
        elif kind == "symlink":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.symlink_to("a.txt")
        elif kind == "ignore":
            (root / ".vcrdtignore").write_text(f"{step[1]}\n")
        elif kind == "add":
            porcelain.add(repo, [str(step[1])], cwd=root)
        elif kind == "untrack":
            porcelain.rm(repo, [str(step[1])], cwd=root, cached=True)
        elif kind == "commit":
            porcelain.commit(repo, "step", allow_empty=True)
    except (OSError, VcrdtError):
        pass  # an operation that does not apply to the current state changes nothing here


def full(repo: Repository) -> WorktreeStatus:
    repo.worktree.monitor = None
    return repo.worktree.status()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(op, min_size=1, max_size=25), compare_each=st.booleans())
def test_watched_status_equals_full_status(
    tmp_path_factory: pytest.TempPathFactory, watcher: Watcher, steps: list[tuple[object, ...]], compare_each: bool
) -> None:
    """Watched statuses after random steps; compared with a full status at each, or only at the end.

    (A full status refreshes the stat cache; comparing only at the end checks
    that watched statuses do not depend on full ones in between.)
    """
    root = tmp_path_factory.mktemp("fsmon")
    repo = Repository.init(root, SETTINGS)
    for name in NAMES[:5]:
        apply(repo, root, ("write", name, name.encode()))
    porcelain.commit(repo, "base", addremove=True)
    monitor = DirectMonitor(watcher)
    try:
        for step in steps:
            apply(repo, root, step)
            if step[0] in ("status", "commit") or compare_each:
                repo.worktree.monitor = monitor
                watched = repo.worktree.status()
                if compare_each:
                    assert watched == full(repo), step
                    # What commit looks at: at least every path a full look would pick.
                    watched_suspects = set(repo.worktree.suspects()[0])
                    repo.worktree.monitor = None
                    assert watched_suspects >= set(repo.worktree.suspects()[0]), step
        repo.worktree.monitor = monitor
        assert repo.worktree.status() == full(repo)
    finally:
        repo.close()
    assert monitor.asked > 0


def addable_full(repo: Repository, spec: str) -> tuple[list[str], list[str]] | None:
    """What `add` of `spec` tracks after a walk (new paths, removed ones), or None when it refuses the spec."""
    repo.worktree.monitor = None
    states = repo.worktree.states()
    try:
        found = repo.worktree.expand([spec], states, untracked_ok=True)
    except VcrdtError:
        return None
    return [p for p in found if p not in states], [p for p in found if states.get(p) == "removed"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(op, min_size=1, max_size=20), specs=st.lists(st.sampled_from([".", *NAMES, *DIRS]), min_size=1))
def test_watched_add_equals_add_after_a_walk(
    tmp_path_factory: pytest.TempPathFactory, watcher: Watcher, steps: list[tuple[object, ...]], specs: list[str]
) -> None:
    """What `add` tracks from the monitor's answer is what it tracks after walking the tree."""
    root = tmp_path_factory.mktemp("fsmon-add")
    repo = Repository.init(root, SETTINGS)
    for name in NAMES[:5]:
        apply(repo, root, ("write", name, name.encode()))
    porcelain.commit(repo, "base", addremove=True)
    monitor = DirectMonitor(watcher)
    repo.worktree.monitor = monitor
    repo.worktree.status()  # the token the monitor's answers start from
    try:
        for i, step in enumerate(steps):
            repo.worktree.monitor = monitor
            apply(repo, root, step)
            spec = specs[i % len(specs)]
            repo.worktree.monitor = monitor
            watched = repo.worktree.addable_watched([spec])
            if watched is not None:
                assert watched == addable_full(repo, spec), (step, spec)
    finally:
        repo.close()
    assert monitor.asked > 0


def test_add_uses_the_monitor(tmp_path: Path, watcher: Watcher) -> None:
    """`add` of a new file and of a removed path answers from the monitor, and tracks what a walk would."""
    repo = Repository.init(tmp_path, SETTINGS)
    (tmp_path / "a.txt").write_text("a\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text("b\n")
    porcelain.commit(repo, "base", addremove=True)
    monitor = DirectMonitor(watcher)
    repo.worktree.monitor = monitor
    try:
        repo.worktree.status()
        (tmp_path / "sub" / "c.txt").write_text("c\n")
        porcelain.rm(repo, ["a.txt"], cwd=tmp_path, cached=True)
        (tmp_path / "new.txt").write_text("n\n")
        assert repo.worktree.addable_watched(["sub"]) == (["sub/c.txt"], [])
        assert repo.worktree.addable_watched(["nothing-here"]) is None  # `expand` gives the error
        fast = monitor.fast
        assert porcelain.add(repo, ["."], cwd=tmp_path) == ["a.txt", "new.txt", "sub/c.txt"]
        assert monitor.fast == fast + 1
        assert repo.worktree.status().untracked == []
    finally:
        repo.close()


def test_the_monitor_is_used_and_sees_an_edit(tmp_path: Path, watcher: Watcher) -> None:
    repo = Repository.init(tmp_path, SETTINGS)
    (tmp_path / "a.txt").write_text("a\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text("b\n")
    porcelain.commit(repo, "base", addremove=True)
    monitor = DirectMonitor(watcher)
    repo.worktree.monitor = monitor
    try:
        assert repo.worktree.status().is_clean  # the first answer: look at everything
        assert repo.worktree.status().is_clean
        (tmp_path / "sub" / "b.txt").write_text("changed\n")
        (tmp_path / "new").mkdir()
        (tmp_path / "new" / "c.txt").write_text("c\n")
        st = repo.worktree.status()
        assert st.modified == ["sub/b.txt"] and st.untracked == ["new/c.txt"]
        assert monitor.fast == 2  # the second and third answered from events
    finally:
        repo.close()


BULK = 2100  # more than `RowTable.of` looks up a batch at a time


bulk_op = st.one_of(
    op,
    st.tuples(st.just("bulk_untracked"), st.sampled_from(["node_modules", "d/many"])),
    st.tuples(st.just("bulk_tracked"), st.binary(min_size=1, max_size=4)),
)


def apply_bulk(repo: Repository, root: Path, step: tuple[object, ...]) -> None:
    if step[0] == "bulk_untracked":
        many = root / str(step[1])
        many.mkdir(parents=True, exist_ok=True)
        for i in range(BULK):
            (many / f"m{i}.js").write_text(f"{i}\n")
    elif step[0] == "bulk_tracked":
        for path in sorted((root / "t").iterdir()):
            path.write_bytes(path.read_bytes() + bytes(step[1]))  # type: ignore[call-overload]
    else:
        apply(repo, root, step)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(bulk_op, min_size=1, max_size=4))
def test_watched_status_with_thousands_of_changes(
    tmp_path_factory: pytest.TempPathFactory, watcher: Watcher, steps: list[tuple[object, ...]]
) -> None:
    """More than 2,000 changed paths at once (new directories, edits of tracked files) between statuses."""
    root = tmp_path_factory.mktemp("fsmon-bulk")
    repo = Repository.init(root, SETTINGS)
    (root / "t").mkdir()
    for i in range(BULK):
        (root / "t" / f"f{i}.txt").write_text(f"{i}\n")
    porcelain.commit(repo, "base", addremove=True)
    monitor = DirectMonitor(watcher)
    try:
        repo.worktree.monitor = monitor
        repo.worktree.status()
        for step in [*steps, ("status",)]:
            apply_bulk(repo, root, step)
            repo.worktree.monitor = monitor
            watched = repo.worktree.status()
            watched_suspects = set(repo.worktree.suspects()[0])
            assert watched == full(repo), step
            assert watched_suspects >= set(repo.worktree.suspects()[0]), step
    finally:
        repo.close()


@pytest.mark.parametrize(
    ("where", "linked_before_status", "write_through"),
    [
        ("inside", True, "a.txt"),  # both names tracked: the event names a.txt, b.txt changes too
        ("outside", True, "b.txt"),  # no event at all
        ("inside", False, "b.txt"),  # an untracked link made later: the event names b.txt only
        ("inside", False, "a.txt"),
    ],
)
def test_a_write_through_a_hard_link_is_seen(
    tmp_path: Path, watcher: Watcher, where: str, linked_before_status: bool, write_through: str
) -> None:
    """A write through one link of a tracked file changes every other link, with no event naming them.

    (A link made outside the tree after the monitor's last full look sends no
    event at all; like git's fsmonitor, that case is not covered.)
    """
    root = tmp_path / "repo"
    root.mkdir()
    repo = Repository.init(root, SETTINGS)
    (root / "a.txt").write_text("one\n")
    link = root / "b.txt" if where == "inside" else tmp_path / "b.txt"
    if linked_before_status:
        os.link(root / "a.txt", link)
    past = time.time() - 10
    os.utime(root / "a.txt", (past, past))  # out of the racy window: the stat cache settles it
    porcelain.commit(repo, "base", addremove=True)
    monitor = DirectMonitor(watcher)
    repo.worktree.monitor = monitor
    try:
        repo.worktree.status()
        if not linked_before_status:
            os.link(root / "a.txt", link)
        repo.worktree.status()
        repo.worktree.status()
        with open(link if write_through == "b.txt" else root / "a.txt", "a") as f:
            f.write("two\n")
        expected = ["a.txt", "b.txt"] if where == "inside" and linked_before_status else ["a.txt"]
        st = repo.worktree.status()
        assert st.modified == expected, st
        assert repo.worktree.suspects()[0] == expected
        assert st == full(repo)
    finally:
        repo.close()
