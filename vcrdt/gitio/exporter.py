"""Export vcrdt history to git, and compute git ids without a git repository (docs/format.md, "Git interop").

A commit with a git record (imported from git, here or on any replica it was synced from)
becomes the git commit or tag it was, byte for byte; any other commit becomes a git commit
whose extra ``vcrdt-*`` headers carry what git has no place for, so importing it again gives
the same vcrdt commit. Objects are written with `odb.write` (raw bytes, nothing normalised),
or as one pack (`vcrdt.gitio.pack`); into a SHA-256 repository (which libgit2 here cannot
open) as loose files, with its refs set by git's plumbing (`vcrdt.gitio.plumbing`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from vcrdt.crdt.order import TieKey
from vcrdt.dag import read_commit, read_tree
from vcrdt.errors import CorruptObjectError, GitInteropError, ObjectNotFoundError
from vcrdt.gitio import maps
from vcrdt.gitio.importer import open_git
from vcrdt.gitio.pack import PackWriter
from vcrdt.gitio.plumbing import HASHES, CatFile, GitDir, LooseWriter, clear_stale_lock, init_bare, update_refs
from vcrdt.gitio.record import (
    CANONICAL_MODE,
    GitRecord,
    GitTreeEntry,
    format_git_tree,
    git_sort_key,
    mode_kind,
    native_header,
    parse_shape,
)
from vcrdt.gitio.refsel import SIBLINGS_PREFIX, ref_matches, source_key
from vcrdt.ids import ObjectId
from vcrdt.objects import Commit, EntryKind, Tree
from vcrdt.paths import encode
from vcrdt.refs import BRANCH_PREFIX, TAG_PREFIX
from vcrdt.repo import Repository
from vcrdt.scratch import made_whole

if TYPE_CHECKING:
    import pygit2
Progress = Callable[[int, int], None]


@dataclass
class ExportSummary:
    """What one export did."""

    target: str
    commits: int = 0
    tags: int = 0
    trees: int = 0
    blobs: int = 0
    # (git ref name, git id before or None, git id after or None (deleted)), hex
    refs: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class GitWriter:
    """Where git objects go: a git repository's object database, or nowhere (ids only).

    Into a repository, the first `LOOSE_LIMIT` objects are held back; if no more come they
    are written loose (as git keeps a small fetch), else all go into one pack file
    (`vcrdt.gitio.pack`). Nothing is visible in git before `finish`.
    """

    LOOSE_LIMIT = 100

    def __init__(self, git: pygit2.Repository | GitDir | None, hash_name: str = "sha1", *, empty: bool = False) -> None:
        """Write into `git` (`empty`: a repository just created, holding nothing), or (None) only compute ids.

        A `GitDir` (a repository pygit2 cannot open) gets loose objects, written by `LooseWriter`.
        """
        self.git = git
        self.plumb = git if isinstance(git, GitDir) else None
        self.check: CatFile | None = None
        self.empty = empty and git is not None
        self.hash_name = hash_name
        self.hash_len = hashlib.new(hash_name).digest_size
        self.pending: dict[bytes, tuple[str, bytes]] = {}
        self.pack: PackWriter | None = None

    def write(self, kind: str, body: bytes) -> bytes:
        """Store (or hash) one object; return its raw git id."""
        h = hashlib.new(self.hash_name)
        h.update(f"{kind} {len(body)}\0".encode())
        h.update(body)
        gid = h.digest()
        if self.git is None:
            return gid
        if self.pack is not None:
            self._to_pack(kind, body, gid)
        elif gid not in self.pending:
            self.pending[gid] = (kind, body)
            if len(self.pending) > self.LOOSE_LIMIT:
                where = self.plumb.common / "objects" if self.plumb is not None else _objects_dir(self.git)  # type: ignore[arg-type]
                try:
                    self.pack = PackWriter(where / "pack", self.hash_name)
                except OSError as exc:
                    raise GitInteropError(f"cannot write a git pack: {exc}") from None
                for g, (k, b) in self.pending.items():
                    self._to_pack(k, b, g)
                self.pending = {}
        return gid

    def _to_pack(self, kind: str, body: bytes, gid: bytes) -> None:
        assert self.pack is not None
        try:
            self.pack.add(kind, body, gid)
        except OSError as exc:
            raise GitInteropError(f"cannot write a git {kind}: {exc}") from None

    def has(self, gid: bytes) -> bool:
        """Tell whether the target holds the object (always, when only computing ids)."""
        if self.git is None or gid in self.pending or (self.pack is not None and gid in self.pack):
            return True
        if self.empty:
            return False
        if self.plumb is not None:
            self.check = self.check or CatFile(self.plumb, "--batch-check")
            return self.check.has(gid)
        import pygit2

        try:
            return pygit2.Oid(raw=gid) in self.git.odb  # type: ignore[union-attr]
        except (ValueError, pygit2.GitError):
            return False

    def finish(self) -> None:
        """Make everything written visible in git: the pack and its index, or the held-back loose objects."""
        if self.git is None:
            return
        if self.plumb is not None:
            try:
                if self.pack is not None:
                    self.pack.finish()
                    self.pack = None
            except OSError as exc:
                raise GitInteropError(f"cannot write git objects: {exc}") from None
            loose = LooseWriter(self.plumb.common / "objects", self.hash_name)
            for gid, (kind, body) in self.pending.items():
                loose.write(kind, body, gid)
            self.pending = {}
            return
        import pygit2

        types = {"commit": pygit2.enums.ObjectType.COMMIT, "tree": pygit2.enums.ObjectType.TREE,
                 "blob": pygit2.enums.ObjectType.BLOB, "tag": pygit2.enums.ObjectType.TAG}  # fmt: skip
        try:
            if self.pack is not None:
                self.pack.finish()
                self.pack = None
            for kind, body in self.pending.values():
                self.git.odb.write(types[kind], body)  # type: ignore[union-attr]
            self.pending = {}
        except (pygit2.GitError, OSError) as exc:
            raise GitInteropError(f"cannot write git objects: {exc}") from None

    def abort(self) -> None:
        """Drop everything not yet finished."""
        self.pending = {}
        if self.check is not None:
            self.check.close()
            self.check = None
        if self.pack is not None:
            self.pack.abort()
            self.pack = None


def _objects_dir(git: pygit2.Repository) -> Path:
    """The object directory of a git repository (a linked work tree's is its common directory's)."""
    path = Path(git.path)
    common = path / "commondir"
    if common.is_file():
        path = (path / common.read_text().strip()).resolve()
    return path / "objects"


class Exporter:
    """Converts vcrdt objects to git objects, each once, reusing the id mapping."""

    def __init__(self, repo: Repository, writer: GitWriter, summary: ExportSummary | None = None) -> None:
        """Export from `repo` through `writer`, counting into `summary`."""
        self.repo = repo
        self.w = writer
        self.summary = summary or ExportSummary("")
        self.commits: dict[ObjectId, tuple[bytes, str]] = {}
        self.trees: dict[ObjectId, bytes] = {}
        self.blobs: dict[ObjectId, bytes] = {}
        self.rows: list[tuple[bytes, ObjectId, str]] = []
        self.on_progress: Progress | None = None

    def _mapped(self, vid: ObjectId, kinds: tuple[str, ...]) -> tuple[bytes, str] | None:
        if self.w.empty:
            return None  # nothing mapped is in a repository just created
        for gid, kind in maps.to_git(self.repo.db, vid, self.w.hash_len):
            if kind in kinds and self.w.has(gid):
                return gid, kind
        return None

    def _row(self, gid: bytes, vid: ObjectId, kind: str) -> None:
        self.rows.append((gid, vid, kind))

    # --- blobs and trees -----------------------------------------------------------------

    def blob(self, vid: ObjectId) -> bytes:
        """The git id of a blob, written if needed."""
        gid = self.blobs.get(vid)
        if gid is None:
            hit = self._mapped(vid, ("blob",))
            if hit is not None:
                gid = hit[0]
            else:
                data = self.repo.store.get(vid)[1]
                gid = self.w.write("blob", data)
                self._row(gid, vid, "blob")
                self.summary.blobs += 1
            self.blobs[vid] = gid
        return gid

    def gitlink(self, vid: ObjectId, where: str) -> bytes:
        """The submodule commit id a ``subm`` entry's blob holds."""
        data = self.repo.store.get(vid)[1]
        text = data.decode("ascii", "replace")
        if len(data) != 2 * self.w.hash_len or not all(c in "0123456789abcdef" for c in text):
            raise GitInteropError(
                f"{where}: submodule entry names blob {vid.hex()}, which does not hold a"
                f" {2 * self.w.hash_len}-digit lowercase hex git id"
            )
        return bytes.fromhex(text)

    def tree(self, root: ObjectId, shapes: dict[bytes, bytes], where: str) -> bytes:
        """The git id of a vcrdt tree, with the odd shapes of `shapes` (by path) where they apply."""
        done: dict[bytes, bytes] = {}
        read: dict[bytes, Tree] = {}  # trees read on the way down, until they are written on the way up
        stack: list[tuple[ObjectId, bytes, bool]] = [(root, b"", False)]
        while stack:
            vid, path, expanded = stack.pop()
            plain = not any(_under(k, path) for k in shapes)
            if plain:
                gid = self.trees.get(vid)
                if gid is None:
                    hit = self._mapped(vid, ("tree",))
                    if hit is not None:
                        gid = self.trees[vid] = hit[0]
                if gid is not None:
                    done[path] = gid
                    continue
            tree = read.pop(path, None) or read_tree(self.repo.store, vid)
            if not expanded:
                read[path] = tree
                stack.append((vid, path, True))
                for e in tree.entries:
                    if e.kind is EntryKind.TREE:
                        stack.append((e.oid, _join(path, encode(e.name)), False))
                continue
            entries: list[GitTreeEntry] = []
            by_name: dict[bytes, tuple[EntryKind, bytes]] = {}
            for e in tree.entries:
                name = encode(e.name)
                if e.kind is EntryKind.TREE:
                    gid = done[_join(path, name)]
                elif e.kind is EntryKind.GITLINK:
                    gid = self.gitlink(e.oid, f"{where}: {_show(_join(path, name))}")
                else:
                    gid = self.blob(e.oid)
                by_name[name] = (e.kind, gid)
            shape = shapes.get(path)
            if shape is None:
                for name in sorted(by_name, key=lambda n: git_sort_key(n, by_name[n][0])):
                    kind, gid = by_name[name]
                    entries.append(GitTreeEntry(CANONICAL_MODE[kind], name, gid))
            else:
                pairs = parse_shape(shape)
                if sorted(n for _, n in pairs) != sorted(by_name) or any(
                    mode_kind(m) is not by_name[n][0] for m, n in pairs
                ):
                    raise GitInteropError(f"{where}: its git record's shape of {_show(path)} does not match the tree")
                entries = [GitTreeEntry(m, n, by_name[n][1]) for m, n in pairs]
            gid = self.w.write("tree", format_git_tree(entries))
            self.summary.trees += 1
            done[path] = gid
            if plain:
                self.trees[vid] = gid
                self._row(gid, vid, "tree")
        return done[b""]

    # --- commits and tags ----------------------------------------------------------------

    def _known(self, vid: ObjectId) -> tuple[bytes, str] | None:
        hit = self.commits.get(vid)
        if hit is None:
            hit = self._mapped(vid, ("commit", "tag"))
            if hit is not None:
                self.commits[vid] = hit
        return hit

    def commit(self, root: ObjectId) -> tuple[bytes, str]:
        """The git id of a vcrdt commit (a git commit, or a tag for an imported tag) and its git type."""
        stack = [root]
        done = 0
        while stack:
            vid = stack[-1]
            if self._known(vid) is not None:
                stack.pop()
                continue
            c = read_commit(self.repo.store, vid)
            missing = [p for p in c.parents if self._known(p) is None]
            if missing:
                stack.extend(reversed(missing))
                continue
            self.commits[vid] = self._write(vid, c)
            stack.pop()
            done += 1
            if self.on_progress is not None:
                self.on_progress(done, done + len(stack))
        return self.commits[root]

    def _write(self, vid: ObjectId, c: Commit) -> tuple[bytes, str]:
        where = f"commit {vid.hex()}"
        if c.git is None:
            res = None
            if c.resolutions is not None:
                res = self._blob_bytes(c.resolutions, where, "resolutions record")
            # A parent that is an imported annotated tag: git's parent is the commit it points to.
            tags = [(i, self.commits[p][0]) for i, p in enumerate(c.parents) if self.commits[p][1] == "tag"]
            try:
                header = native_header(c, res, tags)
            except GitInteropError as exc:
                raise GitInteropError(f"{where}: {exc}") from None
            body = self._commit_head(c, {}, where, peel=True) + header + b"\n" + c.message.encode()
            kind = "commit"
        else:
            try:
                rec = GitRecord.from_bytes(self._blob_bytes(c.git, where, "git record"))
            except GitInteropError as exc:
                raise GitInteropError(f"{where}: {exc}") from None
            message = rec.message if rec.message is not None else c.message.encode()
            if rec.type == b"commit":
                if rec.header.startswith((b"tree ", b"parent ")):
                    raise GitInteropError(f"{where}: its git record repeats the tree or parent lines")
                body = self._commit_head(c, dict(rec.shapes), where) + rec.header + b"\n" + message
                kind = "commit"
            else:
                if len(c.parents) != 1:
                    raise GitInteropError(f"{where}: a tag's commit must have one parent")
                target, ttype = self.commits[c.parents[0]]
                if not rec.header.startswith(b"type " + ttype.encode() + b"\n"):
                    raise GitInteropError(f"{where}: its git record's tag type does not match its target")
                body = b"object " + target.hex().encode() + b"\n" + rec.header + b"\n" + message
                kind = "tag"
        gid = self.w.write(kind, body)
        self._row(gid, vid, kind)
        if kind == "tag":
            self.summary.tags += 1
        else:
            self.summary.commits += 1
        return gid, kind

    def _peel(self, vid: ObjectId) -> bytes:
        """The git commit an exported tag (or a chain of tags) points to."""
        while True:
            gid, kind = self.commits.get(vid) or self._known(vid) or self.commit(vid)
            if kind == "commit":
                return gid
            vid = read_commit(self.repo.store, vid).parents[0]

    def _commit_head(self, c: Commit, shapes: dict[bytes, bytes], where: str, *, peel: bool = False) -> bytes:
        tree = self.tree(c.tree, shapes, where)
        lines = [b"tree " + tree.hex().encode() + b"\n"]
        for p in c.parents:
            gid, kind = self.commits[p]
            if kind == "tag" and peel:
                gid, kind = self._peel(p), "commit"
            if kind != "commit":
                raise GitInteropError(f"{where}: its parent {p.hex()} is an imported tag, not a commit")
            lines.append(b"parent " + gid.hex().encode() + b"\n")
        return b"".join(lines)

    def _blob_bytes(self, oid: ObjectId, where: str, what: str) -> bytes:
        try:
            kind, data = self.repo.store.get(oid)
        except (ObjectNotFoundError, CorruptObjectError) as exc:
            raise GitInteropError(f"{where}: its {what} {oid.hex()} cannot be read: {exc}") from None
        if kind != "blob":
            raise GitInteropError(f"{where}: its {what} {oid.hex()} is a {kind}, not a blob")
        return data


