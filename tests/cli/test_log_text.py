"""`log`'s fast text (the default and `--oneline`, uncoloured) is the general path's text, byte for byte.

The fast path (`porcelain.log_text`: the C walk of vcrdt/porcelain/_logtext.c, or its Python twin)
against `porcelain.log` entries written by the general writer, on random histories: merges, branches,
tags (decorations), non-ASCII and control characters in messages, `-n`, `--first-parent`, `--all`
and ranges.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.cli import CliRunner
from vcrdt import porcelain
from vcrdt.cli import render
from vcrdt.cli.commands import log as log_command
from vcrdt.errors import VcrdtError
from vcrdt.porcelain import history
from vcrdt.repo import Repository, Settings

message = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12).map(
    lambda t: "m" + t
)
op = st.one_of(
    st.tuples(st.just("commit"), st.integers(0, 3), message),
    st.tuples(st.just("branch"), st.integers(0, 3), st.just("")),
    st.tuples(st.just("merge"), st.integers(0, 3), message),
    st.tuples(st.just("tag"), st.integers(0, 3), st.just("")),
)
log_args = st.tuples(
    st.sampled_from(
        [
            [],
            ["-n", "0"],
            ["-n", "1"],
            ["-n", "3"],
            ["--max-count=-2"],
            ["--first-parent"],
            ["--all"],
            ["--all", "-n", "4"],
        ]
    ),
    st.sampled_from([[], ["b1..main"], ["^b2"], ["b1"], ["t0"], ["main", "^b1"], ["b3..b2"]]),
    st.booleans(),
)


class _Plain:
    is_plain = True

    def __init__(self) -> None:
        self.out = io.StringIO()

    def write_text(self, text: str) -> None:
        self.out.write(text)


def _build(cli: CliRunner, root: Path, ops: list[tuple[str, int, str]]) -> None:
    """Each branch writes only its own file, so no merge conflicts."""
    cli.ok("init", str(root))
    cli.ok("commit", "--allow-empty", "-m", "root \u00e9t\u00e9", cwd=root)
    branches = ["main"]
    tags = 0
    for n, (kind, k, text) in enumerate(ops):
        here = branches[k % len(branches)]
        if kind == "branch":
            name = f"b{len(branches)}"
            cli.ok("branch", name, here, cwd=root)
            branches.append(name)
        elif kind == "commit":
            cli.ok("switch", here, cwd=root)
            (root / f"{here}.txt").write_text(f"{n}\n")
            cli.ok("commit", "-A", "-m", text, cwd=root)
        elif kind == "merge":
            # Both sides get a commit first: a merge commit, never a fast-forward.
            side = branches[-1] if here == "main" else here
            if side == "main":
                cli.ok("branch", f"b{len(branches)}", cwd=root)
                side = f"b{len(branches)}"
                branches.append(side)
            for name in (side, "main"):
                cli.ok("switch", name, cwd=root)
                (root / f"{name}.txt").write_text(f"{n} before a merge\n")
                cli.ok("commit", "-A", "-m", f"{name} {n}", cwd=root)
            cli.ok("merge", side, "-m", text, cwd=root)
        elif kind == "tag":
            cli.ok("tag", f"t{tags}", here, cwd=root)
            tags += 1


def _limit(args: list[str]) -> int | None:
    if "-n" in args:
        return int(args[args.index("-n") + 1])
    given = [a for a in args if a.startswith("--max-count=")]
    return int(given[0].partition("=")[2]) if given else None


def _resolvable(root: Path, revs: list[str]) -> bool:
    r = Repository(root, Settings())
    try:
        porcelain.split_range(r, revs)
    except VcrdtError:
        return False
    finally:
        r.close()
    return True


def _general(root: Path, revs: list[str], args: list[str], oneline: bool) -> str:
    con = _Plain()
    r = Repository(root, Settings())
    try:
        limit = _limit(args)
        entries = porcelain.log(
            r, revs, limit=limit, first_parent="--first-parent" in args, all_refs="--all" in args, decoded=True
        )
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(render, "data", lambda: con)
            log_command._print_log(entries, json=False, graph=False, oneline=oneline, stat=False, clock=False)
    finally:
        r.close()
    return con.out.getvalue()


def _fast(root: Path, revs: list[str], args: list[str], oneline: bool) -> str:
    out = io.StringIO()
    r = Repository(root, Settings())
    try:
        porcelain.log_text(
            r,
            revs,
            out.write,
            limit=_limit(args),
            first_parent="--first-parent" in args,
            all_refs="--all" in args,
            oneline=oneline,
            label=log_command._label,
            format_date=render.format_date,
        )
    finally:
        r.close()
    return out.getvalue()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(op, min_size=1, max_size=10), chosen=log_args)
def test_fast_text_is_the_general_text(
    cli: CliRunner, ops: list[tuple[str, int, str]], chosen: tuple[list[str], list[str], bool]
) -> None:
    args, revs, oneline = chosen
    # Each example's repository is left for pytest to remove with the test's directory: through the
    # daemon, a spare may be opening the last one's store ahead (making its WAL files) as it goes.
    root = Path(tempfile.mkdtemp(dir=cli.cwd)) / "r"
    _build(cli, root, ops)
    if not _resolvable(root, revs):
        revs = []  # a branch or tag this history lacks
    expected = _general(root, revs, args, oneline)
    assert _fast(root, revs, args, oneline) == expected
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(history, "CLogWalk", None)  # the pure-Python twin
        assert _fast(root, revs, args, oneline) == expected
    shown = cli.ok("log", *args, *(["--oneline"] if oneline else []), *revs, cwd=root).out
    assert shown == expected


@pytest.mark.parametrize("oneline", [False, True])
def test_a_negative_count_shows_nothing_as_the_general_path_does(repo: CliRunner, oneline: bool) -> None:
    repo.ok("commit", "--allow-empty", "-m", "one")
    repo.ok("commit", "--allow-empty", "-m", "two")
    extra = ["--oneline"] if oneline else []
    assert _general(repo.cwd, [], ["--max-count=-1"], oneline) == ""
    assert repo.ok("log", "--max-count=-1", *extra).out == ""
    assert repo.ok("log", "--max-count=-3", *extra).out == ""
    assert repo.ok("log", "--max-count=1", *extra).out.count("one") == 0
