"""Generate `man/vcrdt.1` and `man/vcrdt-<command>.1` from the typer app's help text.

Run as ``python -m vcrdt.cli.manpages DIR``. The date and version are pinned
so the output is reproducible; `tests/cli/test_man_pages.py` regenerates the
pages and fails when the committed ones are stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

MAN_DATE = "2026-11-28"


def write_pages(target: Path) -> list[Path]:
    """Write every man page into `target`; return the files written."""
    from click_man.core import write_man_pages

    from vcrdt import __version__
    from vcrdt.cli.app import command

    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob("vcrdt*.1"):
        old.unlink()
    # A command tree of its own: click-man's contexts leave a help option without -h cached on the
    # commands they visit, which the parse table (`vcrdt.cli.argv`) would then read.
    fresh = command.__wrapped__()
    write_man_pages("vcrdt", fresh, version=__version__, target_dir=str(target), date=MAN_DATE)
    return sorted(target.glob("vcrdt*.1"))


def main() -> None:
    """Entry point: write the pages into the directory given as the first argument."""
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "man")
    for path in write_pages(target):
        sys.stderr.write(f"wrote {path}\n")


if __name__ == "__main__":
    main()
