"""No-daemon benchmark: vcrdt as a plain process (one or more source trees) against git, in CPU time.

Each command runs as its own process with ``VCRDT_NO_SERVER=1``, output to
/dev/null (a pipe-like, uncoloured stdout). The tools run interleaved run by
run (A B C A B C), so a change of machine load hits all alike, and each run's
CPU time (user + system, from ``wait4``: the process and the children it
waited for) is recorded beside its wall time. The table shows medians and the
ratio of each vcrdt variant to git.

Variants: ``--vcrdt NAME=SRC`` runs vcrdt with ``PYTHONPATH=SRC`` (for example
a ``git worktree`` of an older commit: ``--vcrdt before=/tmp/base --vcrdt
after=.``); the default is the vcrdt importable here. Each variant works on
its own copy of the tree and repository (one variant's writes would drop
another's stat-cache pack); they share the read-only ``log`` history.

Rows: ``--version``; status unchanged; status after one edit; commit after one
edit; ``log -n 1000`` (1,000-commit history; again against git after ``git gc``); switch between branches that
differ in 1,000 files (both directions); ``diff`` of 100 edited files.

Usage: ``python bench/plain.py [--files N] [--repeat K] [--vcrdt NAME=SRC ...] [--workdir DIR]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gen_tree
from foundation import CACHE_DIR, LOG_FILES, VCRDT_HISTORY, make_env

VCRDT = str(Path(sys.executable).with_name("vcrdt"))


def run(cmd: Sequence[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Run one command, output discarded; return (wall seconds, CPU seconds); raise if it fails."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)} in {cwd}\n{err.read().decode()}")
    return wall, usage.ru_utime + usage.ru_stime


def quiet(cmd: Sequence[str], cwd: Path, env: dict[str, str]) -> None:
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work = Path(args.workdir or tempfile.mkdtemp(prefix="plain-", dir=tempfile.gettempdir()))
        self.work.mkdir(parents=True, exist_ok=True)
        self.env = make_env(self.work / "home")
        self.env["VCRDT_NO_SERVER"] = "1"
        self.env["NO_COLOR"] = "1"
        self.variants: dict[str, dict[str, str]] = {}
        for spec in args.vcrdt or ["vcrdt="]:
            name, _, src = spec.partition("=")
            env = dict(self.env)
            if src:
                env["PYTHONPATH"] = str(Path(src).resolve())
            self.variants[name] = env
        self.tools = [*self.variants, "git"]
        self.rows: list[tuple[str, dict[str, list[tuple[float, float]]]]] = []

    def cmd(self, tool: str, *args: str) -> list[str]:
        return ["git", *args] if tool == "git" else [VCRDT, *args]

    def env_of(self, tool: str) -> dict[str, str]:
        return self.env if tool == "git" else self.variants[tool]

    def say(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    def setup(self) -> tuple[dict[str, Path], list[str]]:
        files = self.args.files
        template = CACHE_DIR / f"tree-v{gen_tree.GENERATOR_VERSION}-{files}-{gen_tree.DEFAULT_SEED}"
        if not template.exists():
            self.say(f"generating a {files}-file tree in {template}")
            gen_tree.main([str(template), "--files", str(files)])
        paths = sorted(str(p.relative_to(template)) for p in template.rglob("*") if p.is_file())
        repos = {}
        for tool in self.tools:  # each vcrdt variant its own repository: one's writes do not drop another's caches
            wt = self.work / ("git" if tool == "git" else f"vcrdt-{tool}")
            if wt.exists():
                shutil.rmtree(wt)
            shutil.copytree(template, wt)
            self.say(f"[{tool}] first commit of {len(paths)} files")
            if tool == "git":
                quiet(["git", "init", "-q", "-b", "main"], wt, self.env)
                quiet(["git", "add", "-A"], wt, self.env)
                quiet(["git", "commit", "-q", "-m", "first"], wt, self.env)
            else:
                quiet([VCRDT, "init"], wt, self.env_of(tool))
                quiet([VCRDT, "commit", "-A", "-m", "first"], wt, self.env_of(tool))
            repos[tool] = wt
        # The copies, git's 10,000 loose objects and vcrdt's database are still in the page cache,
        # dirty (about 300 MB): the kernel writes them back some 30 s later, in the middle of the
        # first rows, which then measured 30-40 ms slower (wall) than the same commands a minute
        # later (bench/README.md). Written back now, before anything is timed.
        os.sync()
        return repos, paths

    def measure(self, title: str, steps: dict[str, list[str]], repo: dict[str, Path], before: object = None) -> None:
        samples: dict[str, list[tuple[float, float]]] = {t: [] for t in self.tools}
        for t in self.tools:  # warm-up
            if callable(before):
                before(t, 1000)
            run(steps[t], repo[t], self.env_of(t))
        for i in range(self.args.repeat):
            for t in self.tools:
                if callable(before):
                    before(t, i)
                samples[t].append(run(steps[t], repo[t], self.env_of(t)))
        self.rows.append((title, samples))
        self.say(self.format_row(title, samples))

    def format_row(self, title: str, samples: dict[str, list[tuple[float, float]]]) -> str:
        cpu = {t: statistics.median(s[1] for s in samples[t]) for t in self.tools}
        wall = {t: statistics.median(s[0] for s in samples[t]) for t in self.tools}
        cells = [f"{title:<34}"]
        for t in self.tools:
            cell = f"{t}: {cpu[t] * 1000:7.1f} ms cpu {wall[t] * 1000:7.1f} ms wall"
            if t != "git" and cpu["git"] > 0:
                cell += f" ({cpu[t] / cpu['git']:.1f} x git cpu, {wall[t] / wall['git']:.1f} x wall)"
            cells.append(cell)
        return " | ".join(cells)

    def history(self, tool: str) -> Path:
        repo = self.work / f"history-{tool}"
        if repo.exists():
            return repo
        count = self.args.log_commits
        self.say(f"[{tool}] building a {count}-commit history")
        repo.mkdir()
        if tool == "vcrdt":
            subprocess.run(
                [sys.executable, "-c", VCRDT_HISTORY, str(repo), str(count), str(LOG_FILES)], env=self.env, check=True
            )
            return repo
        quiet(["git", "init", "-q", "-b", "main"], repo, self.env)
        for i in range(count):
            if i == 0:
                for k in range(LOG_FILES):
                    (repo / f"file{k}.txt").write_text(f"file {k}\n")
            else:
                with open(repo / f"file{i % LOG_FILES}.txt", "a") as fh:
                    fh.write(f"change {i}\n")
            quiet(["git", "add", "-A"], repo, self.env)
            quiet(["git", "commit", "-q", "-m", f"commit {i}"], repo, self.env)
        return repo

    def run_all(self) -> None:
        if self.args.log_only:
            self.run_log_rows()
            return
        repo, paths = self.setup()
        edited = paths[len(paths) // 2]

        def same(*args: str) -> dict[str, list[str]]:
            return {t: self.cmd(t, *args) for t in self.tools}

        self.measure("--version", same("--version"), repo)
        self.measure("status, unchanged", same("status"), repo)

        def edit(t: str, i: int) -> None:
            gen_tree.edit_file(repo[t] / edited, step=i * 10 + self.tools.index(t))

        self.measure("status after one edit", same("status"), repo, edit)
        commit = {
            t: (self.cmd(t, "commit", "-q", "-a", "-m", "e") if t == "git" else self.cmd(t, "commit", "-m", "e"))
            for t in self.tools
        }
        self.measure("commit after one edit", commit, repo, edit)

        # Two branches that differ in 1,000 files.
        changed = paths[: self.args.switch_files]
        for name, wt in repo.items():
            env = self.env_of(name)
            quiet(
                self.cmd(name, "switch", "-c", "other") if name != "git" else ["git", "switch", "-q", "-c", "other"],
                wt,
                env,
            )
            for k, p in enumerate(changed):
                gen_tree.edit_file(wt / p, step=5000 + k)
            quiet(
                self.cmd(name, "commit", "-m", "other")
                if name != "git"
                else ["git", "commit", "-q", "-a", "-m", "other"],
                wt,
                env,
            )
            quiet(self.cmd(name, "switch", "main") if name != "git" else ["git", "switch", "-q", "main"], wt, env)
        samples: dict[str, list[tuple[float, float]]] = {t: [] for t in self.tools}
        for _ in range(self.args.repeat):
            for target in ("other", "main"):
                for t in self.tools:
                    cmd = self.cmd(t, "switch", "-q", target) if t == "git" else self.cmd(t, "switch", target)
                    samples[t].append(run(cmd, repo[t], self.env_of(t)))
        title = f"switch, {len(changed)} files differ"
        self.rows.append((title, samples))
        self.say(self.format_row(title, samples))

        for wt in repo.values():
            for k, p in enumerate(paths[-self.args.diff_files :]):
                gen_tree.edit_file(wt / p, step=9000 + k)
        self.measure(f"diff, {self.args.diff_files} files edited", same("diff"), repo)

        self.run_log_rows()

    def run_log_rows(self) -> None:
        """`log -n N` against git's loose history and against the same history packed (`git gc`), in one loop.

        vcrdt runs the same command on the same repository for both rows, so its runs are shared by
        them: one loop interleaves each variant, git loose and git packed. The packed copy is made
        and flushed to disk (`os.sync`) before any log run: measured apart, the packed row came right
        after the copy and the gc, whose writeback then ran during it (vcrdt's log, unchanged,
        measured up to 20 ms slower there than in the loose row).
        """
        count = str(self.args.log_commits)
        logs = {"vcrdt": self.history("vcrdt"), "git": self.history("git")}
        packed = self.work / "history-git-packed"  # git's history in one pack (`git gc`), vcrdt's unchanged
        if not packed.exists():
            shutil.copytree(logs["git"], packed, symlinks=True)
            quiet(["git", "gc", "-q"], packed, self.env)
        os.sync()
        runs = [(t, self.cmd(t, "log", "-n", count), logs["git"] if t == "git" else logs["vcrdt"]) for t in self.tools]
        runs.append(("git packed", ["git", "log", "-n", count], packed))
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name, _, _ in runs}
        for name, cmd, cwd in runs:  # warm-up
            run(cmd, cwd, self.env_of("git" if name == "git packed" else name))
        for _ in range(self.args.repeat):
            for name, cmd, cwd in runs:
                samples[name].append(run(cmd, cwd, self.env_of("git" if name == "git packed" else name)))
        loose = {t: samples[t] for t in self.tools}
        against_packed = {t: samples["git packed" if t == "git" else t] for t in self.tools}
        for title, rows in ((f"log -n {count}", loose), (f"log -n {count}, git packed", against_packed)):
            self.rows.append((title, rows))
            self.say(self.format_row(title, rows))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=gen_tree.DEFAULT_FILES)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--log-commits", type=int, default=1000)
    parser.add_argument("--switch-files", type=int, default=1000)
    parser.add_argument("--diff-files", type=int, default=100)
    parser.add_argument("--vcrdt", action="append", help="NAME=SRC: a vcrdt variant run with PYTHONPATH=SRC")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--log-only", action="store_true", help="only the two log rows (no tree is copied)")
    args = parser.parse_args(argv)
    bench = Bench(args)
    try:
        with open("/proc/loadavg") as fh:
            bench.say(f"load average at start: {fh.read().split()[:3]}")
    except OSError:
        pass
    bench.run_all()
    print()
    for title, samples in bench.rows:
        print(bench.format_row(title, samples))
    try:
        with open("/proc/loadavg") as fh:
            print(f"load average at end: {' '.join(fh.read().split()[:3])}")
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
