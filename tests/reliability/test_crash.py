"""Kill a real `vcrdt commit -A` with SIGKILL at random moments; the repository must survive.

Each run changes the work tree (files modified, added and deleted), starts
``commit -A`` and kills it somewhere in its work. Then: ``fsck`` is clean;
HEAD is the commit before or the one being made (a child of the one before,
holding exactly the work tree), nothing else; the work tree is untouched
(commit never writes it); ``status`` lists exactly the paths that differ
from HEAD; every file of every commit made before reads back byte for byte
(one lost file each otherwise); and when the commit did not land, the same
command run again makes it. Each run is logged as one crash run over
``commit`` (tests/reliability/record.py).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tests.reliability.checks import (
    Files,
    KillClock,
    Ledger,
    Run,
    commit_files,
    commit_parents,
    ids_of,
    kill_after,
    report,
    status_problems,
    timed,
    vcrdt_env,
    write_files,
)

RUNS = 20
"""Runs per shape: three shapes, 60 crash runs over commit."""

# name: (files, bytes per file, size of one large file rewritten every third run (0: none))
SHAPES = {
    "many-small": (300, 900, 0),
    "fewer-larger": (80, 16_000, 0),
    "large-file": (40, 3_000, 9 << 20),  # over LARGE_OBJECT: streamed and chunked
}


def _text(rng: random.Random, size: int, tag: str) -> bytes:
    words = [f"w{i}" for i in range(300)]
    lines = [tag]
    while sum(len(s) + 1 for s in lines) < size:
        lines.append(" ".join(rng.choice(words) for _ in range(rng.randint(3, 14))))
    return ("\n".join(lines) + "\n").encode()


def _change(files: Files, rng: random.Random, gen: int, size: int, large: int) -> Files:
    """The next generation: ~30% of files rewritten (often at the same size), some added, some deleted."""
    new = dict(files)
    paths = sorted(p for p in new if not p.startswith("big/"))
    for path in rng.sample(paths, max(1, len(paths) * 3 // 10)):
        old = new[path]
        if rng.random() < 0.5:
            # Same length, different bytes: only the content tells the change.
            new[path] = old[:-2] + bytes([48 + gen % 10]) + b"\n"
        else:
            new[path] = _text(rng, size, f"gen {gen} {path}")
    for path in rng.sample(paths, max(1, len(paths) // 30)):
        del new[path]
    for i in range(max(1, len(paths) // 30)):
        new[f"d{rng.randrange(16)}/new{gen}_{i}.txt"] = _text(rng, size, f"new in gen {gen}")
    if large and gen % 3 == 0:
        new["big/blob.bin"] = rng.randbytes(large)
    return new


@pytest.mark.slow
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_sigkill_during_commit(tmp_path: Path, outside: Path, shape: str) -> None:
    count, size, large = SHAPES[shape]
    rng = random.Random(f"commit-{shape}")
    root = tmp_path / "repo"
    root.mkdir()
    env = vcrdt_env()
    timed(root, "init")
    files: Files = {f"d{i % 16}/f{i}.txt": _text(rng, size, f"file {i}") for i in range(count)}
    if large:
        files["big/blob.bin"] = rng.randbytes(large)
    write_files(root, files)
    duration = timed(root, "commit", "-A", "-m", "generation 0")
    startup = timed(root, "log", "--json", "-n", "1")
    clock = KillClock(rng, startup, duration)
    ledger = Ledger()
    head = Run("setup", root).status()
    assert head is not None and head["head"]
    before: str = head["head"]
    ledger.add(before, files)
    failures = []
    for n in range(1, RUNS + 1):
        run = Run(f"commit/{shape}/{n}", root, env)
        old, files = files, _change(files, rng, n, size, large)
        write_files(root, files, old)
        with run.checking("commit", failures):
            before = _crash_once(run, clock, ledger, before, files, f"generation {n}")
    assert not failures, report(failures)
    assert clock.landed >= RUNS // 3, f"only {clock.landed} of {RUNS} kills landed before the commit ended"


def _crash_once(run: Run, clock: KillClock, ledger: Ledger, before: str, files: Files, message: str) -> str:
    """Kill one `commit -A`, check everything, redo it if it did not land; return the new HEAD."""
    root = run.root
    args = ["commit", "-A", "-m", message]
    kill_after(root, args, clock, run.env)
    run.fsck()
    doc = run.status()
    after = doc["head"] if doc else None
    if after is not None and after != before:
        # The commit landed whole: a child of the old head, holding the work tree.
        run.check(commit_parents(root, after) == [before], f"HEAD {after[:12]} is not a child of {before[:12]}")
        run.check(commit_files(root, after) == ids_of(files), "the new commit does not hold the work tree")
        ledger.add(after, files)
    run.disk_is(files, "as the test left it")
    if doc is not None and after in ledger.commits:
        run.problems += status_problems(doc, ledger.commits[after], files)
    run.data(ledger)
    if after != before:
        return after if after in ledger.commits else before
    redo = run.cli(*args, "--json")
    if redo is None:
        return before
    after = json.loads(redo.stdout)["id"]
    run.check(commit_parents(root, after) == [before], "the redone commit is not a child of HEAD")
    run.check(commit_files(root, after) == ids_of(files), "the redone commit does not hold the work tree")
    ledger.add(after, files)
    return after
