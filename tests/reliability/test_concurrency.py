"""Two or three vcrdt processes at once on one repository: race rounds.

Each round starts real ``vcrdt`` processes together (in a shuffled order, a
few milliseconds apart, with a busy timeout drawn from 0 to 30 s), then checks:

- every process either succeeded or was refused with the clean one-line
  ``error: repository is busy`` (exit 1), never a traceback;
- what a process that succeeded did is there whole (a commit is a child of
  the head before, or of another commit of the round, and holds the work
  tree; a created branch points at a head the round saw; a fetch brought
  the peer's head), and what a refused process would have done is not;
- readers (``status``, ``log``) saw HEAD before or after a commit, and
  ``status`` listed exactly what differs between the HEAD it saw and the disk;
- ``fsck`` is clean (refs point at complete commits) and every file of every
  commit landed so far reads back byte for byte.

Each round is logged as one race round (tests/reliability/record.py); four
races of `ROUNDS` rounds each.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cli import vcrdt_subprocess
from tests.reliability.checks import (
    Files,
    Ledger,
    Run,
    commit_files,
    commit_parents,
    ids_of,
    read_disk,
    status_problems,
    vcrdt_env,
    write_files,
)
from tests.reliability.record import record

ROUNDS = 10
TIMEOUTS = ["0", "0.05", "0.3", "30"]
BUSY = "error: repository is busy"


@dataclass
class Outcome:
    name: str
    code: int
    out: bytes
    err: str

    @property
    def ok(self) -> bool:
        return self.code == 0

    def json(self) -> Any:
        return json.loads(self.out)


def _race(rng: random.Random, env: dict[str, str], procs: dict[str, tuple[Path, list[str]]]) -> dict[str, Outcome]:
    """Start every process of `procs` (name -> cwd, vcrdt arguments) at nearly the same time; wait for all."""
    order = list(procs)
    rng.shuffle(order)
    started = {}
    for name in order:
        cwd, args = procs[name]
        started[name] = subprocess.Popen(
            [sys.executable, "-m", "vcrdt", *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        time.sleep(rng.uniform(0, 0.08))
    outcomes = {}
    for name, proc in started.items():
        out, err = proc.communicate(timeout=120)
        outcomes[name] = Outcome(name, proc.returncode, out, err.decode(errors="replace"))
    return outcomes


def _clean_refusals(run: Run, outcomes: dict[str, Outcome]) -> None:
    """Every process succeeded, or was refused as busy with one clean line."""
    for o in outcomes.values():
        if o.ok and "Traceback" not in o.err:
            continue
        clean = o.code == 1 and o.err.startswith(BUSY) and "Traceback" not in o.err and o.err.count("\n") <= 2
        run.check(clean, f"{o.name} exited {o.code}: {o.err.strip()[-300:]}")


def _next_files(files: Files, rng: random.Random, n: int) -> Files:
    new = dict(files)
    for path in rng.sample(sorted(new), 8):
        new[path] = f"round {n} {path}\n".encode() * rng.randint(1, 60)
    del new[rng.choice(sorted(new))]
    new[f"d{n % 4}/r{n}.txt"] = f"added in round {n}\n".encode()
    return new


def _setup(root: Path, rng: random.Random, branch: str = "main") -> tuple[Files, Ledger, str]:
    root.mkdir()
    env = vcrdt_env()
    assert vcrdt_subprocess("init", "-b", branch, cwd=root, env=env).returncode == 0
    files = {f"d{i % 4}/f{i}.txt": f"file {i}\n".encode() * rng.randint(1, 80) for i in range(60)}
    write_files(root, files)
    r = vcrdt_subprocess("commit", "-A", "-m", "base", "--json", cwd=root, env=env)
    assert r.returncode == 0, r.stderr
    head = json.loads(r.stdout)["id"]
    ledger = Ledger()
    ledger.add(head, files)
    return files, ledger, head


def _landed_commits(run: Run, outcomes: list[Outcome], before: str, files: Files, ledger: Ledger) -> str:
    """Check the commits of a round; return the new head (`before` if none landed)."""
    ids = {o.json()["id"] for o in outcomes if o.ok}
    head = before
    for oid in ids:
        parents = commit_parents(run.root, oid)
        run.check(parents == [before] or parents[0] in ids, f"commit {oid[:12]} has parents {parents}")
        run.check(commit_files(run.root, oid) == ids_of(files), f"commit {oid[:12]} does not hold the work tree")
        ledger.add(oid, files)
    # The landed commits form one line on top of `before`: the one no other names as parent is the head.
    tips = [oid for oid in ids if not any(commit_parents(run.root, o) == [oid] for o in ids)]
    if ids:
        run.check(len(tips) == 1, f"{len(ids)} commits landed, not in one line")
        head = tips[0] if tips else before
    return head


def _branches(run: Run) -> dict[str, list[str]]:
    r = run.cli("branch", "--json")
    return {b["name"]: b["heads"] for b in json.loads(r.stdout)} if r is not None else {}


def _finish_round(run: Run, ledger: Ledger, head: str, lost_elsewhere: int = 0) -> None:
    """The round's last checks (fsck, every commit intact, HEAD the last commit landed); log the round."""
    run.fsck()
    run.data(ledger)
    doc = run.status()
    if doc is not None:
        run.check(doc["head"] == head, f"HEAD is {doc['head']}, not the last commit landed {head}")
    if run.lost + lost_elsewhere:
        record("lost", n=run.lost + lost_elsewhere, name=run.name)
    record("race", ok=not run.problems, name=run.name)


