"""Conflicts as values: what a tree merge decided for each path.

A `Side` is one version of a path (absent when `kind` is None). A
`PathConflict` holds the three sides and what kind of disagreement it is; a
`TreeMerge` is the whole outcome: the entries every clean path takes, the
content to leave in the work tree for each conflicted path, and the
conflicts, and what rules settled. Nothing here raises for a conflict.
Pure: imports only `ids`, `objects` and the rule types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from vcrdt.ids import ObjectId
from vcrdt.merge.rules import AutoHunk, RuleName
from vcrdt.objects import EntryKind

ConflictKind = Literal["content", "add/add", "modify/delete", "delete/modify", "kind", "binary", "file/directory"]


@dataclass(frozen=True, slots=True)
class Side:
    """One version of a path; `kind` None means the path is absent on that side."""

    kind: EntryKind | None = None
    oid: ObjectId | None = None

    @property
    def present(self) -> bool:
        """True when the path exists on this side."""
        return self.kind is not None

    def entry(self) -> tuple[EntryKind, ObjectId] | None:
        """The tree entry, or None when absent."""
        if self.kind is None or self.oid is None:
            return None
        return self.kind, self.oid


ABSENT = Side()


@dataclass(frozen=True, slots=True)
class PathConflict:
    """A path the merge could not decide."""

    path: str
    kind: ConflictKind
    base: Side
    ours: Side
    theirs: Side
    hunks: int = 0


@dataclass(frozen=True, slots=True)
class AutoResolution:
    """A path a rule settled: the three sides it started from and each decision (`hunks`)."""

    path: str
    rule: RuleName
    base: Side
    ours: Side
    theirs: Side
    hunks: tuple[AutoHunk, ...]


@dataclass(slots=True)
class TreeMerge:
    """The outcome of merging three flat trees.

    `entries` is the merged tree for every path that merged cleanly.
    `worktree` is what to leave in the work tree for each conflicted path
    (content with markers, or one side's version), absent when nothing stays.
    """

    entries: dict[str, tuple[EntryKind, ObjectId]] = field(default_factory=dict)
    worktree: dict[str, tuple[EntryKind, ObjectId]] = field(default_factory=dict)
    conflicts: list[PathConflict] = field(default_factory=list)
    merged_paths: list[str] = field(default_factory=list)
    auto: list[AutoResolution] = field(default_factory=list)
    # Paths whose rule could not apply (e.g. invalid JSON), with the reason; they conflict instead.
    notes: list[tuple[str, str]] = field(default_factory=list)

    @property
    def is_clean(self) -> bool:
        """True when no path conflicts."""
        return not self.conflicts
