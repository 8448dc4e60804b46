"""Deterministic generator of a realistic source-like tree for benchmarks.

The tree has ``files`` text files (default 10,000, about 110 MB, ~11 KB on
average with a log-normal spread of sizes) in ~100 directories nested three
levels deep. Files are source-code-like (Python, C, shell) or prose-like
(Markdown, text): lines are built from a vocabulary of words, identifiers,
keywords, literals, punctuation and indentation, so they compress like real
text (roughly 3-4x with zlib), not like repeated filler.

Every file is derived from ``(seed, index)`` alone, so the same arguments
always give byte-identical trees, and `edit_file` changes one file the same
way every time it is given the same ``step``.

Usage: ``python bench/gen_tree.py DIR [--files N] [--seed S]``.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import random
import string
import sys
from pathlib import Path

#: Bumped whenever the output for given arguments changes (cache key).
GENERATOR_VERSION = 1

DEFAULT_FILES = 10_000
DEFAULT_SEED = 42
MEAN_FILE_SIZE = 11_000
MIN_FILE_SIZE = 120
MAX_FILE_SIZE = 400_000
SIZE_SIGMA = 1.0

# Directory fan-out per level: 4 + 4*4 + 4*4*5 = 100 directories, 3 deep.
FANOUT = (4, 4, 5)

_SYLLABLES = (
    "ab ac ad al am an ar as at ba be bi bo ca ce ch ci co cu da de di do du el em en er es et ex fa fe fi fo "
    "ga ge gi go gu ha he hi ho id il im in io ir is it ka ke la le li lo lu ma me mi mo mu na ne ni no nu "
    "ob oc od of ol om on op or os ot pa pe pi po pu qu ra re ri ro ru sa se si so st su ta te th ti to tr "
    "tu ul um un ur us ut va ve vi vo wa we wi xa xe ya yo za ze zo"
).split()

_COMMON_WORDS = (
    "the of and to in is that for it as with was on be by this are or from at which an have not but "
    "all can has its one been more when will their if would there what so about into than them only "
    "other new some could these two may then first any like now each such over also after where most "
    "should through between used value data file path name list node tree commit object store index "
    "error result state change merge sync hash key table entry record field type size count offset "
    "buffer stream reader writer parser token line text block chunk range start end time version head"
).split()

_C_KEYWORDS = "static const int char void unsigned size_t struct return if else for while break uint8_t".split()
_SH_WORDS = "echo set local export test exit then fi do done case esac printf read shift".split()
_OPERATORS = ("=", "==", "!=", "+", "-", "*", "/", "<", ">", "<=", ">=", "+=", "%", "&", "|", "->")


class _Vocab:
    """A per-tree vocabulary: identifiers are invented from syllables."""

    def __init__(self, rng: random.Random, size: int = 3_000) -> None:
        words: set[str] = set()
        while len(words) < size:
            words.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.choice((1, 2, 2, 3, 3, 4)))))
        self.words = sorted(words)
        # Zipf-like weights: a few identifiers are everywhere, most are rare.
        self.weights = [1.0 / (rank + 3) ** 1.1 for rank in range(len(self.words))]
        rng.shuffle(self.words)
        self.cum = _cumulative(self.weights)
        self.common_cum = _cumulative([1.0 / (rank + 2) for rank in range(len(_COMMON_WORDS))])


def _cumulative(weights: list[float]) -> list[float]:
    total = 0.0
    out = []
    for weight in weights:
        total += weight
        out.append(total)
    return out


_VOCAB_CACHE: dict[int, _Vocab] = {}


def _vocab(seed: int) -> _Vocab:
    if seed not in _VOCAB_CACHE:
        _VOCAB_CACHE[seed] = _Vocab(random.Random(f"vocab:{seed}"))
    return _VOCAB_CACHE[seed]


class _Writer:
    """Builds the lines of one file from a vocabulary and a private RNG."""

    def __init__(self, vocab: _Vocab, rng: random.Random) -> None:
        self.vocab = vocab
        self.rng = rng
        # Each file mostly talks about its own small set of names, like real code.
        self.local = self.words(rng.randint(10, 30))
        self.idents = [self.new_ident() for _ in range(rng.randint(30, 120))]
        self.ident_cum = _cumulative([1.0 / (rank + 2) for rank in range(len(self.idents))])

    def words(self, k: int) -> list[str]:
        return self.rng.choices(self.vocab.words, cum_weights=self.vocab.cum, k=k)

    def common(self, k: int) -> list[str]:
        return self.rng.choices(_COMMON_WORDS, cum_weights=self.vocab.common_cum, k=k)

    def ident(self) -> str:
        """Mostly one of the file's own identifiers (as in real code), sometimes a fresh one."""
        if self.rng.random() < 0.9:
            return self.rng.choices(self.idents, cum_weights=self.ident_cum)[0]
        return self.new_ident()

    def new_ident(self) -> str:
        rng = self.rng
        parts = [rng.choice(self.local)] if rng.random() < 0.8 else self.words(1)
        if rng.random() < 0.35:
            parts.append(rng.choice(self.local) if rng.random() < 0.6 else self.words(1)[0])
        style = rng.random()
        if style < 0.7:
            return "_".join(parts)
        if style < 0.9:
            return parts[0] + "".join(p.capitalize() for p in parts[1:])
        return "".join(p.capitalize() for p in parts)

    def literal(self) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.4:
            return str(rng.choice((0, 1, 2, 8, 16, 32, 64, 100, 255, 1024, rng.randint(0, 99_999))))
        if roll < 0.8:
            return '"' + " ".join(self.common(rng.randint(1, 4))) + '"'
        return "0x" + "".join(rng.choices(string.hexdigits[:16], k=rng.choice((2, 4, 8))))

    def expr(self, depth: int = 0) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.35 or depth > 1:
            return self.ident()
        if roll < 0.55:
            return self.literal()
        if roll < 0.8:
            args = ", ".join(self.expr(depth + 1) for _ in range(rng.randint(0, 3)))
            return f"{self.ident()}({args})"
        return f"{self.expr(depth + 1)} {rng.choice(_OPERATORS)} {self.expr(depth + 1)}"

    def sentence(self) -> str:
        rng = self.rng
        out = []
        for _ in range(rng.randint(5, 18)):
            out.append(rng.choice(self.local) if rng.random() < 0.15 else self.common(1)[0])
            if rng.random() < 0.05:
                out.append(self.words(1)[0])
        text = " ".join(out)
        return text[0].upper() + text[1:] + rng.choice(".....;:?!")

    # --- file bodies ------------------------------------------------------

    def python(self, size: int) -> list[str]:
        rng = self.rng
        lines = [f'"""{self.sentence()}"""', ""]
        lines += [f"from {self.ident()} import {self.ident()}, {self.ident()}" for _ in range(rng.randint(1, 6))]
        total = sum(len(line) + 1 for line in lines)
        indent = 0
        while total < size:
            roll = rng.random()
            pad = "    " * indent
            if indent == 0 or roll < 0.06:
                line = f"\n\ndef {self.ident()}({', '.join(self.ident() for _ in range(rng.randint(0, 4)))}):"
                indent = 1
                line += f'\n    """{self.sentence()}"""'
            elif roll < 0.18:
                line = f"{pad}{rng.choice(('if', 'elif', 'while', 'for x in'))} {self.expr()}:"
                indent = min(indent + 1, 5)
            elif roll < 0.26:
                line = f"{pad}# {self.sentence()}"
            elif roll < 0.34:
                line = f"{pad}return {self.expr()}"
                indent = max(indent - 1, 1)
            elif roll < 0.40 and indent > 1:
                indent -= 1
                continue
            else:
                line = f"{pad}{self.ident()} = {self.expr()}"
            lines.append(line)
            total += len(line) + 1
        return lines

    def c_source(self, size: int) -> list[str]:
        rng = self.rng
        lines = [f"/* {self.sentence()} */", ""]
        lines += [f"#include <{self.ident()}.h>" for _ in range(rng.randint(2, 8))]
        total = sum(len(line) + 1 for line in lines)
        indent = 0
        while total < size:
            roll = rng.random()
            pad = "\t" * indent
            if indent == 0:
                ret = rng.choice(_C_KEYWORDS[:6])
                params = ", ".join(f"{rng.choice(_C_KEYWORDS[1:6])} {self.ident()}" for _ in range(rng.randint(1, 3)))
                line = f"\n{ret} {self.ident()}({params})\n{{"
                indent = 1
            elif roll < 0.12:
                line = f"{pad}{rng.choice(('if', 'while'))} ({self.expr()}) {{"
                indent = min(indent + 1, 4)
            elif roll < 0.22:
                indent -= 1
                line = "\t" * indent + "}"
            elif roll < 0.28:
                line = f"{pad}/* {self.sentence()} */"
            elif roll < 0.35:
                line = f"{pad}return {self.expr()};"
            else:
                line = f"{pad}{rng.choice(_C_KEYWORDS[1:6])} {self.ident()} = {self.expr()};"
            lines.append(line)
            total += len(line) + 1
        lines += ["\t" * i + "}" for i in range(indent - 1, -1, -1)]
        return lines

    def shell(self, size: int) -> list[str]:
        rng = self.rng
        lines = ["#!/bin/sh", f"# {self.sentence()}", "set -eu", ""]
        total = sum(len(line) + 1 for line in lines)
        while total < size:
            roll = rng.random()
            if roll < 0.2:
                line = f"# {self.sentence()}"
            elif roll < 0.5:
                line = f'{self.ident().upper()}="${{{self.ident().upper()}:-{self.literal().strip(chr(34))}}}"'
            else:
                args = " ".join(f"--{self.ident().replace('_', '-')}" for _ in range(rng.randint(0, 3)))
                line = f"{rng.choice(_SH_WORDS)} {args} {self.ident()} {self.literal()}"
            lines.append(line)
            total += len(line) + 1
        return lines

    def prose(self, size: int) -> list[str]:
        rng = self.rng
        lines = [f"# {' '.join(w.capitalize() for w in self.common(rng.randint(2, 5)))}", ""]
        total = sum(len(line) + 1 for line in lines)
        while total < size:
            roll = rng.random()
            if roll < 0.08:
                block = ["", f"## {self.sentence().rstrip('.;:?!')}", ""]
            elif roll < 0.2:
                block = [f"- {self.sentence()}" for _ in range(rng.randint(2, 6))] + [""]
            elif roll < 0.25:
                block = ["```", *(f"{self.ident()} = {self.expr()}" for _ in range(rng.randint(1, 5))), "```", ""]
            else:
                block = _wrap(" ".join(self.sentence() for _ in range(rng.randint(2, 7))), rng.choice((72, 79, 80)))
                block.append("")
            lines += block
            total += sum(len(line) + 1 for line in block)
        return lines


