"""Virtual bases: the same bases in any order give the same virtual base, and no rule reads markers in it.

Three or four concurrent heads edit the same lines of a ``union`` file, an
``lww`` file, a JSON document (sometimes breaking it) and a file with no rule.
Their virtual base, built from the heads as bases in every order, is one
tree; every JSON document in it that the heads kept valid is valid; no ruled
file holds conflict markers (the file with no rule keeps diff3's, as git).
"""

from __future__ import annotations

import itertools
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vcrdt import porcelain
from vcrdt.ids import ObjectId
from vcrdt.merge.convergent import virtual_base
from vcrdt.merge.pending import PendingObjects
from vcrdt.repo import Repository, Settings

SETTINGS = Settings(author_name="Rep", author_email="rep@example.com")
POLICY = "notes.txt union\nlast.txt lww\n*.json json\n"
LINES = 4
MARKERS = (b"<<<<<<<", b">>>>>>>")

edit = st.tuples(st.integers(0, LINES - 1), st.sampled_from(["x", "y", "z"]))
head = st.tuples(st.lists(edit, min_size=1, max_size=3), st.booleans())


def _heads(repo: Repository, root: Path, specs: list[tuple[list[tuple[int, str]], bool]]) -> list[ObjectId]:
    base = [f"line {i}" for i in range(LINES)]
    files = {"notes.txt": base, "last.txt": base, "plain.txt": base}
    for name, lines in files.items():
        (root / name).write_text("".join(x + "\n" for x in lines))
    (root / "doc.json").write_text(json.dumps({f"k{i}": i for i in range(LINES)}) + "\n")
    (root / ".vcrdtattributes").write_text(POLICY)
    porcelain.commit(repo, "base", addremove=True)
    start = repo.head_commit()
    assert start is not None
    heads = []
    for n, (changes, broken) in enumerate(specs):
        porcelain.switch(repo, start.hex(), detach=True)
        lines = list(base)
        doc: dict[str, object] = {f"k{i}": i for i in range(LINES)}
        for line, value in changes:
            lines[line] = f"{value} by {n}"
            doc[f"k{line}"] = f"{value}{n}"
        for name in files:
            (root / name).write_text("".join(x + "\n" for x in lines))
        (root / "doc.json").write_text("{ not json" if broken else json.dumps(doc) + "\n")
        heads.append(porcelain.commit(repo, f"head {n}").oid)
    return heads


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(head, min_size=3, max_size=4))
def test_virtual_base_is_independent_of_base_order(specs: list[tuple[list[tuple[int, str]], bool]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "r"
        porcelain.init(root, SETTINGS)
        with Repository.discover(root, SETTINGS) as repo:
            heads = _heads(repo, root, specs)
            pending = PendingObjects(repo.store)
            trees = [virtual_base(pending, list(order)) for order in itertools.permutations(heads)]
            assert all(t == trees[0] for t in trees)
            tree = trees[0]
            for name in ("notes.txt", "last.txt", "doc.json"):
                data = pending.get(tree[name][1])[1]
                assert not any(m in data for m in MARKERS), (name, data)
            if not any(broken for _, broken in specs):
                json.loads(pending.get(tree["doc.json"][1])[1])
