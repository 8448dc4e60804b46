"""Status (and what commit looks at), with the stat cache, against a from-scratch hash of every file.

The oracle walks the tree with `os.walk` and hashes every file; it trusts no
cache. The steps age files (so that status caches their stats), edit them
keeping size and mtime (only ctime moves), create, delete and rename files
and directories, hard-link tracked files and write through the links, and
commit; status runs between them, so each status starts from the cache the
previous one left.
"""

from __future__ import annotations

import os
import shutil
import stat
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vcrdt import porcelain
from vcrdt.errors import VcrdtError
from vcrdt.hashing import object_id
from vcrdt.objects import EntryKind
from vcrdt.repo import Repository, Settings
from vcrdt.worktree import WorktreeStatus
from vcrdt.worktree import status as status_check

SETTINGS = Settings(author_name="Ada", author_email="ada@example.com")
NAMES = ["a.txt", "b.txt", "d/c.txt", "d/e.txt", "d/g/h.txt", "k/l.txt", "k/m.txt", "n.txt"]
DIRS = ["d", "d/g", "k", "p"]

op = st.one_of(
    st.tuples(st.just("write"), st.sampled_from(NAMES), st.binary(max_size=12)),
    st.tuples(st.just("same_size"), st.sampled_from(NAMES)),  # same size, mtime put back: only ctime moves
    st.tuples(st.just("delete"), st.sampled_from(NAMES)),
    st.tuples(st.just("rename"), st.sampled_from(NAMES), st.sampled_from(NAMES)),
    st.tuples(st.just("chmod"), st.sampled_from(NAMES)),
    st.tuples(st.just("rmtree"), st.sampled_from(DIRS)),
    st.tuples(st.just("mvdir"), st.sampled_from(DIRS), st.sampled_from(DIRS)),
    st.tuples(st.just("mkfile"), st.sampled_from(DIRS), st.sampled_from(["x", "y.txt"])),
    st.tuples(st.just("hardlink"), st.sampled_from(NAMES), st.sampled_from(NAMES)),
    st.tuples(st.just("symlink"), st.sampled_from(NAMES)),
    st.tuples(
        st.just("age"),
    ),  # every file 10 s old: out of the racy window, so status caches it
    st.tuples(
        st.just("commit"),
    ),
    st.tuples(
        st.just("status"),
    ),
)


def apply(repo: Repository, root: Path, step: tuple[object, ...]) -> None:
    kind = step[0]
    path = root / str(step[1]) if len(step) > 1 else root
    try:
        if kind == "write":
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            with open(path, "ab" if path.is_file() and not path.is_symlink() else "wb") as f:
                f.write(bytes(step[2]) or b"!")  # type: ignore[call-overload]
        elif kind == "same_size":
            before = path.lstat()
            if not stat.S_ISREG(before.st_mode):
                return
            data = path.read_bytes()
            path.write_bytes(bytes((b + 1) % 256 for b in data) if data else b"")
            os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        elif kind == "delete":
            path.unlink()
        elif kind == "rename":
            target = root / str(step[2])
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
        elif kind == "chmod":
            path.chmod(path.stat().st_mode ^ 0o100)
        elif kind == "rmtree":
            shutil.rmtree(path)
        elif kind == "mvdir":
            os.rename(path, root / str(step[2]))
        elif kind == "mkfile":
            path.mkdir(parents=True, exist_ok=True)
            (path / str(step[2])).write_bytes(b"new\n")
        elif kind == "hardlink":
            target = root / str(step[2])
            if target.exists() or target.is_symlink():
                target.unlink()
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, target)
            with open(target, "ab") as f:
                f.write(b"through the link\n")
        elif kind == "symlink":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.symlink_to("a.txt")
        elif kind == "age":
            past = time.time_ns() - 10_000_000_000
            for dirpath, _, filenames in os.walk(root):
                if ".vcrdt" in Path(dirpath).relative_to(root).parts:
                    continue
                for name in filenames:
                    p = os.path.join(dirpath, name)
                    if not os.path.islink(p):
                        os.utime(p, ns=(past, past))
        elif kind == "commit":
            porcelain.commit(repo, "step", addremove=True, allow_empty=True)
        elif kind == "status":
            repo.worktree.status()
    except (OSError, VcrdtError):
        pass  # a step that does not apply to the current state changes nothing here


def oracle(repo: Repository, root: Path) -> WorktreeStatus:
    """Hash every file from scratch and compare with the HEAD entries the rows record."""
    found: dict[str, tuple[EntryKind, bytes]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        if rel_dir == ".":
            dirnames[:] = [d for d in dirnames if d != ".vcrdt"]
            rel_dir = ""
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            full = os.path.join(dirpath, name)
            rel = f"{rel_dir}/{name}" if rel_dir else name
            st_ = os.lstat(full)
            if stat.S_ISLNK(st_.st_mode):
                found[rel] = (EntryKind.SYMLINK, object_id("blob", os.fsencode(os.readlink(full))))
            elif stat.S_ISREG(st_.st_mode):
                kind = EntryKind.EXECUTABLE if st_.st_mode & stat.S_IXUSR else EntryKind.FILE
                found[rel] = (kind, object_id("blob", Path(full).read_bytes()))
    expected = WorktreeStatus(untracked=sorted(p for p in found if p not in repo.worktree.rows()))
    for path, row in sorted(repo.worktree.rows().items()):
        if row.state == "removed":
            expected.removed.append(path)
        elif path not in found:
            expected.deleted.append(path)
        elif row.head_oid is None:
            expected.added.append(path)
        elif found[path] != (row.head_kind, row.head_oid):
            expected.modified.append(path)
    return expected


@pytest.mark.parametrize("save", ["when_worth_it", "always"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(op, min_size=1, max_size=30))
def test_status_equals_a_hash_of_every_file(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    save: str,
    steps: list[tuple[object, ...]],
) -> None:
    if save == "always":
        # Every refreshed cache saved, as for files large enough (`worth_saving`): the files here are small.
        monkeypatch.setattr(status_check, "worth_saving", lambda refreshed, pack: True)
    root = tmp_path_factory.mktemp("oracle")
    repo = Repository.init(root, SETTINGS)
    try:
        for name in NAMES[:6]:
            apply(repo, root, ("write", name, name.encode()))
        apply(repo, root, ("age",))
        porcelain.commit(repo, "base", addremove=True)
        for step in steps:
            apply(repo, root, step)
            expected = oracle(repo, root)
            # What commit looks at (before status refreshes the cache): every path that differs from HEAD.
            suspects = set(repo.worktree.suspects()[0])
            assert {*expected.modified, *expected.added, *expected.deleted, *expected.removed} <= suspects, step
            assert repo.worktree.status() == expected, step
    finally:
        repo.close()
