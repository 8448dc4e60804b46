"""Causality through convergent merges: a version a merge took from a head it joined keeps that head's origin.

A convergent merge's tree is the fold of every head it joined (its leaves),
so it can hold a version that neither of its parents holds: an earlier
pairwise merge passed over the version, and the fold of all the heads picked
it again. Such a merge wrote nothing; the version's origin is still the
commit that wrote it, and a write made after seeing that commit replaces it.
Found by the convergence driver (`tests.helpers.convergence`, seed 793):
`port=2.1` came back over `port=2.11`, written after it.
"""

from __future__ import annotations

from pathlib import Path

from vcrdt import porcelain
from vcrdt.dag import read_commit
from vcrdt.ids import ObjectId
from vcrdt.merge.causality import Causality
from vcrdt.merge.conflicts import Side
from vcrdt.merge.convergent import convergent_commit, is_convergent
from vcrdt.repo import Repository, Settings

SETTINGS = Settings(author_name="Rep", author_email="rep@example.com")
PATH = "port.lww"


def _commit(repo: Repository, text: str, start: ObjectId | None = None) -> ObjectId:
    if start is not None:
        porcelain.switch(repo, start.hex(), detach=True)
    (repo.root / PATH).write_text(text)
    return porcelain.commit(repo, f"write {text.strip()}", addremove=True).oid


def _history(tmp_path: Path) -> tuple[Repository, dict[str, ObjectId]]:
    """base; a (v1), c (v2), d (v3) from base; y joins a and c keeping v2; z joins y and d holding v1; w after a."""
    root = tmp_path / "r"
    porcelain.init(root, SETTINGS)
    repo = Repository.discover(root, SETTINGS)
    (root / ".vcrdtattributes").write_text("*.lww lww\n")
    base = _commit(repo, "port=0\n")
    a = _commit(repo, "port=1\n", base)
    c = _commit(repo, "port=2\n", base)
    d = _commit(repo, "port=3\n", base)
    w = _commit(repo, "port=4\n", a)
    store = repo.store
    y = convergent_commit(store, read_commit(store, c).tree, [a, c], None)
    z = convergent_commit(store, read_commit(store, a).tree, [y, d], None)
    return repo, {"base": base, "a": a, "c": c, "d": d, "w": w, "y": y, "z": z}


def test_a_version_taken_from_a_joined_head_keeps_its_origin(tmp_path: Path) -> None:
    repo, c = _history(tmp_path)
    with repo:
        assert is_convergent(read_commit(repo.store, c["z"]))
        causality = Causality(repo.store)
        assert c["a"] in causality.sources(c["z"])
        assert causality.origin(c["z"], PATH) == c["a"]
        # w wrote after a, so it saw z's version; z's fold only passed v1 on, it wrote nothing.
        assert causality.saw([c["w"]], [c["z"]], PATH, causality.entry(c["z"], PATH))
        assert causality.overwrote([c["w"]], [c["z"]], PATH, causality.entry(c["z"], PATH))
        assert not causality.overwrote([c["z"]], [c["w"]], PATH, causality.entry(c["w"], PATH))


def test_the_write_made_after_seeing_it_wins(tmp_path: Path) -> None:
    repo, c = _history(tmp_path)
    with repo:
        causality = Causality(repo.store)

        def side(commit: ObjectId) -> Side:
            entry = causality.entry(commit, PATH)
            assert entry is not None
            return Side(entry[0], entry[1])

        # Against an older base (a fold's common base, a virtual base) both sides changed the path.
        base = side(c["base"])
        assert causality.later(PATH, base, side(c["z"]), side(c["w"]), [c["z"]], [c["w"]]) == "theirs"
        assert causality.later(PATH, base, side(c["w"]), side(c["z"]), [c["w"]], [c["z"]]) == "ours"
