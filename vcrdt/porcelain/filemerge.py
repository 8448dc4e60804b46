"""merge-file: a three-way merge of plain files, as `git merge-file` does (no repository).

Kept apart from `merging` (tree merges): a `vcrdt merge-file` process loads only diff3, the line
matchers and, when a rule is asked for, the rules.
"""

from __future__ import annotations

import os
import stat

from vcrdt.diff.lines import is_binary
from vcrdt.diff.matchers import line_matcher
from vcrdt.errors import MergeError, WorktreeError
from vcrdt.merge.diff3 import MARKER_LEN, merge_bytes
from vcrdt.values import Value, value_class

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from pathlib import Path

    from vcrdt.merge.diff3 import Favor, Style
    from vcrdt.merge.rules import RuleName


@value_class(frozen=True, init=False, repr=False, eq=False)
class MergeFileResult(Value):
    """A three-way merge of plain files: the merged bytes and the number of conflicts."""

    __slots__ = ("data", "conflicts", "note")  # noqa: RUF023 (field order)

    data: bytes
    conflicts: int
    # Why a requested rule did not apply (the merge fell back to markers), or "".
    note: str

    def __init__(self, data: bytes, conflicts: int, note: str = "") -> None:
        object.__setattr__(self, "data", data)
        object.__setattr__(self, "conflicts", conflicts)
        object.__setattr__(self, "note", note)


def _read_input(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise WorktreeError(str(path), f"cannot read: {exc.strerror}") from exc


def merge_file(
    current: Path,
    base: Path,
    other: Path,
    *,
    style: Style = "merge",
    labels: tuple[str, str, str] | None = None,
    write: bool = True,
    rule: RuleName | None = None,
    marker_len: int = MARKER_LEN,
    favor: Favor = "markers",
    algorithm: str = "myers",
    names: tuple[str, str, str] | None = None,
) -> MergeFileResult:
    """Merge the changes from `base` to `other` into `current`, as `git merge-file` does.

    With `write`, the result replaces `current` atomically (conflict markers
    included); otherwise it is only returned. With `rule`, the rule settles
    the conflicts; plain files have no commits, so the tie-break order
    falls back to the files' content hashes (`TieKey.of_content`) and the
    result does not depend on which file is `current`. `marker_len`, `favor`
    and `algorithm` are git's ``--marker-size``, ``--ours``/``--theirs``/
    ``--union`` and ``--diff-algorithm``; `names` are the files as the user
    named them, for messages.

    Raises:
        MergeError: If a file is binary, in git's words.
        WorktreeError: If a file cannot be read or written.
        GitInteropError: If `algorithm` is not one of git's diff algorithms.
    """
    matcher = line_matcher(algorithm)
    texts = [_read_input(p) for p in (current, base, other)]
    shown = names or (str(current), str(base), str(other))
    for name, data in zip(shown, texts, strict=True):
        if is_binary(data):
            raise MergeError(f"Cannot merge binary files: {name}")
    note = ""
    settled: bytes | None = None
    if rule is not None:
        from vcrdt.crdt.order import TieKey
        from vcrdt.merge.rules import Resolution
        from vcrdt.merge.trees import resolve_content

        outcome = resolve_content(
            rule,
            texts[1],
            texts[0],
            texts[2],
            ours_key=TieKey.of_content(texts[0]),
            theirs_key=TieKey.of_content(texts[2]),
        )
        if isinstance(outcome, Resolution):
            settled = outcome.data
        else:
            note = outcome.reason
    if settled is not None:
        merged, conflicts = settled, 0
    else:
        merged, conflicts = merge_bytes(
            texts[1],
            texts[0],
            texts[2],
            matcher=matcher,
            style=style,
            labels=labels or shown,
            marker_len=marker_len,
            favor=favor,
        )
    if write:
        tmp = current.with_name(f".{current.name}.vcrdt-merge.tmp")
        try:
            tmp.write_bytes(merged)
            os.chmod(tmp, stat.S_IMODE(os.stat(current).st_mode))
            os.replace(tmp, current)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise WorktreeError(str(current), f"cannot write: {exc.strerror}") from exc
    return MergeFileResult(merged, conflicts, note)
