"""Blob, Tree and Commit: golden encodings, and one test per rule the decoders enforce.

The golden byte strings are written out by hand; their ids can be recomputed
with `printf '<kind> <len>\\0<body>' | sha256sum` and are listed in docs/format.md.
"""

from __future__ import annotations

import copy
import pickle
from pathlib import Path

import pytest

from vcrdt.dag import causal_relation
from vcrdt.errors import CorruptObjectError, ObjectError
from vcrdt.ids import ZERO_ID, ObjectId, ReplicaId
from vcrdt.objects import (
    MAX_PARENTS,
    MAX_TIMESTAMP,
    Blob,
    Commit,
    EntryKind,
    Reference,
    Signature,
    Tree,
    TreeEntry,
    clock_leq,
    commit_clock,
    commit_dot,
    convergent_actor,
    covers,
    decode_object,
    history_problem,
    is_convergent_commit,
    join_clocks,
)
from vcrdt.paths import decode
from vcrdt.store.memory import MemoryStore

# --- golden vectors ---------------------------------------------------------------------

HELLO_ID = "2cf8d83d9ee29543b34a87727421fdecb7e3f3a183d337639025de576db9ebb4"  # blob "hello\n"
LINK_ID = "6cafa536fe7763ce8320204b29269847816b8a13216afd94b09c8aae7cf829a8"  # blob "hello.txt"
EMPTY_TREE_ID = "6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321"
SUB_TREE_ID = "322a641f52ebb3dd8403a52bba201436d330b8e03b5864e9ea59c57a21590ba1"
ROOT_TREE_ID = "9b99d8342f84dc5a0f192202e811fb7bb109add0209cc6a72aefc8b6bbe39595"
ROOT_COMMIT_ID = "565476b010c7ceacd201f4942c90e8b3574f4cd535dc67106117eef509a45562"
CHILD_COMMIT_ID = "df8e43e6f5eacbb0d54357dee4802bf926d341948fcd257c49dd59852ec44108"

HELLO = bytes.fromhex(HELLO_ID)
LINK = bytes.fromhex(LINK_ID)
SUB = bytes.fromhex(SUB_TREE_ID)
ROOT = bytes.fromhex(ROOT_TREE_ID)

SUB_TREE_BYTES = b"file x\x00" + HELLO
ROOT_TREE_BYTES = b"file hello.txt\x00" + HELLO + b"link link\x00" + LINK + b"tree sub\x00" + SUB

REPLICA = "0123456789abcdef0123456789abcdef"
ROOT_COMMIT_BYTES = (
    b"tree 9b99d8342f84dc5a0f192202e811fb7bb109add0209cc6a72aefc8b6bbe39595\n"
    b"author Ada Lovelace <ada@example.com> 1700000000 +0100\n"
    b"replica 0123456789abcdef0123456789abcdef\n"
    b"lamport 1\n"
    b"clock 0123456789abcdef0123456789abcdef=1\n"
    b"\n"
    b"initial commit\n"
)
CHILD_COMMIT_BYTES = (
    b"tree 322a641f52ebb3dd8403a52bba201436d330b8e03b5864e9ea59c57a21590ba1\n"
    b"parent 565476b010c7ceacd201f4942c90e8b3574f4cd535dc67106117eef509a45562\n"
    b"author Ada Lovelace <ada@example.com> 1700000060 -0530\n"
    b"replica 0123456789abcdef0123456789abcdef\n"
    b"lamport 2\n"
    b"clock 0123456789abcdef0123456789abcdef=2\n"
    b"\n"
    b"second\n\nwith a body\n"
)

A = ObjectId(bytes.fromhex("aa" * 32))
B = ObjectId(bytes.fromhex("bb" * 32))
C = ObjectId(bytes.fromhex("cc" * 32))
R1 = ReplicaId("1" * 32)
R2 = ReplicaId("2" * 32)
R3 = ReplicaId("3" * 32)


def test_golden_blob() -> None:
    blob = Blob(b"hello\n")
    assert blob.to_bytes() == b"hello\n"
    assert blob.id.hex() == HELLO_ID
    assert Blob.from_bytes(b"hello.txt").id.hex() == LINK_ID


def test_golden_empty_tree() -> None:
    tree = Tree.from_bytes(b"")
    assert tree == Tree(())
    assert tree.to_bytes() == b""
    assert tree.id.hex() == EMPTY_TREE_ID


def test_golden_trees() -> None:
    sub = Tree.build([TreeEntry("x", EntryKind.FILE, ObjectId(HELLO))])
    assert sub.to_bytes() == SUB_TREE_BYTES
    assert sub.id.hex() == SUB_TREE_ID
    root = Tree.build(
        [
            TreeEntry("sub", EntryKind.TREE, ObjectId(SUB)),
            TreeEntry("link", EntryKind.SYMLINK, ObjectId(LINK)),
            TreeEntry("hello.txt", EntryKind.FILE, ObjectId(HELLO)),
        ]
    )
    assert root.to_bytes() == ROOT_TREE_BYTES
    assert root.id.hex() == ROOT_TREE_ID
    assert Tree.from_bytes(ROOT_TREE_BYTES) == root


def test_golden_root_commit() -> None:
    commit = Commit(
        ObjectId(ROOT),
        (),
        Signature("Ada Lovelace", "ada@example.com", 1_700_000_000, 60),
        "initial commit\n",
        ReplicaId(REPLICA),
        1,
        ((ReplicaId(REPLICA), 1),),
    )
    assert commit.to_bytes() == ROOT_COMMIT_BYTES
    assert commit.id.hex() == ROOT_COMMIT_ID
    assert Commit.from_bytes(ROOT_COMMIT_BYTES) == commit


def test_golden_child_commit() -> None:
    commit = Commit.from_bytes(CHILD_COMMIT_BYTES)
    assert commit.tree.hex() == SUB_TREE_ID
    assert [p.hex() for p in commit.parents] == [ROOT_COMMIT_ID]
    assert commit.author == Signature("Ada Lovelace", "ada@example.com", 1_700_000_060, -330)
    assert commit.author.format_tz() == "-0530"
    assert commit.lamport == 2
    assert commit.clock == ((ReplicaId(REPLICA), 2),)
    assert commit.message == "second\n\nwith a body\n"
    assert commit.summary == "second"
    assert commit.to_bytes() == CHILD_COMMIT_BYTES
    assert commit.id.hex() == CHILD_COMMIT_ID


