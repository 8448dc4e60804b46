"""CRDT rule benchmarks: the automatic resolutions against a plain diff3 merge of the same files.

Usage: python bench/crdt.py [--lines N] [--edits K] [--json-kb S] [--repeat R] [--quick]

Rows (each in-process, median of R runs after one untimed warm-up):
- ``union`` resolution of an N-line text (code-like and prose-like lines) whose two sides each make
  K edits to the same lines, differently, so every edit conflicts: `resolve_lines("union", ...)`
  against `merge_bytes` (diff3, the same K conflicts left in markers), both with the xdiff matcher
  (target <= 2 x diff3); ``lww`` and ``set`` on the same files for information;
- ``json`` resolution of a ~S KB JSON document (indent=2; nested objects and arrays of objects)
  whose two sides each change the same K values differently (some of them insertions into the
  same arrays at the same places): `resolve_json` against `merge_bytes` of the same three texts
  (target <= 2 x diff3);
- cross-checks: each rule gives identical bytes with the sides (and their keys) swapped.

It is a report, not a test: it exits 0 whatever the verdicts.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen_tree import render

from vcrdt.crdt.order import TieKey
from vcrdt.diff.xdiff import xdiff_matcher
from vcrdt.merge.diff3 import merge_bytes, split_lines
from vcrdt.merge.rules import Resolution
from vcrdt.merge.rules.json_doc import resolve_json
from vcrdt.merge.rules.text import LineRule, resolve_lines

# Two sides as two commits of two replicas would carry them: ours is the earlier one.
OURS_KEY = TieKey(41, "0" * 31 + "a", bytes(32))
THEIRS_KEY = TieKey(42, "0" * 31 + "b", bytes(31) + b"\x01")

Row = tuple[str, float, float, str]


def text_triple(lines: int, edits: int, seed: int) -> tuple[bytes, bytes, bytes]:
    """A base of `lines` lines (60% Python-like, 40% Markdown-like) and two sides editing the same spots.

    Each spot is edited by both sides, differently: mostly one line rewritten on each side, and
    every fourth spot a two-line rewrite on one side against a rewrite plus an inserted line on the
    other, so the conflicts are not all the same shape. Spots are at least 20 lines apart.
    """
    code = render(0, "bench.py", lines * 60, seed).decode().splitlines()
    prose = render(1, "bench.md", lines * 60, seed).decode().splitlines()
    n_code = lines * 3 // 5
    base = [ln + "\n" for ln in code[:n_code] + prose[: lines - n_code]]
    assert len(base) == lines, "the generators gave fewer lines than asked for"
    rng = random.Random(seed)
    spots = sorted(rng.sample(range(5, lines - 5, 20), edits))
    a, b = list(base), list(base)
    # Apply from the end so earlier positions stay valid.
    for k, pos in reversed(list(enumerate(spots))):
        if k % 4 == 3:
            a[pos : pos + 2] = [f"{base[pos].rstrip()}  # ours {k}\n", f"ours second line {k}\n"]
            b[pos : pos + 1] = [f"{base[pos].rstrip()}  # theirs {k}\n", f"theirs inserted {k}\n"]
        else:
            a[pos] = f"{base[pos].rstrip()}  # ours {k}\n"
            b[pos] = f"{base[pos].rstrip()}  # theirs {k}\n"
    return "".join(base).encode(), "".join(a).encode(), "".join(b).encode()


def json_doc(target_bytes: int, seed: int) -> dict[str, Any]:
    """A config/data-shaped document of about `target_bytes` when dumped with indent=2."""
    rng = random.Random(seed)
    regions = ["eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-south-1"]
    words = "alpha beta gamma delta epsilon zeta theta kappa lambda sigma omega".split()

    def service(i: int) -> dict[str, Any]:
        return {
            "id": f"svc-{i:05d}",
            "name": f"{rng.choice(words)}-{rng.choice(words)}-{i}",
            "enabled": rng.random() < 0.9,
            "region": rng.choice(regions),
            "replicas": rng.randint(1, 12),
            "image": {
                "repository": f"registry.example.com/{rng.choice(words)}/{i}",
                "tag": f"v{rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 99)}",
            },
            "resources": {
                "cpu": f"{rng.choice([100, 250, 500, 1000, 2000])}m",
                "memory": f"{rng.choice([128, 256, 512, 1024, 4096])}Mi",
                "ratio": round(rng.random(), 4),
            },
            "env": {
                f"{rng.choice(words).upper()}_{j}": f"{rng.choice(words)}-{rng.randint(0, 999)}"
                for j in range(rng.randint(2, 6))
            },
            "ports": [
                {"name": p, "port": rng.randint(1024, 65535), "protocol": "TCP"}
                for p in rng.sample(["http", "grpc", "metrics", "admin"], rng.randint(1, 3))
            ],
            "tags": rng.sample(words, rng.randint(1, 4)),
            "owner": None if rng.random() < 0.2 else f"team-{rng.choice(words)}",
        }

    doc: dict[str, Any] = {
        "version": 3,
        "generated": "2026-01-01T00:00:00Z",
        "settings": {
            "logging": {"level": "info", "format": "json", "sinks": ["stdout", "file"]},
            "limits": {"requests_per_second": 500, "burst": 1000, "timeout_ms": 2500},
            "features": {f"flag_{w}": rng.random() < 0.5 for w in words},
        },
        "services": [],
        "users": [],
    }
    size = len(json.dumps(doc, indent=2))
    i = 0
    while size < target_bytes:
        s = service(i)
        u = {
            "id": i,
            "login": f"user{i}",
            "roles": rng.sample(["admin", "dev", "ops", "viewer"], 2),
            "quota": {"cpu": rng.randint(1, 64), "disk_gb": rng.randint(10, 2000)},
        }
        doc["services"].append(s)
        doc["users"].append(u)
        for item in (s, u):
            # Inside the document each line of an item is indented by two more levels (4 spaces).
            text = json.dumps(item, indent=2)
            size += len(text) + 4 * (text.count("\n") + 1) + 2
        i += 1
    return doc


def json_triple(target_bytes: int, edits: int, seed: int) -> tuple[bytes, bytes, bytes]:
    """A document and two sides changing the same `edits` values differently.

    Nine in ten are scalar values of distinct, non-neighbouring services (replicas, tag, cpu, an env value, region)
    set to a different value on each side; one in ten are insertions into the same array at the
    same place on both sides (a port object, or a tag), each side inserting its own element.
    """
    base = json_doc(target_bytes, seed)
    ours, theirs = json.loads(json.dumps(base)), json.loads(json.dumps(base))
    rng = random.Random(seed + 1)
    # Every other service at most: two neighbouring elements changed on both sides would be one run, which
    # the rule settles as a whole (keeping both versions), not as two value conflicts.
    assert len(base["services"]) >= 2 * edits, "document too small for that many edits"
    picked = rng.sample(range(0, len(base["services"]), 2), edits)
    for k, i in enumerate(picked):
        so, st = ours["services"][i], theirs["services"][i]
        kind = k % 10
        if kind == 9:
            if k % 20 == 9:
                at = rng.randint(0, len(so["ports"]))
                so["ports"].insert(at, {"name": f"ours-{k}", "port": 10_000 + k, "protocol": "TCP"})
                st["ports"].insert(at, {"name": f"theirs-{k}", "port": 20_000 + k, "protocol": "UDP"})
            else:
                at = rng.randint(0, len(so["tags"]))
                so["tags"].insert(at, f"ours-{k}")
                st["tags"].insert(at, f"theirs-{k}")
        elif kind in (0, 5):
            so["replicas"], st["replicas"] = 100 + k, 200 + k
        elif kind in (1, 6):
            so["image"]["tag"], st["image"]["tag"] = f"ours-{k}", f"theirs-{k}"
        elif kind in (2, 7):
            so["resources"]["cpu"], st["resources"]["cpu"] = f"{k}1m", f"{k}3m"  # base values end in 0
        elif kind == 3:
            name = next(iter(so["env"]))
            so["env"][name], st["env"][name] = f"ours-{k}", f"theirs-{k}"
        else:
            so["region"], st["region"] = f"ours-{k}", f"theirs-{k}"
    return tuple(  # type: ignore[return-value]
        (json.dumps(d, indent=2) + "\n").encode() for d in (base, ours, theirs)
    )


def paired_medians(fn: Callable[[], object], ref: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median wall times of `fn` and `ref`, run alternately (so a busy machine slows both alike), after a warm-up."""
    fn()
    ref()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for f, out in ((fn, times[0]), (ref, times[1])):
            t = time.perf_counter()
            f()
            out.append(time.perf_counter() - t)
    return statistics.median(times[0]), statistics.median(times[1])