def _wrap(text: str, width: int) -> list[str]:
    lines, cur = [], ""
    for word in text.split(" "):
        if cur and len(cur) + 1 + len(word) > width:
            lines.append(cur)
            cur = word
        else:
            cur = f"{cur} {word}" if cur else word
    if cur:
        lines.append(cur)
    return lines


# (extension, writer method, weight)
_KINDS = (
    (".py", "python", 45),
    (".c", "c_source", 20),
    (".h", "c_source", 5),
    (".sh", "shell", 5),
    (".md", "prose", 15),
    (".txt", "prose", 10),
)


def _dirs(seed: int) -> list[str]:
    """The ~100 directories, parents before children, as relative POSIX paths."""
    rng = random.Random(f"dirs:{seed}")
    vocab = _vocab(seed)
    out: list[str] = []
    level = [""]
    for fan in FANOUT:
        nxt = []
        for parent in level:
            names: set[str] = set()
            while len(names) < fan:
                names.add(rng.choice(vocab.words[:800]))
            for name in sorted(names):
                path = f"{parent}/{name}" if parent else name
                nxt.append(path)
        out += nxt
        level = nxt
    return out


def _sizes(files: int, seed: int) -> list[int]:
    """Log-normal sizes, rescaled so the total is ``files * MEAN_FILE_SIZE``."""
    rng = random.Random(f"sizes:{seed}")
    mu = math.log(MEAN_FILE_SIZE) - SIZE_SIGMA**2 / 2
    raw = [min(max(rng.lognormvariate(mu, SIZE_SIGMA), MIN_FILE_SIZE), MAX_FILE_SIZE) for _ in range(files)]
    scale = files * MEAN_FILE_SIZE / sum(raw)
    return [max(MIN_FILE_SIZE, min(MAX_FILE_SIZE, round(s * scale))) for s in raw]


