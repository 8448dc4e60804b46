"""The slow tier's summary (tests/reliability/summary.py): the one line, and every bar it enforces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.reliability import summary
from tests.reliability.record import ENV, record


def _events(*events: dict[str, object]) -> list[str]:
    return [json.dumps(e) for e in events]


def _passing(crash: int = summary.MIN_CRASH, race: int = summary.MIN_RACE, hostile: int = 3) -> list[dict[str, object]]:
    ops = summary.CRASH_OPS
    events: list[dict[str, object]] = [{"kind": "crash", "ok": True, "op": ops[i % len(ops)]} for i in range(crash)]
    events += [{"kind": "race", "ok": True} for _ in range(race)]
    events += [{"kind": "hostile", "ok": True, "name": f"t{i}"} for i in range(hostile)]
    events += [{"kind": "outside", "n": 0}, {"kind": "outside", "n": 0}]
    return events


def test_everything_passed() -> None:
    text, missed = summary.summarize(_events(*_passing()))
    assert text == (
        "200/200 crash points survived, 3/3 hostile inputs rejected, 40/40 race rounds clean, "
        "0 files touched outside the work tree, 0 data lost"
    )
    assert missed == []


def test_counts_failures_and_misses_each_bar() -> None:
    events = _passing()
    events += [
        {"kind": "crash", "ok": False, "op": "merge"},
        {"kind": "hostile", "ok": False, "name": "bad"},
        {"kind": "race", "ok": False},
        {"kind": "race"},  # no "ok": a failure
        {"kind": "outside", "n": 2},
        {"kind": "lost", "n": 3},
        {"kind": "lost", "n": 1},
    ]
    text, missed = summary.summarize([*_events(*events), "", "  "])
    assert text == (
        "200/201 crash points survived, 3/4 hostile inputs rejected, 40/42 race rounds clean, "
        "2 files touched outside the work tree, 4 data lost"
    )
    assert missed == [
        "1 crash events failed",
        "1 hostile events failed",
        "2 race events failed",
        "files outside a work tree were touched",
        "committed data was lost",
    ]


def test_too_few_crash_runs_and_race_rounds() -> None:
    text, missed = summary.summarize(_events(*_passing(crash=summary.MIN_CRASH - 1, race=summary.MIN_RACE - 1)))
    assert text.startswith("199/199 crash points survived, 3/3 hostile inputs rejected, 39/39 race rounds clean")
    assert missed == ["only 199 crash runs (at least 200)", "only 39 race rounds (at least 40)"]


def test_every_crash_op_must_have_runs() -> None:
    events = [{"kind": "crash", "ok": True, "op": "commit"} for _ in range(150)]
    events += [{"kind": "crash", "ok": True, "op": "merge"} for _ in range(60)]
    events += [{"kind": "race", "ok": True} for _ in range(40)]
    _, missed = summary.summarize(_events(*events))
    assert missed == ["no crash runs over switch, fetch"]


def test_empty_log_misses_the_counts_but_fails_nothing() -> None:
    text, missed = summary.summarize([])
    assert text == (
        "0/0 crash points survived, 0/0 hostile inputs rejected, 0/0 race rounds clean, "
        "0 files touched outside the work tree, 0 data lost"
    )
    assert missed == [
        "only 0 crash runs (at least 200)",
        "no crash runs over commit, switch, merge, fetch",
        "only 0 race rounds (at least 40)",
    ]


def test_main_prints_the_line_and_exits_by_the_bars(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "log.jsonl"
    monkeypatch.setenv(ENV, str(log))
    for event in _passing():
        kind = str(event.pop("kind"))
        record(kind, **event)  # written as the tests write it
    assert summary.main([str(log)]) == 0
    out, err = capsys.readouterr()
    assert out == (
        "200/200 crash points survived, 3/3 hostile inputs rejected, 40/40 race rounds clean, "
        "0 files touched outside the work tree, 0 data lost\n"
    )
    assert err == ""
    record("lost", n=1)
    assert summary.main([str(log)]) == 1
    out, err = capsys.readouterr()
    assert out.endswith("1 data lost\n")
    assert err == "reliability: committed data was lost\n"


def test_main_with_no_log_is_a_miss(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert summary.main([str(tmp_path / "absent.jsonl")]) == 1
    out, err = capsys.readouterr()
    assert out.startswith("0/0 crash points survived")
    assert "reliability: only 0 crash runs (at least 200)\n" in err


def test_record_writes_nothing_without_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ENV, raising=False)
    record("crash", ok=True, op="commit")
    assert list(tmp_path.iterdir()) == []


def test_record_during_a_test_reaches_the_log() -> None:
    """Run by the test below in a pytest of its own with the log set; here (no log) a no-op."""
    record("probe", ok=True)


@pytest.mark.parametrize("workers", ["0", "2"])
def test_events_reach_the_log_once(tmp_path: Path, workers: str) -> None:
    """The test fixtures keep the log variable, and a hostile test is logged once, with or without workers."""
    import os
    import subprocess
    import sys

    log = tmp_path / "log.jsonl"
    root = Path(__file__).resolve().parents[2]
    probe = "tests/unit/test_reliability_summary.py::test_record_during_a_test_reaches_the_log"
    hostile = "tests/unit/test_paths.py::test_bad_path_empty_path"
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", workers, probe, hostile],
        cwd=root,
        env=dict(os.environ, **{ENV: str(log)}),
        capture_output=True,
        check=False,
    )
    assert r.returncode == 0, r.stdout.decode() + r.stderr.decode()
    kinds = sorted(json.loads(line)["kind"] for line in log.read_text().splitlines())
    assert kinds == ["hostile", "probe"]
