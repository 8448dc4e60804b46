from _sqlite3 import Connection
from typing import Any

def fetch(conn: Connection, sql: str, params: tuple[object, ...], /) -> list[tuple[Any, ...]] | None: ...
