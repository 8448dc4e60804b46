"""A hostile replica's chains of symlinks never make vcrdt touch anything outside the work tree (issue 9, item 1).

Each link of a chain looks harmless on its own text (``x -> .``, ``up -> x/..``), but
resolved against the other links it leaves the work tree or enters ``.vcrdt``. The
attacker is replica A (``tmp_path/a``): C0 holds README; C1 adds ``VIA/<path to the
victim>`` (a file whose path through VIA would reach the victim once VIA is a link);
C2 replaces VIA by the chain. The victim replica B (``tmp_path/b``) fetches from A.
The victim is the `outside` directory (``tmp_path/outside``, beside both work trees)
or, for the chain into ``.vcrdt``, B's own ``.vcrdt/format``.

Two halves are tested, as git does since its symlink CVEs:

- a chain is refused wherever vcrdt would create it: fetch, switch, merge (clean and
  conflicted) and restore; nothing is written, and no link on disk resolves outside;
- with the chain planted on disk anyway (as a failed fetch used to leave it, or as a
  local process may make it), rm, switch --force, mv and restore refuse to go through a
  symlinked parent ("is beyond a symbolic link"), and diff and commit do not read
  through it.

Every refusal is one ``error:`` line with exit 1, and `vcrdt fsck` stays clean.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner, Result


@dataclass(frozen=True)
class Shape:
    """A chain of links that resolves outside B's work tree (or into its ``.vcrdt``)."""

    name: str
    links: Callable[[Path], dict[str, str]]  # link path -> target, given B's root
    base: str  # the link whose arrival completes the chain
    via: str  # the link through which the victim is reached
    victim: Callable[[Path, Path], Path]  # the victim file, given B's root and `outside`
    lands: Callable[[Path], Path]  # where `via` resolves to, given B's root


def _deep(root: Path) -> dict[str, str]:
    n = len(root.parts) - 1  # as many ".." as it takes from B's root to "/"
    return {"x": ".", "r": "x/" * n + "../" * n}


SHAPES = [
    Shape(
        "dot-parent",
        lambda root: {"x": ".", "up": "x/.."},
        "x",
        "up",
        lambda root, outside: outside / "SENTINEL",
        lambda root: root.parent,
    ),
    Shape(
        "into-meta",
        lambda root: {"x": ".", "m": "x/.vcrdt"},
        "m",
        "m",
        lambda root, outside: root / ".vcrdt" / "format",
        lambda root: root / ".vcrdt",
    ),
    Shape(
        "n-dirs-up-to-root",
        _deep,
        "x",
        "r",
        lambda root, outside: outside / "deep" / "SENTINEL",
        lambda root: Path("/"),
    ),
    Shape(
        "link-to-link",
        lambda root: {"d/l": "..", "q": "d/l/..", "p": "q"},
        "d/l",
        "p",
        lambda root, outside: outside / "deep" / "er" / "SENTINEL",
        lambda root: root.parent,
    ),
]
SHAPE_IDS = [s.name for s in SHAPES]


@dataclass
class Pair:
    a: CliRunner
    b: CliRunner
    shape: Shape
    outside: Path

    @property
    def victim(self) -> Path:
        return self.shape.victim(self.b.cwd, self.outside)

    @property
    def tracked(self) -> str:
        """The repository path that reaches the victim once VIA is the chain."""
        rel = os.path.relpath(self.victim, self.shape.lands(self.b.cwd))
        return f"{self.shape.via}/{rel}"

    def commit_c0_c1(self) -> None:
        self.a.write("README", "base\n")
        self.a.ok("commit", "-A", "-m", "c0")
        self.a.ok("tag", "c0")
        self.a.write(self.tracked, "attacker\n")
        self.a.ok("commit", "-A", "-m", "c1")

    def commit_c2(self, *, poison: bool = False, readme: str | None = None) -> None:
        """Replace VIA by the chain; with `poison`, add a link any checkout refuses (sorted last)."""
        self.a.ok("rm", "-r", self.shape.via)
        self.add_links(self.a.cwd)
        if poison:
            os.symlink("/etc/passwd", self.a.cwd / "zzz")
        if readme is not None:
            self.a.write("README", readme)
        self.a.ok("commit", "-A", "-m", "c2")

    def add_links(self, root: Path, *, skip: str | None = None) -> None:
        for path, target in self.shape.links(self.b.cwd).items():
            full = root / path
            if path == skip or os.path.lexists(full):
                continue
            full.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(target, full)

    def plant(self) -> None:
        """Put the chain on B's disk where C1's VIA directory is (HEAD still C1)."""
        via = self.b.cwd / self.shape.via
        if via.is_dir() and not via.is_symlink():
            shutil.rmtree(via)
        self.add_links(self.b.cwd)
        assert os.path.realpath(via) == os.path.realpath(self.shape.lands(self.b.cwd))
        assert (self.b.cwd / self.tracked).exists()  # through the chain, the victim is in reach

    def fetch_refused_after_c1(self, **c2: object) -> None:
        """B fetches C1, A commits C2 on the same branch, B's second fetch is refused."""
        self.commit_c0_c1()
        self.b.ok("fetch", str(self.a.cwd))
        self.commit_c2(**c2)  # type: ignore[arg-type]
        refused(self.b("fetch", str(self.a.cwd)))


