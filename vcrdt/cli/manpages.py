"""Generate `man/vcrdt.1` and `man/vcrdt-<command>.1` from the typer app's help text.

Run as ``python -m vcrdt.cli.manpages DIR``. The date and version are pinned
so the output is reproducible; `tests/cli/test_man_pages.py` regenerates the
pages and fails when the committed ones are stale.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

MAN_DATE = "2026-11-28"


def name_line(help_text: str | None) -> str:
    """What a page's NAME line (and a group page's command list) says of a command: its help's first sentence.

    Lowercase, without the final full stop and never cut short, as man pages' NAME lines read.

    >>> name_line("Switch the work tree to another branch.\\n\\nLocal changes are carried over.")
    'switch the work tree to another branch'
    >>> name_line("vcrdt: a versioned store. More.")
    'a versioned store'
    >>> name_line("Print HEAD's id.")
    "print HEAD's id"
    >>> name_line("JSON output, e.g. for scripts")
    'JSON output, e.g. for scripts'
    """
    text = " ".join((help_text or "").strip().split("\n\n")[0].split())
    text = text.removeprefix("vcrdt: ")
    match = re.search(r"(?<!e\.g)(?<!i\.e)\.(\s|$)", text)
    if match:
        text = text[: match.start()]
    text = text.rstrip(".:; ")
    first = text.split(" ", 1)[0]
    if first[:1].isupper() and not first[1:2].isupper():
        text = text[0].lower() + text[1:]
    return text


def _short_help(command: Any, limit: int = 45) -> str:
    del limit  # click-man's default cuts the text at 45 characters and adds "..."
    return name_line(command.help)


def write_pages(target: Path) -> list[Path]:
    """Write every man page into `target`; return the files written."""
    from click_man import core

    from vcrdt import __version__
    from vcrdt.cli.app import command

    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob("vcrdt*.1"):
        old.unlink()
    original = core.get_short_help_str
    core.get_short_help_str = _short_help
    _forget_help_options(command())
    try:
        core.write_man_pages("vcrdt", command(), version=__version__, target_dir=str(target), date=MAN_DATE)
    finally:
        core.get_short_help_str = original
        _forget_help_options(command())
    return sorted(target.glob("vcrdt*.1"))


def _forget_help_options(cmd: Any) -> None:
    """Drop the help option click keeps on each command once made.

    click makes it with the option names of the first context that asks: ``-h, --help`` for
    a command line, ``--help`` for click-man's contexts. Forgotten before and after, the pages
    do not depend on what ran first in the process, nor does anything after on the pages.
    """
    if hasattr(cmd, "_help_option"):
        cmd._help_option = None
    for sub in getattr(cmd, "commands", {}).values():
        _forget_help_options(sub)


def main() -> None:
    """Entry point: write the pages into the directory given as the first argument."""
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "man")
    for path in write_pages(target):
        sys.stderr.write(f"wrote {path}\n")


if __name__ == "__main__":
    main()
