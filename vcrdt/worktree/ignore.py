"""Ignore rules: ``.vcrdtignore`` files in gitignore syntax, at the root and in subdirectories."""

from __future__ import annotations

import os

from vcrdt.errors import WorktreeError
from vcrdt.paths import parent_dirs

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

IGNORE_FILE = ".vcrdtignore"


class IgnoreRules:
    """``.vcrdtignore`` files (gitignore syntax), at the root and in subdirectories.

    A line that is not a valid pattern (``!``, a trailing ``\\``) is skipped: an
    ignore file is repository content, which a fetched replica can bring. Each
    skipped line adds a message to `warnings` (``FILE:LINE: invalid pattern
    ...``) for the caller to show.
    """

    def __init__(self, root: str | os.PathLike[str], warnings: list[str] | None = None) -> None:
        """Prepare to read ignore files under `root`, adding messages to `warnings` (when given)."""
        self.root = root
        self._specs: dict[str, Any] = {}
        self.warnings = warnings if warnings is not None else []

    def _spec(self, directory: str) -> Any:
        if directory not in self._specs:
            path = (
                os.path.join(self.root, directory, IGNORE_FILE) if directory else os.path.join(self.root, IGNORE_FILE)
            )
            try:
                with open(path, encoding="utf-8", errors="surrogateescape") as fh:
                    lines = fh.read().splitlines()
                # Imported only when an ignore file exists: it costs 15 ms of start-up.
                from pathspec import GitIgnoreSpec

                try:
                    self._specs[directory] = GitIgnoreSpec.from_lines(lines)
                except ValueError:  # pathspec's pattern error: find the lines, skip them
                    name = f"{directory}/{IGNORE_FILE}" if directory else IGNORE_FILE
                    self._specs[directory] = GitIgnoreSpec.from_lines(self._valid_lines(name, lines))
            except FileNotFoundError:
                self._specs[directory] = None
            except OSError as exc:
                raise WorktreeError(path, f"cannot read ignore file: {exc.strerror}") from exc
        return self._specs[directory]

    def _valid_lines(self, name: str, lines: list[str]) -> list[str]:
        """Return the lines of ignore file `name` that are valid patterns; warn about the others."""
        from pathspec import GitIgnoreSpec

        valid = []
        for number, line in enumerate(lines, 1):
            try:
                GitIgnoreSpec.from_lines([line])
            except ValueError:
                message = f"{name}:{number}: invalid pattern {line!r} (skipped)"
                if message not in self.warnings:
                    self.warnings.append(message)
                continue
            valid.append(line)
        return valid

    def is_ignored(self, path: str, is_dir: bool = False) -> bool:
        """Tell whether `path` is ignored; the deepest ignore file that matches wins."""
        result = False
        dirs = ["", *parent_dirs(path)]
        for d in dirs:
            spec = self._spec(d)
            if spec is None:
                continue
            rel = path[len(d) + 1 :] if d else path
            check = spec.check_file(rel + "/" if is_dir else rel)
            if check.include is not None:
                result = bool(check.include)
        return result
