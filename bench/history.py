"""Reading commands on a real history: vcrdt against git, interleaved, with the ratio.

A git repository (default: the one this file is in) is imported into a scratch vcrdt
repository with `vcrdt git import`; then each row runs the same reading command in both,
alternating (vcrdt, git, vcrdt, git, ...), and prints both medians and vcrdt / git. The
commands are those a reader of a project's history types: the history of a file and of a
directory (git's history simplification in both), the patches and stats of the last commits,
blame of a file and a diff across many commits. vcrdt runs as a plain process (no command
server). Run as ``.venv/bin/python bench/history.py [GIT_REPO] [--repeat N]``.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def _pick_files(repo: Path, env: dict[str, str]) -> tuple[str, str]:
    """The file changed most often, and its directory (or the top one with the most history)."""
    out = subprocess.run(
        ["git", "log", "--format=", "--name-only", "-n", "300"], cwd=repo, env=env, capture_output=True, text=True
    ).stdout
    counts: dict[str, int] = {}
    for name in out.split():
        if (repo / name).is_file():
            counts[name] = counts.get(name, 0) + 1
    if not counts:
        raise SystemExit(f"{repo}: no file in the last 300 commits is in the work tree")
    name = max(counts, key=lambda n: (counts[n], n))
    return name, name.rsplit("/", 1)[0] if "/" in name else "."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", nargs="?", default=str(ROOT), help="a git repository (default: this one)")
    parser.add_argument("--repeat", type=int, default=7, help="runs per row and tool (default 7)")
    parser.add_argument("--vcrdt", default=str(Path(sys.executable).with_name("vcrdt")), help="the vcrdt executable")
    args = parser.parse_args(argv)
    src = Path(args.repo).resolve()
    env = dict(
        os.environ, VCRDT_NO_SERVER="1", GIT_CONFIG_NOSYSTEM="1", VCRDT_AUTHOR_NAME="b", VCRDT_AUTHOR_EMAIL="b@x"
    )
    with tempfile.TemporaryDirectory(prefix="vcrdt-history-") as tmp:
        ours = Path(tmp) / "v"
        theirs = Path(tmp) / "g"
        # A clone of HEAD's branch (the one vcrdt's import checks out), packed as a long-lived one is.
        subprocess.run(["git", "clone", "-q", "--single-branch", str(src), str(theirs)], env=env, check=True)
        subprocess.run(["git", "gc", "-q"], cwd=theirs, env=env, check=True)
        subprocess.run([args.vcrdt, "init", "-q", str(ours)], env=env, check=True, stdout=subprocess.DEVNULL)
        start = time.perf_counter()
        subprocess.run([args.vcrdt, "git", "import", "-q", str(theirs)], cwd=ours, env=env, check=True)
        print(f"imported {src} in {time.perf_counter() - start:.2f} s")
        file, folder = _pick_files(theirs, env)
        rows = [
            (f"log --oneline -- {file}", ["log", "--oneline", "--", file]),
            (f"log --oneline -- {folder}", ["log", "--oneline", "--", folder]),
            ("log --stat -n 100", ["log", "--stat", "-n", "100"]),
            ("log -p -n 20", ["log", "-p", "-n", "20"]),
            (f"blame {file}", ["blame", file]),
            ("diff HEAD~50 HEAD --stat", ["diff", "HEAD~50", "HEAD", "--stat"]),
        ]
        print(f"{'command':<48} {'vcrdt':>9} {'git':>9} {'vcrdt/git':>9}")
        for title, cmd in rows:
            times: dict[str, list[float]] = {"vcrdt": [], "git": []}
            _run([args.vcrdt, "--no-pager", *cmd], ours, env)
            _run(["git", "--no-pager", *cmd], theirs, env)
            for _ in range(args.repeat):
                times["vcrdt"].append(_run([args.vcrdt, "--no-pager", *cmd], ours, env))
                times["git"].append(_run(["git", "--no-pager", *cmd], theirs, env))
            v, g = statistics.median(times["vcrdt"]), statistics.median(times["git"])
            print(f"{title[:48]:<48} {v * 1000:7.1f}ms {g * 1000:7.1f}ms {v / g:9.2f}")
    return 0


if __name__ == "__main__":
    if shutil.which("git") is None:
        raise SystemExit("git is needed")
    sys.exit(main())