def _under(key: bytes, path: bytes) -> bool:
    return not path or key == path or key.startswith(path + b"/")


def _join(path: bytes, name: bytes) -> bytes:
    return path + b"/" + name if path else name


def _show(path: bytes) -> str:
    return repr(path.decode("utf-8", "surrogateescape")) if path else "the root tree"


def git_id_of(repo: Repository, vid: ObjectId, hash_name: str = "sha1") -> tuple[bytes, str]:
    """The git id (and git type) the commit `vid` exports as, computed without writing anything."""
    exp = Exporter(repo, GitWriter(None, hash_name))
    return exp.commit(vid)


def _open_or_create(gitdir: Path, object_format: str | None) -> tuple[pygit2.Repository | GitDir, bool]:
    """The git repository at `gitdir`, and whether it was just created (bare) because nothing was there.

    A SHA-256 repository is a `GitDir` (written through git's plumbing), a SHA-1 one pygit2's.
    """
    if _holds_anything(gitdir):
        gd = GitDir(gitdir)
        if object_format is not None and object_format != gd.hash_name:
            raise GitInteropError(f"{gitdir}: its object format is {gd.hash_name}, not {object_format}")
        return (gd if gd.hash_name != "sha1" else open_git(gd.path)), False
    _create_whole(gitdir, object_format)
    if object_format not in (None, "sha1"):
        return GitDir(gitdir), True
    return open_git(gitdir), True


