from __future__ import annotations

import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vcrdt.diff import (
    diff_blobs,
    diff_changes,
    flatten_tree,
    format_unified,
    is_binary,
    iter_tree_changes,
)
from vcrdt.ids import ObjectId
from vcrdt.objects import EntryKind, Tree, TreeEntry
from vcrdt.store.memory import MemoryStore


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.reads: list[ObjectId] = []

    def get(self, oid: ObjectId) -> tuple[str, bytes]:
        self.reads.append(oid)
        return super().get(oid)


def build(store: MemoryStore, files: dict[str, tuple[EntryKind, bytes]]) -> ObjectId:
    """Write a nested tree from {path: (kind, content)}."""
    tree: dict[str, object] = {}
    for path, value in files.items():
        node = tree
        parts = path.split("/")
        for p in parts[:-1]:
            node = node.setdefault(p, {})  # type: ignore[assignment]
        node[parts[-1]] = value  # type: ignore[index]

    def write(node: dict[str, object]) -> ObjectId:
        entries = []
        for name, v in node.items():
            if isinstance(v, dict):
                entries.append(TreeEntry(name, EntryKind.TREE, write(v)))
            else:
                kind, content = v  # type: ignore[misc]
                entries.append(TreeEntry(name, kind, store.put("blob", content)))
        return store.put("tree", Tree.build(entries).to_bytes())

    return write(tree)


F = EntryKind.FILE


def test_tree_changes_all_kinds() -> None:
    s = MemoryStore()
    old = build(s, {"a": (F, b"1"), "d/x": (F, b"x"), "d/y": (F, b"y"), "f": (F, b"file"), "k": (F, b"k")})
    new = build(
        s, {"a": (F, b"2"), "d/x": (F, b"x"), "f/inner": (F, b"in"), "k": (EntryKind.EXECUTABLE, b"k"), "n": (F, b"n")}
    )
    got = [(c.path, c.status) for c in iter_tree_changes(s, old, new)]
    assert got == [
        ("a", "modified"),
        ("d/y", "deleted"),
        ("f", "deleted"),
        ("f/inner", "added"),
        ("k", "kind"),
        ("n", "added"),
    ]
    flat_old, flat_new = flatten_tree(s, old), flatten_tree(s, new)
    assert [(c.path, c.status) for c in diff_changes(flat_old, flat_new)] == got


def test_identical_subtrees_are_not_read() -> None:
    s = CountingStore()
    big = {f"big/{i}": (F, f"{i}".encode()) for i in range(200)}
    old = build(s, {**big, "top": (F, b"1")})
    new = build(s, {**big, "top": (F, b"2")})
    s.reads.clear()
    assert [c.path for c in iter_tree_changes(s, old, new)] == ["top"]
    assert len(s.reads) == 2  # the two root trees only


def test_blob_diff_text_and_counts() -> None:
    d = diff_blobs("f", b"a\nb\nc\n", b"a\nB\nc\nd")
    assert (d.added, d.deleted, d.binary) == (2, 1, False)
    text = format_unified(d)
    assert text == (
        b"diff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1,3 +1,4 @@\n a\n-b\n+B\n c\n+d\n\\ No newline at end of file\n"
    )


def test_added_deleted_binary_empty() -> None:
    assert format_unified(diff_blobs("n", None, b"x\n", status="added")).startswith(
        b"diff --git a/n b/n\nnew file mode 100644\n--- /dev/null\n+++ b/n\n"
    )
    assert b"+++ /dev/null" in format_unified(diff_blobs("n", b"x\n", None, status="deleted"))
    assert b"Binary files a/b and b/b differ" in format_unified(diff_blobs("b", b"\0a", b"\0b"))
    assert is_binary(b"\0") and not is_binary(b"")
    assert diff_blobs("e", b"", b"").hunks == ()
    crlf = diff_blobs("c", b"a\r\nb\r\n", b"a\r\nB\r\n")
    assert (crlf.added, crlf.deleted) == (1, 1)


def _apply(old: bytes, text: bytes) -> bytes:
    """A small unified-diff applier, to check hunks reproduce the new text."""
    src = old.split(b"\n")
    if src and src[-1] == b"":
        src = src[:-1]
    lines = text.split(b"\n")
    out: list[bytes] = []
    pos = 0
    i = 0
    no_newline = not old.endswith(b"\n") and bool(old)
    while i < len(lines):
        ln = lines[i]
        if ln.startswith(b"@@"):
            start = int(ln.split(b" ")[1].split(b",")[0][1:])
            start = max(start - 1, 0) if b",0" not in ln.split(b" ")[1] else start
            out.extend(src[pos:start])
            pos = start
        elif ln.startswith((b" ", b"-", b"+")) and not ln.startswith((b"--- ", b"+++ ")):
            if ln[:1] in (b" ", b"+"):
                out.append(ln[1:])
            if ln[:1] in (b" ", b"-"):
                pos += 1
        elif ln.startswith(b"\\ No newline"):
            prev = lines[i - 1][:1]
            if prev in (b"+", b" "):
                no_newline = True
            if prev == b"-":
                no_newline = False
        i += 1
    out.extend(src[pos:])
    if not out:
        return b""
    return b"\n".join(out) + (b"" if no_newline else b"\n")


lines_st = st.lists(st.sampled_from([b"alpha", b"beta", b"gamma", b"delta", b"", b"x y"]), max_size=25)


@settings(max_examples=200, deadline=None)
@given(lines_st, lines_st, st.booleans(), st.booleans())
def test_hunks_reproduce_new_text(a: list[bytes], b: list[bytes], a_nl: bool, b_nl: bool) -> None:
    old = b"\n".join(a) + (b"\n" if a and a_nl else b"")
    new = b"\n".join(b) + (b"\n" if b and b_nl else b"")
    d = diff_blobs("f", old, new, context=1)
    if old == new:
        assert d.hunks == ()
        return
    assert _apply(old, format_unified(d)) == new


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
@settings(max_examples=40, deadline=None)
@given(lines_st, lines_st)
def test_counts_match_git_numstat(tmp_path_factory: pytest.TempPathFactory, a: list[bytes], b: list[bytes]) -> None:
    d = tmp_path_factory.mktemp("ns")
    old, new = b"\n".join(a) + b"\n", b"\n".join(b) + b"\n"
    (d / "old").write_bytes(old)
    (d / "new").write_bytes(new)
    r = subprocess.run(
        ["git", "diff", "--no-index", "--numstat", "old", "new"], cwd=d, capture_output=True, check=False
    )
    diff = diff_blobs("f", old, new)
    if not r.stdout:
        assert (diff.added, diff.deleted) == (0, 0)
        return
    added, deleted = (int(x) for x in r.stdout.split(b"\t")[:2])
    assert (diff.added, diff.deleted) == (added, deleted)
