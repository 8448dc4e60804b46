"""Laws of the object encoding: round trips, canonical form, and parsers that raise only VcrdtError."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from vcrdt.errors import VcrdtError
from vcrdt.ids import ObjectId, ReplicaId
from vcrdt.objects import Blob, Commit, EntryKind, Signature, Tree, TreeEntry, decode_object
from vcrdt.paths import decode, is_meta_alias

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

oids = st.binary(min_size=32, max_size=32).filter(lambda b: b != bytes(32)).map(ObjectId)
replicas = st.text(alphabet="0123456789abcdef", min_size=32, max_size=32).map(ReplicaId)
names = (
    st.binary(min_size=1, max_size=40)
    .filter(lambda b: b"/" not in b and b"\0" not in b and b"\\" not in b and b not in (b".", b".."))
    .map(decode)
    .filter(lambda n: not is_meta_alias(n))
)
entries = st.builds(TreeEntry, names, st.sampled_from(list(EntryKind)), oids)
trees = st.lists(entries, max_size=12, unique_by=lambda e: e.name).map(Tree.build)
safe_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0<>\n"), max_size=30)
signatures = st.builds(
    Signature,
    safe_text,
    safe_text,
    st.integers(min_value=0, max_value=2**40),
    st.integers(min_value=-14 * 60, max_value=14 * 60),
)
clocks = st.dictionaries(replicas, st.integers(min_value=1, max_value=10**9), max_size=5).map(
    lambda d: tuple(sorted(d.items()))
)
commits = st.builds(
    Commit,
    oids,
    st.lists(oids, max_size=4, unique=True).map(tuple),
    signatures,
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=200),
    replicas,
    st.integers(min_value=0, max_value=10**12),
    clocks,
)


@SETTINGS
@given(st.binary(max_size=2000))
def test_blob_round_trip(data: bytes) -> None:
    assert Blob.from_bytes(Blob(data).to_bytes()) == Blob(data)


@SETTINGS
@given(trees)
def test_tree_round_trip(tree: Tree) -> None:
    assert Tree.from_bytes(tree.to_bytes()) == tree


@SETTINGS
@given(commits)
def test_commit_round_trip(commit: Commit) -> None:
    assert Commit.from_bytes(commit.to_bytes()) == commit


def _mutate(data: bytes, ops: list[tuple[int, int, int]]) -> bytes:
    buf = bytearray(data)
    for op, pos, val in ops:
        if not buf:
            buf.append(val)
            continue
        i = pos % len(buf)
        if op == 0:
            buf[i] ^= val or 1
        elif op == 1:
            buf.insert(i, val)
        else:
            del buf[i]
    return bytes(buf)


mutations = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=4)


@SETTINGS
@given(st.one_of(trees, commits), mutations)
@example(Tree(()), [(1, 0, 0x20)])
def test_mutated_objects_raise_only_vcrdt_errors(obj: Tree | Commit, ops: list[tuple[int, int, int]]) -> None:
    kind = obj.kind
    data = _mutate(obj.to_bytes(), ops)
    try:
        decoded = decode_object(kind, data)
    except VcrdtError:
        return
    # Whatever decodes is canonical: it encodes back to the same bytes.
    assert decoded.to_bytes() == data


@SETTINGS
@given(st.sampled_from(["blob", "tree", "commit", "tag", ""]), st.binary(max_size=300))
def test_random_bytes_raise_only_vcrdt_errors(kind: str, data: bytes) -> None:
    try:
        decoded = decode_object(kind, data)
    except VcrdtError:
        return
    assert decoded.to_bytes() == data
