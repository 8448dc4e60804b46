"""Files vcrdt cannot track are reported, not silently invisible (issue 9, item 11).

A path longer than the system's limit (PATH_MAX, 4096 bytes on Linux) cannot
be opened by name, and a name that breaks a path rule (too long, a backslash)
cannot be stored: `status` and `commit -A` used to skip both without a word,
so the user believed everything was committed. Each is now named in a warning
and left out; the rest of the tree is tracked as before.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import vcrdt.paths
from tests.helpers.cli import CliRunner


def _deep_file(root: Path, at_least: int) -> str:
    """Create directories of 200-byte names under `root` until the path is `at_least` bytes; return the file's path."""
    name = "d" * 200
    parts: list[str] = []
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        while len("/".join(parts)) < at_least:
            # Relative to the open directory: the full path is past what the system opens by name.
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
            parts.append(name)
        out = os.open("deep.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(out, b"deep\n")
        os.close(out)
    finally:
        os.close(fd)
    return "/".join([*parts, "deep.txt"])


def _warned_paths(err: str, reason: str) -> list[str]:
    suffix = f": {reason}; not tracked"
    return [line[len("warning: ") : -len(suffix)] for line in err.splitlines() if line.endswith(suffix)]


@pytest.mark.hostile
def test_a_path_longer_than_the_system_limit_is_reported(repo: CliRunner) -> None:
    repo.write("short.txt", "s\n")
    deep = _deep_file(repo.cwd, 4200)
    r = repo("status", "--json")
    assert r.code == 0
    assert json.loads(r.out)["untracked"] == ["short.txt"]
    (warned,) = _warned_paths(r.err, "path longer than 4096 bytes")
    # The outermost path the system cannot open (everything under it is out of reach too).
    assert deep.startswith(warned + "/") or deep == warned
    assert len(os.fsencode(os.path.join(repo.cwd, warned))) >= 4096
    assert r.err.count("\n") == 1
    r = repo("commit", "-A", "-m", "all I can")
    assert r.code == 0
    assert _warned_paths(r.err, "path longer than 4096 bytes") == [warned]
    assert "short.txt" in repo.ok("log", "--stat").out
    assert repo.ok("fsck").code == 0


@pytest.mark.hostile
def test_a_name_longer_than_the_limit_is_reported(repo: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    # No local file system stores a name over 255 bytes: lower vcrdt's limit to make one.
    monkeypatch.setattr(vcrdt.paths, "MAX_COMPONENT_BYTES", 100)
    repo.write("ok.txt", "o\n")
    repo.write("sub/" + "n" * 150, "long\n")
    repo.write("l" * 120 + "/inner.txt", "in a long directory\n")
    r = repo("status", "--json")
    assert r.code == 0
    assert json.loads(r.out)["untracked"] == ["ok.txt"]
    assert sorted(_warned_paths(r.err, "component longer than 100 bytes")) == ["l" * 120, "sub/" + "n" * 150]
    r = repo("commit", "-A", "-m", "one")
    assert r.code == 0 and len(_warned_paths(r.err, "component longer than 100 bytes")) == 2


@pytest.mark.hostile
def test_a_name_vcrdt_cannot_store_is_reported(repo: CliRunner) -> None:
    repo.write("ok.txt", "o\n")
    repo.write("back\\slash.txt", "b\n")
    r = repo("status")
    assert r.code == 0
    assert r.err == "warning: back\\slash.txt: backslash inside a name; not tracked\n"


@pytest.mark.hostile
def test_the_warning_does_not_pass_control_characters_to_the_terminal(repo: CliRunner) -> None:
    repo.write("x\\\x1b[2J\nforged line.txt", "b\n")
    r = repo("status")
    assert r.code == 0
    assert r.err == "warning: x\\\\x1b[2J\\nforged line.txt: backslash inside a name; not tracked\n"
