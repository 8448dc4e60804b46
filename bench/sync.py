"""Sync benchmark: vcrdt against git in the same run, bytes counted at the transport for both.

Builds the same history in both tools (``--commits`` commits, each editing ``--edits`` files of
the generated ``--files``-file tree of bench/gen_tree.py) and, for each case, fetches with each
tool through the same byte-counting relay (bench/sync_relay.py): git's ``git-upload-pack`` as
``--upload-pack`` over a ``file://`` URL (protocol v2), vcrdt's ``vcrdt serve --stdio`` as
``--exec``. Cases: no-op; fast-forward by 1, 10, 100, 1000 commits; divergent branches (100
commits each side); unrelated histories; 10,000 branches with one changed; clone; and, vcrdt
only, d random objects lost from one side (d = 1, 10, 100, 1000) at n = 100,000 objects.
Then peak RSS on both sides of the clone (GNU time) and the payload throughput of a clone over
``vcrdt serve`` (HTTP on 127.0.0.1). The ``large`` case (alone with ``--only large``, which builds
no history) clones about 256 MB of large files, incompressible and text, over ``vcrdt serve``
and over ``git daemon`` on 127.0.0.1: payload MB/s, wall, CPU and peak RSS of each side. One
row per case: round trips, negotiation bytes, object bytes and wall time for each tool, the
ratios, the target and PASS/FAIL.

Round trips are the server's answers as the relay sees them (a burst of bytes from the server;
git's capability advertisement, which the client waits for, counts). Object bytes: for git
the pack (``GIT_TRACE_PACKFILE``), for vcrdt the object payload of ``--stats`` (whole packed
object frames); negotiation bytes are everything else the relay counted. Runs are interleaved
tool by tool, and the median of ``--repeat`` runs is reported.

Usage: ``.venv/bin/python bench/sync.py [--files N] [--commits N] [--repeat K] [--only CASES]``.
It is a report, not a test: it exits 0 whatever the verdicts.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import hashlib
import json
import os
import platform
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gen_tree
from sync_relay import PeakRss

import vcrdt
from vcrdt.ids import ObjectId
from vcrdt.objects import EntryKind
from vcrdt.porcelain.copies import bind_replica
from vcrdt.repo import Repository, Settings
from vcrdt.store import fingerprints

BENCH = Path(__file__).resolve().parent
CACHE = BENCH / "out" / "cache"
RELAY = BENCH / "sync_relay.py"
VCRDT = str(Path(sys.executable).with_name("vcrdt"))
NAME, EMAIL = "Bench Mark", "bench@example.invalid"
CONF = Settings(author_name=NAME, author_email=EMAIL)
FF = (1, 10, 100, 1000)
DIVERGE = 100
LOSS = (1, 10, 100, 1000)
LOSS_N = 100_000
BRANCHES = 10_000


# --- the history -----------------------------------------------------------------------------


def tree_files(files: int, seed: int) -> dict[str, bytes]:
    """The generated tree (cached under bench/out/cache, as bench/foundation.py caches it)."""
    path = CACHE / f"tree-v{gen_tree.GENERATOR_VERSION}-{files}-{seed}"
    stamp = path.with_name(path.name + ".done")
    if not stamp.exists():
        shutil.rmtree(path, ignore_errors=True)
        gen_tree.generate(path, files, seed)
        stamp.write_text("\n".join(p for p, _ in gen_tree.plan(files, seed)) + "\n")
    return {p: (path / p).read_bytes() for p in stamp.read_text().split()}


def edit(data: bytes, step: int) -> bytes:
    """`gen_tree.edit_file` on bytes: rewrite one line and append one, deterministically."""
    digest = hashlib.sha256(data + step.to_bytes(8, "little")).hexdigest()
    rng = random.Random(digest)
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    words = " ".join(rng.choices(gen_tree._COMMON_WORDS, k=rng.randint(3, 9)))
    note = f"# edit {step}: {words} {digest[:12]}".encode()
    if lines:
        lines[rng.randrange(len(lines))] = note
    lines.append(f"# appended by edit {step} ({digest[12:20]})".encode())
    return b"\n".join(lines) + b"\n"


def changes(files: dict[str, bytes], paths: list[str], label: str, i: int, k: int) -> dict[str, bytes]:
    """Commit `i` of a line of history `label`: `k` files edited (applied to `files`)."""
    rng = random.Random(f"{label}:{i}")
    out = {}
    for p in rng.sample(paths, k):
        out[p] = files[p] = edit(files[p], i)
    return out


class VcrdtSide:
    """A vcrdt repository written through the API (no work tree: HEAD stays where it was)."""

    def __init__(self, root: Path, *, create: bool = True) -> None:
        self.root = root
        self.repo = Repository.init(root, CONF) if create else Repository.discover(root, CONF)
        self.flat: dict[str, tuple[EntryKind, ObjectId]] = {}
        self.tree: ObjectId | None = None
        self.head: dict[str, ObjectId] = {}

    def load(self, branch: str = "main") -> None:
        head = self.repo.refs.get(f"refs/heads/{branch}")
        assert head is not None
        self.head[branch] = head
        self.tree = _tree_of(self.repo, head)
        self.flat = dict(self.repo.flat_tree(self.tree))

    def commit(self, changed: dict[str, bytes], msg: str, branch: str = "main") -> ObjectId:
        repo = self.repo
        items = [("blob", body, self.flat[p][1] if p in self.flat else None) for p, body in changed.items()]
        for p, oid in zip(changed, repo.store.put_many(items), strict=True):
            self.flat[p] = (EntryKind.FILE, oid)
        if self.tree is None:
            self.tree = repo.write_tree(self.flat)
        else:
            self.tree = repo.write_tree(self.flat, base=self.tree, changed=list(changed))
        parent = self.head.get(branch)
        oid = repo.new_commit(self.tree, [parent] if parent else [], msg, repo.signature())
        repo.refs.update(f"refs/heads/{branch}", oid, expected=parent)
        self.head[branch] = oid
        return oid

    def close(self) -> None:
        self.repo.close()


def _tree_of(repo: Repository, commit: ObjectId) -> ObjectId:
    from vcrdt.dag import read_commit

    return read_commit(repo.store, commit).tree


class GitSide:
    """A bare git repository fed by `git fast-import`, one stream per batch."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.env = env
        if not root.exists():
            git(["init", "-q", "--bare", str(root)], env)
        self.proc: subprocess.Popen[bytes] | None = None
        self.marks = 0
        self.fresh: set[str] = set()
        self.tick = 0

    def _stream(self) -> subprocess.Popen[bytes]:
        if self.proc is None:
            self.proc = subprocess.Popen(
                ["git", "fast-import", "--quiet", "--done"], cwd=self.root, env=self.env, stdin=subprocess.PIPE
            )
            self.fresh = set()
        return self.proc

    def commit(self, changed: dict[str, bytes], msg: str, branch: str = "main") -> None:
        p = self._stream()
        assert p.stdin is not None
        self.marks += 1
        self.tick += 1
        m = msg.encode()
        parts = [
            f"commit refs/heads/{branch}\nmark :{self.marks}\n".encode(),
            f"committer {NAME} <{EMAIL}> {1_700_000_000 + self.tick} +0000\n".encode(),
            f"data {len(m)}\n".encode() + m + b"\n",
        ]
        if branch not in self.fresh:
            self.fresh.add(branch)
            if git_ok(["rev-parse", "-q", "--verify", f"refs/heads/{branch}"], self.root, self.env):
                parts.append(f"from refs/heads/{branch}^0\n".encode())
        for path, body in changed.items():
            parts.append(f"M 100644 inline {path}\ndata {len(body)}\n".encode() + body + b"\n")
        parts.append(b"\n")
        p.stdin.write(b"".join(parts))

    def flush(self) -> None:
        if self.proc is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.write(b"done\n")
            self.proc.stdin.close()
            if self.proc.wait() != 0:
                raise RuntimeError("git fast-import failed")
            self.proc = None

    def rev(self, ref: str) -> str:
        self.flush()
        return git_out(["rev-parse", ref], self.root, self.env).strip()


