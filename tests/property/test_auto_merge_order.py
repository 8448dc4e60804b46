"""Order-free convergent merges: joining 3-4 concurrent heads with `merge --auto` in every order gives one tree.

Each head edits overlapping lines of a text file (union), a last-writer-wins file, a
set file and a JSON document. Folding the heads in every order must give the same
tree for every rule, because a convergent merge commit stands for the heads it
joined and its tree is computed from that set, in tie-break order.
"""

from __future__ import annotations

import itertools
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vcrdt import porcelain
from vcrdt.dag import read_commit
from vcrdt.ids import ObjectId
from vcrdt.repo import Repository, Settings

SETTINGS = Settings(author_name="Rep", author_email="rep@example.com")
LINES = 5
POLICY = "notes.txt union\nlast.txt lww\nlist.txt set\n*.json json\n"

edits = st.lists(st.tuples(st.integers(0, LINES - 1), st.sampled_from(["x", "y", "z"])), min_size=1, max_size=3)


def _heads(repo: Repository, root: Path, base: dict[str, str], versions: list[dict[str, str]]) -> list[ObjectId]:
    """Commit `base` (with the policy), then each of `versions` as its own head on top of it."""
    for name, text in {**base, ".vcrdtattributes": POLICY}.items():
        (root / name).write_text(text)
    porcelain.commit(repo, "base", addremove=True)
    start = repo.head_commit()
    assert start is not None
    heads = []
    for n, files in enumerate(versions):
        porcelain.switch(repo, start.hex(), detach=True)
        for name, text in files.items():
            (root / name).write_text(text)
        heads.append(porcelain.commit(repo, f"head {n}", allow_empty=True).oid)
    return heads


def _text(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(edits, min_size=3, max_size=4))
def test_every_fold_order_gives_the_same_tree(heads_edits: list[list[tuple[int, str]]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "r"
        porcelain.init(root, SETTINGS)
        with Repository.discover(root, SETTINGS) as repo:
            base = [f"line {i}" for i in range(LINES)]
            texts = ("notes.txt", "last.txt", "list.txt")
            versions = []
            for n, changes in enumerate(heads_edits):
                lines = list(base)
                doc: dict[str, object] = {f"k{i}": i for i in range(LINES)}
                for line, value in changes:
                    lines[line] = f"{value} by head {n}"
                    doc[f"k{line}"] = f"{value}{n}"
                versions.append({**dict.fromkeys(texts, _text(lines)), "doc.json": json.dumps(doc, indent=2) + "\n"})
            start_doc = json.dumps({f"k{i}": i for i in range(LINES)}, indent=2) + "\n"
            heads = _heads(repo, root, {**dict.fromkeys(texts, _text(base)), "doc.json": start_doc}, versions)
            trees = set()
            for order in itertools.permutations(heads):
                porcelain.switch(repo, order[0].hex(), detach=True)
                for h in order[1:]:
                    porcelain.merge(repo, h.hex(), auto=True)
                head = repo.head_commit()
                assert head is not None
                trees.add(read_commit(repo.store, head).tree)
            assert len(trees) == 1


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(edits, min_size=2, max_size=2), st.lists(st.sampled_from(["a", "a", "b"]), max_size=4))
def test_merging_a_result_again_changes_nothing(heads_edits: list[list[tuple[int, str]]], dup: list[str]) -> None:
    """In the repository, idempotence is exact, repeated lines included: the inputs are ancestors of the result."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "r"
        porcelain.init(root, SETTINGS)
        with Repository.discover(root, SETTINGS) as repo:
            base = [f"line {i}" for i in range(LINES)] + dup
            texts = ("notes.txt", "last.txt", "list.txt")
            versions = []
            for changes in heads_edits:
                lines = list(base)
                for line, value in changes:
                    lines[line] = value  # repeated values: lines that are not unique
                versions.append(dict.fromkeys(texts, _text(lines)))
            heads = _heads(repo, root, dict.fromkeys(texts, _text(base)), versions)
            porcelain.switch(repo, heads[0].hex(), detach=True)
            porcelain.merge(repo, heads[1].hex(), auto=True)
            merged = repo.head_commit()
            assert merged is not None
            for again in (heads[0], heads[1], merged):
                outcome = porcelain.merge(repo, again.hex(), auto=True)
                assert outcome.status == "up-to-date"
                assert repo.head_commit() == merged
