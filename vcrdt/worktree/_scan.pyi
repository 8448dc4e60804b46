"""Types of the C accelerator of the work-tree walk (vcrdt/worktree/_scan.c; see `vcrdt.worktree.scan`)."""

def settle_dir(
    path: str, prefix: str, missing: dict[str, tuple[bytes, int, int, int, int, int] | None], compare: bool, /
) -> tuple[list[str], list[str]]:
    """Settle one directory's tracked files; return the names left to classify and the settled multi-link paths."""

def unpack_keys(data: bytes, /) -> dict[str, tuple[bytes, int, int, int, int, int] | None]:
    """Read a stat-cache pack back (see `vcrdt.worktree.rows.pack_keys`); ValueError if it is damaged."""

def pack_keys(keys: dict[str, tuple[bytes, int, int, int, int, int] | None], /) -> bytes:
    """Make a stat-cache pack (see `vcrdt.worktree.rows.pack_keys_py`)."""

SETTLED: tuple[bytes, int, int, int, int, int]
SETTLED_LINKED: tuple[bytes, int, int, int, int, int]

def preload(root: str, missing: dict[str, tuple[bytes, int, int, int, int, int] | None], threads: int, /) -> int:
    """Stat the tracked files on `threads` threads; mark the rows whose stat matches (see `scan.preload_py`)."""

def patch_keys(
    data: bytes, drop: list[str], changes: dict[str, tuple[bytes, int, int, int, int, int] | None], /
) -> bytes:
    """A stat-cache pack with `drop` popped and `changes` set (see `vcrdt.worktree.rows.patch_keys_py`)."""

class PackIndex:
    """A stat-cache pack read into C, for a status's walk without a Python object per path (see _scan.c)."""

    def __init__(self, data: bytes, /) -> None: ...
    def __len__(self) -> int: ...
    def pending(self) -> list[str]:
        """The paths whose key is None."""
    def preload(self, root: str, threads: int, /) -> int:
        """Lstat the paths with a stat on threads; mark those that match (forgets an earlier walk)."""
    def mark_all(self) -> None:
        """Mark every path, for a walk without `compare` (forgets an earlier walk)."""
    def rest(self) -> dict[str, tuple[bytes, int, int, int, int, int] | None]:
        """The paths not marked, with their keys (as `unpack_keys` gives them)."""
    def unmet(self) -> list[str]:
        """The marked paths no `settle_dir` met."""
    def settle_dir(
        self, path: str, prefix: str, missing: dict[str, tuple[bytes, int, int, int, int, int] | None], compare: bool, /
    ) -> tuple[list[str], list[str]]:
        """`settle_dir`, the marked paths first (they settle with no Python object made)."""
