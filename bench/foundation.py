"""Foundation benchmark: vcrdt against git (and dulwich) side by side.

Generates a deterministic tree (see gen_tree.py), gives each tool its own copy
and times the same operations with each, the tools interleaved run by run (A B
A B), then prints one table row per measure: the median of each tool, the
ratios to git of vcrdt as a plain process per command (``vcrdt``) and on its
opt-in daemon (``vcrdt+d``, started with ``vcrdt daemon start`` in a private
runtime directory), each target and PASS/FAIL. It is a report, not a test: it
exits 0 whatever the verdicts, and 1 only when a command fails (the command and
its stderr are printed).

Usage: ``python bench/foundation.py [--files N] [--repeat K] [--only vcrdt,git] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gen_tree

BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = BENCH_DIR / "out"
CACHE_DIR = OUT_DIR / "cache"
TOOLS = ("vcrdt", "vcrdt+d", "git", "dulwich")
# The two ways vcrdt runs: a whole process per command (the default), and on the opt-in daemon.
VCRDT_TOOLS = ("vcrdt", "vcrdt+d")
TIME = "/usr/bin/time"
MB = 1_000_000
LOG_FILES = 10
AUTHOR_NAME = "Bench Mark"
AUTHOR_EMAIL = "bench@example.invalid"

Cmd = list[str]


class CommandError(Exception):
    def __init__(self, cmd: Sequence[str], cwd: Path, returncode: int | None, stderr: str) -> None:
        super().__init__(f"command failed ({returncode}): {' '.join(cmd)}")
        self.cmd = list(cmd)
        self.cwd = cwd
        self.returncode = returncode
        self.stderr = stderr


@dataclass
class Sample:
    seconds: float
    maxrss_bytes: int


def run(cmd: Sequence[str], cwd: Path, env: dict[str, str]) -> Sample:
    """Run one command, output discarded; return its wall time and peak RSS.

    The child is reaped with ``os.wait4`` so its own resource usage (peak RSS
    of it and of any children it waited for) comes back without a wrapper
    process whose start-up would be timed too.
    """
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        try:
            proc = subprocess.Popen(
                cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err
            )
        except OSError as exc:
            raise CommandError(cmd, cwd, None, str(exc)) from exc
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise CommandError(cmd, cwd, proc.returncode, err.read().decode(errors="replace"))
    return Sample(elapsed, usage.ru_maxrss * 1024)


def run_steps(steps: Sequence[Cmd], cwd: Path, env: dict[str, str]) -> Sample:
    """Run commands one after the other (like ``a && b``): total time, largest peak RSS."""
    total = Sample(0.0, 0)
    for cmd in steps:
        sample = run(cmd, cwd, env)
        total = Sample(total.seconds + sample.seconds, max(total.maxrss_bytes, sample.maxrss_bytes))
    return total


def peak_rss(steps: Sequence[Cmd], cwd: Path, env: dict[str, str]) -> int:
    """The largest peak RSS of the processes that run `steps`, measured by GNU time.

    Linux carries a process's peak RSS over fork and exec into the child, so a
    command spawned from this benchmark (a Python process of 20+ MB) would
    report at least that much. GNU time is small, and the command it forks
    starts from its size instead.
    """
    peak = 0
    with tempfile.NamedTemporaryFile() as out:
        for cmd in steps:
            run([TIME, "-f", "%M", "-o", out.name, *cmd], cwd, env)
            peak = max(peak, int(Path(out.name).read_text().split()[-1]) * 1024)
    return peak


def capture(cmd: Sequence[str], cwd: Path, env: dict[str, str]) -> str:
    try:
        done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise CommandError(cmd, cwd, None, str(exc)) from exc
    if done.returncode != 0:
        raise CommandError(cmd, cwd, done.returncode, done.stderr)
    return done.stdout.strip()


# --- the tools ------------------------------------------------------------------


class Tool:
    """How one tool spells each benchmarked operation (``None``: it has no such command)."""

    name: str
    meta_dir: str

    def start(self, env: dict[str, str]) -> None:
        """Anything the tool needs running before it is measured."""

    def stop(self, env: dict[str, str]) -> None:
        """Undo `start`."""

    def init(self) -> list[Cmd]:
        raise NotImplementedError

    def commit_all(self, message: str) -> list[Cmd]:
        """Record every change in the work tree (new, modified, deleted files) as one commit."""
        raise NotImplementedError

    def status(self) -> Cmd | None:
        raise NotImplementedError

    def log(self, count: int) -> Cmd | None:
        raise NotImplementedError

    def version(self) -> Cmd | None:
        raise NotImplementedError


class Vcrdt(Tool):
    """vcrdt as a whole process per command (``vcrdt``), or on its opt-in daemon (``vcrdt+d``)."""

    meta_dir = ".vcrdt"

    def __init__(self, exe: str, commit_style: str, *, daemon: bool) -> None:
        self.exe = exe
        self.commit_style = commit_style
        self.daemon = daemon
        self.name = "vcrdt+d" if daemon else "vcrdt"

    def start(self, env: dict[str, str]) -> None:
        """Start the daemon (from the user's side: `vcrdt daemon start`), and wait until it answers."""
        if self.daemon:
            run([self.exe, "daemon", "start"], Path(env["HOME"]), env)

    def stop(self, env: dict[str, str]) -> None:
        if self.daemon:
            run([self.exe, "daemon", "stop"], Path(env["HOME"]), env)

    def init(self) -> list[Cmd]:
        return [[self.exe, "init"]]

    def commit_all(self, message: str) -> list[Cmd]:
        if self.commit_style == "addremove":
            return [[self.exe, "commit", "--addremove", "-m", message]]
        return [[self.exe, "add", "."], [self.exe, "commit", "-m", message]]

    def status(self) -> Cmd:
        return [self.exe, "status"]

    def log(self, count: int) -> Cmd:
        return [self.exe, "log", "-n", str(count)]

    def version(self) -> Cmd:
        return [self.exe, "--version"]


class Git(Tool):
    name = "git"
    meta_dir = ".git"

    def init(self) -> list[Cmd]:
        return [["git", "init", "-q"]]

    def commit_all(self, message: str) -> list[Cmd]:
        return [["git", "add", "-A"], ["git", "commit", "-q", "-m", message]]

    def status(self) -> Cmd:
        return ["git", "status"]

    def log(self, count: int) -> Cmd:
        return ["git", "log", "-n", str(count)]

    def version(self) -> Cmd:
        return ["git", "--version"]


class Dulwich(Tool):
    """dulwich's porcelain API, each operation in a fresh ``python -c`` process."""

    name = "dulwich"
    meta_dir = ".git"

    def _py(self, body: str) -> Cmd:
        return [sys.executable, "-c", "from dulwich import porcelain\n" + body]

    def init(self) -> list[Cmd]:
        return [self._py("porcelain.init('.')")]

    def commit_all(self, message: str) -> list[Cmd]:
        ident = f"{AUTHOR_NAME} <{AUTHOR_EMAIL}>".encode()
        return [
            self._py(
                "porcelain.add('.')\n"
                f"porcelain.commit('.', message={message.encode()!r}, author={ident!r}, committer={ident!r})"
            )
        ]

    def status(self) -> Cmd:
        return self._py("s = porcelain.status('.')\nprint(s.staged, s.unstaged, list(s.untracked))")

    def log(self, count: int) -> Cmd:
        return self._py(f"porcelain.log('.', max_entries={count})")

    def version(self) -> None:
        return None  # the `dulwich` script has no --version


# --- measurement ----------------------------------------------------------------


@dataclass
class Target:
    """``ratio``: vcrdt <= value * git; ``max``: vcrdt <= value (in the row's unit)."""

    kind: str
    value: float

    def describe(self, unit: str) -> str:
        if self.kind == "ratio":
            return f"<= {self.value:g} x git" if self.value != 1 else "<= git"
        if unit == "bytes":
            return f"<= {self.value / MB:g} MB"
        return f"<= {fmt(self.value, unit)}"

    def check(self, vcrdt: float | None, git: float | None) -> str:
        if vcrdt is None:
            return "-"
        if self.kind == "ratio":
            if git is None:
                return "-"
            return "PASS" if vcrdt <= self.value * git else "FAIL"
        if self.kind == "max":
            return "PASS" if vcrdt <= self.value else "FAIL"
        return "-"


@dataclass
class Row:
    """One measure; `target` holds plain vcrdt to git, `daemon_target` vcrdt on its daemon."""

    key: str
    title: str
    unit: str  # "s" or "bytes"
    target: Target
    daemon_target: Target | None = None
    samples: dict[str, list[float]] = field(default_factory=dict)

    def median(self, tool: str) -> float | None:
        values = self.samples.get(tool)
        return statistics.median(values) if values else None

    def ratio(self, tool: str = "vcrdt") -> float | None:
        vcrdt, git = self.median(tool), self.median("git")
        return vcrdt / git if vcrdt is not None and git else None

    def verdict(self, tool: str = "vcrdt") -> str:
        target = self.target if tool == "vcrdt" else self.daemon_target
        if target is None:
            return "-"
        return target.check(self.median(tool), self.median("git"))

    def as_json(self) -> dict[str, object]:
        targets = {"vcrdt": self.target, "vcrdt+d": self.daemon_target}
        return {
            "key": self.key,
            "title": self.title,
            "unit": self.unit,
            "targets": {
                tool: {"kind": t.kind, "value": t.value, "text": t.describe(self.unit)}
                for tool, t in targets.items()
                if t is not None
            },
            "median": {tool: self.median(tool) for tool in self.samples},
            "samples": self.samples,
            "ratio_to_git": {tool: self.ratio(tool) for tool in VCRDT_TOOLS},
            "verdict": {tool: self.verdict(tool) for tool in VCRDT_TOOLS},
        }


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "bytes":
        return f"{value / MB:.1f} MB"
    if value >= 1:
        return f"{value:.2f} s"
    return f"{value * 1000:.1f} ms" if value < 0.1 else f"{value * 1000:.0f} ms"


def du_bytes(path: Path) -> tuple[int, int]:
    """Disk usage (like ``du``: allocated blocks, hard links once) and apparent size of a tree."""
    seen: set[tuple[int, int]] = set()
    disk = apparent = 0
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            st = os.lstat(os.path.join(dirpath, name))
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            disk += st.st_blocks * 512
            apparent += st.st_size
    st = os.lstat(path)
    return disk + st.st_blocks * 512, apparent + st.st_size


class Bench:
    def __init__(self, args: argparse.Namespace, tools: list[Tool], workdir: Path) -> None:
        self.args = args
        self.tools = tools
        self.workdir = workdir
        self.env = make_env(workdir / "home")
        self.rows: dict[str, Row] = {}
        self.info: dict[str, object] = {}

    def row(self, key: str, title: str, unit: str, target: Target, daemon_target: Target | None = None) -> Row:
        self.rows[key] = Row(key, title, unit, target, daemon_target)
        return self.rows[key]

    def env_for(self, tool: Tool) -> dict[str, str]:
        """The tool's environment: plain vcrdt must not use the daemon the other column started."""
        env = dict(self.env)
        if tool.name == "vcrdt":
            env["VCRDT_NO_SERVER"] = "1"
        if tool.name == "vcrdt+d":
            env["XDG_RUNTIME_DIR"] = str(self.workdir / "run")  # a daemon of its own, not the user's
            (self.workdir / "run").mkdir(mode=0o700, exist_ok=True)
        return env

    def say(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    def tree(self) -> tuple[Path, list[str]]:
        """The generated tree, cached under bench/out/cache between runs."""
        args = self.args
        name = f"tree-v{gen_tree.GENERATOR_VERSION}-{args.files}-{args.seed}"
        path = CACHE_DIR / name
        stamp = CACHE_DIR / f"{name}.done"
        if not stamp.exists():
            self.say(f"generating {args.files} files (seed {args.seed}) into {path} ...")
            shutil.rmtree(path, ignore_errors=True)
            start = time.perf_counter()
            gen_tree.generate(path, args.files, args.seed)
            stamp.write_text("\n".join(p for p, _ in gen_tree.plan(args.files, args.seed)) + "\n")
            self.say(f"  done in {time.perf_counter() - start:.1f} s")
        paths = stamp.read_text().split()
        size = sum((path / p).stat().st_size for p in paths)
        self.info["tree"] = {"files": len(paths), "bytes": size, "seed": args.seed, "cache": str(path)}
        self.say(f"tree: {len(paths)} files, {size / MB:.1f} MB")
        return path, paths

    # -- rows --

    def run_all(self) -> None:
        """Every row, the tools interleaved run by run (A B A B ...), so a change of load hits all alike."""
        args = self.args
        template, paths = self.tree()
        edited = sorted(paths)[len(paths) // 2]
        self.info["edited_file"] = edited
        n = args.repeat
        tools = self.tools
        envs = {t.name: self.env_for(t) for t in tools}

        def ratio(plain: float, daemon: float | None = 1.5) -> tuple[Target, Target | None]:
            return Target("ratio", plain), (Target("ratio", daemon) if daemon is not None else None)

        first = self.row("first_commit", "first commit of the whole tree", "s", *ratio(0.5, 0.5))
        rss = self.row("first_commit_rss", "peak RSS of the first commit", "bytes", Target("max", 200 * MB))
        store = self.row("store_du", "store size after first commit (du)", "bytes", Target("ratio", 1.0))
        apparent = self.row("store_apparent", "store size after first commit (apparent)", "bytes", Target("info", 0))
        status = self.row("status_clean", "status, unchanged tree", "s", *ratio(3))
        status_edit = self.row("status_edited", "status after editing one file", "s", *ratio(3))
        commit_edit = self.row("commit_edited", "commit after editing one file", "s", *ratio(3))
        log_title = f"log -n {args.log_commits} ({args.log_commits}-commit history)"
        log = self.row("log", log_title, "s", *ratio(3))
        log_packed = self.row("log_packed", log_title + ", git packed (gc)", "s", *ratio(3))
        version = self.row("startup", "start-up: --version", "s", Target("max", 0.04), Target("max", 0.04))

        for tool in tools:
            tool.start(envs[tool.name])
        try:
            trees = {}
            for tool in tools:
                trees[tool.name] = wt = self.workdir / tool.name
                self.say(f"[{tool.name}] copying the tree to {wt}")
                shutil.copytree(template, wt)

            self.say(f"first commit x{n}, interleaved")
            for i in range(n):
                for tool in tools:
                    wt = trees[tool.name]
                    shutil.rmtree(wt / tool.meta_dir, ignore_errors=True)
                    run_steps(tool.init(), wt, envs[tool.name])
                    sample = run_steps(tool.commit_all(f"first commit {i}"), wt, envs[tool.name])
                    first.samples.setdefault(tool.name, []).append(sample.seconds)
            for tool in tools:
                if tool.name == "vcrdt+d":
                    continue  # the work runs in a daemon child, forked from the daemon: see bench/README.md
                wt = trees[tool.name]
                shutil.rmtree(wt / tool.meta_dir, ignore_errors=True)
                run_steps(tool.init(), wt, envs[tool.name])
                rss.samples[tool.name] = [peak_rss(tool.commit_all("first commit (RSS)"), wt, envs[tool.name])]
                disk, size = du_bytes(wt / tool.meta_dir)
                store.samples[tool.name] = [disk]
                apparent.samples[tool.name] = [size]

            having = [t for t in tools if t.status() is not None]
            self.say(f"status x{n} (+ a warm-up run each), interleaved")
            for tool in having:
                run(tool.status() or [], trees[tool.name], envs[tool.name])
            for _ in range(n):
                for tool in having:
                    status.samples.setdefault(tool.name, []).append(
                        run(tool.status() or [], trees[tool.name], envs[tool.name]).seconds
                    )
            for i in range(n):
                for tool in having:
                    gen_tree.edit_file(trees[tool.name] / edited, step=i)
                    status_edit.samples.setdefault(tool.name, []).append(
                        run(tool.status() or [], trees[tool.name], envs[tool.name]).seconds
                    )

            self.say(f"commit after one edit x{n}, interleaved")
            for i in range(n):
                for tool in tools:
                    wt = trees[tool.name]
                    gen_tree.edit_file(wt / edited, step=1000 + i)
                    commit_edit.samples.setdefault(tool.name, []).append(
                        run_steps(tool.commit_all(f"edit {i}"), wt, envs[tool.name]).seconds
                    )
            if not args.keep:
                for wt in trees.values():
                    shutil.rmtree(wt)

            logs = {t.name: (t.log(args.log_commits), self.history(t)) for t in tools if t.log(args.log_commits)}
            if "git" in logs:
                # git's history packed, as a long-lived one is (`git gc`: one pack and a commit-graph), measured in
                # the same loop as the loose one; vcrdt's store has no separate packed form, so its runs (the same
                # command on the same repository) count for both rows. The copy is packed and flushed to disk before
                # any log run: measured apart, the packed row came right after the gc, whose writeback then ran
                # during it (vcrdt's unchanged log measured 20 ms slower there than in the loose row).
                git_cmd, git_repo = logs["git"]
                packed = git_repo.with_name(git_repo.name + "-packed")
                if not packed.exists():
                    shutil.copytree(git_repo, packed, symlinks=True)
                    run(["git", "gc", "-q"], packed, envs["git"])
                logs["git packed"] = (git_cmd, packed)
                os.sync()
            # A log takes tens of milliseconds, so its rows take as many runs as the start-up rows: with
            # five, one run slowed by the host moves the median of a 7 ms git log by a tenth.
            log_runs = max(n, 10)
            self.say(f"log x{log_runs} (+ a warm-up run each), interleaved")
            for name, (cmd, repo) in logs.items():
                run(cmd or [], repo, envs[name.removesuffix(" packed")])
            for _ in range(log_runs):
                for name, (cmd, repo) in logs.items():
                    seconds = run(cmd or [], repo, envs[name.removesuffix(" packed")]).seconds
                    if name == "git packed":
                        log_packed.samples.setdefault("git", []).append(seconds)
                        continue
                    log.samples.setdefault(name, []).append(seconds)
                    if name in VCRDT_TOOLS:
                        log_packed.samples.setdefault(name, []).append(seconds)

            runs = max(n, 10)
            having = [t for t in tools if t.version() is not None]
            self.say(f"--version x{runs} (+ a warm-up run each), interleaved")
            for tool in having:
                run(tool.version() or [], self.workdir, envs[tool.name])
            for _ in range(runs):
                for tool in having:
                    version.samples.setdefault(tool.name, []).append(
                        run(tool.version() or [], self.workdir, envs[tool.name]).seconds
                    )
        finally:
            for tool in tools:
                tool.stop(envs[tool.name])

    def history(self, tool: Tool) -> Path:
        """A small repository with ``--log-commits`` commits, each changing one small file.

        git and vcrdt each build theirs with their own commit command, file for
        file and message for message the same; dulwich reads git's (same format).
        """
        builder = Git() if tool.name == "dulwich" else tool
        if isinstance(tool, Vcrdt):
            repo = self.workdir / "history-vcrdt"  # one history for both ways of running vcrdt
            if repo.exists():
                return repo
        else:
            repo = self.workdir / f"history-{builder.name}"
        if repo.exists():
            return repo
        count = self.args.log_commits
        self.say(f"[{builder.name}] building a {count}-commit history in {repo} ...")
        start = time.perf_counter()
        repo.mkdir()
        if isinstance(builder, Vcrdt):
            # Setup, not measured: the same commits through the library in one process (a
            # thousand CLI start-ups would take minutes).
            subprocess.run(
                [sys.executable, "-c", VCRDT_HISTORY, str(repo), str(count), str(LOG_FILES)],
                env=self.env,
                check=True,
            )
            self.say(f"  done in {time.perf_counter() - start:.1f} s")
            return repo
        run_steps(builder.init(), repo, self.env)
        for i in range(count):
            if i == 0:
                for k in range(LOG_FILES):
                    (repo / f"file{k}.txt").write_text(f"file {k}\n")
            else:
                with open(repo / f"file{i % LOG_FILES}.txt", "a") as fh:
                    fh.write(f"change {i}\n")
            run_steps(builder.commit_all(f"commit {i}"), repo, self.env)
            if (i + 1) % 200 == 0:
                self.say(f"  {i + 1}/{count}")
        self.say(f"  done in {time.perf_counter() - start:.1f} s")
        return repo


VCRDT_HISTORY = """
import sys
from pathlib import Path
from vcrdt import porcelain
from vcrdt.repo import Repository, Settings
root, count, files = Path(sys.argv[1]).resolve(), int(sys.argv[2]), int(sys.argv[3])
settings = Settings(author_name="Bench Author", author_email="bench@example.com")
porcelain.init(root, settings)
repo = Repository(root, settings)
for i in range(count):
    if i == 0:
        for k in range(files):
            (root / f"file{k}.txt").write_text(f"file {k}\\n")
    else:
        with open(root / f"file{i % files}.txt", "a") as fh:
            fh.write(f"change {i}\\n")
    porcelain.commit(repo, f"commit {i}", cwd=root, addremove=True)
"""


def make_env(home: Path) -> dict[str, str]:
    """A clean environment: no user config, fixed identity, no auto gc."""
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text(
        f"[user]\n\tname = {AUTHOR_NAME}\n\temail = {AUTHOR_EMAIL}\n"
        "[init]\n\tdefaultBranch = main\n"
        "[gc]\n\tauto = 0\n"
        "[maintenance]\n\tauto = false\n"
        "[advice]\n\tdetachedHead = false\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "VCRDT_"))}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME=AUTHOR_NAME,
        GIT_AUTHOR_EMAIL=AUTHOR_EMAIL,
        GIT_COMMITTER_NAME=AUTHOR_NAME,
        GIT_COMMITTER_EMAIL=AUTHOR_EMAIL,
        VCRDT_AUTHOR_NAME=AUTHOR_NAME,
        VCRDT_AUTHOR_EMAIL=AUTHOR_EMAIL,
        LC_ALL="C",
        NO_COLOR="1",
    )
    return env


# --- report ---------------------------------------------------------------------


def table(rows: Sequence[Row]) -> str:
    """The report: each tool's median, vcrdt's ratios to git, and each target's verdict."""
    header = ["measure", *TOOLS, "vcrdt/git", "vcrdt+d/git", "target", "verdict", "target +d", "verdict +d"]
    lines = []
    for row in rows:
        cells = [row.title] + [fmt(row.median(t), row.unit) for t in TOOLS]
        for tool in VCRDT_TOOLS:
            ratio = row.ratio(tool)
            cells.append(f"{ratio:.2f}" if ratio is not None else "-")
        for tool, target in (("vcrdt", row.target), ("vcrdt+d", row.daemon_target)):
            described = "-" if target is None else target.describe(row.unit) if target.kind != "info" else "(info)"
            cells += [described, row.verdict(tool)]
        lines.append(cells)
    widths = [max(len(r[i]) for r in [header, *lines]) for i in range(len(header))]
    out = []
    for n, cells in enumerate([header, *lines]):
        left = cells[0].ljust(widths[0])
        out.append("  ".join([left] + [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def machine_info(tools: Sequence[Tool], env: dict[str, str], cwd: Path) -> dict[str, object]:
    info: dict[str, object] = {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    for tool in tools:
        cmd = tool.version()
        if tool.name == "dulwich":
            cmd = [sys.executable, "-c", "import dulwich; print('dulwich', '.'.join(map(str, dulwich.__version__)))"]
        if cmd is not None:
            info[f"{tool.name}_version"] = capture(cmd, cwd, env)
    return info


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=gen_tree.DEFAULT_FILES, help="files in the tree (%(default)s)")
    parser.add_argument("--seed", type=int, default=gen_tree.DEFAULT_SEED, help="tree seed (%(default)s)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per measure, median reported (%(default)s)")
    parser.add_argument("--log-commits", type=int, default=1000, help="commits in the log history (%(default)s)")
    parser.add_argument("--workdir", type=Path, help="where the repositories go (default: temp dir in bench/out/)")
    parser.add_argument("--keep", action="store_true", help="keep the work directories afterwards")
    parser.add_argument(
        "--vcrdt",
        default=os.path.join(os.path.dirname(sys.executable), "vcrdt"),
        help="vcrdt executable (default: the one next to this Python)",
    )
    parser.add_argument(
        "--commit-style",
        choices=("add", "addremove"),
        default="add",
        help="vcrdt commit spelling: 'add' = `add .` then `commit -m`; 'addremove' = `commit --addremove -m`",
    )
    parser.add_argument(
        "--only",
        default=",".join(TOOLS),
        help="comma-separated tools to run, e.g. 'git,dulwich' for baselines without vcrdt (default: all)",
    )
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    args.only = [t.strip() for t in args.only.split(",") if t.strip()]
    unknown = set(args.only) - set(TOOLS)
    if unknown or not args.only:
        parser.error(f"--only takes a comma-separated subset of {', '.join(TOOLS)}")
    if args.repeat < 1 or args.files < 1 or args.log_commits < 1:
        parser.error("--repeat, --files and --log-commits must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tools: list[Tool] = []
    for name in TOOLS:
        if name not in args.only:
            continue
        if name == "dulwich" and importlib.util.find_spec("dulwich") is None:
            print("dulwich is not importable from this Python: skipping it", file=sys.stderr)
            continue
        factories: dict[str, Callable[[], Tool]] = {
            "vcrdt": lambda: Vcrdt(args.vcrdt, args.commit_style, daemon=False),
            "vcrdt+d": lambda: Vcrdt(args.vcrdt, args.commit_style, daemon=True),
            "git": Git,
            "dulwich": Dulwich,
        }
        tools.append(factories[name]())

    OUT_DIR.mkdir(exist_ok=True)
    CACHE_DIR.mkdir(exist_ok=True)
    own_workdir = args.workdir is None
    if own_workdir:
        workdir = Path(tempfile.mkdtemp(prefix="run-", dir=OUT_DIR))
    else:
        workdir = args.workdir.resolve()
        if workdir.exists() and any(workdir.iterdir()):
            print(f"--workdir {workdir} exists and is not empty", file=sys.stderr)
            return 1
        workdir.mkdir(parents=True, exist_ok=True)
    bench = Bench(args, tools, workdir)
    try:
        bench.info["machine"] = machine_info(tools, bench.env, workdir)
        bench.run_all()
    except CommandError as exc:
        print(f"\ncommand failed (exit {exc.returncode}) in {exc.cwd}:\n  {' '.join(exc.cmd)}", file=sys.stderr)
        print(exc.stderr.rstrip() or "(no stderr)", file=sys.stderr)
        if exc.cmd and exc.cmd[0] == args.vcrdt:
            print("\n(is the vcrdt CLI installed? `--only git,dulwich` measures the baselines alone)", file=sys.stderr)
        return 1
    finally:
        if own_workdir and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    rows = list(bench.rows.values())
    print()
    print(table(rows))
    print(f"\nmedians of {args.repeat} runs ({max(args.repeat, 10)} for log and start-up); tree: {bench.info['tree']}")
    if args.json:
        payload = {
            "params": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "info": bench.info,
            "rows": [row.as_json() for row in rows],
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
