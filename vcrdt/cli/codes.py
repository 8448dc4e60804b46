"""Process exit codes, shared by every command (0 success, 1 failure, 2 usage, 3 broken pipe, 255 internal)."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Process exit codes, shared by every command."""

    OK = 0
    FAILURE = 1
    USAGE = 2
    BROKEN_PIPE = 3
    INTERRUPTED = 130
    INTERNAL = 255
