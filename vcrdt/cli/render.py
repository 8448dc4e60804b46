"""Output for the CLI: two consoles (stdout data, stderr chatter), a theme, JSON, progress.

Colour is on only when the stream is a terminal and ``NO_COLOR`` is unset
(or ``--color always``). Data goes to stdout, everything else to stderr.

rich is imported only when it has work to do: colour, a terminal, a progress
bar or a rich renderable. Uncoloured output to a pipe or a file goes through
`PlainConsole`, which writes the same bytes rich would (control codes that
rich strips are stripped; text rich would change, such as tabs or markup, is
handed to rich).
"""

from __future__ import annotations

import os
import sys
import time

from vcrdt.extensions import cache, contextmanager  # functools' and contextlib's, neither loaded

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    import re
    from collections.abc import Callable, Iterator
    from typing import Any

THEME_STYLES = {
    "oid": "yellow",
    "conflicted": "bold red",
    "ref": "bold green",
    "head": "bold cyan",
    "added": "green",
    "deleted": "red",
    "modified": "yellow",
    "untracked": "red",
    "ignored": "dim",
    "hunk": "cyan",
    "meta": "bold",
    "error": "bold red",
    "hint": "yellow",
    "warning": "yellow",
}

_color_mode = "auto"

# The control codes rich drops from any text it is given (bell, backspace, vertical tab, form feed, CR).
_STRIPPED_CONTROLS = dict.fromkeys((7, 8, 11, 12, 13))


def _strip_controls(text: str) -> str:
    return text.translate(_STRIPPED_CONTROLS)


def plain_text(text: str) -> str:
    """Return `text` without the control codes a `Text` drops (what printing it uncoloured writes).

    >>> plain_text("a\\rb\\x07c")
    'abc'
    """
    return text.translate(_STRIPPED_CONTROLS)


class Text:
    """Styled text: plain characters plus style spans, turned into a rich Text only when printed in colour.

    Mirrors the part of `rich.text.Text` the CLI uses (``Text(s, style=)``, `append`,
    `append_text`, ``+``, `plain`), so building output costs no rich import.
    """

    __slots__ = ("plain", "spans", "style")

    def __init__(self, text: str = "", style: str = "") -> None:
        self.plain = _strip_controls(text)
        self.style = style
        self.spans: list[tuple[int, int, str]] = []

    def append(self, text: str | Text, style: str | None = None) -> Text:
        """Add text (with a style) at the end; return self."""
        if isinstance(text, Text):
            return self.append_text(text)
        start = len(self.plain)
        self.plain += _strip_controls(text)
        if style:
            self.spans.append((start, len(self.plain), style))
        return self

    def append_text(self, other: Text) -> Text:
        """Add another Text (its style becomes a span) at the end; return self."""
        offset = len(self.plain)
        self.plain += other.plain
        if other.style:
            self.spans.append((offset, len(self.plain), other.style))
        self.spans.extend((start + offset, end + offset, style) for start, end, style in other.spans)
        return self

    def __add__(self, other: str | Text) -> Text:
        joined = Text(self.plain, self.style)
        joined.spans = list(self.spans)
        return joined.append(other)

    def to_rich(self) -> Any:
        """Return the equivalent `rich.text.Text`."""
        from rich.text import Span
        from rich.text import Text as RichText

        text = RichText(self.plain, style=self.style)
        text.spans = [Span(start, end, style) for start, end, style in self.spans]
        return text


def set_color_mode(mode: str) -> None:
    """Choose ``auto``, ``always`` or ``never`` before any console is created."""
    global _color_mode
    _color_mode = mode
    out.cache_clear()
    err.cache_clear()


def _want_color(stream: Any) -> bool:
    if _color_mode == "always":
        return True
    if _color_mode == "never" or "NO_COLOR" in os.environ:
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class PipeClosedError(Exception):
    """stdout's reader went away; not an OSError, so click does not turn it into exit 1."""


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _rich_console(stream: Any) -> Any:
    """A rich Console for `stream` that reports a closed pipe as `PipeClosedError` (exit 3, not rich's exit 1)."""
    from rich.console import Console
    from rich.theme import Theme

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            """Silence the stream and re-raise (rich's default exits with status 1)."""
            _silence_stdout()
            raise PipeClosedError

    color = _want_color(stream)
    return _Console(
        file=stream,
        theme=Theme(THEME_STYLES),
        color_system="auto" if color else None,
        force_terminal=color if _color_mode == "always" else None,
        no_color=not color,
        highlight=False,
        soft_wrap=True,
        emoji=False,
    )