# Format 2 clocks: c3 is its replica's fifth commit, whose third and fourth went to another
# branch; d is another replica's second commit (its first elsewhere); m joins them automatically.
GAPS_COMMIT_ID = "819302dec2dfc1e1a1a9f9664572d55b0ae2d62484e7c416305b68263afdcf2d"
GAPS_COMMIT_BYTES = (
    b"tree 9b99d8342f84dc5a0f192202e811fb7bb109add0209cc6a72aefc8b6bbe39595\n"
    b"parent df8e43e6f5eacbb0d54357dee4802bf926d341948fcd257c49dd59852ec44108\n"
    b"author Ada Lovelace <ada@example.com> 1700000120 +0100\n"
    b"replica 0123456789abcdef0123456789abcdef\n"
    b"lamport 3\n"
    b"clock 0123456789abcdef0123456789abcdef=5\n"
    b"gaps 0123456789abcdef0123456789abcdef=3-4\n"
    b"\n"
    b"fifth commit of this replica\n"
)
OTHER_COMMIT_ID = "c82d4847bae1957dbd7b1da7084e3f1bf02fe570e2db5460bd9c8c7ecc9d477f"
OTHER_COMMIT_BYTES = (
    b"tree 322a641f52ebb3dd8403a52bba201436d330b8e03b5864e9ea59c57a21590ba1\n"
    b"parent 565476b010c7ceacd201f4942c90e8b3574f4cd535dc67106117eef509a45562\n"
    b"author Charles Babbage <cb@example.com> 1700000090 +0000\n"
    b"replica fedcba9876543210fedcba9876543210\n"
    b"lamport 2\n"
    b"clock 0123456789abcdef0123456789abcdef=1 fedcba9876543210fedcba9876543210=2\n"
    b"gaps fedcba9876543210fedcba9876543210=1\n"
    b"\n"
    b"on another replica\n"
)
AUTO_MERGE_ID = "d0b3d61b026ada6f82ea2a4b639826cafb35d0c73e66dc1aef105c554bddeb79"
AUTO_MERGE_BYTES = (
    b"tree 9b99d8342f84dc5a0f192202e811fb7bb109add0209cc6a72aefc8b6bbe39595\n"
    b"parent 819302dec2dfc1e1a1a9f9664572d55b0ae2d62484e7c416305b68263afdcf2d\n"
    b"parent c82d4847bae1957dbd7b1da7084e3f1bf02fe570e2db5460bd9c8c7ecc9d477f\n"
    b"author vcrdt <auto-merge@vcrdt.invalid> 1700000120 +0000\n"
    b"replica 75145e7a601a671b6f8549644adb8207\n"
    b"lamport 4\n"
    b"clock 0123456789abcdef0123456789abcdef=5 fedcba9876543210fedcba9876543210=2\n"
    b"gaps 0123456789abcdef0123456789abcdef=3-4 fedcba9876543210fedcba9876543210=1\n"
    b"\n"
    b"Merge concurrent heads (automatic)\n"
)


def test_golden_clock_vectors() -> None:
    store = MemoryStore()
    for body in [ROOT_COMMIT_BYTES, CHILD_COMMIT_BYTES, GAPS_COMMIT_BYTES, OTHER_COMMIT_BYTES, AUTO_MERGE_BYTES]:
        store.put("commit", body)
    c1, c2, c3, d, m = (
        Commit.from_bytes(body)
        for body in [ROOT_COMMIT_BYTES, CHILD_COMMIT_BYTES, GAPS_COMMIT_BYTES, OTHER_COMMIT_BYTES, AUTO_MERGE_BYTES]
    )
    r, s = ReplicaId(REPLICA), ReplicaId("fedcba9876543210fedcba9876543210")
    assert [c3.id.hex(), d.id.hex(), m.id.hex()] == [GAPS_COMMIT_ID, OTHER_COMMIT_ID, AUTO_MERGE_ID]
    assert (c3.clock, c3.gaps) == (((r, 5),), ((r, ((3, 4),)),)) == commit_clock([c2], (r, 5))
    assert (d.clock, d.gaps) == commit_clock([c1], (s, 2))
    assert (m.clock, m.gaps) == commit_clock([c3, d], None)
    assert m.replica == convergent_actor([c3.id, d.id]) and is_convergent_commit(m)
    assert [commit_dot(c) for c in (c1, c2, c3, d, m)] == [(r, 1), (r, 2), (r, 5), (s, 2), None]
    assert history_problem(c3, [c2]) is None and history_problem(d, [c1]) is None
    assert history_problem(m, [c3, d]) is None
    rel = {(a.id, b.id): causal_relation(store, a.id, b.id) for a in (c1, c2, c3, d, m) for b in (c1, c2, c3, d, m)}
    assert rel[c3.id, d.id] == "concurrent" and rel[c2.id, d.id] == "concurrent"
    assert rel[c1.id, m.id] == rel[c3.id, m.id] == rel[d.id, m.id] == "before"
    assert rel[m.id, c2.id] == "after" and rel[m.id, m.id] == "equal"


def test_format_doc_lists_the_pinned_vectors() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "format.md").read_text(encoding="utf-8")
    pinned = [HELLO_ID, LINK_ID, EMPTY_TREE_ID, SUB_TREE_ID, ROOT_TREE_ID, ROOT_COMMIT_ID, CHILD_COMMIT_ID]
    for oid in [*pinned, GAPS_COMMIT_ID, OTHER_COMMIT_ID, AUTO_MERGE_ID]:
        assert f"`{oid}`" in doc
    for body in [ROOT_COMMIT_BYTES, CHILD_COMMIT_BYTES, GAPS_COMMIT_BYTES, OTHER_COMMIT_BYTES, AUTO_MERGE_BYTES]:
        indented = "".join("    " + line if line else "" for line in body.decode().splitlines(keepends=True))
        assert indented.replace("    \n", "\n") in doc


@pytest.mark.parametrize(
    ("kind", "body", "oid"),
    [
        ("blob", b"hello\n", HELLO_ID),
        ("tree", ROOT_TREE_BYTES, ROOT_TREE_ID),
        ("commit", ROOT_COMMIT_BYTES, ROOT_COMMIT_ID),
    ],
)
def test_decode_object_dispatches_on_kind(kind: str, body: bytes, oid: str) -> None:
    obj = decode_object(kind, body)
    assert obj.kind == kind
    assert obj.to_bytes() == body
    assert obj.id.hex() == oid


@pytest.mark.hostile
@pytest.mark.parametrize("kind", ["tag", "", "Blob", "blob ", "x" * 100])
def test_decode_object_unknown_kind(kind: str) -> None:
    with pytest.raises(CorruptObjectError, match="unknown object kind") as info:
        decode_object(kind, b"")
    assert len(info.value.what) <= 20


# --- blobs ----------------------------------------------------------------------------------


def test_any_bytes_are_a_blob() -> None:
    data = bytes(range(256))
    assert Blob.from_bytes(data).data == data


# --- trees: order, duplicates, ids ------------------------------------------------------------


def test_tree_build_sorts_by_encoded_name_bytes() -> None:
    names = ["b", "a.txt", "a", "B", "a b", "\u00e9", "a-b"]
    tree = Tree.build([TreeEntry(n, EntryKind.FILE, A) for n in names])
    assert [e.name for e in tree.entries] == ["B", "a", "a b", "a-b", "a.txt", "b", "\u00e9"]


def test_tree_build_order_is_byte_order_not_code_point_order() -> None:
    # U+DCFF is the escape of byte 0xFF; U+E000 encodes as EE 80 80. As text the escape
    # sorts first, as bytes it sorts last.
    raw_ff = decode(b"\xff")
    tree = Tree.build([TreeEntry(raw_ff, EntryKind.FILE, A), TreeEntry("\ue000", EntryKind.FILE, B)])
    assert [e.name for e in tree.entries] == ["\ue000", raw_ff]
    assert tree.to_bytes() == b"file \xee\x80\x80\x00" + B + b"file \xff\x00" + A


def test_tree_subdirectory_sorts_by_its_bare_name() -> None:
    # Unlike git, a subtree's name is compared without a trailing "/".
    tree = Tree.build([TreeEntry("a.txt", EntryKind.FILE, A), TreeEntry("a", EntryKind.TREE, B)])
    assert [e.name for e in tree.entries] == ["a", "a.txt"]


