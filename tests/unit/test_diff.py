from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import vcrdt.diff.xdiff
from vcrdt.diff.lines import DiffLine, DiffStat, FileDiff, format_unified, is_binary, stat_from
from vcrdt.diff.tree import Change, diff_changes, flatten_tree, iter_tree_changes
from vcrdt.diff.xdiff import diff_blobs, xdiff_matcher
from vcrdt.errors import CorruptObjectError, ObjectNotFoundError
from vcrdt.ids import ObjectId
from vcrdt.objects import EntryKind, Tree, TreeEntry
from vcrdt.store.memory import MemoryStore

F, X, L, T = EntryKind.FILE, EntryKind.EXECUTABLE, EntryKind.SYMLINK, EntryKind.TREE
GIT = shutil.which("git")
needs_git = pytest.mark.skipif(GIT is None, reason="git is not installed")


class CountingReader:
    """An ObjectReader that records every id it is asked for."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.reads: list[ObjectId] = []

    def get(self, oid: ObjectId) -> tuple[str, bytes]:
        self.reads.append(oid)
        return self.store.get(oid)


Files = Mapping[str, tuple[EntryKind, bytes]]


def build(store: MemoryStore, files: Files) -> ObjectId:
    """Write a nested tree from {path: (kind, content)} and return the root id."""
    root: dict[str, object] = {}
    for path, value in files.items():
        node = root
        *dirs, name = path.split("/")
        for d in dirs:
            child = node.setdefault(d, {})
            assert isinstance(child, dict), f"{path}: {d} is a file"
            node = child
        node[name] = value

    def write(node: dict[str, object]) -> ObjectId:
        entries = []
        for name, v in node.items():
            if isinstance(v, dict):
                entries.append(TreeEntry(name, T, write(v)))
            else:
                assert isinstance(v, tuple)
                kind, content = v
                entries.append(TreeEntry(name, kind, store.put("blob", content)))
        return store.put("tree", Tree.build(entries).to_bytes())

    return write(root)


def flat(store: MemoryStore, files: Files) -> dict[str, tuple[EntryKind, ObjectId]]:
    return {p: (k, store.put("blob", c)) for p, (k, c) in files.items()}


def summary(changes: list[Change]) -> list[tuple[str, str]]:
    return [(c.path, c.status) for c in changes]


# --- tree diffs ----------------------------------------------------------------------------------


def test_every_status_in_nested_trees() -> None:
    s = MemoryStore()
    old = {
        "a": (F, b"1"),
        "d/x": (F, b"x"),
        "d/y": (F, b"y"),
        "d/e/deep": (F, b"deep"),
        "f": (F, b"file"),
        "g/inner": (F, b"was a dir"),
        "k": (F, b"k"),
        "link": (F, b"target"),
    }
    new = {
        "a": (F, b"2"),
        "d/x": (F, b"x"),
        "d/e/deep": (F, b"deeper"),
        "d/z": (F, b"z"),
        "f/inner": (F, b"in"),
        "f/sub/more": (F, b"more"),
        "g": (F, b"now a file"),
        "k": (X, b"k"),
        "link": (L, b"target"),
        "n": (F, b"n"),
    }
    old_id, new_id = build(s, old), build(s, new)
    changes = list(iter_tree_changes(s, old_id, new_id))
    assert summary(changes) == [
        ("a", "modified"),
        ("d/e/deep", "modified"),
        ("d/y", "deleted"),
        ("d/z", "added"),
        ("f", "deleted"),
        ("f/inner", "added"),
        ("f/sub/more", "added"),
        ("g", "added"),
        ("g/inner", "deleted"),
        ("k", "kind"),
        ("link", "kind"),
        ("n", "added"),
    ]
    k = changes[9]
    assert (k.old_kind, k.new_kind, k.old_oid) == (F, X, k.new_oid)
    d = changes[2]
    assert (d.old_kind, d.new_kind, d.new_oid) == (F, None, None) and d.old_oid == s.put("blob", b"y")
    assert diff_changes(flat(s, old), flat(s, new)) == changes
    assert diff_changes(flatten_tree(s, old_id), flatten_tree(s, new_id)) == changes


def test_path_order_puts_a_directory_after_names_that_extend_it() -> None:
    # Canonical tree order puts directory "a" first; full-path order puts "a/x" after "a-b" and "a.txt".
    s = MemoryStore()
    files = {"a/x": (F, b"1"), "a-b": (F, b"2"), "a.txt": (F, b"3"), "b": (F, b"4")}
    changes = list(iter_tree_changes(s, None, build(s, files)))
    assert [c.path for c in changes] == ["a-b", "a.txt", "a/x", "b"]
    assert all(c.status == "added" and c.old_kind is None for c in changes)
    assert list(flatten_tree(s, build(s, files))) == ["a-b", "a.txt", "a/x", "b"]
    deleted = list(iter_tree_changes(s, build(s, files), None))
    assert [(c.path, c.status) for c in deleted] == [(p, "deleted") for p in ["a-b", "a.txt", "a/x", "b"]]


def test_identical_subtrees_are_not_read() -> None:
    s = MemoryStore()
    files: dict[str, tuple[EntryKind, bytes]] = {
        f"dir{d}/sub{u}/f{i}": (F, f"{d} {u} {i}\n".encode()) for d in range(20) for u in range(5) for i in range(20)
    }
    old = build(s, files)
    files["dir7/sub3/f11"] = (F, b"changed\n")
    new = build(s, files)
    reader = CountingReader(s)
    changes = list(iter_tree_changes(reader, old, new))
    assert summary(changes) == [("dir7/sub3/f11", "modified")]
    # Only the trees along the changed path, on each side: root, dir7, dir7/sub3.
    assert len(reader.reads) == 6
    assert old in reader.reads and new in reader.reads


def test_same_tree_reads_nothing() -> None:
    s = MemoryStore()
    root = build(s, {"a/b": (F, b"x")})
    reader = CountingReader(s)
    assert list(iter_tree_changes(reader, root, root)) == []
    assert list(iter_tree_changes(reader, None, None)) == []
    assert reader.reads == []
    assert flatten_tree(reader, None) == {}
    assert diff_changes({}, {}) == []


def test_missing_or_wrong_objects_raise_our_errors() -> None:
    s = MemoryStore()
    root = build(s, {"a": (F, b"x")})
    blob = s.put("blob", b"x")
    with pytest.raises(CorruptObjectError, match="expected a tree"):
        list(iter_tree_changes(s, root, blob))
    with pytest.raises(ObjectNotFoundError):
        list(iter_tree_changes(s, root, ObjectId(b"\1" * 32)))
    with pytest.raises(ObjectNotFoundError):
        flatten_tree(s, ObjectId(b"\1" * 32))


def test_deep_trees_do_not_hit_the_recursion_limit() -> None:
    s = MemoryStore()
    depth = 1500

    def chain(content: bytes) -> ObjectId:
        oid = s.put("tree", Tree.build([TreeEntry("leaf", F, s.put("blob", content))]).to_bytes())
        for _ in range(depth):
            oid = s.put("tree", Tree.build([TreeEntry("d", T, oid)]).to_bytes())
        return oid

    deep = "d/" * depth + "leaf"
    old, new = chain(b"1"), chain(b"2")
    assert summary(list(iter_tree_changes(s, old, new))) == [(deep, "modified")]
    assert list(flatten_tree(s, new)) == [deep]


_names = st.sampled_from(["a", "a-b", "a.txt", "b", "é", "z"])
_paths = st.lists(_names, min_size=1, max_size=3).map("/".join)
_entries = st.tuples(st.sampled_from([F, F, X, L]), st.sampled_from([b"1", b"2", b"3"]))


def _consistent(files: dict[str, tuple[EntryKind, bytes]]) -> dict[str, tuple[EntryKind, bytes]]:
    """Drop paths that sit under another path, so the map can be a tree."""
    return {p: v for p, v in files.items() if not any(p.startswith(q + "/") for q in files)}


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(_paths, _entries, max_size=12), st.dictionaries(_paths, _entries, max_size=12))
def test_tree_walk_agrees_with_flat_diff(
    a: dict[str, tuple[EntryKind, bytes]], b: dict[str, tuple[EntryKind, bytes]]
) -> None:
    s = MemoryStore()
    a, b = _consistent(a), _consistent(b)
    ta, tb = build(s, a) if a else None, build(s, b) if b else None
    fa, fb = flat(s, a), flat(s, b)
    assert flatten_tree(s, ta) == fa
    assert list(flatten_tree(s, ta)) == sorted(fa, key=lambda p: p.encode())
    changes = list(iter_tree_changes(s, ta, tb))
    assert changes == diff_changes(fa, fb)
    for c in changes:
        assert (c.old_kind, c.old_oid) == (fa[c.path] if c.path in fa else (None, None))
        assert (c.new_kind, c.new_oid) == (fb[c.path] if c.path in fb else (None, None))
    assert {c.path for c in changes} == {p for p in fa.keys() | fb.keys() if fa.get(p) != fb.get(p)}


# --- blob diffs ----------------------------------------------------------------------------------


def test_modified_text_and_counts() -> None:
    d = diff_blobs("f", b"a\nb\nc\n", b"a\nB\nc\nd")
    assert (d.status, d.binary, d.added, d.deleted, d.old_path) == ("modified", False, 2, 1, "f")
    (h,) = d.hunks
    assert (h.old_start, h.old_lines, h.new_start, h.new_lines, h.header) == (1, 3, 1, 4, "@@ -1,3 +1,4 @@")
    assert h.lines == (
        DiffLine(" ", b"a"),
        DiffLine("-", b"b"),
        DiffLine("+", b"B"),
        DiffLine(" ", b"c"),
        DiffLine("+", b"d", no_newline=True),
    )
    assert format_unified(d) == (
        b"diff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1,3 +1,4 @@\n a\n-b\n+B\n c\n+d\n\\ No newline at end of file\n"
    )
    assert stat_from(d) == DiffStat("f", 2, 1, False)


def test_empty_file_added_and_emptied() -> None:
    grow = diff_blobs("e", b"", b"x\n")
    assert [(h.old_start, h.old_lines, h.new_start, h.new_lines) for h in grow.hunks] == [(0, 0, 1, 1)]
    assert format_unified(grow).endswith(b"@@ -0,0 +1 @@\n+x\n")
    shrink = diff_blobs("e", b"x\n", b"")
    assert format_unified(shrink).endswith(b"@@ -1 +0,0 @@\n-x\n")
    assert (shrink.added, shrink.deleted) == (0, 1)
    new_empty = diff_blobs("e", None, b"", new_kind=F)
    assert new_empty.status == "added" and new_empty.hunks == ()
    assert format_unified(new_empty) == b"diff --git a/e b/e\nnew file mode 100644\n"
    assert diff_blobs("e", b"", b"").hunks == ()


def test_missing_final_newline_on_either_side() -> None:
    old_only = diff_blobs("f", b"a\nb", b"a\nb\n")
    assert [ln for h in old_only.hunks for ln in h.lines][-2:] == [DiffLine("-", b"b", True), DiffLine("+", b"b")]
    assert format_unified(old_only).endswith(b"-b\n\\ No newline at end of file\n+b\n")
    new_only = diff_blobs("f", b"a\nb\n", b"a\nb")
    assert format_unified(new_only).endswith(b"-b\n+b\n\\ No newline at end of file\n")
    both = diff_blobs("f", b"a\nb", b"a\nc")
    assert format_unified(both).endswith(b"-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n")
    # The unchanged last line lacks a newline on both sides: a context line with the marker.
    context = diff_blobs("f", b"a\nb\nc", b"A\nb\nc")
    assert context.hunks[0].lines[-1] == DiffLine(" ", b"c", True)
    assert format_unified(context).endswith(b" c\n\\ No newline at end of file\n")
    assert (context.added, context.deleted) == (1, 1)


def test_crlf_lines_keep_their_carriage_returns() -> None:
    d = diff_blobs("c", b"a\r\nb\r\n", b"a\r\nB\r\n")
    assert (d.added, d.deleted) == (1, 1)
    assert format_unified(d).endswith(b"@@ -1,2 +1,2 @@\n a\r\n-b\r\n+B\r\n")
    eol_only = diff_blobs("c", b"a\r\n", b"a\n")
    assert [ln.text for ln in eol_only.hunks[0].lines] == [b"a\r", b"a"]


def test_binary_content_is_not_line_diffed(monkeypatch: pytest.MonkeyPatch) -> None:
    d = diff_blobs("b", b"\0a\n", b"\0b\n")
    assert (d.binary, d.added, d.deleted, d.hunks) == (True, 0, 0, ())
    assert format_unified(d) == b"diff --git a/b b/b\nBinary files a/b and b/b differ\n"
    assert stat_from(d) == DiffStat("b", 0, 0, True, (3, 3))
    added = diff_blobs("b", None, b"\0", new_kind=F)
    assert format_unified(added) == (
        b"diff --git a/b b/b\nnew file mode 100644\nBinary files /dev/null and b/b differ\n"
    )
    assert diff_blobs("b", b"text\n", None).binary is False
    # A NUL past the first 8000 bytes does not make content binary, for us as for git.
    late = b"x\n" * 4000 + b"\0\n"
    assert is_binary(b"x" * 7999 + b"\0") and not is_binary(late)
    assert diff_blobs("b", late, late + b"y\n").added == 1
    monkeypatch.setattr(vcrdt.diff.xdiff, "MAX_DIFF_BYTES", 10)
    big = diff_blobs("b", b"short\n", b"more than ten bytes\n")
    assert (big.binary, big.hunks) == (True, ())


def test_kind_change_and_rename_headers() -> None:
    exe = diff_blobs("run.sh", b"echo\n", b"echo\n", status="kind", old_kind=F, new_kind=X)
    assert format_unified(exe) == b"diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\n"
    moved = diff_blobs("new name", b"a\n", b"b\n", old_path="old")
    assert format_unified(moved) == (
        b"diff --git a/old b/new name\nrename from old\nrename to new name\n"
        b"--- a/old\n+++ b/new name\t\n@@ -1 +1 @@\n-a\n+b\n"
    )
    gone = diff_blobs("x", b"a\n", None, old_kind=L)
    assert gone.status == "deleted"
    assert format_unified(gone) == (
        b"diff --git a/x b/x\ndeleted file mode 120000\n--- a/x\n+++ /dev/null\n@@ -1 +0,0 @@\n-a\n"
    )


def test_function_context_in_hunk_headers() -> None:
    old = b"def f():\n" + b"".join(b"    x%d\n" % i for i in range(10))
    d = diff_blobs("f.py", old, old.replace(b"x8", b"X8"))
    assert d.hunks[0].header == "@@ -7,5 +7,5 @@ def f():"


def test_function_context_cut_at_80_bytes_ends_without_spaces() -> None:
    func = b"def " + b"y" * 74 + b"  tail(a, b):"
    old = func + b"\n" + b"".join(b"    x%d\n" % i for i in range(10))
    d = diff_blobs("f.py", old, old.replace(b"x8", b"X8"))
    assert d.hunks[0].header == "@@ -7,5 +7,5 @@ " + func[:78].decode()


def test_indent_heuristic_slides_hunks_as_git_diff_does() -> None:
    # Without git's default indent heuristic, libgit2 would add "    delta\nx y" after the first line.
    d = diff_blobs("f", b"x y\n", b"x y\n    delta\nx y\n")
    assert [ln.origin + ln.text.decode() for ln in d.hunks[0].lines] == ["+x y", "+    delta", " x y"]


def test_xdiff_matcher_indexes_the_callers_lines() -> None:
    # bytes.splitlines ends a line at a lone "\r"; xdiff would not. NULs must not make it "binary".
    a = b"one\rtwo\nthree\n\0four\n".splitlines(keepends=True)
    b = b"one\rTWO\nthree\n\0four\n".splitlines(keepends=True)
    assert xdiff_matcher(a, b) == [(0, 0, 1), (2, 2, 2), (4, 4, 0)]
    assert xdiff_matcher([], b) == [(0, 4, 0)]


# --- cross-checks: patches apply, and agree with git --------------------------------------------

_HUNK_RE = re.compile(rb"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def _split(data: bytes) -> list[bytes]:
    """Lines with their "\\n", the last possibly without."""
    return re.findall(rb"[^\n]*\n|[^\n]+\Z", data)


def apply_patch(old: bytes, patch: bytes) -> bytes:
    """Apply the hunks of one file's unified diff, checking every context and deleted line."""
    src = _split(old)
    out: list[bytes] = []
    pos = 0
    lines = patch.split(b"\n")
    assert lines.pop() == b"", "a patch ends with a newline"
    i = next((n for n, ln in enumerate(lines) if ln.startswith(b"@@")), len(lines))
    while i < len(lines):
        m = _HUNK_RE.match(lines[i])
        assert m, lines[i]
        old_start, old_count = int(m[1]), int(m[2] or 1)
        new_count = int(m[4] or 1)
        # An empty old range names the line before the insertion point.
        start = old_start if old_count == 0 else old_start - 1
        assert start >= pos
        out += src[pos:start]
        want: list[bytes] = []
        got: list[bytes] = []
        sides: tuple[list[bytes], ...] = ()
        i += 1
        while i < len(lines) and not lines[i].startswith(b"@@"):
            op, text = lines[i][:1], lines[i][1:]
            i += 1
            if op == b"\\":
                for side in sides:  # the line just before lost its newline
                    side[-1] = side[-1][:-1]
                continue
            sides = {b" ": (want, got), b"-": (want,), b"+": (got,)}[op]
            for side in sides:
                side.append(text + b"\n")
        assert (len(want), len(got)) == (old_count, new_count)
        assert src[start : start + len(want)] == want
        out += got
        pos = start + len(want)
    out += src[pos:]
    return b"".join(out)


