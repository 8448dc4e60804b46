"""`vcrdt merge-file` against the real `git merge-file` on this machine: same bytes, same exit status.

Hand-written cases cover what random edits rarely produce (marker-like lines, mixed line
endings, identical changes between conflicts, a missing final newline); a hypothesis test
draws triples from the same kinds of lines; every case runs with every flag set in `FLAGS`.
`--diff-algorithm` is checked against `git merge -s recursive -X diff-algorithm=...` (git
2.39's merge-file has no such option, and its `ort` strategy does not pass the option on to
the line merge), whose line merge is the same xdiff code.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.cli import CliRunner

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git missing")

FLAGS: list[tuple[str, ...]] = [
    (),
    ("--diff3",),
    ("--zdiff3",),
    ("--ours",),
    ("--theirs",),
    ("--union",),
    ("--marker-size", "3"),
    ("--marker-size", "12"),
    ("--marker-size", "0"),
    ("--marker-size", "-2"),
    ("-q",),
    ("--quiet", "--diff3", "--marker-size", "9"),
    ("-L", "mine", "-L", "orig", "-L", "yours"),
    ("-L", "only-ours"),
    ("--zdiff3", "--marker-size", "8", "-L", "a", "-L", "b", "-L", "c"),
    ("--union", "--ours"),
    ("--ours", "--theirs"),
    ("--theirs", "--union"),
    ("--theirs", "--ours", "--union"),
    # git's three flags set one variable: the last one given wins, even over an earlier use of itself.
    ("--ours", "--theirs", "--ours"),
    ("--theirs", "--union", "--theirs"),
    ("--union", "--ours", "--union", "--theirs"),
    ("--union", "--diff3"),
    ("--ours", "--zdiff3", "--marker-size", "4"),
]


def _j(*lines: str, eol: str = "\n", last: bool = True) -> bytes:
    text = eol.join(lines) + (eol if last and lines else "")
    return text.encode()


RST_BASE = _j("Title", "=======", "", "intro text", "", "Section", "=======", "", "body one", "body two")
CASES: dict[str, tuple[bytes, bytes, bytes]] = {
    # reStructuredText underlines and Markdown setext headings: markers stay 7 long.
    "rst-underlines": (
        RST_BASE,
        RST_BASE.replace(b"intro text", b"intro by us").replace(b"body two", b"body two, ours"),
        RST_BASE.replace(b"intro text", b"intro by them").replace(b"body two", b"body two, theirs"),
    ),
    "rst-underline-inside-conflict": (
        _j("a", "Title", "=====", "b"),
        _j("a", "New title", "=============", "b"),
        _j("a", "Other title", "===============", "b"),
    ),
    "marker-lines-in-text": (
        _j("x", "<<<<<<< HEAD", "mine", "=======", "yours", ">>>>>>> branch", "y"),
        _j("x", "<<<<<<< HEAD", "MINE", "=======", "yours", ">>>>>>> branch", "y", "ours"),
        _j("x", "<<<<<<< HEAD", "Mine!", "=======", "yours", ">>>>>>> branch", "y", "theirs"),
    ),
    "long-marker-lines": (
        _j("a", "||||||||||| x", "b"),
        _j("a", "<<<<<<<<<<<<<<<<", "b"),
        _j("a", ">>>>>>>>>>>", "b"),
    ),
    "crlf-base-ours-lf-theirs": (
        _j("a", "b", "c", "d", eol="\r\n"),
        _j("a", "B", "c", "d", eol="\r\n"),
        _j("a", "X", "c", "d"),
    ),
    "crlf-everywhere": (
        _j("a", "b", "c", "d", eol="\r\n"),
        _j("a", "B", "c", "d", eol="\r\n"),
        _j("a", "X", "c", "d", eol="\r\n"),
    ),
    "crlf-theirs-only-changed-line": (
        _j("a", "b", "c", "d"),
        _j("a", "B", "c", "d"),
        b"a\nX\r\nc\nd\n",
    ),
    "crlf-sides-lf-base": (
        _j("a", "b", "c"),
        _j("a", "B", "c", eol="\r\n"),
        _j("a", "X", "c", eol="\r\n"),
    ),
    "crlf-no-final-newline": (
        b"a\r\nb\r\nc",
        b"a\r\nb\r\nC",
        b"a\r\nb\r\nZ",
    ),
    "crlf-at-start": (
        b"a\r\nb\r\n",
        b"A\r\nb\r\n",
        b"Z\r\nb\r\n",
    ),
    "lone-cr": (
        b"a\rb\nc\nd\n",
        b"a\rB\nc\nd\n",
        b"a\rX\nc\nd\n",
    ),
    "identical-change-between-conflicts": (
        _j("1", "2", "3", "4", "5", "6", "7", "8", "9"),
        _j("1o", "2", "3S", "4", "5o", "6", "7", "8", "9"),
        _j("1t", "2", "3S", "4", "5t", "6", "7", "8", "9"),
    ),
    "identical-changes-five-vs-four": (
        _j(*"abcdefghijklmnopqrstuvwxyz"),
        _j("A1", *"bc", "D", *"efg", "H1", "i", "J", "k", "L1", *"mnop", "Q1", *"rstuvwxyz"),
        _j("A2", *"bc", "D", *"efg", "H2", "i", "J", "k", "L2", *"mnop", "Q2", *"rstuvwxyz"),
    ),
    "identical-multi-line-change-gap": (
        _j(*"abcdefghij"),
        _j("A1", "b", "C", "C2", "C3", "d", "E1", *"fghij"),
        _j("A2", "b", "C", "C2", "C3", "d", "E2", *"fghij"),
    ),
    "one-sided-change-between-conflicts": (
        _j(*"abcdefghij"),
        _j("A1", "b", "C", "d", "E1", *"fghij"),
        _j("A2", "b", "c", "d", "E2", *"fghij"),
    ),
    "non-alnum-gap": (
        _j("a", "}", "}", "", "}", "}", "b", "c"),
        _j("A", "}", "}", "", "}", "}", "B", "c"),
        _j("X", "}", "}", "", "}", "}", "Y", "c"),
    ),
    "no-final-newline-conflict": (
        b"a\nb\nc",
        b"a\nb\nC",
        b"a\nb\nD",
    ),
    "no-final-newline-one-side": (
        b"a\nb\nc\n",
        b"a\nb\nC",
        b"a\nb\nD\n",
    ),
    "no-final-newline-union": (
        b"a\nb",
        b"a\nB",
        b"a\nX",
    ),
    "add-add": (b"", b"one\ntwo\n", b"one\nthree\n"),
    "add-add-crlf": (b"", b"one\r\ntwo\r\n", b"one\r\nthree\r\n"),
    "same-lines-inside-conflict": (
        _j("a", "b", "c", "d", "e"),
        _j("a", "X", "c", "same", "Y", "e"),
        _j("a", "Z", "c", "same", "W", "e"),
    ),
    "clean": (_j("a", "b", "c", "d"), _j("A", "b", "c", "d"), _j("a", "b", "c", "D")),
}


def _git(work: Path, flags: tuple[str, ...]) -> tuple[bytes, int, bytes]:
    r = subprocess.run(["git", "merge-file", "-p", *flags, "A", "O", "B"], cwd=work, capture_output=True, check=False)
    return r.stdout, r.returncode, r.stderr


def _vcrdt(cli: CliRunner, flags: tuple[str, ...]) -> tuple[bytes, int]:
    r = cli("merge-file", "-p", *flags, "A", "O", "B")
    return r.out_bytes, r.code


def _write(work: Path, base: bytes, a: bytes, b: bytes) -> None:
    for name, data in (("O", base), ("A", a), ("B", b)):
        (work / name).write_bytes(data)


@pytest.mark.parametrize("flags", FLAGS, ids=lambda f: " ".join(f) or "plain")
@pytest.mark.parametrize("case", sorted(CASES))
def test_same_bytes_and_exit_status_as_git(cli: CliRunner, case: str, flags: tuple[str, ...]) -> None:
    _write(cli.cwd, *CASES[case])
    out, code, _ = _git(cli.cwd, flags)
    assert _vcrdt(cli, flags) == (out, code)


def test_result_written_into_current_as_git_writes_it(cli: CliRunner) -> None:
    base, a, b = CASES["identical-changes-five-vs-four"]
    _write(cli.cwd, base, a, b)
    g = subprocess.run(["git", "merge-file", "A", "O", "B"], cwd=cli.cwd, capture_output=True, check=False)
    expected = (cli.cwd / "A").read_bytes()
    assert g.returncode > 1
    (cli.cwd / "A").write_bytes(a)
    r = cli("merge-file", "A", "O", "B")
    assert (r.code, (cli.cwd / "A").read_bytes()) == (g.returncode, expected)


def test_quiet_prints_nothing_even_for_errors(cli: CliRunner) -> None:
    _write(cli.cwd, *CASES["crlf-everywhere"])
    r = cli("merge-file", "-q", "A", "O", "B")
    assert (r.code, r.err) == (1, "")
    (cli.cwd / "bin").write_bytes(b"a\0b")
    r = cli("merge-file", "-q", "-p", "A", "bin", "B")
    assert (r.code, r.out, r.err) == (255, "", "")


def test_binary_refusal_in_gits_words(cli: CliRunner) -> None:
    _write(cli.cwd, *CASES["clean"])
    (cli.cwd / "bin").write_bytes(b"a\0b")
    for args in (("bin", "O", "B"), ("A", "bin", "B"), ("A", "O", "bin")):
        g = subprocess.run(["git", "merge-file", "-p", *args], cwd=cli.cwd, capture_output=True, check=False)
        r = cli("merge-file", "-p", *args)
        assert (r.code, r.out_bytes, r.err.encode()) == (g.returncode, g.stdout, g.stderr)


LINES = [
    b"a\n",
    b"b\n",
    b"c\n",
    b"d\n",
    b"}\n",
    b"\n",
    b"=======\n",
    b"<<<<<<< x\n",
    b"a\r\n",
    b"b\r\n",
    b"x\ry\n",
    b"e",
    b"f\r\n",
]


@st.composite
def _triples(draw: st.DrawFn) -> tuple[bytes, bytes, bytes, tuple[str, ...]]:
    base = draw(st.lists(st.sampled_from(LINES), max_size=14))

    def side() -> list[bytes]:
        out = list(base)
        for _ in range(draw(st.integers(0, 4))):
            i = draw(st.integers(0, len(out)))
            op = draw(st.sampled_from(["ins", "del", "sub"]))
            if op == "ins" or i == len(out):
                out.insert(i, draw(st.sampled_from(LINES)))
            elif op == "del":
                del out[i]
            else:
                out[i] = draw(st.sampled_from(LINES))
        return out

    def text(lines: list[bytes]) -> bytes:
        # Only the last line may lack its newline.
        return b"".join(ln if ln.endswith(b"\n") or i == len(lines) - 1 else ln + b"\n" for i, ln in enumerate(lines))

    return text(base), text(side()), text(side()), draw(st.sampled_from(FLAGS))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_triples())
def test_hypothesis_triples_agree_with_git(triple: tuple[bytes, bytes, bytes, tuple[str, ...]]) -> None:
    base, a, b, flags = triple
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        _write(work, base, a, b)
        out, code, _ = _git(work, flags)
        assert _vcrdt(CliRunner(work), flags) == (out, code), (base, a, b, flags)


def _git_merge_with_algorithm(work: Path, base: bytes, a: bytes, b: bytes, algorithm: str) -> bytes:
    """The file `git merge -s recursive -X diff-algorithm=ALG` leaves (labels HEAD and side)."""
    repo = work / "g"
    if repo.exists():
        shutil.rmtree(repo)
    repo.mkdir()

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=repo, capture_output=True, check=True)

    git("init", "-q", "-b", "main")
    (repo / "f").write_bytes(base)
    git("add", "f")
    git("commit", "-qm", "base")
    git("switch", "-qc", "side")
    (repo / "f").write_bytes(b)
    git("commit", "-qam", "side", "--allow-empty")
    git("switch", "-q", "main")
    (repo / "f").write_bytes(a)
    git("commit", "-qam", "main", "--allow-empty")
    subprocess.run(
        ["git", "merge", "-q", "--no-edit", "-s", "recursive", "-X", f"diff-algorithm={algorithm}", "side"],
        cwd=repo,
        capture_output=True,
        check=False,
    )
    return (repo / "f").read_bytes()


# Lines that all hold a letter (git's repository merges join conflicts without its merge-file
# rule for lines without letters or digits), with repeats so the algorithms disagree.
ALGO_LINES = [b"a\n", b"b\n", b"c\n", b"if x\n", b"end\n", b"return y\n", b"x = 1\n", b"z\n"]


@pytest.mark.parametrize("algorithm", ["myers", "minimal", "patience", "histogram"])
def test_diff_algorithm_agrees_with_git_merge(cli: CliRunner, algorithm: str) -> None:
    import random

    rng = random.Random(7)
    for _ in range(25):
        base = [rng.choice(ALGO_LINES) for _ in range(rng.randint(4, 16))]
        sides = []
        for _side in range(2):
            lines = list(base)
            for _edit in range(rng.randint(1, 4)):
                i = rng.randrange(len(lines) + 1)
                if rng.random() < 0.5 or i == len(lines):
                    lines.insert(i, rng.choice(ALGO_LINES))
                else:
                    del lines[i]
            sides.append(b"".join(lines))
        texts = b"".join(base), sides[0], sides[1]
        expected = _git_merge_with_algorithm(cli.cwd, *texts, algorithm)
        _write(cli.cwd, *texts)
        r = cli(
            "merge-file", "-p", "--diff-algorithm", algorithm, "-L", "HEAD", "-L", "base", "-L", "side", "A", "O", "B"
        )
        assert r.out_bytes == expected, (texts, algorithm)


def test_histogram_diff_matches_git_diff(tmp_path: Path) -> None:
    """The pure-Python histogram diff against `git diff --histogram`, with many repeated lines.

    Long texts over a few distinct lines make every common line occur more than 64 times, so the
    stretch falls back to Myers as git's does.
    """
    import random
    import re

    from vcrdt.diff.matchers import line_matcher

    def git_hunks(a: list[bytes], b: list[bytes]) -> list[tuple[int, int, int, int]]:
        (tmp_path / "a").write_bytes(b"".join(a))
        (tmp_path / "b").write_bytes(b"".join(b))
        args = ["git", "diff", "--no-index", "--histogram", "--no-indent-heuristic", "-U0", "a", "b"]
        out = subprocess.run(args, cwd=tmp_path, capture_output=True, check=False).stdout
        hunks = []
        for m in re.finditer(rb"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@", out, re.M):
            old, old_n, new, new_n = int(m[1]), int(m[2] or 1), int(m[3]), int(m[4] or 1)
            hunks.append((old - 1 if old_n else old, old_n, new - 1 if new_n else new, new_n))
        return hunks

    def our_hunks(a: list[bytes], b: list[bytes]) -> list[tuple[int, int, int, int]]:
        hunks, ia, ib = [], 0, 0
        for i, j, n in line_matcher("histogram")(a, b):
            if i > ia or j > ib:
                hunks.append((ia, i - ia, ib, j - ib))
            ia, ib = i + n, j + n
        return hunks

    rng = random.Random(3)
    alphabet = [b"a\n", b"b\n", b"c\n", b"d\n", b"}\n", b"\n", b"x\n"]
    for size in [25] * 150 + [300] * 15:
        a = [rng.choice(alphabet[: rng.randint(2, 7)]) for _ in range(rng.randint(0, size))]
        b = list(a)
        for _ in range(rng.randint(0, size // 5)):
            i = rng.randint(0, len(b))
            if rng.random() < 0.5 or i == len(b):
                b.insert(i, rng.choice(alphabet))
            else:
                del b[i]
        assert our_hunks(a, b) == git_hunks(a, b), (a, b)
