"""`vcrdt merge`: fast-forward, clean merges, conflicts kept across processes, resolve, abort."""

from __future__ import annotations

import json
import os

import pytest

from tests.helpers.cli import CliRunner


def _log(repo: CliRunner, *args: str) -> list[dict[str, object]]:
    return json.loads(repo.ok("log", "--json", *args).out)


@pytest.fixture
def forked(repo: CliRunner) -> CliRunner:
    """main and side both descend from a base commit with f = 1..5 and g."""
    repo.write("f", "1\n2\n3\n4\n5\n")
    repo.write("g", "g\n")
    repo.ok("commit", "-A", "-m", "base")
    repo.ok("branch", "side")
    return repo


def _on_side(repo: CliRunner, files: dict[str, str | None], msg: str = "side work") -> None:
    repo.ok("switch", "side")
    for name, content in files.items():
        if content is None:
            os.unlink(repo.cwd / name)
        else:
            repo.write(name, content)
    repo.ok("commit", "-A", "-m", msg)
    repo.ok("switch", "main")


def test_fast_forward(forked: CliRunner) -> None:
    _on_side(forked, {"f": "1\n2\n3\n4\nFIVE\n"})
    r = forked("merge", "side")
    assert (r.code, r.out) == (0, "Fast-forward to " + str(_log(forked, "side")[0]["id"])[:12] + " (1 file changed)\n")
    assert (forked.cwd / "f").read_text() == "1\n2\n3\n4\nFIVE\n"
    assert _log(forked)[0]["id"] == _log(forked, "side")[0]["id"]
    assert forked.ok("merge", "side").out == "Already up to date.\n"


def test_no_ff_makes_a_merge_commit(forked: CliRunner) -> None:
    _on_side(forked, {"f": "1\n2\n3\n4\nFIVE\n"})
    forked.ok("merge", "--no-ff", "side")
    head = _log(forked, "-n", "1")[0]
    assert len(head["parents"]) == 2  # type: ignore[arg-type]
    assert head["message"] == "Merge side into main\n"


def test_clean_merge_commits_with_both_parents(forked: CliRunner) -> None:
    _on_side(forked, {"f": "1\n2\n3\n4\nFIVE\n", "h": "new\n", "g": None})
    forked.write("f", "ONE\n2\n3\n4\n5\n")
    forked.ok("commit", "-m", "main work")
    main_id = _log(forked, "-n", "1")[0]["id"]
    side_id = _log(forked, "side", "-n", "1")[0]["id"]
    r = forked("merge", "side")
    assert r.code == 0 and r.out.startswith("Merged side as ")
    head = _log(forked, "-n", "1")[0]
    assert head["parents"] == [main_id, side_id]
    assert (forked.cwd / "f").read_text() == "ONE\n2\n3\n4\nFIVE\n"
    assert (forked.cwd / "h").read_text() == "new\n"
    assert not (forked.cwd / "g").exists()
    assert forked.ok("status", "--short").out == ""
    assert forked("fsck").code == 0


def test_conflict_flow_resolve_and_commit(forked: CliRunner) -> None:
    _on_side(forked, {"f": "1\n2\n3\n4\nfive!\n"})
    forked.write("f", "1\n2\n3\n4\nFIVE?\n")
    forked.ok("commit", "-m", "main work")
    r = forked("merge", "side")
    assert r.code == 1
    assert r.out == "CONFLICT (content): f\n"
    assert (forked.cwd / "f").read_text() == "1\n2\n3\n4\n<<<<<<< main\nFIVE?\n=======\nfive!\n>>>>>>> side\n"
    # The state survives across processes: status, conflicts and commit all see it.
    st = json.loads(forked.ok("status", "--json").out)
    assert st["conflicted"] == ["f"] and st["merging"] == _log(forked, "side", "-n", "1")[0]["id"]
    assert st["modified"] == []
    assert forked.ok("status", "--short").out == "UU f\n"  # once, not also as modified
    doc = json.loads(forked.ok("conflicts", "--json").out)
    assert [(c["path"], c["kind"], c["hunks"], c["resolved"]) for c in doc["conflicts"]] == [("f", "content", 1, False)]
    r = forked("commit", "-m", "too early")
    assert r.code == 1 and r.err.startswith("error: 1 path still in conflict: f\n")
    r = forked("resolve", "f")
    assert r.code == 1 and "still contains conflict markers" in r.err
    r = forked("merge", "side")
    assert r.code == 1 and r.err.startswith("error: a merge is already in progress")
    forked.write("f", "1\n2\n3\n4\nfive, agreed\n")
    forked.ok("resolve", "f")
    forked.ok("commit", "-m", "merged side")
    head = _log(forked, "-n", "1")[0]
    assert len(head["parents"]) == 2  # type: ignore[arg-type]
    assert forked.ok("conflicts").out == ""
    assert forked.ok("status", "--short").out == ""