def test_tree_build_rejects_duplicate_names() -> None:
    with pytest.raises(CorruptObjectError, match="duplicate entry 'a'"):
        Tree.build([TreeEntry("a", EntryKind.FILE, A), TreeEntry("a", EntryKind.TREE, B)])


def test_tree_build_rejects_zero_id() -> None:
    with pytest.raises(CorruptObjectError, match="bad object id for entry 'a'"):
        Tree.build([TreeEntry("a", EntryKind.FILE, ZERO_ID)])


def test_tree_build_rejects_short_id() -> None:
    with pytest.raises(CorruptObjectError, match="bad object id"):
        Tree.build([TreeEntry("a", EntryKind.FILE, ObjectId(b"\x01" * 31))])


@pytest.mark.hostile
def test_tree_validate_rejects_unsorted_entries_built_by_hand() -> None:
    tree = Tree((TreeEntry("b", EntryKind.FILE, A), TreeEntry("a", EntryKind.FILE, A)))
    with pytest.raises(CorruptObjectError, match="entries not sorted 'a'"):
        tree.validate()


@pytest.mark.parametrize(
    "name",
    ["\ud800", "\udc41", "\udcc3\udca9"],
    ids=["lone-surrogate", "escaped-ascii", "escaped-valid-utf8"],
)
def test_tree_build_rejects_names_that_do_not_round_trip(name: str) -> None:
    # Regression: these raised UnicodeEncodeError, or aliased the name "é".
    with pytest.raises(CorruptObjectError):
        Tree.build([TreeEntry(name, EntryKind.FILE, A)])


def test_tree_entries_differing_in_kind_or_id_are_different() -> None:
    # Regression: TreeEntry compared by name only, so these trees were "equal".
    file_a = Tree.build([TreeEntry("x", EntryKind.FILE, A)])
    assert file_a != Tree.build([TreeEntry("x", EntryKind.EXECUTABLE, A)])
    assert file_a != Tree.build([TreeEntry("x", EntryKind.FILE, B)])
    assert len({TreeEntry("x", EntryKind.FILE, A), TreeEntry("x", EntryKind.FILE, B)}) == 2


def test_tree_get() -> None:
    tree = Tree.from_bytes(ROOT_TREE_BYTES)
    entry = tree.get("link")
    assert entry == TreeEntry("link", EntryKind.SYMLINK, ObjectId(LINK))
    assert tree.get("missing") is None


def test_tree_non_utf8_name_round_trips() -> None:
    body = b"file caf\xe9\x00" + A + b"exec \xff\xfe\x00" + B
    tree = Tree.from_bytes(body)
    assert [e.name for e in tree.entries] == [decode(b"caf\xe9"), decode(b"\xff\xfe")]
    assert tree.to_bytes() == body


@pytest.mark.parametrize(
    ("word", "kind"),
    [
        (b"file", EntryKind.FILE),
        (b"exec", EntryKind.EXECUTABLE),
        (b"link", EntryKind.SYMLINK),
        (b"tree", EntryKind.TREE),
    ],
)
def test_tree_entry_kind_words(word: bytes, kind: EntryKind) -> None:
    assert Tree.from_bytes(word + b" n\x00" + A).entries == (TreeEntry("n", kind, A),)


# --- trees: what the decoder rejects ----------------------------------------------------------


@pytest.mark.hostile
@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param(b"file b\0" + A + b"file a\0" + A, "entries not sorted", id="unsorted"),
        pytest.param(b"file a.txt\0" + A + b"tree a\0" + B, "entries not sorted", id="unsorted-git-order"),
        pytest.param(b"file a\0" + A + b"file a\0" + B, "duplicate entry", id="duplicate"),
        pytest.param(b"file a\0" + A + b"tree a\0" + B, "duplicate entry", id="duplicate-file-and-dir"),
        pytest.param(b"file a\0" + bytes(32), "bad object id", id="zero-id"),
        pytest.param(b"blob a\0" + A, "unknown entry kind", id="unknown-kind"),
        pytest.param(b"File a\0" + A, "unknown entry kind", id="kind-uppercase"),
        pytest.param(b"exe a\0" + A, "unknown entry kind", id="kind-short"),
        pytest.param(b" a\0" + A, "unknown entry kind", id="kind-empty"),
        pytest.param(b"files a\0" + A, "bad entry kind", id="kind-too-long"),
        pytest.param(b"file", "bad entry kind", id="kind-without-space"),
        pytest.param(b"file a" + A, "unterminated entry name", id="unterminated-name"),
        pytest.param(b"file a\0" + A[:10], "truncated entry id", id="truncated-id"),
        pytest.param(b"file a\0" + A + b"\n", "bad entry kind", id="trailing-garbage"),
        pytest.param(b"file a\0" + A + b"file", "bad entry kind", id="trailing-partial-entry"),
        pytest.param(b"file \0" + A, "empty path component", id="empty-name"),
        pytest.param(b"file .\0" + A, "'.' component", id="dot"),
        pytest.param(b"file ..\0" + A, "'..' component", id="dotdot"),
        pytest.param(b"file a/b\0" + A, "slash inside an entry name", id="slash"),
        pytest.param(b"file a\\..\\x\0" + A, "backslash", id="backslash"),
        pytest.param(b"tree .vcrdt\0" + A, "reserved", id="meta-dir"),
        pytest.param(b"tree .VCRDT\0" + A, "reserved", id="meta-dir-case"),
        pytest.param(b"tree .vc\xe2\x80\x8crdt\0" + A, "reserved", id="meta-dir-hfs-zwnj"),
        pytest.param(b"tree .\xef\xbb\xbfvcrdt\0" + A, "reserved", id="meta-dir-hfs-bom"),
        pytest.param(b"tree .vcrdt.\0" + A, "reserved", id="meta-dir-ntfs-dot"),
        pytest.param(b"tree .vcrdt \0" + A, "reserved", id="meta-dir-ntfs-space"),
        pytest.param(b"tree .vcrdt::$INDEX_ALLOCATION\0" + A, "reserved", id="meta-dir-ntfs-ads"),
        pytest.param(b"tree VCRDT~1\0" + A, "reserved", id="meta-dir-short-name"),
        pytest.param(b"file " + b"x" * 256 + b"\0" + A, "longer than 255 bytes", id="name-too-long"),
    ],
)
def test_tree_rules(body: bytes, reason: str) -> None:
    with pytest.raises(CorruptObjectError, match=reason) as info:
        Tree.from_bytes(body)
    assert info.value.what == "tree"
    assert isinstance(info.value, ObjectError)


def test_tree_rule_message_names_the_entry() -> None:
    with pytest.raises(CorruptObjectError) as info:
        Tree.from_bytes(b"file ..\0" + A)
    assert str(info.value) == "corrupt object tree: invalid path '..': '..' component not allowed"


@pytest.mark.hostile
def test_tree_nul_inside_a_name_cannot_be_expressed() -> None:
    # The NUL ends the name; what follows is read as the id and the next entry.
    with pytest.raises(CorruptObjectError):
        Tree.from_bytes(b"file a\0b\0" + A)


# --- commits --------------------------------------------------------------------------------------

