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
    ("ref_entries", f"refs/heads/{ESC}[2Jentry", "contains a control character"),
    ("ref_entries", "refs/heads/../x", "contains '..'"),
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
        if table == "ref_entries":  # an entry with a dot of its own, which the context has seen
            db.execute("INSERT INTO ref_context(replica, counter) VALUES (?, 1)", ("ab" * 16,))
            db.execute(
                "INSERT INTO ref_entries(replica, counter, name, head) VALUES (?, 1, ?, ?)",
                ("ab" * 16, name, bytes.fromhex(head)),
            )
        else:
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


# Entries and context rows that break the ref state's rules: (statements, the rule named)
BAD_STATES = {
    "dot-not-in-context": (
        ["INSERT INTO ref_entries(replica, counter, name, head) VALUES ('{r}', 5, 'refs/heads/x', X'{h}')"],
        "branch 'x' has a dot its context lacks",
    ),
    "counter-zero": (
        [
            "INSERT INTO ref_context(replica, counter) VALUES ('{r}', 1)",
            "INSERT INTO ref_entries(replica, counter, name, head) VALUES ('{r}', 0, 'refs/heads/x', X'{h}')",
        ],
        "branch 'x' has a malformed entry",
    ),
    "replica-not-hex": (
        ["INSERT INTO ref_context(replica, counter) VALUES ('not a replica id', 3)"],
        "malformed context",
    ),
    "context-counter-negative": (
        ["INSERT INTO ref_context(replica, counter) VALUES ('{r}', -1)"],
        "malformed context",
    ),
}


@pytest.mark.hostile
@pytest.mark.parametrize("case", sorted(BAD_STATES))
def test_fetch_refuses_a_bad_ref_state(pair: tuple[CliRunner, CliRunner, str], case: str) -> None:
    src, victim, head = pair
    statements, rule = BAD_STATES[case]
    db = sqlite3.connect(src.cwd / ".vcrdt" / "store.db")
    with db:
        for st in statements:
            db.execute(st.format(r="cd" * 16, h=head))
    db.close()
    before = _state(victim)
    r = victim("fetch", "../src")
    assert r.code == 1, r
    assert r.err.splitlines()[0] == f"error: corrupt object ref state: {rule}"
    assert _state(victim) == before
    assert json.loads(victim.ok("fsck", "--json").out)["problems"] == []


def test_fetch_with_good_names_still_works(pair: tuple[CliRunner, CliRunner, str]) -> None:
    src, victim, _ = pair
    src.ok("branch", "feature/ünïcode")
    r = victim.ok("fetch", "../src")
    assert "  feature/ünïcode: new at" in r.out
    assert "  tag v1: new" in r.out