def test_resolve_takes_a_side(forked: CliRunner) -> None:
    _on_side(forked, {"f": "1\n2\n3\n4\nfive!\n"})
    forked.write("f", "1\n2\n3\n4\nFIVE?\n")
    forked.ok("commit", "-m", "main work")
    forked("merge", "side")
    forked.ok("resolve", "--theirs", "f")
    assert (forked.cwd / "f").read_text() == "1\n2\n3\n4\nfive!\n"
    forked.ok("commit", "-m", "took theirs")
    assert forked("fsck").code == 0


def test_abort_restores_exactly(forked: CliRunner) -> None:
    _on_side(forked, {"f": "1\n2\n3\n4\nfive!\n", "new.txt": "from side\n", "g": None})
    forked.write("f", "1\n2\n3\n4\nFIVE?\n")
    forked.ok("commit", "-m", "main work")
    before = {p: (forked.cwd / p).read_bytes() for p in ("f", "g")}
    assert forked("merge", "side").code == 1
    assert (forked.cwd / "new.txt").exists() and not (forked.cwd / "g").exists()
    forked.ok("merge", "--abort")
    assert {p: (forked.cwd / p).read_bytes() for p in ("f", "g")} == before
    assert not (forked.cwd / "new.txt").exists()
    assert forked.ok("status", "--short").out == ""
    assert forked("merge", "--abort").code == 1


def test_modify_delete_and_add_add(forked: CliRunner) -> None:
    _on_side(forked, {"g": None, "both": "side version\n"})
    forked.write("g", "changed on main\n")
    forked.write("both", "main version\n")
    forked.ok("commit", "-A", "-m", "main work")
    r = forked("merge", "side")
    assert r.code == 1
    assert r.out == "CONFLICT (add/add): both\nCONFLICT (modify/delete): g\n"
    assert (forked.cwd / "g").read_text() == "changed on main\n"
    forked.ok("resolve", "--theirs", "g")
    assert not (forked.cwd / "g").exists()
    forked.ok("resolve", "--ours", "both")
    forked.ok("commit", "-m", "resolved")
    tree = json.loads(forked.ok("cat", "HEAD:", "--json").out)
    assert sorted(e["name"] for e in tree["entries"]) == ["both", "f"]


def test_binary_conflict_keeps_ours(forked: CliRunner) -> None:
    forked.write("bin", b"\x00base")
    forked.ok("commit", "-A", "-m", "bin")
    forked.ok("branch", "-D", "side")
    forked.ok("branch", "side")
    _on_side(forked, {"bin": "\x00theirs"})
    forked.write("bin", b"\x00ours")
    forked.ok("commit", "-m", "ours")
    r = forked("merge", "side")
    assert r.code == 1 and r.out == "CONFLICT (binary): bin\n"
    assert (forked.cwd / "bin").read_bytes() == b"\x00ours"


def test_dry_run_json_writes_nothing(forked: CliRunner) -> None:
    _on_side(forked, {"f": "1\n2\n3\n4\nfive!\n"})
    forked.write("f", "1\n2\n3\n4\nFIVE?\n")
    forked.ok("commit", "-m", "main work")
    head = _log(forked, "-n", "1")[0]["id"]
    r = forked("merge", "--dry-run", "--json", "side")
    assert r.code == 1
    doc = json.loads(r.out)
    assert doc["status"] == "conflicts" and doc["dry_run"] is True
    assert [c["path"] for c in doc["conflicts"]] == ["f"]
    assert (forked.cwd / "f").read_text() == "1\n2\n3\n4\nFIVE?\n"
    assert _log(forked, "-n", "1")[0]["id"] == head
    assert forked.ok("status", "--short").out == ""
    r = forked("merge", "--dry-run", "--json", "nosuchbranch")
    assert r.code == 2