BASE = (
    "tree " + "aa" * 32 + "\n"
    "parent " + "bb" * 32 + "\n"
    "author Ada Lovelace <ada@example.com> 1700000000 +0100\n"
    "replica " + "1" * 32 + "\n"
    "lamport 2\n"
    "clock " + "1" * 32 + "=2 " + "2" * 32 + "=1\n"
    "\n"
    "first line\n\nbody\n"
)
TREE_LINE = "tree " + "aa" * 32 + "\n"
PARENT_LINE = "parent " + "bb" * 32 + "\n"
AUTHOR_LINE = "author Ada Lovelace <ada@example.com> 1700000000 +0100\n"
REPLICA_LINE = "replica " + "1" * 32 + "\n"
CLOCK_LINE = "clock " + "1" * 32 + "=2 " + "2" * 32 + "=1\n"


def edited(old: str, new: str) -> bytes:
    assert old in BASE
    text = BASE.replace(old, new, 1)
    assert text != BASE
    return text.encode()


def test_base_commit_decodes() -> None:
    c = Commit.from_bytes(BASE.encode())
    assert c.tree == A and c.parents == (B,)
    assert c.author == Signature("Ada Lovelace", "ada@example.com", 1_700_000_000, 60)
    assert c.replica == R1 and c.lamport == 2
    assert c.clock == ((R1, 2), (R2, 1))
    assert c.to_bytes() == BASE.encode()


@pytest.mark.hostile
@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        # tree
        pytest.param(edited(TREE_LINE, ""), "missing tree", id="missing-tree"),
        pytest.param(edited(TREE_LINE + PARENT_LINE, PARENT_LINE + TREE_LINE), "missing tree", id="tree-not-first"),
        pytest.param(edited("tree " + "aa" * 32, "tree " + "AA" * 32), "bad tree id", id="tree-uppercase"),
        pytest.param(edited("tree " + "aa" * 32, "tree " + "aa" * 31), "bad tree id", id="tree-short"),
        pytest.param(edited("tree " + "aa" * 32, "tree  " + "aa" * 32), "bad tree id", id="tree-two-spaces"),
        pytest.param(edited("tree " + "aa" * 32, "tree " + "00" * 32), "null tree id", id="tree-zero"),
        pytest.param(edited(TREE_LINE, TREE_LINE + TREE_LINE), "missing author", id="two-trees"),
        # parents
        pytest.param(edited("parent " + "bb" * 32, "parent " + "zz" * 32), "bad parent id", id="parent-non-hex"),
        pytest.param(edited("parent " + "bb" * 32, "parent " + "bb" * 33), "bad parent id", id="parent-long"),
        pytest.param(edited("parent " + "bb" * 32, "parent " + "00" * 32), "null parent id", id="parent-zero"),
        pytest.param(edited(PARENT_LINE, PARENT_LINE * 2), "duplicate parent", id="duplicate-parent"),
        pytest.param(
            edited(PARENT_LINE, "".join(f"parent {i + 1:064x}\n" for i in range(MAX_PARENTS + 1))),
            f"more than {MAX_PARENTS} parents",
            id="too-many-parents",
        ),
        pytest.param(
            BASE.replace(PARENT_LINE, "").replace(AUTHOR_LINE, AUTHOR_LINE + PARENT_LINE).encode(),
            "missing or malformed replica",
            id="parent-after-author",
        ),
        # author
        pytest.param(edited(AUTHOR_LINE, ""), "missing author", id="missing-author"),
        pytest.param(edited(AUTHOR_LINE, AUTHOR_LINE * 2), "missing or malformed replica", id="two-authors"),
        pytest.param(edited("<ada@example.com>", "ada@example.com"), "malformed author", id="email-unbracketed"),
        pytest.param(edited("Ada Lovelace", "Ada <x> Lovelace"), "malformed author", id="angle-in-name"),
        pytest.param(edited(" 1700000000 +0100", " +0100"), "malformed author", id="missing-timestamp"),
        pytest.param(edited(" +0100\n", "\n"), "malformed author", id="missing-tz"),
        pytest.param(edited("Lovelace <", "Lovelace<"), "malformed author", id="no-space-before-email"),
        pytest.param(edited("> 1700000000", ">  1700000000"), "malformed author", id="two-spaces-before-time"),
        # timestamp
        pytest.param(edited("1700000000", "01700000000"), "malformed author", id="timestamp-leading-zero"),
        pytest.param(edited("1700000000", "-1700000000"), "malformed author", id="timestamp-negative"),
        pytest.param(edited("1700000000", "+1700000000"), "malformed author", id="timestamp-plus"),
        pytest.param(edited("1700000000", str(MAX_TIMESTAMP + 1)), "timestamp out of range", id="timestamp-2^53+1"),
        pytest.param(edited("1700000000", "9" * 17), "malformed author", id="timestamp-17-digits"),
        pytest.param(edited("1700000000", "\u0661\u0667"), "malformed author", id="timestamp-arabic-digits"),
        # time zone
        pytest.param(edited("+0100", "+2400"), "bad time-zone offset", id="tz-+2400"),
        pytest.param(edited("+0100", "+1401"), "bad time-zone offset", id="tz-past-14h"),
        pytest.param(edited("+0100", "-1500"), "bad time-zone offset", id="tz-minus-15h"),
        pytest.param(edited("+0100", "+0160"), "bad time-zone offset", id="tz-60-minutes"),
        pytest.param(edited("+0100", "-0000"), "negative zero", id="tz--0000"),
        pytest.param(edited("+0100", "+100"), "malformed author", id="tz-three-digits"),
        pytest.param(edited("+0100", "+01:00"), "malformed author", id="tz-colon"),
        pytest.param(edited("+0100", "0100"), "malformed author", id="tz-unsigned"),
        pytest.param(edited("+0100", "Z"), "malformed author", id="tz-z"),
        # replica and lamport
        pytest.param(edited(REPLICA_LINE, ""), "missing or malformed replica", id="missing-replica"),
        pytest.param(edited("replica " + "1" * 32, "replica " + "A" * 32), "malformed replica", id="replica-uppercase"),
        pytest.param(edited("replica " + "1" * 32, "replica " + "1" * 31), "malformed replica", id="replica-short"),
        pytest.param(edited("lamport 2\n", ""), "malformed lamport", id="missing-lamport"),
        pytest.param(edited("lamport 2", "lamport 02"), "malformed lamport", id="lamport-leading-zero"),
        pytest.param(edited("lamport 2", "lamport -2"), "malformed lamport", id="lamport-negative"),
        pytest.param(edited("lamport 2", "lamport 2.0"), "malformed lamport", id="lamport-decimal-point"),
        pytest.param(edited("lamport 2", "lamport " + "1" * 20), "malformed lamport", id="lamport-20-digits"),
        pytest.param(edited("lamport 2", "lamport"), "malformed lamport", id="lamport-without-value"),
        # vector clock
        pytest.param(edited(CLOCK_LINE, ""), "missing vector clock", id="missing-clock"),
        pytest.param(edited(CLOCK_LINE, "clock\n"), "missing vector clock", id="clock-without-space"),
        pytest.param(
            edited("=2 " + "2" * 32 + "=1", "=2 " + "2" * 32 + "=0"), "vector clock entry", id="clock-zero-count"
        ),
        pytest.param(edited("=2 ", "=02 "), "vector clock entry", id="clock-leading-zero"),
        pytest.param(edited("=2 ", "=-2 "), "vector clock entry", id="clock-negative"),
        pytest.param(edited("=2 ", ":2 "), "vector clock entry", id="clock-no-equals"),
        pytest.param(edited("=2 ", "=2  "), "vector clock entry", id="clock-double-space"),
        pytest.param(edited("=1\n", "=1 \n"), "vector clock entry", id="clock-trailing-space"),
        pytest.param(edited("clock " + "1" * 32, "clock " + "G" * 32), "vector clock entry", id="clock-bad-replica"),
        pytest.param(
            edited(CLOCK_LINE, "clock " + "2" * 32 + "=1 " + "1" * 32 + "=2\n"),
            "not sorted or duplicated",
            id="clock-unsorted",
        ),
        pytest.param(
            edited(CLOCK_LINE, "clock " + "1" * 32 + "=2 " + "1" * 32 + "=3\n"),
            "not sorted or duplicated",
            id="clock-duplicate",
        ),
        # gaps of the vector clock
        pytest.param(edited(CLOCK_LINE, CLOCK_LINE + "gaps \n"), "malformed gaps entry", id="gaps-empty"),
        pytest.param(edited(CLOCK_LINE, CLOCK_LINE + "gaps\n"), "unexpected header", id="gaps-without-space"),
        pytest.param(
            edited(CLOCK_LINE, CLOCK_LINE + "gaps " + "1" * 32 + "=0\n"), "malformed gaps entry", id="gap-zero"
        ),
        pytest.param(
            edited(CLOCK_LINE, CLOCK_LINE + "gaps " + "1" * 32 + "=01\n"), "malformed gaps entry", id="gap-leading-zero"
        ),
        pytest.param(
            edited(CLOCK_LINE, CLOCK_LINE + "gaps " + "1" * 32 + "=1 \n"),
            "malformed gaps entry",
            id="gaps-trailing-space",
        ),
        pytest.param(
            edited(CLOCK_LINE, CLOCK_LINE + "gaps " + "1" * 32 + "=2\n"), "below its count", id="gap-at-the-count"
        ),
        pytest.param(
            edited(CLOCK_LINE, CLOCK_LINE + "gaps " + "3" * 32 + "=1\n"),
            "not in the vector clock",
            id="gap-unknown-key",
        ),
        pytest.param(
            edited(CLOCK_LINE, "clock " + "1" * 32 + "=9\ngaps " + "1" * 32 + "=2-2\n"),
            "below its count",
            id="gap-range-of-one",
        ),
        pytest.param(
            edited(CLOCK_LINE, "clock " + "1" * 32 + "=9\ngaps " + "1" * 32 + "=3-1\n"),
            "below its count",
            id="gap-range-reversed",
        ),
        pytest.param(
            edited(CLOCK_LINE, "clock " + "1" * 32 + "=9\ngaps " + "1" * 32 + "=1,2\n"),
            "below its count",
            id="gaps-adjacent",
        ),
        pytest.param(
            edited(CLOCK_LINE, "clock " + "1" * 32 + "=9\ngaps " + "1" * 32 + "=1-4,3\n"),
            "below its count",
            id="gaps-overlapping",
        ),
        pytest.param(
            edited(CLOCK_LINE, "clock " + "1" * 32 + "=9\ngaps " + "1" * 32 + "=5,2\n"),
            "below its count",
            id="gaps-unsorted-ranges",
        ),
        pytest.param(
            edited(
                CLOCK_LINE, "clock " + "1" * 32 + "=5 " + "2" * 32 + "=4\ngaps " + "2" * 32 + "=2 " + "1" * 32 + "=3\n"
            ),
            "gaps not sorted or duplicated",
            id="gaps-keys-unsorted",
        ),
        pytest.param(
            edited(CLOCK_LINE, "clock " + "1" * 32 + "=5\ngaps " + "1" * 32 + "=2 " + "1" * 32 + "=3\n"),
            "gaps not sorted or duplicated",
            id="gaps-key-twice",
        ),
        pytest.param(
            edited(CLOCK_LINE, "gaps " + "1" * 32 + "=1\n" + CLOCK_LINE), "missing vector clock", id="gaps-before-clock"
        ),
        pytest.param(
            edited(CLOCK_LINE, CLOCK_LINE + "gaps " + "1" * 32 + "=1\ngaps " + "1" * 32 + "=1\n"),
            "unexpected header",
            id="two-gaps-lines",
        ),
        # framing
        pytest.param(edited("body\n", "bo\0dy\n"), "NUL byte", id="nul-in-message"),
        pytest.param(edited("Ada Lovelace", "Ada\0Lovelace"), "NUL byte", id="nul-in-header"),
        pytest.param(edited("=1\n\n", "=1\nextra field\n\n"), "unexpected header", id="trailing-garbage-header"),
        pytest.param(edited("=1\n\n", "=1\nclock \n\n"), "unexpected header", id="two-clocks"),
        pytest.param(edited("\n\nfirst", "\nfirst"), "unexpected header", id="missing-blank-line"),
        pytest.param(BASE.split("\n\n", 1)[0].encode(), "missing blank line", id="header-only"),
        pytest.param(b"", "missing blank line", id="empty"),
        pytest.param(BASE.replace("\n", "\r\n").encode(), "missing blank line", id="crlf"),
        pytest.param(b"\xef\xbb\xbf" + BASE.encode(), "missing tree", id="utf8-bom"),
        pytest.param(BASE.encode().replace(b"body", b"b\xe9dy"), "not valid UTF-8", id="latin1-message"),
        pytest.param(b"\xff" + BASE.encode(), "not valid UTF-8", id="invalid-utf8"),
    ],
)
def test_commit_rules(bad: bytes, reason: str) -> None:
    with pytest.raises(CorruptObjectError, match=reason) as info:
        Commit.from_bytes(bad)
    assert info.value.what == "commit"


