"""How a plain vcrdt process ends: without the interpreter's clean-up, yet with what a process needs of it.

`vcrdt.cli.main` ends a process that has no thread but its own through `vcrdt.cli.end`: the
`atexit` functions run, stdout and stderr are flushed, the exit code is kept. A process that
loaded `threading` ends as Python ends it (waiting for its threads).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers.cli import CliRunner

PRELUDE = """
import atexit, sys, weakref
class Kept:
    pass
kept = Kept()
weakref.finalize(kept, print, "finalized")
atexit.register(print, "at exit")
"""


def _main(cwd: Path, prelude: str, *args: str) -> subprocess.CompletedProcess[str]:
    code = prelude + "\nsys.argv[1:] = " + repr(list(args)) + "\nfrom vcrdt.cli import main\nmain()\n"
    env = {"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "VCRDT_NO_SERVER": "1", "HOME": str(cwd)}
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, env=env, check=False)


def test_a_plain_process_runs_its_exit_functions_and_keeps_its_exit_code(repo: CliRunner) -> None:
    repo.write("a.txt", "one\n")
    repo.ok("commit", "-A", "-m", "first")
    done = _main(repo.cwd, PRELUDE, "log", "--oneline")
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith(" first\nat exit\nfinalized\n")
    done = _main(repo.cwd, PRELUDE, "show", "no-such-revision")
    assert (done.returncode, done.stdout) == (1, "at exit\nfinalized\n")
    assert done.stderr.startswith("error: ")
    done = _main(repo.cwd, PRELUDE, "log", "--no-such-option")
    assert (done.returncode, done.stdout) == (2, "at exit\nfinalized\n")


def test_a_process_with_threads_ends_as_python_ends_it(repo: CliRunner) -> None:
    # A thread still running when the command is done: the process waits for it.
    prelude = PRELUDE + (
        "import threading, time\n"
        "threading.Thread(target=lambda: (time.sleep(0.2), print('thread done', flush=True))).start()\n"
    )
    done = _main(repo.cwd, prelude, "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("vcrdt ")
    assert done.stdout.splitlines()[1:] == ["thread done", "at exit", "finalized"]