@pytest.fixture
def pair(cli: CliRunner, tmp_path: Path, outside: Path, request: pytest.FixtureRequest) -> Pair:
    a, b = CliRunner(tmp_path / "a"), CliRunner(tmp_path / "b")
    for r in (a, b):
        r.cwd.mkdir()
        r.ok("init")
    return Pair(a, b, request.param, outside)


def refused(r: Result, *, rule: str | None = None) -> None:
    """One `error:` line (a hint line may follow), exit 1, no traceback."""
    assert r.code == 1, f"exit {r.code}\nstdout:\n{r.out}\nstderr:\n{r.err}"
    lines = r.err.splitlines()
    assert lines and lines[0].startswith("error: "), r.err
    assert [ln for ln in lines[1:] if not ln.startswith("hint: ")] == [], r.err
    if rule is not None:
        assert rule in lines[0], r.err


def no_link_escapes(root: Path) -> None:
    """Every symlink in the work tree resolves inside it, and not into ``.vcrdt``."""
    real_root = os.path.realpath(root)
    meta = os.path.join(real_root, ".vcrdt")
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not (dirpath == str(root) and d == ".vcrdt")]
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            if os.path.islink(full):
                real = os.path.realpath(full)
                inside = real == real_root or real.startswith(real_root + os.sep)
                assert inside and not (real == meta or real.startswith(meta + os.sep)), f"{full} -> {real}"


def healthy(p: Pair) -> None:
    """B's repository is intact and its meta directory untouched."""
    p.b.ok("fsck")
    assert (p.b.cwd / ".vcrdt" / "format").is_file()


def unchanged_at_c1(p: Pair) -> None:
    """The refused command wrote nothing: B still holds C1, clean, with no links."""
    assert (p.b.cwd / p.tracked).read_bytes() == b"attacker\n"
    assert p.b.ok("status", "--short").out == ""
    for path in p.shape.links(p.b.cwd):
        assert not os.path.islink(p.b.cwd / path), path
    no_link_escapes(p.b.cwd)


# --- the chain is refused wherever vcrdt would create it ------------------------------------


@pytest.mark.hostile
@pytest.mark.parametrize("pair", SHAPES, ids=SHAPE_IDS, indirect=True)
def test_fetch_refuses_a_chain_on_the_checked_out_branch(pair: Pair) -> None:
    pair.fetch_refused_after_c1()
    unchanged_at_c1(pair)
    healthy(pair)


@pytest.mark.hostile
@pytest.mark.parametrize("pair", SHAPES, ids=SHAPE_IDS, indirect=True)
def test_first_checkout_of_a_chain_writes_nothing(pair: Pair) -> None:
    """An empty replica's first fetch checks the branch out: a tree with a chain is refused whole."""
    pair.commit_c0_c1()
    pair.commit_c2()
    pair.b.write("untracked.txt", "mine\n")
    refused(pair.b("fetch", str(pair.a.cwd)))
    assert sorted(os.listdir(pair.b.cwd)) == [".vcrdt", "untracked.txt"]
    assert pair.b.ok("log").out == ""  # nothing was fetched: the branch is still unborn
    healthy(pair)


@pytest.mark.hostile
@pytest.mark.parametrize("pair", SHAPES, ids=SHAPE_IDS, indirect=True)
def test_switch_refuses_a_branch_with_a_chain(pair: Pair) -> None:
    pair.commit_c0_c1()
    pair.a.ok("switch", "-c", "evil")
    pair.commit_c2()
    pair.b.ok("fetch", str(pair.a.cwd))
    refused(pair.b("switch", "evil"))
    unchanged_at_c1(pair)
    assert "main" in pair.b.ok("status").out.splitlines()[0]
    healthy(pair)


