"""The git interop test vectors of docs/format.md, and the revision-1 object fields."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from vcrdt.errors import CorruptObjectError, GitInteropError
from vcrdt.gitio.record import GitRecord
from vcrdt.ids import ObjectId, ReplicaId
from vcrdt.objects import Commit, EntryKind, Signature, Tree, TreeEntry, references
from vcrdt.repo import Repository, Settings

R = ReplicaId("0123456789abcdef0123456789abcdef")
C1 = "565476b010c7ceacd201f4942c90e8b3574f4cd535dc67106117eef509a45562"
C1_GIT = "bfab8d4ed77a02691d357aa01b9c654a4678e5b9"
IMPORTED_RAW = (
    b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"
    b"author Ann <ann@x> 1700000000 -0000\n"
    b"committer Bob <bob@x> 1700000100 +0530\n"
    b"change-id I1\n"
    b"\n"
    b"no final newline"
)
IMPORTED_GIT = "963f4a6bc15b4faa354a476c3cb1ffae6d5f8e1b"
IMPORTED_VCRDT = "207df88bbaf3085222a7d68e86460db07b23f4d8b2a299031b733f1556d907d1"
RECORD = "ae624a55091cf28c5c37db5f9cac2739f2bfe632c5e9bdd7ea13ab1ff3516c5d"
RECORD_BODY = (
    b"vcrdt-git-record 1\ntype commit\nheader 88\n"
    b"author Ann <ann@x> 1700000000 -0000\ncommitter Bob <bob@x> 1700000100 +0530\nchange-id I1\n\n"
)
# The same commit in a SHA-256 repository: its record says so (a `format sha256` line).
IMPORTED_GIT_256 = "d0fcdef165a9e6f3a943f92997c3885cac5b704199b0db55bf151e2035dc3710"
IMPORTED_VCRDT_256 = "60cbe1da7cb209fd36e366e387c3498e70591c9b7510fdf522560b686ae6429b"
RECORD_256 = "eca216e159ba5b5381d6ddd06b99f0c64ea1f62b7b9895651ca05157ef89f55a"
RECORD_BODY_256 = RECORD_BODY.replace(b"type commit\n", b"type commit\nformat sha256\n")
SUBM_TREE = "470ed67129230b7ab4abee02d2495dcb32c0b725896c40e82aa242bc643e0be8"

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git missing")


def _fixed_replica(path: Path) -> Repository:
    Repository.init(path, Settings()).close()
    repo = Repository(path, Settings())
    with repo.transaction():
        repo.db.set_meta("replica", R)
    repo.close()
    return Repository(path, Settings())


def _c1(repo: Repository) -> ObjectId:
    with repo.transaction():
        hello = repo.store.put("blob", b"hello\n")
        link = repo.store.put("blob", b"hello.txt")
        sub = repo.store.put("tree", Tree.build([TreeEntry("x", EntryKind.FILE, hello)]).to_bytes())
        root = Tree.build(
            [
                TreeEntry("hello.txt", EntryKind.FILE, hello),
                TreeEntry("link", EntryKind.SYMLINK, link),
                TreeEntry("sub", EntryKind.TREE, sub),
            ]
        )
        tree = repo.store.put("tree", root.to_bytes())
        c1 = Commit(
            tree, (), Signature("Ada Lovelace", "ada@example.com", 1700000000, 60), "initial commit\n", R, 1, ((R, 1),)
        )
        return repo.store.put("commit", c1.to_bytes())


def test_native_commit_vector(tmp_path: Path) -> None:
    from vcrdt.gitio import git_id_of

    with _fixed_replica(tmp_path / "v") as repo:
        oid = _c1(repo)
        assert oid.hex() == C1
        assert git_id_of(repo, oid) == (bytes.fromhex(C1_GIT), "commit")


@needs_git
def test_imported_commit_vector_and_back(tmp_path: Path) -> None:
    from vcrdt.dag import read_commit
    from vcrdt.gitio import export_git, import_git

    g = tmp_path / "g.git"
    subprocess.run(["git", "init", "-q", "--bare", str(g)], check=True)
    subprocess.run(["git", "hash-object", "-w", "-t", "tree", "--stdin"], input=b"", cwd=g, check=True)
    out = subprocess.run(
        ["git", "hash-object", "-w", "-t", "commit", "--stdin"],
        input=IMPORTED_RAW,
        cwd=g,
        check=True,
        capture_output=True,
    )
    assert out.stdout.decode().strip() == IMPORTED_GIT
    subprocess.run(["git", "update-ref", "refs/heads/main", IMPORTED_GIT], cwd=g, check=True)
    with _fixed_replica(tmp_path / "v") as repo:
        import_git(repo, g)
        head = repo.refs.get("refs/heads/main")
        assert head is not None and head.hex() == IMPORTED_VCRDT
        commit = read_commit(repo.store, head)
        assert commit.git is not None and commit.git.hex() == RECORD
        assert repo.store.get(commit.git)[1] == RECORD_BODY
        export_git(repo, tmp_path / "out.git")
    raw = subprocess.run(
        ["git", "cat-file", "commit", IMPORTED_GIT], cwd=tmp_path / "out.git", check=True, capture_output=True
    ).stdout
    assert raw == IMPORTED_RAW


@needs_git
def test_imported_sha256_commit_vector(tmp_path: Path) -> None:
    """A SHA-256 import's record names its object format; a replica that fetched it exports the same id."""
    from vcrdt.dag import read_commit
    from vcrdt.gitio import export_git, import_git
    from vcrdt.gitio.exporter import history_format

    g = tmp_path / "g.git"
    subprocess.run(["git", "init", "-q", "--bare", "--object-format=sha256", str(g)], check=True)
    empty = subprocess.run(
        ["git", "hash-object", "-w", "-t", "tree", "--stdin"], input=b"", cwd=g, check=True, capture_output=True
    ).stdout.decode()
    raw = IMPORTED_RAW.replace(b"4b825dc642cb6eb9a060e54bf8d69288fbee4904", empty.strip().encode())
    out = subprocess.run(
        ["git", "hash-object", "-w", "-t", "commit", "--stdin"], input=raw, cwd=g, check=True, capture_output=True
    )
    assert out.stdout.decode().strip() == IMPORTED_GIT_256
    subprocess.run(["git", "update-ref", "refs/heads/main", IMPORTED_GIT_256], cwd=g, check=True)
    with _fixed_replica(tmp_path / "v") as repo:
        import_git(repo, g)
        head = repo.refs.get("refs/heads/main")
        assert head is not None and head.hex() == IMPORTED_VCRDT_256
        commit = read_commit(repo.store, head)
        assert commit.git is not None and commit.git.hex() == RECORD_256
        assert repo.store.get(commit.git)[1] == RECORD_BODY_256
        assert history_format(repo, [head]) == "sha256"
    # A replica holding only the history (no mapping, no import) exports it as SHA-256, same id.
    other = Repository.init(tmp_path / "w", Settings())
    with other, Repository(tmp_path / "v", Settings()) as src, other.transaction():
        for oid in (head, commit.tree, commit.git):
            other.store.put(*src.store.get(oid))
        other.refs.update("refs/heads/main", head)
    with Repository(tmp_path / "w", Settings()) as repo:
        export_git(repo, tmp_path / "out.git")
    fmt = subprocess.run(
        ["git", "rev-parse", "--show-object-format"], cwd=tmp_path / "out.git", check=True, capture_output=True
    )
    assert fmt.stdout.strip() == b"sha256"
    back = subprocess.run(
        ["git", "cat-file", "commit", IMPORTED_GIT_256], cwd=tmp_path / "out.git", check=True, capture_output=True
    )
    assert back.stdout == raw


