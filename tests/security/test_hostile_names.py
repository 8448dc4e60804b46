"""Ref names from another replica are held to the local ref-name rules: a bad one refuses the whole fetch.

Each case builds a source replica with one hostile name written straight into
its database (the `refs` or `ref_tombstones` table, as a hostile peer could),
then fetches it: exit 1, one line naming the ref (quoted: no raw control
character reaches either stream) and the rule, nothing stored, refs unchanged,
fsck clean.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner

ESC, BEL = "\x1b", "\x07"

# (table, the name as stored, the rule the error must name)
CASES = [
    ("refs", f"refs/heads/{ESC}[2J{ESC}]0;owned{BEL}evil\nfake-line", "contains a control character"),
    ("refs", f"refs/tags/{ESC}[31mRED", "contains a control character"),
    ("refs", "refs/heads/x\u009b2J", "contains a control character"),
    ("refs", "refs/heads/a\u202egnp.exe", "contains a control character"),
    ("refs", "refs/heads/tab\there", "contains a control character"),
    ("refs", "refs/heads/-rf", "must not start with '-'"),
    ("refs", "refs/tags/-rf", "must not start with '-'"),
    ("refs", "refs/heads/HEAD", "'HEAD' is reserved"),
    ("refs", "refs/heads/../../x", "contains '..'"),
    ("refs", "refs/heads/a.lock", "component ends with '.lock'"),
    ("refs", "refs/heads/x/.hidden", "component starts with '.'"),
    ("refs", "refs/heads/a@{1}", "contains '@{'"),
    ("refs", "refs/heads/a b", "contains a space or one of ~ ^ : ? * [ \\"),
    ("refs", "refs/heads/", "empty name"),
    ("refs", "refs/heads//x", "empty path component"),
    ("refs", "HEAD", "not under refs/heads/ or refs/tags/"),
    ("refs", "-rf", "not under refs/heads/ or refs/tags/"),
    ("refs", "../../x", "not under refs/heads/ or refs/tags/"),
    ("refs", "refs/remotes/x", "not under refs/heads/ or refs/tags/"),
    ("ref_tombstones", f"refs/heads/{ESC}[2Jgone", "contains a control character"),
    ("ref_tombstones", "refs/heads/-rf", "must not start with '-'"),
]


def _replica(root: Path) -> CliRunner:
    r = CliRunner(root)
    root.mkdir()
    r.ok("init")
    return r


def _state(r: CliRunner) -> tuple[object, object]:
    return json.loads(r.ok("branch", "--json").out), json.loads(r.ok("tag", "--json").out)


@pytest.fixture
def pair(cli: CliRunner) -> tuple[CliRunner, CliRunner, str]:
    """A source replica with one commit (on main and a good tag) and a victim with a commit of its own."""
    src = _replica(cli.cwd / "src")
    src.write("a.txt", "from the source\n")
    src.ok("commit", "-A", "-m", "source")
    src.ok("tag", "v1")
    head = json.loads(src.ok("log", "--json", "-n", "1").out)[0]["id"]
    victim = _replica(cli.cwd / "victim")
    victim.write("b.txt", "the victim's\n")
    victim.ok("commit", "-A", "-m", "victim")
    return src, victim, head


def _insert(src: CliRunner, table: str, name: str, head: str) -> None:
    db = sqlite3.connect(src.cwd / ".vcrdt" / "store.db")
    with db:
        db.execute(f"INSERT INTO {table}(name, head) VALUES (?, ?)", (name, bytes.fromhex(head)))
    db.close()


def _assert_refused(victim: CliRunner, shown: str, rule: str) -> None:
    before = _state(victim)
    objects = json.loads(victim.ok("fsck", "--json").out)["objects"]
    r = victim("fetch", "../src")
    assert r.code == 1, r
    assert r.out == ""
    lines = r.err.splitlines()
    assert lines[0] == f"error: invalid ref name {shown}: {rule}", r.err
    assert lines[1:] == ["hint: the other replica has a ref this one does not accept; nothing was fetched"]
    for raw in (ESC, BEL, "\x9b", "\u202e", "\t"):
        assert raw not in r.err
    assert _state(victim) == before
    fsck = json.loads(victim.ok("fsck", "--json").out)
    assert fsck["problems"] == []
    assert fsck["objects"] == objects  # nothing stored


@pytest.mark.hostile
@pytest.mark.parametrize(("table", "name", "rule"), CASES, ids=[repr(c[1]) + "@" + c[0] for c in CASES])
def test_fetch_refuses_a_bad_ref_name(pair: tuple[CliRunner, CliRunner, str], table: str, name: str, rule: str) -> None:
    src, victim, head = pair
    _insert(src, table, name, head)
    _assert_refused(victim, repr(name), rule)


@pytest.mark.hostile
def test_fetch_refuses_a_ref_name_that_is_not_utf8(pair: tuple[CliRunner, CliRunner, str]) -> None:
    src, victim, head = pair
    db = sqlite3.connect(src.cwd / ".vcrdt" / "store.db")
    with db:
        db.execute(
            "INSERT INTO refs(name, head) VALUES (CAST(? AS TEXT), ?)", (b"refs/heads/caf\xe9", bytes.fromhex(head))
        )
    db.close()
    _assert_refused(victim, repr("refs/heads/caf\udce9"), "not valid UTF-8")


@pytest.mark.hostile
def test_fetch_refuses_a_ref_name_stored_as_a_blob(pair: tuple[CliRunner, CliRunner, str]) -> None:
    src, victim, head = pair
    db = sqlite3.connect(src.cwd / ".vcrdt" / "store.db")
    with db:
        db.execute("INSERT INTO refs(name, head) VALUES (?, ?)", (b"refs/heads/x", bytes.fromhex(head)))
    db.close()
    _assert_refused(victim, "'refs/heads/x'", "stored as blob, not text")


def test_fetch_with_good_names_still_works(pair: tuple[CliRunner, CliRunner, str]) -> None:
    src, victim, _ = pair
    src.ok("branch", "feature/ünïcode")
    r = victim.ok("fetch", "../src")
    assert "  feature/ünïcode: new at" in r.out
    assert "  tag v1: new" in r.out
