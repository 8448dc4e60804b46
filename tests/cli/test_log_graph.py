"""The lane layout of `log --graph` on forks and merges."""

from __future__ import annotations

from tests.helpers.builders import build_dag
from vcrdt.cli.commands.log import graph_prefixes
from vcrdt.dag import iter_history
from vcrdt.porcelain import LogEntry
from vcrdt.store.memory import MemoryStore


def _draw(spec: list[list[int]], head: int) -> list[str]:
    store = MemoryStore()
    ids = build_dag(store, spec)
    names = {oid: str(i) for i, oid in enumerate(ids)}
    entries = [
        LogEntry(oid, c, [])
        for oid, c in iter_history(store, [ids[h] for h in ([head] if head >= 0 else [len(ids) - 1, len(ids) - 2])])
    ]
    lines: list[str] = []
    for entry, (before, first, _, after) in zip(entries, graph_prefixes(entries), strict=True):
        lines += before
        lines.append(f"{first} {names[entry.oid]}")
        lines += after
    return lines


def test_linear() -> None:
    assert _draw([[], [0], [1]], 2) == ["* 2", "* 1", "* 0"]


def test_merge() -> None:
    assert _draw([[], [0], [0], [1, 2]], 3) == ["* 3", "|\\", "| * 2", "* | 1", "|/", "* 0"]


def test_two_heads_fork() -> None:
    assert _draw([[], [0], [0]], -1) == ["* 2", "| * 1", "|/", "* 0"]
