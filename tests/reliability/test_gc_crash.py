"""Kill a real `vcrdt gc --prune=now` with SIGKILL at random moments; nothing reachable may be lost.

Each run commits a generation that stays (on ``main``), then two that a
``reset --hard`` leaves to the undo log alone, asks ``gc --dry-run`` how many
objects a gc would remove, starts ``gc --prune=now`` and kills it somewhere in
its work (walking the history, deleting, compacting the file). Then: ``fsck``
is clean; the store holds every object it held or exactly the ones a gc keeps
(the deletion is one transaction: all of it or none); HEAD is the commit that
stays; every commit on ``main`` reads back byte for byte; and the same gc run
again leaves exactly what the dry run said, with nothing unreachable. Each run
is logged as one crash run over ``gc`` (tests/reliability/record.py).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tests.reliability.checks import Files, KillClock, Ledger, Run, kill_after, report, timed, vcrdt_env, write_files

RUNS = 24
FILES = 200
SIZE = 8_000


def _text(rng: random.Random, size: int, tag: str) -> bytes:
    words = [f"w{i}" for i in range(400)]
    lines = [tag]
    while sum(len(s) + 1 for s in lines) < size:
        lines.append(" ".join(rng.choice(words) for _ in range(rng.randint(3, 14))))
    return ("\n".join(lines) + "\n").encode()


def _change(files: Files, rng: random.Random, tag: str) -> Files:
    new = dict(files)
    for path in rng.sample(sorted(new), len(new) // 3):
        new[path] = _text(rng, SIZE, f"{tag} {path}")
    return new


def _head(root: Path) -> str:
    run = Run("head", root)
    doc = run.status()
    assert doc is not None and not run.problems, run.problems
    return str(doc["head"])


def _objects(run: Run) -> dict[str, int] | None:
    r = run.cli("fsck", "--json")
    if r is None:
        return None
    doc = json.loads(r.stdout)
    return {"objects": int(doc["objects"]), "unreachable": int(doc["unreachable"])}


def _generations(root: Path, rng: random.Random, files: Files, n: int) -> tuple[Files, str]:
    """Commit a generation that stays and two that a hard reset drops; return the files and commit that stay."""
    kept = _change(files, rng, f"kept {n}")
    write_files(root, kept, files)
    timed(root, "commit", "-A", "-m", f"kept {n}")
    head = _head(root)
    previous = kept
    for g in range(2):
        dropped = _change(previous, rng, f"dropped {n}.{g}")
        write_files(root, dropped, previous)
        timed(root, "commit", "-A", "-m", f"dropped {n}.{g}")
        previous = dropped
    timed(root, "reset", "--hard", head)
    return kept, head


@pytest.mark.slow
def test_sigkill_during_gc(tmp_path: Path, outside: Path) -> None:
    rng = random.Random("gc")
    root = tmp_path / "repo"
    root.mkdir()
    env = vcrdt_env()
    timed(root, "init")
    files: Files = {f"d{i % 8}/f{i}.txt": _text(rng, SIZE, f"file {i}") for i in range(FILES)}
    write_files(root, files)
    timed(root, "commit", "-A", "-m", "generation 0")
    ledger = Ledger()
    ledger.add(_head(root), files)
    files, head = _generations(root, rng, files, 0)
    ledger.add(head, files)
    startup = timed(root, "log", "--json", "-n", "1")
    duration = timed(root, "gc", "--prune=now")
    # gc's own work is short next to Python's start-up: begin the kill window a little earlier.
    clock = KillClock(rng, startup * 0.8, duration)
    failures = []
    for n in range(1, RUNS + 1):
        files, head = _generations(root, rng, files, n)
        ledger.add(head, files)
        run = Run(f"gc/{n}", root, env)
        with run.checking("gc", failures):
            _crash_once(run, clock, ledger, head)
    assert not failures, report(failures)
    assert clock.landed >= RUNS // 3, f"only {clock.landed} of {RUNS} kills landed before gc ended"


def _crash_once(run: Run, clock: KillClock, ledger: Ledger, head: str) -> None:
    before = _objects(run)
    plan = run.cli("gc", "--prune=now", "--dry-run", "--json")
    if before is None or plan is None:
        return
    removes = int(json.loads(plan.stdout)["removed"])
    run.check(removes > 0, "the dropped generations left nothing for gc to remove")
    after = before["objects"] - removes
    kill_after(run.root, ["gc", "--prune=now"], clock, run.env)
    run.fsck()
    now = _objects(run)
    if now is not None:
        run.check(
            now["objects"] in (before["objects"], after),
            f"the store holds {now['objects']} objects: neither all {before['objects']} nor the {after} gc keeps",
        )
    doc = run.status()
    if doc is not None:
        run.check(doc["head"] == head, f"HEAD moved to {doc['head']} (was {head})")
    run.data(ledger)
    if run.cli("gc", "--prune=now") is None:
        return
    run.fsck()
    done = _objects(run)
    if done is not None:
        run.check(done["objects"] == after, f"after gc again the store holds {done['objects']}, not {after}")
        run.check(done["unreachable"] == 0, f"{done['unreachable']} unreachable objects left after gc again")
