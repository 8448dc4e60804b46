"""Laws of the object encoding: round trips, canonical form, and decoders that raise only VcrdtError."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from vcrdt.errors import BadPathError, CorruptObjectError, VcrdtError
from vcrdt.ids import ObjectId, ReplicaId
from vcrdt.objects import (
    MAX_TIMESTAMP,
    MAX_TZ_MINUTES,
    Blob,
    Commit,
    EntryKind,
    Signature,
    Tree,
    TreeEntry,
    decode_object,
)
from vcrdt.paths import check_component, decode, encode

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _is_valid_name(name: str) -> bool:
    try:
        check_component(name)
    except BadPathError:
        return False
    return True


oids = st.binary(min_size=32, max_size=32).filter(lambda b: b != bytes(32)).map(ObjectId)
replicas = st.text(alphabet="0123456789abcdef", min_size=32, max_size=32).map(ReplicaId)
# Names: unicode text, and arbitrary bytes (mostly not UTF-8) carried with surrogateescape.
names = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20),
    st.binary(min_size=1, max_size=20).map(decode),
    st.sampled_from(["a", "a.txt", "a b", "a-b", "\u00e9", "e\u0301", "\ue000", decode(b"\xff")]),
).filter(_is_valid_name)
entries = st.builds(TreeEntry, names, st.sampled_from(list(EntryKind)), oids)
trees = st.lists(entries, max_size=10, unique_by=lambda e: encode(e.name)).map(Tree.build)
header_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0<>\n"), max_size=20)
signatures = st.builds(
    Signature,
    header_text,
    header_text,
    st.integers(min_value=0, max_value=MAX_TIMESTAMP),
    st.integers(min_value=-MAX_TZ_MINUTES, max_value=MAX_TZ_MINUTES),
)
counts = st.integers(min_value=1, max_value=10**19 - 1)
clocks = st.dictionaries(replicas, counts, max_size=5).map(lambda d: tuple(sorted(d.items())))
messages = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=200)
commits = st.builds(
    Commit,
    oids,
    st.lists(oids, max_size=4, unique=True).map(tuple),
    signatures,
    messages,
    replicas,
    st.integers(min_value=0, max_value=10**19 - 1),
    clocks,
)
objects = st.one_of(st.binary(max_size=300).map(Blob), trees, commits)


# --- round trips ---------------------------------------------------------------------------


@SETTINGS
@given(st.binary(max_size=2000))
def test_blob_round_trip(data: bytes) -> None:
    assert Blob.from_bytes(Blob(data).to_bytes()) == Blob(data)


@SETTINGS
@given(trees)
def test_tree_round_trip(tree: Tree) -> None:
    body = tree.to_bytes()
    again = Tree.from_bytes(body)
    assert again == tree
    assert again.to_bytes() == body


@SETTINGS
@given(commits)
@example(
    Commit(
        ObjectId(b"\x01" * 32),
        (),
        Signature("", "", 0, -1),
        "",
        ReplicaId("0" * 32),
        0,
        (),
    )
)
def test_commit_round_trip(commit: Commit) -> None:
    body = commit.to_bytes()
    again = Commit.from_bytes(body)
    assert again == commit
    assert again.to_bytes() == body


@SETTINGS
@given(objects)
def test_id_is_sha256_of_header_and_body(obj: Blob | Tree | Commit) -> None:
    body = obj.to_bytes()
    assert obj.id == hashlib.sha256(f"{obj.kind} {len(body)}\0".encode() + body).digest()


@SETTINGS
@given(
    st.lists(entries, max_size=8, unique_by=lambda e: encode(e.name)).flatmap(
        lambda items: st.tuples(st.just(items), st.permutations(items))
    )
)
def test_tree_build_ignores_input_order(pair: tuple[list[TreeEntry], list[TreeEntry]]) -> None:
    items, shuffled = pair
    assert Tree.build(shuffled).to_bytes() == Tree.build(items).to_bytes()


@SETTINGS
@given(st.lists(st.text(max_size=6), max_size=5))
@example(["\udcc3\udca9", "\u00e9"])
@example(["\ud800"])
def test_tree_build_raises_only_corrupt_object_error(raw_names: list[str]) -> None:
    try:
        tree = Tree.build([TreeEntry(n, EntryKind.FILE, ObjectId(b"\x01" * 32)) for n in raw_names])
    except CorruptObjectError:
        return
    assert Tree.from_bytes(tree.to_bytes()) == tree


# --- decoders raise only VcrdtError, and whatever decodes is canonical --------------------------


def _mutate(data: bytes, ops: list[tuple[int, int, int]]) -> bytes:
    buf = bytearray(data)
    for op, pos, val in ops:
        if not buf:
            buf.append(val)
            continue
        i = pos % len(buf)
        if op == 0:
            buf[i] ^= val or 1  # flip some bits
        elif op == 1:
            buf.insert(i, val)
        else:
            del buf[i]
    return bytes(buf)


mutations = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=4)


def _decodes_canonically_or_raises_vcrdt_error(kind: str, data: bytes) -> None:
    try:
        decoded = decode_object(kind, data)
    except VcrdtError:
        return
    # Whatever decodes is canonical: it encodes back to the very same bytes.
    assert decoded.to_bytes() == data


@pytest.mark.hostile
@FUZZ
@given(st.one_of(trees, commits), mutations)
@example(Tree(()), [(1, 0, 0x20)])
def test_mutated_encodings_raise_only_vcrdt_errors(obj: Tree | Commit, ops: list[tuple[int, int, int]]) -> None:
    _decodes_canonically_or_raises_vcrdt_error(obj.kind, _mutate(obj.to_bytes(), ops))


@pytest.mark.hostile
@FUZZ
@given(st.sampled_from(["blob", "tree", "commit", "tag", ""]), st.binary(max_size=300))
def test_random_bytes_raise_only_vcrdt_errors(kind: str, data: bytes) -> None:
    _decodes_canonically_or_raises_vcrdt_error(kind, data)


# Tree-shaped noise: real and near-miss kind words, names of any bytes, ids of almost any length.
tree_noise = st.lists(
    st.tuples(
        st.sampled_from([b"file", b"exec", b"link", b"tree", b"blob", b"fil", b"", b"files"]),
        st.binary(max_size=12),
        st.one_of(st.binary(min_size=32, max_size=32), st.binary(max_size=40)),
    ),
    max_size=5,
).map(lambda items: b"".join(kind + b" " + name + b"\0" + oid for kind, name, oid in items))


@pytest.mark.hostile
@FUZZ
@given(tree_noise)
def test_tree_shaped_noise_raises_only_vcrdt_errors(data: bytes) -> None:
    _decodes_canonically_or_raises_vcrdt_error("tree", data)


# Commit-shaped noise: header lines with real and wrong field words and values.
field_values = st.one_of(
    st.sampled_from(["aa" * 32, "00" * 32, "AA" * 32, "1" * 32, "0", "01", "1", "-1", "+0100", "-0000", ""]),
    st.text(max_size=12),
)
commit_noise = st.tuples(
    st.lists(
        st.tuples(st.sampled_from(["tree", "parent", "author", "replica", "lamport", "clock", "x", ""]), field_values),
        max_size=8,
    ),
    st.text(max_size=20),
).map(lambda t: "".join(f"{k} {v}\n" for k, v in t[0]) + "\n" + t[1])


@pytest.mark.hostile
@FUZZ
@given(commit_noise)
def test_commit_shaped_noise_raises_only_vcrdt_errors(text: str) -> None:
    _decodes_canonically_or_raises_vcrdt_error("commit", text.encode("utf-8", "surrogatepass"))
