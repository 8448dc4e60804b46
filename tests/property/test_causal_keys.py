"""Causal precedence per JSON key: a value written after seeing another wins over it, key by key.

Whole-path causality (`test_causal_wins.py`) is not enough when each side also
changed other keys of the same document: then neither side's version of the
file as a whole was written after seeing the other's, yet one key's value was.
Here a head W writes ``v1`` to a key; W's line is then joined (``merge
--auto``) with a concurrent head that changed *another* key, so the document
it carries was made by a merge; a head V made on top of W replaces ``v1`` by
``v2`` (a value, a deletion, a nested object or array); and heads concurrent
with all of it change other files. Joining every head, in any order, must keep
``v2`` for the key, whatever the tie-break order says; the other keys keep the
changes only one side made.
"""

from __future__ import annotations

import itertools
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.helpers.convergence import run
from vcrdt import porcelain
from vcrdt.ids import ObjectId
from vcrdt.repo import Repository, Settings

SETTINGS = Settings(author_name="Rep", author_email="rep@example.com")
POLICY = "*.json json\n"
BASE = {"k0": 0, "k1": 0, "k2": {"a": 0, "b": 0}}
# (key path, v1, v2): v2 replaces v1 after seeing it; None as v2 deletes the key.
CASES: list[tuple[tuple[str, ...], object, object]] = [
    (("k0",), "w", "v"),
    (("k0",), "w", None),
    (("k0",), [1, 2], [2]),
    (("k0",), {"x": 1}, "v"),
    (("k2", "a"), "w", "v"),
    (("k2", "a"), "w", None),
]

# Seed 118 of the convergence driver, shrunk: replica 2 writes k0, replica 3 deletes k1 and joins
# that write into its line, replica 0 overwrites k0 after seeing it, and replica 4's unrelated
# commit makes the final join fold all three against the first commit.
SEED_118 = [
    ("add", 4, 0, 3, True),
    ("json", 3, 1, 3, True),
    ("json", 2, 0, 3, False),
    ("fetch", 0, 2),
    ("fetch", 3, 0),
    ("text", 3, 3, 0, False),
    ("json", 0, 0, 2, False),
]


def test_a_key_overwritten_after_a_merge_keeps_the_later_value() -> None:
    run(SEED_118, 5)


def _write(root: Path, doc: dict[str, object]) -> None:
    (root / "c.json").write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")


def _set(doc: dict[str, object], keys: tuple[str, ...], value: object) -> dict[str, object]:
    out = json.loads(json.dumps(doc))
    inner = out
    for k in keys[:-1]:
        inner = inner[k]
    if value is None:
        inner.pop(keys[-1], None)
    else:
        inner[keys[-1]] = value
    return out


def _commit(repo: Repository, root: Path, doc: dict[str, object] | None, message: str, **files: str) -> ObjectId:
    if doc is not None:
        _write(root, doc)
    for name, text in files.items():
        (root / name).write_text(text)
    return porcelain.commit(repo, message, addremove=True).oid


def _doc(root: Path) -> dict[str, object]:
    loaded = json.loads((root / "c.json").read_text())
    assert isinstance(loaded, dict)
    return loaded


def _heads_to_join(
    repo: Repository,
    root: Path,
    start: ObjectId,
    other: ObjectId,
    w: ObjectId,
    v: ObjectId,
    other_first: bool,
    more: int,
    others: list[int],
) -> list[ObjectId]:
    """W's line (W joined with `other` by merge --auto, then `more` commits), V, and heads concurrent with all."""
    porcelain.switch(repo, (other if other_first else w).hex(), detach=True)
    porcelain.merge(repo, (w if other_first else other).hex(), auto=True)
    line = repo.refs.head().commit
    assert line is not None
    for n in range(more):
        line = _commit(repo, root, None, "more on v1's line", **{f"more{n}": f"{n}\n"})
    return [line, v, *(_chain(repo, root, start, count, f"other{k}") for k, count in enumerate(others))]


