"""A byte-counting relay between a sync client and its server process (used by bench/sync.py).

    python bench/sync_relay.py LOG [--rss FILE] -- CMD [ARG...]

runs CMD with its stdin and stdout piped through this process, and on exit writes to LOG a
JSON object: bytes client to server (``c2s``) and server to client (``s2c``), and the bursts
in each direction (a burst is a run of bytes in one direction; the server's bursts are its
answers, so they count the round trips, an advertisement the client waits for included).
With ``--rss FILE`` CMD's peak RSS (``VmHWM``, KiB) lands in FILE. Git runs
it as ``--upload-pack``; vcrdt as ``--exec``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

PIECE = 1 << 16


class PeakRss:
    """A process's peak resident set (``VmHWM``, KiB), polled from /proc while it runs.

    ``VmHWM`` belongs to the process's own address space, so, unlike the ``ru_maxrss`` GNU
    time reports, it does not start from the size of the process that forked it.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._done.is_set():
            try:
                with open(f"/proc/{self.pid}/status") as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            self.peak = max(self.peak, int(line.split()[1]))
            except (OSError, ValueError):
                return
            self._done.wait(0.02)

    def stop(self) -> int:
        """Stop polling; return the peak seen (KiB)."""
        self._done.set()
        self._thread.join()
        return self.peak


def main(argv: list[str]) -> int:
    log = argv[1]
    rest = argv[2:]
    rss: str | None = None
    if rest[:1] == ["--rss"]:
        rss, rest = rest[1], rest[2:]
    if rest[:1] == ["--"]:
        rest = rest[1:]
    child = subprocess.Popen(rest, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
    peak = PeakRss(child.pid) if rss else None
    assert child.stdin is not None and child.stdout is not None
    lock = threading.Lock()
    counts = {"c2s": 0, "s2c": 0, "client_bursts": 0, "server_bursts": 0}
    last = [""]

    def note(direction: str, n: int) -> None:
        with lock:
            counts[direction] += n
            if last[0] != direction:
                last[0] = direction
                counts["client_bursts" if direction == "c2s" else "server_bursts"] += 1

    def up() -> None:
        fd_in, fd_out = sys.stdin.fileno(), child.stdin.fileno()  # type: ignore[union-attr]
        try:
            while True:
                data = os.read(fd_in, PIECE)
                if not data:
                    break
                note("c2s", len(data))
                os.write(fd_out, data)
        except OSError:
            pass
        finally:
            try:
                child.stdin.close()  # type: ignore[union-attr]
            except OSError:
                pass

    t = threading.Thread(target=up, daemon=True)
    t.start()
    fd_in, fd_out = child.stdout.fileno(), sys.stdout.fileno()
    try:
        while True:
            data = os.read(fd_in, PIECE)
            if not data:
                break
            note("s2c", len(data))
            view = memoryview(data)
            while view:
                view = view[os.write(fd_out, view) :]
    except OSError:
        pass
    code = child.wait()
    if peak is not None and rss is not None:
        with open(rss, "w") as f:
            f.write(f"{peak.stop()}\n")
    with open(log, "w") as f:
        json.dump(counts, f)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
