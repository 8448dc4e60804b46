"""The installed entry points as a user runs them: the console script and the native client."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vcrdt.daemon import native


def console_script(bin_dir: Path) -> str:
    """Write the console script as pip installs it (``.venv/bin/vcrdt`` without the native client); return it."""
    path = bin_dir / "vcrdt"
    path.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        "from vcrdt.cli import main\n"
        "if __name__ == '__main__':\n"
        "    sys.argv[0] = sys.argv[0].removesuffix('.exe')\n"
        "    sys.exit(main())\n"
    )
    path.chmod(0o755)
    return str(path)


def programs(bin_dir: Path, native_dir: Path) -> dict[str, str]:
    """Return ``{"script": ..., "native": ...}``; "native" only where a C compiler builds it."""
    out = {"script": console_script(bin_dir)}
    if native.find_compiler() is not None:
        out["native"] = str(native.build(native_dir / "vcrdt"))
    return out


def _lock_pids(runtime: Path) -> list[int]:
    pids = []
    for lock in (runtime / "vcrdt").glob("*.lock"):
        text = lock.read_text().strip()
        if text.isdigit():
            pids.append(int(text))
    return pids


@contextmanager
def socket_dir() -> Iterator[Path]:
    """A private ``XDG_RUNTIME_DIR`` for a test's servers (short: Unix socket paths are); they are stopped after."""
    path = Path(tempfile.mkdtemp(prefix="vs-", dir="/tmp"))
    os.chmod(path, 0o700)
    try:
        yield path
    finally:
        for pid in _lock_pids(path):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        shutil.rmtree(path, ignore_errors=True)


def start_server(program: str, env: dict[str, str], cwd: Path) -> None:
    """Start the server with `program` in `cwd`: ``vcrdt daemon start`` returns once it listens."""
    subprocess.run([program, "daemon", "start"], cwd=cwd, env=env, capture_output=True, timeout=120, check=True)
