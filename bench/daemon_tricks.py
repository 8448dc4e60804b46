"""What each process trick of the command server buys: an A/B run, one trick off at a time.

For every variant a server of its own runs (its own socket directory) over its
own copy of bench/gen_tree.py's tree, committed once without the server. Then
rounds alternate the variants (A B C ... A B C ...): each round runs
``status`` on the unchanged tree, then edits one file and times ``commit``.
Medians per variant and command are printed, with the machine's load average.

Variants: ``all`` (every trick, native client), ``no-spare`` (the spare forks
the command's process only when a request comes, as a server without a spare
would, so the command pays the fork and the copy-on-write faults),
``no-warm-up`` (`server._warm_up` off), and ``python-client`` (the ``all``
server, reached through the Python console entry instead of the native
client). Two more tricks were measured with this script and then removed, as
they bought under 10 %: copying the spare's memory ahead (``_prefault``) and
malloc tuning (``_tune_malloc``); see bench/README.md.

Usage: ``python bench/daemon_tricks.py [--files N] [--rounds R] [--client PATH]``
(the native client defaults to ``.venv/bin/vcrdt``).
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

import gen_tree

ROOT = Path(__file__).resolve().parents[1]
PATCHES = {
    "all": "",
    "no-spare": (
        "orig = s._child\n"
        "def late(conn, server, commands):\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        return orig(conn, server, commands)\n"
        "    try:\n"
        "        os.waitpid(pid, 0)\n"
        "    except ChildProcessError:\n"
        "        pass\n"
        "    os._exit(0)\n"
        "s._child = late\n"
    ),
    "no-warm-up": "s._warm_up = lambda directory, commands: None\n",
}


def start(variant: str, runtime: Path, env: dict[str, str]) -> None:
    """Start the variant's server in `runtime` and wait until it says it listens."""
    (runtime / "vcrdt").mkdir(mode=0o700, parents=True)
    read_fd, write_fd = os.pipe()
    code = (
        "import os, sys; sys.path.insert(0, sys.argv[1]); import vcrdt.daemon.server as s\n"
        + PATCHES[variant]
        + "from vcrdt.daemon.__main__ import main\nmain(sys.argv[2:])\n"
    )
    subprocess.Popen(
        [
            sys.executable,
            "-P",
            "-X",
            f"utf8={sys.flags.utf8_mode}",
            "-c",
            code,
            str(ROOT),
            str(runtime / "vcrdt"),
            "0",
            str(write_fd),
        ],
        env=env,
        cwd="/",
        pass_fds=(write_fd,),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as ready:
        if not ready.readline().strip().isdigit():
            raise SystemExit(f"{variant}: the server did not start")


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    start_ns = time.perf_counter_ns()
    done = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = (time.perf_counter_ns() - start_ns) / 1e6
    if done.returncode not in (0, 1):
        raise SystemExit(f"{cmd} failed: {done.stderr.decode()}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=gen_tree.DEFAULT_FILES)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--client", default=str(ROOT / ".venv" / "bin" / "vcrdt"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tricks-", dir="/tmp"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("VCRDT_")}
    env |= {"VCRDT_AUTHOR_NAME": "Bench", "VCRDT_AUTHOR_EMAIL": "bench@example.com", "NO_COLOR": "1"}
    env |= {"VCRDT_SERVER_TIMEOUT": "60", "HOME": str(work)}
    python_client = [sys.executable, "-P", "-c", "from vcrdt.cli import main; main()"]
    try:
        template = work / "template"
        gen_tree.generate(template, args.files)
        names = sorted(str(p.relative_to(template)) for p in template.rglob("*") if p.is_file())
        plain = env | {"VCRDT_NO_SERVER": "1"}
        trees: dict[str, Path] = {}
        runtimes: dict[str, dict[str, str]] = {}
        for variant in PATCHES:
            tree = work / variant
            shutil.copytree(template, tree)
            for step in (["init"], ["commit", "-A", "-m", "base"]):
                subprocess.run([args.client, *step], cwd=tree, env=plain, capture_output=True, check=True)
            runtime = work / f"run-{variant}"
            start(variant, runtime, env | {"XDG_RUNTIME_DIR": str(runtime)})
            trees[variant] = tree
            runtimes[variant] = env | {"XDG_RUNTIME_DIR": str(runtime)}
            subprocess.run([args.client, "status"], cwd=tree, env=runtimes[variant], capture_output=True, check=True)
        clients = {v: [args.client] for v in PATCHES} | {"python-client": python_client}
        servers = {v: v for v in PATCHES} | {"python-client": "all"}
        samples: dict[tuple[str, str], list[float]] = {}
        loads = []
        for n in range(args.rounds):
            loads.append(os.getloadavg()[0])
            for variant, client in clients.items():
                tree, run_env = trees[servers[variant]], runtimes[servers[variant]]
                samples.setdefault((variant, "status"), []).append(timed([*client, "status"], tree, run_env))
                gen_tree.edit_file(tree / names[(n * 7 + len(variant)) % len(names)], step=n)
                samples.setdefault((variant, "commit"), []).append(
                    timed([*client, "commit", "-m", f"r{n}"], tree, run_env)
                )
        load = f"load average {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} CPUs"
        print(f"{args.files} files, {args.rounds} rounds, {load}")
        print(f"{'variant':<14} {'status ms':>10} {'vs all':>7} {'commit ms':>10} {'vs all':>7}")
        base = {cmd: statistics.median(samples[("all", cmd)]) for cmd in ("status", "commit")}
        for variant in clients:
            row = [f"{variant:<14}"]
            for cmd in ("status", "commit"):
                med = statistics.median(samples[(variant, cmd)])
                row.append(f"{med:>10.1f} {med / base[cmd]:>6.2f}x")
            print(" ".join(row))
    finally:
        for runtime in work.glob("run-*"):
            for lock in (runtime / "vcrdt").glob("*.lock"):
                pid = lock.read_text().strip()
                if pid.isdigit():
                    try:
                        os.kill(int(pid), 15)
                    except ProcessLookupError:
                        pass
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