def test_local_change_to_a_path_the_merge_writes_refused(forked: CliRunner) -> None:
    _on_side(forked, {"f": "1\n2\n3\n4\nFIVE\n"})
    forked.write("g", "local edit\n")
    forked.ok("commit", "-m", "x")
    head = _log(forked, "-n", "1")[0]["id"]
    forked.write("f", "1\n2\n3\n4\nlocal\n")
    r = forked("merge", "side")
    assert r.code == 1 and r.err.startswith("error: local changes would be mixed into the merge: f")
    assert _log(forked, "-n", "1")[0]["id"] == head
    assert (forked.cwd / "f").read_text() == "1\n2\n3\n4\nlocal\n"


def test_local_change_elsewhere_stays_local_through_a_clean_merge(forked: CliRunner) -> None:
    # As git: only the files the merge writes must be unchanged; the merge commit is made from the
    # trees, and the local change to g stays a local change.
    _on_side(forked, {"f": "1\n2\n3\n4\nFIVE\n"})
    forked.write("g", "local edit\n")
    forked.ok("commit", "-m", "x")
    forked.write("g", "another local edit\n")
    r = forked("merge", "side")
    assert r.code == 0, r.err
    assert (forked.cwd / "f").read_text() == "1\n2\n3\n4\nFIVE\n"
    assert (forked.cwd / "g").read_text() == "another local edit\n"
    assert forked.ok("show", "HEAD:g").out == "local edit\n"
    assert forked.ok("status", "--short").out == "M  g\n"


def test_local_change_elsewhere_refused_when_the_merge_conflicts(forked: CliRunner) -> None:
    # The commit that ends a conflicted merge takes the whole work tree: g's change would be mixed in.
    _on_side(forked, {"f": "1\n2\n3\n4\nFIVE\n"})
    forked.write("f", "1\n2\n3\n4\nfive?\n")
    forked.ok("commit", "-m", "x")
    forked.write("g", "another local edit\n")
    r = forked("merge", "side")
    assert r.code == 1 and r.err.startswith("error: local changes would be mixed into the merge: g")
    assert (forked.cwd / "f").read_text() == "1\n2\n3\n4\nfive?\n"
    assert forked.ok("status", "--short").out == "M  g\n"


def test_conflict_style_diff3(forked: CliRunner) -> None:
    _on_side(forked, {"f": "1\n2\n3\n4\nfive!\n"})
    forked.write("f", "1\n2\n3\n4\nFIVE?\n")
    forked.ok("commit", "-m", "main work")
    forked("merge", "--conflict-style", "diff3", "side")
    assert (forked.cwd / "f").read_text() == (
        "1\n2\n3\n4\n<<<<<<< main\nFIVE?\n||||||| base\n5\n=======\nfive!\n>>>>>>> side\n"
    )


def test_conflicts_shows_hunks_on_three_sides(forked: CliRunner) -> None:
    _on_side(forked, {"f": "1\n2\n3\n4\nfive!\n"})
    forked.write("f", "1\n2\n3\n4\nFIVE?\n")
    forked.ok("commit", "-m", "main work")
    forked("merge", "side")
    assert forked.ok("conflicts").out == (
        "f: content conflict (unresolved)\n"
        "--- hunk 1, ours, from line 5\nFIVE?\n"
        "--- hunk 1, base, from line 5\n5\n"
        "--- hunk 1, theirs, from line 5\nfive!\n"
    )
    doc = json.loads(forked.ok("conflicts", "--json").out)
    assert doc["conflicts"][0]["hunk_texts"] == [
        {
            "base": {"start": 5, "lines": ["5\n"]},
            "ours": {"start": 5, "lines": ["FIVE?\n"]},
            "theirs": {"start": 5, "lines": ["five!\n"]},
        }
    ]


def test_conflicts_panels_on_a_terminal(forked: CliRunner) -> None:
    import sys

    import pexpect

    _on_side(forked, {"f": "1\n2\n3\n4\nfive!\n"})
    forked.write("f", "1\n2\n3\n4\nFIVE?\n")
    forked.ok("commit", "-m", "main work")
    forked("merge", "side")
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env.update(TERM="xterm-256color", COLUMNS="100")
    child = pexpect.spawn(
        sys.executable, ["-m", "vcrdt", "--no-pager", "conflicts"], cwd=str(forked.cwd), env=env, timeout=60
    )
    screen = child.read().decode()
    child.close()
    assert child.exitstatus == 0
    for title in ("f: hunk 1", "base (line 5)", "ours (line 5)", "theirs (line 5)", "FIVE?", "five!"):
        assert title in screen
    assert "\x1b[" in screen


