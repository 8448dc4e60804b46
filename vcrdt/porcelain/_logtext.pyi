from collections.abc import Callable, Iterable
from typing import Any, Literal

class LogWalk:
    shown: int
    window: int
    def __init__(
        self,
        heads: Iterable[bytes],
        hidden: set[bytes] | frozenset[bytes] | None,
        labels: dict[bytes, str],
        limit: int,
        first_parent: bool,
        oneline: bool,
        format_date: Callable[[int, int], str],
    ) -> None: ...
    def run(self) -> bytes | Literal[False] | None: ...
    def feed(self, rows: Iterable[Any], oid: bytes, /) -> bool: ...
    def put(self, row: Any, /) -> bool: ...
    def take(self) -> str: ...