def test_record_without_format_line_is_sha1() -> None:
    """Records written before the `format` line read as SHA-1, and a SHA-1 record is written without one."""
    old = GitRecord.from_bytes(RECORD_BODY)
    assert old.object_format == b"sha1" and old.to_bytes() == RECORD_BODY
    new = GitRecord.from_bytes(RECORD_BODY_256)
    assert new.object_format == b"sha256" and new.to_bytes() == RECORD_BODY_256


def test_native_commit_comes_back_as_itself(tmp_path: Path) -> None:
    """Through git and into another replica: the same vcrdt id (the import recognises the vcrdt-* form)."""
    if shutil.which("git") is None:
        pytest.skip("git missing")
    from vcrdt.gitio import export_git, import_git

    with _fixed_replica(tmp_path / "a") as a:
        oid = _c1(a)
        with a.transaction():
            a.refs.update("refs/heads/main", oid)
        export_git(a, tmp_path / "out.git")
    b = Repository.init(tmp_path / "b", Settings())
    with b:
        import_git(b, tmp_path / "out.git")
        assert b.refs.get("refs/heads/main") == oid


def test_subm_entry_vector() -> None:
    blob = ObjectId(bytes.fromhex("56a2103e7ca7c698d3eccc62c99ec86d0693d8a7881f8ea09a3f27bf3a108135"))
    tree = Tree.build([TreeEntry("lib", EntryKind.GITLINK, blob)])
    assert tree.to_bytes() == b"subm lib\0" + blob
    assert tree.id.hex() == SUBM_TREE
    assert Tree.from_bytes(tree.to_bytes()) == tree
    assert [(r.kind, r.oid) for r in references(tree)] == [("blob", blob)]


