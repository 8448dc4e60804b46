"""The merge check on imported histories: every two-parent merge of a generated git history,
merged again by vcrdt, against ``git merge-tree --write-tree`` of the same two parents.

The history is built with real git (random line edits, insertions, deletions, new and deleted
files on a topic branch and on main, merged with ``--no-ff``; conflicts resolved by taking one
side), then imported. For each merge commit, vcrdt merges its two parents (mapped with ``vcrdt
git map``) and git does with ``merge-tree``: when both merge cleanly the trees must be the same
file for file; when both stop, on the same paths. The counts are printed (``pytest -s``) and
docs/merge.md ("Against git on imported histories") explains where the two may differ: neither
case occurs in these histories, so any difference fails the test.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner
from tests.interop.gitbuild import git, init

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git missing")

ENV = {
    "GIT_AUTHOR_NAME": "G",
    "GIT_AUTHOR_EMAIL": "g@x",
    "GIT_COMMITTER_NAME": "G",
    "GIT_COMMITTER_EMAIL": "g@x",
    "GIT_AUTHOR_DATE": "1700000000 +0000",
    "GIT_COMMITTER_DATE": "1700000000 +0000",
}
ROUNDS = 14


def _edit(g: Path, rng: random.Random, tag: str) -> None:
    files = sorted(p for p in g.iterdir() if p.is_file())
    for _ in range(rng.randint(1, 3)):
        op = rng.random()
        if op < 0.08 or not files:
            (g / f"new-{tag}-{rng.randrange(10**6)}.txt").write_text(
                "".join(f"{tag} fresh {i} {rng.random()}\n" for i in range(rng.randint(3, 12)))
            )
            continue
        path = rng.choice(files)
        if op < 0.12 and len(files) > 3:
            path.unlink()
            files.remove(path)
            continue
        lines = path.read_text().splitlines(keepends=True)
        i = rng.randrange(len(lines)) if lines else 0
        if op < 0.6 and lines:
            lines[i] = f"{tag} changed {rng.randrange(1000)}\n"
        elif op < 0.8:
            lines.insert(i, f"{tag} inserted {rng.randrange(1000)}\n")
        elif lines:
            del lines[i]
        path.write_text("".join(lines))


def _commit(g: Path, message: str) -> None:
    git(g, "add", "-A")
    git(g, "commit", "-q", "--allow-empty", "-m", message, env=ENV)


def _history(root: Path, seed: int) -> Path:
    rng = random.Random(seed)
    g = init(root / "src")
    for f in range(8):
        (g / f"f{f}.txt").write_text("".join(f"file {f} line {i}\n" for i in range(30)))
    _commit(g, "base")
    for r in range(ROUNDS):
        git(g, "checkout", "-q", "-b", f"topic{r}")
        for k in range(rng.randint(1, 2)):
            _edit(g, rng, f"t{r}.{k}")
            _commit(g, f"topic {r}.{k}")
        git(g, "checkout", "-q", "main")
        for k in range(rng.randint(1, 2)):
            _edit(g, rng, f"m{r}.{k}")
            _commit(g, f"main {r}.{k}")
        side = rng.choice(["ours", "theirs"])
        proc = git_merge(g, f"topic{r}", side)
        if not proc:
            _commit(g, f"merge topic{r} (conflicts taken as they are)")
    return g


def git_merge(g: Path, branch: str, side: str) -> bool:
    """``git merge --no-ff -X SIDE``; False when it stops on conflicts it cannot settle."""
    env = {**os.environ, **ENV}
    r = subprocess.run(
        ["git", "merge", "-q", "--no-ff", "--no-edit", "-X", side, branch], cwd=g, env=env, capture_output=True
    )
    return r.returncode == 0


def _git_tree_files(g: Path, tree: str) -> dict[str, str]:
    out = {}
    for entry in git(g, "ls-tree", "-r", "-z", tree).split(b"\0"):
        if entry:
            meta, path = entry.split(b"\t", 1)
            out[path.decode()] = meta.split()[2].decode()
    return out


def _disk_files(root: Path) -> dict[str, str]:
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and ".vcrdt" not in p.relative_to(root).parts:
            data = p.read_bytes()
            out[str(p.relative_to(root))] = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_vcrdt_merges_imported_merges_as_git_merge_tree(cli: CliRunner, tmp_path: Path, seed: int) -> None:
    g = _history(tmp_path, seed)
    work = tmp_path / "work"
    cli.ok("init", "--from-git", str(g), str(work))
    merges = [line.split() for line in git(g, "rev-list", "--merges", "--parents", "--all").decode().splitlines()]
    two = [m for m in merges if len(m) == 3]
    assert len(two) == ROUNDS
    counts = {"both clean, same tree": 0, "both conflict, same paths": 0}
    for _merge, p1, p2 in two:
        ours = cli.ok("-C", str(work), "git", "map", p1).out.strip()
        theirs = cli.ok("-C", str(work), "git", "map", p2).out.strip()
        cli.ok("-C", str(work), "switch", "--detach", ours)
        proc = subprocess.run(
            ["git", "merge-tree", "--write-tree", "--name-only", "--no-messages", p1, p2],
            cwd=g,
            capture_output=True,
            text=True,
        )
        assert proc.returncode in (0, 1), proc.stderr
        lines = proc.stdout.splitlines()
        git_tree, git_conflicts = lines[0], sorted({ln for ln in lines[1:] if ln})
        dry = cli("-C", str(work), "merge", "--dry-run", "--json", theirs)
        assert dry.code in (0, 1), dry.err
        doc = json.loads(dry.out)
        ours_conflicts = sorted(c["path"] for c in doc["conflicts"])
        where = f"merge of {p1[:10]} and {p2[:10]}"
        assert bool(ours_conflicts) == bool(git_conflicts), f"{where}: vcrdt {ours_conflicts}, git {git_conflicts}"
        if git_conflicts:
            assert ours_conflicts == git_conflicts, where
            counts["both conflict, same paths"] += 1
            continue
        cli.ok("-C", str(work), "merge", "--no-edit", "-m", "again", theirs)
        assert _disk_files(work) == _git_tree_files(g, git_tree), where
        counts["both clean, same tree"] += 1
    print(f"merge check, seed {seed}: {len(two)} two-parent merges: {counts}")
    assert sum(counts.values()) == len(two)