@pytest.mark.hostile
@pytest.mark.parametrize("conflicted", [False, True], ids=["clean", "conflicted"])
@pytest.mark.parametrize("pair", SHAPES, ids=SHAPE_IDS, indirect=True)
def test_merge_refuses_a_chain(pair: Pair, conflicted: bool) -> None:
    pair.commit_c0_c1()
    pair.a.ok("switch", "-c", "evil")
    pair.commit_c2(readme="attacker side\n" if conflicted else None)
    pair.b.ok("fetch", str(pair.a.cwd))
    pair.b.write("README", "victim side\n")
    pair.b.ok("commit", "-m", "b1")
    head = pair.b.ok("log", "-n", "1", "--oneline").out
    r = pair.b("merge", "evil")
    refused(r)
    assert "conflict" not in r.out.lower()
    assert pair.b.ok("log", "-n", "1", "--oneline").out == head
    assert (pair.b.cwd / "README").read_text() == "victim side\n"
    unchanged_at_c1(pair)
    assert pair.b("merge", "--abort").code == 1  # no merge was started
    healthy(pair)


@pytest.mark.hostile
@pytest.mark.parametrize("pair", SHAPES, ids=SHAPE_IDS, indirect=True)
def test_restore_refuses_the_link_that_completes_a_chain(pair: Pair) -> None:
    """HEAD holds every link of the chain but one (harmless so); restoring the last from C2 is refused."""
    pair.a.write("README", "base\n")
    pair.add_links(pair.a.cwd, skip=pair.shape.base)
    pair.a.ok("commit", "-A", "-m", "c1: all but one link")
    pair.a.ok("switch", "-c", "evil")
    pair.add_links(pair.a.cwd)
    pair.a.ok("commit", "-A", "-m", "c2: the last link")
    pair.b.ok("fetch", str(pair.a.cwd))
    assert os.path.islink(pair.b.cwd / pair.shape.via) or pair.shape.via == pair.shape.base
    refused(pair.b("restore", "--source", "evil", pair.shape.base))
    assert not os.path.lexists(pair.b.cwd / pair.shape.base)
    no_link_escapes(pair.b.cwd)
    healthy(pair)


# --- with the chain on disk, nothing goes through it -------------------------------------------


def _planted(pair: Pair) -> None:
    """B at C1; a fetch of C2 (with a link every checkout refuses) is refused; then the chain is on disk.

    Before the fix, the refused fetch had already written the chain (and deleted C1's
    VIA directory) when it reached the poisoned link: this is the issue's attack.
    """
    pair.fetch_refused_after_c1(poison=True)
    pair.plant()


@pytest.mark.hostile
@pytest.mark.parametrize("pair", SHAPES, ids=SHAPE_IDS, indirect=True)
def test_rm_does_not_delete_through_a_chain(pair: Pair) -> None:
    _planted(pair)
    refused(pair.b("rm", pair.tracked), rule="beyond a symbolic link")
    assert pair.victim.exists()
    healthy(pair)


@pytest.mark.hostile
@pytest.mark.parametrize("pair", SHAPES, ids=SHAPE_IDS, indirect=True)
def test_switch_force_to_an_older_commit_does_not_delete_through_a_chain(pair: Pair) -> None:
    _planted(pair)
    refused(pair.b("switch", "--force", "--detach", "c0"), rule="beyond a symbolic link")
    assert pair.victim.exists()
    healthy(pair)


@pytest.mark.hostile
@pytest.mark.parametrize("pair", SHAPES, ids=SHAPE_IDS, indirect=True)
def test_mv_does_not_move_through_a_chain(pair: Pair) -> None:
    _planted(pair)
    refused(pair.b("mv", pair.tracked, "moved"), rule="beyond a symbolic link")
    assert not os.path.lexists(pair.b.cwd / "moved")
    healthy(pair)


@pytest.mark.hostile
@pytest.mark.parametrize("pair", SHAPES, ids=SHAPE_IDS, indirect=True)
def test_restore_does_not_write_through_a_chain(pair: Pair) -> None:
    _planted(pair)
    refused(pair.b("restore", pair.tracked), rule="beyond a symbolic link")
    healthy(pair)


@pytest.mark.hostile
@pytest.mark.parametrize("pair", SHAPES, ids=SHAPE_IDS, indirect=True)
def test_diff_and_commit_do_not_read_through_a_chain(pair: Pair) -> None:
    _planted(pair)
    secret = pair.victim.read_bytes()
    assert secret != b"attacker\n"
    assert pair.tracked in pair.b.ok("status", "--short").out  # deleted: it is beyond a link
    assert secret not in pair.b.ok("diff").out_bytes
    pair.b.ok("commit", "-m", "after the chain")
    r = pair.b("cat", f"HEAD:{pair.tracked}")
    assert r.code != 0 and secret not in r.out_bytes
    healthy(pair)