_LINES = [b"alpha", b"beta", b"    gamma", b"    delta", b"", b"x y", b"-dash", b"+plus", b"\\ back", b"tab\there"]
_LINES += [b"crlf\r", b"caf\xc3\xa9", b"\xff\xfe raw", b"}", b"def fn():"]
# A function line cut at git's 80 bytes just after two spaces: git drops them from the header.
_LINES += [b"def " + b"y" * 74 + b"  tail(a, b):"]
_line = st.sampled_from(_LINES)
_text = st.tuples(st.lists(_line, max_size=20), st.booleans()).map(
    lambda t: b"\n".join(t[0]) + (b"\n" if t[0] and t[1] else b"")
)


@settings(max_examples=400, deadline=None)
@given(_text, _text, st.integers(0, 4))
@example(b"", b"a", 3)
@example(b"a", b"", 3)
@example(b"a\nb", b"a\nb\n", 0)
@example(b"\n\n\n", b"\n\n", 1)
def test_hunks_reproduce_the_new_text(old: bytes, new: bytes, context: int) -> None:
    d = diff_blobs("f", old, new, context=context)
    if old == new:
        assert d.hunks == ()
        return
    assert apply_patch(old, format_unified(d)) == new
    changed = [ln for h in d.hunks for ln in h.lines if ln.origin != " "]
    assert (d.added, d.deleted) == (
        sum(ln.origin == "+" for ln in changed),
        sum(ln.origin == "-" for ln in changed),
    )


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gitdiff")


