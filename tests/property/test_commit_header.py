"""`vcrdt.objects._commit_header` reads exactly what the canonical header pattern below matches.

The decoder read a commit's header with this regular expression until loading `re` (and the
`enum` module it imports) proved to cost a small fetch more than its own work; the header is
now read line by line. These properties hold the two to the same fields and the same end on
valid commits, on commits damaged byte by byte and line by line, on commit-shaped noise, on
headers built field by field with one near miss, and on author lines of random punctuation.
"""

from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.property.test_commit_decoder_reference import _edit_lines, any_commit, fielded, line_edits
from tests.property.test_objects_props import _mutate, commit_noise, mutations
from vcrdt.objects import Commit, _commit_header

FUZZ = settings(max_examples=400, deadline=None)

# The whole header of a canonical commit, through the empty line that ends it.
HEADER = re.compile(
    r"tree ([0-9a-f]{64})\n"
    r"((?:parent [0-9a-f]{64}\n)*)"
    r"author ([^<>\n]*) <([^<>\n]*)> (0|[1-9][0-9]{0,15}) ([+-])([0-9]{2})([0-9]{2})\n"
    r"replica ([0-9a-f]{32})\n"
    r"lamport (0|[1-9][0-9]{0,18})\n"
    r"clock ([0-9a-f]{32}=[1-9][0-9]{0,18}(?: [0-9a-f]{32}=[1-9][0-9]{0,18})*)?\n"
    r"(?:gaps ([0-9a-f]{32}=[0-9,-]+(?: [0-9a-f]{32}=[0-9,-]+)*)\n)?"
    r"(?:resolutions ([0-9a-f]{64})\n)?"
    r"(?:git ([0-9a-f]{64})\n)?"
    r"\n"
)


def assert_same(body: bytes) -> None:
    text = body.decode("utf-8", "surrogateescape")  # the decoder refuses what is not UTF-8 before this
    m = HEADER.match(text)
    assert _commit_header(text) == (None if m is None else (m.groups(), m.end()))


TAIL = "replica " + "1" * 32 + "\nlamport 1\nclock \n\n"


@FUZZ
@given(any_commit)
def test_valid_headers(commit: Commit) -> None:
    assert_same(commit.to_bytes())


@FUZZ
@given(any_commit, mutations)
def test_byte_damage(commit: Commit, ops: list[tuple[int, int, int]]) -> None:
    assert_same(_mutate(commit.to_bytes(), ops))


@FUZZ
@given(any_commit, line_edits)
def test_line_damage(commit: Commit, edits: list[tuple[int, int, str]]) -> None:
    assert_same(_edit_lines(commit.to_bytes(), edits))


@FUZZ
@given(commit_noise)
def test_commit_shaped_noise(text: str) -> None:
    assert_same(text.encode("utf-8", "surrogatepass"))


@FUZZ
@given(fielded())
def test_field_level_damage(text: str) -> None:
    assert_same(text.encode("utf-8", "surrogatepass"))


@FUZZ
@given(st.text(alphabet=" <>@ab\r\t0123456789+-:é\n", max_size=30))
@example(" <e> 0 +0000")
@example("a b <e f> 12 -0130")
@example("a<b <e> 0 +0000")
@example("a <e>> 0 +0000")
@example("a <<e> 0 +0000")
@example("a  <e> 0 +0000")
@example("a <e>  0 +0000")
@example("a <e> 01 +0000")
@example("a <e> 0 +00001")
@example("a <e> 0 +٠١٠٠")  # digits that are not ASCII
def test_author_lines(author: str) -> None:
    assert_same(("tree " + "ab" * 32 + "\nauthor " + author + "\n" + TAIL).encode("utf-8", "surrogatepass"))


LINES = [
    "gaps " + "1" * 32 + "=1-2,4",
    "gaps " + "1" * 32 + "=",
    "gaps  " + "1" * 32 + "=1",
    "resolutions " + "cd" * 32,
    "git " + "ef" * 32,
    "git " + "EF" * 32,
    "clock " + "2" * 32 + "=1",
]


@FUZZ
@given(
    st.lists(
        st.sampled_from(LINES),
        max_size=4,
    ),
    st.sampled_from(["", "clock", "clock " + "1" * 32 + "=0", "clock " + "1" * 32 + "=1 " + "2" * 32 + "=02"]),
)
def test_optional_lines(extra: list[str], clock: str) -> None:
    head = "tree " + "ab" * 32 + "\nauthor a <e> 0 +0000\nreplica " + "1" * 32 + "\nlamport 0\n"
    clock_line = (clock if clock.startswith("clock ") else "clock ") + "\n"
    assert_same((head + clock_line + "".join(f"{x}\n" for x in extra) + "\nmessage").encode("utf-8"))
