"""JSON without loading the `json` package: the protocol's small frames and the CLI's ``--json`` output.

The hello and result frames carry small JSON documents (docs/protocol.md), and a script's
``--json`` reads one document per command. The `json` package
imports `re` and `enum` when it loads: about 34 million instructions, some 8 ms, more than the
whole of a no-op session's own work, paid by both processes of every sync. `loads` and `dumps`
here run the same C code `json.loads` and `json.dumps` run (CPython's accelerator module
`_json`: its scanner and its encoder), set up as `json.JSONDecoder()` and
``json.JSONEncoder(separators=(",", ":"))`` set them up, so they read and write exactly what
those do; where `_json` is missing or its functions are not the ones expected, they are
`json.loads` and `json.dumps` themselves. `dumps_indented` writes what
``json.dumps(value, indent=2, ensure_ascii=False)`` writes (the CLI's ``--json``): json's own
indented writer is Python, made of the same pieces as here, its strings escaped in C.

A malformed document raises `ValueError` (`json.JSONDecodeError` where the scanner names the
fault: raising it loads the `json` package, on that path only).

Imports nothing from vcrdt.
"""

from __future__ import annotations

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_WHITESPACE = " \t\n\r"  # JSON's, as json.decoder's WHITESPACE pattern takes it


def _not_serializable(obj: object) -> object:
    """`json.JSONEncoder.default`: refuse what JSON cannot hold."""
    raise TypeError(f"Object of type {obj.__class__.__name__} is not JSON serializable")


class _Decoding:
    """What `_json.make_scanner` reads of a `json.JSONDecoder()`: its settings, the defaults."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    # json.decoder's _CONSTANTS: the three names JSON texts may hold for floats outside JSON.
    parse_constant = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}.__getitem__


def _c_string_writer() -> Callable[[str], str] | None:
    """`_json.encode_basestring` (JSON string literals, non-ASCII kept), or None where it is missing."""
    try:
        import _json

        escape = _json.encode_basestring
        if escape("a\u00e9\n") != '"a\u00e9\\n"':
            return None
    except (ImportError, AttributeError, TypeError):
        return None
    return escape


def _make_encoder(sort_keys: bool, separators: tuple[str, str]) -> Callable[[object, int], list[str]]:
    """The C encoder `json.dumps` makes for these settings (`_json.make_encoder`, as json's encoder calls it)."""
    import _json

    item_separator, key_separator = separators
    # markers (the circular check), default, the string writer, indent, the separators,
    # sort_keys, skipkeys, allow_nan: as json.JSONEncoder.iterencode passes them.
    encoder: Callable[[object, int], list[str]] = _json.make_encoder(
        {},
        _not_serializable,
        _json.encode_basestring_ascii,
        None,
        key_separator,
        item_separator,
        sort_keys,
        False,
        True,
    )
    return encoder


def _c_scanner() -> Callable[[str, int], tuple[object, int]] | None:
    """The C scanner `json` makes, or None where `_json` does not offer it and the encoder as `json` uses them."""
    try:
        import _json

        # typeshed types the context as a scanner; the C code reads only the attributes above.
        scanner = _json.make_scanner(_Decoding())  # type: ignore[arg-type]
        encoder = _make_encoder(False, (",", ":"))
        if encoder({"a": [1, 2.5, True, None, "\u00e9"]}, 0) is None or scanner('{"a":[1]}', 0) != ({"a": [1]}, 9):
            return None
    except (ImportError, AttributeError, TypeError, ValueError, StopIteration):
        return None
    _ENCODERS[(False, ",", ":")] = encoder
    return scanner


# The C encoders made so far, by their settings (most callers use one or two).
_ENCODERS: dict[tuple[bool, str, str], Callable[[object, int], list[str]]] = {}
_SCANNER = _c_scanner()
_STRING = _c_string_writer()


def loads(text: str) -> Any:  # as json.loads: the caller checks what it reads
    """Read a JSON document as `json.loads` reads it.

    Raises:
        ValueError: If `text` is not one JSON value, with only whitespace around it.
    """
    scan = _SCANNER
    if scan is None:
        import json

        return json.loads(text)
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = scan(text, start)
    except StopIteration as exc:
        raise ValueError(f"Expecting value: char {exc.value}") from None
    if text[end:].strip(_WHITESPACE):
        raise ValueError(f"Extra data: char {end}")
    return value


def dumps(value: object, *, sort_keys: bool = False, separators: tuple[str, str] = (",", ":")) -> str:
    """Write `value` as ``json.dumps(value, sort_keys=sort_keys, separators=separators)`` writes it (ASCII only).

    Raises:
        TypeError: If it holds something JSON cannot (as `json.dumps`).
        ValueError: If it holds itself (a circular reference).
    """
    if _SCANNER is None:  # no `_json` as `json` uses it
        import json

        return json.dumps(value, sort_keys=sort_keys, separators=separators)
    key = (sort_keys, *separators)
    encode = _ENCODERS.get(key)
    if encode is None:
        encode = _ENCODERS[key] = _make_encoder(sort_keys, separators)
    return "".join(encode(value, 0))


def dumps_indented(value: object) -> str:
    """Write `value` as ``json.dumps(value, indent=2, ensure_ascii=False)`` writes it.

    Raises:
        TypeError: If it holds something JSON cannot, or a key that is not a string, number,
            boolean or None (as `json.dumps`).
        ValueError: If it holds itself (a circular reference).
    """
    if _STRING is None:
        import json

        return json.dumps(value, indent=2, ensure_ascii=False)
    out: list[str] = []
    _write(value, 0, out, _STRING, set())
    return "".join(out)


def _key(key: object) -> str:
    """A dict key as json writes it: strings as they are, numbers, booleans and None as their JSON text."""
    if isinstance(key, str):
        return key
    if key is True:
        return "true"
    if key is False:
        return "false"
    if key is None:
        return "null"
    if isinstance(key, float):
        return _float(key)
    if isinstance(key, int):
        return int.__repr__(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {key.__class__.__name__}")


def _float(number: float) -> str:
    if number != number:
        return "NaN"
    if number == float("inf"):
        return "Infinity"
    if number == -float("inf"):
        return "-Infinity"
    return float.__repr__(number)


def _write(value: object, level: int, out: list[str], string: Callable[[str], str], open_: set[int]) -> None:
    """Append `value`'s indented text at nesting `level` to `out` (json's `_make_iterencode`, indent 2)."""
    if isinstance(value, str):
        out.append(string(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        out.append(_float(value))
    elif isinstance(value, (list, tuple, dict)):
        if not value:
            out.append("{}" if isinstance(value, dict) else "[]")
            return
        if id(value) in open_:
            raise ValueError("Circular reference detected")
        open_.add(id(value))
        inner = "\n" + "  " * (level + 1)
        if isinstance(value, dict):
            out.append("{")
            for n, (key, item) in enumerate(value.items()):
                out.append(inner if n == 0 else "," + inner)
                out.append(string(_key(key)) + ": ")
                _write(item, level + 1, out, string, open_)
            out.append("\n" + "  " * level + "}")
        else:
            out.append("[")
            for n, item in enumerate(value):
                out.append(inner if n == 0 else "," + inner)
                _write(item, level + 1, out, string, open_)
            out.append("\n" + "  " * level + "]")
        open_.discard(id(value))
    else:
        _not_serializable(value)
