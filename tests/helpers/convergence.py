"""The randomized convergence driver: replicas edit, sync in random pairs and merge --auto.

Three to five real repositories (SQLite stores in a temporary directory) run a
program of steps through the porcelain: edits to the same lines of files under
every rule (union, lww, set, json) and of a binary file, adds, deletes,
renames, mode changes, a path turned from a file into a directory and back,
a side branch created, deleted and re-created, fetches between random pairs
and `merge --auto`. Then every replica fetches from every other and
auto-merges until nothing changes, and `check` holds the promise:

- every replica has the same ref state, the same heads and the same work-tree
  bytes and modes; `fsck` is clean; no branch is left with siblings;
- every JSON file parses, and no file holds a conflict marker;
- an automatic merge of k heads makes at most k - 1 commits;
- no write is lost that causally followed what it replaced: the value left in
  the lww file, the binary file and each JSON key is one that no later write
  (a write whose commit descends from it) replaced.

Run by hand for many rounds: ``python -m tests.helpers.convergence --rounds 5000``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import stat
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

from vcrdt import porcelain
from vcrdt.dag import is_ancestor, iter_history
from vcrdt.errors import VcrdtError
from vcrdt.ids import ObjectId
from vcrdt.repo import Repository, Settings

SETTINGS = Settings(author_name="Rep", author_email="rep@example.com")
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
POLICY = "*.txt union\n*.lww lww\n*.set set\n*.json json\n*.bin lww\n"
LINES = 4
KEYS = 3
NAMES = 4
MARKERS = (b"<<<<<<< ", b">>>>>>> ", b"=======\n", b"||||||| ")

Step = tuple[object, ...]


def random_step(rng: random.Random, replicas: int) -> Step:
    """One random step for a program over `replicas` replicas."""
    who = rng.randrange(replicas)
    kind = rng.choices(
        ["text", "lww", "set", "json", "bin", "add", "delete", "rename", "chmod", "shape", "side", "fetch", "auto"],
        weights=[3, 3, 2, 3, 1, 2, 1, 1, 1, 1, 1, 6, 3],
    )[0]
    if kind == "fetch":
        return (kind, who, rng.randrange(replicas))
    return (kind, who, rng.randrange(LINES), rng.randrange(NAMES), rng.random() < 0.2)


@dataclass
class Write:
    """One value written to one key (a path, or a JSON key) by one commit."""

    key: str
    value: object
    commit: ObjectId


@dataclass
class Driver:
    """Replicas under `root` and what was written to them."""

    root: Path
    n: int
    settings: Settings = SETTINGS
    writes: list[Write] = field(default_factory=list)
    counter: int = 0
    repos: list[Repository] = field(default_factory=list)

    def __post_init__(self) -> None:
        roots = [self.root / f"r{i}" for i in range(self.n)]
        for path in roots:
            porcelain.init(path, self.settings)
        self.repos = [Repository.discover(path, self.settings) for path in roots]
        first = self.repos[0]
        files = {
            ".vcrdtattributes": POLICY,
            "u.txt": "".join(f"line {i}\n" for i in range(LINES)),
            "l.lww": "port=0\n",
            "s.set": "".join(f"item {i}\n" for i in range(LINES)),
            "c.json": json.dumps({f"k{i}": 0 for i in range(KEYS)}, indent=1) + "\n",
        }
        for name, text in files.items():
            (first.root / name).write_text(text)
        (first.root / "b.bin").write_bytes(b"\0bin 0\n")
        porcelain.add(first, sorted([*files, "b.bin"]), cwd=first.root)
        porcelain.commit(first, "base")
        for repo in self.repos[1:]:
            porcelain.fetch(repo, first.root)

    def close(self) -> None:
        for repo in self.repos:
            repo.close()

    def _value(self, who: int) -> str:
        self.counter += 1
        return f"{who}.{self.counter}"

    def _commit(self, repo: Repository, message: str, *, addremove: bool = False) -> ObjectId | None:
        try:
            porcelain.commit(repo, message, addremove=addremove)
        except VcrdtError as err:
            if "nothing to commit" in str(err):
                return None
            raise
        return repo.refs.head().commit

    def auto(self, repo: Repository) -> None:
        """Join the current branch's siblings; an automatic merge never refuses."""
        head = repo.refs.head()
        if not head.siblings or head.commit is None:
            return
        heads = {head.commit, *head.siblings}
        before = set(self._reachable(repo, heads))
        porcelain.merge(repo, None, auto=True)
        after = repo.refs.head()
        assert not after.siblings and after.commit is not None, f"{repo.root.name}: siblings left after merge --auto"
        made = set(self._reachable(repo, {after.commit})) - before
        assert len(made) <= len(heads) - 1, f"{len(made)} commits to join {len(heads)} heads"

    def _reachable(self, repo: Repository, heads: set[ObjectId]) -> Iterator[ObjectId]:
        for oid, _ in iter_history(repo.store, sorted(heads)):
            yield oid

    def step(self, step: Step) -> None:
        """Run one step of a program."""
        kind, who = str(step[0]), int(str(step[1])) % self.n
        repo = self.repos[who]
        if kind == "fetch":
            other = int(str(step[2])) % self.n
            if other != who:
                porcelain.fetch(repo, self.repos[other].root)
            return
        if kind == "auto":
            self.auto(repo)
            return
        if kind == "side":
            self._side(repo, bool(step[4]))
            return
        self.auto(repo)
        line, name, flag = int(str(step[2])), int(str(step[3])), bool(step[4])
        edits = {
            "text": self._text,
            "lww": self._lww,
            "set": self._set,
            "json": self._json,
            "bin": self._bin,
            "add": self._add,
            "delete": self._delete,
            "rename": self._rename,
            "chmod": self._chmod,
            "shape": self._shape,
        }
        edits[kind](repo, who, line, name, flag)

    def _text(self, repo: Repository, who: int, line: int, name: int, flag: bool) -> None:
        path = repo.root / "u.txt"
        lines = path.read_text().splitlines()
        if lines:
            lines[line % len(lines)] = f"line {line}: {self._value(who)}"
        if flag:
            lines.insert(line % (len(lines) + 1), f"inserted {self._value(who)}")
        path.write_text("".join(f"{x}\n" for x in lines))
        self._commit(repo, f"text by {who}")

    def _lww(self, repo: Repository, who: int, line: int, name: int, flag: bool) -> None:
        value = f"port={self._value(who)}\n"
        (repo.root / "l.lww").write_text(value)
        commit = self._commit(repo, f"lww by {who}")
        if commit is not None:
            self.writes.append(Write("l.lww", value, commit))

    def _set(self, repo: Repository, who: int, line: int, name: int, flag: bool) -> None:
        path = repo.root / "s.set"
        lines = path.read_text().splitlines()
        if flag and lines:
            del lines[line % len(lines)]
        else:
            lines.append(f"item {self._value(who)}")
        path.write_text("".join(f"{x}\n" for x in lines))
        self._commit(repo, f"set by {who}")

    def _json(self, repo: Repository, who: int, line: int, name: int, flag: bool) -> None:
        path = repo.root / "c.json"
        doc = json.loads(path.read_text())
        key = f"k{line % KEYS}"
        value: object = None if flag else self._value(who)
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
        path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
        commit = self._commit(repo, f"json by {who}")
        if commit is not None:
            self.writes.append(Write(f"c.json:{key}", value, commit))

    def _bin(self, repo: Repository, who: int, line: int, name: int, flag: bool) -> None:
        value = b"\0bin " + self._value(who).encode() + b"\n"
        (repo.root / "b.bin").write_bytes(value)
        commit = self._commit(repo, f"bin by {who}")
        if commit is not None:
            self.writes.append(Write("b.bin", value, commit))

    def _add(self, repo: Repository, who: int, line: int, name: int, flag: bool) -> None:
        path = repo.root / f"n{name}.txt"
        if path.exists():
            with path.open("a") as f:
                f.write(f"more {self._value(who)}\n")
        else:
            path.write_text(f"new {self._value(who)}\n")
        self._commit(repo, f"add by {who}", addremove=True)

    def _delete(self, repo: Repository, who: int, line: int, name: int, flag: bool) -> None:
        rel = f"n{name}.txt"
        if (repo.root / rel).exists():
            porcelain.rm(repo, [rel], cwd=repo.root)
            self._commit(repo, f"delete by {who}")

    def _rename(self, repo: Repository, who: int, line: int, name: int, flag: bool) -> None:
        src, dst = f"n{name}.txt", f"n{(name + 1 + line) % NAMES}.txt"
        if src != dst and (repo.root / src).exists() and not (repo.root / dst).exists():
            porcelain.mv(repo, src, dst, cwd=repo.root)
            self._commit(repo, f"rename by {who}")

    def _chmod(self, repo: Repository, who: int, line: int, name: int, flag: bool) -> None:
        path = repo.root / ("u.txt" if flag else f"n{name}.txt")
        if path.exists():
            path.chmod(path.stat().st_mode ^ stat.S_IXUSR)
            self._commit(repo, f"chmod by {who}")

    def _shape(self, repo: Repository, who: int, line: int, name: int, flag: bool) -> None:
        """Turn path ``z`` from a file into a directory or back (file/directory collisions)."""
        path = repo.root / "z"
        if path.is_dir():
            porcelain.rm(repo, ["z"], cwd=repo.root, recursive=True)
            path.write_text(f"file {self._value(who)}\n")
        elif path.exists():
            porcelain.rm(repo, ["z"], cwd=repo.root)
            path.mkdir()
            (path / "inner").write_text(f"inner {self._value(who)}\n")
        elif flag:
            path.mkdir()
            (path / "inner").write_text(f"inner {self._value(who)}\n")
        else:
            path.write_text(f"file {self._value(who)}\n")
        self._commit(repo, f"shape by {who}", addremove=True)

    def _side(self, repo: Repository, create: bool) -> None:
        exists = repo.refs.exists("refs/heads/side")
        if create and not exists:
            porcelain.branch_create(repo, "side")
        elif not create and exists:
            porcelain.branch_delete(repo, "side", force=True)

    def sync_all(self, rounds: int = 4) -> int:
        """Fetch every pair and auto-merge until all agree; return the rounds it took."""
        for done in range(1, rounds + 1):
            for i, repo in enumerate(self.repos):
                for j, other in enumerate(self.repos):
                    if i != j:
                        porcelain.fetch(repo, other.root)
                self.auto(repo)
            if len({self.state(r) for r in self.repos}) == 1:
                return done
        return rounds + 1

    def state(self, repo: Repository) -> tuple[object, ...]:
        """The ref state and every work-tree file's bytes and mode."""
        files = []
        for path in sorted(_files(repo.root)):
            st = path.lstat()
            files.append((path.relative_to(repo.root).as_posix(), stat.S_IMODE(st.st_mode) & 0o100, path.read_bytes()))
        return (porcelain.ref_state(repo).to_bytes(), tuple(files))

    def check(self) -> None:
        """Everything the promise says after a final all-pairs sync (see the module docstring)."""
        rounds = self.sync_all()
        states = [self.state(r) for r in self.repos]
        assert len(set(states)) == 1, f"replicas differ after {rounds - 1} all-pairs syncs"
        first = self.repos[0]
        for repo in self.repos:
            assert not repo.refs.head().siblings, f"{repo.root.name}: siblings after the final sync"
            problems = porcelain.fsck(repo).problems
            assert not problems, f"{repo.root.name}: fsck: {problems}"
        for path in _files(first.root):
            data = path.read_bytes()
            rel = path.relative_to(first.root).as_posix()
            for marker in MARKERS:
                assert not any(line.startswith(marker) for line in data.splitlines(keepends=True)), (
                    f"{rel}: conflict marker {marker!r}"
                )
            if rel.endswith(".json"):
                json.loads(data)
        self._check_no_lost_write(first)

    def _check_no_lost_write(self, repo: Repository) -> None:
        final: dict[str, object] = {
            "l.lww": (repo.root / "l.lww").read_text(),
            "b.bin": (repo.root / "b.bin").read_bytes(),
        }
        doc = json.loads((repo.root / "c.json").read_text())
        for i in range(KEYS):
            final[f"c.json:k{i}"] = doc.get(f"k{i}")
        for key, value in final.items():
            writes = [w for w in self.writes if w.key == key]
            if not writes:
                continue
            latest = [
                w
                for w in writes
                if not any(o.commit != w.commit and is_ancestor(repo.store, w.commit, o.commit) for o in writes)
            ]
            allowed = {_hashable(w.value) for w in latest}
            assert _hashable(value) in allowed, (
                f"{key}: {value!r} was replaced by a later write; the latest writes are {sorted(map(repr, allowed))}"
            )


