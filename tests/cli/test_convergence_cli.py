"""The convergence driver's promise, through the command line: replicas that sync in random pairs agree.

A smaller version of `tests.helpers.convergence` (which runs through the
porcelain): three replicas cloned from one, each step a command a user would
type (edit a file under a rule and `commit -A`, `fetch` or `sync` another
replica, `merge --auto`, create or delete a branch). After an all-pairs
`sync --auto-merge`, every replica has the same files and ref state, `fsck`
is clean, `sync --verify` sees equal Merkle roots, every JSON file parses
and no file holds a conflict marker; another round changes nothing.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner

POLICY = "*.lww lww\n*.json json\n*.txt union\n"
REPLICAS = 3


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".vcrdt" not in p.relative_to(root).parts
    }


def _edit(root: Path, rng: random.Random, who: int, n: int) -> None:
    kind = rng.choice(["lww", "json", "txt"])
    if kind == "lww":
        (root / "l.lww").write_text(f"port={who}.{n}\n")
    elif kind == "json":
        doc = json.loads((root / "c.json").read_text())
        key = f"k{rng.randrange(3)}"
        if rng.random() < 0.2:
            doc.pop(key, None)
        else:
            doc[key] = f"{who}.{n}"
        (root / "c.json").write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    else:
        lines = (root / "u.txt").read_text().splitlines()
        lines[rng.randrange(len(lines))] = f"line by {who}.{n}"
        (root / "u.txt").write_text("".join(f"{x}\n" for x in lines))


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_replicas_syncing_in_random_pairs_converge(cli: CliRunner, seed: int) -> None:
    rng = random.Random(seed)
    first = cli.cwd / "r0"
    cli.ok("init", "r0")
    (first / ".vcrdtattributes").write_text(POLICY)
    (first / "l.lww").write_text("port=0\n")
    (first / "c.json").write_text(json.dumps({"k0": 0, "k1": 0, "k2": 0}, indent=1) + "\n")
    (first / "u.txt").write_text("".join(f"line {i}\n" for i in range(4)))
    cli.ok("commit", "-A", "-m", "base", cwd=first)
    roots = [first]
    for i in range(1, REPLICAS):
        cli.ok("clone", "r0", f"r{i}")
        roots.append(cli.cwd / f"r{i}")
    for n in range(40):
        who = rng.randrange(REPLICAS)
        root, other = roots[who], roots[(who + rng.randrange(1, REPLICAS)) % REPLICAS]
        step = rng.choices(["edit", "fetch", "sync", "auto", "branch"], weights=[5, 3, 2, 2, 1])[0]
        if step == "edit":
            r = cli("merge", "--auto", cwd=root)  # a commit goes on top of the joined heads
            assert r.code in (0, 1), r.err
            _edit(root, rng, who, n)
            r = cli("commit", "-A", "-m", f"edit {n} by {who}", cwd=root)
            assert r.code == 0 or "nothing to commit" in r.err, r.err
        elif step == "fetch":
            cli.ok("fetch", str(other), cwd=root)
        elif step == "sync":
            cli.ok("sync", str(other), "--auto-merge", cwd=root)
        elif step == "auto":
            r = cli("merge", "--auto", cwd=root)
            assert r.code == 0 or "no concurrent heads" in r.err, r.err
        else:
            r = cli("branch", "-D", "side", cwd=root) if rng.random() < 0.5 else cli("branch", "side", cwd=root)
            assert r.code in (0, 1), r.err
            assert "internal error" not in r.err
    for _ in range(3):
        for root in roots:
            for other in roots:
                if other != root:
                    cli.ok("sync", str(other), "--auto-merge", cwd=root)
    files = [_files(root) for root in roots]
    assert all(f == files[0] for f in files), "replicas hold different files after all-pairs syncs"
    for root in roots:
        cli.ok("fsck", cwd=root)
        assert cli.ok("status", "--short", cwd=root).out == ""
        for other in roots:
            if other != root:
                assert "same Merkle roots" in cli.ok("sync", str(other), "--verify", cwd=root).err
    json.loads(files[0]["c.json"])
    for name, data in files[0].items():
        for line in data.splitlines():
            assert not line.startswith((b"<<<<<<< ", b">>>>>>> ", b"||||||| ")), f"{name}: conflict marker"
    # Settled: one more all-pairs round moves no branch.
    before = [cli.ok("log", "-n", "1", cwd=root).out for root in roots]
    for root in roots:
        for other in roots:
            if other != root:
                cli.ok("sync", str(other), "--auto-merge", cwd=root)
    assert [cli.ok("log", "-n", "1", cwd=root).out for root in roots] == before
