"""A real `vcrdt serve` on 127.0.0.1 (any free port) in a child process, for HTTP sync tests."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.helpers.cli import stop


class Urls(dict[str, str]):
    """Each served repository's URL by name, and the server process with its log (stderr)."""

    proc: subprocess.Popen[bytes]
    log_path: Path
    # Everything the server wrote to stderr, set once it has stopped (at the end of `http_served`).
    final_log: str = ""

    def log(self) -> str:
        """What the server has written to stderr so far."""
        return self.log_path.read_text(errors="replace")


@contextmanager
def http_served(*paths: Path, public: bool = False, env: dict[str, str] | None = None) -> Iterator[Urls]:
    """Serve `paths`; yield each repository's URL by name; stop the server afterwards.

    Ready when it has printed a line per repository: it prints them after it is listening.
    The server's stderr goes to a file (`Urls.log`), so it never blocks on a full pipe; after
    the server stopped (SIGTERM: uvicorn waits for the requests in flight) it is `Urls.final_log`.
    """
    argv = [sys.executable, "-m", "vcrdt", "serve", "--port", "0", *map(str, paths)]
    if public:
        argv.append("--public")
    with tempfile.TemporaryDirectory(prefix="vcrdt-serve-") as tmp:
        log_path = Path(tmp) / "stderr.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, env={**os.environ, **(env or {})})
        try:
            assert proc.stdout is not None
            urls = Urls()
            urls.proc, urls.log_path = proc, log_path
            for _ in paths:
                line = proc.stdout.readline().decode()
                if not line:
                    proc.wait()
                    raise AssertionError(f"vcrdt serve exited: {log_path.read_text(errors='replace')}")
                _, name, _, url = line.split()
                urls[name] = url
            yield urls
        finally:
            stop(proc, 30)
            if proc.stdout is not None:
                proc.stdout.close()
            if "urls" in locals():
                urls.final_log = log_path.read_text(errors="replace")