def test_commit_name_with_trailing_space_round_trips() -> None:
    # "Ada Lovelace " (trailing space) is a legal name, so this body decodes, and it
    # re-encodes to exactly these bytes: canonical, even if surprising.
    bad = edited("Ada Lovelace <", "Ada Lovelace  <")
    commit = Commit.from_bytes(bad)
    assert commit.author.name == "Ada Lovelace "
    assert commit.to_bytes() == bad


def test_commit_timestamp_2_to_the_53_is_accepted() -> None:
    commit = Commit.from_bytes(edited("1700000000", str(MAX_TIMESTAMP)))
    assert commit.author.timestamp == 2**53


@pytest.mark.parametrize(("tz", "minutes"), [("+1400", 840), ("-1400", -840), ("+0000", 0), ("-0001", -1)])
def test_commit_tz_limits_accepted(tz: str, minutes: int) -> None:
    assert Commit.from_bytes(edited("+0100", tz)).author.tz_offset == minutes


def test_commit_timestamp_zero_is_accepted() -> None:
    assert Commit.from_bytes(edited("1700000000", "0")).author.timestamp == 0


def test_commit_with_64_parents_is_accepted() -> None:
    parents = "".join(f"parent {i + 1:064x}\n" for i in range(MAX_PARENTS))
    assert len(Commit.from_bytes(edited(PARENT_LINE, parents)).parents) == MAX_PARENTS


def test_commit_empty_clock_is_canonical_with_trailing_space() -> None:
    # The decoder checks syntax only; a commit with an empty clock spells it "clock ".
    commit = Commit.from_bytes(edited(CLOCK_LINE, "clock \n"))
    assert commit.clock == ()
    assert b"\nclock \n\n" in commit.to_bytes()


