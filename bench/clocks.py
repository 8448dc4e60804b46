"""Clock sizes: version vectors with gaps (format 2) against the actor clocks of format 1, on one history.

Usage: python bench/clocks.py [--commits N] [--replicas R] [--seed S] [--workdir DIR]

R replicas (default 5) make N commits (default 10,000) through the porcelain, in process: commits
on a few shared branch names (switching and creating branches at random), merges of one local
branch into another, branch deletions (their commits never merged: gaps that stay open), fetches
in random pairs and `merge --auto` of the siblings a fetch brings (convergent merges). Each
replica edits its own file per branch, so no merge conflicts.

Then it prints, over every commit made (convergent merges included):

- ``new``: the clocks vcrdt wrote (one key per replica; `gaps` line for counters not in the
  history): the largest clock's keys, gap ranges and bytes (its `clock` and `gaps` lines);
- ``old``: the clocks format 1 would have written for the same DAG, replayed here with its rule
  (a replica keeps an actor while its new commit has the actor's last commit as a parent, else a
  fresh random actor; a convergent merge has an actor of its own): keys and bytes.

and checks, on a sample of pairs, that the clock relation is the DAG's. It is a report: exit 0.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

from vcrdt import porcelain
from vcrdt.dag import causal_relation, read_commit
from vcrdt.errors import VcrdtError
from vcrdt.ids import ObjectId, ReplicaId
from vcrdt.objects import Commit, Signature, format_gaps, is_convergent_commit
from vcrdt.repo import Repository, Settings

SETTINGS = Settings(author_name="Bench", author_email="bench@example.com")
SETTINGS_SIGNATURE = Signature("Bench", "bench@example.com", 0, 0)
BRANCHES = ["main", "topic1", "topic2", "topic3"]


class Driver:
    """The replicas, the random program, and every commit made (with the replica that made it)."""

    def __init__(self, root: Path, replicas: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.roots = [root / f"r{i}" for i in range(replicas)]
        for r in self.roots:
            porcelain.init(r, SETTINGS)
        self.repos = [Repository.discover(r, SETTINGS) for r in self.roots]
        self.made: list[tuple[int, ObjectId]] = []  # creation order, first time each commit appears
        self.commits: dict[ObjectId, Commit] = {}
        self.stats = {
            "commits": 0,
            "local merges": 0,
            "convergent merges": 0,
            "fetches": 0,
            "deletions": 0,
            "merges abandoned": 0,
        }
        self.serial = 0
        self.old = OldClocks()
        empty = Commit(ObjectId(bytes(32)), (), SETTINGS_SIGNATURE, "", ReplicaId("0" * 32), 0, ())
        self.most_keys = self.most_bytes = empty

    def progress(self, started: float) -> str:
        """One line: commits so far, the largest clocks (new and old)."""
        mk, mb, om = self.most_keys, self.most_bytes, self.old.most
        return (
            f"{len(self.commits)} commits, {time.perf_counter() - started:.0f} s: new most keys {len(mk.clock)}"
            f" ({sum(len(g) for _, g in mk.gaps)} gap ranges, {clock_bytes(mk)} bytes), new most bytes"
            f" {clock_bytes(mb)}; old most keys {len(om)} ({old_size(om)} bytes)"
        )

    def close(self) -> None:
        for r in self.repos:
            r.close()

    def _note_head(self, who: int) -> None:
        """Record the commits new to the driver below HEAD (a fold of siblings makes several), parents first."""
        head = self.repos[who].head_commit()
        new: dict[ObjectId, Commit] = {}
        stack = [head] if head is not None and head not in self.commits else []
        while stack:
            oid = stack.pop()
            c = read_commit(self.repos[who].store, oid)
            new[oid] = c
            stack += [p for p in c.parents if p not in self.commits and p not in new]
        for oid, c in sorted(new.items(), key=lambda kv: kv[1].lamport):
            self.commits[oid] = c
            self.made.append((who, oid))
            self.old.add(who, oid, c)
            if len(c.clock) > len(self.most_keys.clock) or (
                len(c.clock) == len(self.most_keys.clock) and clock_bytes(c) > clock_bytes(self.most_keys)
            ):
                self.most_keys = c
            if clock_bytes(c) > clock_bytes(self.most_bytes):
                self.most_bytes = c

    def _auto(self, who: int) -> None:
        repo = self.repos[who]
        if repo.refs.head().siblings:
            porcelain.merge(repo, None, auto=True)
            self.stats["convergent merges"] += 1
            self._note_head(who)

    def settle(self) -> None:
        """Close the open branches: every replica merges its topic branches into main, then all sync."""
        for who, repo in enumerate(self.repos):
            if self._branch(who) != "main":
                porcelain.switch(repo, "main", force=True)
        for _ in range(3):
            for who, repo in enumerate(self.repos):
                for src in range(len(self.repos)):
                    if src != who:
                        porcelain.fetch(repo, self.roots[src])
                self._auto(who)
                for name in BRANCHES[1:]:
                    if repo.refs.exists("refs/heads/" + name):
                        try:
                            outcome = porcelain.merge(repo, name, message="merge")
                        except VcrdtError:
                            continue
                        if outcome.status == "conflicts":
                            porcelain.merge_abort(repo)
                        else:
                            self._note_head(who)

    def _branch(self, who: int) -> str:
        head = self.repos[who].refs.head().branch or ""
        return head.removeprefix("refs/heads/")

    def commit(self, who: int) -> None:
        repo = self.repos[who]
        self._auto(who)
        self.serial += 1
        path = repo.root / f"r{who}-{self._branch(who)}.txt"
        path.write_text(f"{self.serial}\n")
        porcelain.commit(repo, f"c{self.serial}", addremove=True)
        self.stats["commits"] += 1
        self._note_head(who)

    def step(self) -> None:
        who = self.rng.randrange(len(self.repos))
        repo = self.repos[who]
        roll = self.rng.random()
        here = self._branch(who)
        if roll < 0.06:  # switch to (or create) another branch
            name = self.rng.choice(BRANCHES)
            if name != here:
                porcelain.switch(repo, name, create=not repo.refs.exists("refs/heads/" + name), force=True)
            self.commit(who)
        elif roll < 0.12:  # merge another local branch into this one
            others = [b for b in BRANCHES if b != here and repo.refs.exists("refs/heads/" + b)]
            if others:
                self._auto(who)
                try:
                    outcome = porcelain.merge(repo, self.rng.choice(others), message="merge")
                except VcrdtError:
                    return  # that branch has siblings to join first
                if outcome.status == "conflicts":  # a criss-cross whose virtual base kept markers
                    porcelain.merge_abort(repo)
                    self.stats["merges abandoned"] += 1
                else:
                    self.stats["local merges"] += 1
                    self._note_head(who)
        elif roll < 0.13:  # delete a branch, merged or not
            # Only a branch whose heads every replica holds: a fetch that meets the tombstone of a
            # head it lacks fails ("object ... not found", a defect of the ref tombstones).
            others = [
                b
                for b in BRANCHES[1:]
                if b != here
                and repo.refs.exists("refs/heads/" + b)
                and all(r.store.has(h) for r in self.repos for h in repo.refs.heads("refs/heads/" + b))
            ]
            if others:
                porcelain.branch_delete(repo, self.rng.choice(others), force=True)
                self.stats["deletions"] += 1
        elif roll < 0.30:  # fetch from another replica, then join the siblings it brought
            src = self.rng.randrange(len(self.repos))
            if src != who:
                porcelain.fetch(repo, self.roots[src])
                self.stats["fetches"] += 1
                self._auto(who)
        else:
            self.commit(who)


def clock_text(c: Commit) -> str:
    """The clock as `log --clock` shows it: ``0123abcd:9 except 3-5,7``."""
    gaps = dict(c.gaps)
    return ", ".join(f"{r[:8]}:{k}" + (f" except {format_gaps(gaps[r])}" if r in gaps else "") for r, k in c.clock)


def clock_bytes(c: Commit) -> int:
    """Bytes of the commit's `clock` line and `gaps` line (if any), newlines included."""
    n = len("clock " + " ".join(f"{r}={k}" for r, k in c.clock)) + 1
    if c.gaps:
        n += len("gaps " + " ".join(f"{r}={format_gaps(g)}" for r, g in c.gaps)) + 1
    return n


