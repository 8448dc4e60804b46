"""End-to-end CLI tests: exit codes and output of the everyday commands."""

from __future__ import annotations

import json
import os

from tests.helpers.cli import CliRunner


def test_init_creates_repository(cli: CliRunner) -> None:
    r = cli("init")
    assert r.code == 0
    assert r.out == ""
    assert r.err == f"Initialized empty vcrdt repository in {cli.cwd}/.vcrdt\n"
    assert (cli.cwd / ".vcrdt" / "store.db").is_file()


def test_init_quiet_prints_nothing(cli: CliRunner) -> None:
    r = cli("init", "-q")
    assert (r.code, r.out, r.err) == (0, "", "")
    assert (cli.cwd / ".vcrdt" / "store.db").is_file()
    r = cli("init", "--quiet", "sub")
    assert (r.code, r.out, r.err) == (0, "", "")
    assert (cli.cwd / "sub" / ".vcrdt" / "store.db").is_file()


def test_init_quiet_still_reports_errors(repo: CliRunner) -> None:
    r = repo("init", "-q")
    assert r.code == 1
    assert r.err == f"error: repository already exists in {repo.cwd}\n"


def test_commit_quiet_records_without_a_summary(repo: CliRunner) -> None:
    repo.write("a.txt", "one\n")
    r = repo("commit", "-A", "-q", "-m", "first")
    assert (r.code, r.out, r.err) == (0, "", "")
    assert json.loads(repo.ok("log", "--json").out)[0]["message"] == "first\n"
    assert repo.ok("status", "--short").out == ""
    r = repo("commit", "--quiet", "-m", "again")
    assert r.code == 1  # nothing to commit is still an error, quiet or not
    assert r.err.startswith("error: ")


def test_init_twice_fails(repo: CliRunner) -> None:
    r = repo("init")
    assert r.code == 1
    assert r.err == f"error: repository already exists in {repo.cwd}\n"


def test_status_outside_repository(cli: CliRunner) -> None:
    r = cli("status")
    assert r.code == 1
    assert r.err.startswith("error: not a vcrdt repository")
    assert "hint: run `vcrdt init` to create one" in r.err


def test_status_empty_repository(repo: CliRunner) -> None:
    r = repo.ok("status")
    assert r.out == "On branch main (no commits yet)\nnothing to commit, working tree clean\n"


def test_add_commit_log(repo: CliRunner) -> None:
    repo.write("a.txt", "one\n")
    repo.write("src/b.txt", "two\n")
    r = repo.ok("status", "--short")
    assert r.out == "?? a.txt\n?? src/\n"  # a directory without a tracked file: once, as git lists it
    assert repo.ok("status", "--short", "-uall").out == "?? a.txt\n?? src/b.txt\n"
    assert repo.ok("status", "--short", "-uno").out == ""
    repo.ok("add", ".")
    assert repo.ok("status", "--short").out == "A  a.txt\nA  src/b.txt\n"
    r = repo.ok("commit", "-m", "first")
    assert r.out.startswith("[main (root-commit) ")
    assert r.out.endswith("] first\n 2 files changed (2 added)\n")
    assert repo.ok("status").out == "On branch main\nnothing to commit, working tree clean\n"
    log = json.loads(repo.ok("log", "--json").out)
    assert len(log) == 1
    assert log[0]["message"] == "first\n"
    assert log[0]["refs"] == ["HEAD -> main"]
    assert log[0]["lamport"] == 1
    assert log[0]["author"] == {"name": "Ada Lovelace", "email": "ada@example.com"}


def test_commit_without_identity_fails_with_hint(repo: CliRunner, monkeypatch: object) -> None:
    import pytest

    mp = pytest.MonkeyPatch()
    mp.delenv("VCRDT_AUTHOR_NAME")
    mp.delenv("VCRDT_AUTHOR_EMAIL")
    try:
        repo.write("a.txt", "x\n")
        repo.ok("add", "a.txt")
        r = repo("commit", "-m", "x")
        assert r.code == 1
        assert r.err.startswith("error: author name is not set\nhint: run `vcrdt config user.name")
        repo.ok("config", "user.name", "Grace")
        repo.ok("config", "user.email", "grace@example.com")
        assert repo.ok("config", "user.name").out == "Grace\n"
        repo.ok("commit", "-m", "x")
        assert json.loads(repo.ok("log", "--json").out)[0]["author"]["name"] == "Grace"
    finally:
        mp.undo()


def test_nothing_to_commit(repo: CliRunner) -> None:
    r = repo("commit", "-m", "empty")
    assert r.code == 1
    assert r.err == (
        "error: nothing to commit, working tree clean\nhint: use --allow-empty to record a commit anyway\n"
    )
    repo.ok("commit", "--allow-empty", "-m", "empty")


