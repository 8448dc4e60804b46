"""Types of the C accelerator of a sync's per-tree work (vcrdt/sync/_trees.c; the twins are in `vcrdt.sync.frames`)."""

def split_tree(body: bytes, strict: bool, /) -> list[bytes] | None:
    """A tree body's raw entries, None if they do not tile it (see `frames.split_tree_py`)."""

def changed(new: list[bytes], olds: list[list[bytes]], /) -> list[int] | None:
    """Positions of the entries of `new` in none of `olds`; None when not sorted (see `frames.changed_entries_py`)."""

def delta_edits(base: list[bytes], new: list[bytes], /) -> bytes | None:
    """The edits of a tree delta turning `base` into `new`; None when in doubt (see `frames.delta_edits_py`)."""

def read_tree_delta(payload: bytes, /) -> tuple[int | bytes, int] | None:
    """A tree delta frame's base and size; None when in doubt (see `frames.read_tree_delta_py`)."""

def apply_tree_delta(payload: bytes, base: list[bytes], /) -> tuple[list[bytes], bytes, list[bytes]] | None:
    """A tree delta applied to `base`'s entries; None when in doubt (see `frames.apply_delta_py`)."""