def _base_other_v1_v2(
    repo: Repository, root: Path, keys: tuple[str, ...], v1: object, v2: object
) -> tuple[ObjectId, ObjectId, ObjectId, ObjectId, dict[str, object]]:
    """The base; a concurrent change of another key (to be joined into W's line); W writing v1;
    V on top of W replacing v1 after seeing it (and V's document)."""
    start = _commit(repo, root, BASE, "base", **{".vcrdtattributes": POLICY, "o.txt": "o\n"})
    other = _commit(repo, root, _set(BASE, ("k1",), "other"), "another key")
    porcelain.switch(repo, start.hex(), detach=True)
    w = _commit(repo, root, _set(BASE, keys, v1), "v1")
    v_doc = _set(_doc(root), keys, v2)
    v = _commit(repo, root, v_doc, "v2 after seeing v1")
    return start, other, w, v, v_doc


@settings(max_examples=16, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(CASES),
    st.integers(0, 2),
    st.booleans(),
    st.lists(st.integers(1, 3), min_size=1, max_size=2),
)
def test_the_value_that_saw_the_other_wins_per_key(
    case: tuple[tuple[str, ...], object, object], more: int, other_key_first: bool, others: list[int]
) -> None:
    keys, v1, v2 = case
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "r"
        porcelain.init(root, SETTINGS)
        with Repository.discover(root, SETTINGS) as repo:
            start, other, w, v, v_doc = _base_other_v1_v2(repo, root, keys, v1, v2)
            # W's line: joined with the other key's change (a merge makes its document), then more commits.
            heads = _heads_to_join(repo, root, start, other, w, v, other_key_first, more, others)
            expected = _set(v_doc, ("k1",), "other")
            results = []
            for order in itertools.islice(itertools.permutations(heads), 6):
                porcelain.switch(repo, order[0].hex(), detach=True)
                for h in order[1:]:
                    porcelain.merge(repo, h.hex(), auto=True)
                results.append((root / "c.json").read_bytes())
            assert len(set(results)) == 1, "joining the same heads in another order gave other bytes"
            assert json.loads(results[0]) == expected


LINES_BASE = "".join(f"line {i}\n" for i in range(6))
# (file, v1, v2): whole texts; v1 changes the second line's region, v2 replaces that change after seeing it.
LINE_CASES = [
    ("f.lww", LINES_BASE.replace("line 1\n", "w\n"), LINES_BASE.replace("line 1\n", "v\n")),
    ("f.txt", LINES_BASE.replace("line 1\n", "line 1\nnew\n"), LINES_BASE),
    ("f.txt", LINES_BASE.replace("line 1\n", "line 1\nnew\n"), LINES_BASE.replace("line 1\n", "line 1\nnewer\n")),
    ("f.set", LINES_BASE + "z\n", LINES_BASE),
]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(LINE_CASES), st.integers(0, 2), st.booleans(), st.lists(st.integers(1, 3), min_size=1, max_size=2)
)
def test_the_lines_that_saw_the_others_win_per_region(
    case: tuple[str, str, str], more: int, other_first: bool, others: list[int]
) -> None:
    name, v1, v2 = case
    other_text = LINES_BASE.replace("line 4\n", "other\n")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "r"
        porcelain.init(root, SETTINGS)
        with Repository.discover(root, SETTINGS) as repo:
            policy = "*.lww lww\n*.txt union\n*.set set\n"
            start = _commit(repo, root, None, "base", **{".vcrdtattributes": policy, name: LINES_BASE, "o.md": "o\n"})
            # A concurrent change of another region, to be joined into W's line.
            other = _commit(repo, root, None, "another region", **{name: other_text})
            porcelain.switch(repo, start.hex(), detach=True)
            w = _commit(repo, root, None, "v1", **{name: v1})
            v = _commit(repo, root, None, "v2 after seeing v1", **{name: v2})
            heads = _heads_to_join(repo, root, start, other, w, v, other_first, more, others)
            results = set()
            for order in itertools.islice(itertools.permutations(heads), 6):
                porcelain.switch(repo, order[0].hex(), detach=True)
                for h in order[1:]:
                    porcelain.merge(repo, h.hex(), auto=True)
                results.add((root / name).read_text())
            assert results == {v2.replace("line 4\n", "other\n")}


