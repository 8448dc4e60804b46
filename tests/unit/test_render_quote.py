"""`quote` and `escape_text` skip their patterns for printable text: that must never skip an unsafe character."""

from __future__ import annotations

import sys

from vcrdt.cli import render


def test_a_printable_character_is_never_one_the_patterns_escape() -> None:
    quoted, unsafe = render._pattern(True), render._pattern(False)
    for code in range(sys.maxunicode + 1):
        ch = chr(code)
        if ch.isprintable():
            assert not unsafe.search(ch), hex(code)
            assert not quoted.search(ch) or ch in '"\\', hex(code)


def test_names_and_text_are_escaped_as_before() -> None:
    assert render.quote("notes/café.txt") == "notes/café.txt"
    assert render.quote("a\u202eb") == '"a\\342\\200\\256b"'
    assert render.quote("caf\udce9") == '"caf\\351"'
    assert render.quote('say "hi"') == '"say \\"hi\\""'
    assert render.quote("a\\b") == '"a\\\\b"'
    assert render.quote("no\u00a0break") == "no\u00a0break"  # not printable, yet nothing to escape
    assert render.escape_text('a\nb \\ "c"') == 'a\\nb \\ "c"'
    assert render.escape_text("zero\u200dwidth") == "zero\u200dwidth"