def test_resolve_union_keeps_both(forked: CliRunner) -> None:
    _on_side(forked, {"f": "1\n2\n3\n4\nfive!\n"})
    forked.write("f", "1\n2\n3\n4\nFIVE?\n")
    forked.ok("commit", "-m", "main work")
    forked("merge", "side")
    forked.ok("resolve", "--union", "f")
    assert (forked.cwd / "f").read_text() == "1\n2\n3\n4\nFIVE?\nfive!\n"
    forked.ok("commit", "-m", "union")


def _two_hunk_conflict(forked: CliRunner) -> None:
    _on_side(forked, {"f": "1 side\n2\n3\n4\n5 side\n"})
    forked.write("f", "1 main\n2\n3\n4\n5 main\n")
    forked.ok("commit", "-m", "main work")
    assert forked("merge", "--conflict-style", "diff3", "side").code == 1


def _spawn(forked: CliRunner, *args: str, editor: str | None = None):  # type: ignore[no-untyped-def]
    import sys

    import pexpect

    env = dict(os.environ)
    if editor:
        env["EDITOR"] = editor
    return pexpect.spawn(sys.executable, ["-m", "vcrdt", *args], cwd=str(forked.cwd), env=env, timeout=60)


def test_resolve_interactive_through_a_pty(forked: CliRunner) -> None:
    _two_hunk_conflict(forked)
    child = _spawn(forked, "resolve", "-i")
    child.expect("Hunk 1/2 of f:")
    child.expect("1 main")
    child.expect(r"\[o\]urs, \[t\]heirs")
    child.sendline("t")
    child.expect("Hunk 2/2 of f:")
    child.expect(r"\[s\]kip")
    child.sendline("x")  # not an answer: asked again
    child.expect("please answer with one of")
    child.sendline("b")
    child.expect("resolved f")
    child.expect(pexpect_eof())
    child.close()
    assert child.exitstatus == 0
    assert (forked.cwd / "f").read_text() == "1 side\n2\n3\n4\n5 main\n5 side\n"
    forked.ok("commit", "-m", "resolved interactively")


def test_resolve_interactive_skip_keeps_markers(forked: CliRunner) -> None:
    _two_hunk_conflict(forked)
    child = _spawn(forked, "resolve", "-i", "f")
    child.expect("Hunk 1/2")
    child.sendline("o")
    child.expect("Hunk 2/2")
    child.sendline("s")
    child.expect("skipped hunks keep their markers")
    child.expect(pexpect_eof())
    child.close()
    assert child.exitstatus == 1
    text = (forked.cwd / "f").read_text()
    assert text.startswith("1 main\n2\n3\n4\n<<<<<<< main\n5 main\n||||||| base\n5\n=======\n5 side\n>>>>>>> theirs\n")
    assert json.loads(forked.ok("status", "--json").out)["conflicted"] == ["f"]


def test_resolve_interactive_edit(forked: CliRunner, tmp_path_factory: pytest.TempPathFactory) -> None:
    _two_hunk_conflict(forked)
    script = tmp_path_factory.mktemp("ed") / "editor.sh"
    script.write_text("#!/bin/sh\nprintf 'edited line\\n' > \"$1\"\n")
    script.chmod(0o755)
    child = _spawn(forked, "resolve", "-i", editor=str(script))
    child.expect("Hunk 1/2")
    child.sendline("d")
    child.expect("Hunk 2/2")
    child.sendline("e")
    child.expect(pexpect_eof())
    child.close()
    assert child.exitstatus == 0
    assert (forked.cwd / "f").read_text() == "edited line\n2\n3\n4\n5\n"


def pexpect_eof():  # type: ignore[no-untyped-def]
    import pexpect

    return pexpect.EOF


def test_untracked_file_in_the_way_is_never_overwritten(forked: CliRunner) -> None:
    _on_side(forked, {"f": "1\n2\n3\n4\nfive!\n", "new.txt": "from side\n"})
    forked.write("f", "1\n2\n3\n4\nFIVE?\n")
    forked.ok("commit", "-m", "main work")
    forked.write("new.txt", "my untracked notes\n")
    r = forked("merge", "side")
    assert r.code == 1
    assert r.err.startswith("error: untracked files would be overwritten by the merge: new.txt\n")
    assert (forked.cwd / "new.txt").read_text() == "my untracked notes\n"
    assert (forked.cwd / "f").read_text() == "1\n2\n3\n4\nFIVE?\n"
    assert json.loads(forked.ok("status", "--json").out)["merging"] is None