def _holds_anything(gitdir: Path) -> bool:
    """Whether `gitdir` exists and holds any entry (an existing repository, or something else).

    Raises:
        GitInteropError: If it cannot be read.
    """
    try:
        return gitdir.exists() and any(gitdir.iterdir())
    except OSError as exc:
        raise GitInteropError(f"{gitdir}: cannot read it ({exc.strerror or exc})") from None


def _create_whole(gitdir: Path, object_format: str | None) -> None:
    """Create a bare git repository at `gitdir` (missing or empty) whole or not at all (`vcrdt.scratch`).

    An export killed while git or libgit2 lays the repository out then leaves no half-made one
    that the next export could neither open nor create over. The target is the path as the
    kernel resolves it (through a symlink to an empty directory, into that directory). An empty
    `gitdir` that is this process's working directory is created in place instead: a rename
    would leave the process in a deleted directory.

    Raises:
        GitInteropError: If the repository cannot be created or put in place.
    """
    import os

    try:
        target = os.path.realpath(gitdir)
        if os.path.exists(target) and os.path.samefile(target, os.getcwd()):
            _init_bare(target, gitdir, object_format)
        else:
            with made_whole(target) as scratch:
                _init_bare(scratch, gitdir, object_format)
    except OSError as exc:
        raise GitInteropError(f"{gitdir}: cannot create a git repository ({exc.strerror or exc})") from None