def git(args: Sequence[str], env: dict[str, str], cwd: Path | None = None) -> None:
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)


def git_ok(args: Sequence[str], cwd: Path, env: dict[str, str]) -> bool:
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True).returncode == 0


def git_out(args: Sequence[str], cwd: Path, env: dict[str, str]) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def make_env(home: Path) -> dict[str, str]:
    """A clean environment: no user config, fixed identity, no auto gc (as bench/foundation.py)."""
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text(
        f"[user]\n\tname = {NAME}\n\temail = {EMAIL}\n[init]\n\tdefaultBranch = main\n"
        "[gc]\n\tauto = 0\n[maintenance]\n\tauto = false\n[protocol]\n\tversion = 2\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "VCRDT_"))}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        GIT_CONFIG_NOSYSTEM="1",
        VCRDT_AUTHOR_NAME=NAME,
        VCRDT_AUTHOR_EMAIL=EMAIL,
        LC_ALL="C",
        NO_COLOR="1",
    )
    return env


# --- one measured run ------------------------------------------------------------------------


@dataclass
class Run:
    """What one fetch cost, as the relay and the tool saw it."""

    rtt: int
    negotiation: int
    objects: int
    seconds: float
    extra: dict[str, float] = field(default_factory=dict)


def _relay_cmd(log: Path, cmd: str, rss: Path | None = None) -> str:
    rss_part = f"--rss {rss} " if rss else ""
    return f"{sys.executable} {RELAY} {log} {rss_part}-- {cmd}"


def _cpu() -> float:
    """CPU seconds (user and system) of the children waited for so far, and theirs."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _run(cmd: list[str], cwd: Path, env: dict[str, str], rss: bool) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run a command, capturing its output; with `rss`, also its peak RSS (KiB, ``VmHWM``)."""
    if not rss:
        return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True), 0
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = PeakRss(proc.pid)
    out, err = proc.communicate()
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err), peak.stop()


def run_vcrdt(verb: list[str], server: Path, cwd: Path, env: dict[str, str], work: Path, rss: bool = False) -> Run:
    """`vcrdt VERB --exec 'relay vcrdt serve --stdio SERVER' --stats --json` in `cwd`."""
    log = work / "relay.json"
    server_rss = work / "server.rss" if rss else None
    exec_cmd = _relay_cmd(log, f"{VCRDT} serve --stdio {server}", server_rss)
    cmd = [VCRDT, *verb[:1], "--exec", exec_cmd, *verb[1:], "--stats", "--json"]
    start, cpu = time.perf_counter(), _cpu()
    p, client_peak = _run(cmd, cwd, env, rss)
    seconds, cpu = time.perf_counter() - start, _cpu() - cpu
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}\n{p.stderr}")
    doc = json.loads(p.stdout)
    stats = doc["stats"]
    relay = json.loads(log.read_text())
    payload = stats["payload_received"] + stats["payload_sent"]
    total = relay["c2s"] + relay["s2c"]
    extra: dict[str, float] = {
        "payload_received": stats["payload_received"],
        "objects_received": stats["objects_received"],
        "objects_sent": stats["objects_sent"],
        "tool_round_trips": stats["round_trips"],
        "overhead": total - payload,
        "cpu": cpu,
    }
    if rss:
        extra["client_rss"] = client_peak * 1024
        extra["server_rss"] = int(server_rss.read_text().split()[-1]) * 1024  # type: ignore[union-attr]
    return Run(relay["server_bursts"], total - payload, payload, seconds, extra)


