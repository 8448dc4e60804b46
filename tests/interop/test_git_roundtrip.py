"""git -> vcrdt -> git gives the same git ids, here and on a replica that got the history by sync.

Repositories are built with the real git CLI, odd objects with `git hash-object --literally`
(and `git commit-tree`, `git mktag`): every commit, tree, blob and tag id of the source must be
in the export, every ref must name the same id, and the export must pass `git fsck --strict`.
vcrdt -> git -> vcrdt gives the same vcrdt ids for commits made in vcrdt.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner
from tests.interop.gitbuild import blob, every_object, git, init, mktree, refs, write_raw

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git missing")

SIG = "-----BEGIN PGP SIGNATURE-----\n\n iQEzBAABCAAdFiEEabc\n =XyZ1\n -----END PGP SIGNATURE-----"


def _env(name: str, email: str, date: str, cname: str | None = None, cdate: str | None = None) -> dict[str, str]:
    return {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_NAME": cname or name,
        "GIT_COMMITTER_EMAIL": email,
        "GIT_COMMITTER_DATE": cdate or date,
    }


def build_history(root: Path, object_format: str = "sha1") -> Path:
    """A git work tree with ordinary and odd history on several branches and tags."""
    g = init(root / "src", object_format=object_format)
    (g / "a").mkdir()
    (g / "a" / "x").write_text("in a dir\n")
    (g / "a.txt").write_text("sorts before the directory a in git\n")
    (g / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (g / "run.sh").chmod(0o755)
    (g / "link").symlink_to("a.txt")
    (g / "caf\xe9.txt".encode("latin-1").decode("utf-8", "surrogateescape")).write_bytes(b"latin-1 name\n")
    git(g, "add", "-A")
    git(g, "commit", "-q", "-m", "first", env=_env("Ann", "ann@x", "1700000000 +0530", "Bob", "1700000100 -0700"))
    git(g, "commit", "-q", "--allow-empty", "-m", "empty commit", env=_env("Ann", "ann@x", "1700000200 +0000"))
    git(g, "tag", "-a", "v1", "-m", "version one", env=_env("Tagger", "t@x", "1700000300 +0100"))
    git(g, "tag", "light")
    # Branches for merges.
    for b in ("b1", "b2", "b3"):
        git(g, "checkout", "-q", "-b", b, "main")
        (g / f"{b}.txt").write_text(f"{b}\n")
        git(g, "add", "-A")
        git(g, "commit", "-q", "-m", f"on {b}", env=_env("Cy", "cy@x", "1700000400 -1130"))
    git(g, "checkout", "-q", "main")
    git(g, "merge", "-q", "--no-ff", "-m", "octopus", "b3", "b1", "b2", env=_env("Dee", "d@x", "1700000500 +1245"))
    # A latin-1 message with an encoding header.
    git(
        g,
        "-c",
        "i18n.commitEncoding=ISO-8859-1",
        "commit",
        "-q",
        "--allow-empty",
        "-F",
        "-",
        stdin="Caf\xe9 au lait\n".encode("latin-1"),
        env=_env("Ren\xe9e", "r@x", "1700000600 +0200"),
    )
    head = git(g, "rev-parse", "HEAD").decode().strip()
    tree = git(g, "rev-parse", "HEAD^{tree}").decode().strip()
    # Odd commits, written byte for byte.
    odd = (
        f"tree {tree}\nparent {head}\n"
        "author Ann <ann@x> 1700000700 -0000\n"
        "committer Zo\xe9 <z@x> 1700000800 -0000\n"
        "change-id I1234abcd\n"
        f"gpgsig {SIG}\n"
        "\n"
        "no final newline, latin-1 name without encoding header"
    ).encode("latin-1")
    odd_id = write_raw(g, "commit", odd)
    empty_tree = mktree(g, [])
    raw_utf8 = (
        f"tree {empty_tree}\nparent {odd_id}\n"
        "author Ünï <u@x> 1700000900 +1400\ncommitter Ünï <u@x> 1700000900 -1200\n"
        "\nempty tree\n\n\nblank lines kept\n\n"
    )
    empty_id = write_raw(g, "commit", raw_utf8.encode())
    git(g, "update-ref", "refs/heads/odd", empty_id)
    # A merge with a mergetag header (the tag object of the side merged, embedded).
    side_tag = git(g, "cat-file", "tag", "v1").decode()
    embedded = "".join(" " + line + "\n" if line else " \n" for line in side_tag.rstrip("\n").split("\n"))
    v1_commit = git(g, "rev-parse", "v1^{commit}").decode().strip()
    mt = (
        f"tree {tree}\nparent {empty_id}\nparent {v1_commit}\n"
        "author Mo <m@x> 1700001000 +0000\ncommitter Mo <m@x> 1700001000 +0000\n"
        f"mergetag {embedded[1:]}"
        "\nMerge tag 'v1'\n"
    )
    mt_id = write_raw(g, "commit", mt.encode())
    git(g, "update-ref", "refs/heads/odd", mt_id)
    # A tag of a tag, and a tag on the odd branch made by git mktag.
    tag2 = (
        f"object {git(g, 'rev-parse', 'v1').decode().strip()}\ntype tag\ntag v1-again\n"
        "tagger Tag Ger <tg@x> 1700001100 -0330\n\nre-tagged\n"
    )
    tag2_id = git(g, "mktag", stdin=tag2.encode()).decode().strip()
    git(g, "update-ref", "refs/tags/v1-again", tag2_id)
    # A submodule entry (mode 160000) naming a commit that is not in this repository.
    sub_tree = mktree(
        g,
        [
            ("100644", blob(g, b"x\n"), b"file"),
            ("160000", "1234567890abcdef1234567890abcdef12345678" + "9abc" * 6 * (object_format != "sha1"), b"sub"),
        ],
    )
    sub_commit = git(g, "commit-tree", sub_tree, "-p", mt_id, "-m", "with a submodule").decode().strip()
    git(g, "update-ref", "refs/heads/sub", sub_commit)
    return g


def _open(root: Path):
    from vcrdt.repo import Repository, Settings

    return Repository(root, Settings())


def _vcrdt_init(cli: CliRunner, path: Path) -> Path:
    cli.ok("init", str(path))
    return path


def assert_same_objects(src: Path, dst: Path) -> None:
    """Every object of `src` is in `dst` under the same id, the refs agree, and `dst` passes fsck."""
    objects = every_object(src)
    missing = git(dst, "cat-file", "--batch-check", stdin="\n".join(sorted(objects)).encode() + b"\n").decode()
    assert "missing" not in missing, missing
    assert refs(dst) == refs(src)
    git(dst, "fsck", "--strict", "--no-dangling")
    assert git(dst, "log", "--all", "--oneline")


def test_git_vcrdt_git_same_ids(cli: CliRunner, tmp_path: Path) -> None:
    from vcrdt.gitio import export_git, import_git

    src = build_history(tmp_path)
    git(src, "fsck", "--strict", "--no-dangling")  # the source itself is valid
    repo_path = _vcrdt_init(cli, tmp_path / "v")
    with _open(repo_path) as repo:
        summary = import_git(repo, src)
        assert summary.commits == len(git(src, "rev-list", "--all").split())
        assert summary.tags == 2
        exported = export_git(repo, tmp_path / "out.git")
    assert exported.commits == summary.commits
    assert_same_objects(src, tmp_path / "out.git")
    # Plain git can use it: check out and merge.
    work = tmp_path / "checkout"
    git(tmp_path, "clone", "-q", str(tmp_path / "out.git"), str(work))
    git(work, "merge", "-q", "--no-edit", "origin/b1")
    assert (work / "link").is_symlink() and (work / "run.sh").stat().st_mode & 0o100


def test_second_import_and_export_do_nothing(cli: CliRunner, tmp_path: Path) -> None:
    from vcrdt.gitio import export_git, import_git

    src = build_history(tmp_path)
    repo_path = _vcrdt_init(cli, tmp_path / "v")
    with _open(repo_path) as repo:
        import_git(repo, src)
        export_git(repo, tmp_path / "out.git")
        again = import_git(repo, src)
        assert (again.commits, again.tags, again.trees, again.blobs, again.refs) == (0, 0, 0, 0, [])
        out = export_git(repo, tmp_path / "out.git")
        assert (out.commits, out.tags, out.trees, out.blobs, out.refs) == (0, 0, 0, 0, [])


def test_fidelity_survives_sync(cli: CliRunner, tmp_path: Path) -> None:
    """A replica that got the imported history through `vcrdt clone` exports the same git ids."""
    src = build_history(tmp_path)
    a = _vcrdt_init(cli, tmp_path / "a")
    cli.ok("git", "import", str(src), "--quiet", cwd=a)
    cli.ok("clone", str(a), str(tmp_path / "b"))
    cli.ok("git", "export", str(tmp_path / "from-clone.git"), "--quiet", cwd=tmp_path / "b")
    assert_same_objects(src, tmp_path / "from-clone.git")
    # The clone knows which git commit each of its commits is, though it imported nothing.
    head = refs(src)["refs/heads/odd"]
    vid = cli.ok("git", "map", head, cwd=a).out.strip()
    assert cli.ok("git", "map", vid, cwd=tmp_path / "b").out.strip() == head
    # And importing the same git repository there again adds no commit.
    again = json.loads(cli.ok("git", "import", str(src), "--json", cwd=tmp_path / "b").out)
    assert (again["commits"], again["tags"]) == (0, 0)


def test_vcrdt_git_vcrdt_same_ids(cli: CliRunner, tmp_path: Path) -> None:
    """Commits made in vcrdt (clocks, replica, a merge) come back from git as the same vcrdt commits."""
    a = _vcrdt_init(cli, tmp_path / "a")
    (a / "f.txt").write_text("one\n")
    cli.ok("add", "f.txt", cwd=a)
    cli.ok("commit", "-m", "first", cwd=a)
    cli.ok("branch", "side", cwd=a)
    (a / "f.txt").write_text("one\ntwo\n")
    cli.ok("commit", "-m", "second", cwd=a)
    cli.ok("switch", "side", cwd=a)
    (a / "g.txt").write_text("side\n")
    cli.ok("add", "g.txt", cwd=a)
    cli.ok("commit", "-m", "on side\n\nwith a body", cwd=a)
    cli.ok("switch", "main", cwd=a)
    cli.ok("merge", "side", "-m", "join side", cwd=a)
    cli.ok("tag", "t1", cwd=a)
    cli.ok("git", "export", str(tmp_path / "out.git"), "-q", cwd=a)
    git(tmp_path / "out.git", "fsck", "--strict", "--no-dangling")
    b = _vcrdt_init(cli, tmp_path / "b")
    cli.ok("git", "import", str(tmp_path / "out.git"), "-q", cwd=b)
    with _open(a) as ra, _open(b) as rb:
        assert dict(ra.refs.iter_refs()) == {n: h for n, h in rb.refs.iter_refs() if n in dict(ra.refs.iter_refs())}
        head = ra.refs.get("refs/heads/main")
        assert head is not None and rb.store.has(head)
        # Nothing was given a git record: these are vcrdt's own commits.
        from vcrdt.dag import read_commit

        assert read_commit(rb.store, head).git is None


def test_incremental_import_follows_git(cli: CliRunner, tmp_path: Path) -> None:
    src = build_history(tmp_path)
    repo_path = _vcrdt_init(cli, tmp_path / "v")
    first = json.loads(cli.ok("git", "import", str(src), "--json", cwd=repo_path).out)
    assert first["commits"] > 0
    (src / "new.txt").write_text("new\n")
    git(src, "add", "-A")
    git(src, "commit", "-q", "-m", "new on main")
    git(src, "branch", "-D", "b2")
    git(src, "branch", "-f", "b1", "b3")
    second = json.loads(cli.ok("git", "import", str(src), "--json", cwd=repo_path).out)
    assert second["commits"] == 1
    moved = {r["name"]: r["new"] for r in second["refs"]}
    assert moved["refs/heads/b2"] is None
    with _open(repo_path) as repo:
        assert not repo.refs.exists("refs/heads/b2")
        assert repo.refs.get("refs/heads/b1") == repo.refs.get("refs/heads/b3")
    cli.ok("git", "export", str(tmp_path / "out.git"), "-q", cwd=repo_path)
    assert_same_objects(src, tmp_path / "out.git")


def test_ref_patterns_and_map(cli: CliRunner, tmp_path: Path) -> None:
    src = build_history(tmp_path)
    repo_path = _vcrdt_init(cli, tmp_path / "v")
    got = json.loads(
        cli.ok("git", "import", str(src), "--ref", "refs/heads/b[12]", "--ref", "b3", "--json", cwd=repo_path).out
    )
    assert sorted(r["name"] for r in got["refs"]) == ["refs/heads/b1", "refs/heads/b2", "refs/heads/b3"]
    b1 = refs(src)["refs/heads/b1"]
    doc = json.loads(cli.ok("git", "map", b1, "--json", cwd=repo_path).out)
    assert doc["git"] == b1 and doc["kind"] == "commit"
    assert cli.ok("git", "map", "b1", cwd=repo_path).out.strip() == b1
    res = cli("git", "map", "0" * 40, cwd=repo_path)
    assert res.code == 1 and "no imported or exported git object" in res.err


def test_odd_tree_modes_and_order_round_trip(cli: CliRunner, tmp_path: Path) -> None:
    """Trees git stores with old modes (100664, 040000) or out of order still give the same ids."""
    g = init(tmp_path / "src")
    b1, b2 = blob(g, b"one\n"), blob(g, b"two\n")
    inner = mktree(g, [("100644", b1, b"x")])
    odd_modes = mktree(g, [("100664", b1, b"a"), ("040000", inner, b"d"), ("100755", b2, b"e")])
    unsorted = mktree(g, [("100644", b2, b"z"), ("100644", b1, b"a"), ("40000", odd_modes, b"sub")])
    c1 = git(g, "commit-tree", unsorted, "-m", "odd trees").decode().strip()
    # The same vcrdt tree in canonical git form, in a later commit.
    canon = mktree(g, [("100644", b1, b"a"), ("40000", inner, b"d"), ("100755", b2, b"e")])
    top = mktree(g, [("100644", b1, b"a"), ("40000", canon, b"sub"), ("100644", b2, b"z")])
    c2 = git(g, "commit-tree", top, "-p", c1, "-m", "canonical").decode().strip()
    git(g, "update-ref", "refs/heads/main", c2)
    repo_path = _vcrdt_init(cli, tmp_path / "v")
    cli.ok("git", "import", str(g), "-q", cwd=repo_path)
    cli.ok("clone", str(repo_path), str(tmp_path / "clone"))
    for where in (repo_path, tmp_path / "clone"):
        out = tmp_path / f"out-{where.name}.git"
        cli.ok("git", "export", str(out), "-q", cwd=where)
        objects = every_object(g)
        check = git(out, "cat-file", "--batch-check", stdin="\n".join(sorted(objects)).encode() + b"\n").decode()
        assert "missing" not in check
        assert {unsorted, odd_modes, top, canon} <= objects
        assert refs(out) == refs(g)


def test_resolutions_and_siblings_round_trip(cli: CliRunner, tmp_path: Path) -> None:
    """A merge settled by a rule (resolutions record) and a branch with siblings go to git and back."""
    a = _vcrdt_init(cli, tmp_path / "a")
    (a / "f.txt").write_text("a\nb\nc\n")
    (a / ".vcrdtattributes").write_text("*.txt union\n")
    cli.ok("commit", "-A", "-m", "base", cwd=a)
    cli.ok("branch", "side", cwd=a)
    for branch, text in (("side", "a\nside\nc\n"), ("main", "a\nmain\nc\n")):
        cli.ok("switch", branch, cwd=a)
        (a / "f.txt").write_text(text)
        cli.ok("commit", "-A", "-m", branch, cwd=a)
    merged = cli("merge", "side", cwd=a)
    assert merged.code == 0 and "auto-resolved (union)" in merged.out
    # Siblings: a clone and this replica both commit on main, then this one fetches.
    cli.ok("clone", str(a), str(tmp_path / "b"))
    (tmp_path / "b" / "g.txt").write_text("from b\n")
    cli.ok("commit", "-A", "-m", "on b", cwd=tmp_path / "b")
    (a / "h.txt").write_text("from a\n")
    cli.ok("commit", "-A", "-m", "on a", cwd=a)
    cli.ok("fetch", str(tmp_path / "b"), cwd=a)
    with _open(a) as ra:
        heads = ra.refs.heads("refs/heads/main")
        assert len(heads) == 2
        from vcrdt.dag import read_commit

        merge_commit = next(
            o
            for o, _k in [(h, 0) for h in heads]
            for o in read_commit(ra.store, o).parents
            if len(read_commit(ra.store, o).parents) == 2
        )
        assert read_commit(ra.store, merge_commit).resolutions is not None
    out = tmp_path / "out.git"
    cli.ok("git", "export", str(out), "-q", cwd=a)
    git(out, "fsck", "--strict", "--no-dangling")
    listed = git(out, "for-each-ref", "--format=%(refname)").decode().split()
    assert "refs/heads/main" in listed and "refs/vcrdt/siblings/main/1" in listed
    assert b"on b" in git(out, "log", "--all", "--format=%s") and b"on a" in git(out, "log", "--all", "--format=%s")
    assert b"vcrdt-resolutions {" in git(out, "cat-file", "commit", "main~1") + git(
        out, "cat-file", "commit", "refs/vcrdt/siblings/main/1~1"
    )
    # Back into a fresh replica: the same vcrdt commits (both heads, the merge and its record).
    c = _vcrdt_init(cli, tmp_path / "c")
    cli.ok("git", "import", str(out), "-q", cwd=c)
    with _open(c) as rc:
        assert rc.refs.heads("refs/heads/main") == heads
        assert rc.store.has(merge_commit)
    cli.ok("fsck", cwd=c)


def test_sha256_git_vcrdt_git_same_ids(cli: CliRunner, tmp_path: Path) -> None:
    """A SHA-256 repository (read and written through git's plumbing) round trips id for id."""
    src = build_history(tmp_path, "sha256")
    git(src, "fsck", "--strict", "--no-dangling")
    repo_path = _vcrdt_init(cli, tmp_path / "v")
    doc = json.loads(cli.ok("git", "import", str(src), "--json", cwd=repo_path).out)
    assert doc["commits"] == len(git(src, "rev-list", "--all").split()) and doc["tags"] == 2
    cli.ok("fsck", cwd=repo_path)
    out = tmp_path / "out.git"
    cli.ok("git", "export", str(out), "-q", cwd=repo_path)
    assert git(out, "rev-parse", "--show-object-format").strip() == b"sha256"
    assert_same_objects(src, out)
    main = git(src, "rev-parse", "main").decode().strip()
    assert cli.ok("git", "map", main, "--json", cwd=repo_path).out.count(main) == 1
    # Incremental both ways: a new git commit comes in, goes out; nothing moved is nothing done.
    (src / "new.txt").write_text("new\n")
    git(src, "add", "new.txt")
    git(src, "commit", "-q", "-m", "new", env=_env("Ann", "ann@x", "1700002000 +0000"))
    doc = json.loads(cli.ok("git", "import", str(src), "--json", cwd=repo_path).out)
    assert doc["commits"] == 1
    cli.ok("git", "export", str(out), "-q", cwd=repo_path)
    assert_same_objects(src, out)
    again = json.loads(cli.ok("git", "import", str(src), "--json", cwd=repo_path).out)
    assert (again["commits"], again["refs"]) == (0, [])
    # vcrdt's own commits go to a new SHA-256 repository and come back as the same vcrdt commits.
    nat = _vcrdt_init(cli, tmp_path / "nat")
    for n in range(2):
        (nat / f"f{n}.txt").write_text(f"{n}\n")
        cli.ok("add", f"f{n}.txt", cwd=nat)
        cli.ok("commit", "-m", f"made in vcrdt {n}", cwd=nat)
    mine = cli.ok("rev-parse", "main", cwd=nat).out.strip()
    nat_out = tmp_path / "nat.git"
    cli.ok("git", "export", str(nat_out), "--object-format", "sha256", "-q", cwd=nat)
    assert git(nat_out, "rev-parse", "--show-object-format").strip() == b"sha256"
    git(nat_out, "fsck", "--strict", "--no-dangling")
    back = _vcrdt_init(cli, tmp_path / "back")
    cli.ok("git", "import", str(nat_out), "-q", cwd=back)
    assert cli.ok("rev-parse", "main", cwd=back).out.strip() == mine
    # Into an existing SHA-1 repository a SHA-256 history cannot go: refused, git untouched.
    sha1 = init(tmp_path / "sha1.git", bare=True)
    res = cli("git", "export", str(sha1), "--object-format", "sha256", cwd=repo_path)
    assert res.code == 1 and "object format is sha1, not sha256" in res.err


def test_git_records_are_reachable(cli: CliRunner, tmp_path: Path) -> None:
    """fsck counts each commit's git record as reachable (it belongs to the commit, like its tree)."""
    src = build_history(tmp_path)
    repo_path = _vcrdt_init(cli, tmp_path / "v")
    cli.ok("git", "import", str(src), "-q", cwd=repo_path)
    report = json.loads(cli.ok("fsck", "--json", cwd=repo_path).out)
    assert report["problems"] == [] and report["unreachable"] == 0


def test_native_commit_on_an_imported_annotated_tag(cli: CliRunner, tmp_path: Path) -> None:
    """A vcrdt commit whose parent is an imported annotated tag exports (git's parent is the tagged
    commit, a vcrdt-parent-tags header names the tag) and comes back as the same vcrdt commit."""
    src = build_history(tmp_path)
    a = _vcrdt_init(cli, tmp_path / "a")
    cli.ok("git", "import", str(src), "--quiet", cwd=a)
    cli.ok("clone", str(a), str(tmp_path / "b"))  # shares the imported commits, not the new one
    cli.ok("switch", "--detach", "v1", cwd=a)
    cli.ok("switch", "-c", "on-tag", cwd=a)
    (a / "new.txt").write_text("made on the tag\n")
    cli.ok("commit", "-A", "-m", "on the tag", cwd=a)
    out = tmp_path / "out.git"
    cli.ok("git", "export", str(out), "-q", cwd=a)
    git(out, "fsck", "--strict", "--no-dangling")
    tag = refs(out)["refs/tags/v1"]
    raw = git(out, "cat-file", "commit", "refs/heads/on-tag").decode()
    assert f"parent {git(out, 'rev-parse', 'v1^{commit}').decode().strip()}\n" in raw
    assert f"\nvcrdt-parent-tags 0={tag}\n" in raw
    subjects = git(out, "log", "--format=%s", "-n", "2", "on-tag").decode().split("\n")[:2]
    assert subjects == ["on the tag", "empty commit"]
    with _open(a) as ra:
        head = ra.refs.get("refs/heads/on-tag")
        assert head is not None
    cli.ok("git", "import", str(out), "-q", cwd=tmp_path / "b")
    with _open(tmp_path / "b") as rb:
        assert rb.refs.get("refs/heads/on-tag") == head
        from vcrdt.dag import read_commit

        assert read_commit(rb.store, head).git is None


def test_sha256_fidelity_survives_sync(cli: CliRunner, tmp_path: Path) -> None:
    """A replica that got an imported SHA-256 history by `vcrdt clone` exports it with the same ids."""
    src = build_history(tmp_path, "sha256")
    a = _vcrdt_init(cli, tmp_path / "a")
    cli.ok("git", "import", str(src), "--quiet", cwd=a)
    b = tmp_path / "b"
    cli.ok("clone", str(a), str(b))
    out = tmp_path / "from-clone.git"
    cli.ok("git", "export", str(out), "--object-format", "sha256", "--quiet", cwd=b)
    assert git(out, "rev-parse", "--show-object-format").strip() == b"sha256"
    assert_same_objects(src, out)
    main = git(src, "rev-parse", "main").decode().strip()
    vid = cli.ok("git", "map", main, cwd=a).out.strip()
    assert cli.ok("git", "map", vid, cwd=b).out.strip() == main


@pytest.mark.parametrize("object_format", ["sha1", "sha256"])
def test_fetched_history_exports_in_its_own_object_format(cli: CliRunner, tmp_path: Path, object_format: str) -> None:
    """A replica that got an imported history by `vcrdt fetch` exports it, with no flag, under the same git ids.

    The git record says which object format the history came from (docs/format.md, "Git
    interop"), so the second replica, which imported nothing, needs no `--object-format`.
    """
    src = build_history(tmp_path, object_format)
    a = _vcrdt_init(cli, tmp_path / "a")
    cli.ok("git", "import", str(src), "--quiet", cwd=a)
    b = _vcrdt_init(cli, tmp_path / "b")
    cli.ok("fetch", str(a), cwd=b)
    # Before any export, `git map` there computes the git id in the history's own format.
    main = git(src, "rev-parse", "main").decode().strip()
    vid = cli.ok("git", "map", main, cwd=a).out.strip()
    assert cli.ok("git", "map", vid, cwd=b).out.strip() == main
    out = tmp_path / "from-fetch.git"
    cli.ok("git", "export", str(out), "--quiet", cwd=b)
    assert git(out, "rev-parse", "--show-object-format").strip() == object_format.encode()
    assert refs(out) == refs(src)
    git(out, "fsck", "--strict", "--no-dangling")
    assert_same_objects(src, out)
    # An annotated tag made there (its record names no format) does not change the format.
    cli.ok("tag", "-m", "made here", "mine", "main", cwd=b)
    out2 = tmp_path / "with-tag.git"
    cli.ok("git", "export", str(out2), "--quiet", cwd=b)
    assert git(out2, "rev-parse", "--show-object-format").strip() == object_format.encode()
    assert refs(src).items() <= refs(out2).items()
    git(out2, "fsck", "--strict", "--no-dangling")