def test_commit_lamport_zero_is_syntactically_valid() -> None:
    # Lamport and clock consistency with the parents is a history rule, not a syntax rule.
    assert Commit.from_bytes(edited("lamport 2", "lamport 0")).lamport == 0


def test_commit_empty_message() -> None:
    body = BASE.split("\n\n", 1)[0].encode() + b"\n\n"
    commit = Commit.from_bytes(body)
    assert commit.message == "" and commit.summary == ""
    assert commit.to_bytes() == body


def test_commit_message_may_start_with_blank_lines() -> None:
    commit = Commit.from_bytes(edited("\n\nfirst", "\n\n\n\nfirst"))
    assert commit.message.startswith("\n\nfirst")


def test_commit_unicode_round_trip() -> None:
    commit = Commit(
        A,
        (B, C),
        Signature("Zoë Ñandú 李", "zoë@例え.jp", 1, -90),
        "déjà vu 🎉\n\n\u00e9 NFC and e\u0301 NFD stay as written\n",
        R3,
        7,
        ((R1, 1), (R2, 5), (R3, 3)),
    )
    assert Commit.from_bytes(commit.to_bytes()) == commit


# --- version vectors with gaps --------------------------------------------------------------------


def _with_clock(
    clock: dict[ReplicaId, int], gaps: dict[ReplicaId, tuple[tuple[int, int], ...]] | None = None
) -> Commit:
    g = gaps or {}
    return Commit(
        A, (), Signature("a", "b", 0, 0), "m\n", R1, 1, tuple(sorted(clock.items())), None, tuple(sorted(g.items()))
    )


def test_commit_clock_root_commit() -> None:
    assert commit_clock([], (R2, 1)) == (((R2, 1),), ())


def test_commit_clock_counts_own_dot_and_skipped_counters_are_gaps() -> None:
    assert commit_clock([_with_clock({R1: 4})], (R1, 5)) == (((R1, 5),), ())
    # counters 5..7 went to commits on other branches: not in this history
    assert commit_clock([_with_clock({R1: 4})], (R1, 8)) == (((R1, 8),), ((R1, ((5, 7),)),))


def test_commit_clock_refuses_a_counter_not_above_the_parents() -> None:
    with pytest.raises(ValueError, match="not above"):
        commit_clock([_with_clock({R1: 4})], (R1, 4))


def test_join_is_the_union_of_histories() -> None:
    a = _with_clock({R1: 9, R2: 2}, {R1: ((2, 5), (7, 7))})  # R1 covers 1, 6, 8, 9
    b = _with_clock({R1: 6, R3: 1}, {R1: ((1, 3),)})  # R1 covers 4, 5, 6
    joined = join_clocks([a, b])
    assert joined == {R1: (9, ((2, 3), (7, 7))), R2: (2, ()), R3: (1, ())}
    assert join_clocks([b, a]) == joined


def test_commit_clock_without_a_dot_is_the_join() -> None:
    a = _with_clock({R1: 3, R2: 1})
    b = _with_clock({R2: 4, R3: 2}, {R2: ((1, 3),)})
    assert commit_clock([a, b], None) == commit_clock([b, a], None) == (((R1, 3), (R2, 4), (R3, 2)), ((R2, ((2, 3),)),))


def test_covers_and_clock_leq() -> None:
    c = _with_clock({R1: 9}, {R1: ((2, 3), (7, 7))})
    assert [n for n in range(0, 11) if covers(c, (R1, n))] == [1, 4, 5, 6, 8, 9]
    assert not covers(c, (R2, 1))
    assert clock_leq(_with_clock({R1: 6}, {R1: ((2, 4),)}), c)
    assert not clock_leq(_with_clock({R1: 6}, {R1: ((2, 2),)}), c)  # covers 3, which c lacks
    assert not clock_leq(_with_clock({R1: 7}), c)
    assert not clock_leq(_with_clock({R2: 1}), c)
    assert clock_leq(c, c)


def test_gaps_round_trip_in_a_commit() -> None:
    clock, gaps = commit_clock([_with_clock({R3: 9}, {R3: ((1, 4), (6, 6))}), _with_clock({R1: 1})], (R2, 3))
    commit = Commit(A, (B, C), Signature("a", "b", 0, 0), "m\n", R2, 3, clock, None, gaps)
    body = commit.to_bytes()
    assert b"\ngaps " + R2.encode() + b"=1-2 " + R3.encode() + b"=1-4,6\n" in body
    assert Commit.from_bytes(body) == commit


# --- the decoder's constructors ----------------------------------------------------------------


def test_decoder_builds_commits_as_init_does() -> None:
    import inspect

    from vcrdt.objects import _new_commit, _new_signature

    # A field added to Commit or Signature must be added to the decoder's constructors too.
    for cls, make in ((Commit, _new_commit), (Signature, _new_signature)):
        names = list(cls.__slots__)
        params = inspect.signature(make).parameters.values()
        assert [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD] == names
        init = inspect.signature(cls.__init__).parameters.values()
        assert [p.name for p in init][1:] == names
    sig = _new_signature("Zoë", "z@x", 5, -90)
    assert sig == Signature("Zoë", "z@x", 5, -90) and hash(sig) == hash(Signature("Zoë", "z@x", 5, -90))
    values = (A, (B, C), sig, "m\n", R3, 7, ((R1, 1), (R3, 3)), C)
    commit = _new_commit(*values)
    assert type(commit) is Commit
    assert commit == Commit(*values) and hash(commit) == hash(Commit(*values))
    with pytest.raises(AttributeError):
        commit.lamport = 8  # type: ignore[misc]
    assert Commit.from_bytes(commit.to_bytes()) == commit


# --- the value classes: immutable, equal and hashed by all their fields -------------------------


def _values() -> list[tuple[object, object, object]]:
    """Per class: a value, an equal copy, and a value differing in its last field."""
    sig = Signature("a", "b", 1, 60)
    entry = TreeEntry("f", EntryKind.FILE, A)
    return [
        (Blob(b"x"), Blob(b"x"), Blob(b"y")),
        (entry, TreeEntry("f", EntryKind.FILE, A), TreeEntry("f", EntryKind.FILE, B)),
        (Tree((entry,)), Tree((TreeEntry("f", EntryKind.FILE, A),)), Tree(())),
        (sig, Signature("a", "b", 1, 60), Signature("a", "b", 1, -60)),
        (
            Commit(A, (B,), sig, "m\n", R1, 2, ((R1, 2),)),
            Commit(A, (B,), Signature("a", "b", 1, 60), "m\n", R1, 2, ((R1, 2),), None, (), None),
            Commit(A, (B,), sig, "m\n", R1, 2, ((R1, 2),), git=B),
        ),
        (Reference(A, "blob", "x"), Reference(A, "blob", "x"), Reference(A, "blob", "y")),
    ]


@pytest.mark.parametrize("value, same, other", _values(), ids=lambda v: type(v).__name__)
def test_values_compare_hash_and_refuse_assignment(value: object, same: object, other: object) -> None:
    assert value == same and hash(value) == hash(same)
    assert value != other
    assert value != tuple(getattr(value, name) for name in type(value).__slots__)  # type: ignore[attr-defined]
    names = type(value).__slots__  # type: ignore[attr-defined]
    assert repr(value).startswith(type(value).__name__ + "(" + names[0] + "=")
    assert not hasattr(value, "__dict__")
    for name in names:
        with pytest.raises(AttributeError):
            setattr(value, name, None)
        with pytest.raises(AttributeError):
            delattr(value, name)
    assert {value: 1}[same] == 1
    assert copy.copy(value) == value and copy.deepcopy(value) == value
    assert pickle.loads(pickle.dumps(value)) == value


