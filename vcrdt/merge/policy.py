"""The merge policy: ``.vcrdtattributes``, which rule settles a path's conflicts.

The file is versioned in the repository. Each non-blank line that is not a
comment (``#``) is ``PATTERN ATTRIBUTE...``: PATTERN is a gitignore-style glob
matched against the repository path; each ATTRIBUTE is an ACTION (or
``merge=ACTION``, the gitattributes spelling) or ``conflict-marker-size=N``
(conflict markers N characters long instead of 7, as the gitattribute of
that name). ACTION is ``ask`` (prompt hunk by hunk on a terminal),
``markers`` (write conflict markers) or a rule (``union``, ``lww``, ``set``,
``json``, ``ours``, ``theirs``). For each attribute the last matching line
that sets it wins. A malformed line is a `PolicyError` naming the line,
raised before a merge writes anything.

Which version applies: the merge's own result when ``.vcrdtattributes``
merges cleanly (so both replicas of a convergent merge read the same
policy), otherwise the current branch's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal, get_args

from vcrdt.errors import MergeError, PolicyError
from vcrdt.ids import ObjectId
from vcrdt.merge.rules import RULES, RuleName, TieKey
from vcrdt.objects import EntryKind
from vcrdt.store import LARGE_OBJECT

if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec

    from vcrdt.merge.pending import MergeStore

POLICY_FILE = ".vcrdtattributes"
# The rule a conflicting policy file itself merges by, where rules settle conflicts (`merged_policy`
# reads the policy a convergent merge follows the same way `decider` merges the file).
POLICY_FILE_RULE: Final = "set"
Action = Literal["ask", "markers", "union", "lww", "set", "json", "ours", "theirs"]
ACTIONS: tuple[Action, ...] = get_args(Action)
OnConflict = Literal["ask", "markers", "crdt", "fail"]
ON_CONFLICT: tuple[OnConflict, ...] = get_args(OnConflict)
MAX_POLICY_BYTES = 1 << 20
MARKER_SIZE_ATTR = "conflict-marker-size"
MAX_MARKER_SIZE = 1024


@dataclass(frozen=True, slots=True)
class PolicyLine:
    """One line of the policy file, with its pattern compiled."""

    lineno: int
    pattern: str
    action: Action | None
    spec: GitIgnoreSpec
    marker_size: int | None = None


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
            if line.action is not None and line.spec.match_file(path):
                found = line.action
        return found

    def marker_size_for(self, path: str) -> int | None:
        """The ``conflict-marker-size`` of the last line that sets it and matches `path`, or None.

        >>> parse_policy(b"*.rst conflict-marker-size=32\\n").marker_size_for("doc/a.rst")
        32
        """
        found: int | None = None
        for line in self.lines:
            if line.marker_size is not None and line.spec.match_file(path):
                found = line.marker_size
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
        if len(parts) < 2:
            raise PolicyError(
                f"{source}:{n}: expected 'PATTERN ACTION', got {raw.strip()!r}",
                hint=f"actions: {', '.join(ACTIONS)}; attributes: {MARKER_SIZE_ATTR}=N",
            )
        pattern = parts[0]
        action: Action | None = None
        size: int | None = None
        for item in parts[1:]:
            if item.startswith(MARKER_SIZE_ATTR + "="):
                size = _marker_size(item[len(MARKER_SIZE_ATTR) + 1 :], source, n)
                continue
            name = item[len("merge=") :] if item.startswith("merge=") else item
            if name not in ACTIONS:
                raise PolicyError(f"{source}:{n}: unknown action {name!r}", hint=f"actions: {', '.join(ACTIONS)}")
            if action is not None:
                raise PolicyError(f"{source}:{n}: more than one action for {pattern!r}")
            action = name
        if pattern.startswith("!"):
            raise PolicyError(f"{source}:{n}: negative patterns are not supported: {pattern!r}")
        lines.append(PolicyLine(n, pattern, action, _compile(pattern, source, n), size))
    return Policy(tuple(lines))


def _marker_size(value: str, source: str, lineno: int) -> int:
    if not value.isdigit() or not 0 < int(value) <= MAX_MARKER_SIZE:
        raise PolicyError(
            f"{source}:{lineno}: {MARKER_SIZE_ATTR} must be a whole number from 1 to {MAX_MARKER_SIZE}, got {value!r}"
        )
    return int(value)


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


# The rule for a path (None: leave its conflicts to a human), given whether its content is binary.
Decide = Callable[[str, bool], RuleName | None]
_Flat = Mapping[str, tuple[EntryKind, ObjectId]]


def _policy_bytes(store: MergeStore, oid: ObjectId) -> bytes:
    if store.info(oid)[1] > LARGE_OBJECT:
        return b"\0<large object>"  # refused by `parse_policy` as too large, never read whole
    return store.get(oid)[1]


def merged_policy(
    store: MergeStore,
    base: _Flat,
    ours: _Flat,
    theirs: _Flat,
    *,
    strict: bool,
    keys: tuple[TieKey, TieKey] | None = None,
) -> Policy:
    """The policy a merge follows: the merged ``.vcrdtattributes`` when it merges cleanly, else ours.

    With `keys` (a convergent merge), a policy file that conflicts is merged by the ``set``
    rule instead, as `decider` merges the file itself under ``crdt``: every replica then
    follows the same policy, and the file in the result is the one it read.

    Args:
        store: Where the policy files are read.
        base: The merge base's tree.
        ours: Our tree.
        theirs: Their tree.
        strict: Refuse when the policy file itself conflicts and no `keys` settle it (instead
            of taking ours).
        keys: Ours' and theirs' tie-break keys, to settle a conflicting policy file by ``set``.

    Returns:
        The parsed policy (empty when there is no policy file).

    Raises:
        PolicyError: If the file is malformed.
        MergeError: If `strict`, no `keys`, and the policy file itself conflicts.
    """
    b, o, t = (f.get(POLICY_FILE) for f in (base, ours, theirs))
    data: bytes | None
    if o == t or t == b:
        data = _policy_bytes(store, o[1]) if o else None
    elif o == b:
        data = _policy_bytes(store, t[1]) if t else None
    else:
        from vcrdt.diff import xdiff_matcher
        from vcrdt.merge.diff3 import merge_bytes

        texts = [_policy_bytes(store, e[1]) if e else b"" for e in (b, o, t)]
        merged, conflicts = merge_bytes(texts[0], texts[1], texts[2], matcher=xdiff_matcher)
        if conflicts and keys is not None:
            from vcrdt.merge.rules.text import resolve_lines

            merged = resolve_lines(
                POLICY_FILE_RULE, *texts, ours_key=keys[0], theirs_key=keys[1], matcher=xdiff_matcher
            ).data
            conflicts = 0
        if conflicts and strict:
            raise MergeError(f"{POLICY_FILE}: the merge policy itself conflicts", hint="merge it by hand first")
        data = merged if not conflicts else texts[1]
    return parse_policy(data) if data else Policy()


def decider(policy: Policy, on_conflict: OnConflict | None) -> Decide | None:
    """Which rule settles each path's conflicts under `policy` and the ``--on-conflict`` override.

    Args:
        policy: The merge's policy.
        on_conflict: The override (None: the policy decides).

    Returns:
        The rule for each path, or None when no path is settled automatically.
    """
    if on_conflict in ("markers", "ask"):
        return None
    if on_conflict == "crdt":
        # The policy file itself merges as a set of lines, as `merged_policy` reads it.
        return lambda path, binary: (
            POLICY_FILE_RULE
            if path == POLICY_FILE and not binary
            else crdt_rule(policy.action_for(path), binary=binary)
        )

    def by_policy(path: str, binary: bool) -> RuleName | None:
        action = policy.action_for(path)
        return action if action in RULES else None

    return by_policy
