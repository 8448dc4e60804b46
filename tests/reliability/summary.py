"""Print the slow tier's one-line summary from the reliability log; exit 1 if a bar is missed.

Usage: ``python -m tests.reliability.summary LOG``. The bars (issue 9): at least
`MIN_CRASH` crash runs over commit, switch, merge and fetch, at least
`MIN_RACE` race rounds, every hostile input refused, nothing touched outside a
work tree, no committed data lost.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

MIN_CRASH = 200
MIN_RACE = 40
CRASH_OPS = ("commit", "switch", "merge", "fetch")


def summarize(lines: list[str]) -> tuple[str, list[str]]:
    """Return the summary line and the list of bars missed."""
    total: Counter[str] = Counter()
    good: Counter[str] = Counter()
    ops: Counter[str] = Counter()
    outside = lost = 0
    for line in lines:
        if not line.strip():
            continue
        event = json.loads(line)
        kind = event["kind"]
        if kind == "outside":
            outside += int(event["n"])
        elif kind == "lost":
            lost += int(event["n"])
        else:
            total[kind] += 1
            good[kind] += bool(event.get("ok"))
            if kind == "crash":
                ops[event.get("op", "?")] += 1
    text = (
        f"{good['crash']}/{total['crash']} crash points survived, "
        f"{good['hostile']}/{total['hostile']} hostile inputs rejected, "
        f"{good['race']}/{total['race']} race rounds clean, "
        f"{outside} files touched outside the work tree, {lost} data lost"
    )
    missed = []
    if total["crash"] < MIN_CRASH:
        missed.append(f"only {total['crash']} crash runs (at least {MIN_CRASH})")
    missing_ops = [op for op in CRASH_OPS if not ops[op]]
    if missing_ops:
        missed.append(f"no crash runs over {', '.join(missing_ops)}")
    if total["race"] < MIN_RACE:
        missed.append(f"only {total['race']} race rounds (at least {MIN_RACE})")
    for kind in ("crash", "hostile", "race"):
        if good[kind] != total[kind]:
            missed.append(f"{total[kind] - good[kind]} {kind} events failed")
    if outside:
        missed.append("files outside a work tree were touched")
    if lost:
        missed.append("committed data was lost")
    return text, missed


def main(argv: list[str]) -> int:
    """Print the summary of the log named in `argv`; return 1 if a bar is missed."""
    path = Path(argv[0])
    lines = path.read_text().splitlines() if path.exists() else []
    text, missed = summarize(lines)
    print(text)
    for m in missed:
        print(f"reliability: {m}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
