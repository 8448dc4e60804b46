"""Automatic resolution rules: what to do with what diff3 leaves in conflict.

A rule is a pure function of the three texts and the two sides' tie-break
keys (`vcrdt.crdt.order.TieKey`); it never looks at which side is "ours"
except through the keys, so resolving ``(O, A, B)`` and ``(O, B, A)`` gives the
same bytes. Each returns a `Resolution`: the merged bytes and one
`AutoHunk` per decision it made (the audit trail: where, which rule, what
won, and the alternatives that lost). A rule that cannot apply (JSON that
does not parse, a line rule on binary data) returns a `Fallback` with the
reason; the caller then writes conflict markers for that path.

Rules: ``union`` (sequence CRDT over each conflict), ``lww`` (the later side
wins each conflict), ``set`` (the file's lines as a two-phase set), ``json``
(structural merge of JSON documents), ``ours`` / ``theirs``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from vcrdt.crdt.order import TieKey

RuleName = Literal["union", "lww", "set", "json", "ours", "theirs"]
RULES: tuple[RuleName, ...] = ("union", "lww", "set", "json", "ours", "theirs")


@dataclass(frozen=True, slots=True)
class AutoHunk:
    """One automatic decision.

    Attributes:
        where: Where it applies: for line rules ``"L<start>+<count>"`` in the base
            (1-based start, as in a diff hunk); for ``json`` the JSON pointer
            (RFC 6901) of the value; ``"*"`` for the whole file.
        rule: The rule that decided.
        outcome: What the result holds: ``"ours"``, ``"theirs"``, ``"both"`` or ``"merged"``.
        chosen: The text the result holds there.
        alternatives: The texts that lost, each with its side (``"ours"``,
            ``"theirs"`` or ``"base"``); empty when nothing was dropped.
    """

    where: str
    rule: RuleName
    outcome: Literal["ours", "theirs", "both", "merged"]
    chosen: bytes
    alternatives: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True, slots=True)
class Resolution:
    """A rule's result: the merged bytes and its decisions."""

    data: bytes
    hunks: tuple[AutoHunk, ...] = ()


@dataclass(frozen=True, slots=True)
class Fallback:
    """The rule does not apply to these inputs; `reason` says why (one line)."""

    reason: str


Outcome = Resolution | Fallback

__all__ = ["RULES", "AutoHunk", "Fallback", "Outcome", "Resolution", "RuleName", "TieKey"]
