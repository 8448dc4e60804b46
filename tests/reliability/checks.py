"""What the crash and race tests check after a fault, shared by them.

A crash run kills a real ``vcrdt`` process (`kill_after`) and then collects the
problems it finds in a `Run`: ``fsck`` clean, HEAD one of the commits it may
be, the work tree exactly one of the states it may be in, ``status`` listing
exactly the paths that differ between HEAD and the disk (`status_problems`),
and every commit made before the crash reading back byte for byte
(`Ledger.lost`). `Run.finish` logs the run (and any data lost) in the
reliability log before the test asserts, so the summary counts every run,
passed or not.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.helpers.cli import vcrdt_subprocess
from tests.reliability.record import record

Files = dict[str, bytes]
"""A work tree's (or a commit's) regular files: path -> content."""


def vcrdt_env(**extra: str) -> dict[str, str]:
    """The environment of every vcrdt process the slow tests start: an author, no command server."""
    env = dict(os.environ, VCRDT_AUTHOR_NAME="Crash Test", VCRDT_AUTHOR_EMAIL="crash@example.com")
    env["VCRDT_NO_SERVER"] = "1"
    env.update(extra)
    return env


def blob_id(data: bytes) -> str:
    """The id (hex) a file with content `data` has in vcrdt's store."""
    from vcrdt.hashing import object_id

    return object_id("blob", data).hex()


def read_disk(root: Path) -> Files:
    """Every regular file under the work tree `root` (``.vcrdt`` excluded), leftovers included."""
    out: Files = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if dirpath == str(root):
            dirnames[:] = [d for d in dirnames if d != ".vcrdt"]
        for name in filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            if os.path.islink(full):
                out[rel] = b"link:" + os.fsencode(os.readlink(full))
            else:
                with open(full, "rb") as fh:
                    out[rel] = fh.read()
    return out


def write_files(root: Path, files: Files, old: Files | None = None) -> None:
    """Make the work tree hold exactly `files`, given that it holds `old` now (None: write all)."""
    old = old or {}
    for path in old.keys() - files.keys():
        (root / path).unlink()
    for path, data in files.items():
        if old.get(path) != data:
            full = root / path
            full.parent.mkdir(parents=True, exist_ok=True)
            full.write_bytes(data)


def diff_paths(a: Files, b: Files) -> list[str]:
    """The paths whose content differs between `a` and `b` (present in one only included)."""
    return sorted(p for p in a.keys() | b.keys() if a.get(p) != b.get(p))


def _few(paths: list[str], n: int = 5) -> str:
    return ", ".join(paths[:n]) + (f" and {len(paths) - n} more" if len(paths) > n else "")


def status_problems(doc: dict[str, Any], head: dict[str, str], disk: Files) -> list[str]:
    """How `vcrdt status --json` output `doc` disagrees with the truth.

    Args:
        doc: The parsed output of ``status --json``.
        head: HEAD's files as path -> blob id (hex).
        disk: What the work tree holds.

    Returns:
        One line per disagreement: a path listed that does not differ from
        HEAD, a differing path not listed, or a path in a category it cannot
        be in (modified but absent, deleted but on disk, ...).
    """
    problems = []
    on_disk = {p: blob_id(d) for p, d in disk.items()}
    differ = {p for p in on_disk.keys() | head.keys() if on_disk.get(p) != head.get(p)}
    listed: set[str] = set()
    for category in ("conflicted", "modified", "added", "deleted", "removed", "untracked"):
        listed.update(doc.get(category, []))
    if listed - differ:
        problems.append(f"status lists unchanged paths: {_few(sorted(listed - differ))}")
    if differ - listed:
        problems.append(f"status misses changed paths: {_few(sorted(differ - listed))}")
    wrong = [p for p in doc.get("modified", []) if p not in head or p not in on_disk]
    wrong += [p for p in doc.get("deleted", []) + doc.get("removed", []) if p in on_disk]
    wrong += [p for p in doc.get("untracked", []) + doc.get("added", []) if p in head]
    if wrong:
        problems.append(f"status puts paths in impossible categories: {_few(sorted(wrong))}")
    return problems


