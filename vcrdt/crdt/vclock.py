"""Vector clocks: the causal order of events made on many replicas.

A plain vector clock maps each replica to the number of events that replica had
made in an event's history, itself included (the seed talk's
``{Anna: 1, Bill: 2, Charlie: 1}``). Clock ``a`` happened before ``b`` when
every count of ``a`` is at most ``b``'s and they differ; when neither is
before the other they are concurrent. Pure: imports only the standard library.

Commits carry a version vector *with gaps* instead (one replica commits on several
branches, so its commits are not one chain): see `vcrdt.objects.commit_clock` and
`vcrdt.dag.causal_relation`, which answer commit ancestry; `Relation` names the answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from typing import Literal

    Relation = Literal["before", "after", "equal", "concurrent"]
else:
    Relation = str  # the type checker's Literal above; one of RELATIONS
RELATIONS: tuple[Relation, ...] = ("before", "after", "equal", "concurrent")


def leq(a: Mapping[str, int], b: Mapping[str, int]) -> bool:
    """Tell whether every count in `a` is at most the same replica's count in `b`.

    >>> leq({"anna": 1}, {"anna": 1, "bill": 2})
    True
    """
    return all(count <= b.get(replica, 0) for replica, count in a.items())


def compare(a: Mapping[str, int], b: Mapping[str, int]) -> Relation:
    """Return how `a` relates to `b` causally.

    >>> compare({"anna": 1, "bill": 2, "charlie": 1}, {"anna": 1, "bill": 1, "charlie": 2})
    'concurrent'
    >>> compare({"anna": 1, "bill": 2, "charlie": 1}, {"anna": 2, "bill": 2, "charlie": 2})
    'before'
    """
    a_le_b, b_le_a = leq(a, b), leq(b, a)
    if a_le_b and b_le_a:
        return "equal"
    if a_le_b:
        return "before"
    if b_le_a:
        return "after"
    return "concurrent"


def join(clocks: Iterable[Mapping[str, int]]) -> dict[str, int]:
    """Return the pointwise maximum of clocks (the least clock after all of them).

    >>> join([{"a": 1, "b": 3}, {"a": 2}])
    {'a': 2, 'b': 3}
    """
    out: dict[str, int] = {}
    for clock in clocks:
        for replica, count in clock.items():
            if count > out.get(replica, 0):
                out[replica] = count
    return out
