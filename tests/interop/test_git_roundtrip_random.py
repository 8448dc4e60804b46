"""Random git histories, odd in every way git allows, go through vcrdt and come back with the same ids.

Hypothesis draws histories of raw commits: merges and octopus merges in drawn parent order,
authors and committers that differ, ident lines only other tools write (``Ann < a@x >``,
``Ann<a@x>``, empty e-mails, times out of range or with leading zeros), offsets of every sign
with ``-0000``, names and messages in Latin-1 with and without an ``encoding`` header,
``gpgsig`` and unknown headers, messages without a final newline, trees with non-UTF-8 names,
old modes such as ``100664``, symlinks, executables, submodules, empty trees; and annotated
tags. It writes them raw (as ``git hash-object --literally`` does) and checks git -> vcrdt ->
git id for id, both from the importing replica and from a clone that got the history through
sync.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pygit2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.cli import CliRunner
from tests.interop.gitbuild import every_object, refs

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git missing")

NAMES = [b"a", b"a.txt", b"a-b", b"Z", b"caf\xe9", "ü".encode(), b"x y", b"-dash", b"README"]
MODES = [b"100644", b"100755", b"120000", b"100664", b"160000"]
PEOPLE = [b"Ann", b"Zo\xe9", "Jürgen".encode(), b"", b"Bob  Two"]
# Ident forms git writes and forms only other tools write (kept byte for byte by the git record).
EMAILS = [b" <a@x>", b" < a@x >", b"<a@x>", b" <>", b" <caf\xe9@x>"]
TIMES = [b"", b"0", b"01700000000", b"-5", b"99999999999999999999"]
TZS = [b"+0000", b"-0000", b"+0530", b"-0700", b"+1400", b"-1200", b"+0045"]
MESSAGES = [b"one line\n", b"no final newline", b"", b"\n\nleading blank\n", b"caf\xe9 latin-1\n", b"a\n\n\nb\n\n"]
EXTRA = [
    b"change-id I0123456789\n",
    b"gpgsig -----BEGIN PGP SIGNATURE-----\n \n wsBcBAABCAAQBQJ\n -----END PGP SIGNATURE-----\n",
    b"x-unknown some value\n",
]

files = st.dictionaries(st.sampled_from(NAMES), st.tuples(st.sampled_from(MODES), st.binary(max_size=8)), max_size=4)
commit_spec = st.fixed_dictionaries(
    {
        "files": files,
        "subdir": st.booleans(),
        "parents": st.lists(st.integers(0, 30), max_size=4),
        "author": st.sampled_from(PEOPLE),
        "committer": st.sampled_from(PEOPLE),
        "time": st.integers(0, 2**34),
        "email": st.sampled_from(EMAILS),
        "odd_time": st.sampled_from([None, *TIMES]),
        "tz": st.sampled_from(TZS),
        "ctz": st.sampled_from(TZS),
        "encoding": st.booleans(),
        "extra": st.lists(st.sampled_from(EXTRA), max_size=2, unique=True),
        "message": st.sampled_from(MESSAGES),
    }
)


def _write_tree(odb: pygit2.Odb, spec: dict) -> bytes:
    entries = []
    for name, (mode, data) in spec["files"].items():
        if mode == b"120000":
            data = b"t" + data.hex().encode()  # checkout refuses links out of the tree; ids are what is tested
        if mode == b"160000":
            oid = bytes(pygit2.hash(data).raw)  # a commit that is not here, as a submodule names
        else:
            oid = bytes(odb.write(pygit2.enums.ObjectType.BLOB, data).raw)
        entries.append((name, mode, oid))
    if spec["subdir"]:
        inner = odb.write(pygit2.enums.ObjectType.TREE, b"100644 f\0" + bytes(odb.write(3, b"in\n").raw))
        # A directory "a" beside "a.txt" is where git's order and vcrdt's differ.
        entries.append((b"a" if b"a" not in spec["files"] else b"dir", b"40000", bytes(inner.raw)))
    entries.sort(key=lambda e: e[0] + b"/" if e[1] == b"40000" else e[0])
    body = b"".join(m + b" " + n + b"\0" + o for n, m, o in entries)
    return bytes(odb.write(pygit2.enums.ObjectType.TREE, body).raw)


def _build(path: Path, specs: list[dict], tags: list[int]) -> None:
    git = pygit2.init_repository(str(path), bare=True)
    odb = git.odb
    made: list[bytes] = []
    for spec in specs:
        tree = _write_tree(odb, spec)
        parents = []
        for i in spec["parents"]:
            if made and made[i % len(made)] not in parents:
                parents.append(made[i % len(made)])
        head = b"tree " + tree.hex().encode() + b"\n"
        head += b"".join(b"parent " + p.hex().encode() + b"\n" for p in parents)
        when = spec["odd_time"] if spec["odd_time"] is not None else str(spec["time"]).encode()
        head += b"author " + spec["author"] + spec["email"] + b" " + when + b" " + spec["tz"] + b"\n"
        head += (
            b"committer " + spec["committer"] + b" <c@x> " + str(spec["time"] + 7).encode() + b" " + spec["ctz"] + b"\n"
        )
        if spec["encoding"]:
            head += b"encoding ISO-8859-1\n"
        head += b"".join(spec["extra"])
        made.append(bytes(odb.write(pygit2.enums.ObjectType.COMMIT, head + b"\n" + spec["message"]).raw))
    for n, c in enumerate(made[-3:]):
        git.references.create(f"refs/heads/b{n}", pygit2.Oid(raw=c), force=True)
    for n, i in enumerate(tags):
        target = made[i % len(made)]
        body = b"object " + target.hex().encode() + b"\ntype commit\ntag t" + str(n).encode()
        body += b"\ntagger T <t@x> 1700000000 -0000\n\nmessage " + str(n).encode() + b"\n"
        tag = odb.write(pygit2.enums.ObjectType.TAG, body)
        git.references.create(f"refs/tags/t{n}", tag, force=True)


def _same(src: Path, dst: Path) -> None:
    objects = every_object(src)
    check = subprocess.run(
        ["git", "cat-file", "--batch-check"],
        input="\n".join(sorted(objects)).encode() + b"\n",
        cwd=dst,
        capture_output=True,
        check=True,
    ).stdout.decode()
    assert "missing" not in check, check
    assert refs(dst) == refs(src)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=st.lists(commit_spec, min_size=1, max_size=8), tags=st.lists(st.integers(0, 30), max_size=2))
def test_random_histories_round_trip(cli: CliRunner, specs: list[dict], tags: list[int]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        _build(base / "src.git", specs, tags)
        cli.ok("init", str(base / "a"))
        cli.ok("git", "import", str(base / "src.git"), "-q", cwd=base / "a")
        cli.ok("git", "export", str(base / "out.git"), "-q", cwd=base / "a")
        _same(base / "src.git", base / "out.git")
        cli.ok("clone", str(base / "a"), str(base / "b"))
        cli.ok("git", "export", str(base / "clone.git"), "-q", cwd=base / "b")
        _same(base / "src.git", base / "clone.git")
        cli.ok("fsck", cwd=base / "b")
