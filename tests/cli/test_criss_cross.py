"""Convergence on criss-cross histories: rules over a clean virtual base, and causally later versions win.

Three replicas a, b and c share a base commit. The histories criss-cross:
c joins a's and b's concurrent edits, a joins them too and then writes again,
and each later fetches the other's merge. Every replica must end on the same
commit, with the value written last (in causal order), whatever the
tie-break order of the replicas' random ids says.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner

MARKERS = ("<<<<<<<", "=======", ">>>>>>>")


def _replica(root: Path, name: str) -> CliRunner:
    r = CliRunner(root / name)
    r.cwd.mkdir()
    r.ok("init")
    return r


def _head(r: CliRunner) -> str:
    return str(json.loads(r.ok("log", "--json", "-n", "1").out)[0]["id"])


def _heads(r: CliRunner) -> list[str]:
    (main,) = (b for b in json.loads(r.ok("branch", "--json").out) if b["name"] == "main")
    return sorted(main["heads"])


def _commit(r: CliRunner, files: dict[str, str], message: str) -> None:
    for name, text in files.items():
        r.write(name, text)
    r.ok("commit", "-A", "-m", message)


def _trio(cli: CliRunner, policy: str, files: dict[str, str]) -> tuple[CliRunner, CliRunner, CliRunner]:
    a, b, c = (_replica(cli.cwd, n) for n in "abc")
    _commit(a, {".vcrdtattributes": policy, "other.txt": "other\n", **files}, "base")
    b.ok("fetch", "../a")
    c.ok("fetch", "../a")
    return a, b, c


def _criss_cross(
    cli: CliRunner, policy: str, name: str, value: Callable[[int], str], after_join: Callable[[CliRunner], None]
) -> tuple[CliRunner, CliRunner, CliRunner]:
    """Issue 11's reproduction: concurrent values 2 and 3 joined on two replicas, then `after_join` on a."""
    a, b, c = _trio(cli, policy, {name: value(1)})
    _commit(a, {"a.txt": "a\n"}, "unrelated on a")
    _commit(a, {name: value(2)}, "port 2")
    _commit(b, {"b.txt": "b\n"}, "unrelated on b")
    _commit(b, {name: value(3)}, "port 3")
    _commit(c, {"other.txt": "changed on c\n"}, "other file on c")
    c.ok("fetch", "../a")
    c.ok("fetch", "../b")
    c.ok("merge", "--auto")
    a.ok("fetch", "../b")
    a.ok("merge", "--auto")
    after_join(a)
    a.ok("fetch", "../c")
    a.ok("merge", "--auto")
    c.ok("fetch", "../a")
    if len(_heads(c)) > 1:
        c.ok("merge", "--auto")
    return a, b, c


def _write_9(name: str, value: Callable[[int], str]) -> Callable[[CliRunner], None]:
    def step(a: CliRunner) -> None:
        _commit(a, {name: value(9)}, "port 9")

    return step


def _json(n: int) -> str:
    return json.dumps({"port": n}) + "\n"


def _lww(n: int) -> str:
    return f"port={n}\n"


def test_json_rule_merges_over_a_virtual_base_without_markers(cli: CliRunner) -> None:
    """Failure 1: the bases of a9 and c's fold are a2 and b3; their virtual base must be valid JSON."""
    a, _, c = _criss_cross(cli, "*.json json\n", "cfg.json", _json, _write_9("cfg.json", _json))
    assert _head(a) == _head(c) and _heads(a) == _heads(c) == [_head(a)]
    for r in (a, c):
        assert json.loads((r.cwd / "cfg.json").read_text()) == {"port": 9}
        r.ok("fsck")


def test_lww_keeps_the_value_written_after_both_concurrent_ones(cli: CliRunner) -> None:
    """Failure 2: a wrote port=9 after seeing 2 and 3; no tie-break may bring 3 back."""
    a, _, c = _criss_cross(cli, "*.lww lww\n", "cfg.lww", _lww, _write_9("cfg.lww", _lww))
    assert _head(a) == _head(c)
    for r in (a, c):
        assert (r.cwd / "cfg.lww").read_text() == "port=9\n"
    lost = json.dumps(json.loads(a.ok("conflicts", "--auto", "--json").out))
    assert "port=9" not in lost