def _git(cwd: Path, *args: str) -> bytes:
    assert GIT is not None
    r = subprocess.run([GIT, *args], cwd=cwd, capture_output=True, check=False)
    assert r.returncode in (0, 1), r.stderr
    return r.stdout


@needs_git
@settings(max_examples=300, deadline=None)
@given(_text, _text, st.integers(0, 4), st.integers(0, 9))
def test_hunks_and_counts_match_git(scratch: Path, old: bytes, new: bytes, context: int, nul: int) -> None:
    if nul == 0:  # now and then, binary content on one side
        old += b"\0"
    (scratch / "old").write_bytes(old)
    (scratch / "new").write_bytes(new)
    out = _git(scratch, "diff", "--no-index", "--no-color", "--numstat", "-p", f"-U{context}", "old", "new")
    d = diff_blobs("f", old, new, context=context)
    if not out:
        assert old == new and d.hunks == ()
        return
    added, deleted = out.split(b"\t")[:2]
    if d.binary:
        assert (added, deleted) == (b"-", b"-")
        return
    assert (d.added, d.deleted) == (int(added), int(deleted))
    ours = format_unified(d)
    assert ours[ours.index(b"\n@@") :] == out[out.index(b"\n@@") :]


@needs_git
def test_whole_headers_match_git_diff(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    _git(repo, "init", "-q")
    before = {
        "x y": b"a\n",
        "café": b"a\nb\n",
        'q"t': b"a\n",
        "gone": b"bye\n",
        "run.sh": b"echo\n",
        "tool": b"v1\n",
        "bin": b"\0one",
    }
    after = {
        "x y": b"b\n",
        "café": b"a\nc",
        'q"t': b"a\nq\n",
        "new": b"hello\n",
        "empty": b"",
        "run.sh": b"echo\n",
        "tool": b"v2\n",
        "bin": b"\0two",
        "newbin": b"\0",
    }
    modes_after = {"run.sh": X, "tool": X}
    for name, data in before.items():
        (repo / name).write_bytes(data)
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-qm", "before")
    for name in before:
        (repo / name).unlink()
    for name, data in after.items():
        (repo / name).write_bytes(data)
        if modes_after.get(name) is X:
            os.chmod(repo / name, 0o755)
    _git(repo, "add", "-A")
    raw = _git(repo, "-c", "core.fileMode=true", "diff", "--cached", "--no-color", "--no-renames")
    theirs = [b"diff --git" + chunk for chunk in raw.split(b"diff --git")[1:]]
    theirs = [b"".join(ln for ln in c.splitlines(keepends=True) if not ln.startswith(b"index ")) for c in theirs]

    s = MemoryStore()
    old_flat = flat(s, {p: (F, c) for p, c in before.items()})
    new_flat = flat(s, {p: (modes_after.get(p, F), c) for p, c in after.items()})
    ours = []
    for ch in diff_changes(old_flat, new_flat):
        old = s.get(ch.old_oid)[1] if ch.old_oid else None
        new = s.get(ch.new_oid)[1] if ch.new_oid else None
        fd = diff_blobs(ch.path, old, new, status=ch.status, old_kind=ch.old_kind, new_kind=ch.new_kind)
        ours.append(format_unified(fd))
    assert ours == theirs


def test_file_diff_is_a_frozen_value() -> None:
    d = diff_blobs("f", b"a\n", b"b\n")
    assert isinstance(d, FileDiff)
    with pytest.raises(AttributeError):
        d.added = 5  # type: ignore[misc]
    assert d == diff_blobs("f", b"a\n", b"b\n")


def test_line_diffs_load_libgit2_without_the_pygit2_package() -> None:
    # The package's Python costs about 70 ms of CPU on every diff; its C module is all the
    # adapter uses. A later import of the package must take that same module (one GitError).
    script = (
        "import sys\n"
        "from vcrdt.diff.xdiff import diff_blobs, xdiff_matcher\n"
        "d = diff_blobs('f', b'a\\nb\\n', b'a\\nc\\n')\n"
        "assert (d.added, d.deleted) == (1, 1), d\n"
        "assert xdiff_matcher([b'x\\n', b'y\\n'], [b'y\\n']) == [(1, 0, 1), (2, 1, 0)]\n"
        "assert 'pygit2' not in sys.modules, sorted(m for m in sys.modules if 'pygit2' in m)\n"
        "c = sys.modules['pygit2._pygit2']\n"
        "import pygit2\n"
        "assert pygit2.Patch is c.Patch and pygit2.GitError is c.GitError\n"
        "assert diff_blobs('f', b'x\\n', b'y\\n').hunks\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(Path(vcrdt.diff.xdiff.__file__).resolve().parents[2])
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("cert_file", [None, "/nonexistent/certs.pem"])
def test_loading_libgit2_for_line_diffs_leaves_the_environment_as_it_was(cert_file: str | None) -> None:
    # libgit2 is loaded with OpenSSL pointed at no certificate file (line diffs make no
    # connection); the user's variable, set or not, is what the process sees afterwards, and the
    # package imported later (git interop) sets its certificate locations from Python's defaults.
    script = (
        "import os, ssl, sys\n"
        "from vcrdt.diff.xdiff import diff_blobs\n"
        "before = os.environ.get('SSL_CERT_FILE')\n"
        "assert diff_blobs('f', b'a\\n', b'b\\n').added == 1\n"
        "assert 'pygit2._pygit2' in sys.modules and 'pygit2' not in sys.modules\n"
        "assert os.environ.get('SSL_CERT_FILE') == before, os.environ.get('SSL_CERT_FILE')\n"
        "import pygit2\n"
        "assert ssl.get_default_verify_paths().cafile != os.devnull\n"
        "assert diff_blobs('f', b'x\\n', b'y\\n').hunks\n"
        "print(before)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SSL_CERT_FILE")}
    env["PYTHONPATH"] = str(Path(vcrdt.diff.xdiff.__file__).resolve().parents[2])
    if cert_file is not None:
        env["SSL_CERT_FILE"] = cert_file
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(cert_file)
