"""Run vcrdt in-process (through the real error edge) or as a subprocess."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Result:
    code: int
    out: str
    err: str
    out_bytes: bytes


# Filled by tests/conftest.py under ``--through-daemon``: "program" (the client's command line)
# and "env" (what to add to the environment: the running server's socket directory).
DAEMON: dict[str, Any] = {}


class CliRunner:
    """Runs `vcrdt` commands with a working directory (in-process; under ``--through-daemon``, on a server)."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd

    def __call__(self, *args: str, cwd: Path | None = None) -> Result:
        if DAEMON:
            return self._through_daemon(args, cwd or self.cwd)
        from vcrdt.cli import run

        out_buf, err_buf = io.BytesIO(), io.BytesIO()
        out = io.TextIOWrapper(out_buf, encoding="utf-8", errors="surrogateescape", write_through=True)
        err = io.TextIOWrapper(err_buf, encoding="utf-8", errors="surrogateescape", write_through=True)
        old_out, old_err, old_cwd = sys.stdout, sys.stderr, os.getcwd()
        sys.stdout, sys.stderr = out, err
        os.chdir(cwd or self.cwd)
        try:
            code = run(list(args))
        finally:
            out.flush()
            err.flush()
            sys.stdout, sys.stderr = old_out, old_err
            os.chdir(old_cwd)
        raw = out_buf.getvalue()
        return Result(int(code), raw.decode("utf-8", "replace"), err_buf.getvalue().decode("utf-8", "replace"), raw)

    def _through_daemon(self, args: tuple[str, ...], cwd: Path) -> Result:
        """Run the command with the client on the session's command server, with this process's environment."""
        env = {k: v for k, v in os.environ.items() if k != "VCRDT_NO_SERVER"} | DAEMON["env"]
        done = subprocess.run(
            [*DAEMON["program"], *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=300,
            check=False,
        )
        out, err = done.stdout, done.stderr
        return Result(done.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), out)

    def ok(self, *args: str, cwd: Path | None = None) -> Result:
        """Run and assert exit code 0."""
        r = self(*args, cwd=cwd)
        assert r.code == 0, f"vcrdt {' '.join(args)} exited {r.code}\nstdout:\n{r.out}\nstderr:\n{r.err}"
        return r

    def write(self, rel: str, content: str | bytes) -> Path:
        path = self.cwd / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
        return path


def vcrdt_subprocess(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[bytes]:
    """Run the real entry point (`python -m vcrdt`) in a child process."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "vcrdt", *args], cwd=cwd, env=full_env, capture_output=True, timeout=timeout, check=False
    )


def corrupt_stored_object(repo_root: Path, oid_hex: str) -> None:
    """Flip one byte in the middle of an object's stored bytes (to test that reads catch it)."""
    import sqlite3

    db = sqlite3.connect(repo_root / ".vcrdt" / "store.db")
    with db:
        (data,) = db.execute("SELECT data FROM objects WHERE id = ?", (bytes.fromhex(oid_hex),)).fetchone()
        broken = bytearray(data)
        broken[len(broken) // 2] ^= 0xFF
        db.execute("UPDATE objects SET data = ? WHERE id = ?", (bytes(broken), bytes.fromhex(oid_hex)))
    db.close()


def stop(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """End a server started for a test: SIGTERM, then SIGKILL if it is still there after `timeout` s."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def copy_repository(src: Path, dst: Path) -> None:
    """Copy a repository directory as ``cp -a`` does (symlinks kept).

    Under ``--through-daemon`` the command server's spare may hold the store open and close it
    while the copy runs; SQLite then removes the WAL and shm files the copy had listed. The copy
    is then made again, from the store as it is after that close (as a user would rerun a
    ``cp -a`` that reported a vanished file).
    """
    import shutil

    for attempt in range(5):
        try:
            shutil.copytree(src, dst, symlinks=True)
            return
        except shutil.Error as exc:
            shutil.rmtree(dst, ignore_errors=True)
            vanished = all(str(why).startswith("[Errno 2]") for _, _, why in exc.args[0])
            if not vanished or attempt == 4:
                raise
