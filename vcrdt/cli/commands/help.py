"""`vcrdt help [COMMAND]`: the command's man page (with `man`), else its --help."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

from vcrdt.cli.base import app, typer


def man_page_dirs() -> list[Path]:
    """Where the man pages are: the installation's ``share/man/man1``, then a source checkout's ``man/``."""
    import vcrdt

    return [Path(sys.prefix) / "share" / "man" / "man1", Path(vcrdt.__file__).resolve().parent.parent / "man"]


def find_man_page(names: list[str]) -> Path | None:
    """The man page of ``vcrdt NAMES...`` (``vcrdt-daemon-start.1``), or None if none is installed."""
    page = "-".join(["vcrdt", *names]) + ".1"
    for directory in man_page_dirs():
        if (directory / page).is_file():
            return directory / page
    return None


@app.command("help")
def help_command(
    command: Annotated[
        list[str] | None,
        typer.Argument(help="The command (and subcommand, as in `help daemon start`); none: vcrdt itself."),
    ] = None,
) -> int:
    """Show a command's manual page with `man`, or its --help when `man` or the page is missing.

    The pages are installed with the package (share/man/man1 of the environment, so `man vcrdt`
    works there too); MANPAGER and PAGER choose the pager as for any man page.
    """
    import shutil
    import subprocess

    from vcrdt.cli.app import command as root
    from vcrdt.errors import VcrdtError

    names = list(command or [])
    cmd = root()
    for i, name in enumerate(names):
        sub = getattr(cmd, "commands", {}).get(name)
        if sub is None:
            what = " ".join(["vcrdt", *names[: i + 1]])
            raise VcrdtError(f"no such command: {what}", hint="`vcrdt help` lists the commands")
        cmd = sub
    page = find_man_page(names)
    man = shutil.which("man")
    if page is not None and man is not None:
        sys.stdout.flush()
        try:
            code = subprocess.call([man, "-l", str(page)])
        except OSError:
            code = -1
        if code == 0:
            return 0
    result = root().main(args=[*names, "--help"], prog_name="vcrdt", standalone_mode=False)
    return int(result) if isinstance(result, int) else 0