def plan(files: int = DEFAULT_FILES, seed: int = DEFAULT_SEED) -> list[tuple[str, int]]:
    """Return ``(relative path, target size)`` for every file of the tree, in index order."""
    dirs = _dirs(seed)
    leaves = dirs[FANOUT[0] + FANOUT[0] * FANOUT[1] :]
    rng = random.Random(f"plan:{seed}")
    vocab = _vocab(seed)
    exts = [kind[0] for kind in _KINDS]
    weights = [kind[2] for kind in _KINDS]
    used: set[str] = set()
    out = []
    for size in _sizes(files, seed):
        # Most files live in leaf directories, some higher up, a few at the top.
        roll = rng.random()
        parent = rng.choice(leaves) if roll < 0.8 else (rng.choice(dirs) if roll < 0.97 else "")
        ext = rng.choices(exts, weights=weights)[0]
        while True:
            stem = "_".join(rng.choices(vocab.words[:3000], k=rng.choice((1, 2, 2, 3))))
            path = f"{parent}/{stem}{ext}" if parent else f"{stem}{ext}"
            if path not in used and path.rsplit("/", 1)[-1].rsplit(".", 1)[0] not in ("", "."):
                break
        used.add(path)
        out.append((path, size))
    return out


def render(index: int, path: str, size: int, seed: int = DEFAULT_SEED) -> bytes:
    """The content of file ``index`` of the tree (about ``size`` bytes)."""
    ext = "." + path.rsplit(".", 1)[-1]
    method = next(kind[1] for kind in _KINDS if kind[0] == ext)
    writer = _Writer(_vocab(seed), random.Random(f"file:{seed}:{index}"))
    lines = getattr(writer, method)(size)
    return ("\n".join(lines) + "\n").encode()