class OldClocks:
    """The format-1 clocks of the same commits, replayed as they are made.

    Actors are continued only along their own last commit.
    """

    def __init__(self) -> None:
        self.actors: dict[int, dict[str, ObjectId]] = {}
        self.rng = random.Random(0)
        self.clocks: dict[ObjectId, dict[str, int]] = {}
        self.most: dict[str, int] = {}

    def add(self, who: int, oid: ObjectId, c: Commit) -> None:
        clock: dict[str, int] = {}
        for p in c.parents:
            for k, v in self.clocks[p].items():
                if v > clock.get(k, 0):
                    clock[k] = v
        if is_convergent_commit(c):
            actor = str(c.replica)  # derived from the parents, used once
        else:
            mine = self.actors.setdefault(who, {})
            continuing = sorted(a for a, last in mine.items() if last in c.parents)
            actor = continuing[0] if continuing else f"{self.rng.getrandbits(128):032x}"
            mine[actor] = oid
        clock[actor] = clock.get(actor, 0) + 1
        self.clocks[oid] = clock
        if len(clock) > len(self.most):
            self.most = clock


def old_size(clock: dict[str, int]) -> int:
    """Bytes of a format-1 `clock` line."""
    return len("clock " + " ".join(f"{r}={k}" for r, k in sorted(clock.items()))) + 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--commits", type=int, default=10_000)
    ap.add_argument("--replicas", type=int, default=5)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--pairs", type=int, default=20_000, help="random pairs checked against the DAG")
    ap.add_argument("--report", type=int, default=1000, help="print the largest clocks so far every N commits")
    args = ap.parse_args()
    # A RAM disk by default: every commit is an fsync'd SQLite transaction, and disk flushes
    # would dominate the run without changing any clock.
    shm = Path("/dev/shm")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="vcrdt-clocks-", dir=shm if shm.is_dir() else None))
    work.mkdir(parents=True, exist_ok=True)
    driver = Driver(work, args.replicas, args.seed)
    t0 = time.perf_counter()
    try:
        driver.commit(0)
        for i in range(1, args.replicas):
            porcelain.fetch(driver.repos[i], driver.roots[0])
        next_report = args.report
        while driver.stats["commits"] + driver.stats["local merges"] < args.commits:
            driver.step()
            if len(driver.commits) >= next_report:
                print(driver.progress(t0), flush=True)
                next_report += args.report
        built = time.perf_counter() - t0
        commits = driver.commits
        print(
            f"history: {len(commits)} commits in {built:.1f} s; "
            + ", ".join(f"{k} {v}" for k, v in driver.stats.items())
        )

        new_keys = max(commits.values(), key=lambda c: (len(c.clock), clock_bytes(c)))
        new_bytes = max(commits.values(), key=clock_bytes)
        gaps = max(commits.values(), key=lambda c: sum(len(g) for _, g in c.gaps))
        print("new (format 2, one key per replica, gaps):")
        print(
            f"  most keys:  {len(new_keys.clock)} keys, {sum(len(g) for _, g in new_keys.gaps)} gap ranges,"
            f" {clock_bytes(new_keys)} bytes"
        )
        print(
            f"  most bytes: {len(new_bytes.clock)} keys, {sum(len(g) for _, g in new_bytes.gaps)} gap ranges,"
            f" {clock_bytes(new_bytes)} bytes"
        )
        print(f"  most gaps:  {sum(len(g) for _, g in gaps.gaps)} gap ranges: {clock_text(gaps)}")
        newest = driver.made[-1][1]
        print(f"  newest commit: {len(commits[newest].clock)} keys, {clock_bytes(commits[newest])} bytes")
        driver.settle()
        heads = {r.head_commit() for r in driver.repos}
        for h in sorted(h for h in heads if h is not None):
            c = driver.commits[h]
            print(
                f"  main after merging every branch and syncing: {len(c.clock)} keys, {clock_bytes(c)} bytes:"
                f" {clock_text(c)}"
            )
        print(f"  (deleted branches: {driver.stats['deletions']}; their unmerged commits stay gaps)")

        old = driver.old.clocks
        big = driver.old.most
        print("old (format 1, actor keys, replayed on the same DAG):")
        print(
            f"  most keys:  {len(big)} keys, {old_size(big)} bytes;"
            f" newest commit: {len(old[newest])} keys, {old_size(old[newest])} bytes"
        )

        # Ancestor sets as bit sets (bit i: the i-th commit made), for the DAG's own answer.
        index = {oid: i for i, (_, oid) in enumerate(driver.made)}
        ancestors: dict[ObjectId, int] = {}
        for _, oid in driver.made:
            bits = 1 << index[oid]
            for p in commits[oid].parents:
                bits |= ancestors[p]
            ancestors[oid] = bits

        def dag_relation(a: ObjectId, b: ObjectId) -> str:
            if a == b:
                return "equal"
            if ancestors[b] >> index[a] & 1:
                return "before"
            return "after" if ancestors[a] >> index[b] & 1 else "concurrent"

        rng = random.Random(args.seed)
        ids = list(commits)
        checked = wrong = automatic = 0
        t1 = time.perf_counter()
        for _ in range(args.pairs):
            a, b = rng.choice(ids), rng.choice(ids)
            repo = next((r for r in driver.repos if r.store.has(a) and r.store.has(b)), None)
            if repo is None:
                continue  # no replica holds both (one was on a deleted branch)
            checked += 1
            automatic += is_convergent_commit(commits[a])
            wrong += causal_relation(repo.store, a, b) != dag_relation(a, b)
        print(
            f"ancestry: {checked} random pairs ({automatic} with an automatic merge first) checked against"
            f" the DAG, {wrong} wrong, {time.perf_counter() - t1:.1f} s"
        )
    finally:
        driver.close()
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("VCRDT_NO_SERVER", "1")
    main()
