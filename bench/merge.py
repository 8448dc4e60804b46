"""Merge benchmarks: vcrdt against git merge-file, the merge3 package, and git merge.

Usage: python bench/merge.py [--lines N] [--edits K] [--files N] [--changed N] [--repeat R] [--daemon] [--no-tree]

vcrdt runs as a plain process per command (the default path), or with `--daemon` on its opt-in
command server, started with `vcrdt daemon start` in a private runtime directory before anything
is timed (it returns once the server answers) and stopped at the end.

Rows:
- merge-file of an N-line file with K scattered edits per side (clean): `vcrdt merge-file -p`
  against `git merge-file -p`, whole processes (target <= 2 x git);
- the same merge in-process: vcrdt's diff3 (`merge_bytes` with the xdiff matcher) against
  `merge3.Merge3` (target >= 5 x faster). After one untimed run of each, the two are timed
  alternately (3 x `--repeat` runs each), so a busy machine slows both alike;
- `vcrdt merge` of two branches that each change `--changed` files of the generated tree (half
  of them the same files, in different places) against `git merge` (target <= 1.5 x git), the
  tools alternating run by run, and the merge's peak RSS measured by GNU time (target <= 300 MB;
  a command spawned straight from this Python would report at least this process's own peak);
  `--no-tree` leaves these two rows out.
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen_tree import generate

VCRDT = str(Path(sys.executable).with_name("vcrdt"))
TIME = "/usr/bin/time"


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Run a command; return (seconds, peak RSS in MB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed with {code}")
    return elapsed, usage.ru_maxrss / 1024


def triple(lines: int, edits: int, seed: int, *, code_like: bool = False) -> tuple[bytes, bytes, bytes]:
    """A base of unique lines (or, `code_like`, every 5th line one of 4 repeated lines) and two edited sides."""
    rng = random.Random(seed)
    words = ["alpha", "beta", "gamma", "delta", "value", "return", "self", "index", "count", "{", "}"]
    repeated = [b"}\n", b"\n", b"    return self\n", b"{\n"]
    base = [
        rng.choice(repeated)
        if code_like and i % 5 == 0
        else (" ".join(rng.choice(words) for _ in range(8)) + f" {i}\n").encode()
        for i in range(lines)
    ]
    spots = rng.sample(range(5, lines - 5, 10), 2 * edits)
    a, b = list(base), list(base)
    for k, pos in enumerate(spots[:edits]):
        a[pos] = f"ours edit {k}\n".encode()
    for k, pos in enumerate(spots[edits:]):
        b[pos] = f"theirs edit {k}\n".encode()
    return b"".join(base), b"".join(a), b"".join(b)


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def seconds(run: Callable[[], None]) -> float:
    """Wall-clock time of one call."""
    t = time.perf_counter()
    run()
    return time.perf_counter() - t


def inprocess(base: bytes, ours: bytes, theirs: bytes, runs: int) -> tuple[list[float], list[float] | None]:
    """Time vcrdt's diff3 and merge3 alternately on one triple, after one untimed run of each.

    Returns vcrdt's times and merge3's (None when merge3 is not installed).
    """
    from vcrdt.diff.xdiff import xdiff_matcher
    from vcrdt.merge.diff3 import merge_bytes

    def vcrdt_run() -> None:
        merge_bytes(base, ours, theirs, matcher=xdiff_matcher)

    try:
        import merge3
    except ImportError:
        vcrdt_run()
        return [seconds(vcrdt_run) for _ in range(runs)], None

    def merge3_run() -> None:
        list(merge3.Merge3(base.splitlines(True), ours.splitlines(True), theirs.splitlines(True)).merge_lines())

    vcrdt_run()
    merge3_run()
    ours_times, ref_times = [], []
    for _ in range(runs):
        ours_times.append(seconds(vcrdt_run))
        ref_times.append(seconds(merge3_run))
    return ours_times, ref_times


def bench_merge_file(args: argparse.Namespace, env: dict[str, str], work: Path) -> list[tuple[str, float, float, str]]:
    rows = []
    for code_like in (False, True):
        kind = "code-like" if code_like else "unique lines"
        base, ours, theirs = triple(args.lines, args.edits, 7, code_like=code_like)
        for name, data in (("O", base), ("A", ours), ("B", theirs)):
            (work / name).write_bytes(data)
        # Interleaved, so that a change in the machine's load falls on both tools alike.
        v, g = [], []
        for _ in range(args.repeat):
            v.append(timed([VCRDT, "merge-file", "-p", "A", "O", "B"], work, env)[0])
            g.append(timed(["git", "merge-file", "-p", "A", "O", "B"], work, env)[0])
        rows.append((f"merge-file, process ({kind})", median(v), median(g), "<= 2 x git"))
        inproc, m3 = inprocess(base, ours, theirs, 3 * args.repeat)
        if m3 is None:
            rows.append((f"diff3 in-process ({kind}; merge3 missing)", median(inproc), float("nan"), "-"))
            continue
        rows.append((f"in-process vs merge3 ({kind})", median(inproc), median(m3), "<= 0.2 x merge3"))
    return rows


def bench_tree_merge(args: argparse.Namespace, env: dict[str, str], work: Path) -> list[tuple[str, float, float, str]]:
    tree = work / "tree"
    generate(tree, files=args.files, seed=42)
    files = sorted(p for p in tree.rglob("*") if p.is_file())
    rng = random.Random(3)
    picked = rng.sample(files, args.changed * 3 // 2)
    shared, only_a, only_b = (
        picked[: args.changed // 2],
        picked[args.changed // 2 : args.changed],
        picked[args.changed :],
    )

    def edit(root: Path, paths: list[Path], where: str) -> None:
        for p in paths:
            target = root / p.relative_to(tree)
            lines = target.read_bytes().splitlines(True)
            pos = 1 if where == "top" else max(len(lines) - 2, 0)
            lines.insert(pos, f"edited at the {where}\n".encode())
            target.write_bytes(b"".join(lines))

    results: dict[str, list[float]] = {"vcrdt": [], "git": []}
    rss = 0.0
    for _ in range(args.repeat):
        for tool in ("vcrdt", "git"):
            root = work / f"{tool}-repo"
            shutil.rmtree(root, ignore_errors=True)
            shutil.copytree(tree, root)
            if tool == "git":
                steps = [["git", "init", "-q", "-b", "main"], ["git", "add", "-A"], ["git", "commit", "-qm", "base"]]
            else:
                steps = [[VCRDT, "init"], [VCRDT, "commit", "-A", "-m", "base"]]
            for s in steps:
                subprocess.run(s, cwd=root, env=env, check=True, capture_output=True)
            sw = ["git", "switch", "-qc", "side"] if tool == "git" else [VCRDT, "switch", "-c", "side"]
            subprocess.run(sw, cwd=root, env=env, check=True, capture_output=True)
            edit(root, shared + only_b, "bottom")
            commit = ["git", "commit", "-qam", "side"] if tool == "git" else [VCRDT, "commit", "-m", "side"]
            subprocess.run(commit, cwd=root, env=env, check=True, capture_output=True)
            back = ["git", "switch", "-q", "main"] if tool == "git" else [VCRDT, "switch", "main"]
            subprocess.run(back, cwd=root, env=env, check=True, capture_output=True)
            edit(root, shared + only_a, "top")
            commit = ["git", "commit", "-qam", "main"] if tool == "git" else [VCRDT, "commit", "-m", "main"]
            subprocess.run(commit, cwd=root, env=env, check=True, capture_output=True)
            cmd = ["git", "merge", "-q", "--no-edit", "side"] if tool == "git" else [VCRDT, "merge", "side"]
            peak_file = work / "peak"
            secs, _ = timed([TIME, "-f", "%M", "-o", str(peak_file), *cmd], root, env)
            results[tool].append(secs)
            if tool == "vcrdt":
                rss = max(rss, int(peak_file.read_text().split()[-1]) / 1024)
    return [
        (
            f"merge of {args.changed}+{args.changed} changed files",
            median(results["vcrdt"]),
            median(results["git"]),
            "<= 1.5 x git",
        ),
        ("peak RSS of that merge (MB)", rss, float("nan"), "<= 300 MB"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--edits", type=int, default=100)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--changed", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--daemon",
        action="store_true",
        help="run vcrdt on its command server (vcrdt daemon start, private runtime directory) instead of plain",
    )
    parser.add_argument("--no-tree", action="store_true", help="only the merge-file rows, not the tree merge")
    args = parser.parse_args()
    env = dict(os.environ, VCRDT_AUTHOR_NAME="Bench", VCRDT_AUTHOR_EMAIL="bench@example.com")
    env.pop("VCRDT_NO_SERVER", None)
    env.update(GIT_AUTHOR_NAME="Bench", GIT_AUTHOR_EMAIL="bench@example.com")
    env.update(GIT_COMMITTER_NAME="Bench", GIT_COMMITTER_EMAIL="bench@example.com", GIT_CONFIG_NOSYSTEM="1")
    with tempfile.TemporaryDirectory(
        dir=Path(__file__).parent / "out" if (Path(__file__).parent / "out").is_dir() else None
    ) as tmp:
        work = Path(tmp)
        if args.daemon:
            # A server of its own (not one the user runs), up and answering before anything is timed.
            (work / "run").mkdir(mode=0o700)
            env["XDG_RUNTIME_DIR"] = str(work / "run")
            subprocess.run([VCRDT, "daemon", "start"], cwd=work, env=env, check=True, capture_output=True)
        else:
            env["VCRDT_NO_SERVER"] = "1"  # plain processes, even if the user runs a server
        try:
            rows = bench_merge_file(args, env, work)
            if not args.no_tree:
                rows += bench_tree_merge(args, env, work)
        finally:
            if args.daemon:
                subprocess.run([VCRDT, "daemon", "stop"], cwd=work, env=env, check=False, capture_output=True)
    print(f"{'measure':45} {'vcrdt':>10} {'reference':>10} {'ratio':>7}  target")
    for name, ours, ref, target in rows:
        ratio = ours / ref if ref == ref and ref else float("nan")
        unit = "" if "RSS" in name else " s"
        print(f"{name:45} {ours:>8.3f}{unit} {ref:>8.3f}{unit} {ratio:>7.2f}  {target}")


if __name__ == "__main__":
    main()