# --- every class built on vcrdt.values.Value ------------------------------------------------------


def _all_values() -> list[tuple[object, object, object]]:
    """Per `Value` subclass in vcrdt: a value, an equal copy, and a value differing in one field."""
    from vcrdt.cli.argv import Plan
    from vcrdt.crdt.order import TieKey
    from vcrdt.crdt.refstate import RefState
    from vcrdt.diff.lines import DiffLine, DiffStat, FileDiff, Hunk
    from vcrdt.diff.tree import Change
    from vcrdt.gitio.record import GitCommitParts, GitRecord, GitTagParts, GitTreeEntry
    from vcrdt.merge.diff3 import MergeResult, Region
    from vcrdt.porcelain.branches import BranchInfo, SwitchResult, TagInfo
    from vcrdt.porcelain.copies import ReplicaRenewal
    from vcrdt.porcelain.filemerge import MergeFileResult
    from vcrdt.porcelain.files import CommitResult, InitResult, Status
    from vcrdt.porcelain.history import LogEntry, ShowResult
    from vcrdt.porcelain.oplog import UndoResult
    from vcrdt.porcelain.replicas import Causality, FetchResult
    from vcrdt.refs import Head
    from vcrdt.repo import Settings
    from vcrdt.store.fingerprints import Fingerprint
    from vcrdt.store.oplog import OpRecord
    from vcrdt.sync.frames import Bucket, Children, Frame, Listing, Packed, TreeDelta
    from vcrdt.sync.limits import SyncLimits
    from vcrdt.sync.receive import BranchChange
    from vcrdt.sync.tokens import TokenInfo
    from vcrdt.sync.transport import Remote
    from vcrdt.worktree.status import Changes, Token, WorktreeStatus

    commit = Commit(A, (B,), Signature("a", "b", 1, 60), "m\n", R1, 2, ((R1, 2),))

    def op(undoes: int | None) -> OpRecord:
        return OpRecord(
            1, 2.5, "commit", "s", "main", "main", {"refs/heads/main": (frozenset({A}), frozenset())}, None, B, undoes
        )

    return [
        *_values(),
        (Settings("a", "b"), Settings("a", "b"), Settings("a", "b", busy_timeout=1.0)),
        (Head("main", A), Head("main", A, frozenset()), Head("main", A, frozenset({B}))),
        (TieKey(1, "r", b"c"), TieKey(1, "r", b"c"), TieKey(1, "r", b"d")),
        (RefState({"m": frozenset()}, {"r": 1}), RefState({"m": frozenset()}, {"r": 1}), RefState({}, {"r": 1})),
        (Frame(1, b"p"), Frame(1, b"p"), Frame(2, b"p")),
        (Bucket("a", 1, b"d"), Bucket("a", 1, b"d", None), Bucket("a", 1, b"d", (A,))),
        (Packed("blob", 1, None, b"z"), Packed("blob", 1, None, b"z"), Packed("blob", 1, 2, b"z")),
        (Children("a", ((1, b"d"),)), Children("a", ((1, b"d"),)), Children("b", ((1, b"d"),))),
        (
            TreeDelta(1, 40, ((0, b"file", b"d"),), (1,), ()),
            TreeDelta(1, 40, ((0, b"file", b"d"),), (1,), ()),
            TreeDelta(A, 40, ((0, b"file", b"d"),), (1,), ()),
        ),
        (Listing("a", 4, (b"s",)), Listing("a", 4, (b"s",), 0, b""), Listing("a", 4, (b"s",), 1)),
        (SyncLimits(), SyncLimits(max_rounds=64), SyncLimits(max_rounds=3)),
        (
            BranchChange("m", frozenset(), frozenset({A})),
            BranchChange("m", frozenset(), frozenset({A})),
            BranchChange("m", frozenset({A}), frozenset({A})),
        ),
        (Remote("path", "p", Path("p")), Remote("path", "p", Path("p"), ()), Remote("command", "p", None, ("sh",))),
        (
            TokenInfo("a1", "read", 1.0, None, None),
            TokenInfo("a1", "read", 1.0, None, None),
            TokenInfo("a1", "write", 1.0, None, None),
        ),
        (Causality(A, B, "before"), Causality(A, B, "before"), Causality(A, B, "after")),
        (
            FetchResult(Path("p"), 1, [], [], [], None),
            FetchResult(Path("p"), 1, [], [], [], None, None),
            FetchResult(Path("p"), 2, [], [], [], None),
        ),
        (
            Change("p", "added", None, None, EntryKind.FILE, A),
            Change("p", "added", None, None, EntryKind.FILE, A),
            Change("p", "added", None, None, EntryKind.EXECUTABLE, A),
        ),
        (DiffLine("+", b"x"), DiffLine("+", b"x", False), DiffLine("+", b"x", True)),
        (
            Hunk(1, 1, 1, 1, "@@ -1 +1 @@", (DiffLine("-", b"a"),)),
            Hunk(1, 1, 1, 1, "@@ -1 +1 @@", (DiffLine("-", b"a"),)),
            Hunk(1, 1, 1, 1, "@@ -1 +1 @@", (DiffLine("+", b"a"),)),
        ),
        (
            FileDiff("p", "p", "modified", False, 1, 1, ()),
            FileDiff("p", "p", "modified", False, 1, 1, (), None, None),
            FileDiff("p", "p", "modified", False, 1, 1, (), None, EntryKind.FILE),
        ),
        (DiffStat("p", 1, 2, False), DiffStat("p", 1, 2, False), DiffStat("p", 1, 2, True)),
        (LogEntry(A, commit, ["x"]), LogEntry(A, commit, ["x"], None, None), LogEntry(A, commit, ["y"])),
        (ShowResult(A, commit, [], []), ShowResult(A, commit, [], []), ShowResult(B, commit, [], [])),
        (UndoResult(op(None), 3, ["f"]), UndoResult(op(None), 3, ["f"]), UndoResult(op(None), None, ["f"])),
        (ReplicaRenewal(R1, R3, "o", "h"), ReplicaRenewal(R1, R3, "o", "h"), ReplicaRenewal(R1, R3, "o", "i")),
        (InitResult(Path("r"), R1, "main"), InitResult(Path("r"), R1, "main"), InitResult(Path("r"), R1, "dev")),
        (BranchInfo("b", [A], True, "s"), BranchInfo("b", [A], True, "s"), BranchInfo("b", [A], False, "s")),
        (TagInfo("t", A, "s"), TagInfo("t", A, "s"), TagInfo("t", B, "s")),
        (SwitchResult("b", A, ["f"]), SwitchResult("b", A, ["f"], False), SwitchResult("b", A, ["f"], True)),
        (
            Status("main", A, WorktreeStatus(["f"])),
            Status("main", A, WorktreeStatus(["f"]), None, [], [], []),
            Status("main", A, WorktreeStatus(["f"]), renamed=[("f", "g")]),
        ),
        (CommitResult(A, "main", commit, []), CommitResult(A, "main", commit, []), CommitResult(A, None, commit, [])),
        (
            Plan({"q": True}, [], "status", "m", "f", {}, []),
            Plan({"q": True}, [], "status", "m", "f", {}, []),
            Plan({"q": True}, [], "status", "m", "f", {}, ["x"]),
        ),
        (WorktreeStatus(["f"]), WorktreeStatus(["f"], [], [], [], [], []), WorktreeStatus(["f"], ignored=["i"])),
        (Changes("g", 1, frozenset({"a"})), Changes("g", 1, frozenset({"a"})), Changes("g", 1, None)),
        (Token("g", 1, "e", ["u"], []), Token("g", 1, "e", ["u"], []), Token("g", 1, "e", ["u"], ["s"])),
        (op(None), op(None), op(4)),
        (Fingerprint(1, (2,) * 8), Fingerprint(1, (2,) * 8), Fingerprint()),
        (GitTreeEntry(b"100644", b"a", b"i"), GitTreeEntry(b"100644", b"a", b"i"), GitTreeEntry(b"100755", b"a", b"i")),
        (GitRecord(b"commit", b"h\n"), GitRecord(b"commit", b"h\n", None, ()), GitRecord(b"commit", b"h\n", b"m")),
        (
            GitCommitParts(b"t", (b"p",), b"h\n", b"m"),
            GitCommitParts(b"t", (b"p",), b"h\n", b"m"),
            GitCommitParts(b"t", (), b"h\n", b"m"),
        ),
        (
            GitTagParts(b"t", b"commit", b"h\n", b"m"),
            GitTagParts(b"t", b"commit", b"h\n", b"m"),
            GitTagParts(b"t", b"tree", b"h\n", b"m"),
        ),
        (
            Region("a", (b"x\n",), (b"y\n",), (b"x\n",), 1),
            Region("a", (b"x\n",), (b"y\n",), (b"x\n",), 1, 0, 0, False),
            Region("a", (b"x\n",), (b"y\n",), (b"x\n",), 1, overlapping=True),
        ),
        (
            MergeResult((Region("same", (), (), ()),)),
            MergeResult((Region("same", (), (), ()),), None),
            MergeResult((), (b"x\n",)),
        ),
        (MergeFileResult(b"x\n", 0), MergeFileResult(b"x\n", 0, ""), MergeFileResult(b"x\n", 1)),
    ]