@pytest.mark.slow
def test_race_committers(tmp_path: Path, outside: Path) -> None:
    """Three commits at once: each lands whole on top of the others, or is refused as busy."""
    rng = random.Random("committers")
    root = tmp_path / "repo"
    files, ledger, head = _setup(root, rng)
    failures = []
    for n in range(ROUNDS):
        run = Run(f"race/committers/{n}", root, vcrdt_env(VCRDT_BUSY_TIMEOUT=rng.choice(TIMEOUTS)))
        old, files = files, _next_files(files, rng, n)
        write_files(root, files, old)
        procs = {f"commit {k}": (root, ["commit", "-A", "--allow-empty", "-m", f"r{n} {k}", "--json"]) for k in "abc"}
        outcomes = _race(rng, run.env, procs)
        _clean_refusals(run, outcomes)
        head = _landed_commits(run, list(outcomes.values()), head, files, ledger)
        _finish_round(run, ledger, head)
        failures += [f"{run.name}: {p}" for p in run.problems]
    assert not failures, "\n".join(failures)


@pytest.mark.slow
def test_race_commit_fetch_into_and_branch(tmp_path: Path, outside: Path) -> None:
    """A commit, a fetch into the same repository and a branch creation at once."""
    rng = random.Random("fetch-into")
    root, peer = tmp_path / "repo", tmp_path / "peer"
    files, ledger, head = _setup(root, rng)
    peer_files, peer_ledger, peer_head = _setup(peer, rng, branch="peer")
    fetched = None  # what `peer` is in the repository
    failures = []
    for n in range(ROUNDS):
        run = Run(f"race/fetch-into/{n}", root, vcrdt_env(VCRDT_BUSY_TIMEOUT=rng.choice(TIMEOUTS)))
        old, files = files, _next_files(files, rng, n)
        write_files(root, files, old)
        old, peer_files = peer_files, _next_files(peer_files, rng, n)
        write_files(peer, peer_files, old)
        r = vcrdt_subprocess("commit", "-A", "-m", f"peer {n}", "--json", cwd=peer, env=vcrdt_env())
        assert r.returncode == 0, r.stderr
        peer_head = json.loads(r.stdout)["id"]
        peer_ledger.add(peer_head, peer_files)
        procs = {
            "commit": (root, ["commit", "-A", "-m", f"r{n}", "--json"]),
            "fetch": (root, ["fetch", str(peer), "--json"]),
            "branch": (root, ["branch", f"b{n}"]),
        }
        outcomes = _race(rng, run.env, procs)
        _clean_refusals(run, outcomes)
        before = head
        head = _landed_commits(run, [outcomes["commit"]], before, files, ledger)
        branches = _branches(run)
        if outcomes["fetch"].ok:
            fetched = peer_head
            ledger.commits.update(peer_ledger.commits)
        run.check(branches.get("peer") == ([fetched] if fetched else None), f"peer is {branches.get('peer')}")
        want_branch = [[before], [head]] if outcomes["branch"].ok else [None]
        run.check(branches.get(f"b{n}") in want_branch, f"b{n} is {branches.get(f'b{n}')}")
        _finish_round(run, ledger, head)
        failures += [f"{run.name}: {p}" for p in run.problems]
    assert not failures, "\n".join(failures)


