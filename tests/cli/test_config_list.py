"""`vcrdt config --list [--global] [--show-origin] [--json]`, and `config --global KEY [VALUE]`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner


@pytest.fixture
def global_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    path = home / "vcrdt" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text('[user]\nemail = "g@example.com"\nname = "Global"\n[core]\ndaemon = false\n')
    return path


def test_list_shows_the_global_file_then_the_repository(repo: CliRunner, global_file: Path) -> None:
    repo.ok("config", "user.name", "Local")
    r = repo.ok("config", "--list")
    assert r.out == "core.daemon=false\nuser.email=g@example.com\nuser.name=Global\nuser.name=Local\n"
    assert repo.ok("config", "-l", "--global").out == "core.daemon=false\nuser.email=g@example.com\nuser.name=Global\n"


def test_show_origin_names_each_file(repo: CliRunner, global_file: Path) -> None:
    repo.ok("config", "user.name", "Local")
    lines = repo.ok("config", "--list", "--show-origin").out.splitlines()
    assert lines[0] == f"file:{global_file}\tcore.daemon=false"
    assert lines[-1] == f"file:{repo.cwd / '.vcrdt' / 'config.toml'}\tuser.name=Local"


def test_list_json(repo: CliRunner, global_file: Path) -> None:
    repo.ok("config", "core.pager", "cat")
    doc = json.loads(repo.ok("config", "--list", "--json").out)
    assert doc["schema"] == 1
    assert {
        "key": "core.pager",
        "value": "cat",
        "scope": "repository",
        "file": str(repo.cwd / ".vcrdt" / "config.toml"),
    } in doc["entries"]
    assert doc["entries"][0] == {"key": "core.daemon", "value": "false", "scope": "global", "file": str(global_file)}


def test_list_outside_a_repository_shows_the_global_file(cli: CliRunner, global_file: Path) -> None:
    assert cli.ok("config", "--list").out.startswith("core.daemon=false\n")


def test_global_get_set_unset(repo: CliRunner, global_file: Path) -> None:
    assert repo.ok("config", "--global", "user.email").out == "g@example.com\n"
    repo.ok("config", "--global", "merge.policy", "ours")
    assert "merge.policy=ours" in repo.ok("config", "--list", "--global").out
    repo.ok("config", "--global", "--unset", "merge.policy")
    assert repo("config", "--global", "merge.policy").code == 1
    assert repo.ok("config", "user.email").out == "g@example.com\n"  # the repository falls back to it
    assert not (repo.cwd / ".vcrdt" / "config.toml").read_text().count("policy")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--list", "user.name"], "error: config --list takes no KEY, VALUE or --unset"),
        (["--list", "--unset"], "error: config --list takes no KEY, VALUE or --unset"),
        ([], "error: config: give a KEY (and a VALUE to set it), or --list"),
        (["user.name", "--json"], "error: config: --json goes with --list"),
        (["--global", "nodot"], "error: invalid config key 'nodot'"),
    ],
)
def test_bad_config_invocations_are_one_line_errors(
    repo: CliRunner, global_file: Path, args: list[str], message: str
) -> None:
    before = global_file.read_text()
    r = repo("config", *args)
    assert r.code == 1
    assert r.err.splitlines()[0] == message
    assert global_file.read_text() == before
    assert json.loads(repo.ok("fsck", "--json").out)["problems"] == []


def test_a_broken_global_file_is_a_one_line_error(repo: CliRunner, global_file: Path) -> None:
    global_file.write_text("[user\n")
    r = repo("config", "--list")
    assert r.code == 1
    assert r.err.startswith(f"error: {global_file}: invalid TOML")
    assert len(r.err.splitlines()) == 1
