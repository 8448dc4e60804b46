"""A plain `log` imports only what it uses: not the object codecs, the fingerprints or unicodedata.

`vcrdt.objects` (with `bisect`, `vcrdt.paths`' `unicodedata`) and `vcrdt.store.fingerprints` cost a
plain `log -n 1000` about 4 M instructions of its 89 M; the commit table's walk uses none of them.
Each is imported where it is used, and is still there for every command that uses it.

Nor functools and collections (with operator, keyword, reprlib and types): about 13 M
instructions, which `_sqlite3` would load for its statement cache (`vcrdt.extensions.load_sqlite3`)
and `collections.abc` for annotations only. Nor heapq.py or operator.py over their C modules, nor
the extension modules of the heap and of CPython's SHA-256, which the commit table's walk does not
use (loaded when first used: `vcrdt.dag._heap`, `vcrdt.hashing._load_builtin`).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers.cli import CliRunner
from vcrdt.paths import is_meta_alias
from vcrdt.repo import Repository, Settings
from vcrdt.store import commits

ROOT = Path(__file__).resolve().parents[2]
UNUSED = (
    "vcrdt.objects",
    "vcrdt.store.fingerprints",
    "unicodedata",
    "bisect",
    "functools",
    "collections",
    "collections.abc",
    "operator",
    "heapq",
    "types",
    "_heapq",
    "_sha256",
    "_sha2",
)

SCRIPT = f"""
import os, sys
os.chdir(sys.argv[1])
from vcrdt.cli import finish, run
code = finish(run(["log", "-n", "3"]))
print("unused:", [m for m in {UNUSED!r} if m in sys.modules], code)
"""


def test_a_plain_log_leaves_the_object_codecs_and_fingerprints_unimported(repo: CliRunner) -> None:
    for n in range(3):
        repo.write("f.txt", f"{n}\n")
        repo.ok("commit", "-A", "-m", f"c{n}")
    # Without site (as the native client runs Python): no .pth file's code imports anything first.
    proc = subprocess.run(
        [sys.executable, "-S", "-c", SCRIPT, str(repo.cwd)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={"VCRDT_NO_SERVER": "1", "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-1] == "unused: [] 0", proc.stdout
    assert sum(line.startswith("commit ") for line in lines) == 3


def test_rows_parsed_from_the_table_carry_the_objects_signature(repo: CliRunner) -> None:
    from vcrdt.objects import Signature

    repo.ok("commit", "--allow-empty", "-m", "one")
    r = Repository(repo.cwd, Settings())
    try:
        head = r.head_commit()
        assert head is not None
        rows = r.store.commit_table_rows(head, 4)
        infos = commits.parse_rows(rows)
        assert type(infos[head].author) is Signature
        assert infos[head].author.name == "Ada Lovelace"
        oid, info = commits.parse(rows[0])
        assert oid == head and info.author == infos[head].author
    finally:
        r.close()


def test_a_name_that_is_not_ascii_is_still_normalized() -> None:
    assert is_meta_alias(".vc\u200crdt") and is_meta_alias(".VC\u200cRDT.")
    assert not is_meta_alias("caf\u00e9")
