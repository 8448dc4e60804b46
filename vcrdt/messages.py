"""How git shows a commit message: its subject and its indented body.

The subject is what ``log --oneline`` and ``[main 1a2b3c4d5e6f] subject`` show; the body is the
message under a commit's header in `log` and `show`. git reads a message as lines, each without
its trailing whitespace, where whitespace is its own ``isspace`` inside a line: spaces, tabs and
carriage returns (not vertical tabs, form feeds or any non-ASCII space). A blank line has nothing
else. Imports nothing.
"""

from __future__ import annotations

_SPACE = " \t\r"


def subject(message: str) -> str:
    """Return the subject: the first paragraph after any blank lines, its lines joined by one space.

    >>> subject("fix it\\n")
    'fix it'
    >>> subject("\\n\\n  fix it \\t\\nproperly\\r\\n\\nbody\\n")
    '  fix it properly'
    >>> subject("")
    ''
    """
    lines: list[str] = []
    for line in message.split("\n"):
        line = line.rstrip(_SPACE)
        if line:
            lines.append(line)
        elif lines:
            break
    return " ".join(lines)


def body(message: str) -> str:
    """Return the message as `git log` prints it under the header, without a final newline.

    Blank lines before the first line of text and after the last are left out; every line in
    between is indented by four spaces, a blank one too.

    >>> body("\\n  subject  \\n\\nbody\\t\\n\\n")
    '      subject\\n    \\n    body'
    >>> body(" \\n")
    ''
    """
    lines = [line.rstrip(_SPACE) for line in message.split("\n")]
    start, end = 0, len(lines)
    while start < end and not lines[start]:
        start += 1
    while end > start and not lines[end - 1]:
        end -= 1
    return "\n".join(["    " + (expand_tabs(line) if "\t" in line else line) for line in lines[start:end]])


def expand_tabs(line: str) -> str:
    """Replace each tab by the spaces up to the next stop of eight columns, as `git log` does.

    Columns are counted as a terminal shows the text since the previous tab (`width`). Text
    holding a control code cannot be counted: from there on the line is left as it is.

    >>> expand_tabs("a\\tb\\t\\tc")
    'a       b               c'
    >>> expand_tabs("日本\\tx")
    '日本    x'
    >>> expand_tabs("a\\tb\\x01\\tc") == "a       b\\x01\\tc"
    True
    """
    out = []
    rest = line
    while "\t" in rest:
        chunk, _, after = rest.partition("\t")
        columns = width(chunk)
        if columns is None:
            break
        out.append(chunk)
        out.append(" " * (8 - columns % 8))
        rest = after
    out.append(rest)
    return "".join(out)


def width(text: str) -> int | None:
    """The columns `text` takes on a terminal as git counts them, or None if it holds a control code.

    Wide East Asian characters take two; combining marks and format characters (but the soft
    hyphen) none. Text holding bytes that are not UTF-8 (surrogate-escaped) counts a column a
    byte.

    >>> width("abc"), width("日本"), width("e\\u0301"), width("\\ufeff"), width("a\\x7f")
    (3, 4, 1, 0, None)
    """
    if text.isascii() and text.isprintable():
        return len(text)
    total = 0
    for ch in text:
        code = ord(ch)
        if code < 0x20 or 0x7F <= code < 0xA0:
            return None
    if any("\udc80" <= ch <= "\udcff" for ch in text):
        return len(text.encode("utf-8", "surrogateescape"))
    import unicodedata  # only for text that is not plain ASCII

    for ch in text:
        code = ord(ch)
        if (
            (unicodedata.category(ch) in ("Mn", "Me", "Cf") and code != 0xAD)
            or 0x1160 <= code <= 0x11FF
            or code == 0x200B
        ):
            continue
        total += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return total
