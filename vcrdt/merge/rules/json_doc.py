"""The ``json`` rule: a structural three-way merge of JSON documents.

The three texts are parsed (UTF-8, standard JSON; ``NaN``/``Infinity`` are
refused) and merged value by value. The two sides are never told apart as
"ours" and "theirs" while merging: they are first put in tie-break order, the
side with the smaller `TieKey` is *lo* and the other *hi* (equal keys are
ordered by their bytes), so resolving ``(O, A, B)`` and ``(O, B, A)`` gives
identical bytes. Only the audit hunks name the sides.

Method. A value changed on one side only takes that side's value; values
changed identically on both sides are taken once. When both changed it
differently:

- two objects merge key by key, recursively;
- two arrays merge as sequences of elements with diff3
  (`vcrdt.merge.diff3.iter_regions` over the elements' canonical keys). A
  run both sides changed is merged position by position when the three runs
  have one length and each position was changed by one side at most (the
  sides edited neighbouring elements), or when it is one object (or array)
  both edited in place; otherwise the base elements of the run are dropped (each
  was deleted by at least one side) and both sides' insertions are kept, lo's
  before hi's where they differ, elements both inserted taken once. That
  decision is an `AutoHunk` with outcome ``"both"`` at the run's position in
  the result; its alternatives are the base elements a side kept but lost;
- a key deleted on one side and changed on the other keeps the change (an
  `AutoHunk` whose alternative is the deleting side with empty text);
- anything else (two scalars, or a type change on both sides) is
  last-writer-wins: hi's value, recorded with lo's value as the alternative.

Causality. Given `later` (`vcrdt.merge.causality`, in a convergent merge
whose base may be older than what both sides saw), the merge asks it first
about each value, outside arrays, that the sides hold differently (two
objects are asked about key by key inside, also when one of them equals the
base: each side may hold some key's later value): a side whose value was
written after seeing the other's takes it whole, whatever the tie-break
order or the base says. Without it the rule is a pure function of the texts
and keys, as below.

Values are equal when their canonical texts are (keys sorted, compact), so a
reordering of keys alone is not a change. No canonical text is written for
that: parsed values are compared directly, which means the same thing, and
array elements get their matching keys written once each, by the json
module's C encoder, so a merge costs about as much as parsing and writing.
Numbers keep their literal text (``1.0`` stays ``1.0``; ``1.0`` and ``1.00``
are different values), so no precision is ever lost. Duplicate keys: the last value wins, at the first
occurrence's place (what `json.loads` does). The merge recurses, so a
document nested more than a few hundred levels deep gives a `Fallback`.

Presentation. Object keys: the base's order for keys that survive, then new
keys in hi's order, then lo's remaining new keys. (Hi first rather than lo:
a merge result always carries a key later than both inputs, so re-merging it
with either input keeps its order.) Layout: indentation (spaces, tabs, or one
line) and separators are detected from the base, then from hi, then from lo,
the first that shows them; CRLF and a final newline are kept if the base (or
hi when there is no base) has them. Output is UTF-8 with non-ASCII
characters written as is. A side whose value equals the base's (its layout or
key order changed at most) yields to the other side's bytes, unchanged.

Laws (``tests/property/test_rule_json_laws.py``): commutative, byte for
byte (the hunks name the sides the other way round); ``resolve(O, A, O) ==
A`` and ``resolve(O, O, B) == B`` byte for byte; ``resolve(O, R, R) == R``;
the result parses; a key only one side added is in the result. Re-merging the
result ``R`` of ``(O, A, B)`` with ``A`` or ``B``, ``R`` carrying the key
``kA.successor(kB)``, gives ``R`` back, byte for byte, for documents whose
sides hold no arrays, and for arrays whose elements are distinct values (each
inserted element new, objects edited in place keeping an ``"id"``). It does
not hold for arrays in general, and cannot with elements known only by their
value: ``O = [0]``, ``A = []`` (deletes the 0), ``B = [0, 0]`` (adds a
second 0) merge to ``R = [0]`` (the base 0 is dropped, B's new 0 kept), but
``R`` equals ``O``, so by the identity law ``resolve(O, R, A) == A == []``
(and ``resolve(O, R, B) == B``). Keeping both the identity law and "keep
insertions, drop deletions" rules out idempotence here; identity would take
element ids (a sequence CRDT), which plain JSON does not carry.

Pure: imports only the standard library, `vcrdt.crdt.order`,
`vcrdt.merge.diff3` and `vcrdt.merge.rules`; no I/O.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Literal, TypeAlias, TypeVar

from vcrdt.crdt.order import TieKey
from vcrdt.merge.diff3 import iter_regions, myers_matcher
from vcrdt.merge.rules import AutoHunk, Fallback, Outcome, Resolution


@dataclass(frozen=True, slots=True)
class _Number:
    """A JSON number, kept as its literal text."""

    text: str


class _Absent(enum.Enum):
    """No value: a key not present, or no base document."""

    ABSENT = 0


ABSENT = _Absent.ABSENT
Json: TypeAlias = "dict[str, Json] | list[Json] | str | bool | _Number | None"
Value: TypeAlias = "Json | _Absent"
_V = TypeVar("_V", bound=Value)
Side = Literal["ours", "theirs"]
# Which side's value of a key causally follows the other's: given the key's path from the root
# (object keys only) and the base's, ours' and theirs' values there; None when neither does.
KeyLater = Callable[[tuple[str, ...], Value, Value, Value], Side | None]


# --- parsing ------------------------------------------------------------------------------


class _ConstantError(ValueError):
    """``NaN``, ``Infinity`` or ``-Infinity``: accepted by Python, not JSON."""


def _reject_constant(name: str) -> Json:
    raise _ConstantError(name)


def _line_col(text: str, pos: int) -> str:
    """Return ``line L column C`` (both 1-based) of an offset.

    >>> _line_col("ab\\ncd", 4)
    'line 2 column 2'
    """
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"line {line} column {col}"


def _iter_outside_strings(text: str) -> list[int]:
    """Return the offsets of the characters of `text` that are not inside a JSON string.

    >>> _iter_outside_strings('{"a":1}')
    [0, 4, 5, 6]
    """
    out: list[int] = []
    in_string = escaped = False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        else:
            out.append(i)
    return out


def _parse(side: str, data: bytes) -> Json | Fallback:
    """Parse one side, or say (one line, with its position) why it is not JSON."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        prefix = data[: exc.start].decode("utf-8")  # valid: decoding failed only at exc.start
        where = _line_col(prefix, len(prefix))
        return Fallback(f"{side}: not valid JSON: not UTF-8 (byte 0x{data[exc.start]:02x} at {where})")
    try:
        value: Json = json.loads(text, parse_int=_Number, parse_float=_Number, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        return Fallback(f"{side}: not valid JSON: {exc.msg} ({_line_col(text, exc.pos)})")
    except _ConstantError as exc:
        name = str(exc)
        pos = next((i for i in _iter_outside_strings(text) if text.startswith(name, i)), 0)
        return Fallback(f"{side}: not valid JSON: {name} is not a JSON value ({_line_col(text, pos)})")
    except RecursionError:
        return Fallback(f"{side}: not valid JSON: nested too deeply")
    return value


def parse_document(data: bytes) -> Json | Fallback:
    """Parse a JSON document as the rule reads it (numbers kept as their text), or say why it is not one."""
    return _parse("document", data)


# --- writing ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Style:
    """How to write a document: `indent` None means all on one line."""

    indent: str | None = None
    item_sep: str = ", "
    key_sep: str = ": "
    newline: str = "\n"
    sort_keys: bool = False


_COMPACT = _Style(indent=None, item_sep=",", key_sep=":")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape_surrogates(text: str) -> str:
    r"""Escape lone surrogates (not UTF-8-encodable) as ``\uXXXX``; in JSON text they occur only inside strings.

    >>> _escape_surrogates('"é\ud800"')
    '"é\\ud800"'
    """
    if _SURROGATE.search(text) is None:
        return text
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _dump(v: Json, style: _Style, level: int = 0) -> str:
    r"""Write a value in the given style: strings with non-ASCII as is, lone surrogates escaped.

    One pass appending to a list (the whole document is written this way, so it is kept
    tight): strings through the json module's C string encoder, numbers as their literal text.
    Indented, items are separated by ``","`` and a new line whatever `item_sep` says.

    >>> _dump({"b": [_Number("1.0"), None], "a": "é"}, _Style(indent="  "))
    '{\n  "b": [\n    1.0,\n    null\n  ],\n  "a": "é"\n}'
    """
    parts: list[str] = []
    put = parts.append
    enc = encode_basestring
    key_sep, sort_keys = style.key_sep, style.sort_keys
    # seps[d] = (before the first item, between items, after the last item) of a container at depth d.
    seps: list[tuple[str, str, str]] = []

    def layout(depth: int) -> tuple[str, str, str]:
        while len(seps) <= depth:
            d = len(seps)
            if style.indent is None:
                seps.append(("", style.item_sep, ""))
            else:
                inner = style.newline + style.indent * (d + 1)
                seps.append((inner, "," + inner, style.newline + style.indent * d))
        return seps[depth]

    def write(v: Json, depth: int) -> None:
        if isinstance(v, str):
            put(enc(v))
        elif isinstance(v, _Number):
            put(v.text)
        elif v is None:
            put("null")
        elif v is True:
            put("true")
        elif v is False:
            put("false")
        elif isinstance(v, dict):
            if not v:
                put("{}")
                return
            first, sep, last = layout(depth)
            put("{")
            put(first)
            for i, k in enumerate(sorted(v) if sort_keys else v):
                if i:
                    put(sep)
                put(enc(k))
                put(key_sep)
                x = v[k]
                if isinstance(x, str):
                    put(enc(x))
                elif isinstance(x, _Number):
                    put(x.text)
                else:
                    write(x, depth + 1)
            put(last)
            put("}")
        else:
            if not v:
                put("[]")
                return
            first, sep, last = layout(depth)
            put("[")
            put(first)
            for i, x in enumerate(v):
                if i:
                    put(sep)
                if isinstance(x, str):
                    put(enc(x))
                elif isinstance(x, _Number):
                    put(x.text)
                else:
                    write(x, depth + 1)
            put(last)
            put("]")

    write(v, level)
    return _escape_surrogates("".join(parts))


def _text(v: Value) -> bytes:
    """The text an audit hunk records: compact, keys in order; empty for no value (deleted)."""
    return b"" if v is ABSENT else _dump(v, _COMPACT).encode("utf-8", "surrogatepass")


class _Keys:
    """Comparison keys of values, for one merge: equal keys exactly when the values are equal.

    Arrays are matched element by element through these keys (diff3 over them). The json
    module's C encoder writes them (compact, keys sorted, ``ensure_ascii=False``), with each
    number written as a small integer standing for its literal text, numbered in the order met
    (so only keys from one `_Keys` compare). No parsed value is a Python int, so the mapping is
    one to one. Never shown to anyone.
    """

    def __init__(self) -> None:
        self.numbers: dict[str, int] = {}
        # check_circular off: parsed JSON has no cycles.
        self._encode = json.JSONEncoder(
            ensure_ascii=False, separators=(",", ":"), sort_keys=True, check_circular=False, default=self._number
        ).encode

    def _number(self, n: object) -> int:
        assert isinstance(n, _Number)  # invariant: the only non-JSON type in a parsed value
        return self.numbers.setdefault(n.text, len(self.numbers))

    def of(self, v: Json) -> bytes:
        """The key of one value."""
        return self._encode(v).encode("utf-8", "surrogatepass")

    def along(self, base: list[Json], base_keys: list[bytes], side: list[Json]) -> list[bytes]:
        """The keys of a side's elements, taking the base's key for an element equal to the base's next one.

        Most elements of a side are the base's, in the base's order; comparing parsed values is
        much cheaper than writing a key, so each element is first compared with the base
        element after the last one matched, and written only when that fails (an equal value
        has the same key, so this is only a shortcut).
        """
        index = {k: i for i, k in enumerate(base_keys)}
        out: list[bytes] = []
        j = 0
        for v in side:
            if j < len(base) and v == base[j]:
                out.append(base_keys[j])
                j += 1
            else:
                k = self.of(v)
                out.append(k)
                j = index.get(k, j - 1) + 1  # in step again after an element the base has elsewhere
        return out


def _same_layout(a: Value, b: Value) -> bool:
    """Tell whether two values are equal with their keys in the same order (their `_text` equal)."""
    return a == b and _same_order(a, b)


def _same_order(a: Value, b: Value) -> bool:
    """Tell whether every object in `a` lists its keys as the one at the same place in `b` (`a == b`)."""
    if isinstance(a, dict):
        assert isinstance(b, dict)  # invariant: equal values
        if list(a) != list(b):
            return False
        for k, v in a.items():
            if isinstance(v, (dict, list)) and not _same_order(v, b[k]):
                return False
    elif isinstance(a, list):
        assert isinstance(b, list)  # invariant: equal values
        for u, v in zip(a, b, strict=True):
            if isinstance(u, (dict, list)) and not _same_order(u, v):
                return False
    return True


# --- layout detection -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Layout:
    """What one text shows of its layout; None where it shows nothing."""

    one_line: bool | None = None
    indent: str | None = None
    item_sep: str | None = None
    key_sep: str | None = None


# A JSON string (skipped whole) or a structural character; whitespace, numbers and literals are not matched.
_STRUCTURE = re.compile(r'"(?:[^"\\]+|\\.)*"|[{}\[\]:,]')
_AFTER_SPACE = re.compile(r"[ \t\r\n]*(.?)", re.DOTALL)
_LEADING = re.compile(r"[\r\n]*([ \t]*)")


def _after_space(text: str, pos: int) -> str:
    """The first character at or after `pos` that is not JSON whitespace ('' at the end)."""
    m = _AFTER_SPACE.match(text, pos)
    assert m is not None  # invariant: the pattern matches anywhere, possibly empty
    return m.group(1)


def _leading(text: str, pos: int) -> str:
    """The spaces and tabs that start the line after the line break at `pos`."""
    m = _LEADING.match(text, pos)
    assert m is not None  # invariant: the pattern matches anywhere, possibly empty
    return m.group(1)


def _detect(text: str) -> _Layout:
    r"""Read indentation and separators off a JSON text.

    >>> _detect('{\n\t"a": [1, 2]\n}')
    _Layout(one_line=False, indent='\t', item_sep=None, key_sep=': ')
    >>> _detect('{"a":1,"b":[]}')
    _Layout(one_line=True, indent=None, item_sep=',', key_sep=':')
    """
    text = text.strip()
    one_line: bool | None = None
    indent: str | None = None
    item_sep: str | None = None
    key_sep: str | None = None
    depth = 0
    for m in _STRUCTURE.finditer(text):
        ch, i = m.group(), m.start()
        if ch[0] == '"':
            continue
        if ch in "{[":
            if one_line is None and _after_space(text, i + 1) not in ("}", "]"):
                if text[i + 1 : i + 2] in ("\r", "\n"):
                    one_line = False
                    ws = _leading(text, i + 1)
                    indent = ws[: len(ws) // (depth + 1)]
                else:
                    one_line = True
            depth += 1
        elif ch in "}]":
            depth -= 1
        elif ch == ":" and key_sep is None:
            key_sep = ": " if text[i + 1 : i + 2] == " " else ":"
        elif ch == "," and item_sep is None and one_line:
            item_sep = ", " if text[i + 1 : i + 2] == " " else ","
        if one_line is not None and key_sep is not None and (item_sep is not None or not one_line):
            break  # nothing later can change what was found (item_sep is only read off one-line texts)
    return _Layout(one_line, indent, item_sep, key_sep)


def _style(texts: list[str], newline_from: str) -> _Style:
    """Combine what `texts` show, the first that shows each thing winning; fill in defaults."""
    one_line: bool | None = None
    indent: str | None = None
    item_sep: str | None = None
    key_sep: str | None = None
    for t in texts:
        lay = _detect(t)
        if one_line is None and lay.one_line is not None:
            one_line, indent = lay.one_line, lay.indent
        item_sep = item_sep if item_sep is not None else lay.item_sep
        key_sep = key_sep if key_sep is not None else lay.key_sep
    if item_sep is None:
        item_sep = "," if key_sep == ":" else ", "
    if key_sep is None:
        key_sep = ":" if item_sep == "," else ": "
    newline = "\r\n" if "\r\n" in newline_from else "\n"
    return _Style(
        indent=None if one_line in (None, True) else indent, item_sep=item_sep, key_sep=key_sep, newline=newline
    )


# --- merging --------------------------------------------------------------------------------


def _pointer(parent: str, token: str | int) -> str:
    """Extend an RFC 6901 JSON pointer by one reference token.

    >>> _pointer("/a~1b", "c~d")
    '/a~1b/c~0d'
    """
    return parent + "/" + str(token).replace("~", "~0").replace("/", "~1")


def _same_kind(*values: Value) -> bool:
    """Tell whether all values are objects, or all are arrays."""
    return all(isinstance(v, dict) for v in values) or all(isinstance(v, list) for v in values)


class _Merger:
    """One merge: the sides' names (lo first) and the hunks recorded so far."""

    def __init__(self, lo_name: Side, hi_name: Side, later: KeyLater | None = None) -> None:
        self.lo_name = lo_name
        self.hi_name = hi_name
        self.hunks: list[AutoHunk] = []
        self.keys = _Keys()
        self.later = later

    def value(self, b: Value, x: Value, y: Value, where: str, path: tuple[str, ...] | None = ()) -> Value:
        """Merge one value: `x` is lo's, `y` hi's, `b` the base's.

        `path` is the value's path of object keys from the root, None inside an
        array (elements have no lasting name to ask causality about).
        """
        # Parsed values compare as their canonical texts would: dicts ignore key order, numbers
        # compare by literal text, and no two JSON types are equal (no Python ints, so True != 1).
        if x == y:
            return _prefer(b, x, y)
        if self.later is not None and path is not None:
            if isinstance(x, dict) and isinstance(y, dict) and (b is ABSENT or isinstance(b, dict)):
                # Two objects are asked key by key, also when one equals the base: one side may hold
                # one key's later value and the other another's (neither object is the answer whole).
                return self.objects(b if isinstance(b, dict) else {}, x, y, where, path)
            ours, theirs = (x, y) if self.lo_name == "ours" else (y, x)
            won = self.later(path, b, ours, theirs)
            if won is not None:
                # One side's value was written after seeing the other's: it wins whole.
                return x if won == self.lo_name else y
        if x == b:
            return y
        if y == b:
            return x
        if x is ABSENT or y is ABSENT:
            # Deleted on one side, changed on the other: the change wins.
            kept, name, lost = (y, self.hi_name, self.lo_name) if x is ABSENT else (x, self.lo_name, self.hi_name)
            self._record(where, name, kept, ((lost, b""),))
            return kept
        if isinstance(x, dict) and isinstance(y, dict) and (b is ABSENT or isinstance(b, dict)):
            return self.objects(b if isinstance(b, dict) else {}, x, y, where, path)
        if isinstance(x, list) and isinstance(y, list) and (b is ABSENT or isinstance(b, list)):
            return self.arrays(b if isinstance(b, list) else [], x, y, where)
        self._record(where, self.hi_name, y, ((self.lo_name, _text(x)),))
        return y

    def objects(
        self,
        b: dict[str, Json],
        x: dict[str, Json],
        y: dict[str, Json],
        where: str,
        path: tuple[str, ...] | None = None,
    ) -> dict[str, Json]:
        """Merge two objects key by key; keys in base order, then hi's new keys, then lo's."""
        order = list(b) + [k for k in y if k not in b] + [k for k in x if k not in b and k not in y]
        out: dict[str, Json] = {}
        for k in order:
            v = self.value(
                b.get(k, ABSENT),
                x.get(k, ABSENT),
                y.get(k, ABSENT),
                _pointer(where, k),
                None if path is None else (*path, k),
            )
            if v is not ABSENT:
                out[k] = v
        return out

    def arrays(self, b: list[Json], x: list[Json], y: list[Json], where: str) -> list[Json]:
        """Merge two arrays as sequences of elements (diff3 over their canonical keys)."""
        cb = [self.keys.of(v) for v in b]
        cx, cy = self.keys.along(b, cb, x), self.keys.along(b, cb, y)
        out: list[Json] = []
        for r in iter_regions(cb, cx, cy, myers_matcher):
            zs = b[r.base_start : r.base_start + len(r.base)]
            xs = x[r.a_start : r.a_start + len(r.a)]
            ys = y[r.b_start : r.b_start + len(r.b)]
            if r.kind == "unchanged":
                out.extend(_prefer(z, u, v) for z, u, v in zip(zs, xs, ys, strict=True))
            elif r.kind == "same":
                out.extend(ys)
            elif r.kind == "a":
                out.extend(xs)
            elif r.kind == "b":
                out.extend(ys)
            elif _is_positionwise(zs, xs, ys):
                for z, u, v in zip(zs, xs, ys, strict=True):
                    merged = self.value(z, u, v, _pointer(where, len(out)), None)
                    assert merged is not ABSENT  # invariant: two present values never merge to nothing
                    out.append(merged)
            else:
                out.extend(self._both(where, len(out), zs, xs, ys, r.base, r.a, r.b))
        return out

    def _both(
        self,
        where: str,
        at: int,
        zs: list[Json],
        xs: list[Json],
        ys: list[Json],
        cz: tuple[bytes, ...],
        cx: tuple[bytes, ...],
        cy: tuple[bytes, ...],
    ) -> list[Json]:
        """Merge a run both sides changed: drop its base elements, keep both sides' insertions."""
        x_ins, x_kept = _split_insertions(cz, cx, xs)
        y_ins, y_kept = _split_insertions(cz, cy, ys)
        cxi = [self.keys.of(v) for v in x_ins]
        cyi = [self.keys.of(v) for v in y_ins]
        run: list[Json] = []
        i = j = 0
        for si, sj, n in myers_matcher(cxi, cyi):
            # Where the insertions differ, lo's come first: the tie-break order, never "ours".
            run.extend(x_ins[i:si])
            run.extend(y_ins[j:sj])
            run.extend(y_ins[sj : sj + n])  # inserted by both: taken once (hi's, equal in value)
            i, j = si + n, sj + n
        lost = tuple((name, _text(kept)) for name, kept in ((self.lo_name, x_kept), (self.hi_name, y_kept)) if kept)
        self._record(_pointer(where, at), "both", run, lost)
        return run

    def _record(
        self,
        where: str,
        outcome: Literal["ours", "theirs", "both"],
        chosen: Value,
        alternatives: tuple[tuple[str, bytes], ...],
    ) -> None:
        self.hunks.append(AutoHunk(where, "json", outcome, _text(chosen), alternatives))


def _prefer(b: Value, x: _V, y: _V) -> _V:
    """Pick between two equal values: lo's if only lo changed the layout (key order), else hi's."""
    return x if b is not ABSENT and _same_layout(y, b) else y


def _is_positionwise(zs: list[Json], xs: list[Json], ys: list[Json]) -> bool:
    """Tell whether a run both sides changed can merge element by element.

    True when the three runs have one length and at each position at most one
    side changed the element (the sides edited neighbours), or when the run is
    a single element that is an object (or an array) in all three versions
    (both edited it in place). Longer runs of containers changed on both sides
    are not aligned by position: nothing says their elements correspond.
    """
    if not (len(zs) == len(xs) == len(ys)):
        return False
    if len(zs) == 1 and _same_kind(zs[0], xs[0], ys[0]):
        return True
    for z, u, v in zip(zs, xs, ys, strict=True):
        if not (u == v or u == z or v == z):
            return False
    return True


def _split_insertions(cz: tuple[bytes, ...], cs: tuple[bytes, ...], side: list[Json]) -> tuple[list[Json], list[Json]]:
    """Split a side's run into its insertions and the base elements it kept."""
    ins: list[Json] = []
    kept: list[Json] = []
    i = 0
    for _, start, n in myers_matcher(cz, cs):
        ins.extend(side[i:start])
        kept.extend(side[start : start + n])
        i = start + n
    return ins, kept


# --- the rule -------------------------------------------------------------------------------


def resolve_json(
    base: bytes,
    ours: bytes,
    theirs: bytes,
    *,
    ours_key: TieKey,
    theirs_key: TieKey,
    later: KeyLater | None = None,
) -> Outcome:
    """Merge three versions of a JSON document structurally.

    Args:
        base: The common ancestor's bytes; empty (or only whitespace) when there
            is none, i.e. both sides added the file.
        ours: One side's bytes.
        theirs: The other side's bytes.
        ours_key: `ours`'s place in the tie-break order.
        theirs_key: `theirs`'s place in the tie-break order.
        later: Causal precedence per key (`vcrdt.merge.causality`): asked, outside
            arrays, about every value the sides hold differently, except two objects
            both changed (asked key by key inside); the side it names takes the
            value whole, before the rule. Without it, the rule alone decides.

    Returns:
        A `Resolution` with the merged document and one `AutoHunk` per value
        both sides changed differently, in document order; or a `Fallback`
        naming the first side (base, ours, theirs) that is not UTF-8 JSON.
    """
    has_base = bool(base.strip())
    parsed: list[Json] = []
    for side, data in (("base", base), ("ours", ours), ("theirs", theirs)):
        if side == "base" and not has_base:
            parsed.append(None)
            continue
        got = _parse(side, data)
        if isinstance(got, Fallback):
            return got
        parsed.append(got)
    pb, po, pt = parsed
    if ours == theirs:
        return Resolution(ours)
    # Tie-break order; equal keys fall back to the bytes, so the order never depends on argument order.
    ours_first = (ours_key, ours) < (theirs_key, theirs)
    lo_name: Side = "ours" if ours_first else "theirs"
    hi_name: Side = "theirs" if ours_first else "ours"
    (x, xt), (y, yt) = ((po, ours), (pt, theirs)) if ours_first else ((pt, theirs), (po, ours))
    b: Value = pb if has_base else ABSENT
    try:
        x_is_y, x_is_b, y_is_b = x == y, x == b, y == b
    except RecursionError:
        return Fallback("json: document nested too deeply to merge")
    # A side whose value equals the base's (a change of layout or key order at most) yields to the
    # other side's bytes as they are; equal values take hi's bytes unless only lo changed the layout.
    if x_is_y:
        return Resolution(xt if yt == base else yt)
    # Causality orders two objects key by key (`_Merger.value`); other documents are asked whole.
    by_keys = later is not None and isinstance(x, dict) and isinstance(y, dict) and isinstance(b, dict)
    if later is not None and (x_is_b or y_is_b) and not by_keys:
        won = later((), b, po, pt)
        if won is not None:
            return Resolution(ours if won == "ours" else theirs)
    if x_is_b and not by_keys:
        return Resolution(yt)
    if y_is_b and not by_keys:
        return Resolution(xt)
    merger = _Merger(lo_name, hi_name, later)
    texts = [t.decode("utf-8") for t in ((base,) if has_base else ()) + (yt, xt)]
    try:
        merged = merger.value(b, x, y, "")
        assert merged is not ABSENT  # invariant: both sides have a document
        if x_is_b or y_is_b:
            # Asked key by key, a side whose document equals the base still yields to the other's
            # bytes as they are wherever causality kept the other's values.
            if merged == y:
                return Resolution(yt, tuple(merger.hunks))
            if merged == x:
                return Resolution(xt, tuple(merger.hunks))
        out = _dump(merged, _style(texts, texts[0]))
    except RecursionError:
        return Fallback("json: document nested too deeply to merge")
    style_src = texts[0].rstrip(" \t")
    if style_src.endswith("\n"):
        out += "\r\n" if style_src.endswith("\r\n") else "\n"
    return Resolution(out.encode("utf-8"), tuple(merger.hunks))
