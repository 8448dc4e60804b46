"""Cross-check vcrdt's diff3 against `git merge-file -p` and GNU `diff3 -m` on generated triples.

Usage: python bench/diff3_crosscheck.py [--triples N] [--seed S]

Each triple is a base of real-looking lines plus two sides with random line edits. Prints the
agreement table (both clean and identical / both conflict / vcrdt clean where the tool conflicts /
the reverse / both clean but different) for each tool and conflict style.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

from vcrdt.diff import xdiff_matcher
from vcrdt.merge.diff3 import merge_bytes

WORDS = ["int", "x", "=", "return", "if", "(", ")", "{", "}", "self", "value", "for", "i", "in", "range", "#", "TODO"]


def make_line(rng: random.Random) -> bytes:
    if rng.random() < 0.15:
        return rng.choice([b"}\n", b"\n", b"    return x;\n", b"{\n"])
    return (" " * rng.choice([0, 4, 8]) + " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 6))) + "\n").encode()


def edit(rng: random.Random, lines: list[bytes], n: int) -> list[bytes]:
    out = list(lines)
    for _ in range(n):
        op = rng.randint(0, 2)
        i = rng.randint(0, len(out))
        if op == 0 and i < len(out):
            out[i] = make_line(rng)
        elif op == 1:
            out.insert(i, make_line(rng))
        elif i < len(out):
            del out[i]
    if out and rng.random() < 0.05:
        out[-1] = out[-1].rstrip(b"\n")
    return out


def triples(n: int, seed: int) -> list[tuple[bytes, bytes, bytes]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        base = [make_line(rng) for _ in range(rng.randint(0, 30))]
        a = edit(rng, base, rng.randint(0, 4))
        b = edit(rng, base, rng.randint(0, 4))
        out.append((b"".join(base), b"".join(a), b"".join(b)))
    return out


def classify(ours: tuple[bytes, int], theirs: tuple[bytes, int]) -> str:
    (od, on), (td, tn) = ours, theirs
    if on == 0 and tn == 0:
        return "both clean, identical" if od == td else "both clean, different"
    if on and tn:
        return "both conflict" if od == td else "both conflict, text differs"
    return "vcrdt clean, tool conflicts" if on == 0 else "vcrdt conflicts, tool clean"


def run_git(work: Path, style: str) -> tuple[bytes, int]:
    args = ["git", "merge-file", "-p", "-L", "ours", "-L", "base", "-L", "theirs"]
    if style != "merge":
        args.append(f"--{style}")
    r = subprocess.run([*args, "A", "O", "B"], cwd=work, capture_output=True, check=False)
    return r.stdout, r.returncode


def run_gnu(work: Path) -> tuple[bytes, int]:
    r = subprocess.run(
        ["diff3", "-m", "-L", "ours", "-L", "base", "-L", "theirs", "A", "O", "B"],
        cwd=work,
        capture_output=True,
        check=False,
    )
    return r.stdout, (r.stdout.count(b"<<<<<<< ") if r.returncode == 1 else r.returncode)


def crosscheck(n: int, seed: int) -> dict[str, Counter[str]]:
    table: dict[str, Counter[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for base, a, b in triples(n, seed):
            for name, data in (("O", base), ("A", a), ("B", b)):
                (work / name).write_bytes(data)
            for style in ("merge", "diff3", "zdiff3"):
                ours = merge_bytes(base, a, b, matcher=xdiff_matcher, style=style)  # type: ignore[arg-type]
                table.setdefault(f"git merge-file ({style})", Counter())[classify(ours, run_git(work, style))] += 1
            ours = merge_bytes(base, a, b, matcher=xdiff_matcher, style="diff3")
            gnu = run_gnu(work)
            # Compare verdicts only: GNU diff3 brackets differently (see docs/merge.md).
            key = classify((b"", ours[1]), (b"", gnu[1]))
            table.setdefault("GNU diff3 -m (verdict)", Counter())[key] += 1
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--triples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    table = crosscheck(args.triples, args.seed)
    cols = sorted({k for c in table.values() for k in c})
    print(f"{args.triples} triples, seed {args.seed}")
    print("| tool | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for tool, counts in table.items():
        print(f"| {tool} | " + " | ".join(str(counts.get(c, 0)) for c in cols) + " |")


if __name__ == "__main__":
    main()
