"""Causal precedence in convergent merges: a version written after seeing another wins over it.

One head writes v1 into a file; a second head, made on top of the first,
replaces it with v2; the first head's line then gets more commits (so its
Lamport clock, the tie-break, may pass the second's), and other heads
concurrent with all of it change other files. Joining every head with
`merge --auto`, in any order, must give v2: under ``lww`` the later write,
under ``union``, ``set`` and ``json`` the deletion made after seeing the
insertion. The tie-break decides only between truly concurrent versions.
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
from vcrdt.repo import Repository, Settings

SETTINGS = Settings(author_name="Rep", author_email="rep@example.com")
POLICY = "*.lww lww\n*.txt union\n*.set set\n*.json json\n"
# (file, base, v1, v2): v2 replaces v1 after seeing it.
CASES = [
    ("f.lww", "port=1\n", "port=2\n", "port=3\n"),
    ("f.txt", "a\nb\n", "a\nnew\nb\n", "a\nb\n"),
    ("f.txt", "a\nb\n", "a\nnew\nb\n", "a\nnewer\nb\n"),
    ("f.set", "x\ny\n", "x\ny\nz\n", "x\nz\n"),
    ("f.json", '{"p": 1}\n', '{"p": 1, "q": 2}\n', '{"p": 1}\n'),
    ("f.json", '{"p": 1}\n', '{"p": 2}\n', '{"p": 3}\n'),
]


def _commit(repo: Repository, root: Path, files: dict[str, str], message: str) -> ObjectId:
    for name, text in files.items():
        (root / name).write_text(text)
    return porcelain.commit(repo, message, addremove=True).oid


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(CASES),
    st.integers(0, 3),
    st.lists(st.integers(1, 3), min_size=1, max_size=2),
)
def test_the_version_that_saw_the_other_wins(case: tuple[str, str, str, str], more: int, others: list[int]) -> None:
    name, base, v1, v2 = case
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "r"
        porcelain.init(root, SETTINGS)
        with Repository.discover(root, SETTINGS) as repo:
            start = _commit(repo, root, {".vcrdtattributes": POLICY, name: base, "o.txt": "o\n"}, "base")
            first = _commit(repo, root, {name: v1}, "v1")
            second = _commit(repo, root, {name: v2}, "v2 after seeing v1")
            porcelain.switch(repo, first.hex(), detach=True)
            line = first
            for n in range(more):
                line = _commit(repo, root, {f"more{n}": f"{n}\n"}, "more on v1's line")
            heads = [line, second]
            for k, count in enumerate(others):
                porcelain.switch(repo, start.hex(), detach=True)
                for n in range(count):
                    head = _commit(repo, root, {f"other{k}": f"{k}.{n}\n"}, "concurrent")
                heads.append(head)
            results = set()
            for order in itertools.islice(itertools.permutations(heads), 6):
                porcelain.switch(repo, order[0].hex(), detach=True)
                for h in order[1:]:
                    porcelain.merge(repo, h.hex(), auto=True)
                results.add((root / name).read_text())
            (got,) = results
            if name.endswith(".json"):
                assert json.loads(got) == json.loads(v2)
            else:
                assert got == v2