@pytest.mark.slow
def test_race_commit_while_fetched_from(tmp_path: Path, outside: Path) -> None:
    """A commit and a status in one repository while another fetches from it."""
    rng = random.Random("fetch-from")
    root, other = tmp_path / "repo", tmp_path / "other"
    files, ledger, head = _setup(root, rng)
    other.mkdir()
    assert vcrdt_subprocess("init", cwd=other, env=vcrdt_env()).returncode == 0
    failures = []
    for n in range(ROUNDS):
        run = Run(f"race/fetch-from/{n}", root, vcrdt_env(VCRDT_BUSY_TIMEOUT=rng.choice(TIMEOUTS)))
        old, files = files, _next_files(files, rng, n)
        write_files(root, files, old)
        before = head
        procs = {
            "commit": (root, ["commit", "-A", "-m", f"r{n}", "--json"]),
            "status": (root, ["status", "--json"]),
            "fetch": (other, ["fetch", str(root), "--json"]),
        }
        outcomes = _race(rng, run.env, procs)
        _clean_refusals(run, outcomes)
        head = _landed_commits(run, [outcomes["commit"]], before, files, ledger)
        if outcomes["status"].ok:
            _reader_saw(run, outcomes["status"].json(), {before: ledger.commits[before], head: ledger.commits[head]})
        # The other replica: whole, on a head the source had, with its work tree following.
        there = Run(f"{run.name}/other", other, run.env)
        there.fsck()
        doc = there.status()
        if doc is not None:
            run.check(doc["head"] in ledger.commits, f"the fetching replica is at {doc['head']}, not a landed commit")
            if doc["head"] in ledger.commits:
                want = ledger.commits[doc["head"]]
                run.check(ids_of(read_disk(other)) == want, "the fetching replica's work tree is not its HEAD")
                there.data(Ledger({doc["head"]: want}))
        run.problems += there.problems
        _finish_round(run, ledger, head, there.lost)
        failures += [f"{run.name}: {p}" for p in run.problems]
    assert not failures, "\n".join(failures)


def _reader_saw(run: Run, doc: dict[str, Any], heads: dict[str, dict[str, str]]) -> None:
    """A `status --json` taken during a commit saw one of `heads`, and listed what differs from it."""
    if run.check(doc["head"] in heads, f"status saw HEAD {doc['head']}, neither before nor after the commit"):
        run.problems += [
            f"status during a commit: {p}" for p in status_problems(doc, heads[doc["head"]], read_disk(run.root))
        ]


@pytest.mark.slow
def test_race_readers_and_a_committer(tmp_path: Path, outside: Path) -> None:
    """`status` and `log` while a commit lands: each sees HEAD before or after, whole."""
    rng = random.Random("readers")
    root = tmp_path / "repo"
    files, ledger, head = _setup(root, rng)
    failures = []
    for n in range(ROUNDS):
        run = Run(f"race/readers/{n}", root, vcrdt_env(VCRDT_BUSY_TIMEOUT=rng.choice(TIMEOUTS)))
        old, files = files, _next_files(files, rng, n)
        write_files(root, files, old)
        before = head
        procs = {
            "commit": (root, ["commit", "-A", "-m", f"r{n}", "--json"]),
            "status": (root, ["status", "--json"]),
            "log": (root, ["log", "--json", "-n", "1"]),
        }
        outcomes = _race(rng, run.env, procs)
        _clean_refusals(run, outcomes)
        head = _landed_commits(run, [outcomes["commit"]], before, files, ledger)
        seen = {before: ledger.commits[before], head: ledger.commits[head]}
        if outcomes["status"].ok:
            _reader_saw(run, outcomes["status"].json(), seen)
        if outcomes["log"].ok:
            top = outcomes["log"].json()[0]["id"]
            run.check(top in seen, f"log saw {top}, neither before nor after the commit")
        _finish_round(run, ledger, head)
        failures += [f"{run.name}: {p}" for p in run.problems]
    assert not failures, "\n".join(failures)


def test_fsck_reads_one_snapshot_while_another_process_commits(tmp_path: Path) -> None:
    """A commit landing in the middle of fsck is not mistaken for a ref naming missing objects."""
    from collections.abc import Callable, Iterator

    from vcrdt import porcelain
    from vcrdt.errors import VcrdtError
    from vcrdt.ids import ObjectId
    from vcrdt.repo import Repository, Settings

    settings = Settings(author_name="Ada", author_email="ada@example.com")
    root = tmp_path / "r"
    porcelain.init(root, settings)
    (root / "f.txt").write_text("one\n")
    with Repository.discover(root, settings) as a, Repository.discover(root, settings) as b:
        porcelain.commit(a, "one", addremove=True)
        real = a.store.verify_all

        def during(on_progress: Callable[[int, int], None] | None = None) -> Iterator[tuple[ObjectId, VcrdtError]]:
            (root / "g.txt").write_text("two\n")
            porcelain.commit(b, "two", addremove=True)  # the other writer, on its own connection
            yield from real(on_progress)

        a.store.verify_all = during  # type: ignore[method-assign]
        result = porcelain.fsck(a)
        assert result.problems == []
        a.store.verify_all = real  # type: ignore[method-assign]
        after = porcelain.fsck(a)  # and afterwards the new commit checks out too
        assert after.problems == [] and after.reachable > result.reachable
