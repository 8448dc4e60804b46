"""Kill a real `vcrdt switch` and a real `vcrdt fetch` with SIGKILL while they move the work tree.

A checkout commits its refs, rows and journal before it touches a file, so after every kill the
next command (here `status`) finds the work tree on the old commit or finishes it to the new
one: `status` is clean with nothing untracked, the files equal HEAD's commit byte for byte,
`fsck` is clean, and the plain redo (no --force) lands on the target. Half the kills come at a
random moment of the whole command; the other half wait until the first file changes and land
while the files are being written.
"""

from __future__ import annotations

import functools
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner
from tests.reliability.record import record

RUNS = 50
FILES = 160
Tree = dict[str, tuple[str, bytes]]  # path -> ("file" | "exec" | "link", content or link target)


def _env() -> dict[str, str]:
    return dict(os.environ, VCRDT_AUTHOR_NAME="Crash", VCRDT_AUTHOR_EMAIL="crash@example.com")


def _generation(rng: random.Random, gen: int, *, variant: int) -> Tree:
    """A tree of a few hundred files; consecutive generations differ in almost every path.

    `variant` 0 and 1 also swap some files for directories (and back), drop some files, add
    others, and change an executable and a symlink.
    """
    words = [f"w{i}" for i in range(300)]
    tree: Tree = {}
    for i in range(FILES):
        line = " ".join(rng.choice(words) for _ in range(10))
        tree[f"d{i % 8}/f{i}.txt"] = ("file", (f"gen {gen} file {i}\n" + (line + "\n") * 30).encode())
    for i in range(0, FILES, 10):
        if variant:
            del tree[f"d{i % 8}/f{i}.txt"]
            tree[f"new/n{i}.txt"] = ("file", f"gen {gen} new {i}\n".encode())
    for j in range(4):
        if variant:
            tree[f"t{j}/inside/x"] = ("file", f"gen {gen} dir {j}\n".encode())
        else:
            tree[f"t{j}"] = ("file", f"gen {gen} file {j}\n".encode())
    tree["run.sh"] = ("exec", f"#!/bin/sh\necho {gen}\n".encode())
    tree["link"] = ("link", f"d{gen % 8}/f{gen % 8}.txt".encode())
    return tree


def _write_tree(root: Path, old: Tree, new: Tree) -> None:
    for rel in sorted(set(old) - set(new), reverse=True):
        os.unlink(root / rel)
        parent = (root / rel).parent
        while parent != root and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
    for rel, (kind, data) in sorted(new.items()):
        full = root / rel
        full.parent.mkdir(parents=True, exist_ok=True)
        if full.is_symlink() or full.exists():
            full.unlink()
        if kind == "link":
            os.symlink(data, full)
        else:
            full.write_bytes(data)
            os.chmod(full, 0o755 if kind == "exec" else 0o644)


def _read_tree(root: Path) -> tuple[Tree, list[str]]:
    """The work tree (without `.vcrdt`) as a `Tree`, and its empty directories."""
    tree: Tree = {}
    empty: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        if dirpath == str(root) and ".vcrdt" in dirnames:
            dirnames.remove(".vcrdt")
        if dirpath != str(root) and not dirnames and not filenames:
            empty.append(os.path.relpath(dirpath, root))
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root)
            if os.path.islink(full):
                tree[rel] = ("link", os.fsencode(os.readlink(full)))
            elif os.path.isfile(full):
                mode = os.lstat(full).st_mode
                with open(full, "rb") as fh:
                    tree[rel] = ("exec" if mode & 0o100 else "file", fh.read())
    return tree, empty


def _diff(root: Path, want: Tree) -> list[str]:
    have, empty = _read_tree(root)
    out = [f"wrong or missing: {p}" for p in sorted(want) if have.get(p) != want[p]]
    out += [f"extra: {p}" for p in sorted(set(have) - set(want))]
    out += [f"empty directory left: {d}" for d in empty]
    return out[:10]


def _head(runner: CliRunner) -> tuple[dict[str, object], str]:
    r = runner("status", "--json")
    assert r.code == 0, r.err
    return json.loads(r.out), r.err


def _snapshot(root: Path) -> Callable[[], dict[Path, int | None]]:
    """The mtimes of the work tree's directories as they are now, read again at each call."""
    dirs = [root] + [Path(d) for d, _, _ in os.walk(root) if ".vcrdt" not in Path(d).relative_to(root).parts]

    def read() -> dict[Path, int | None]:
        out: dict[Path, int | None] = {}
        for d in dirs:
            try:
                out[d] = d.stat().st_mtime_ns
            except OSError:  # gone, or a file now where the directory was
                out[d] = None
        return out

    return read


def _watch(root: Path) -> Callable[[], bool]:
    """A probe telling whether the work tree's files started changing (a directory's mtime moved).

    Every write and delete renames or unlinks an entry of some directory, so this sees the first
    file change of any implementation without reading the files.
    """
    read = _snapshot(root)
    before = read()

    def changed() -> bool:
        return read() != before

    return changed


