"""The merge policy: ``.vcrdtattributes``, which rule settles a path's conflicts.

The file is versioned in the repository. Each non-blank line that is not a
comment (``#``) is ``PATTERN ACTION`` (or ``PATTERN merge=ACTION``, the
gitattributes spelling): PATTERN is a gitignore-style glob matched against
the repository path; ACTION is ``ask`` (prompt hunk by hunk on a terminal),
``markers`` (write conflict markers) or a rule (``union``, ``lww``, ``set``,
``json``, ``ours``, ``theirs``). The last matching line wins. A malformed
line is a `PolicyError` naming the line, raised before a merge writes
anything.

Which version applies: the merge's own result when ``.vcrdtattributes``
merges cleanly (so both replicas of a convergent merge read the same
policy), otherwise the current branch's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, get_args

from vcrdt.errors import PolicyError
from vcrdt.merge.rules import RULES, RuleName

if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec

POLICY_FILE = ".vcrdtattributes"
Action = Literal["ask", "markers", "union", "lww", "set", "json", "ours", "theirs"]
ACTIONS: tuple[Action, ...] = get_args(Action)
OnConflict = Literal["ask", "markers", "crdt", "fail"]
ON_CONFLICT: tuple[OnConflict, ...] = get_args(OnConflict)
MAX_POLICY_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class PolicyLine:
    """One line of the policy file, with its pattern compiled."""

    lineno: int
    pattern: str
    action: Action
    spec: GitIgnoreSpec


class Policy:
    """A parsed policy: which action each path gets."""

    def __init__(self, lines: tuple[PolicyLine, ...] = ()) -> None:
        """Build from parsed lines (in file order)."""
        self.lines = lines

    def action_for(self, path: str) -> Action | None:
        """The action of the last line whose pattern matches `path`, or None when none does.

        >>> parse_policy(b"*.json json\\ndocs/** union\\n").action_for("a/b.json")
        'json'
        """
        found: Action | None = None
        for line in self.lines:
            if line.spec.match_file(path):
                found = line.action
        return found


def parse_policy(data: bytes, source: str = POLICY_FILE) -> Policy:
    """Parse a policy file.

    Raises:
        PolicyError: If the file is not UTF-8 or a line is malformed (the message names it).
    """
    if len(data) > MAX_POLICY_BYTES:
        raise PolicyError(f"{source}: larger than {MAX_POLICY_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{source}: not valid UTF-8 (byte {exc.start})") from exc
    lines: list[PolicyLine] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2:
            raise PolicyError(
                f"{source}:{n}: expected 'PATTERN ACTION', got {raw.strip()!r}",
                hint=f"actions: {', '.join(ACTIONS)}",
            )
        pattern, action = parts
        if action.startswith("merge="):
            action = action[len("merge=") :]
        if action not in ACTIONS:
            raise PolicyError(f"{source}:{n}: unknown action {action!r}", hint=f"actions: {', '.join(ACTIONS)}")
        if pattern.startswith("!"):
            raise PolicyError(f"{source}:{n}: negative patterns are not supported: {pattern!r}")
        lines.append(PolicyLine(n, pattern, action, _compile(pattern, source, n)))
    return Policy(tuple(lines))


def _compile(pattern: str, source: str, lineno: int) -> GitIgnoreSpec:
    from pathspec import GitIgnoreSpec

    try:
        return GitIgnoreSpec.from_lines([pattern])
    except ValueError as exc:  # pathspec's pattern errors are ValueErrors
        raise PolicyError(f"{source}:{lineno}: bad pattern {pattern!r}: {exc}") from exc


def crdt_rule(action: Action | None, *, binary: bool) -> RuleName:
    """The rule ``--on-conflict=crdt`` applies: the path's rule, else ``union`` for text and ``lww`` for binary."""
    if action is not None and action in RULES:
        return action
    return "lww" if binary else "union"
