"""Cross-check vcrdt's diff3 against `git merge-file -p` and GNU `diff3 -m` on generated triples.

Usage: python bench/diff3_crosscheck.py [--triples N] [--seed S] [--mixed]

Each triple is a base of real-looking lines plus two sides with random line edits; `--mixed`
adds marker-like lines (rst underlines, `<<<<<<<` lines), CRLF and lone-CR line endings and
identical edits on both sides. Prints the agreement table (both clean and identical / both
conflict with identical bytes and conflict count / vcrdt clean where the tool conflicts / the
reverse / both clean but different) for each tool and each set of git merge-file flags.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

from vcrdt.diff.xdiff import xdiff_matcher
from vcrdt.merge.diff3 import merge_bytes

WORDS = ["int", "x", "=", "return", "if", "(", ")", "{", "}", "self", "value", "for", "i", "in", "range", "#", "TODO"]


# Lines --mixed draws from as well: marker-like lines and other line endings.
ODD_LINES = [b"=======\n", b"=========\n", b"<<<<<<< HEAD\n", b">>>>>>> x\n", b"|||||||\n", b"a\r\n", b"x\ry\n"]
# git merge-file flag sets the table covers (each also run by vcrdt merge-file).
FLAG_SETS: list[tuple[str, ...]] = [
    (),
    ("--diff3",),
    ("--zdiff3",),
    ("--ours",),
    ("--theirs",),
    ("--union",),
    ("--marker-size", "10"),
    ("--diff3", "--marker-size", "3"),
]


def make_line(rng: random.Random, mixed: bool = False) -> bytes:
    if mixed and rng.random() < 0.1:
        return rng.choice(ODD_LINES)
    if rng.random() < 0.15:
        return rng.choice([b"}\n", b"\n", b"    return x;\n", b"{\n"])
    line = (" " * rng.choice([0, 4, 8]) + " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 6))) + "\n").encode()
    return line[:-1] + b"\r\n" if mixed and rng.random() < 0.1 else line


def edit(rng: random.Random, lines: list[bytes], n: int, mixed: bool = False) -> list[bytes]:
    out = list(lines)
    for _ in range(n):
        op = rng.randint(0, 2)
        i = rng.randint(0, len(out))
        if op == 0 and i < len(out):
            out[i] = make_line(rng, mixed)
        elif op == 1:
            out.insert(i, make_line(rng, mixed))
        elif i < len(out):
            del out[i]
    if out and rng.random() < 0.05:
        out[-1] = out[-1].rstrip(b"\n")
    return out


def triples(n: int, seed: int, mixed: bool = False) -> list[tuple[bytes, bytes, bytes]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        base = [make_line(rng, mixed) for _ in range(rng.randint(0, 30))]
        a = edit(rng, base, rng.randint(0, 4), mixed)
        b = edit(rng, base, rng.randint(0, 4), mixed)
        if mixed and rng.random() < 0.5:
            # The same edit on both sides, between whatever else they change.
            i = rng.randint(0, min(len(a), len(b)))
            same = make_line(rng, mixed)
            a.insert(i, same)
            b.insert(i, same)
        out.append((b"".join(base), b"".join(a), b"".join(b)))
    return out


def classify(ours: tuple[bytes, int], theirs: tuple[bytes, int]) -> str:
    (od, on), (td, tn) = ours, theirs
    if on == 0 and tn == 0:
        return "both clean, identical" if od == td else "both clean, different"
    if on and tn:
        return "both conflict" if (od, on) == (td, tn) else "both conflict, text or count differs"
    return "vcrdt clean, tool conflicts" if on == 0 else "vcrdt conflicts, tool clean"


def run_git(work: Path, flags: tuple[str, ...]) -> tuple[bytes, int]:
    args = ["git", "merge-file", "-p", "-L", "ours", "-L", "base", "-L", "theirs", *flags]
    r = subprocess.run([*args, "A", "O", "B"], cwd=work, capture_output=True, check=False)
    return r.stdout, r.returncode


def run_vcrdt(base: bytes, a: bytes, b: bytes, flags: tuple[str, ...]) -> tuple[bytes, int]:
    """What `vcrdt merge-file -p FLAGS` prints and exits with (the same call, in-process)."""
    style = "diff3" if "--diff3" in flags else "zdiff3" if "--zdiff3" in flags else "merge"
    favor = next((f[2:] for f in reversed(flags) if f in ("--ours", "--theirs", "--union")), "markers")
    size = int(flags[flags.index("--marker-size") + 1]) if "--marker-size" in flags else 7
    return merge_bytes(base, a, b, matcher=xdiff_matcher, style=style, marker_len=size, favor=favor)  # type: ignore[arg-type]


def run_gnu(work: Path) -> tuple[bytes, int]:
    r = subprocess.run(
        ["diff3", "-m", "-L", "ours", "-L", "base", "-L", "theirs", "A", "O", "B"],
        cwd=work,
        capture_output=True,
        check=False,
    )
    return r.stdout, (r.stdout.count(b"<<<<<<< ") if r.returncode == 1 else r.returncode)


def crosscheck(n: int, seed: int, mixed: bool = False) -> dict[str, Counter[str]]:
    table: dict[str, Counter[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for base, a, b in triples(n, seed, mixed):
            for name, data in (("O", base), ("A", a), ("B", b)):
                (work / name).write_bytes(data)
            for flags in FLAG_SETS:
                ours = run_vcrdt(base, a, b, flags)
                key = classify(ours, run_git(work, flags))
                table.setdefault(f"git merge-file {' '.join(flags)}".rstrip(), Counter())[key] += 1
            ours = merge_bytes(base, a, b, matcher=xdiff_matcher, style="diff3")
            gnu = run_gnu(work)
            # Compare verdicts only: GNU diff3 brackets and counts differently (see docs/merge.md).
            key = classify((b"", min(ours[1], 1)), (b"", min(gnu[1], 1)))
            table.setdefault("GNU diff3 -m (verdict)", Counter())[key] += 1
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--triples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--mixed", action="store_true", help="add marker-like lines, CRLF/CR endings, same edits")
    args = parser.parse_args()
    table = crosscheck(args.triples, args.seed, args.mixed)
    cols = sorted({k for c in table.values() for k in c})
    print(f"{args.triples} triples, seed {args.seed}{', mixed' if args.mixed else ''}")
    print("| tool | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for tool, counts in table.items():
        print(f"| {tool} | " + " | ".join(str(counts.get(c, 0)) for c in cols) + " |")


if __name__ == "__main__":
    main()
