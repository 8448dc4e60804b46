"""What a vcrdt process loads: one command in a fresh interpreter, and the watched modules it imported.

The start-up tests (tests/cli/test_argv_table.py, test_log_startup.py, the git import's) hold
commands to loading only what they use; they all run through `modules_loaded`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

# argv: watched names (comma-separated), "top" or "exact", "run" or "main", then the command's.
# The report is made at exit, after the command's own output is flushed.
SCRIPT = """
import atexit, sys
watched = set(filter(None, sys.argv.pop(1).split(",")))
top = sys.argv.pop(1) == "top"
entry = sys.argv.pop(1)


def report():
    sys.stdout.flush()
    names = {m.split(".")[0] for m in sys.modules} if top else set(sys.modules)
    sys.stderr.write("LOADED " + ",".join(sorted(names & watched)) + "\\n")


atexit.register(report)
if entry == "main":
    from vcrdt.cli import main
    main()
else:
    from vcrdt.cli import run
    sys.exit(run(sys.argv[1:]))
"""


def modules_loaded(
    cwd: Path,
    args: Sequence[str],
    watched: Iterable[str],
    *,
    top_level: bool = False,
    entry: str = "run",
    env: Mapping[str, str] | None = None,
    inherit_env: bool = False,
) -> tuple[int, str, str, str]:
    """Run ``vcrdt ARGS`` in `cwd` in a new interpreter; return its exit code, output, error output and loads.

    Args:
        cwd: Where the command runs.
        args: The command line after ``vcrdt``.
        watched: Module names to report (with `top_level`, top-level packages: ``rich`` for any ``rich.*``).
        top_level: Match the loaded modules' top-level package names instead of whole names.
        entry: ``run`` (`vcrdt.cli.run`, the command alone) or ``main`` (the console script's entry point).
        env: Variables set over the base environment.
        inherit_env: Start from this process's environment; otherwise from a plain one (no colour, no
            server, ``PATH=/usr/bin:/bin``, the author, home and XDG variables kept).

    Returns:
        ``(code, stdout, stderr without the report, watched names loaded, comma-separated and sorted)``.
    """
    if inherit_env:
        base = dict(os.environ)
    else:
        base = {"NO_COLOR": "1", "VCRDT_NO_SERVER": "1", "PATH": "/usr/bin:/bin"}
        base |= {k: v for k, v in os.environ.items() if k.startswith(("VCRDT_AUTHOR", "HOME", "XDG_"))}
    base |= env or {}
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, ",".join(sorted(watched)), "top" if top_level else "exact", entry, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=base,
        check=False,
    )
    err, _, loaded = proc.stderr.rpartition("LOADED ")
    return proc.returncode, proc.stdout, err, loaded.strip()