def _run_and_kill(args: list[str], cwd: Path, rng: random.Random, timing: tuple[float, float], in_writes: bool) -> bool:
    """Start `vcrdt ARGS` and SIGKILL it; True if it was still running when killed.

    With `in_writes`, the kill waits for the first file change and lands while files are written.
    """
    duration, write_phase = timing
    changed = _watch(cwd)
    proc = subprocess.Popen(
        [sys.executable, "-m", "vcrdt", *args],
        cwd=cwd,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if in_writes:
        deadline = time.monotonic() + 10 * duration + 5
        while proc.poll() is None and not changed() and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(rng.uniform(0, write_phase))  # the measured phase: the first file change to the last
    else:
        time.sleep(rng.uniform(0.02, duration * 1.05))
    proc.send_signal(signal.SIGKILL)
    return proc.wait() == -signal.SIGKILL


def _calibrate(args: list[str], cwd: Path, undo: Callable[[], None]) -> tuple[float, float]:
    """Time one whole run of `vcrdt ARGS` and its file-writing phase (from the first file change to the last).

    The phase ends at the last change a directory shows, not at the process's end: what follows
    the files (the transaction that clears the journal, the exit) is short or long by the machine,
    and a kill there lands after the checkout, not in it.
    """
    read = _snapshot(cwd)
    last_seen = read()
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "vcrdt", *args], cwd=cwd, env=_env())
    first = last = None
    while proc.poll() is None:
        now = read()
        if now != last_seen:
            last = time.monotonic()
            first = first if first is not None else last
            last_seen = now
        time.sleep(0.002)
    end = time.monotonic()
    if read() != last_seen:
        last = end
        first = first if first is not None else end
    assert proc.returncode == 0
    undo()
    return end - start, max((last or end) - (first or start), 0.01)


def _check_after_kill(
    runner: CliRunner, trees: dict[str, Tree], redo: Callable[[], object], target: str
) -> tuple[list[str], bool]:
    """Every check of one run: the problems found (none: the run survived), and whether a checkout was cut short."""
    problems: list[str] = []
    interrupted = False
    try:
        st, err = _head(runner)  # the first command after the kill: it finishes a checkout cut short
        interrupted = "finished an interrupted checkout" in err
        head = str(st["head"])
        if st["clean"] is not True or st["modified"] or st["deleted"] or st["untracked"]:
            problems.append(f"status not clean after the kill: {st}")
        if head not in trees:
            problems.append(f"HEAD {head} is neither the old nor the new commit")
        else:
            problems += _diff(runner.cwd, trees[head])
        fsck = runner("fsck")
        if fsck.code != 0:
            problems.append(f"fsck: {fsck.out} {fsck.err}")
        redo()
        st, _ = _head(runner)
        if st["head"] != target or st["clean"] is not True or st["untracked"]:
            problems.append(f"after the redo: {st}")
        problems += _diff(runner.cwd, trees[target])
    except Exception as exc:
        problems.append(repr(exc))
    return problems, interrupted


@pytest.mark.slow
def test_sigkill_during_switch(tmp_path: Path, outside: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VCRDT_AUTHOR_NAME", "Crash")
    monkeypatch.setenv("VCRDT_AUTHOR_EMAIL", "crash@example.com")
    rng = random.Random(20261206)
    root = tmp_path / "repo"
    root.mkdir()
    repo = CliRunner(root)
    repo.ok("init")
    main_tree = _generation(rng, 0, variant=0)
    b_tree = _generation(rng, 1, variant=1)
    _write_tree(root, {}, main_tree)
    repo.ok("commit", "-A", "-m", "main")
    repo.ok("switch", "-c", "b")
    _write_tree(root, main_tree, b_tree)
    repo.ok("commit", "-A", "-m", "b")
    heads = {name: json.loads(repo.ok("log", "--json", "-n", "1", name).out)[0]["id"] for name in ("main", "b")}
    trees = {heads["main"]: main_tree, heads["b"]: b_tree}
    assert _diff(root, b_tree) == []
    timing = _calibrate(["switch", "main"], root, lambda: repo.ok("switch", "b"))
    interrupted = 0
    for run in range(RUNS):
        target = "main" if run % 2 == 0 else "b"
        _run_and_kill(["switch", target], root, rng, timing, in_writes=run % 4 < 2)
        problems, cut = _check_after_kill(repo, trees, functools.partial(repo.ok, "switch", target), heads[target])
        interrupted += cut
        record("crash", ok=not problems, op="switch")
        assert not problems, f"run {run} (switch {target}): {problems}"
    assert interrupted >= RUNS // 10, f"only {interrupted} kills landed while files were being written"


@pytest.mark.slow
def test_sigkill_during_fetch_moving_the_checked_out_branch(
    tmp_path: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VCRDT_AUTHOR_NAME", "Crash")
    monkeypatch.setenv("VCRDT_AUTHOR_EMAIL", "crash@example.com")
    rng = random.Random(6122026)
    src_root, dst_root = tmp_path / "src", tmp_path / "dst"
    src_root.mkdir()
    dst_root.mkdir()
    src, dst = CliRunner(src_root), CliRunner(dst_root)
    src.ok("init")
    dst.ok("init")
    trees: dict[str, Tree] = {}
    current: Tree = {}

    def advance(gen: int) -> str:
        nonlocal current
        new = _generation(rng, gen, variant=gen % 2)
        _write_tree(src_root, current, new)
        current = new
        src.ok("commit", "-A", "-m", f"generation {gen}")
        head = str(json.loads(src.ok("log", "--json", "-n", "1").out)[0]["id"])
        trees[head] = new
        return head

    advance(0)
    dst.ok("fetch", str(src_root))
    head = advance(1)

    def calibration_undo() -> None:
        assert _diff(dst_root, trees[head]) == []

    timing = _calibrate(["fetch", str(src_root)], dst_root, calibration_undo)
    interrupted = 0
    for run in range(RUNS):
        target = advance(run + 2)
        _run_and_kill(["fetch", str(src_root)], dst_root, rng, timing, in_writes=run % 4 < 2)
        problems, cut = _check_after_kill(dst, trees, lambda: dst.ok("fetch", str(src_root)), target)
        interrupted += cut
        record("crash", ok=not problems, op="fetch")
        assert not problems, f"run {run} (fetch): {problems}"
    assert interrupted >= RUNS // 10, f"only {interrupted} kills landed while files were being written"
