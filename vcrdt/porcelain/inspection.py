"""Looking at objects and checking the store: cat and fsck."""

from __future__ import annotations

from dataclasses import dataclass, field

from vcrdt.crdt.refstate import from_rows
from vcrdt.dag import is_ancestor, iter_reachable, read_tree
from vcrdt.errors import CorruptObjectError, ObjectNotFoundError, VcrdtError
from vcrdt.ids import ObjectId, short, to_hex
from vcrdt.objects import Commit, EntryKind, Tree, commit_dot, decode_object, history_problem, references
from vcrdt.porcelain._shared import Progress
from vcrdt.refs import BRANCH_PREFIX
from vcrdt.repo import Repository


@dataclass(frozen=True, slots=True)
class CatResult:
    """An object: its id, kind, raw body and decoded value."""

    oid: ObjectId
    kind: str
    body: bytes
    value: Commit | Tree | None


def cat(repo: Repository, rev: str) -> CatResult:
    """Read any object by revision, ``REV:path`` or id.

    Raises:
        BadRevisionError: If nothing matches.
    """
    oid = repo.resolve_object(rev)
    kind, body = repo.store.get(oid)
    value = decode_object(kind, body)
    return CatResult(oid, kind, body, value if isinstance(value, Commit | Tree) else None)


@dataclass(frozen=True, slots=True)
class FsckProblem:
    """One thing fsck found wrong, naming the object or ref."""

    what: str
    message: str


@dataclass(frozen=True, slots=True)
class FsckResult:
    """What fsck checked and found."""

    objects: int
    reachable: int
    problems: list[FsckProblem] = field(default_factory=list)
    unreachable: int = 0


def fsck(repo: Repository, *, on_progress: Progress | None = None) -> FsckResult:
    """Decode and hash-check every object, then check that every ref's closure is present.

    Everything is read from one snapshot of the database, so a commit landing meanwhile
    (from another process) cannot look like a ref naming missing objects.
    """
    with repo.db.read():
        return _fsck(repo, on_progress)


def _fsck(repo: Repository, on_progress: Progress | None) -> FsckResult:
    problems: list[FsckProblem] = []
    bad: set[ObjectId] = set()
    present = set(repo.store.iter_ids())
    for oid, err in repo.store.verify_all(on_progress):
        bad.add(oid)
        problems.append(FsckProblem(to_hex(oid), err.message))
    problems += [FsckProblem("fingerprints", msg) for msg in repo.store.fingerprint_problems()]
    problems += [FsckProblem("commit table", msg) for msg in repo.store.commit_table_problems()]
    commits: dict[ObjectId, Commit] = {}
    kinds = {oid: repo.store.info(oid)[0] for oid in sorted(present - bad)}
    for oid, kind in kinds.items():
        if kind == "blob":
            continue  # every byte string is a valid blob, and verify_all checked its hash
        try:
            kind, body = repo.store.get(oid)
            decoded = decode_object(kind, body)
        except VcrdtError as exc:
            bad.add(oid)
            problems.append(FsckProblem(to_hex(oid), exc.message))
            continue
        if isinstance(decoded, Commit):
            commits[oid] = decoded
        if isinstance(decoded, Commit | Tree):
            # Each object it names that is here must be of the kind its place requires (a
            # missing one is reported by the history check below).
            for ref in references(decoded):
                problem = ref.problem(kinds[ref.oid]) if ref.oid in kinds else None
                if problem is not None:
                    problems.append(FsckProblem(to_hex(oid), problem))
    problems += _history_problems(commits)
    problems += _dot_problems(commits)
    problems += _branch_state_problems(repo)
    problems += [FsckProblem(err.name, f"invalid ref name: {err.rule}") for err in repo.refs.iter_bad_names()]
    reachable: set[ObjectId] = set()
    refs = list(repo.refs.iter_refs())
    head = repo.refs.head()
    if head.branch is None and head.commit is not None:
        refs.append(("HEAD", frozenset({head.commit})))
    for name, heads in refs:
        try:
            reach = iter_reachable(repo.store, heads)
        except (ObjectNotFoundError, CorruptObjectError) as exc:
            problems.append(FsckProblem(name, f"broken history: {exc.message}"))
            continue
        # Blobs are not read by the walk: check that each one is there.
        for oid in sorted(reach - present):
            problems.append(FsckProblem(name, f"broken history: object {to_hex(oid)} not found"))
        reachable |= reach & present
    # The operation log keeps the commits it names (a reset or an amend left them) and the
    # work-tree snapshots it took, until a future `gc` expires its rows.
    from vcrdt.porcelain.oplog import oplog_commits, oplog_trees

    try:
        reach = iter_reachable(repo.store, sorted(oplog_commits(repo) - reachable))
        reach |= _tree_closure(repo, sorted(oplog_trees(repo) - reachable))
    except (ObjectNotFoundError, CorruptObjectError) as exc:
        problems.append(FsckProblem("oplog", f"broken history: {exc.message}"))
    else:
        for oid in sorted(reach - present):
            problems.append(FsckProblem("oplog", f"broken history: object {to_hex(oid)} not found"))
        reachable |= reach & present
    for path, row in sorted(repo.worktree.rows().items()):
        if row.head_oid is not None and not repo.store.has(row.head_oid):
            problems.append(FsckProblem(path, f"work-tree entry names missing object {short(row.head_oid)}"))
    problems += [FsckProblem("statpack", msg) for msg in repo.worktree.cache_problems()]
    unreachable = len(present - reachable)
    return FsckResult(len(present), len(reachable), problems, unreachable)


