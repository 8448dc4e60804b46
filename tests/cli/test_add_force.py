"""`vcrdt add` of ignored paths: refused with git's message (nothing added), added with -f/--force."""

from __future__ import annotations

import json

import pytest

from tests.helpers.cli import CliRunner

IGNORED_HEAD = "The following paths are ignored by one of your .vcrdtignore files:\n"


@pytest.fixture
def ignoring(repo: CliRunner) -> CliRunner:
    repo.write(".vcrdtignore", "*.log\nbuild/\n")
    repo.write("a.log", "log\n")
    repo.write("b.txt", "text\n")
    repo.write("build/sub/o.bin", "object\n")
    repo.write("src/c.log", "nested log\n")
    repo.write("src/d.txt", "source\n")
    return repo


def _tracked(repo: CliRunner) -> list[str]:
    doc = json.loads(repo.ok("status", "--json").out)
    return sorted(doc["added"])


def test_adding_an_ignored_file_is_refused_and_adds_nothing(ignoring: CliRunner) -> None:
    r = ignoring("add", "b.txt", "a.log", "build")
    assert r.code == 1
    assert r.err == IGNORED_HEAD + "a.log\nbuild\nhint: Use -f if you really want to add them.\n"
    assert _tracked(ignoring) == []
    assert json.loads(ignoring.ok("fsck", "--json").out)["problems"] == []


def test_a_directory_skips_its_ignored_files_quietly(ignoring: CliRunner) -> None:
    r = ignoring("add", "src")
    assert r.code == 0, r.err
    assert _tracked(ignoring) == ["src/d.txt"]


@pytest.mark.parametrize("flag", ["-f", "--force"])
def test_force_adds_ignored_files_and_directories(ignoring: CliRunner, flag: str) -> None:
    r = ignoring("add", flag, "a.log", "build", "src")
    assert r.code == 0, r.err
    assert r.err == "tracking 4 new files\n"
    assert _tracked(ignoring) == ["a.log", "build/sub/o.bin", "src/c.log", "src/d.txt"]
    ignoring.ok("commit", "-m", "forced")
    assert ignoring.ok("cat", "HEAD:build/sub/o.bin").out == "object\n"
    # Tracked now, an ignored file's changes are committed like any other.
    ignoring.write("a.log", "log 2\n")
    ignoring.ok("commit", "-m", "again")
    assert ignoring.ok("cat", "HEAD:a.log").out == "log 2\n"


def test_force_on_one_file_inside_an_ignored_directory(ignoring: CliRunner) -> None:
    ignoring.write("build/other.bin", "other\n")
    ignoring.ok("add", "-f", "build/sub/o.bin")
    assert _tracked(ignoring) == ["build/sub/o.bin"]


def test_force_does_not_invent_missing_files(ignoring: CliRunner) -> None:
    r = ignoring("add", "-f", "nope.log")
    assert r.code == 1
    assert r.err.startswith("error: nope.log: did not match any file")
    assert _tracked(ignoring) == []