def generate(root: str | Path, files: int = DEFAULT_FILES, seed: int = DEFAULT_SEED) -> list[str]:
    """Write the tree under ``root`` (created if needed); return the relative paths."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for directory in _dirs(seed):
        (root / directory).mkdir(parents=True, exist_ok=True)
    paths = []
    for index, (path, size) in enumerate(plan(files, seed)):
        (root / path).write_bytes(render(index, path, size, seed))
        paths.append(path)
    return paths


def edit_file(path: str | Path, step: int = 0) -> None:
    """Change one file deterministically: rewrite one line and append one.

    The result depends only on the file's content and ``step``, so replaying
    the same edits on identical trees gives identical trees. The file's size
    always changes, so even a stat check without content hashing sees it.
    """
    path = Path(path)
    data = path.read_bytes()
    digest = hashlib.sha256(data + step.to_bytes(8, "little")).hexdigest()
    rng = random.Random(digest)
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    note = f"# edit {step}: {' '.join(rng.choices(_COMMON_WORDS, k=rng.randint(3, 9)))} {digest[:12]}".encode()
    if lines:
        lines[rng.randrange(len(lines))] = note
    lines.append(f"# appended by edit {step} ({digest[12:20]})".encode())
    path.write_bytes(b"\n".join(lines) + b"\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", help="directory to write the tree into (created if missing)")
    parser.add_argument("--files", type=int, default=DEFAULT_FILES, help="number of files (default %(default)s)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default %(default)s)")
    args = parser.parse_args(argv)
    paths = generate(args.dir, args.files, args.seed)
    total = sum((Path(args.dir) / p).stat().st_size for p in paths)
    print(f"wrote {len(paths)} files, {total / 1e6:.1f} MB, under {args.dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