class PlainConsole:
    """An uncoloured console: a line of text goes out as rich would write it, without importing rich.

    Anything else (a rich renderable, markup, tabs, keyword options) is handed
    to a rich Console made on first need, so the bytes never differ.
    """

    def __init__(self, stream: Any) -> None:
        """Bind to `stream`."""
        self.file = stream
        self._rich: Any = None

    def rich(self) -> Any:
        """The rich Console behind this one (imports rich)."""
        if self._rich is None:
            self._rich = _rich_console(self.file)
        return self._rich

    @property
    def is_terminal(self) -> bool:
        """Whether rich would treat the stream as a terminal."""
        isatty = getattr(self.file, "isatty", None)
        if (isatty and isatty()) or "FORCE_COLOR" in os.environ or "TTY_COMPATIBLE" in os.environ:
            return bool(self.rich().is_terminal)
        return False

    def print(self, *objects: Any, markup: bool | None = None, **options: Any) -> None:
        """Print one line, as `rich.console.Console.print` does."""
        obj = objects[0] if len(objects) == 1 else None
        if isinstance(obj, Text):
            line = obj.plain
        elif isinstance(obj, str) and not (markup is not False and "[" in obj):
            line = _strip_controls(obj)
        elif not objects:
            line = ""
        else:
            line = "\t"  # handed to rich below
        if options or "\t" in line:
            self.rich().print(*(o.to_rich() if isinstance(o, Text) else o for o in objects), markup=markup, **options)
            return
        try:
            self.file.write(line + "\n")
            self.file.flush()
        except BrokenPipeError:
            _silence_stdout()
            raise PipeClosedError from None


def _console(stream: Any) -> Any:
    if _want_color(stream):
        return _rich_console(stream)
    return PlainConsole(stream)


@cache
def out() -> Any:
    """The console for data (stdout): a rich Console when colouring, else a `PlainConsole`."""
    return _console(sys.stdout)


@cache
def err() -> Any:
    """The console for progress, warnings and errors (stderr): rich when colouring, else a `PlainConsole`."""
    return _console(sys.stderr)


class DataOut:
    """Data lines for stdout: through rich when colouring, else written as plain text.

    Rich costs about 0.3 ms a line; `log` of a thousand commits is six thousand
    lines, so uncoloured output (pipes, scripts, NO_COLOR) skips it.
    """

    def __init__(self) -> None:
        """Bind to stdout as it is now."""
        self._console = out() if color_enabled() else None  # a rich Console
        self._write = sys.stdout.write

    @property
    def is_plain(self) -> bool:
        """True when lines go out as plain text (no colour): callers may then skip building rich Texts."""
        return self._console is None

    def write_lines(self, lines: list[str]) -> None:
        """Write plain lines in one call (styles are not applied: for uncoloured output, or unstyled text)."""
        if self._console is not None:
            for line in lines:
                self.print(line)
            return
        try:
            self._write("\n".join(lines) + "\n")
        except BrokenPipeError:
            _silence_stdout()
            raise PipeClosedError from None

    def write_text(self, text: str) -> None:
        """Write text as it is, for uncoloured output (callers check `is_plain`; through rich otherwise)."""
        if self._console is not None:
            for line in text.removesuffix("\n").split("\n"):
                self.print(line)
            return
        try:
            self._write(text)
        except BrokenPipeError:
            _silence_stdout()
            raise PipeClosedError from None

    def print(self, text: Text | str = "") -> None:
        """Write one line (a rich Text keeps its styles when colouring; a str is never read as markup)."""
        try:
            if self._console is not None:
                self._console.print((text if isinstance(text, Text) else Text(text)).to_rich())
            else:
                self._write((text.plain if isinstance(text, Text) else text) + "\n")
        except BrokenPipeError:
            _silence_stdout()
            raise PipeClosedError from None


def data() -> DataOut:
    """Return the writer for data on stdout."""
    return DataOut()


def color_enabled() -> bool:
    """Tell whether stdout gets colour."""
    return _want_color(sys.stdout)


def emit_json(value: Any) -> None:
    """Print one JSON document on stdout (bypassing rich), as ``json.dumps(value, indent=2, ensure_ascii=False)``."""
    from vcrdt import jsontext  # not json: it loads re and enum, more than a small command's own work

    sys.stdout.write(jsontext.dumps_indented(value) + "\n")


def write_bytes(data: bytes) -> None:
    """Write raw bytes to stdout (file contents may not be UTF-8)."""
    try:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    except BrokenPipeError:
        _silence_stdout()
        raise PipeClosedError from None


# What a name must not carry raw to a terminal: C0 and C1 control characters and DEL, the
# bidirectional-text controls (they reorder what is shown), line and paragraph separators, and
# surrogates (bytes that are not UTF-8, carried by surrogateescape).
# Every one of them is a character `str.isprintable` refuses (Cc, Cf, Zl, Zp, Cs), so a printable
# name is shown as it is without the patterns, which are compiled on first use: compiling them costs
# more than a whole status of a clean tree spends in its own code.
_UNSAFE = "\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff"


@cache
def _pattern(quoted: bool) -> re.Pattern[str]:
    """The characters `quote` (`quoted`) or `escape_text` escapes."""
    import re  # here, with the patterns: `re` (with `enum`) costs a plain process millions of instructions

    return re.compile(f'[{_UNSAFE}"\\\\]' if quoted else f"[{_UNSAFE}]")


