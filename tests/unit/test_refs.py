from __future__ import annotations

from pathlib import Path

import pytest

from vcrdt.errors import BadRefNameError, RefError, RefNotFoundError, StaleRefError
from vcrdt.ids import ObjectId
from vcrdt.refs import RefStore, check_full_name, check_short_name
from vcrdt.store.db import Database

A = ObjectId(b"\x0a" * 32)
B = ObjectId(b"\x0b" * 32)


@pytest.fixture
def refs(tmp_path: Path) -> RefStore:
    db = Database(tmp_path / "db", create=True)
    db.set_meta("HEAD", "ref: refs/heads/main")
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