def test_modify_delete_and_diff(repo: CliRunner) -> None:
    repo.write("a.txt", "one\ntwo\n")
    repo.write("b.txt", "bee\n")
    repo.ok("commit", "--addremove", "-m", "base")
    repo.write("a.txt", "one\nTWO\n")
    os.unlink(repo.cwd / "b.txt")
    assert repo.ok("status", "--short").out == "M  a.txt\nD  b.txt\n"
    d = repo.ok("diff").out
    assert "diff --git a/a.txt b/a.txt" in d
    assert "-two\n+TWO\n" in d
    assert "deleted" in d or "/dev/null" in d
    assert repo.ok("diff", "--name-only").out == "a.txt\nb.txt\n"
    assert repo("diff", "--exit-code").code == 1
    repo.ok("commit", "-m", "edit")
    assert repo.ok("status", "--short").out == ""
    assert repo("diff", "--exit-code").code == 0
    names = repo.ok("diff", "HEAD~1", "HEAD", "--name-only").out
    assert names == "a.txt\nb.txt\n"


def test_commit_only_given_paths(repo: CliRunner) -> None:
    repo.write("a.txt", "1\n")
    repo.write("b.txt", "1\n")
    repo.ok("commit", "-A", "-m", "base")
    repo.write("a.txt", "2\n")
    repo.write("b.txt", "2\n")
    repo.ok("commit", "a.txt", "-m", "only a")
    assert repo.ok("status", "--short").out == "M  b.txt\n"


def test_rm_and_mv(repo: CliRunner) -> None:
    repo.write("a.txt", "1\n")
    repo.write("d/b.txt", "2\n")
    repo.ok("commit", "-A", "-m", "base")
    repo.ok("rm", "a.txt")
    assert not (repo.cwd / "a.txt").exists()
    repo.ok("mv", "d/b.txt", "c.txt")
    assert repo.ok("status", "--short").out == "D  a.txt\nR  d/b.txt -> c.txt\n"
    repo.ok("commit", "-m", "moves")
    tree = json.loads(repo.ok("cat", "HEAD:", "--json").out)
    assert [e["name"] for e in tree["entries"]] == ["c.txt"]


def test_branch_switch_and_carry_over(repo: CliRunner) -> None:
    repo.write("a.txt", "1\n")
    repo.write("b.txt", "1\n")
    repo.ok("commit", "-A", "-m", "base")
    repo.ok("switch", "-c", "feature")
    repo.write("a.txt", "feature\n")
    repo.ok("commit", "-m", "feature edit")
    repo.ok("switch", "main")
    assert (repo.cwd / "a.txt").read_text() == "1\n"
    # A local edit to a file the switch does not touch is carried over.
    repo.write("b.txt", "local\n")
    repo.ok("switch", "feature")
    assert (repo.cwd / "b.txt").read_text() == "local\n"
    assert (repo.cwd / "a.txt").read_text() == "feature\n"
    # A local edit to a file the switch would overwrite stops the switch.
    repo.write("a.txt", "dirty\n")
    r = repo("switch", "main")
    assert r.code == 1
    assert r.err.startswith("error: uncommitted changes would be overwritten: a.txt\n")
    assert (repo.cwd / "a.txt").read_text() == "dirty\n"
    repo.ok("switch", "--force", "main")
    assert (repo.cwd / "a.txt").read_text() == "1\n"
    branches = json.loads(repo.ok("branch", "--json").out)
    assert [(b["name"], b["current"]) for b in branches] == [("feature", False), ("main", True)]


def test_branch_delete_rename(repo: CliRunner) -> None:
    repo.write("a.txt", "1\n")
    repo.ok("commit", "-A", "-m", "base")
    repo.ok("branch", "topic")
    repo.ok("switch", "topic")
    repo.write("a.txt", "2\n")
    repo.ok("commit", "-m", "topic work")
    repo.ok("switch", "main")
    r = repo("branch", "-d", "topic")
    assert r.code == 1
    assert r.err.startswith("error: branch 'topic' is not merged into HEAD\n")
    repo.ok("branch", "-m", "topic", "renamed")
    repo.ok("branch", "-D", "renamed")
    assert [b["name"] for b in json.loads(repo.ok("branch", "--json").out)] == ["main"]
    r = repo("branch", "bad..name")
    assert r.code == 1
    assert r.err.startswith("error: invalid ref name 'bad..name'")


def test_tags(repo: CliRunner) -> None:
    repo.write("a.txt", "1\n")
    repo.ok("commit", "-A", "-m", "base")
    repo.ok("tag", "v1")
    assert repo.ok("tag").out == "v1\n"
    assert repo("tag", "v1").code == 1
    head = json.loads(repo.ok("log", "--json", "-n", "1").out)[0]["id"]
    assert json.loads(repo.ok("cat", "v1", "--json").out)["id"] == head
    repo.ok("tag", "-d", "v1")
    assert repo.ok("tag").out == ""


def test_restore(repo: CliRunner) -> None:
    repo.write("a.txt", "1\n")
    repo.ok("commit", "-A", "-m", "base")
    repo.write("a.txt", "changed\n")
    repo.ok("restore", "a.txt")
    assert (repo.cwd / "a.txt").read_text() == "1\n"
    os.unlink(repo.cwd / "a.txt")
    repo.ok("restore", ".")
    assert (repo.cwd / "a.txt").read_text() == "1\n"
    assert repo.ok("status", "--short").out == ""


