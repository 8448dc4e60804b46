"""`Commit.from_bytes` accepts exactly what the decoder it replaced accepted, with the same errors.

The reference below is that decoder, kept verbatim: it parsed the header line by line and then
re-encoded the commit, refusing it unless that gave back the input. The current decoder matches
the header with one regular expression and checks the rest on its groups instead; these
properties hold it to the same answers (the same commit, or the same reason) on valid
encodings, on encodings damaged byte by byte, line by line and field by field, and on
commit-shaped noise.
"""

from __future__ import annotations

import re
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.property.test_objects_props import _mutate, commit_noise, commits, mutations, oids
from vcrdt.errors import CorruptObjectError
from vcrdt.ids import ZERO_ID, ObjectId, ReplicaId, from_hex, is_replica_id
from vcrdt.objects import MAX_CLOCK_ENTRIES, MAX_PARENTS, MAX_TIMESTAMP, MAX_TZ_MINUTES, Commit, Signature

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_AUTHOR_RE = re.compile(r"([^<>\n]*) <([^<>\n]*)> (0|[1-9][0-9]{0,15}) ([+-])([0-9]{2})([0-9]{2})")
_NUM_RE = re.compile(r"0|[1-9][0-9]{0,18}")


def _oid_field(text: str, what: str) -> ObjectId:
    try:
        oid = from_hex(text)
    except CorruptObjectError as exc:
        raise CorruptObjectError("commit", f"bad {what} id") from exc
    if oid == ZERO_ID:
        raise CorruptObjectError("commit", f"null {what} id")
    return oid


def _parse_clock(text: str) -> tuple[tuple[ReplicaId, int], ...]:
    if not text:
        return ()
    items = text.split(" ")
    if len(items) > MAX_CLOCK_ENTRIES:
        raise CorruptObjectError("commit", "vector clock too large")
    out: list[tuple[ReplicaId, int]] = []
    for item in items:
        r, eq, c = item.partition("=")
        if not eq or not is_replica_id(r) or not _NUM_RE.fullmatch(c) or c == "0":
            raise CorruptObjectError("commit", f"malformed vector clock entry {item[:40]!r}")
        if out and r <= out[-1][0]:
            raise CorruptObjectError("commit", "vector clock not sorted or duplicated")
        out.append((ReplicaId(r), int(c)))
    return tuple(out)