def _chain(repo: Repository, root: Path, start: ObjectId, count: int, tag: str, **files: str) -> ObjectId:
    """`count` commits of a file of its own on top of `start`, then one writing `files` (if any)."""
    porcelain.switch(repo, start.hex(), detach=True)
    head = start
    for n in range(count):
        head = _commit(repo, root, None, f"{tag} {n}", **{f"{tag}.pad": f"{n}\n"})
    return _commit(repo, root, None, f"{tag} writes", **files) if files else head


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(0, 3), min_size=6, max_size=6), st.booleans())
# Clocks where the virtual base and T keep "a" while J keeps "b" (seed 101's second shape).
@example([1, 0, 1, 0, 1, 0], True)
def test_a_value_overwritten_by_a_write_loses_to_one_a_merge_only_passed_over(pads: list[int], hidden: bool) -> None:
    # Seed 101 of the convergence driver, shrunk: "b" is overwritten by "c" (C saw it); a merge J
    # joins "a" with "b" and keeps "b" by the tie-break; a head T keeps "a". T and C are folded first,
    # and their merge bases with J hold "a" and "b": J saw "a" but only passed over it, C wrote
    # after seeing "b". Whatever the clocks (the tie-break), the result is "a" or "c", never "b".
    # With `hidden`, C is no head of its own: T joins it, and its tie-break may keep "a" over "c".
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "r"
        porcelain.init(root, SETTINGS)
        with Repository.discover(root, SETTINGS) as repo:
            start = _commit(repo, root, None, "base", **{".vcrdtattributes": "*.lww lww\n", "l.lww": "port=0\n"})
            a = _chain(repo, root, start, pads[0], "a", **{"l.lww": "port=a\n"})
            b = _chain(repo, root, start, pads[1], "b", **{"l.lww": "port=b\n"})
            b_more = _chain(repo, root, b, 1 + pads[2], "bm")
            porcelain.switch(repo, a.hex(), detach=True)
            porcelain.merge(repo, b_more.hex(), auto=True)
            joined = repo.refs.head().commit
            assert joined is not None
            j = _chain(repo, root, joined, 1 + pads[3], "j")
            t = _chain(repo, root, a, 1 + pads[4], "t")
            c = _chain(repo, root, b, pads[5], "c", **{"l.lww": "port=c\n"})
            heads = [j, t, c]
            if hidden:
                porcelain.switch(repo, t.hex(), detach=True)
                porcelain.merge(repo, c.hex(), auto=True)
                t_joined = repo.refs.head().commit
                assert t_joined is not None
                heads = [j, _chain(repo, root, t_joined, 1, "tj")]
            results = set()
            for order in itertools.permutations(heads):
                porcelain.switch(repo, order[0].hex(), detach=True)
                for h in order[1:]:
                    porcelain.merge(repo, h.hex(), auto=True)
                results.add((root / "l.lww").read_text())
            assert len(results) == 1, "joining the same heads in another order gave other bytes"
            assert results <= {"port=a\n", "port=c\n"}


def _key(doc: object, keys: tuple[str, ...]) -> object:
    for k in keys:
        if not isinstance(doc, dict) or k not in doc:
            return None
        doc = doc[k]
    return doc


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(CASES), st.integers(0, 2), st.permutations(range(3)))
def test_an_ordinary_crdt_merge_keeps_the_later_value_per_key(
    case: tuple[tuple[str, ...], object, object], more: int, order: list[int]
) -> None:
    """`merge REV --crdt` (not --auto), one head after another: the value written after seeing v1 stays."""
    keys, v1, v2 = case
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "r"
        porcelain.init(root, SETTINGS)
        with Repository.discover(root, SETTINGS) as repo:
            start, other, w, v, _ = _base_other_v1_v2(repo, root, keys, v1, v2)
            porcelain.switch(repo, w.hex(), detach=True)
            porcelain.merge(repo, other.hex(), on_conflict="crdt")
            line = repo.refs.head().commit
            assert line is not None
            for n in range(more):
                line = _commit(repo, root, None, "more on v1's line", **{f"more{n}": f"{n}\n"})
            concurrent = _chain(repo, root, start, 1, "concurrent")
            heads = [[line, v, concurrent][i] for i in order]
            porcelain.switch(repo, heads[0].hex(), detach=True)
            for h in heads[1:]:
                porcelain.merge(repo, h.hex(), on_conflict="crdt")
            assert _key(_doc(root), keys) == v2
            assert _doc(root)["k1"] == "other"