@pytest.mark.parametrize(
    ("policy", "name", "value"), [("*.lww lww\n", "cfg.lww", _lww), ("*.json json\n", "cfg.json", _json)]
)
def test_a_value_chosen_by_a_person_after_the_join_stays(
    cli: CliRunner, policy: str, name: str, value: Callable[[int], str]
) -> None:
    """A person reopens the rule's choice on a and takes the other value: later syncs keep it."""
    chosen: list[str] = []

    def overrule(a: CliRunner) -> None:
        kept = (a.cwd / name).read_text()
        other = value(2) if kept == value(3) else value(3)
        a.ok("reopen", name)
        a.write(name, other)
        a.ok("resolve", name)
        a.ok("commit", "-m", "a person picks the other value")
        chosen.append(other)

    a, _, c = _criss_cross(cli, policy, name, value, overrule)
    assert _head(a) == _head(c)
    for r in (a, c):
        assert (r.cwd / name).read_text() == chosen[0]
        assert not any(m in (r.cwd / name).read_text() for m in MARKERS)


# A value written after seeing another, on a replica whose tie-break key is the earlier one: a
# writes v1; b fetches it and writes v2; a then commits three more times (its Lamport clock passes
# b's); c made an unrelated commit. Joining all three on c must keep b's v2 whatever the clocks say.
CAUSAL_CASES = [
    pytest.param("*.lww lww\n", "cfg.lww", "port=1\n", "port=2\n", "port=3\n", "port=3\n", id="lww"),
    pytest.param(
        "*.txt union\n", "list.txt", "one\ntwo\n", "one\ninserted\ntwo\n", "one\ntwo\n", "one\ntwo\n", id="union-delete"
    ),
    pytest.param("*.set set\n", "deps.set", "x\ny\n", "x\ny\nz\n", "x\nz\n", "x\nz\n", id="set-delete"),
    pytest.param(
        "*.json json\n",
        "cfg.json",
        '{"port": 1}\n',
        '{"port": 1, "debug": true}\n',
        '{"port": 1}\n',
        {"port": 1},
        id="json-delete",
    ),
    pytest.param(
        "*.json json\n", "cfg.json", '{"port": 1}\n', '{"port": 2}\n', '{"port": 3}\n', {"port": 3}, id="json-set"
    ),
]


@pytest.mark.parametrize(("policy", "name", "v0", "v1", "v2", "want"), CAUSAL_CASES)
def test_a_version_that_saw_another_wins_over_it(
    cli: CliRunner, policy: str, name: str, v0: str, v1: str, v2: str, want: str | dict[str, object]
) -> None:
    a, b, c = _trio(cli, policy, {name: v0})
    _commit(a, {name: v1}, "v1 on a")
    b.ok("fetch", "../a")
    _commit(b, {name: v2}, "v2 on b, after seeing v1")
    for n in range(3):
        _commit(a, {f"more{n}.txt": f"{n}\n"}, f"more on a {n}")
    _commit(c, {"other.txt": "changed on c\n"}, "other file on c")
    for r, others in ((a, "bc"), (b, "ca"), (c, "ab")):
        for o in others:
            r.ok("fetch", f"../{o}")
    for r in (a, b, c):
        r.ok("merge", "--auto")
    assert _head(a) == _head(b) == _head(c)
    for r in (a, b, c):
        text = (r.cwd / name).read_text()
        assert (json.loads(text) if isinstance(want, dict) else text) == want


def test_after_an_automatic_merge_ours_is_this_replicas_version_on_either_replica(cli: CliRunner) -> None:
    # Issue 11: `reopen` named the sides by tie-break order, so on one of the two replicas
    # `resolve --ours` took the other replica's value. The sides are now named from where the
    # conflict is reopened, whichever replica comes first in the tie-break order.
    a, b, _ = _trio(cli, "*.lww lww\n", {"port.lww": "port=1\n"})
    _commit(a, {"port.lww": "port=2\n"}, "a's port")
    _commit(b, {"port.lww": "port=3\n"}, "b's port")
    a.ok("fetch", "../b")
    a.ok("merge", "--auto")
    b.ok("fetch", "../a")  # a fast-forward to a's merge
    assert _head(a) == _head(b)
    for replica, mine, other in ((a, "port=2\n", "port=3\n"), (b, "port=3\n", "port=2\n")):
        replica.ok("reopen", "port.lww")
        assert "<<<<<<< ours\n" + mine in (replica.cwd / "port.lww").read_text()
        replica.ok("resolve", "--ours", "port.lww")
        assert (replica.cwd / "port.lww").read_text() == mine
        replica.ok("merge", "--abort")
        replica.ok("reopen", "port.lww")
        replica.ok("resolve", "--theirs", "port.lww")
        assert (replica.cwd / "port.lww").read_text() == other
        replica.ok("merge", "--abort")
