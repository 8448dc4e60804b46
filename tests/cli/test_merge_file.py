"""`vcrdt merge-file`: exit status = number of conflicts, result in CURRENT or on stdout."""

from __future__ import annotations

from tests.helpers.cli import CliRunner


def _files(cli: CliRunner, base: str, ours: str, theirs: str) -> None:
    cli.write("base.txt", base)
    cli.write("ours.txt", ours)
    cli.write("theirs.txt", theirs)


def test_clean_merge_writes_current(cli: CliRunner) -> None:
    _files(cli, "a\nb\nc\n", "A\nb\nc\n", "a\nb\nC\n")
    r = cli("merge-file", "ours.txt", "base.txt", "theirs.txt")
    assert (r.code, r.out, r.err) == (0, "", "")
    assert (cli.cwd / "ours.txt").read_text() == "A\nb\nC\n"


def test_merge_file_conflict_exits_with_count(cli: CliRunner) -> None:
    _files(cli, "a\nb\nc\nd\ne\nf\ng\n", "X\nb\nc\nd\ne\nf\nY\n", "Z\nb\nc\nd\ne\nf\nW\n")
    r = cli("merge-file", "-p", "ours.txt", "base.txt", "theirs.txt")
    assert r.code == 2
    assert r.out == (
        "<<<<<<< ours.txt\nX\n=======\nZ\n>>>>>>> theirs.txt\nb\nc\nd\ne\nf\n"
        "<<<<<<< ours.txt\nY\n=======\nW\n>>>>>>> theirs.txt\n"
    )
    assert (cli.cwd / "ours.txt").read_text() == "X\nb\nc\nd\ne\nf\nY\n"


def test_merge_file_styles_and_labels(cli: CliRunner) -> None:
    _files(cli, "a\nb\nc\n", "a\nB\nc\n", "a\nX\nc\n")
    r = cli(
        "merge-file", "-p", "--diff3", "-L", "mine", "-L", "orig", "-L", "yours", "ours.txt", "base.txt", "theirs.txt"
    )
    assert r.code == 1
    assert r.out == "a\n<<<<<<< mine\nB\n||||||| orig\nb\n=======\nX\n>>>>>>> yours\nc\n"
    r = cli("merge-file", "-p", "--conflict-style", "nope", "ours.txt", "base.txt", "theirs.txt")
    assert r.code == 2


def test_merge_file_writes_markers_into_current(cli: CliRunner) -> None:
    _files(cli, "a\n", "b\n", "c\n")
    r = cli("merge-file", "ours.txt", "base.txt", "theirs.txt")
    assert r.code == 1
    assert r.err == "ours.txt: 1 conflict\n"
    assert (cli.cwd / "ours.txt").read_text() == "<<<<<<< ours.txt\nb\n=======\nc\n>>>>>>> theirs.txt\n"


def test_merge_file_errors_exit_255(cli: CliRunner) -> None:
    _files(cli, "a\n", "b\n", "c\n")
    r = cli("merge-file", "ours.txt", "missing.txt", "theirs.txt")
    assert r.code == 255
    assert r.err.startswith("error: ") and "missing.txt: cannot read" in r.err
    cli.write("bin.dat", b"\x00\x01")
    r = cli("merge-file", "ours.txt", "bin.dat", "theirs.txt")
    assert r.code == 255
    assert r.err == "error: Cannot merge binary files: bin.dat\n"
    assert (cli.cwd / "ours.txt").read_text() == "b\n"


def test_merge_file_refuses_bad_flag_values(cli: CliRunner) -> None:
    _files(cli, "a\n", "b\n", "c\n")
    r = cli("merge-file", "--diff-algorithm", "quadratic", "ours.txt", "base.txt", "theirs.txt")
    assert r.code == 2 and "--diff-algorithm" in r.err
    r = cli("merge-file", "--union", "--rule", "union", "ours.txt", "base.txt", "theirs.txt")
    assert r.code == 2 and "--union settles the conflicts already" in r.err
    assert (cli.cwd / "ours.txt").read_text() == "b\n"


def test_exit_code_policy_is_per_command(cli) -> None:
    """merge-file's 255 for an error is its own contract; the next command's failure exits 1 again."""
    cli.write("a", b"\x00binary")
    cli.write("b", "base\n")
    cli.write("c", "other\n")
    r = cli("merge-file", "a", "b", "c")
    assert r.code == 255 and r.err == "error: Cannot merge binary files: a\n"
    r = cli("log")
    assert r.code == 1 and r.err.startswith("error: not a vcrdt repository")