def test_untracked_file_in_the_way_of_a_clean_merge(forked: CliRunner) -> None:
    _on_side(forked, {"new.txt": "from side\n"})
    forked.write("g", "main edit\n")
    forked.ok("commit", "-m", "main work")
    forked.write("new.txt", "mine\n")
    r = forked("merge", "side")
    assert r.code == 1
    assert "new.txt" in r.err
    assert (forked.cwd / "new.txt").read_text() == "mine\n"
    assert len(_log(forked)) == 2


def test_switch_refused_during_a_merge(forked: CliRunner) -> None:
    _on_side(forked, {"f": "1\n2\n3\n4\nfive!\n"})
    forked.write("f", "1\n2\n3\n4\nFIVE?\n")
    forked.ok("commit", "-m", "main work")
    forked("merge", "side")
    forked.ok("resolve", "--ours", "f")
    r = forked("switch", "side")
    assert r.code == 1
    assert r.err.startswith("error: cannot switch branches while a merge is in progress\n")
    forked.ok("merge", "--abort")
    forked.ok("switch", "side")


def _object_count(repo: CliRunner) -> int:
    import sqlite3

    db = sqlite3.connect(repo.cwd / ".vcrdt" / "store.db")
    try:
        return int(db.execute("SELECT COUNT(*) FROM objects").fetchone()[0])
    finally:
        db.close()


@pytest.mark.parametrize("args", [["--dry-run"], ["--dry-run", "--json"], ["--auto", "--dry-run"]])
def test_dry_run_stores_no_object(forked: CliRunner, args: list[str]) -> None:
    """A dry run plans the merge (merged blobs, trees, a convergent commit) and keeps none of it."""
    _on_side(forked, {"f": "1\n2\n3\n4\nfive!\n", "h": "new on side\n"})
    forked.write("f", "1\n2\n3\n4\nFIVE?\n")
    forked.ok("commit", "-m", "main work")
    before = _object_count(forked)
    forked("merge", *args, "side")
    assert _object_count(forked) == before
    assert "unreachable" not in forked.ok("fsck").out


@pytest.fixture
def file_vs_dir(repo: CliRunner) -> CliRunner:
    """Base has file g; branch edit changes it; main replaces it with directory g/x."""
    repo.write("g", "base\n")
    repo.write("keep", "k\n")
    repo.ok("commit", "-A", "-m", "base")
    repo.ok("switch", "-c", "edit")
    repo.write("g", "edited\n")
    repo.ok("commit", "-m", "edit g")
    repo.ok("switch", "main")
    os.unlink(repo.cwd / "g")
    repo.write("g/x", "x\n")
    repo.ok("commit", "-A", "-m", "g becomes a directory")
    return repo


def test_file_directory_conflict_is_one_conflict_named_by_its_sides(file_vs_dir: CliRunner) -> None:
    r = file_vs_dir("merge", "edit")
    assert r.code == 1
    assert r.out == "CONFLICT (file/directory): g\n"
    assert r.err.startswith("Automatic merge stopped: 1 conflicted path\n")
    # The file is edit's: it waits beside the directory under edit's name.
    assert (file_vs_dir.cwd / "g~edit").read_text() == "edited\n"
    assert not (file_vs_dir.cwd / "g~main").exists()
    assert (file_vs_dir.cwd / "g" / "x").read_text() == "x\n"
    doc = json.loads(file_vs_dir.ok("conflicts", "--json").out)
    [c] = doc["conflicts"]
    assert c["path"] == "g" and c["kind"] == "file/directory"
    assert c["ours"] is None and c["theirs"] is not None and c["base"] is not None


def test_resolve_file_directory_conflict_keeping_the_directory(file_vs_dir: CliRunner) -> None:
    assert file_vs_dir("merge", "edit").code == 1
    file_vs_dir.ok("resolve", "--ours", "g")
    assert not (file_vs_dir.cwd / "g~edit").exists()
    file_vs_dir.ok("commit", "-m", "merged")
    assert (file_vs_dir.cwd / "g" / "x").read_text() == "x\n"
    assert file_vs_dir.ok("status", "--short").out == ""
    file_vs_dir.ok("fsck")


