"""`log`'s walk over the commit table and its uncoloured default and ``--oneline`` text, in pure Python.

The twin of ``vcrdt.porcelain._logtext.LogWalk`` (vcrdt/porcelain/_logtext.c, whose comment
describes the methods), used when the C module is missing and wherever it is unsure. The walk
is `vcrdt.dag.iter_log`'s and `vcrdt.porcelain.history.log`'s (hidden commits, a limit); the
text is `vcrdt.cli.views.commit_header_text`'s (a blank line between two entries) or
`oneline_text`'s, each with its newline. `vcrdt.porcelain.history.log_text` drives a walk.

Imports nothing of vcrdt's but the id length.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable

from vcrdt.ids import OID_LEN
from vcrdt.messages import body, subject

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

_AHEAD_MIN = 16
_AHEAD_MAX = 512
_AHEAD_KEEP = 4096
_TYPES = (bytes, int, int, int, bytes, str, str, str)
# The control codes a `vcrdt.cli.render.Text` drops (what `--oneline`'s text drops).
_STRIPPED_CONTROLS = dict.fromkeys((7, 8, 11, 12, 13))


def row_ok(row: object) -> bool:
    """Tell whether `row` is a commit-table row a walk keeps (`vcrdt.store.commits.parse_rows`'s checks)."""
    if type(row) is not tuple or len(row) != 8:
        return False
    if tuple(map(type, row)) != _TYPES:
        return False
    return len(row[0]) == OID_LEN and len(row[4]) % OID_LEN == 0


class LogWalk:
    """The walk of one `log`, fed the rows it asks for, making its text (see the module's docstring).

    `skip`: the first `skip` entries shown are counted but not written (a C walk that was
    unsure wrote them already).
    """

    def __init__(
        self,
        heads: Iterable[bytes],
        hidden: set[bytes] | frozenset[bytes] | None,
        labels: dict[bytes, str],
        limit: int,
        first_parent: bool,
        oneline: bool,
        format_date: Callable[[int, int], str],
        skip: int = 0,
    ) -> None:
        self._pending = list(heads)
        self._hidden = hidden or ()
        self._labels = labels
        self._limit = limit if limit >= 0 else -1
        self._first_parent = first_parent
        self._oneline = oneline
        self._format_date = format_date
        self._skip = skip
        self._ahead: dict[bytes, tuple[Any, ...]] = {}
        self._seen: set[bytes] = set()
        self._queue: list[tuple[int, int, int, bytes, tuple[Any, ...]]] = []
        self._out: list[str] = []
        self._need: bytes | None = None
        self._done = False
        self.shown = 0
        self.window = _AHEAD_MIN
        self._hits = 0

    def run(self) -> bytes | None:
        """Walk on; return None when the walk is over, else the id whose row it needs."""
        if self._done:
            return None
        while True:
            while self._pending:
                oid = self._pending[0]
                if oid in self._seen:
                    del self._pending[0]
                    continue
                row = self._ahead.pop(oid, None)
                if row is None:
                    self.window = min(2 * self.window, _AHEAD_MAX) if self._hits else _AHEAD_MIN
                    self._hits = 0
                    self._need = oid
                    return oid
                if oid == self._need:
                    self._need = None
                else:
                    self._hits += 1
                self._seen.add(oid)
                heapq.heappush(self._queue, (-row[1], -row[2], -int.from_bytes(oid, "big"), oid, row))
                del self._pending[0]
            if not self._queue:
                self._done = True
                return None
            _, _, _, oid, row = heapq.heappop(self._queue)
            if oid not in self._hidden:
                if self._limit >= 0 and self.shown >= self._limit:
                    self._done = True
                    return None
                try:
                    text = self._entry(oid, row)
                except BaseException:
                    self._done = True
                    raise
                if self.shown >= self._skip:
                    self._out.append(text)
                self.shown += 1
            parents = row[4]
            n = len(parents) // OID_LEN
            if self._first_parent:
                n = min(n, 1)
            self._pending = [parents[i * OID_LEN : (i + 1) * OID_LEN] for i in range(n)]

    def _entry(self, oid: bytes, row: tuple[Any, ...]) -> str:
        _, _, time, tz, parents, name, email, message = row
        label = self._labels.get(oid)
        if self._oneline:
            summary = subject(message)
            line = f"{oid.hex()[:12]} ({label}) {summary}" if label is not None else f"{oid.hex()[:12]} {summary}"
            return line.translate(_STRIPPED_CONTROLS) + "\n"
        date = self._format_date(time, tz)
        head = f"commit {oid.hex()} ({label})\n" if label is not None else f"commit {oid.hex()}\n"
        if len(parents) > OID_LEN:
            shorts = [parents[i : i + OID_LEN].hex()[:12] for i in range(0, len(parents), OID_LEN)]
            head += "Merge: " + " ".join(shorts) + "\n"
        text = body(message)
        sep = "\n" if self.shown else ""
        return f"{sep}{head}Author: {name} <{email}>\nDate:   {date}\n" + (f"\n{text}\n" if text else "")

    def feed(self, rows: Iterable[Any], oid: bytes) -> bool:
        """Keep the well-formed table rows among `rows`; return whether `oid` has a row now."""
        rows = list(rows)
        if len(self._ahead) + len(rows) > _AHEAD_KEEP:
            self._ahead.clear()
        for row in rows:
            if row_ok(row):
                self._ahead[row[0]] = row
        return oid in self._ahead

    def put(self, row: Any) -> bool:
        """Keep one row made from a commit object; False if it is malformed."""
        if not row_ok(row):
            return False
        self._ahead[row[0]] = row
        return True

    def take(self) -> str:
        """Return the text made since the last call."""
        text = "".join(self._out)
        self._out.clear()
        return text