_C_ESCAPES = {"\a": "\\a", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\v": "\\v", "\f": "\\f", "\r": "\\r"}
_C_ESCAPES_QUOTED = _C_ESCAPES | {'"': '\\"', "\\": "\\\\"}


def _octal(ch: str) -> str:
    """The octal escapes of a character's bytes (an escaped non-UTF-8 byte is that byte)."""
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\{code - 0xDC00:03o}"
    return "".join(f"\\{b:03o}" for b in ch.encode("utf-8", "surrogatepass"))


def quote(name: str) -> str:
    """Return a file, branch or tag name as human output shows it, quoted as git's core.quotePath does.

    A name with a control character, a byte that is not UTF-8, a bidirectional-text
    control, ``"`` or ``\\`` is put in double quotes with C escapes (``\\n``,
    ``\\t``, ``\\"``, ``\\\\``; octal for the rest, byte by byte), so it can neither
    drive the terminal nor split into forged lines; any other name, non-ASCII
    letters included, is shown as it is. JSON output never goes through this:
    it carries the name itself.

    Args:
        name: The name (paths carry non-UTF-8 bytes with surrogateescape).

    Returns:
        The name, quoted when it needs to be.

    >>> print(quote("notes/café.txt"))
    notes/café.txt
    >>> print(quote("a\\x1b[2Jb"), quote("line\\nbreak"), quote("caf\\udce9.txt"), quote('say "hi"'))
    "a\\033[2Jb" "line\\nbreak" "caf\\351.txt" "say \\"hi\\""
    >>> print(quote("x\\u009b2J"), quote("a\\u202eb"), quote("tab\\there"))
    "x\\302\\2332J" "a\\342\\200\\256b" "tab\\there"
    """
    if name.isprintable() and '"' not in name and "\\" not in name:
        return name
    pattern = _pattern(True)
    if not pattern.search(name):
        return name
    return '"' + pattern.sub(lambda m: _C_ESCAPES_QUOTED.get(m[0]) or _octal(m[0]), name) + '"'


def escape_text(text: str) -> str:
    """Return free text (an error message, a warning) with its unsafe characters escaped, not quoted.

    Control characters, bytes that are not UTF-8 and bidirectional-text
    controls become C escapes as in `quote`; the rest, quotes and
    backslashes included, is left as it is.

    Args:
        text: The text.

    Returns:
        The text, safe to print on one line.

    >>> print(escape_text("cannot read a\\nb: no such file"))
    cannot read a\\nb: no such file
    """
    if text.isprintable():
        return text
    pattern = _pattern(False)
    if not pattern.search(text):
        return text
    return pattern.sub(lambda m: _C_ESCAPES.get(m[0]) or _octal(m[0]), text)


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_TWO_DIGITS = tuple(f"{i:02d}" for i in range(100))


def format_date(timestamp: int, tz_minutes: int) -> str:
    """Format a commit date the way git's default log does (English names, as git prints them).

    >>> format_date(0, 60)
    'Thu Jan 1 01:00:00 1970 +0100'
    >>> format_date(951782400, -90)
    'Mon Feb 28 22:30:00 2000 -0130'
    """
    # What a day and offset print around the time is made once (time.gmtime of the day's start:
    # a tenth of the cost of an aware datetime), and kept: a log prints thousands of dates, most
    # of them on a day an earlier one was on. The time of day is two divmods and a table.
    day, second = divmod(timestamp + tz_minutes * 60, 86_400)
    around = _DAY_TEXT.get((day, tz_minutes))
    if around is None:
        around = _day_text(day, tz_minutes)
    hour, second = divmod(second, 3600)
    minute, second = divmod(second, 60)
    return f"{around[0]}{_TWO_DIGITS[hour]}:{_TWO_DIGITS[minute]}:{_TWO_DIGITS[second]}{around[1]}"


# (day since the epoch, offset) -> the text before and after the time of day; cleared when full.
_DAY_TEXT: dict[tuple[int, int], tuple[str, str]] = {}
_DAY_TEXT_MAX = 4096


def _day_text(day: int, tz_minutes: int) -> tuple[str, str]:
    year, month, mday, _, _, _, weekday, _, _ = time.gmtime(day * 86_400)
    m = abs(tz_minutes)
    around = (
        f"{_DAYS[weekday]} {_MONTHS[month - 1]} {mday} ",
        f" {year} {'-' if tz_minutes < 0 else '+'}{_TWO_DIGITS[m // 60]}{_TWO_DIGITS[m % 60]}",
    )
    if len(_DAY_TEXT) >= _DAY_TEXT_MAX:
        _DAY_TEXT.clear()
    _DAY_TEXT[day, tz_minutes] = around
    return around


def iso_date(timestamp: int, tz_minutes: int) -> str:
    """Format a date as ISO 8601 with its offset.

    >>> iso_date(0, 0)
    '1970-01-01T00:00:00+00:00'
    """
    from datetime import datetime, timedelta, timezone

    return datetime.fromtimestamp(timestamp, timezone(timedelta(minutes=tz_minutes))).isoformat()


@contextmanager
def progress(label: str, *, enabled: bool = True) -> Iterator[Callable[[int, int], None]]:
    """Show a progress bar on stderr (only on a terminal) and yield its update callback."""
    console = err()
    if not enabled or not console.is_terminal:
        yield lambda done, total: None
        return
    if isinstance(console, PlainConsole):
        console = console.rich()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update