def reference_from_bytes(body: bytes) -> Commit:
    """The former `Commit.from_bytes`: line by line, then a re-encoding check."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorruptObjectError("commit", "not valid UTF-8") from exc
    if "\0" in text:
        raise CorruptObjectError("commit", "NUL byte in commit")
    head, sep, message = text.partition("\n\n")
    if not sep:
        raise CorruptObjectError("commit", "missing blank line before the message")
    lines = head.split("\n")
    pos = 0

    def take(word: str) -> str | None:
        nonlocal pos
        if pos < len(lines) and lines[pos].startswith(word + " "):
            pos += 1
            return lines[pos - 1][len(word) + 1 :]
        return None

    tree_hex = take("tree")
    if tree_hex is None:
        raise CorruptObjectError("commit", "missing tree")
    tree = _oid_field(tree_hex, "tree")
    parents: list[ObjectId] = []
    while (p := take("parent")) is not None:
        parents.append(_oid_field(p, "parent"))
    if len(parents) > MAX_PARENTS:
        raise CorruptObjectError("commit", f"more than {MAX_PARENTS} parents")
    if len(set(parents)) != len(parents):
        raise CorruptObjectError("commit", "duplicate parent")
    author_text = take("author")
    if author_text is None:
        raise CorruptObjectError("commit", "missing author")
    m = _AUTHOR_RE.fullmatch(author_text)
    if m is None:
        raise CorruptObjectError("commit", "malformed author line")
    hours, minutes = int(m.group(5)), int(m.group(6))
    offset = hours * 60 + minutes
    if minutes >= 60 or offset > MAX_TZ_MINUTES:
        raise CorruptObjectError("commit", "bad time-zone offset")
    if m.group(4) == "-":
        if offset == 0:
            raise CorruptObjectError("commit", "negative zero time-zone offset")
        offset = -offset
    timestamp = int(m.group(3))
    if timestamp > MAX_TIMESTAMP:
        raise CorruptObjectError("commit", "timestamp out of range")
    author = Signature(m.group(1), m.group(2), timestamp, offset)
    replica = take("replica")
    if replica is None or not is_replica_id(replica):
        raise CorruptObjectError("commit", "missing or malformed replica id")
    lamport_text = take("lamport")
    if lamport_text is None or not _NUM_RE.fullmatch(lamport_text):
        raise CorruptObjectError("commit", "missing or malformed lamport clock")
    clock_text = take("clock")
    if clock_text is None:
        raise CorruptObjectError("commit", "missing vector clock")
    resolutions_hex = take("resolutions")
    resolutions = _oid_field(resolutions_hex, "resolutions") if resolutions_hex is not None else None
    if resolutions is not None and len(parents) < 2:
        raise CorruptObjectError("commit", "resolutions on a commit that is not a merge")
    if pos != len(lines):
        raise CorruptObjectError("commit", f"unexpected header line {lines[pos][:40]!r}")
    clock = _parse_clock(clock_text)
    commit = Commit(tree, tuple(parents), author, message, ReplicaId(replica), int(lamport_text), clock, resolutions)
    if commit.to_bytes() != body:
        raise CorruptObjectError("commit", "not in canonical form")
    return commit


def _outcome(decode: object, body: bytes) -> tuple[str, object]:
    assert callable(decode)
    try:
        return "ok", decode(body)
    except CorruptObjectError as exc:
        return "error", (exc.what, exc.reason)


def assert_same_as_reference(body: bytes) -> None:
    """The decoder gives what the reference gives: an equal commit, or an error with the same reason."""
    assert _outcome(Commit.from_bytes, body) == _outcome(reference_from_bytes, body)


# Merges that rules settled carry a resolutions line; the shared strategy never sets one.
merges = st.builds(
    lambda c, parents, res: Commit(c.tree, tuple(parents), c.author, c.message, c.replica, c.lamport, c.clock, res),
    commits,
    st.lists(oids, min_size=2, max_size=4, unique=True),
    st.one_of(st.none(), oids),
)
any_commit = st.one_of(commits, merges)

# Line-level damage: drop, repeat, swap or rewrite one header line (values from near misses).
near_misses = st.sampled_from(
    [
        "",
        " ",
        "0",
        "00",
        "01",
        "-0000",
        "+0000",
        "+1400",
        "+1401",
        "-1400",
        "+0060",
        str(MAX_TIMESTAMP),
        str(MAX_TIMESTAMP + 1),
        "9" * 19,
        "1" * 20,
        "aa" * 32,
        "AA" * 32,
        "00" * 32,
        "1" * 32,
        "1" * 32 + "=0",
        "1" * 32 + "=1 " + "1" * 32 + "=2",
        "2" * 32 + "=1 " + "1" * 32 + "=2",
        "1" * 32 + "=1 ",
        "a <b> 0 +0000",
        "a <b> 0 -0000",
        "a<b> 0 +0000",
        "\r",
    ]
)
line_edits = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 100), st.one_of(near_misses, st.text(max_size=8))),
    min_size=1,
    max_size=3,
)


def _edit_lines(body: bytes, edits: list[tuple[int, int, str]]) -> bytes:
    head, _, message = body.decode("utf-8").partition("\n\n")
    lines = head.split("\n")
    for op, where, value in edits:
        i = where % len(lines)
        word = lines[i].split(" ", 1)[0]
        if op == 0:
            del lines[i]
        elif op == 1:
            lines.insert(i, lines[i])
        elif op == 2:
            j = (i + 1) % len(lines)
            lines[i], lines[j] = lines[j], lines[i]
        else:
            lines[i] = f"{word} {value}"
        if not lines:
            lines = [""]
    return ("\n".join(lines) + "\n\n" + message).encode("utf-8", "surrogatepass")


@FUZZ
@given(any_commit)
@example(Commit(ObjectId(b"\x01" * 32), (), Signature("", "", 0, -1), "", ReplicaId("0" * 32), 0, ()))
def test_valid_encodings_decode_as_before(commit: Commit) -> None:
    assert_same_as_reference(commit.to_bytes())
    assert Commit.from_bytes(commit.to_bytes()) == commit


@FUZZ
@given(any_commit, mutations)
def test_byte_damage_is_judged_as_before(commit: Commit, ops: list[tuple[int, int, int]]) -> None:
    assert_same_as_reference(_mutate(commit.to_bytes(), ops))


@FUZZ
@given(any_commit, line_edits)
def test_line_damage_is_judged_as_before(commit: Commit, edits: list[tuple[int, int, str]]) -> None:
    assert_same_as_reference(_edit_lines(commit.to_bytes(), edits))


@FUZZ
@given(commit_noise)
def test_commit_shaped_noise_is_judged_as_before(text: str) -> None:
    assert_same_as_reference(text.encode("utf-8", "surrogatepass"))


# Headers built field by field with every field valid, or all but one, which gets a near miss,
# so that a body breaks exactly one rule: in particular the rules the regular expression cannot
# express (ids not all zero, distinct parents, the time-zone and timestamp limits, resolutions
# only on merges, clock keys increasing).
valid_ids = st.sampled_from(["aa" * 32, "bb" * 32, "cc" * 32])
keys = st.sampled_from(["1" * 32, "2" * 32, "3" * 32])
VALID: dict[str, st.SearchStrategy[Any]] = {
    "tree": valid_ids,
    "parents": st.lists(valid_ids, max_size=3, unique=True),
    "name": st.sampled_from(["", "Ada", "Ada ", " "]),
    "seconds": st.integers(0, MAX_TIMESTAMP).map(str),
    "tz": st.builds(lambda sign, m: f"{sign}{m // 60:02d}{m % 60:02d}", st.sampled_from("+-"), st.integers(1, 840))
    | st.just("+0000"),
    "replica": keys,
    "lamport": st.integers(0, 10**19 - 1).map(str),
    "clock": st.dictionaries(keys, st.integers(1, 99), max_size=3).map(
        lambda d: " ".join(f"{k}={n}" for k, n in sorted(d.items()))
    ),
    "resolutions": st.none(),
}
near_ids = st.sampled_from(["00" * 32, "AA" * 32, "a" * 63, "aa" * 32 + " "])
NEAR: dict[str, st.SearchStrategy[Any]] = {
    "tree": near_ids,
    "parents": st.one_of(
        st.lists(valid_ids, min_size=2, max_size=4),  # often a repeat
        st.lists(valid_ids | near_ids, min_size=1, max_size=3),
        near_ids.map(lambda oid: [oid]),  # a single parent, the common case
        st.just([f"{i + 1:064x}" for i in range(MAX_PARENTS + 1)]),
    ),
    "name": st.sampled_from(["a<b", "a>b", "\0"]),
    "seconds": st.sampled_from(["01", "-1", "", str(MAX_TIMESTAMP + 1), "9" * 16, "9" * 17]),
    "tz": st.sampled_from(["+0060", "+1360", "-0099", "+1401", "-1500", "+2400", "-0000", "+100", "0100", "+01:00"])
    | st.builds(
        lambda sign, hh, mm: f"{sign}{hh:02d}{mm:02d}", st.sampled_from("+-"), st.integers(0, 25), st.integers(0, 99)
    ),
    "replica": st.sampled_from(["G" * 32, "1" * 31, "1" * 33]),
    "lamport": st.sampled_from(["01", "-1", "", "1" * 20]),
    "clock": st.lists(
        st.tuples(keys | st.just("G" * 32), st.sampled_from(["1", "2", "0", "02"])), min_size=1, max_size=4
    ).map(lambda items: " ".join(f"{k}={n}" for k, n in items))
    | st.lists(keys, min_size=2, max_size=4).map(lambda ks: " ".join(f"{k}=1" for k in ks)),  # order and repeats
    "resolutions": st.sampled_from(["00" * 32, "AA" * 32, "aa" * 32]),
}


@st.composite
def fielded(draw: st.DrawFn) -> str:
    """A commit text with every field valid, or all but one, which gets a near-miss value."""
    broken = draw(st.sampled_from([*NEAR, None]))
    f = {name: draw(NEAR[name] if name == broken else VALID[name]) for name in VALID}
    if broken == "resolutions" and draw(st.sampled_from([True, True, False])):
        f["parents"] = draw(st.lists(valid_ids, min_size=2, max_size=3, unique=True))
    return (
        f"tree {f['tree']}\n"
        + "".join(f"parent {p}\n" for p in f["parents"])
        + f"author {f['name']} <e@x> {f['seconds']} {f['tz']}\n"
        + f"replica {f['replica']}\nlamport {f['lamport']}\nclock {f['clock']}\n"
        + (f"resolutions {f['resolutions']}\n" if f["resolutions"] is not None else "")
        + "\n"
        + draw(st.text(max_size=10))
    )


@FUZZ
@given(fielded())
@example("tree " + "aa" * 32 + "\nauthor a <e> 0 -0000\nreplica " + "1" * 32 + "\nlamport 1\nclock \n\n")
def test_field_level_damage_is_judged_as_before(text: str) -> None:
    assert_same_as_reference(text.encode("utf-8", "surrogatepass"))