def test_cat_blob_and_type(repo: CliRunner) -> None:
    repo.write("a.txt", "hello\n")
    repo.ok("commit", "-A", "-m", "base")
    assert repo.ok("cat", "HEAD:a.txt").out == "hello\n"
    assert repo.ok("cat", "-t", "HEAD").out == "commit\n"
    r = repo("cat", "nosuchthing")
    assert r.code == 1
    assert r.err == "error: unknown revision: nosuchthing\n"


def test_fsck_clean(repo: CliRunner) -> None:
    repo.write("a.txt", "hello\n")
    repo.ok("commit", "-A", "-m", "base")
    r = repo("fsck")
    assert r.code == 0
    assert r.out == ""
    assert "0 problems" in r.err


def test_log_formats(repo: CliRunner) -> None:
    for i in range(3):
        repo.write("a.txt", f"{i}\n")
        repo.ok("commit", "-A", "-m", f"c{i}")
    one = repo.ok("log", "--oneline").out.splitlines()
    assert [line.split(" ", 1)[1] for line in one] == ["(HEAD -> main) c2", "c1", "c0"]
    assert len(repo.ok("log", "--oneline", "-n", "2").out.splitlines()) == 2
    graph = repo.ok("log", "--oneline", "--graph").out.splitlines()
    assert all(line.startswith("* ") for line in graph)
    stat = repo.ok("log", "--stat", "-n", "1").out
    assert " a.txt | " in stat and "1 file changed, 1 insertion(+), 1 deletion(-)" in stat
    full = repo.ok("log", "-n", "1").out
    assert full.startswith("commit ")
    assert "\nAuthor: Ada Lovelace <ada@example.com>\n" in full
    assert full.endswith("\n    c2\n")


def test_show(repo: CliRunner) -> None:
    repo.write("a.txt", "1\n")
    repo.ok("commit", "-A", "-m", "base")
    repo.write("a.txt", "2\n")
    repo.ok("commit", "-m", "two")
    out = repo.ok("show").out
    assert "    two\n" in out and "-1\n+2\n" in out
    doc = json.loads(repo.ok("show", "--json").out)
    assert doc["diff"][0]["path"] == "a.txt"
    assert doc["diff"][0]["added"] == 1


def test_usage_error_exits_2(repo: CliRunner) -> None:
    r = repo("log", "--no-such-option")
    assert r.code == 2
    assert "No such option" in r.err


def test_version(cli: CliRunner) -> None:
    from vcrdt import __version__

    assert cli.ok("--version").out == f"vcrdt {__version__}\n"


def test_ignore_file(repo: CliRunner) -> None:
    repo.write(".vcrdtignore", "*.log\nbuild/\n!keep.log\n")
    repo.write("app.log", "x")
    repo.write("keep.log", "x")
    repo.write("build/out.o", "x")
    repo.write("src/main.c", "x")
    assert repo.ok("status", "--short").out == "?? .vcrdtignore\n?? keep.log\n?? src/\n"
    ign = repo.ok("status", "--short", "--ignored").out
    assert "!! app.log\n" in ign and "!! build/\n" in ign
    r = repo("add", "app.log")
    assert r.code == 1
    assert r.err.startswith("The following paths are ignored by one of your .vcrdtignore files:\napp.log\n")


def test_status_json(repo: CliRunner) -> None:
    repo.write("a.txt", "1\n")
    doc = json.loads(repo.ok("status", "--json").out)
    assert doc == {
        "schema": 1,
        "branch": "main",
        "head": None,
        "clean": True,
        "merging": None,
        "siblings": [],
        "conflicted": [],
        "modified": [],
        "added": [],
        "deleted": [],
        "removed": [],
        "untracked": ["a.txt"],
        "renamed": [],
    }


def test_identity_from_global_config(repo: CliRunner, monkeypatch: object) -> None:
    import pytest

    mp = pytest.MonkeyPatch()
    mp.delenv("VCRDT_AUTHOR_NAME")
    mp.delenv("VCRDT_AUTHOR_EMAIL")
    try:
        config = os.path.join(os.environ["HOME"], ".config", "vcrdt")
        os.makedirs(config, exist_ok=True)
        with open(os.path.join(config, "config.toml"), "w") as fh:
            fh.write('[user]\nname = "Global Grace"\nemail = "grace@example.com"\n')
        repo.write("a.txt", "x\n")
        repo.ok("commit", "-A", "-m", "x")
        assert json.loads(repo.ok("log", "--json").out)[0]["author"] == {
            "name": "Global Grace",
            "email": "grace@example.com",
        }
        # The repository's own config wins over the global file, the environment over both.
        repo.ok("config", "user.name", "Repo Rita")
        mp.setenv("VCRDT_AUTHOR_NAME", "Env Eve")
        repo.write("a.txt", "y\n")
        repo.ok("commit", "-m", "y")
        assert json.loads(repo.ok("log", "--json", "-n", "1").out)[0]["author"]["name"] == "Env Eve"
    finally:
        mp.undo()