def _branch_state_problems(repo: Repository) -> list[FsckProblem]:
    """Check the branches' add-wins state: its invariants, and that each branch shows what its entries give.

    A branch shows its live entries' heads, ancestors of another one dropped (`vcrdt.refs`);
    a state whose dots break the rules, or a branch whose shown heads differ, is reported.
    """
    try:
        state = from_rows(
            [(n[len(BRANCH_PREFIX) :], h, r, c) for n, h, r, c in repo.refs.iter_entries()],
            repo.refs.context(),
        )
    except CorruptObjectError as exc:
        return [FsckProblem("refs/heads/", f"branch state: {exc.reason}")]
    out: list[FsckProblem] = []
    shown = {n[len(BRANCH_PREFIX) :]: hs for n, hs in repo.refs.iter_refs(BRANCH_PREFIX)}
    for name in sorted(set(shown) | set(state.branches)):
        try:
            expected = state.heads(name, lambda a, b: is_ancestor(repo.store, a, b))
        except VcrdtError:
            continue  # a missing or corrupt commit: reported by the history checks
        if shown.get(name, frozenset()) != expected:
            have = ", ".join(short(h) for h in sorted(shown.get(name, ()))) or "nothing"
            want = ", ".join(short(h) for h in sorted(expected)) or "nothing"
            out.append(FsckProblem(BRANCH_PREFIX + name, f"shows {have} but its live entries give {want}"))
    return out


def _dot_problems(commits: dict[ObjectId, Commit]) -> list[FsckProblem]:
    """Commits that share a dot (their replica and its counter, `objects.commit_dot`) with another commit.

    A dot names one commit: a replica numbers its commits 1, 2, 3, ... Two different commits
    with one dot mean two replicas committed as one, as a copied repository whose copy went
    undetected does (`vcrdt.porcelain.copies`); clocks then misorder them. Each commit after
    the first (by id) with a dot is reported, naming the first. Convergent merges have no dot.
    """
    first: dict[tuple[str, int], ObjectId] = {}
    out: list[FsckProblem] = []
    for oid, commit in sorted(commits.items()):
        dot = commit_dot(commit)
        if dot is None or dot[1] == 0:
            continue  # a convergent merge, or a clock without its own replica: the history rules report it
        key = (str(dot[0]), dot[1])
        other = first.setdefault(key, oid)
        if other != oid:
            out.append(
                FsckProblem(
                    to_hex(oid),
                    f"same dot ({key[0]}, {key[1]}) as commit {to_hex(other)}:"
                    " two replicas committed as one (a copied repository?)",
                )
            )
    return out


def _history_problems(commits: dict[ObjectId, Commit]) -> list[FsckProblem]:
    """Commits whose clocks break the history rules against parents that are present and sound."""
    out: list[FsckProblem] = []
    for oid, commit in sorted(commits.items()):
        if not all(p in commits for p in commit.parents):
            continue  # a missing or unsound parent is reported on its own
        problem = history_problem(commit, [commits[p] for p in commit.parents])
        if problem is not None:
            out.append(FsckProblem(to_hex(oid), problem))
    return out


def _tree_closure(repo: Repository, trees: list[ObjectId]) -> set[ObjectId]:
    """Every tree and blob under `trees`.

    Raises:
        ObjectNotFoundError: If a tree is missing.
    """
    seen: set[ObjectId] = set()
    todo = list(trees)
    while todo:
        oid = todo.pop()
        if oid in seen:
            continue
        seen.add(oid)
        for entry in read_tree(repo.store, oid).entries:
            if entry.kind is EntryKind.TREE:
                todo.append(entry.oid)
            else:
                seen.add(entry.oid)
    return seen
