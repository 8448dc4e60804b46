"""Git interop benchmark: `vcrdt git import` / `export` against git's own tools, in the same run.

Builds a generated git history (``--commits`` commits over the ``--files``-file tree of
bench/gen_tree.py: each commit edits ``--edits`` files; every ``--merge-every`` commits a topic
branch of three commits is merged back with a two-parent merge; an annotated tag every 1,000
commits), then measures, tools interleaved (A B A B), ``--repeat`` runs each, median reported:

- import: ``vcrdt git import SRC`` into a new repository, against
  ``git fast-export --all | git fast-import`` into an empty bare repository (target <= 3x);
- export: ``vcrdt git export DST`` of that history into a missing directory, against the same
  git reference (target <= 3x);
- incremental: ``vcrdt git import SRC`` of 10 new commits into a repository that imported the
  rest, against ``git fetch SRC`` of them into a mirror holding the rest (target <= 5x); with
  ``--before DIR``, also vcrdt from the source tree DIR (an older checkout), interleaved;
- nothing moved: ``vcrdt git import SRC`` again, nothing new, against ``git fetch SRC`` with
  nothing to fetch (no target: a report of the start-up cost);
- peak RSS of the process doing the work (``/usr/bin/time``'s maximum resident set of the
  command, which for a pipeline is its largest member): at most 300 MB for vcrdt.

Usage: ``.venv/bin/python bench/git.py [--commits N] [--files N] [--repeat K] [--only-incremental]
[--before DIR] [--profile]``.
``--commits 500 --files 300`` is a quick run. ``--profile`` also writes a cProfile of one
import and one export under the work directory (printed). It is a report, not a test.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sync import EMAIL, NAME, edit, machine, make_env, tree_files

BENCH = Path(__file__).resolve().parent
VCRDT = str(Path(sys.executable).with_name("vcrdt"))
TIME = "/usr/bin/time"


@dataclass
class Run:
    """One measured command: wall seconds, CPU seconds (user + system, children included) and peak RSS (KiB)."""

    seconds: float
    cpu: float
    rss_kb: int


def timed(cmd: list[str], cwd: Path, env: dict[str, str], work: Path) -> Run:
    """Run `cmd` under GNU time; fail loudly if it fails."""
    out = work / "time.out"
    full = [TIME, "-f", "%M %U %S", "-o", str(out), *cmd]
    t0 = time.perf_counter()
    proc = subprocess.run(full, cwd=cwd, env=env, capture_output=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed ({proc.returncode}): {proc.stderr.decode(errors='replace')[-2000:]}")
    rss, user, system = out.read_text().splitlines()[-1].split()
    return Run(seconds, float(user) + float(system), int(rss))


# --- the history -----------------------------------------------------------------------------


class Stream:
    """Writes a `git fast-import` stream for a generated history with topic merges and tags."""

    def __init__(self, files: dict[str, bytes], edits: int, merge_every: int) -> None:
        self.main = dict(files)
        self.paths = sorted(files)
        self.edits = edits
        self.merge_every = merge_every
        self.mark = 0
        self.tick = 0
        self.head: int | None = None  # mark of main's tip
        self.n = 0  # commits written

    def _commit(self, ref: str, msg: str, parents: list[int], changed: dict[str, bytes]) -> bytes:
        self.mark += 1
        self.tick += 1
        self.n += 1
        m = msg.encode()
        parts = [
            f"commit {ref}\nmark :{self.mark}\n".encode(),
            f"author {NAME} <{EMAIL}> {1_700_000_000 + self.tick} +0100\n".encode(),
            f"committer {NAME} <{EMAIL}> {1_700_000_000 + self.tick} +0000\n".encode(),
            f"data {len(m)}\n".encode() + m + b"\n",
        ]
        if parents:
            parts.append(f"from :{parents[0]}\n".encode())
        parts += [f"merge :{p}\n".encode() for p in parents[1:]]
        for path, body in sorted(changed.items()):
            parts.append(f"M 100644 inline {path}\ndata {len(body)}\n".encode() + body + b"\n")
        parts.append(b"\n")
        return b"".join(parts)

    def first(self) -> bytes:
        """The root commit: every file."""
        data = self._commit("refs/heads/main", "initial tree", [], self.main)
        self.head = self.mark
        return data

    def step(self, i: int) -> bytes:
        """Commit `i` on main (and, every `merge_every`, a merged topic branch first)."""
        rng = random.Random(f"main:{i}")
        out = []
        assert self.head is not None
        if self.merge_every and i % self.merge_every == 0:
            base = self.head
            topic_paths = rng.sample(self.paths, 3 * self.edits)
            mine = topic_paths[: self.edits]
            theirs = topic_paths[self.edits :]
            files = dict(self.main)
            tip = base
            for k in range(2):
                changed = {p: edit(files[p], i * 10 + k) for p in theirs[k * self.edits : (k + 1) * self.edits]}
                files.update(changed)
                out.append(self._commit(f"refs/heads/topic/{i}", f"topic {i}.{k}", [tip], changed))
                tip = self.mark
            mchanged = {p: edit(self.main[p], i) for p in mine}
            self.main.update(mchanged)
            out.append(self._commit("refs/heads/main", f"main {i} (before the merge)", [base], mchanged))
            merged = {p: files[p] for p in theirs}
            self.main.update(merged)
            out.append(self._commit("refs/heads/main", f"merge topic/{i}", [self.mark, tip], merged))
            self.head = self.mark
            out.append(f"reset refs/heads/topic/{i}\nfrom 0000000000000000000000000000000000000000\n\n".encode())
        else:
            changed = {p: edit(self.main[p], i) for p in rng.sample(self.paths, self.edits)}
            self.main.update(changed)
            out.append(
                self._commit("refs/heads/main", f"commit {i}\n\nedits {', '.join(changed)}", [self.head], changed)
            )
            self.head = self.mark
        if i % 1000 == 0:
            out.append(
                f"tag v{i // 1000}\nfrom :{self.head}\n".encode()
                + f"tagger {NAME} <{EMAIL}> {1_700_000_000 + self.tick} +0000\n".encode()
                + b"data 11\nrelease tag\n"
            )
        return b"".join(out)


def build_history(src: Path, env: dict[str, str], args: argparse.Namespace) -> Stream:
    """A bare git repository with about `args.commits` commits (merges count as commits)."""
    subprocess.run(["git", "init", "-q", "--bare", str(src)], env=env, check=True)
    stream = Stream(tree_files(args.files, args.seed), args.edits, args.merge_every)
    proc = subprocess.Popen(["git", "fast-import", "--quiet", "--done"], cwd=src, env=env, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    proc.stdin.write(stream.first())
    i = 1
    while stream.n < args.commits:
        proc.stdin.write(stream.step(i))
        i += 1
    stream.next_step = i  # type: ignore[attr-defined]
    proc.stdin.write(b"done\n")
    proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError("git fast-import failed")
    subprocess.run(["git", "repack", "-adq"], cwd=src, env=env, check=True)
    return stream


def add_commits(src: Path, env: dict[str, str], stream: Stream, n: int) -> None:
    """`n` more commits on main (no merges), through fast-import."""
    stream.merge_every = 0
    proc = subprocess.Popen(["git", "fast-import", "--quiet", "--done"], cwd=src, env=env, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    head = subprocess.run(["git", "rev-parse", "main"], cwd=src, env=env, capture_output=True, text=True, check=True)
    proc.stdin.write(f"reset refs/heads/main\nfrom {head.stdout.strip()}\n\n".encode())
    stream.head = None
    start: int = stream.next_step  # type: ignore[attr-defined]
    for k in range(n):
        rng = random.Random(f"more:{k}")
        changed = {p: edit(stream.main[p], start + k) for p in rng.sample(stream.paths, stream.edits)}
        stream.main.update(changed)
        parents = [stream.head] if stream.head is not None else []
        body = stream._commit("refs/heads/main", f"more {k}", parents, changed)
        stream.head = stream.mark
        proc.stdin.write(body)
    proc.stdin.write(b"done\n")
    proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError("git fast-import failed")


# --- the cases -------------------------------------------------------------------------------


def git_copy(src: Path, dst: Path, env: dict[str, str], work: Path) -> Run:
    """The git reference: ``git fast-export --all | git fast-import`` into a new bare repository."""
    subprocess.run(["git", "init", "-q", "--bare", str(dst)], env=env, check=True)
    script = f"git -C {src} fast-export --all --signed-tags=verbatim | git -C {dst} fast-import --quiet"
    return timed(["sh", "-c", script], work, env, work)


def vcrdt_init(root: Path, env: dict[str, str]) -> None:
    subprocess.run([VCRDT, "init", str(root)], env=env, check=True, capture_output=True)


def interleave(a: Callable[[int], Run], b: Callable[[int], Run], repeat: int) -> tuple[list[Run], list[Run]]:
    ra: list[Run] = []
    rb: list[Run] = []
    for k in range(repeat):
        ra.append(a(k))
        rb.append(b(k))
    return ra, rb


def median(runs: list[Run]) -> Run:
    return Run(
        statistics.median(r.seconds for r in runs), statistics.median(r.cpu for r in runs), max(r.rss_kb for r in runs)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=5000, help="commits of history (%(default)s)")
    parser.add_argument("--files", type=int, default=2000, help="files in the tree (%(default)s)")
    parser.add_argument("--seed", type=int, default=42, help="tree seed (%(default)s)")
    parser.add_argument("--edits", type=int, default=3, help="files each commit edits (%(default)s)")
    parser.add_argument("--merge-every", type=int, default=50, help="a merged topic branch every N (%(default)s)")
    parser.add_argument("--incremental", type=int, default=10, help="new commits of the incremental case")
    parser.add_argument("--repeat", type=int, default=2, help="runs per case; the median is reported (%(default)s)")
    parser.add_argument(
        "--only-incremental",
        action="store_true",
        help="time only the incremental and nothing-moved cases (the base import is made once, untimed)",
    )
    parser.add_argument(
        "--before",
        type=Path,
        help="a vcrdt source tree (an older checkout, its vcrdt/ byte-compiled here): its incremental import"
        " is timed too, interleaved with this one's",
    )
    parser.add_argument("--profile", action="store_true", help="also cProfile one import and one export")
    parser.add_argument("--workdir", type=Path, help="where the repositories go (default: a temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    (BENCH / "out").mkdir(exist_ok=True)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="git-", dir=BENCH / "out"))
    work.mkdir(parents=True, exist_ok=True)
    env = make_env(work / "home")
    try:
        return run(args, work, env)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, work: Path, env: dict[str, str]) -> int:
    # vcrdt's modules byte-compiled, as an installed package has them (PYTHONDONTWRITEBYTECODE in
    # the environment would otherwise make every run compile them from source).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(BENCH.parent / "vcrdt")], check=True)
    src = work / "src.git"
    t0 = time.perf_counter()
    stream = build_history(src, env, args)
    count = subprocess.run(
        ["git", "rev-list", "--all", "--count"], cwd=src, env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    print(f"git interop benchmark, {machine()}")
    print(
        f"history: {count} commits over {args.files} files, {args.edits} edits a commit, a merge every"
        f" {args.merge_every}; built in {time.perf_counter() - t0:.1f} s; median of {args.repeat}"
    )
    rows: list[tuple[str, Run, Run, float | None]] = []

    # import
    def v_import(k: int) -> Run:
        dst = work / f"v-import-{k}"
        vcrdt_init(dst, env)
        return timed([VCRDT, "git", "import", "--quiet", str(src)], dst, env, work)

    def g_copy(k: int, tag: str = "import") -> Run:
        dst = work / f"g-{tag}-{k}.git"
        r = git_copy(src, dst, env, work)
        shutil.rmtree(dst)
        return r

    imported = work / "v-import-0"
    if args.only_incremental:
        v_import(0)
    else:
        vi, gi = interleave(v_import, g_copy, args.repeat)
        rows.append(("import", median(vi), median(gi), 3.0))
        for k in range(1, args.repeat):
            shutil.rmtree(work / f"v-import-{k}")

    # export
    def v_export(k: int) -> Run:
        dst = work / f"v-export-{k}.git"
        r = timed([VCRDT, "git", "export", "--quiet", str(dst)], imported, env, work)
        if k == 0:
            ok = subprocess.run(["git", "fsck", "--strict", "--no-progress"], cwd=dst, env=env, capture_output=True)
            same = subprocess.run(["git", "rev-parse", "main"], cwd=dst, env=env, capture_output=True).stdout == (
                subprocess.run(["git", "rev-parse", "main"], cwd=src, env=env, capture_output=True).stdout
            )
            print(f"export check: git fsck --strict {'clean' if ok.returncode == 0 else 'FAILED'}, same main: {same}")
        shutil.rmtree(dst)
        return r

    if not args.only_incremental:
        ve, ge = interleave(v_export, lambda k: g_copy(k, "export"), args.repeat)
        rows.append(("export", median(ve), median(ge), 3.0))

    # incremental import of new commits
    base_v = work / "v-base"
    shutil.copytree(imported, base_v, symlinks=True)
    base_g = work / "g-base.git"
    subprocess.run(["git", "clone", "-q", "--mirror", str(src), str(base_g)], env=env, check=True)
    add_commits(src, env, stream, args.incremental)

    # Each run starts from a fresh copy, written back to disk (os.sync) before the clock starts: a
    # copy still dirty in the page cache is flushed by the first fsync of its file, and vcrdt's
    # checkpoint at close (one fdatasync of store.db) then paid for writing the whole copied
    # database, 0.08 s of a 0.3 s run, which an import into a repository at rest never pays.
    # A copied repository takes a new replica id when a command first opens it (vcrdt.porcelain.copies):
    # that is done before the clock starts, as an import into a repository at rest never pays it.
    def v_incr(k: int, cmd: list[str] = [VCRDT], run_env: dict[str, str] = env) -> Run:  # noqa: B006
        dst = work / f"v-incr-{k}"
        shutil.copytree(base_v, dst, symlinks=True)
        subprocess.run([*cmd, "replica", "id"], cwd=dst, env=run_env, check=True, capture_output=True)
        os.sync()
        r = timed([*cmd, "git", "import", "--quiet", str(src)], dst, run_env, work)
        shutil.rmtree(dst)
        return r

    def g_fetch(k: int) -> Run:
        dst = work / f"g-incr-{k}.git"
        shutil.copytree(base_g, dst, symlinks=True)
        os.sync()
        r = timed(["git", "fetch", "-q", str(src), "+refs/heads/*:refs/heads/*"], dst, env, work)
        shutil.rmtree(dst)
        return r

    if args.before is None:
        vn, gn = interleave(v_incr, g_fetch, args.repeat)
    else:
        # The older tree's modules byte-compiled too, and run as the console script runs them.
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(args.before / "vcrdt")], check=True)
        old_env = {**env, "PYTHONPATH": str(args.before.resolve())}
        old_cmd = [sys.executable, "-c", "import sys; from vcrdt.cli import main; sys.exit(main())"]
        vb: list[Run] = []
        vn, gn = [], []
        for k in range(args.repeat):
            vb.append(v_incr(k, old_cmd, old_env))
            vn.append(v_incr(k))
            gn.append(g_fetch(k))
        rows.append((f"incremental, before ({args.incremental})", median(vb), median(gn), 5.0))
    rows.append((f"incremental ({args.incremental} commits)", median(vn), median(gn), 5.0))
    pairs = " ".join(f"{a.seconds:.2f}/{b.seconds:.2f}" for a, b in zip(vn, gn, strict=True))
    print(f"incremental runs (vcrdt/git, wall s): {pairs}")

    # nothing moved: the same import again, and a fetch with nothing to fetch
    done_v = work / "v-done"
    shutil.copytree(base_v, done_v, symlinks=True)
    subprocess.run([VCRDT, "git", "import", "--quiet", str(src)], cwd=done_v, env=env, check=True, capture_output=True)
    done_g = work / "g-done.git"
    shutil.copytree(base_g, done_g, symlinks=True)
    subprocess.run(["git", "fetch", "-q", str(src), "+refs/heads/*:refs/heads/*"], cwd=done_g, env=env, check=True)
    vs, gs = interleave(
        lambda k: timed([VCRDT, "git", "import", "--quiet", str(src)], done_v, env, work),
        lambda k: timed(["git", "fetch", "-q", str(src), "+refs/heads/*:refs/heads/*"], done_g, env, work),
        args.repeat,
    )
    rows.append(("nothing moved", median(vs), median(gs), None))

    print()
    print(
        f"{'case':26} {'vcrdt s':>8} {'git s':>7} {'ratio':>6} {'vcrdt cpu':>9} {'git cpu':>7} {'ratio':>6}"
        f" {'target':>6} {'vcrdt RSS':>9} {'git RSS':>7}  verdict"
    )
    for name, v, g, target in rows:
        ratio = v.seconds / g.seconds if g.seconds else float("inf")
        cpu_ratio = v.cpu / g.cpu if g.cpu else float("inf")
        if target is None:
            verdict, shown = "(no target)", "    -"
        else:
            verdict = "PASS" if ratio <= target and v.rss_kb <= 300_000 else "FAIL"
            shown = f"{target:5.0f}x"
        print(
            f"{name:26} {v.seconds:8.2f} {g.seconds:7.2f} {ratio:5.1f}x {v.cpu:9.2f} {g.cpu:7.2f} {cpu_ratio:5.1f}x"
            f" {shown} {v.rss_kb / 1000:7.0f}MB {g.rss_kb / 1000:5.0f}MB  {verdict}"
        )
    print("(verdict on wall time and RSS <= 300 MB; runs interleaved vcrdt, git, vcrdt, git, ...; load average")
    print(f" at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")

    if args.profile:
        prof = work / "profiles"
        prof.mkdir(exist_ok=True)
        dst = work / "v-prof"
        vcrdt_init(dst, env)
        cmd = [sys.executable, "-m", "cProfile", "-o", str(prof / "import.prof"), "-m", "vcrdt"]
        subprocess.run([*cmd, "git", "import", "--quiet", str(src)], cwd=dst, env=env, check=True)
        cmd[4] = str(prof / "export.prof")
        subprocess.run([*cmd, "git", "export", "--quiet", str(work / "prof.git")], cwd=dst, env=env, check=True)
        print(f"profiles: {prof}/import.prof, {prof}/export.prof")
    return 0


if __name__ == "__main__":
    os.umask(0o022)
    sys.exit(main())
