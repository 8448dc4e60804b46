"""The single exception tree of vcrdt.

Every failure the core reports is a `VcrdtError` subclass. `str(err)` reads as
one lowercase clause with no trailing period; an optional `hint` suggests what
to do next. The CLI edge turns these into `error: ...` / `hint: ...` lines and
an exit code. Conflicts are values, never exceptions.

This module is a leaf: it imports no other vcrdt module.
"""

from __future__ import annotations


class VcrdtError(Exception):
    """Root of every error vcrdt raises on purpose.

    The exit status it ends a command with is the CLI's policy (1, unless a
    command's contract says otherwise, as `merge-file`'s 255 does), not the
    error's.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        """Create an error.

        Args:
            message: One lowercase clause, no trailing period.
            hint: Optional advice shown on a separate `hint:` line.
        """
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        """Return the one-line message."""
        return self.message


# --- repository --------------------------------------------------------------


class RepoError(VcrdtError):
    """The repository cannot be opened or used as asked."""


class NotARepositoryError(RepoError):
    """No `.vcrdt` directory was found."""

    def __init__(self, path: str, *, message: str | None = None, hint: str | None = None) -> None:
        """Create the error for the directory searched from (or another `message` and `hint` about it)."""
        super().__init__(
            message or f"not a vcrdt repository (or any parent up to /): {path}",
            hint=hint or "run `vcrdt init` to create one",
        )
        self.path = path


class RepoExistsError(RepoError):
    """`init` found an existing repository."""

    def __init__(self, path: str) -> None:
        """Create the error for the existing repository's directory."""
        super().__init__(f"repository already exists in {path}")
        self.path = path


class RepoBusyError(RepoError):
    """Another process holds the write lock for longer than the busy timeout."""

    def __init__(self, detail: str = "") -> None:
        """Create the error."""
        super().__init__(
            "repository is busy" + (f" ({detail})" if detail else ""),
            hint="another vcrdt process is writing; try again when it has finished",
        )


class DiskFullError(RepoError):
    """The disk holding the repository is full (usually the write was rolled back: nothing changed)."""

    def __init__(self, path: str, *, rolled_back: bool = True) -> None:
        """Create the error naming the file that could not be written, and whether its writes were undone."""
        super().__init__(
            f"disk full: cannot write {path}" + ("; nothing was changed" if rolled_back else ""),
            hint="free some disk space, then run the command again",
        )
        self.path = path


class UnsupportedFormatError(RepoError):
    """The repository was written by an incompatible version."""


class WorktreeError(RepoError):
    """A work-tree file cannot be read or written as asked."""

    def __init__(self, path: str, reason: str, *, hint: str | None = None) -> None:
        """Create the error naming the work-tree path."""
        super().__init__(f"{path}: {reason}", hint=hint)
        self.path = path


class BadPathError(RepoError):
    """A path breaks a path rule (dot-dot, absolute, metadata directory, ...)."""

    def __init__(self, path: str, rule: str) -> None:
        """Create the error naming the path and the rule it breaks."""
        super().__init__(f"invalid path {path!r}: {rule}")
        self.path = path
        self.rule = rule


class IgnoredPathsError(RepoError):
    """Paths given to add are ignored by a .vcrdtignore file (add them with --force)."""

    def __init__(self, paths: list[str]) -> None:
        """Create the error naming every ignored path."""
        super().__init__(
            f"the following paths are ignored by one of your .vcrdtignore files: {', '.join(paths)}",
            hint="use -f if you really want to add them",
        )
        self.paths = paths


class DirtyWorktreeError(RepoError):
    """An operation would overwrite uncommitted changes."""


class NothingToCommitError(RepoError):
    """`commit` found no change and `--allow-empty` was not given."""


class IdentityError(RepoError):
    """No author name or e-mail is configured."""


class EmptyMessageError(RepoError):
    """The message saved in the editor was empty: nothing is recorded (git's wording, no ``error:`` prefix)."""


# --- objects -------------------------------------------------------------------


class ObjectError(VcrdtError):
    """An object is missing, malformed or does not match its id."""


class ObjectNotFoundError(ObjectError):
    """No object with the given id is in the store."""

    def __init__(self, oid_hex: str) -> None:
        """Create the error naming the missing object."""
        super().__init__(f"object {oid_hex} not found")
        self.oid_hex = oid_hex


class CorruptObjectError(ObjectError):
    """Bytes do not decode as a valid object."""

    def __init__(self, what: str, reason: str) -> None:
        """Create the error naming the object (or input) and the rule broken."""
        super().__init__(f"corrupt object {what}: {reason}")
        self.what = what
        self.reason = reason


class HashMismatchError(ObjectError):
    """Stored bytes hash to a different id than they are filed under."""

    def __init__(self, expected_hex: str, actual_hex: str) -> None:
        """Create the error naming both ids."""
        super().__init__(f"object {expected_hex} hashes to {actual_hex}")
        self.expected_hex = expected_hex
        self.actual_hex = actual_hex


class BadRevisionError(ObjectError):
    """A revision expression does not name a commit."""

    def __init__(self, rev: str, reason: str = "unknown revision") -> None:
        """Create the error naming the revision."""
        super().__init__(f"{reason}: {rev}")
        self.rev = rev


class AmbiguousRevisionError(BadRevisionError):
    """A short id prefix matches more than one object."""

    def __init__(self, rev: str) -> None:
        """Create the error naming the ambiguous prefix."""
        super().__init__(rev, "ambiguous object id prefix")


# --- refs -----------------------------------------------------------------------


class RefError(VcrdtError):
    """A ref is missing, malformed or moved concurrently."""


class RefNotFoundError(RefError):
    """No ref with the given name exists."""

    def __init__(self, name: str, kind: str = "ref") -> None:
        """Create the error naming the ref."""
        super().__init__(f"{kind} {name!r} not found")
        self.name = name


class RefExistsError(RefError):
    """A ref with the given name already exists."""

    def __init__(self, name: str, kind: str = "ref") -> None:
        """Create the error naming the ref."""
        super().__init__(f"{kind} {name!r} already exists")
        self.name = name


class BadRefNameError(RefError):
    """A ref name breaks a naming rule."""

    def __init__(self, name: str, rule: str) -> None:
        """Create the error naming the ref and the rule."""
        super().__init__(f"invalid ref name {name!r}: {rule}")
        self.name = name
        self.rule = rule


class StaleRefError(RefError):
    """Compare-and-swap lost: the ref moved since it was read."""


# --- merge, sync, interop, config ---------------------------------------------------


class MergeError(VcrdtError):
    """Two histories cannot be merged at all (not a conflict)."""


class PolicyError(MergeError):
    """A malformed ``.vcrdtattributes`` policy file (the message names the line)."""


class LimitError(VcrdtError):
    """A peer sent more than a configured limit allows (``limits.*``); nothing of it was kept."""


class ProtocolError(VcrdtError):
    """A sync peer broke the protocol (a truncated, oversized or unexpected frame, a lie about an object)."""


class GitInteropError(VcrdtError):
    """A git repository, or libgit2 under pygit2, could not be used as asked."""


class ConfigError(VcrdtError):
    """A configuration file or value is invalid."""
