"""After random histories and a gc, everything reachable reads back, fsck is clean, and the garbage is gone.

The steps commit, branch, switch, reset, amend, tag and delete branches through
the CLI, so the undo log, sibling-free branch entries and tags all hold roots.
Then gc runs with a random expiry. Checked: every object reachable before gc
(from `vcrdt.porcelain.gc.roots` at that expiry) is still stored and decodes to
its id; with ``--prune=now`` nothing else is left; fsck (which walks refs and
the undo log on its own) is clean and, after ``--prune=now``, finds nothing
unreachable; and every branch and tag still shows the files the model says.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.helpers.cli import CliRunner
from vcrdt.hashing import object_id
from vcrdt.porcelain.gc import parse_expiry, reachable, roots
from vcrdt.repo import Repository, Settings

NAMES = ["a.txt", "b.txt", "d/c.txt"]
BRANCHES = ["main", "x", "y"]

step = st.one_of(
    st.tuples(st.just("commit"), st.sampled_from(NAMES), st.integers(0, 5)),
    st.tuples(st.just("branch"), st.sampled_from(BRANCHES)),
    st.tuples(st.just("switch"), st.sampled_from(BRANCHES)),
    st.tuples(st.just("reset"), st.integers(1, 3)),
    st.tuples(st.just("amend"), st.integers(0, 5)),
    st.tuples(st.just("tag"), st.sampled_from(["t1", "t2"])),
    st.tuples(st.just("delete"), st.sampled_from(BRANCHES)),
)


def _content(name: str, n: int) -> str:
    return f"{name} version {n}\n" * (3 + n * 7)


class Model:
    """The files each commit the steps made holds (what every ref must still show after gc)."""

    def __init__(self, cli: CliRunner) -> None:
        self.cli = cli
        self.files: dict[str, str] = {}
        self.commits: dict[str, dict[str, str]] = {}
        self.head: str | None = None

    def _commit(self, *args: str) -> None:
        r = self.cli(*args, "--json")
        if r.code == 0:
            self.head = json.loads(r.out)["id"]
            self.commits[self.head] = dict(self.files)

    def apply(self, s: tuple[object, ...]) -> None:
        kind = s[0]
        if kind == "commit" or (kind == "amend" and self.head is not None):
            name = str(s[1]) if kind == "commit" else "a.txt"
            n = int(str(s[-1]))
            self.cli.write(name, _content(name, n))
            self.files[name] = _content(name, n)
            self.cli.ok("add", name)
            if kind == "commit":
                self._commit("commit", "-m", f"{name} {n}")
            else:
                self._commit("commit", "--amend", "-m", f"amended {n}")
        elif kind in ("branch", "tag") and self.head is not None:
            self.cli(kind, str(s[1]))
        elif kind == "switch":
            if self.cli("switch", str(s[1])).code == 0:
                self._sync()
        elif kind == "reset" and self.head is not None:
            if self.cli("reset", "--hard", f"HEAD~{s[1]}").code == 0:
                self._sync()
        elif kind == "delete":
            self.cli("branch", "-D", str(s[1]))

    def _sync(self) -> None:
        doc = json.loads(self.cli.ok("status", "--json").out)
        self.head = doc["head"] or None
        self.files = dict(self.commits[self.head]) if self.head else {}


def _open(root: Path) -> Repository:
    return Repository.discover(root, Settings())


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=3, max_size=14), expiry=st.sampled_from(["now", "never", "2.weeks.ago"]))
# An amend leaves the first version of a.txt as the delta base of the second, which gc stores whole.
@example(steps=[("branch", "main"), ("commit", "a.txt", 1), ("amend", 2)], expiry="now")
def test_gc_keeps_every_reachable_object_and_drops_the_rest(
    monkeypatch: pytest.MonkeyPatch, steps: list[tuple[object, ...]], expiry: str
) -> None:
    monkeypatch.setenv("VCRDT_AUTHOR_NAME", "Ada")
    monkeypatch.setenv("VCRDT_AUTHOR_EMAIL", "ada@example.com")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cli = CliRunner(root)
        cli.ok("init")
        model = Model(cli)
        for s in steps:
            model.apply(s)
        with _open(root) as repo:
            with repo.db.read():
                keep = reachable(repo, roots(repo, parse_expiry(expiry, time.time())))
                stored_before = set(repo.store.iter_ids())
        refs_before = _refs(root)
        r = cli("gc", f"--prune={expiry}", "--json")
        assert r.code == 0, r.err
        with _open(root) as repo:
            stored = set(repo.store.iter_ids())
            for oid in keep & stored_before:
                kind, body = repo.store.get(oid)
                assert object_id(kind, body) == oid
            assert keep & stored_before <= stored
            if expiry == "now":
                assert stored == keep & stored_before
            elif expiry == "never":
                assert stored == stored_before
        assert _refs(root) == refs_before
        doc = json.loads(cli.ok("fsck", "--json").out)
        assert doc["problems"] == []
        if expiry == "now":
            assert doc["unreachable"] == 0
        for heads in refs_before.values():
            for head in heads:
                for name, content in model.commits[head].items():
                    assert cli.ok("cat", f"{head}:{name}").out == content


def _refs(root: Path) -> dict[str, frozenset[str]]:
    with _open(root) as repo:
        return {name: frozenset(h.hex() for h in heads) for name, heads in repo.refs.iter_refs()}