def _init_bare(where: str, gitdir: Path, object_format: str | None) -> None:
    """Lay a bare git repository of `object_format` out in the directory `where`, for `gitdir`.

    Raises:
        GitInteropError: If git or libgit2 cannot; the message names `gitdir`, not `where`.
    """
    try:
        if object_format not in (None, "sha1"):
            init_bare(Path(where), object_format)
        else:
            import pygit2

            try:
                pygit2.init_repository(where, bare=True)
            except pygit2.GitError as exc:
                raise GitInteropError(f"{where}: cannot create a git repository ({exc})") from None
    except GitInteropError as exc:  # named by the path asked for, not the scratch directory
        raise GitInteropError(str(exc).replace(where, str(gitdir))) from None


def history_format(repo: Repository, tips: Iterable[ObjectId]) -> str | None:
    """The object format the git records of the history under `tips` name, if they all name one.

    Walks from each tip down to the nearest commits with a git record of type ``commit`` (no
    further: the history under an imported commit came from the same git repository; a tag's
    record is walked through, as `vcrdt tag -a` writes one naming no format) and reads their
    records' ``format``. None when no record is reached, when records of both formats are,
    or when one cannot be read.
    """
    formats: set[bytes] = set()
    seen: set[ObjectId] = set()
    stack = list(tips)
    while stack:
        vid = stack.pop()
        if vid in seen:
            continue
        seen.add(vid)
        c = read_commit(repo.store, vid)
        if c.git is None:
            stack.extend(c.parents)
            continue
        try:
            kind, data = repo.store.get(c.git)
            rec = GitRecord.from_bytes(data) if kind == "blob" else None
        except (ObjectNotFoundError, CorruptObjectError, GitInteropError):
            rec = None
        if rec is None:
            formats.add(b"")  # unknown; the export itself names the record at fault
        elif rec.type == b"tag":
            stack.extend(c.parents)  # a tag made here (`vcrdt tag -a`) names no format: its target decides
        else:
            formats.add(rec.object_format)
    return formats.pop().decode("ascii") if len(formats) == 1 and b"" not in formats else None