def run_git(args: list[str], cwd: Path, env: dict[str, str], work: Path, rss: bool = False) -> Run:
    """`git ARGS` with ``--upload-pack`` through the relay, the pack traced to count its bytes."""
    log = work / "relay.json"
    pack = work / "pack.trace"
    pack.unlink(missing_ok=True)
    server_rss = work / "server.rss" if rss else None
    wrapper = work / "upload-pack.sh"
    wrapper.write_text(f'#!/bin/sh\nexec {_relay_cmd(log, "git-upload-pack", server_rss)} "$@"\n')
    wrapper.chmod(0o755)
    env = dict(env, GIT_TRACE_PACKFILE=str(pack))
    cmd = ["git", *args[:1], f"--upload-pack={wrapper}", *args[1:]]
    start, cpu = time.perf_counter(), _cpu()
    p, client_peak = _run(cmd, cwd, env, rss)
    seconds, cpu = time.perf_counter() - start, _cpu() - cpu
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}\n{p.stderr}")
    relay = json.loads(log.read_text())
    packed = pack.stat().st_size if pack.exists() else 0
    total = relay["c2s"] + relay["s2c"]
    extra: dict[str, float] = {"cpu": cpu}
    if rss:
        extra["client_rss"] = client_peak * 1024
        extra["server_rss"] = int(server_rss.read_text().split()[-1]) * 1024  # type: ignore[union-attr]
    return Run(relay["server_bursts"], total - packed, packed, seconds, extra)


# --- the report ------------------------------------------------------------------------------


@dataclass
class Row:
    """One case: each tool's median run, and the verdict."""

    case: str
    v: Run
    g: Run | None
    target: str
    ok: bool
    failed: list[str] = field(default_factory=list)


