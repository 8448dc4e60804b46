"""The editor: `commit` without -m, `commit --amend`, `revert` and `merge` open it on a message, `resolve -i` on a hunk.

The editor is ``$VCRDT_EDITOR``, then ``$VISUAL``, then ``$EDITOR``, then ``vi``,
run as git runs it (through ``sh -c``, so it may carry arguments) on
``.vcrdt/COMMIT_EDITMSG`` holding a template: the proposed message, then
``#`` lines saying what is being recorded. Lines starting with ``#`` are
stripped from what is saved; an empty message aborts with git's words.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from vcrdt.cli.codes import ExitCode
from vcrdt.errors import EmptyMessageError, VcrdtError

EMPTY_MESSAGE = "Aborting commit due to empty commit message."


def editor_command(config: str | None = None) -> str:
    """The editor to run: ``$VCRDT_EDITOR``, ``$VISUAL``, ``$EDITOR``, config ``core.editor``, then ``vi``."""
    for name in ("VCRDT_EDITOR", "VISUAL", "EDITOR"):
        value = os.environ.get(name)
        if value:
            return value
    return config or "vi"


def template(message: str, lines: list[str]) -> str:
    """The text the editor opens: `message`, a blank line, then each of `lines` as a ``#`` comment."""
    body = message.rstrip("\n")
    comments = "\n".join(f"# {line}".rstrip() for line in lines)
    return (body + "\n" if body else "\n") + "\n" + comments + "\n"


def strip_comments(text: str) -> str:
    """Drop ``#`` lines and surrounding blank lines; return the message ('' when nothing is left)."""
    kept = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n") if not line.startswith("#")]
    return "\n".join(kept).strip("\n") + "\n" if any(kept) else ""


def edit(meta: Path, text: str, *, config: str | None = None) -> str:
    """Open the editor on `text` (in ``meta/COMMIT_EDITMSG``); return the message saved, comments stripped.

    Args:
        meta: The repository's ``.vcrdt`` directory.
        text: The template.
        config: The ``core.editor`` setting, if any.

    Returns:
        The message.

    Raises:
        VcrdtError: If the editor cannot be run or fails.
        EmptyMessageError: If the message saved is empty.
    """
    path = meta / "COMMIT_EDITMSG"
    path.write_text(text, encoding="utf-8")
    _run(path, config, hint="set VCRDT_EDITOR, VISUAL or EDITOR, or pass the message with -m")
    try:
        saved = path.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError as exc:
        raise VcrdtError(f"cannot read the message back from {path}: {exc.strerror}") from exc
    message = strip_comments(saved)
    if not message.strip():
        raise EmptyMessageError(EMPTY_MESSAGE)
    return message


def edit_bytes(path: Path, data: bytes, *, config: str | None = None) -> bytes:
    """Open the editor on `data` in the file `path`; return what was saved, exactly (nothing stripped).

    For file content (a conflict hunk to resolve), where a ``#`` line is text like any other.

    Args:
        path: The scratch file to write, edit and read back (inside ``.vcrdt``).
        data: What the editor opens.
        config: The ``core.editor`` setting, if any.

    Returns:
        The bytes saved.

    Raises:
        VcrdtError: If the editor cannot be run or fails, or the file cannot be read back.
    """
    path.write_bytes(data)
    try:
        _run(path, config, hint="set VCRDT_EDITOR, VISUAL or EDITOR")
        try:
            return path.read_bytes()
        except OSError as exc:
            raise VcrdtError(f"cannot read the edited text back from {path}: {exc.strerror}") from exc
    finally:
        path.unlink(missing_ok=True)


def _run(path: Path, config: str | None, *, hint: str) -> None:
    """Run the editor on `path` as git does (``sh -c``, so it may carry arguments) and wait for it."""
    editor = editor_command(config)
    try:
        done = subprocess.run(["sh", "-c", f'{editor} "$@"', editor, str(path)], check=False)
    except OSError as exc:
        raise VcrdtError(f"cannot run the editor {editor!r}: {exc.strerror}") from exc
    if done.returncode != 0:
        raise VcrdtError(f"there was a problem with the editor {editor!r} (exit {done.returncode})", hint=hint)


def report_empty(exc: EmptyMessageError) -> int:
    """Print git's words for an empty message on stderr; return the exit code (1)."""
    import sys

    sys.stderr.write(f"{exc}\n")
    return int(ExitCode.FAILURE)
