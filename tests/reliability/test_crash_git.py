"""Kill a real `vcrdt git import` / `vcrdt git export` with SIGKILL at random moments.

The source is a generated git history (merges, an annotated tag, a few hundred commits) big
enough for the kills to land inside the work. After each kill:

- import: ``vcrdt fsck`` is clean, the source still passes ``git fsck --strict``, and the
  import landed whole or not at all (the redo imports every commit, or none); the redo
  completes, and exporting the result gives the source's refs, id for id;
- export: ``vcrdt fsck`` is clean, the target (when it exists) passes ``git fsck --strict``
  (a ``tmp_pack_*`` file left by the kill is garbage git ignores, as after a killed ``git
  fetch``) and every ref it holds names what the finished export names; the redo completes
  with exactly the refs and ids of an export never interrupted.

Each run is logged as one crash run over ``git import`` or ``git export``.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.reliability.checks import KillClock, Run, kill_after, report, timed, vcrdt_env

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git missing")

RUNS = 12
"""Runs per command: 24 crash runs in all."""
COMMITS = 300
FILES = 150


def _git(cwd: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True, check=False)


def _text(rng: random.Random, tag: str) -> bytes:
    words = [f"w{i}" for i in range(200)]
    lines = [tag] + [" ".join(rng.choice(words) for _ in range(rng.randint(3, 12))) for _ in range(rng.randint(5, 60))]
    return ("\n".join(lines) + "\n").encode()


def _source(path: Path, rng: random.Random) -> Path:
    """A bare git repository: COMMITS commits over FILES files, a merged topic branch every 25, a tag."""
    assert _git(path.parent, "init", "-q", "--bare", "-b", "main", path.name).returncode == 0
    files = {f"d{i % 9}/s{i % 4}/f{i}.txt": _text(rng, f"file {i}") for i in range(FILES)}
    paths = sorted(files)
    out: list[bytes] = []
    mark = 0

    def commit(ref: str, msg: str, parents: list[int], changed: dict[str, bytes]) -> int:
        nonlocal mark
        mark += 1
        m = msg.encode()
        part = [f"commit {ref}\nmark :{mark}\ncommitter C <c@x> {1_700_000_000 + mark} +0100\n".encode()]
        part.append(f"data {len(m)}\n".encode() + m + b"\n")
        if parents:
            part.append(f"from :{parents[0]}\n".encode())
        part += [f"merge :{p}\n".encode() for p in parents[1:]]
        part += [f"M 100644 inline {p}\ndata {len(b)}\n".encode() + b + b"\n" for p, b in sorted(changed.items())]
        out.append(b"".join(part) + b"\n")
        return mark

    head = commit("refs/heads/main", "initial", [], files)
    n = 1
    while n < COMMITS:
        if n % 25 == 0:
            topic = commit(f"refs/heads/topic{n}", f"topic {n}", [head], {paths[n % FILES]: _text(rng, f"t{n}")})
            side = commit("refs/heads/main", f"main {n}", [head], {paths[(n + 1) % FILES]: _text(rng, f"m{n}")})
            head = commit("refs/heads/main", f"merge {n}", [side, topic], {paths[n % FILES]: _text(rng, f"t{n}")})
            n += 3
        else:
            changed = {p: _text(rng, f"c{n}") for p in rng.sample(paths, 3)}
            head = commit("refs/heads/main", f"commit {n}", [head], changed)
            n += 1
    out.append(f"tag v1\nfrom :{head}\ntagger T <t@x> 1700009999 -0000\ndata 4\nv1!\n\n".encode())
    done = _git(path, "fast-import", "--quiet", stdin=b"".join(out))
    assert done.returncode == 0, done.stderr
    return path


def _refs(gitdir: Path) -> dict[str, str]:
    text = _git(gitdir, "for-each-ref", "--format=%(refname) %(objectname)").stdout.decode()
    return dict(line.split() for line in text.splitlines())


def _git_fsck(run: Run, gitdir: Path, what: str) -> None:
    r = _git(gitdir, "fsck", "--strict", "--no-dangling", "--no-progress")
    err = r.stderr.decode(errors="replace")
    bad = [ln for ln in err.splitlines() if not ln.startswith(("warning: garbage found", "notice:"))]
    run.check(r.returncode == 0 and not bad, f"git fsck --strict of {what}: {r.returncode} {'; '.join(bad)[:300]}")


@pytest.mark.slow
def test_sigkill_during_git_import(tmp_path: Path) -> None:
    rng = random.Random("git-import")
    src = _source(tmp_path / "src.git", rng)
    want = _refs(src)
    total = int(_git(src, "rev-list", "--all", "--count").stdout)
    first = tmp_path / "first"
    startup = timed(tmp_path, "init", str(first))
    duration = timed(first, "git", "import", "--quiet", str(src))
    clock = KillClock(rng, startup, duration)
    failures = []
    for n in range(1, RUNS + 1):
        root = tmp_path / f"repo{n}"
        timed(tmp_path, "init", str(root))
        run = Run(f"git-import/{n}", root, vcrdt_env())
        with run.checking("git import", failures):
            kill_after(root, ["git", "import", "--quiet", str(src)], clock, run.env)
            run.fsck()
            run.status()
            _git_fsck(run, src, "the source")
            redo = run.cli("git", "import", "--json", str(src))
            if redo is not None:
                doc = json.loads(redo.stdout)
                imported = doc["commits"]
                run.check(imported in (0, total), f"the redo imported {imported} of {total} commits: a partial import")
                again = run.cli("git", "import", "--json", str(src))
                if again is not None:
                    run.check(json.loads(again.stdout)["commits"] == 0, "a third import found new commits")
                out = tmp_path / f"out{n}.git"
                if run.cli("git", "export", "--quiet", str(out)) is not None:
                    run.check(_refs(out) == want, "the export of the redone import does not give the source's ids")
                    _git_fsck(run, out, "the export")
                    shutil.rmtree(out)
            run.fsck()
        shutil.rmtree(root, ignore_errors=True)
    assert not failures, report(failures)
    assert clock.landed >= RUNS // 3, f"only {clock.landed} of {RUNS} kills landed before the import ended"


@pytest.mark.slow
def test_sigkill_during_git_export(tmp_path: Path) -> None:
    rng = random.Random("git-export")
    src = _source(tmp_path / "src.git", rng)
    root = tmp_path / "repo"
    startup = timed(tmp_path, "init", str(root))
    timed(root, "git", "import", "--quiet", str(src))
    # Native commits too: they go out with vcrdt-* headers.
    for k in range(3):
        (root / f"native{k}.txt").write_text(f"native {k}\n" * 40)
        timed(root, "commit", "-A", "-m", f"native {k}")
    reference = tmp_path / "reference.git"
    duration = timed(root, "git", "export", "--quiet", str(reference))
    want = _refs(reference)
    assert "refs/tags/v1" in want and "refs/heads/main" in want
    clock = KillClock(rng, startup, duration)
    failures = []
    for n in range(1, RUNS + 1):
        out = tmp_path / f"out{n}.git"
        run = Run(f"git-export/{n}", root, vcrdt_env())
        with run.checking("git export", failures):
            kill_after(root, ["git", "export", "--quiet", str(out)], clock, run.env)
            run.fsck()
            if (out / "HEAD").exists():
                _git_fsck(run, out, "the killed export")
                have = _refs(out)
                wrong = sorted(name for name, gid in have.items() if want.get(name) != gid)
                run.check(not wrong, f"refs not as the finished export names them: {wrong[:5]}")
            if run.cli("git", "export", "--quiet", str(out)) is not None:
                run.check(_refs(out) == want, "the redone export's refs or ids differ from an uninterrupted one")
                _git_fsck(run, out, "the redone export")
                left = sorted(p.name for p in tmp_path.glob(f".{out.name}.vcrdt-init-*"))
                run.check(not left, f"the redone export left scratch directories: {left}")
            run.fsck()
        shutil.rmtree(out, ignore_errors=True)
    assert not failures, report(failures)
    assert clock.landed >= RUNS // 3, f"only {clock.landed} of {RUNS} kills landed before the export ended"