def _value_subclasses() -> set[type]:
    from vcrdt.values import Value

    found: set[type] = set()
    todo = [Value]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return found


@pytest.mark.parametrize(
    "value, same, other, fields",
    [
        ("dot", ("r", 1), ("r", 2), ("replica", "counter")),
        ("entry", ((("r", 1)), b"\x01" * 32), (("r", 1), b"\x02" * 32), ("dot", "head")),
    ],
)
def test_dots_and_entries_are_named_tuples(value: str, same: tuple, other: tuple, fields: tuple[str, str]) -> None:
    """`Dot` and `Entry` are tuples (hashed and compared in C), with the order and equality of their fields."""
    from vcrdt.crdt.refstate import Dot, Entry

    def make(raw: tuple) -> object:
        if value == "dot":
            return Dot(*raw)
        return Entry(Dot(*raw[0]), raw[1])

    a, b, c = make(same), make(same), make(other)
    assert a == b and hash(a) == hash(b) and a is not b
    assert a != c and a < c and c > a and sorted([c, a]) == [a, c]
    assert tuple(getattr(a, name) for name in fields) == tuple(a)  # type: ignore[arg-type]
    assert repr(a).startswith(type(a).__name__ + "(" + fields[0] + "=")
    assert not hasattr(a, "__dict__")
    for name in fields:
        with pytest.raises(AttributeError):
            setattr(a, name, None)
    assert type(copy.copy(a)) is type(a) and copy.deepcopy(a) == a
    back = pickle.loads(pickle.dumps(a))
    assert back == a and type(back) is type(a)


def test_every_value_class_is_covered() -> None:
    values = _all_values()  # imports every module that defines one
    assert len(_value_subclasses()) >= 23
    assert _value_subclasses() == {type(value) for value, _, _ in values}


@pytest.mark.parametrize("value, same, other", _all_values(), ids=lambda v: type(v).__name__)
def test_value_classes_behave_as_frozen_dataclasses(value: object, same: object, other: object) -> None:
    cls = type(value)
    names = [name for klass in reversed(cls.__mro__) for name in klass.__dict__.get("__slots__", ())]
    fields = tuple(getattr(value, name) for name in names)
    assert value == same and not value != same
    assert value != other and not value == other
    assert value != fields and value.__eq__(fields) is NotImplemented
    try:
        hashed = hash(value)
    except TypeError:  # a field is unhashable (a list), as with the dataclass
        with pytest.raises(TypeError):
            hash(fields)
    else:
        assert hashed == hash(same) == hash(fields)
        assert {value: 1}[same] == 1
    assert repr(value) == f"{cls.__name__}(" + ", ".join(f"{n}={getattr(value, n)!r}" for n in names) + ")"
    assert not hasattr(value, "__dict__")
    for name in [*names, "other"]:
        with pytest.raises(AttributeError, match=f"^cannot assign to field '{name}': {cls.__name__} is immutable$"):
            setattr(value, name, None)
        with pytest.raises(AttributeError, match=f"^cannot delete field '{name}': {cls.__name__} is immutable$"):
            delattr(value, name)
    assert tuple(getattr(value, name) for name in names) == fields
    for twin in (copy.copy(value), copy.deepcopy(value), pickle.loads(pickle.dumps(value))):
        assert type(twin) is cls and twin == value


def test_records_compare_by_fields_are_mutable_and_unhashable() -> None:
    from vcrdt.values import Record
    from vcrdt.worktree.rows import Row

    a, b = Row("a.txt", None, None), Row("a.txt", None, None)
    assert isinstance(a, Record) and a == b and a != Row("b.txt", None, None)
    assert a.__eq__(("a.txt",)) is NotImplemented
    b.size = 3
    assert a != b and b.size == 3
    with pytest.raises(TypeError):
        hash(a)
    assert repr(a).startswith("Row(path='a.txt', head_kind=None, head_oid=None, kind=None, oid=None, size=-1,")


def test_entry_kind_behaves_as_the_enum_it_replaced() -> None:
    # EntryKind is not an enum.Enum (loading enum costs every command millions of instructions):
    # what the code relies on an enum for still holds.
    kinds = list(EntryKind)
    assert [(k.name, k.value) for k in kinds] == [
        ("FILE", "file"),
        ("EXECUTABLE", "exec"),
        ("SYMLINK", "link"),
        ("TREE", "tree"),
        ("GITLINK", "subm"),
    ]
    assert len(EntryKind) == 5
    for kind in kinds:
        assert EntryKind(kind.value) is kind is getattr(EntryKind, kind.name)
        assert copy.copy(kind) is kind and copy.deepcopy(kind) is kind
        assert pickle.loads(pickle.dumps(kind)) is kind
        assert repr(kind) == f"<EntryKind.{kind.name}: {kind.value!r}>" and str(kind) == f"EntryKind.{kind.name}"
    assert len({*kinds, *kinds}) == 5 and EntryKind.FILE != EntryKind.EXECUTABLE
    for bad in ("", "File", "blob", None):
        with pytest.raises(ValueError, match="is not a valid EntryKind"):
            EntryKind(bad)  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        EntryKind.FILE.value = "exec"  # type: ignore[misc]
    assert EntryKind.FILE.value == "file"