def median_run(runs: list[Run]) -> Run:
    """The run of median wall time (bytes and round trips do not vary between runs)."""
    by_time = sorted(runs, key=lambda r: r.seconds)
    return by_time[len(by_time) // 2]


def _walls(runs: list[Run]) -> str:
    """Every run's wall time in milliseconds, in the order run (to see the spread behind a median)."""
    return " ".join(f"{r.seconds * 1000:.0f}" for r in runs)


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else ("1.00" if not a else "inf")


def kb(n: float) -> str:
    return f"{n / 1000:.1f} KB" if n >= 1000 else f"{int(n)} B"


def table(rows: Sequence[Row]) -> str:
    head = [
        "case",
        "rtt v/g",
        "negotiation v",
        "negotiation g",
        "objects v",
        "objects g",
        "objects v/g",
        "time v",
        "time g",
        "time v/g",
        "target",
        "verdict",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        g = r.g
        cells = [
            r.case,
            f"{r.v.rtt}/{g.rtt}" if g else f"{r.v.rtt}/-",
            kb(r.v.negotiation),
            kb(g.negotiation) if g else "-",
            kb(r.v.objects),
            kb(g.objects) if g else "-",
            ratio(r.v.objects, g.objects) if g else "-",
            f"{r.v.seconds:.2f} s",
            f"{g.seconds:.2f} s" if g else "-",
            ratio(r.v.seconds, g.seconds) if g else "-",
            r.target,
            "PASS" if r.ok else f"FAIL ({', '.join(r.failed)})" if r.failed else "FAIL",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def git_like(case: str, v: Run, g: Run) -> Row:
    """Fast-forward, divergent, clone (and, for information, the other git cases): as good as git."""
    failed = [
        name
        for name, ok in (
            ("rtt", v.rtt <= g.rtt),
            ("negotiation", v.negotiation <= g.negotiation),
            ("objects", v.objects <= 1.2 * g.objects + 64),
            ("time", v.seconds <= 2 * g.seconds),
        )
        if not ok
    ]
    return Row(case, v, g, "rtt, negotiation <= git; objects <= 1.2x; time <= 2x", not failed, failed)


# --- the bench -------------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.env = make_env(work / "home")
        self.rows: list[Row] = []
        self.info: dict[str, object] = {}

    def log(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    def build(self) -> None:
        a = self.args
        files = tree_files(a.files, a.seed)
        self.paths = sorted(files)
        self.files = files
        self.info["tree"] = {"files": len(files), "bytes": sum(map(len, files.values()))}
        w = self.work
        self.vs = VcrdtSide(w / "v-server")
        # Record where the server lives, as `vcrdt init` does: a copy of it (each client) is then
        # told apart and takes its own replica id when it is bound (`_bind`), as a real one has.
        bind_replica(self.vs.repo)
        self.gs = GitSide(w / "g-server.git", self.env)
        snaps = {a.commits - c: c for c in (*FF, DIVERGE) if c < a.commits}
        t0 = time.perf_counter()
        self.vs.repo.db.conn.execute("PRAGMA synchronous=OFF")
        for i in range(a.commits + 1):
            changed = dict(files) if i == 0 else changes(files, self.paths, "server", i, a.edits)
            with self.vs.repo.transaction():
                self.vs.commit(changed, f"commit {i}\n")
            self.gs.commit(changed, f"commit {i}\n")
            if i in snaps:
                self.snapshot(snaps[i])
                if snaps[i] == DIVERGE:
                    self.div_files = dict(files)
            if i % 200 == 0:
                self.log(f"  built {i}/{a.commits} commits ({time.perf_counter() - t0:.0f} s)")
        self.snapshot(0)
        self.gs.flush()
        self.log("  git repack -adf (as a served repository would be packed)")
        git(["repack", "-adfq"], self.env, cwd=self.gs.root)
        self.info["build_seconds"] = round(time.perf_counter() - t0, 1)

    def snapshot(self, c: int) -> None:
        """Client copies of both servers as they are now (c commits before the end)."""
        self.gs.flush()
        self.vs.close()
        for suffix in ("", "-div") if c == DIVERGE else ("",):
            vdst = self.work / f"v-c{c}{suffix}"
            shutil.copytree(self.vs.root, vdst, symlinks=True)
            _idle(vdst)
            gdst = self.work / f"g-c{c}{suffix}.git"
            shutil.copytree(self.gs.root, gdst, symlinks=True)
            head = git_out(["rev-parse", "main"], gdst, self.env).strip()
            git(["update-ref", "refs/remotes/origin/main", head], self.env, cwd=gdst)
        self.vs = _reopen(self.vs)

    def diverge(self) -> None:
        """The divergent clients: their own DIVERGE commits on main after the snapshot.

        The vcrdt copy takes its own replica id first, as a replica that diverged would have:
        commits made under the server's id would reuse the server's dots, and the join would
        then drop both sides' heads of main.
        """
        _bind(self.work / f"v-c{DIVERGE}-div")
        vc = VcrdtSide(self.work / f"v-c{DIVERGE}-div", create=False)
        vc.load()
        gc = GitSide(self.work / f"g-c{DIVERGE}-div.git", self.env)
        mine = dict(self.div_files)
        for i in range(DIVERGE):
            changed = changes(mine, self.paths, "client", i, self.args.edits)
            with vc.repo.transaction():
                vc.commit(changed, f"client {i}\n")
            gc.commit(changed, f"client {i}\n")
        gc.flush()
        vc.close()

    def unrelated(self) -> None:
        """Clients with a history of their own (20 commits over 100 other files)."""
        rng = random.Random(5)
        mine = {f"other/f{j}.txt": rng.randbytes(200).hex().encode() for j in range(100)}
        paths = sorted(mine)
        vc = VcrdtSide(self.work / "v-unrelated")
        vc.repo.refs.set_head_branch("refs/heads/idle")
        gc = GitSide(self.work / "g-unrelated.git", self.env)
        for i in range(20):
            changed = dict(mine) if i == 0 else changes(mine, paths, "unrelated", i, 3)
            with vc.repo.transaction():
                vc.commit(changed, f"own {i}\n")
            gc.commit(changed, f"own {i}\n")
        gc.flush()
        vc.close()

    def measure(
        self, name: str, vrun: Callable[[Path], Run], grun: Callable[[Path], Run] | None
    ) -> tuple[Run, Run | None]:
        vs: list[Run] = []
        gs: list[Run] = []
        for k in range(self.args.repeat):
            slug = "".join(ch if ch.isalnum() else "-" for ch in name)
            scratch = self.work / "runs" / f"{slug}-{k}"
            scratch.mkdir(parents=True)
            vs.append(vrun(scratch))
            if grun is not None:
                gs.append(grun(scratch))
            shutil.rmtree(scratch)
        v = median_run(vs)
        g = median_run(gs) if gs else None
        self.log(
            f"  {name}: vcrdt rtt={v.rtt} neg={v.negotiation} obj={v.objects} {v.seconds:.2f}s"
            f" (cpu {v.extra.get('cpu', 0):.2f}s; runs {_walls(vs)})"
            + (
                f" | git rtt={g.rtt} neg={g.negotiation} obj={g.objects} {g.seconds:.2f}s"
                f" (cpu {g.extra.get('cpu', 0):.2f}s; runs {_walls(gs)})"
                if g
                else ""
            )
        )
        return v, g

    def fetch_case(self, name: str, client: str) -> tuple[Run, Run]:
        """Fetch main (vcrdt: every branch) from each server into a fresh copy of the client."""

        def vrun(scratch: Path) -> Run:
            dst = scratch / "v"
            shutil.copytree(self.work / f"v-{client}", dst, symlinks=True)
            _bind(dst)
            # The copy's pages are still dirty: the fetch's first checkpoint would write the whole
            # database back (a copy's cost, not a fetch's; git fsyncs only what it writes).
            os.sync()
            return run_vcrdt(["fetch"], self.vs.root, dst, self.env, scratch)

        def grun(scratch: Path) -> Run:
            dst = scratch / "g.git"
            shutil.copytree(self.work / f"g-{client}.git", dst, symlinks=True)
            os.sync()
            url = f"file://{self.gs.root}"
            return run_git(["fetch", "-q", url, "+refs/heads/*:refs/remotes/origin/*"], dst, self.env, scratch)

        v, g = self.measure(name, vrun, grun)
        assert g is not None
        return v, g

    def clone_case(self) -> None:
        def vrun(scratch: Path) -> Run:
            return run_vcrdt(["clone", str(scratch / "v")], self.vs.root, scratch, self.env, scratch)

        def grun(scratch: Path) -> Run:
            return run_git(["clone", "-q", f"file://{self.gs.root}", str(scratch / "g")], scratch, self.env, scratch)

        v, g = self.measure("clone", vrun, grun)
        assert g is not None
        self.rows.append(git_like("clone (with checkout)", v, g))
        # Peak RSS on both sides of the largest case, once more under GNU time.
        scratch = self.work / "runs" / "rss"
        scratch.mkdir(parents=True)
        vr = run_vcrdt(["clone", str(scratch / "v")], self.vs.root, scratch, self.env, scratch, rss=True)
        gr = run_git(
            ["clone", "-q", f"file://{self.gs.root}", str(scratch / "g")], scratch, self.env, scratch, rss=True
        )
        shutil.rmtree(scratch)
        self.info["clone_rss"] = {
            "vcrdt_client": vr.extra["client_rss"],
            "vcrdt_server": vr.extra["server_rss"],
            "git_client": gr.extra["client_rss"],
            "git_server": gr.extra["server_rss"],
        }

    def http_case(self) -> None:
        """A clone over `vcrdt serve` on 127.0.0.1: object payload per second."""
        with _served(VCRDT, self.vs.root, self.env) as (url, _):
            speeds = []
            for k in range(self.args.repeat):
                scratch = self.work / "runs" / f"http-{k}"
                scratch.mkdir(parents=True)
                start = time.perf_counter()
                p = subprocess.run(
                    [VCRDT, "clone", url, str(scratch / "v"), "--stats", "--json"],
                    cwd=scratch,
                    env=self.env,
                    capture_output=True,
                    text=True,
                )
                wall = time.perf_counter() - start
                if p.returncode != 0:
                    raise RuntimeError(p.stderr)
                stats = json.loads(p.stdout)["stats"]
                speeds.append(
                    {
                        "payload": stats["payload_received"],
                        "session_seconds": stats["seconds"],
                        "wall_seconds": wall,
                        "mb_per_s": stats["payload_received"] / 1e6 / stats["seconds"],
                    }
                )
                shutil.rmtree(scratch)
            self.info["http_clone"] = sorted(speeds, key=lambda s: s["mb_per_s"])[len(speeds) // 2]
            self.info["http_clone_runs"] = speeds

    def many_branches(self) -> None:
        """10,000 branches on both servers; clients copied; then one branch moves by one commit."""
        vs, gs = self.vs, self.gs
        heads = [vs.repo.refs.get("refs/heads/main")]
        # Branch j points at commit j mod the history's length, in both tools.
        from vcrdt.dag import read_commit

        chain: list[ObjectId] = []
        oid = heads[0]
        while oid is not None:
            chain.append(oid)
            ps = read_commit(vs.repo.store, oid).parents
            oid = ps[0] if ps else None
        chain.reverse()
        gchain = git_out(["rev-list", "--reverse", "--first-parent", "main"], gs.root, self.env).split()
        assert len(gchain) == len(chain)
        with vs.repo.transaction():
            for j in range(BRANCHES):
                vs.repo.refs.update(f"refs/heads/b{j:05d}", chain[j % len(chain)], expected=None)
        lines = "".join(f"create refs/heads/b{j:05d} {gchain[j % len(gchain)]}\n" for j in range(BRANCHES))
        subprocess.run(["git", "update-ref", "--stdin"], cwd=gs.root, env=self.env, input=lines.encode(), check=True)
        vs.close()
        shutil.copytree(vs.root, self.work / "v-many", symlinks=True)
        _idle(self.work / "v-many")
        shutil.copytree(gs.root, self.work / "g-many.git", symlinks=True)
        refs = git_out(["for-each-ref", "--format=%(objectname) %(refname)", "refs/heads/"], gs.root, self.env)
        mirror = "".join(
            f"update refs/remotes/origin/{name[len('refs/heads/') :]} {oid}\n"
            for oid, name in (r.split() for r in refs.splitlines())
        )
        subprocess.run(
            ["git", "update-ref", "--stdin"],
            cwd=self.work / "g-many.git",
            env=self.env,
            input=mirror.encode(),
            check=True,
        )
        self.vs = vs = _reopen(vs)
        # One branch moves: one commit on b00042.
        vs.load("b00042")
        files = dict(self.files)
        changed = changes(files, self.paths, "branch", 1, self.args.edits)
        with vs.repo.transaction():
            vs.commit(changed, "on b00042\n", branch="b00042")
        gs.commit(changed, "on b00042\n", branch="b00042")
        gs.flush()
        v, g = self.fetch_case(f"{BRANCHES} branches, one changed", "many")
        self.rows.append(git_like(f"{BRANCHES} branches, one changed", v, g))

    def loss(self) -> None:
        """vcrdt only: d random objects lost from one side of n, found by the Merkle descent."""
        base = self.work / "loss-a"
        rng = random.Random(11)
        side = VcrdtSide(base)
        blobs = [rng.randbytes(rng.randint(60, 400)) for _ in range(self.args.loss_n - 3)]
        with side.repo.transaction():
            side.repo.store.put_many([("blob", b, None) for b in blobs])
            side.commit({"f.txt": b"one file\n"}, "loss\n")
        side.repo.refs.set_head_branch("refs/heads/idle")
        n = sum(1 for _ in side.repo.store.iter_ids())
        side.close()
        for d in LOSS:
            client = self.work / f"loss-b{d}"
            shutil.copytree(base, client, symlinks=True)
            _idle(client)
            ids = sorted(_blob_ids(client))
            gone = random.Random(d).sample(ids, d)
            _lose(client, gone)
            # The server gains a branch, so the ref states differ and the session looks further.
            srv = self.work / f"loss-a{d}"
            shutil.copytree(base, srv, symlinks=True)
            r = Repository.discover(srv, CONF)
            with r.transaction():
                main = r.refs.get("refs/heads/main")
                assert main is not None
                r.refs.update("refs/heads/extra", main, expected=None)
            r.close()

            def vrun(scratch: Path, client: Path = client, srv: Path = srv) -> Run:
                dst = scratch / "v"
                shutil.copytree(client, dst, symlinks=True)
                _bind(dst)
                os.sync()
                return run_vcrdt(["sync"], srv, dst, self.env, scratch)

            v, _ = self.measure(f"loss d={d}", vrun, None)
            limit = 2500 + 1700 * d
            overhead = v.extra["overhead"]
            failed = [
                name
                for name, good in (
                    ("rtt", v.rtt <= 3),
                    ("overhead", overhead <= limit),
                    ("objects", v.extra["objects_received"] == d),
                )
                if not good
            ]
            self.rows.append(
                Row(
                    f"random loss d={d}, n={n}",
                    v,
                    None,
                    f"rtt <= 3; overhead {kb(overhead)} <= {kb(limit)}; "
                    f"received {int(v.extra['objects_received'])} = d",
                    not failed,
                    failed,
                )
            )

    # --- the large case ------------------------------------------------------------------------

    def large_case(self) -> None:
        """A clone of about 256 MB of large files over `vcrdt serve` (and git over `git daemon`) on 127.0.0.1."""
        files = large_files(self.args.large_mb)
        raw = sum(map(len, files.values()))
        self.log(f"large: {len(files)} files, {raw / 1e6:.0f} MB")
        w = self.work
        vs = VcrdtSide(w / "large-v")
        with vs.repo.transaction():
            vs.commit(files, "large files\n")
        vs.repo.refs.set_head_branch("refs/heads/main")
        vs.close()
        gs = GitSide(w / "large-g.git", self.env)
        gs.commit(files, "large files\n")
        gs.flush()
        git(["repack", "-adfq"], self.env, cwd=gs.root)  # as a served repository would be packed
        del files
        tools = self.args.vcrdt or [VCRDT]
        runs: dict[str, list[dict[str, float]]] = {t: [] for t in tools}
        gruns: list[dict[str, float]] = []
        for k in range(self.args.repeat):
            # Interleaved: each vcrdt given (--vcrdt), then git, in every round.
            for tool in tools:
                scratch = w / "runs" / f"large-{k}"
                scratch.mkdir(parents=True)
                runs[tool].append(self._large_vcrdt(tool, vs.root, scratch, raw))
                shutil.rmtree(scratch)
                self.log(f"  large: {tool}: {_large_line(runs[tool][-1])}")
            scratch = w / "runs" / f"large-{k}"
            scratch.mkdir(parents=True)
            gruns.append(self._large_git(gs.root, scratch, raw))
            shutil.rmtree(scratch)
            self.log(f"  large: git: {_large_line(gruns[-1])}")
        self.info["large"] = {
            "files": len(large_plan(self.args.large_mb)),
            "bytes": raw,
            "vcrdt": {t: _median_by(r, "wall") for t, r in runs.items()},
            "git": _median_by(gruns, "wall"),
            "vcrdt_runs": runs,
            "git_runs": gruns,
        }

    def _large_vcrdt(self, tool: str, root: Path, scratch: Path, raw: int) -> dict[str, float]:
        with _served(tool, root, self.env) as (url, proc):
            server_cpu = _proc_cpu(proc.pid)
            cmd = [tool, "clone", url, str(scratch / "v"), "--stats", "--json"]
            start, cpu = time.perf_counter(), _cpu()
            p, peak = _run(cmd, scratch, self.env, rss=True)
            wall, cpu = time.perf_counter() - start, _cpu() - cpu
            if p.returncode != 0:
                raise RuntimeError(p.stderr)
            server_cpu = _proc_cpu(proc.pid) - server_cpu
            server_rss = _proc_hwm(proc.pid)
        stats = json.loads(p.stdout)["stats"]
        payload = stats["payload_received"]
        return {
            "payload": payload,
            "raw": raw,
            "session": stats["seconds"],
            "wall": wall,
            "mb_per_s": payload / 1e6 / stats["seconds"],
            "raw_mb_per_s": raw / 1e6 / wall,
            "client_cpu": cpu,
            "server_cpu": server_cpu,
            "client_rss": peak * 1024,
            "server_rss": server_rss,
        }

    def _large_git(self, root: Path, scratch: Path, raw: int) -> dict[str, float]:
        port = _free_port()
        # git-daemon itself, not through the `git` wrapper (which would run it as its child): the
        # daemon reaps each connection's process, so its children's CPU counts there.
        daemon = str(Path(git_out(["--exec-path"], scratch, self.env).strip()) / "git-daemon")
        proc = subprocess.Popen(
            [
                daemon,
                "--reuseaddr",
                "--export-all",
                f"--base-path={root.parent}",
                "--listen=127.0.0.1",
                f"--port={port}",
                str(root.parent),
            ],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"git://127.0.0.1:{port}/{root.name}"
            for _ in range(200):  # a report, not a test: poll until the daemon answers
                if git_ok(["ls-remote", url], scratch, self.env):
                    break
                time.sleep(0.05)
            else:
                raise RuntimeError("git daemon did not start")
            server_cpu = _proc_cpu(proc.pid, children=True)
            pack = scratch / "pack.trace"
            env = dict(self.env, GIT_TRACE_PACKFILE=str(pack))
            cmd = ["git", "clone", "-q", url, str(scratch / "g")]
            start, cpu = time.perf_counter(), _cpu()
            p, peak = _run(cmd, scratch, env, rss=True)
            wall, cpu = time.perf_counter() - start, _cpu() - cpu
            if p.returncode != 0:
                raise RuntimeError(p.stderr)
            for _ in range(100):  # the daemon reaps the connection's process soon after it ends
                if not _children(proc.pid):
                    break
                time.sleep(0.02)
            server_cpu = _proc_cpu(proc.pid, children=True) - server_cpu
        finally:
            proc.terminate()
            proc.wait()
        payload = pack.stat().st_size
        return {
            "payload": payload,
            "raw": raw,
            "wall": wall,
            "mb_per_s": payload / 1e6 / wall,
            "raw_mb_per_s": raw / 1e6 / wall,
            "client_cpu": cpu,
            "server_cpu": server_cpu,
            "client_rss": peak * 1024,
        }

    def run(self) -> None:
        only = set(self.args.only.split(",")) if self.args.only else None

        def want(case: str) -> bool:
            return only is None or case in only

        if want("large"):
            self.large_case()
        if only is not None and not only - {"large"}:
            return  # the large case needs none of the history below
        self.log(f"building {self.args.commits} commits over {self.args.files} files in both tools")
        self.build()
        if DIVERGE < self.args.commits:
            self.diverge()
        self.unrelated()
        if want("noop"):
            v, g = self.fetch_case("no-op", "c0")
            failed = [n for n, good in (("rtt", v.rtt == 1), ("bytes", v.negotiation + v.objects <= 512)) if not good]
            self.rows.append(Row("no-op", v, g, "1 rtt, <= 512 B in all", not failed, failed))
        for c in FF:
            if c < self.args.commits and want("ff"):
                v, g = self.fetch_case(f"fast-forward +{c}", f"c{c}")
                self.rows.append(git_like(f"fast-forward +{c}", v, g))
        if want("divergent") and DIVERGE < self.args.commits:
            v, g = self.fetch_case(f"divergent ({DIVERGE} commits each side)", f"c{DIVERGE}-div")
            self.rows.append(git_like(f"divergent ({DIVERGE} each side)", v, g))
        if want("unrelated"):
            v, g = self.fetch_case("unrelated histories", "unrelated")
            row = git_like("unrelated histories", v, g)
            self.rows.append(row)
        if want("clone"):
            self.clone_case()
        if want("http"):
            self.http_case()
        if want("loss"):
            self.loss()
        if want("many"):
            self.many_branches()


# --- the large case's files and measures -------------------------------------------------------

# Sizes in MiB of the large case's files: incompressible (media-like) and compressible text. The
# sizes straddle the thresholds: 1 MiB pieces on the wire, 8 MiB (`LARGE_OBJECT`) stored whole.
LARGE_MB = 256
LARGE_MEDIA = (2, 3, 4, 5, 6, 6, 7, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 10, 12, 16, 20, 24)
LARGE_TEXT = (4, 8, 12, 24)


def large_plan(total_mb: int) -> list[tuple[str, int, bool]]:
    """(path, bytes, incompressible) of the large case, scaled to about `total_mb` MiB."""
    base = sum(LARGE_MEDIA) + sum(LARGE_TEXT)
    scale = total_mb / base
    plan = [(f"media/clip{i:02d}.bin", int(mb * scale * (1 << 20)), True) for i, mb in enumerate(LARGE_MEDIA)]
    plan += [(f"text/log{i:02d}.txt", int(mb * scale * (1 << 20)), False) for i, mb in enumerate(LARGE_TEXT)]
    return plan


def large_text(size: int, seed: int) -> bytes:
    """`size` bytes of text lines (compresses about 4 to 1 with zstd)."""
    rng = random.Random(seed)
    words = gen_tree._COMMON_WORDS
    block = (
        "\n".join(f"{i:08d} " + " ".join(rng.choices(words, k=rng.randint(4, 14))) for i in range(4096)).encode()
        + b"\n"
    )
    parts: list[bytes] = []
    got = 0
    n = 0
    while got < size:
        # Each block differs (a counter per line), as the lines of a long log do.
        piece = block.replace(b"\n0", f"\n{n % 10}".encode())
        parts.append(piece)
        got += len(piece)
        n += 1
    return b"".join(parts)[:size]


def large_files(total_mb: int) -> dict[str, bytes]:
    """The large case's files (deterministic)."""
    out = {}
    for i, (path, size, media) in enumerate(large_plan(total_mb)):
        out[path] = random.Random(i).randbytes(size) if media else large_text(size, i)
    return out


def _median_by(runs: list[dict[str, float]], key: str) -> dict[str, float]:
    return sorted(runs, key=lambda r: r[key])[len(runs) // 2]


def _large_line(r: dict[str, float]) -> str:
    return (
        f"{r['mb_per_s']:.1f} MB/s payload ({r['payload'] / 1e6:.0f} MB), {r['raw_mb_per_s']:.1f} MB/s content,"
        f" {r['wall']:.2f} s wall, cpu client {r['client_cpu']:.2f} s"
        f" server {r['server_cpu']:.2f} s, rss client {r['client_rss'] / 1e6:.0f} MB"
        + (f" server {r['server_rss'] / 1e6:.0f} MB" if "server_rss" in r else "")
    )


@contextlib.contextmanager
def _served(tool: str, root: Path, env: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`tool serve --public` of `root` on 127.0.0.1 (a free port): its URL and process, stopped after."""
    proc = subprocess.Popen(
        [tool, "serve", "--public", "--host", "127.0.0.1", "--port", "0", str(root)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if "serving" not in line:
            raise RuntimeError(f"vcrdt serve did not start: {line!r}")
        yield line.split(" at ", 1)[1].strip(), proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _proc_cpu(pid: int, *, children: bool = False) -> float:
    """CPU seconds (user and system) of a running process (`children`: and of its children reaped)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def _proc_hwm(pid: int) -> int:
    """A running process's peak resident set (``VmHWM``), in bytes."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def _children(pid: int) -> list[str]:
    out = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            out += f.read().split()
    return out


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _idle(root: Path) -> None:
    """Point a copied replica's HEAD at an unborn branch: a fetch then moves no work tree."""
    r = Repository.discover(root, CONF)
    try:
        r.refs.set_head_branch("refs/heads/idle")
    finally:
        r.close()


def _bind(root: Path) -> None:
    """Give a copied replica its own identity before it is timed, as any command's first open would.

    A copy (``shutil.copytree``) is detected by the next command that opens it, which takes a new
    replica id in a transaction of its own: a one-time cost a user's repository has paid long
    before it fetches, and git's copies have no counterpart of.
    """
    r = Repository.discover(root, CONF)
    try:
        bind_replica(r)
    finally:
        r.close()


def _reopen(side: VcrdtSide) -> VcrdtSide:
    new = VcrdtSide.__new__(VcrdtSide)
    new.root = side.root
    new.repo = Repository.discover(side.root, CONF)
    new.flat, new.tree, new.head = side.flat, side.tree, side.head
    return new


def _blob_ids(root: Path) -> list[bytes]:
    db = sqlite3.connect(root / ".vcrdt" / "store.db")
    try:
        return [row[0] for row in db.execute("SELECT id FROM objects WHERE CAST(kind AS INTEGER) = 1 AND size > 50")]
    finally:
        db.close()


def _lose(root: Path, ids: list[bytes]) -> None:
    """Delete objects from a replica's database, and recompute its fingerprints (a damaged replica)."""
    db = sqlite3.connect(root / ".vcrdt" / "store.db")
    try:
        db.executemany("DELETE FROM objects WHERE id = ?", [(i,) for i in ids])
        fingerprints.rebuild(db)
        db.commit()
    finally:
        db.close()


def machine() -> dict[str, object]:
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "git": subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip(),
        "kernel": platform.release(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=gen_tree.DEFAULT_FILES, help="files in the tree (%(default)s)")
    parser.add_argument("--seed", type=int, default=gen_tree.DEFAULT_SEED, help="tree seed (%(default)s)")
    parser.add_argument("--commits", type=int, default=2000, help="commits of history (%(default)s)")
    parser.add_argument("--edits", type=int, default=3, help="files each commit edits (%(default)s)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the median is reported (%(default)s)")
    parser.add_argument("--loss-n", type=int, default=LOSS_N, help="objects of the random-loss case (%(default)s)")
    parser.add_argument("--only", help="comma-separated cases: noop,ff,divergent,unrelated,clone,http,loss,many,large")
    parser.add_argument(
        "--vcrdt",
        action="append",
        help="a vcrdt command for the large case (repeatable: runs interleave; default: this checkout's)",
    )
    parser.add_argument("--large-mb", type=int, default=LARGE_MB, help="MiB of files in the large case (%(default)s)")
    parser.add_argument("--workdir", type=Path, help="where the repositories go (default: a temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--json", type=Path, help="also write the rows and measurements as JSON")
    args = parser.parse_args(argv)
    (BENCH / "out").mkdir(exist_ok=True)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="sync-", dir=BENCH / "out"))
    work.mkdir(parents=True, exist_ok=True)
    # The measured commands run this checkout (an editable install): compile it as installing a
    # wheel does, so that no process compiles vcrdt's modules (with PYTHONDONTWRITEBYTECODE set,
    # as in some shells, every process would compile every module it imports, every time).
    compileall.compile_dir(Path(vcrdt.__file__).parent, quiet=1)
    load_before = os.getloadavg()
    bench = Bench(args, work)
    try:
        bench.run()
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    info = {"machine": machine(), "args": {k: str(v) for k, v in vars(args).items()}, **bench.info}
    info["load_average"] = {"start": load_before, "end": os.getloadavg()}
    print(f"sync benchmark, {info['machine']}")
    print(f"load average (1, 5, 15 min) at the start {load_before}, at the end {os.getloadavg()}")
    print(
        f"history: {args.commits} commits x {args.edits} edited files over {args.files} files; median of {args.repeat}"
    )
    print()
    print(table(bench.rows))
    print()
    rss = info.get("clone_rss")
    if isinstance(rss, dict):
        print(
            "peak RSS, clone: "
            + ", ".join(f"{k} {v / 1e6:.0f} MB" for k, v in rss.items())
            + ("  (target <= 300 MB: PASS)" if max(rss["vcrdt_client"], rss["vcrdt_server"]) <= 300e6 else "  (FAIL)")
        )
    http = info.get("http_clone")
    if isinstance(http, dict):
        # The history's clone (thousands of small objects, a checkout) over HTTP: bound by the
        # work per object, like the clone row above, whose target (2 x git's time) it shares.
        # The 50 MB/s throughput target is the large clone's, below.
        print(
            f"HTTP clone of the history over vcrdt serve (127.0.0.1): {http['payload'] / 1e6:.1f} MB of object "
            f"payload in {http['session_seconds']:.2f} s = {http['mb_per_s']:.1f} MB/s "
            "(info: the 50 MB/s target is the large clone's)"
        )
    large = info.get("large")
    if isinstance(large, dict):
        print(
            f"large clone over 127.0.0.1: {large['files']} files, {large['bytes'] / 1e6:.0f} MB; "
            f"median of {args.repeat} by wall; target >= 50 MB/s of object payload over HTTP"
        )
        for tool, r in large["vcrdt"].items():
            verdict = "PASS" if r["mb_per_s"] >= 50 else "FAIL"
            print(f"  vcrdt serve (HTTP), {tool}: {_large_line(r)} ({verdict})")
        print(f"  git daemon: {_large_line(large['git'])}")
    if args.json:
        doc = {
            **info,
            "rows": [
                {
                    "case": r.case,
                    "vcrdt": r.v.__dict__,
                    "git": r.g.__dict__ if r.g else None,
                    "target": r.target,
                    "ok": r.ok,
                }
                for r in bench.rows
            ],
        }
        args.json.write_text(json.dumps(doc, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
