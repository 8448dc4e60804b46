"""A real `vcrdt serve` on 127.0.0.1 (any free port) in a child process, for HTTP sync tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def http_served(*paths: Path, public: bool = False) -> Iterator[dict[str, str]]:
    """Serve `paths`; yield each repository's URL by name; stop the server afterwards.

    Ready when it has printed a line per repository: it prints them after it is listening.
    """
    argv = [sys.executable, "-m", "vcrdt", "serve", "--port", "0", *map(str, paths)]
    if public:
        argv.append("--public")
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ))
    try:
        assert proc.stdout is not None
        urls: dict[str, str] = {}
        for _ in paths:
            line = proc.stdout.readline().decode()
            if not line:
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise AssertionError(f"vcrdt serve exited: {err}")
            _, name, _, url = line.split()
            urls[name] = url
        yield urls
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