@dataclass
class Ledger:
    """Every commit made so far, with the files it must hold (path -> blob id, hex)."""

    commits: dict[str, dict[str, str]] = field(default_factory=dict)

    def add(self, commit: str, files: Files) -> None:
        """Remember that `commit` was made with exactly `files`."""
        self.commits[commit] = {p: blob_id(d) for p, d in files.items()}

    def lost(self, root: Path) -> tuple[int, list[str]]:
        """Read every remembered commit back from the repository at `root`.

        Every file of every commit is looked up in its commit's tree and read
        back, its content hashed here (not by the store); a file that is
        missing, different or unreadable counts once per commit holding it.

        Returns:
            The number of files lost, and a few of them described.
        """
        from vcrdt.errors import VcrdtError
        from vcrdt.hashing import object_id
        from vcrdt.ids import ObjectId
        from vcrdt.repo import Repository, Settings

        lost = 0
        what: list[str] = []
        readable: dict[str, bool] = {}
        with Repository.discover(root, Settings()) as repo:
            for commit, files in self.commits.items():
                try:
                    flat = {p: oid.hex() for p, (_, oid) in repo.commit_flat(ObjectId(bytes.fromhex(commit))).items()}
                except VcrdtError as exc:
                    lost += len(files)
                    what.append(f"commit {commit[:12]}: {exc}")
                    continue
                for path, want in files.items():
                    if flat.get(path) != want:
                        lost += 1
                        what.append(f"{commit[:12]}:{path}: {'missing' if path not in flat else 'different'}")
                        continue
                    if want not in readable:
                        try:
                            data = b"".join(repo.store.iter_content(ObjectId(bytes.fromhex(want))))
                            readable[want] = object_id("blob", data).hex() == want
                        except VcrdtError:
                            readable[want] = False
                    if not readable[want]:
                        lost += 1
                        what.append(f"{commit[:12]}:{path}: unreadable")
        return lost, what[:5]


class KillClock:
    """Picks kill times spread over a command's working time (after Python's start-up).

    Args:
        rng: The test's random source.
        startup: Seconds a trivial command takes (start-up and opening the repository).
        duration: Seconds the command takes when left alone.
    """

    def __init__(self, rng: random.Random, startup: float, duration: float) -> None:
        self.rng = rng
        self.startup = startup
        self.duration = max(duration, startup * 1.2)
        self.landed = 0

    def delay(self) -> float:
        """Seconds to wait before the next kill."""
        return self.rng.uniform(self.startup * 0.7, self.duration * 1.05)

    def observe(self, returncode: int, elapsed: float) -> None:
        """Learn from one killed run: a process that finished first shows the command is quicker.

        Its whole time bounds both ends of the window: a start-up measured while the machine
        was busier would otherwise keep every later kill after the command's end.
        """
        if returncode == -signal.SIGKILL:
            self.landed += 1
        else:
            self.startup = min(self.startup, elapsed / 1.2)
            self.duration = max(elapsed, self.startup * 1.2)


def timed(root: Path, *args: str, env: dict[str, str] | None = None) -> float:
    """Run one vcrdt command that must succeed; return how long it took."""
    start = time.monotonic()
    r = vcrdt_subprocess(*args, cwd=root, env=env or vcrdt_env())
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    return time.monotonic() - start


def kill_after(root: Path, args: list[str], clock: KillClock, env: dict[str, str] | None = None) -> int:
    """Start ``vcrdt ARGS`` in `root`, SIGKILL it after `clock`'s next delay; return its exit code."""
    start = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "vcrdt", *args],
        cwd=root,
        env=env or vcrdt_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(clock.delay())
    proc.send_signal(signal.SIGKILL)
    code = proc.wait()
    clock.observe(code, time.monotonic() - start)
    return code