def test_resolve_file_directory_conflict_taking_the_file(file_vs_dir: CliRunner) -> None:
    assert file_vs_dir("merge", "edit").code == 1
    file_vs_dir.ok("resolve", "--theirs", "g")
    assert (file_vs_dir.cwd / "g").read_text() == "edited\n"
    assert not (file_vs_dir.cwd / "g~edit").exists()
    file_vs_dir.ok("commit", "-m", "merged")
    assert file_vs_dir.ok("status", "--short").out == ""
    assert file_vs_dir.ok("cat", "HEAD:g").out == "edited\n"
    file_vs_dir.ok("fsck")


def test_markers_stay_seven_long_in_a_file_with_rst_underlines(forked: CliRunner) -> None:
    """A `=======` title underline once lengthened the markers to 8; editors and git want 7."""
    forked.write("doc.rst", "Title\n=======\n\ntext\n")
    forked.ok("commit", "-A", "-m", "doc")
    _on_side(forked, {"doc.rst": "Title\n=======\n\ntheirs\n"})
    forked.write("doc.rst", "Title\n=======\n\nours\n")
    forked.ok("commit", "-m", "main doc")
    assert forked("merge", "side").code == 1
    assert (forked.cwd / "doc.rst").read_text() == (
        "Title\n=======\n\n<<<<<<< main\nours\n=======\ntheirs\n>>>>>>> side\n"
    )


def test_conflict_marker_size_attribute(forked: CliRunner) -> None:
    forked.write(".vcrdtattributes", "*.rst conflict-marker-size=10\n")
    forked.write("doc.rst", "a\nb\n")
    forked.ok("commit", "-A", "-m", "doc")
    _on_side(forked, {"doc.rst": "a\nB\n", "f": "1\n2\n3\n4\nfive!\n"})
    forked.write("doc.rst", "a\nX\n")
    forked.write("f", "1\n2\n3\n4\nFIVE?\n")
    forked.ok("commit", "-m", "main doc")
    assert forked("merge", "side").code == 1
    assert (forked.cwd / "doc.rst").read_text() == "a\n<<<<<<<<<< main\nX\n==========\nB\n>>>>>>>>>> side\n"
    assert (forked.cwd / "f").read_text() == "1\n2\n3\n4\n<<<<<<< main\nFIVE?\n=======\nfive!\n>>>>>>> side\n"


def test_conflict_marker_size_attribute_must_be_a_number(forked: CliRunner) -> None:
    forked.write(".vcrdtattributes", "*.rst conflict-marker-size=big\n")
    forked.ok("commit", "-A", "-m", "policy")
    _on_side(forked, {"f": "1\n2\n3\n4\nfive!\n"})
    forked.write("f", "1\n2\n3\n4\nFIVE?\n")
    forked.ok("commit", "-m", "main work")
    r = forked("merge", "side")
    assert r.code == 1
    assert "conflict-marker-size must be a whole number" in r.err
    assert forked.ok("status", "--short").out == ""


def test_conflict_view_shows_the_blocks_the_file_has(repo: CliRunner) -> None:
    """Lines 1 and 3 changed differently on both sides: git joins them into one block, and so does the view."""
    repo.write("f", "1\n2\n3\n4\n")
    repo.ok("commit", "-A", "-m", "base")
    repo.ok("branch", "side")
    repo.write("f", "A\n2\nC\n4\n")
    repo.ok("commit", "-m", "ours")
    repo.ok("switch", "side")
    repo.write("f", "X\n2\nZ\n4\n")
    repo.ok("commit", "-m", "theirs")
    repo.ok("switch", "main")
    assert repo("merge", "side").code == 1
    assert (repo.cwd / "f").read_text() == "<<<<<<< main\nA\n2\nC\n=======\nX\n2\nZ\n>>>>>>> side\n4\n"
    [c] = json.loads(repo.ok("conflicts", "--json").out)["conflicts"]
    assert c["hunks"] == 1
    [h] = c["hunk_texts"]
    assert h["ours"] == {"start": 1, "lines": ["A\n", "2\n", "C\n"]}
    assert h["theirs"] == {"start": 1, "lines": ["X\n", "2\n", "Z\n"]}
    assert h["base"] == {"start": 1, "lines": ["1\n", "2\n", "3\n"]}
    assert "hunk 2" not in repo.ok("conflicts").out
