from __future__ import annotations

from pathlib import Path

import pytest

from vcrdt.errors import BadRefNameError, RefError, RefNotFoundError, StaleRefError
from vcrdt.ids import ObjectId
from vcrdt.refs import RefStore, check_full_name, check_short_name
from vcrdt.store.db import Database

A = ObjectId(b"\x0a" * 32)
B = ObjectId(b"\x0b" * 32)
ME = "ab" * 16


@pytest.fixture
def refs(tmp_path: Path) -> RefStore:
    db = Database(tmp_path / "db", create=True)
    db.set_meta("HEAD", "ref: refs/heads/main")
    db.set_meta("replica", ME)
    return RefStore(db)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "-x",
        "a..b",
        "a.lock",
        "a/.hidden",
        "a b",
        "a~1",
        "a^",
        "a:b",
        "a?",
        "a*",
        "a[",
        "a\\b",
        "x/",
        "/x",
        "a//b",
        "x.",
        "HEAD",
        "@",
        "a@{1}",
        "ab" * 32,
        "a\x1bb",
        "a\nb",
        "a\x07",
        "a\x7f",
        "x\x9b2J",
        "a\u202eb",
        "caf\udce9",
    ],
)
def test_bad_names(name: str) -> None:
    with pytest.raises(BadRefNameError):
        check_short_name(name)


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("refs/heads/a\x1b[2J", "contains a control character"),
        ("refs/tags/-x", "must not start with '-'"),
        ("refs/heads/HEAD", "'HEAD' is reserved"),
        ("HEAD", "not under refs/heads/ or refs/tags/"),
        ("refs/heads", "not under refs/heads/ or refs/tags/"),
        ("refs/notes/x", "not under refs/heads/ or refs/tags/"),
    ],
)
def test_bad_full_names(name: str, rule: str) -> None:
    with pytest.raises(BadRefNameError) as caught:
        check_full_name(name)
    assert caught.value.rule == rule


@pytest.mark.parametrize("name", ["main", "feature/x", "v1.0", "fix-123", "ünïcode"])
def test_good_names(name: str) -> None:
    assert check_short_name(name) == name


def test_update_and_cas(refs: RefStore) -> None:
    refs.update("refs/heads/main", A, expected=None)
    assert refs.get("refs/heads/main") == A
    with pytest.raises(StaleRefError, match="expected"):
        refs.update("refs/heads/main", B, expected=B)
    refs.update("refs/heads/main", B, expected=A)
    assert refs.head().commit == B
    assert refs.head().branch == "refs/heads/main"


def test_multi_value_register(refs: RefStore) -> None:
    with refs.db.write() as conn:
        conn.execute("INSERT INTO refs(name, head) VALUES ('refs/heads/x', ?), ('refs/heads/x', ?)", (A, B))
    assert refs.heads("refs/heads/x") == {A, B}
    with pytest.raises(RefError, match="2 concurrent heads"):
        refs.get("refs/heads/x")


def test_delete_rename_iter(refs: RefStore) -> None:
    refs.update("refs/heads/a", A)
    refs.update("refs/tags/t", B)
    refs.rename("refs/heads/a", "refs/heads/b")
    assert list(refs.iter_refs("refs/heads/")) == [("refs/heads/b", frozenset({A}))]
    refs.delete("refs/heads/b")
    with pytest.raises(RefNotFoundError):
        refs.delete("refs/heads/b")
    assert refs.all_heads() == {B}


def test_detached_head(refs: RefStore) -> None:
    refs.set_head_detached(A)
    assert refs.head().branch is None
    assert refs.head().commit == A


def test_each_move_of_a_branch_takes_a_new_dot(refs: RefStore) -> None:
    refs.update("refs/heads/f", A, expected=None)
    assert refs.iter_entries() == [("refs/heads/f", A, ME, 1)]
    refs.update("refs/heads/f", B, expected=A)  # the entry of A is replaced: its dot stays seen
    assert refs.iter_entries() == [("refs/heads/f", B, ME, 2)]
    assert refs.context() == {ME: 2}
    refs.update("refs/tags/t", A)  # tags are not part of the branch state
    assert refs.context() == {ME: 2}


def test_deletion_leaves_tombstones_a_recreation_does_not_clear(refs: RefStore) -> None:
    refs.update("refs/heads/f", A, expected=None)
    refs.delete("refs/heads/f")
    assert refs.iter_entries() == [] and refs.context() == {ME: 1}
    refs.update("refs/heads/f", A, expected=None)  # the same head again: a new dot
    assert refs.iter_entries() == [("refs/heads/f", A, ME, 2)]
    assert refs.context() == {ME: 2}


def test_rename_deletes_the_old_entries_and_makes_new_ones(refs: RefStore) -> None:
    refs.update("refs/heads/a", A, expected=None)
    refs.rename("refs/heads/a", "refs/heads/b")
    assert refs.iter_entries() == [("refs/heads/b", A, ME, 2)]


def test_an_advance_keeps_the_siblings_entries(refs: RefStore) -> None:
    refs.update("refs/heads/f", A, expected=None)
    other = "cd" * 16
    refs.join_context({other: 4})
    refs.set_state("refs/heads/f", frozenset({A, B}), frozenset({(A, ME, 1), (B, other, 4)}))
    C = ObjectId(b"\x0c" * 32)
    refs.update("refs/heads/f", C, expected=A)
    assert refs.heads("refs/heads/f") == {B, C}
    assert refs.iter_entries() == [("refs/heads/f", C, ME, 2), ("refs/heads/f", B, other, 4)]
    assert refs.context() == {ME: 2, other: 4}