def _default_format(repo: Repository, tips: Iterable[ObjectId]) -> str | None:
    """The object format of a git repository an export creates: SHA-256 or None (SHA-1).

    SHA-256 when the git records of the exported history all name it, or (records written
    before they named their format, all read as SHA-1) when every import here was from a
    SHA-256 repository.
    """
    if history_format(repo, tips) == "sha256":
        return "sha256"
    lengths = maps.imported_id_lengths(repo.db)
    return "sha256" if lengths == {HASHES["sha256"]} else None


def export_git(
    repo: Repository,
    gitdir: Path,
    refs: Iterable[str] = (),
    *,
    on_progress: Progress | None = None,
    object_format: str | None = None,
) -> ExportSummary:
    """Write `repo`'s branches and tags (and all they reach) into a git repository.

    The git repository is created (bare) if `gitdir` is missing or empty. Incremental: commits
    the target already holds are not written again. A branch with siblings goes to
    ``refs/heads/NAME`` at the head the tie-break order puts last and to
    ``refs/vcrdt/siblings/NAME/N`` (N = 1, 2, ...) for the others; a branch or tag exported
    before and deleted here since is deleted in git too, if git still has it where it was.

    Args:
        repo: The vcrdt repository.
        gitdir: The git repository.
        refs: Full ref-name patterns (``fnmatch``); default all branches and tags.
        on_progress: Called as ``(commits written, commits known so far)``.
        object_format: ``sha1`` or ``sha256`` for a repository created here (default: that of
            the git repositories the history was imported from when all were SHA-256, else
            SHA-1); an existing repository keeps its own, and must match it if given.

    Returns:
        What was written and which git refs moved.

    Raises:
        GitInteropError: If the target cannot be opened or written, or a commit cannot be
            exported (a damaged git record; the message names the commit).
    """
    if object_format is not None and object_format not in HASHES:
        raise GitInteropError(f"object format {object_format!r} is neither sha1 nor sha256")
    pats = list(refs) or [BRANCH_PREFIX + "*", TAG_PREFIX + "*"]
    fmt = object_format
    if fmt is None and not _holds_anything(gitdir):
        tips = [h for name, heads in repo.refs.iter_refs("refs/") if ref_matches(name, pats) for h in heads]
        fmt = _default_format(repo, tips)
    git, created = _open_or_create(gitdir, fmt)
    target = source_key(git)
    summary = ExportSummary(target)
    plumb = git if isinstance(git, GitDir) else None
    writer = GitWriter(git, plumb.hash_name if plumb is not None else "sha1", empty=created)
    exp = Exporter(repo, writer, summary)
    exp.on_progress = on_progress
    wanted: dict[str, bytes] = {}
    try:
        for name, heads in repo.refs.iter_refs("refs/"):
            if not ref_matches(name, pats):
                continue
            ordered = sorted(heads, key=lambda h: _tie(repo, h))
            wanted[name] = exp.commit(ordered[-1])[0]
            if name.startswith(BRANCH_PREFIX):
                for n, h in enumerate(ordered[:-1], 1):
                    wanted[f"{SIBLINGS_PREFIX}{name[len(BRANCH_PREFIX) :]}/{n}"] = exp.commit(h)[0]
        # The objects are in git before any ref names them.
        writer.finish()
    finally:
        writer.abort()
    if plumb is not None:
        current = plumb.refs()
        checked_out = None if plumb.bare else plumb.head_branch_ref()
    else:
        current = {}
        checked_out = None if git.is_bare else _head_branch(git)  # type: ignore[union-attr,arg-type]
    with repo.transaction():
        maps.ensure_tables(repo.db)
        previous = maps.ref_state(repo.db, target, "export")
        changes: dict[str, tuple[bytes | None, bytes | None]] = {}
        for name in sorted(set(wanted) | {n.decode() for n in previous}):
            gid = wanted.get(name)
            old = current.get(name) if plumb is not None else _git_ref(git, name)  # type: ignore[arg-type]
            if gid is None:
                if old is not None and old == previous.get(name.encode()):
                    changes[name] = (old, None)
                    summary.refs.append((name, old.hex(), None))
                continue
            if old != gid:
                changes[name] = (old, gid)
                summary.refs.append((name, None if old is None else old.hex(), gid.hex()))
                if name == checked_out and old is not None:
                    summary.warnings.append(
                        f"{name} is checked out in {gitdir}: its index and work tree still show"
                        f" {old.hex()[:12]} (`git reset --keep {name}` there brings them along)"
                    )
        if plumb is not None:
            update_refs(plumb, changes)
        else:
            _set_refs(git, gitdir, changes)  # type: ignore[arg-type]
        maps.add(repo.db, exp.rows)
        maps.set_ref_state(repo.db, target, "export", {n.encode(): g for n, g in wanted.items()})
    return summary


