"""Process exit codes, shared by every command (0 success, 1 failure, 2 usage, 3 broken pipe, 255 internal)."""

from __future__ import annotations

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from typing import Final


class ExitCode:
    """Process exit codes, shared by every command.

    Plain ints, not an `enum.IntEnum`: every command's exit goes through here, and loading
    `enum` (with `functools`' and `types`' share) costs a plain process millions of instructions.
    """

    OK: Final = 0
    FAILURE: Final = 1
    USAGE: Final = 2
    BROKEN_PIPE: Final = 3
    INTERRUPTED: Final = 130
    INTERNAL: Final = 255