def _hashable(value: object) -> object:
    return value if not isinstance(value, (dict, list)) else json.dumps(value, sort_keys=True)


def _files(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".vcrdt"]
        for name in filenames:
            yield Path(dirpath) / name


@contextlib.contextmanager
def reproducible(seed: int) -> Iterator[Settings]:
    """Settings whose commit times, and random bytes (replica ids) drawn meanwhile, follow from `seed`.

    Commit ids depend on both, and the tie-break order of concurrent versions on the ids, so a
    program run under the same seed makes the same history: a failure found by the driver can be
    run again, and shrunk.
    """
    rng = random.Random(seed)
    ticks = iter(range(1 << 62))

    def now() -> datetime:
        return (EPOCH + timedelta(seconds=next(ticks))).astimezone()

    with mock.patch("os.urandom", rng.randbytes):
        yield Settings(author_name="Rep", author_email="rep@example.com", now=now)


def run(program: Sequence[Step], replicas: int, seed: int | None = None) -> None:
    """Run `program` on fresh replicas, then check the promise (reproducibly when `seed` is given)."""
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        settings = SETTINGS if seed is None else stack.enter_context(reproducible(seed))
        driver = Driver(Path(tmp), replicas, settings)
        try:
            for step in program:
                driver.step(step)
            driver.check()
        finally:
            driver.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Run random programs until `--rounds` steps have run; print the seed of any failure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1000, help="steps to run in total")
    parser.add_argument("--steps", type=int, default=40, help="steps per program")
    parser.add_argument("--seed", type=int, default=None, help="first seed (default: from the clock)")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else int(time.time())
    done = programs = failures = 0
    started = time.monotonic()
    while done < args.rounds:
        rng = random.Random(seed)
        replicas = rng.randint(3, 5)
        program = [random_step(rng, replicas) for _ in range(args.steps)]
        try:
            run(program, replicas, seed)
        except (AssertionError, VcrdtError) as err:
            failures += 1
            print(f"seed {seed} ({replicas} replicas): {type(err).__name__}: {err}", file=sys.stderr)
        done += len(program)
        programs += 1
        seed += 1
    elapsed = time.monotonic() - started
    print(f"{done} steps in {programs} programs, {failures} failed, {elapsed:.0f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