def line_rule(rule: LineRule, o: bytes, a: bytes, b: bytes, ka: TieKey = OURS_KEY, kb: TieKey = THEIRS_KEY) -> bytes:
    return resolve_lines(rule, o, a, b, ours_key=ka, theirs_key=kb, matcher=xdiff_matcher).data


def json_rule(o: bytes, a: bytes, b: bytes, ka: TieKey = OURS_KEY, kb: TieKey = THEIRS_KEY) -> Resolution:
    r = resolve_json(o, a, b, ours_key=ka, theirs_key=kb)
    assert isinstance(r, Resolution), r
    return r


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=10_000, help="lines of the text file (default 10,000)")
    parser.add_argument("--edits", type=int, default=100, help="conflicting edits per side (default 100)")
    parser.add_argument("--json-kb", type=int, default=1024, help="size of the JSON document in KB (default 1024)")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per measure (default 7)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--quick", action="store_true", help="smoke run: 2,000 lines, 128 KB, 20 edits, 3 runs")
    args = parser.parse_args()
    if args.quick:
        args.lines, args.json_kb, args.edits, args.repeat = 2_000, 128, 20, 3

    rows: list[Row] = []
    checks: list[tuple[str, bool]] = []

    o, a, b = text_triple(args.lines, args.edits, args.seed)
    _, conflicts = merge_bytes(o, a, b, matcher=xdiff_matcher)
    what = f"{args.lines:,} lines, {conflicts} conflicts"
    rules: tuple[tuple[LineRule, str], ...] = (("union", "<= 2 x diff3"), ("lww", "(info)"), ("set", "(info)"))
    for rule, target in rules:
        t, ref = paired_medians(
            lambda rule=rule: line_rule(rule, o, a, b),  # type: ignore[misc]
            lambda: merge_bytes(o, a, b, matcher=xdiff_matcher),
            args.repeat,
        )
        rows.append((f"{rule} ({what})", t, ref, target))
        same = line_rule(rule, o, a, b) == line_rule(rule, o, b, a, THEIRS_KEY, OURS_KEY)
        checks.append((f"{rule}: sides swapped (and their keys) give identical bytes", same))
    union = set(split_lines(line_rule("union", o, a, b)))
    edited = (set(split_lines(a)) | set(split_lines(b))) - set(split_lines(o))
    checks.append(("union: every line either side wrote is in the result", edited <= union))

    jo, ja, jb = json_triple(args.json_kb * 1024, args.edits, args.seed)
    _, jconflicts = merge_bytes(jo, ja, jb, matcher=xdiff_matcher)
    t, ref = paired_medians(
        lambda: json_rule(jo, ja, jb), lambda: merge_bytes(jo, ja, jb, matcher=xdiff_matcher), args.repeat
    )
    rows.append((f"json ({len(jo) / 1e6:.2f} MB, {jconflicts} conflicts)", t, ref, "<= 2 x diff3"))
    r = json_rule(jo, ja, jb)
    swapped = json_rule(jo, jb, ja, THEIRS_KEY, OURS_KEY)
    checks.append(("json: sides swapped (and their keys) give identical bytes", r.data == swapped.data))
    checks.append(("json: the result parses", isinstance(json.loads(r.data), dict)))
    checks.append((f"json: one decision per conflicting change ({len(r.hunks)})", len(r.hunks) == args.edits))

    print(f"{'measure':42} {'rule':>9} {'diff3':>9} {'ratio':>6}  {'target':13} verdict")
    for name, ours, ref, target in rows:
        ratio = ours / ref
        verdict = "-" if target == "(info)" else "PASS" if ratio <= 2 else "FAIL"
        print(f"{name:42} {ours * 1e3:>6.1f} ms {ref * 1e3:>6.1f} ms {ratio:>6.2f}  {target:13} {verdict}")
    print()
    for name, ok in checks:
        print(f"{name:62} {'yes' if ok else 'NO'}")


if __name__ == "__main__":
    main()
