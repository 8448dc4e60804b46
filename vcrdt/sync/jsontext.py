"""JSON for the protocol's small frames, without loading the `json` package.

The hello and result frames carry small JSON documents (docs/protocol.md). The `json` package
imports `re` and `enum` when it loads: about 34 million instructions, some 8 ms, more than the
whole of a no-op session's own work, paid by both processes of every sync. `loads` and `dumps`
here run the same C code `json.loads` and `json.dumps` run (CPython's accelerator module
`_json`: its scanner and its encoder), set up as `json.JSONDecoder()` and
``json.JSONEncoder(separators=(",", ":"))`` set them up, so they read and write exactly what
those do; where `_json` is missing or its functions are not the ones expected, they are
`json.loads` and `json.dumps` themselves.

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


def _c_codec() -> tuple[Callable[[str, int], tuple[object, int]], Callable[[object, int], list[str]]] | None:
    """The C scanner and encoder as `json` makes them, or None where `_json` does not offer them so."""
    try:
        import _json

        # typeshed types the context as a scanner; the C code reads only the attributes above.
        scanner = _json.make_scanner(_Decoding())  # type: ignore[arg-type]
        encoder = _json.make_encoder(
            {}, _not_serializable, _json.encode_basestring_ascii, None, ":", ",", False, False, True
        )
        if encoder({"a": [1, 2.5, True, None, "\u00e9"]}, 0) is None or scanner('{"a":[1]}', 0) != ({"a": [1]}, 9):
            return None
    except (ImportError, AttributeError, TypeError, ValueError, StopIteration):
        return None
    return scanner, encoder


_CODEC = _c_codec()


def loads(text: str) -> Any:  # as json.loads: the caller checks what it reads
    """Read a JSON document as `json.loads` reads it.

    Raises:
        ValueError: If `text` is not one JSON value, with only whitespace around it.
    """
    if _CODEC is None:
        import json

        return json.loads(text)
    scan, _ = _CODEC
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = scan(text, start)
    except StopIteration as exc:
        raise ValueError(f"Expecting value: char {exc.value}") from None
    if text[end:].strip(_WHITESPACE):
        raise ValueError(f"Extra data: char {end}")
    return value


def dumps(value: object) -> str:
    """Write `value` as ``json.dumps(value, separators=(",", ":"))`` writes it (ASCII only).

    Raises:
        TypeError: If it holds something JSON cannot (as `json.dumps`).
        ValueError: If it holds itself (a circular reference).
    """
    if _CODEC is None:
        import json

        return json.dumps(value, separators=(",", ":"))
    _, encode = _CODEC
    return "".join(encode(value, 0))