@dataclass
class Run:
    """One crash run's problems, logged by `finish` before anything is asserted."""

    name: str
    root: Path
    env: dict[str, str] = field(default_factory=vcrdt_env)
    problems: list[str] = field(default_factory=list)
    lost: int = 0

    def check(self, ok: bool, problem: str) -> bool:
        """Note `problem` unless `ok`; return `ok`."""
        if not ok:
            self.problems.append(problem)
        return ok

    def cli(self, *args: str, codes: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[bytes] | None:
        """Run a vcrdt command in the run's tree; a problem (and None) unless it exits with one of `codes`."""
        try:
            r = vcrdt_subprocess(*args, cwd=self.root, env=self.env)
        except subprocess.TimeoutExpired:
            self.problems.append(f"`vcrdt {' '.join(args)}` hung")
            return None
        err = r.stderr.decode(errors="replace")
        if r.returncode not in codes or "Traceback" in err:
            self.problems.append(f"`vcrdt {' '.join(args)}` exited {r.returncode}: {err.strip()[-300:]}")
            return None
        return r

    def fsck(self) -> None:
        """``vcrdt fsck`` must be clean."""
        self.cli("fsck")

    def status(self) -> dict[str, Any] | None:
        """The parsed ``status --json``, or None (a problem) if it failed."""
        r = self.cli("status", "--json")
        return json.loads(r.stdout) if r is not None else None

    def data(self, ledger: Ledger) -> None:
        """Every commit in `ledger` reads back intact; each file that does not counts as lost."""
        try:
            self.lost, what = ledger.lost(self.root)
        except Exception as exc:  # an unreadable repository is this run's finding
            self.lost = sum(len(f) for f in ledger.commits.values())
            what = [f"repository unreadable: {exc!r}"]
        self.check(self.lost == 0, f"{self.lost} committed files lost: {'; '.join(what)}")

    def disk_is(self, want: Files, state: str) -> bool:
        """The work tree holds exactly `want` (no file more, less or different)."""
        have = read_disk(self.root)
        wrong = diff_paths(have, want)
        return self.check(not wrong, f"work tree is not {state}: {_few(wrong)} differ")

    def finish(self, op: str) -> None:
        """Log the run (and any data lost) in the reliability log."""
        if self.lost:
            record("lost", n=self.lost, name=self.name)
        record("crash", ok=not self.problems, op=op, name=self.name)

    @contextmanager
    def checking(self, op: str, failures: list[str]) -> Iterator[None]:
        """Run the block of this run's checks, then log the run (`finish`) and add its problems to `failures`.

        An exception from the block is one of the run's problems: a check that cannot even run
        fails the run.
        """
        try:
            yield
        except Exception as exc:
            self.problems.append(f"check failed: {exc!r}")
        self.finish(op)
        if self.problems:
            failures.append(f"{self.name}: " + "; ".join(self.problems))


def commit_files(root: Path, commit: str) -> dict[str, str]:
    """The files of `commit` in the repository at `root`, as path -> blob id (hex)."""
    from vcrdt.ids import ObjectId
    from vcrdt.repo import Repository, Settings

    with Repository.discover(root, Settings()) as repo:
        return {p: oid.hex() for p, (_, oid) in repo.commit_flat(ObjectId(bytes.fromhex(commit))).items()}


def commit_parents(root: Path, commit: str) -> list[str]:
    """The parents (hex) of `commit` in the repository at `root`."""
    from vcrdt.ids import ObjectId
    from vcrdt.objects import Commit
    from vcrdt.repo import Repository, Settings

    with Repository.discover(root, Settings()) as repo:
        kind, body = repo.store.get(ObjectId(bytes.fromhex(commit)))
        assert kind == "commit"
        return [p.hex() for p in Commit.from_bytes(body).parents]


def ids_of(files: Files) -> dict[str, str]:
    """`files` as path -> blob id (hex)."""
    return {p: blob_id(d) for p, d in files.items()}


def report(failures: list[str]) -> str:
    """The assertion message for a test's failed runs."""
    return f"{len(failures)} runs failed:\n" + "\n".join(failures)