def _commit(git: ObjectId | None, parents: tuple[ObjectId, ...] = ()) -> Commit:
    sig = Signature("A", "a@x", 0, 0)
    return Commit(ObjectId(b"\1" * 32), parents, sig, "m\n", R, 1, ((R, 1),), None, (), git)


def test_git_field_round_trips_and_is_a_reference() -> None:
    rec = ObjectId(b"\2" * 32)
    c = _commit(rec)
    body = c.to_bytes()
    assert b"\ngit " + rec.hex().encode() + b"\n\n" in body
    assert Commit.from_bytes(body) == c
    assert ("blob", rec) in [(r.kind, r.oid) for r in references(c)]
    # A commit without the field is byte for byte what it was before revision 1.
    assert b"\ngit " not in _commit(None).to_bytes()


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("git " + "0" * 64, "null git record id"),
        ("git " + "A" * 64, "bad git record id"),
        ("git " + "1" * 63, "bad git record id"),
    ],
)
def test_bad_git_field_is_refused(line: str, says: str) -> None:
    body = _commit(None).to_bytes().replace(b"\n\n", b"\n" + line.encode() + b"\n\n", 1)
    with pytest.raises(CorruptObjectError, match=says):
        Commit.from_bytes(body)


def test_git_field_twice_is_refused() -> None:
    rec = ObjectId(b"\2" * 32)
    body = _commit(rec).to_bytes().replace(b"\n\n", b"\ngit " + rec.hex().encode() + b"\n\n", 1)
    with pytest.raises(CorruptObjectError):
        Commit.from_bytes(body)


def test_record_round_trip_and_strictness() -> None:
    rec = GitRecord(b"commit", b"author A <a@x> 0 -0000\n", b"caf\xe9\n", ((b"", b"100664 a\0"), (b"d", b"40000 x\0")))
    assert GitRecord.from_bytes(rec.to_bytes()) == rec
    rec256 = GitRecord(b"tag", b"type commit\ntag v1\n", None, (), b"sha256")
    assert GitRecord.from_bytes(rec256.to_bytes()) == rec256
    body = rec.to_bytes()
    for bad in (
        body.replace(b"header 23", b"header 023"),
        body.replace(b"type commit", b"type blob"),
        body + b"x",
        body.replace(b"shape 10\n\0", b"shape 10\nz"),
        b"vcrdt-git-record 2\n" + body[len(b"vcrdt-git-record 1\n") :],
        body.replace(b"type commit\n", b"type commit\nformat sha1\n"),  # SHA-1 is said by no line
        body.replace(b"type commit\n", b"type commit\nformat sha512\n"),
        body.replace(b"type commit\n", b"type commit\nformat  sha256\n"),
        body.replace(b"type commit\n", b"type commit\nformat sha256"),
        body.replace(b"type commit\n", b"format sha256\ntype commit\n"),  # the format line follows the type line
        body + b"format sha256\n",
    ):
        with pytest.raises(GitInteropError):
            GitRecord.from_bytes(bad)