def _set_refs(git: pygit2.Repository, gitdir: Path, changes: dict[str, tuple[bytes | None, bytes | None]]) -> None:
    import pygit2

    for name, (_old, new) in sorted(changes.items()):
        for attempt in (1, 2):
            try:
                if new is None:
                    git.references.delete(name)
                else:
                    git.references.create(name, pygit2.Oid(raw=new), force=True)
                break
            except OSError as exc:  # libgit2's "failed to lock file"
                if attempt == 2 or not clear_stale_lock(gitdir, str(exc)):
                    raise GitInteropError(f"{gitdir}: cannot set {name}: {exc}") from None
            except (pygit2.GitError, ValueError, KeyError) as exc:
                raise GitInteropError(f"{gitdir}: cannot set {name}: {exc}") from None


def _tie(repo: Repository, oid: ObjectId) -> TieKey:
    c = read_commit(repo.store, oid)
    return TieKey(c.lamport, c.replica, bytes(oid))


def _head_branch(git: pygit2.Repository) -> str | None:
    import pygit2

    try:
        target = git.references["HEAD"].target
    except (KeyError, pygit2.GitError):
        return None
    return target if isinstance(target, str) else None


def _git_ref(git: pygit2.Repository, name: str) -> bytes | None:
    import pygit2

    try:
        ref = git.references.get(name)
    except (pygit2.GitError, ValueError):
        return None
    target = None if ref is None else ref.target
    return bytes(target.raw) if isinstance(target, pygit2.Oid) else None
