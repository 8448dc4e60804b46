"""Kill a real `vcrdt merge` with SIGKILL at random moments, during a merge that writes 1000 files.

Two histories over 2000 files: ``side`` changes 1000 of them (and adds and
deletes a few), ``main`` the other 1000; in the ``conflicts`` variant both
also change five files in the same line. Each run copies that repository,
starts ``merge side`` and kills it somewhere in its work. Then:

- ``fsck`` is clean and every file of base, side and main reads back byte for
  byte (one lost file each otherwise);
- HEAD is main or the merge commit (a child of main and side holding the
  merged files), nothing else;
- the work tree is exactly one whole state, never half of one: main's files
  (the merge did not happen) or the merge's result (it completed; with
  conflicts: the merge is in progress, with the conflicted files);
- ``status`` lists exactly the paths that differ between HEAD and the disk;
- a merge that did not complete can be redone without ``--force`` (a merge
  in progress is first aborted with ``merge --abort``, which must restore main),
  and the redo gives the same result as an uninterrupted merge.

Each run is logged as one crash run over ``merge``.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cli import vcrdt_subprocess
from tests.reliability.checks import (
    Files,
    KillClock,
    Ledger,
    Run,
    commit_files,
    commit_parents,
    ids_of,
    kill_after,
    read_disk,
    report,
    status_problems,
    timed,
    vcrdt_env,
    write_files,
)

RUNS = 15
"""Runs per variant and seed: two variants, two seeds, 60 crash runs over merge."""
FILES = 2000
CONFLICTS = 5


@dataclass
class Template:
    """A repository on main, ready to merge side, and what an uninterrupted merge gives."""

    root: Path
    base: str
    side: str
    main: str
    main_files: Files
    ledger: Ledger
    result: Files  # the work tree after the merge
    result_status: dict[str, Any]  # `status --json` after the merge
    merged: dict[str, str] | None  # the merge commit's files (clean variant)
    startup: float
    duration: float


def _histories(conflicts: bool) -> tuple[Files, Files, Files]:
    """Base, side and main: each side changes its half of the files; with `conflicts`, both change a few."""
    base = {f"d{i % 20}/f{i}.txt": "".join(f"line {k} of file {i}\n" for k in range(12)).encode() for i in range(FILES)}
    side, main = dict(base), dict(base)
    for i in range(FILES):
        path = f"d{i % 20}/f{i}.txt"
        if i % 2 == 0:
            side[path] = base[path] + b"appended on side\n"
        else:
            main[path] = b"prepended on main\n" + base[path]
    for i in range(10):
        side[f"new/s{i}.txt"] = f"added on side {i}\n".encode()
        gone = FILES - 2 - 2 * i  # even: a file main leaves alone
        del side[f"d{gone % 20}/f{gone}.txt"]
    if conflicts:
        for i in range(1, 2 * CONFLICTS, 2):
            path = f"d{i % 20}/f{i}.txt"
            side[path] = base[path].replace(b"line 6 ", b"side's line 6 ")
            main[path] = main[path].replace(b"line 6 ", b"main's line 6 ")
    return base, side, main


def _build(where: Path, conflicts: bool) -> Template:
    root = where / "template"
    root.mkdir()
    base, side, main = _histories(conflicts)
    ledger = Ledger()
    timed(root, "init")
    write_files(root, base)
    ids = {}
    for name, files in (("base", base), ("side", side), ("main", main)):
        if name == "side":
            timed(root, "switch", "-c", "side")
        elif name == "main":
            timed(root, "switch", "main")
        if name != "base":
            write_files(root, files, base)
        timed(root, "commit", "-A", "-m", name)
        r = vcrdt_subprocess("log", "--json", "-n", "1", cwd=root, env=vcrdt_env())
        ids[name] = json.loads(r.stdout)[0]["id"]
        ledger.add(ids[name], files)
    startup = timed(root, "log", "--json", "-n", "1")
    # One uninterrupted merge in a copy: its duration, and the result every redo must give.
    trial = where / "trial"
    shutil.copytree(root, trial, symlinks=True)
    run = Run("trial", trial)
    duration = timed(trial, "merge", "side", "--json") if not conflicts else _timed_conflicted(run)
    doc = run.status()
    assert doc is not None and not run.problems, run.problems
    # The reference merge is checked too: main plus side's changes (the conflicted files aside).
    want = {p: d for p, d in main.items() if p in side}
    want.update({p: d for p, d in side.items() if d != base.get(p)})
    result = read_disk(trial)
    merged = None
    if not conflicts:
        assert doc["merging"] is None and doc["clean"]
        merged = commit_files(trial, doc["head"])
        assert merged == ids_of(want) and result == want
    else:
        assert doc["merging"] == ids["side"] and len(doc["conflicted"]) == CONFLICTS
        assert {p: d for p, d in result.items() if p not in doc["conflicted"]} == {
            p: d for p, d in want.items() if p not in doc["conflicted"]
        }
    template = Template(
        root, ids["base"], ids["side"], ids["main"], main, ledger, result, doc, merged, startup, duration
    )
    shutil.rmtree(trial)
    return template


def _timed_conflicted(run: Run) -> float:
    import time

    start = time.monotonic()
    r = run.cli("merge", "side", "--json", codes=(1,))
    assert r is not None and json.loads(r.stdout)["status"] == "conflicts", run.problems
    return time.monotonic() - start


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Template]]:
    """The two prepared repositories, built once per test process when first asked for."""
    built: dict[str, Template] = {}

    def get(variant: str) -> Template:
        if variant not in built:
            built[variant] = _build(tmp_path_factory.mktemp(f"merge-{variant}"), variant == "conflicts")
        return built[variant]

    yield get


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("variant", ["clean", "conflicts"])
def test_sigkill_during_merge(
    tmp_path: Path, outside: Path, templates: Callable[[str], Template], variant: str, seed: int
) -> None:
    t = templates(variant)
    rng = random.Random(f"merge-{variant}-{seed}")
    clock = KillClock(rng, t.startup, t.duration)
    failures = []
    for n in range(1, RUNS + 1):
        root = tmp_path / f"run{n}"
        shutil.copytree(t.root, root, symlinks=True)
        run = Run(f"merge/{variant}/{seed}/{n}", root)
        with run.checking("merge", failures):
            _crash_once(run, clock, t)
        shutil.rmtree(root)
    assert not failures, report(failures)
    assert clock.landed >= RUNS // 3, f"only {clock.landed} of {RUNS} kills landed before the merge ended"


def _crash_once(run: Run, clock: KillClock, t: Template) -> None:
    conflicts = t.merged is None
    kill_after(run.root, ["merge", "side"], clock, run.env)
    run.fsck()
    ledger = Ledger(dict(t.ledger.commits))
    doc = run.status()
    if doc is None:
        run.data(ledger)
        return
    head, merging = doc["head"], doc["merging"]
    completed = False
    if head == t.main and merging is None:
        run.disk_is(t.main_files, "main's (the merge did not happen)")
        run.problems += status_problems(doc, ledger.commits[t.main], read_disk(run.root))
    elif conflicts and head == t.main and merging == t.side:
        # The conflicted merge went through: its files are there, and --abort brings main back.
        run.disk_is(t.result, "the conflicted merge's")
        run.problems += status_problems(doc, ledger.commits[t.main], read_disk(run.root))
        run.check(doc["conflicted"] == t.result_status["conflicted"], f"conflicted paths are {doc['conflicted']}")
        if run.cli("merge", "--abort") is not None:
            run.disk_is(t.main_files, "main's after merge --abort")
            after = run.status()
            run.check(after is not None and after["clean"], "status is not clean after merge --abort")
    elif not conflicts and head != t.main and merging is None:
        completed = True
        run.check(commit_parents(run.root, head) == [t.main, t.side], f"HEAD {head[:12]} is not main + side")
        run.check(commit_files(run.root, head) == t.merged, "the merge commit does not hold the merged files")
        run.disk_is(t.result, "the merge's result")
        run.problems += status_problems(doc, commit_files(run.root, head), read_disk(run.root))
        ledger.commits[head] = dict(t.merged or {})
    else:
        run.problems.append(f"HEAD {head}, merging {merging}: neither main nor the merge")
    run.data(ledger)
    if completed:
        return
    # Redo the same command: it completes as an uninterrupted merge does.
    r = run.cli("merge", "side", "--json", codes=(1,) if conflicts else (0,))
    if r is None:
        return
    if not r.stdout.strip():  # exit 1 without a result: refused, not stopped by conflicts
        run.problems.append(f"`vcrdt merge side` was refused: {r.stderr.decode(errors='replace').strip()[-300:]}")
        return
    out = json.loads(r.stdout)
    run.disk_is(t.result, "the redone merge's result")
    if conflicts:
        got = sorted(c["path"] for c in out["conflicts"])
        run.check(got == t.result_status["conflicted"], f"the redone merge conflicts in {got}")
    else:
        run.check(commit_parents(run.root, out["commit"]) == [t.main, t.side], "the redone merge is not main + side")
        run.check(commit_files(run.root, out["commit"]) == t.merged, "the redone merge commit differs")
