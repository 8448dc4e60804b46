"""Named diff3 situations (git merge-file semantics)."""

from __future__ import annotations

import pytest

from vcrdt.diff.xdiff import xdiff_matcher
from vcrdt.merge.diff3 import merge_bytes, myers_matcher, split_lines

CASES = {
    # name: (base, ours, theirs, expected clean result or None for a conflict)
    "one side changes": ("a\nb\nc\n", "a\nB\nc\n", "a\nb\nc\n", "a\nB\nc\n"),
    "both change far apart": ("a\nb\nc\nd\ne\n", "A\nb\nc\nd\ne\n", "a\nb\nc\nd\nE\n", "A\nb\nc\nd\nE\n"),
    "one unchanged line between": ("a\nb\nc\n", "A\nb\nc\n", "a\nb\nC\n", "A\nb\nC\n"),
    "adjacent edits conflict": ("a\nb\nc\nd\n", "a\nB\nc\nd\n", "a\nb\nC\nd\n", None),
    "identical change": ("a\nb\nc\n", "a\nX\nc\n", "a\nX\nc\n", "a\nX\nc\n"),
    "identical insertion": ("a\nb\n", "a\nX\nb\n", "a\nX\nb\n", "a\nX\nb\n"),
    "different insertions at one point": ("a\nb\n", "a\nX\nb\n", "a\nY\nb\n", None),
    "insert next to an edit": ("a\nb\nc\n", "a\nX\nb\nc\n", "a\nB\nc\n", None),
    "delete against edit": ("a\nb\nc\nd\n", "a\nc\nd\n", "a\nb\nC\nd\n", None),
    "both delete the same line": ("a\nb\nc\n", "a\nc\n", "a\nc\n", "a\nc\n"),
    "change at start and end": ("a\nb\nc\nd\n", "A\nb\nc\nd\n", "a\nb\nc\nD\n", "A\nb\nc\nD\n"),
    "both append differently": ("a\n", "a\nX\n", "a\nY\n", None),
    "empty base, same additions": ("", "x\n", "x\n", "x\n"),
    "empty base, different additions": ("", "x\n", "y\n", None),
    "drop final newline vs edit of line 1": ("a\nb\nc\n", "a\nb\nc", "A\nb\nc\n", "A\nb\nc"),
    "drop final newline vs edit of last line": ("a\nb\nc\n", "a\nb\nc", "a\nb\nC\n", None),
    "crlf file, edits apart": (
        "a\r\nb\r\nc\r\nd\r\n",
        "A\r\nb\r\nc\r\nd\r\n",
        "a\r\nb\r\nc\r\nD\r\n",
        "A\r\nb\r\nc\r\nD\r\n",
    ),
}


@pytest.mark.parametrize("matcher", [myers_matcher, xdiff_matcher], ids=["myers", "xdiff"])
@pytest.mark.parametrize("name", list(CASES))
def test_named_situations(name: str, matcher: object) -> None:
    base, ours, theirs, expected = (x.encode() if x is not None else None for x in CASES[name])
    assert base is not None and ours is not None and theirs is not None
    merged, conflicts = merge_bytes(base, ours, theirs, matcher=matcher)  # type: ignore[arg-type]
    if expected is None:
        assert conflicts >= 1, merged
        assert b"<<<<<<< ours\n" in merged or b"<<<<<<< ours\r\n" in merged
    else:
        assert (merged, conflicts) == (expected, 0)


def test_textbook_render_styles() -> None:
    base, ours, theirs = b"1\n2\n3\n4\n5\n", b"1\nX\nc\nY\n5\n", b"1\nX\nc\nZ\n5\n"
    merge, _ = merge_bytes(base, ours, theirs, style="merge")
    assert merge == b"1\nX\nc\n<<<<<<< ours\nY\n=======\nZ\n>>>>>>> theirs\n5\n"
    diff3, _ = merge_bytes(base, ours, theirs, style="diff3")
    assert diff3 == (b"1\n<<<<<<< ours\nX\nc\nY\n||||||| base\n2\n3\n4\n=======\nX\nc\nZ\n>>>>>>> theirs\n5\n")
    zdiff3, _ = merge_bytes(base, ours, theirs, style="zdiff3")
    assert zdiff3 == b"1\nX\nc\n<<<<<<< ours\nY\n||||||| base\n2\n3\n4\n=======\nZ\n>>>>>>> theirs\n5\n"


def test_markers_stay_seven_long_beside_marker_like_lines() -> None:
    """A reStructuredText underline of 7 or more "=" does not lengthen the markers (git keeps 7)."""
    base = b"Title\n=======\nb\n"
    ours = b"Title\n=======\nB\n"
    theirs = b"Title\n=======\nC\n"
    merged, n = merge_bytes(base, ours, theirs)
    assert (merged, n) == (b"Title\n=======\n<<<<<<< ours\nB\n=======\nC\n>>>>>>> theirs\n", 1)
    merged, n = merge_bytes(base, ours, theirs, marker_len=10)
    assert merged == b"Title\n=======\n<<<<<<<<<< ours\nB\n==========\nC\n>>>>>>>>>> theirs\n"


def test_only_newline_ends_a_line() -> None:
    assert split_lines(b"a\rb\nc\r\nd\r") == [b"a\rb\n", b"c\r\n", b"d\r"]
    assert split_lines(b"a\r\nb") == [b"a\r\n", b"b"]


def test_identical_change_counts_in_the_gap_between_conflicts() -> None:
    """git joins conflicts at most 3 lines apart even when the lines between are a change both sides made."""
    base = b"1\n2\n3\n4\n5\n6\n"
    ours = b"1o\n2\nS\n4\n5o\n6\n"
    theirs = b"1t\n2\nS\n4\n5t\n6\n"
    merged, n = merge_bytes(base, ours, theirs)
    assert n == 1
    assert merged == b"<<<<<<< ours\n1o\n2\nS\n4\n5o\n=======\n1t\n2\nS\n4\n5t\n>>>>>>> theirs\n6\n"


def test_crlf_markers_only_when_both_sides_and_base_use_crlf() -> None:
    merged, _ = merge_bytes(b"a\r\nb\r\n", b"a\r\nB\r\n", b"a\nX\n")
    assert merged.startswith(b"<<<<<<< ours\n")
    merged, _ = merge_bytes(b"a\r\nb\r\n", b"a\r\nB\r\n", b"a\r\nX\r\n")
    assert merged == b"a\r\n<<<<<<< ours\r\nB\r\n=======\r\nX\r\n>>>>>>> theirs\r\n"


def test_missing_newline_inside_conflict_gets_one() -> None:
    merged, n = merge_bytes(b"a\nb", b"a\nB", b"a\nC")
    assert n == 1
    assert merged == b"a\n<<<<<<< ours\nB\n=======\nC\n>>>>>>> theirs\n"


def test_union_matches_git_merge_file_union(tmp_path: object) -> None:
    import shutil
    import subprocess
    from pathlib import Path

    from vcrdt.merge.diff3 import union_bytes

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    work = Path(str(tmp_path))
    base, ours, theirs = b"a\nb\nc\nd\n", b"a\nB\nc\nD\n", b"a\nX\nc\nY\n"
    for name, data in (("O", base), ("A", ours), ("B", theirs)):
        (work / name).write_bytes(data)
    r = subprocess.run(
        ["git", "merge-file", "-p", "--union", "A", "O", "B"], cwd=work, capture_output=True, check=False
    )
    assert union_bytes(base, ours, theirs, matcher=xdiff_matcher) == r.stdout
