"""Import a git repository's history into a vcrdt repository (docs/format.md, "Git interop").

Reads raw git objects through pygit2 (`odb.read`, never its parsed views, which normalise
names, offsets and headers), or through git's plumbing (`vcrdt.gitio.plumbing`: SHA-256
repositories, which libgit2 here cannot read, and incremental runs, which then need not load
pygit2), and stores their vcrdt forms: blobs as they are, trees entry for
entry, commits and annotated tags as vcrdt commits with a git record where vcrdt's own fields
do not say everything. The whole run is one transaction: objects, the id mapping, the refs and
the ref state of this source; a refusal leaves the repository as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import pairwise
from pathlib import Path

from vcrdt.dag import is_ancestor, read_commit
from vcrdt.errors import BadPathError, BadRefNameError, CorruptObjectError, GitInteropError
from vcrdt.gitio import maps
from vcrdt.gitio.plumbing import GitDir, PlumbingSource, git_on_path
from vcrdt.gitio.record import (
    CANONICAL_MODE,
    GitCommitParts,
    GitRecord,
    GitTagParts,
    GitTreeEntry,
    display_message,
    display_signature,
    git_sort_key,
    header_value,
    message_encoding,
    mode_kind,
    native_header,
    parse_git_tree,
    shape_of,
    split_commit,
    split_tag,
)
from vcrdt.gitio.refsel import (
    ImportSummary,
    nothing_moved,
    select_refs,
    source_key,
    vcrdt_ref_name,
)
from vcrdt.hashing import object_id
from vcrdt.ids import ObjectId, ReplicaId
from vcrdt.objects import (
    MAX_PARENTS,
    Commit,
    EntryKind,
    Signature,
    Tree,
    TreeEntry,
    commit_clock,
    history_problem,
)
from vcrdt.paths import check_component, decode
from vcrdt.refs import BRANCH_PREFIX, TAG_PREFIX, check_full_name
from vcrdt.repo import Repository

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from typing import Protocol

    import pygit2

    from vcrdt.store import Storing

_TYPES = {1: "commit", 2: "tree", 3: "blob", 4: "tag"}
Progress = Callable[[int, int], None]


def open_git(gitdir: Path) -> pygit2.Repository:
    """Open a git repository (bare, or a work tree or its ``.git``).

    Raises:
        GitInteropError: If `gitdir` holds none.
    """
    import pygit2

    try:
        return pygit2.Repository(str(gitdir))
    except (pygit2.GitError, KeyError, ValueError, OSError) as exc:
        if "object format" in str(exc):
            raise GitInteropError(
                f"{gitdir}: its object format is not SHA-1, which is all this libgit2"
                f" ({pygit2.LIBGIT2_VERSION}, through pygit2) reads",
                hint="git fast-export | git fast-import into a SHA-1 repository converts it",
            ) from None
        raise GitInteropError(f"{gitdir}: not a git repository ({exc})") from None


def git_head_branch(gitdir: Path) -> str | None:
    """The short name of the branch git's HEAD is on, if it is on one.

    Raises:
        GitInteropError: If `gitdir` holds no git repository.
    """
    target = GitDir(gitdir).head_branch_ref()
    if target is not None and target.startswith(BRANCH_PREFIX):
        return target[len(BRANCH_PREFIX) :]
    return None


if TYPE_CHECKING:

    class GitSource(Protocol):
        """Where an import reads git from: pygit2 (`Pygit2Source`) or git's plumbing (`PlumbingSource`)."""

        hash_len: int

        def refs(self) -> dict[str, bytes]:
            """Every direct ref: full name to raw id."""

        def read(self, gid: bytes) -> tuple[str, bytes]:
            """The type and raw body of an object (raises GitInteropError if unreadable)."""

        def peel_commit(self, gid: bytes) -> bytes | None:
            """The commit `gid` is or (through annotated tags) names, if any."""

        def walk(self, tips: Iterable[bytes], hide: Iterable[bytes]) -> list[bytes]:
            """Commits reachable from `tips` and not `hide`, parents first."""

        def close(self) -> None:
            """Release what reading holds."""


class Pygit2Source:
    """A SHA-1 git repository read through pygit2 (`odb.read`: raw bytes, nothing normalised)."""

    hash_len = 20

    def __init__(self, gitdir: Path) -> None:
        """Open the repository at `gitdir` (`open_git`)."""
        import pygit2

        self.git = open_git(gitdir)
        self.odb = self.git.odb
        self.oid = pygit2.Oid
        self.errors = (KeyError, ValueError, pygit2.GitError)

    def refs(self) -> dict[str, bytes]:
        """Every direct ref: full name to raw id."""
        import pygit2

        out: dict[str, bytes] = {}
        for ref in self.git.references.iterator():
            if ref.type != pygit2.enums.ReferenceType.DIRECT:
                continue
            target = ref.target
            if isinstance(target, pygit2.Oid):
                out[ref.name] = bytes(target.raw)
        return out

    def read(self, gid: bytes) -> tuple[str, bytes]:
        """The type and raw body of an object."""
        try:
            typ, data = self.odb.read(self.oid(raw=gid))
        except self.errors as exc:
            raise GitInteropError(f"git object {gid.hex()} cannot be read: {exc}") from None
        return _TYPES.get(int(typ), "unknown"), bytes(data)

    def peel_commit(self, gid: bytes) -> bytes | None:
        """The commit `gid` is or names, if any."""
        import pygit2

        try:
            return bytes(self.git[pygit2.Oid(raw=gid)].peel(pygit2.Commit).id.raw)
        except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
            return None

    def walk(self, tips: Iterable[bytes], hide: Iterable[bytes]) -> list[bytes]:
        """Commits reachable from `tips` and not from `hide`, parents first (the progress total)."""
        import pygit2

        git = self.git
        walker = git.walk(None, pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.REVERSE)
        pushed = False
        for t in tips:
            c = self.peel_commit(t)
            if c is not None:
                walker.push(pygit2.Oid(raw=c))
                pushed = True
        if not pushed:
            return []
        for h in hide:
            c = self.peel_commit(h)
            if c is not None:
                walker.hide(pygit2.Oid(raw=c))
        try:
            return [c.id.raw for c in walker]
        except pygit2.GitError:
            # A damaged or hostile history (a parent that is no commit): import it ref by ref,
            # whose own checks name the object at fault.
            return []

    def close(self) -> None:
        """Nothing to release."""


class _Importer:
    def __init__(self, repo: Repository, git: GitSource, summary: ImportSummary, *, skip_invalid: bool = False) -> None:
        self.repo = repo
        self.skip_invalid = skip_invalid
        self.invalid: dict[bytes, str] = {}  # skipped git commits and tags: why
        self.git = git
        self.summary = summary
        self.hash_len = git.hash_len
        self.hex_len = 2 * git.hash_len
        # Said in every git record, so any replica exports the history in the format it came from.
        self.object_format = b"sha256" if git.hash_len == 32 else b"sha1"
        self.memo: dict[bytes, tuple[ObjectId, str]] = {}
        # Per git tree: its vcrdt id and the shapes of odd trees under it (path relative to it).
        self.trees: dict[bytes, tuple[ObjectId, tuple[tuple[bytes, bytes], ...]]] = {}
        self.rows: list[tuple[bytes, ObjectId, str]] = []
        self.commits: dict[ObjectId, Commit] = {}
        self.names: dict[bytes, bool] = {}
        self.good_names: set[bytes] = set()  # the names `names` found fine
        # Git trees read ahead and parsed by `prefetch_named`, until `tree` converts them.
        self.parsed: dict[bytes, list[GitTreeEntry]] = {}
        stored = repo.db.get_meta(f"counter:{repo.replica}")
        self.counter = int(stored) if stored is not None and stored.isdigit() else 0
        # Objects are stored in batches (`flush`): their ids are known at once, their rows come later.
        self.batch: list[tuple[str, bytes, ObjectId | None]] = []
        self.batch_bytes = 0
        self.storing: Storing | None = None
        self.stored: set[ObjectId] = set()
        # A first import asks the (empty) mapping nothing.
        self.map_empty = maps.is_empty(repo.db)
        # Git ids looked up in the mapping and not found there (it gains no row before the run ends).
        self.asked: set[bytes] = set()

    # --- storing ---------------------------------------------------------------------------

    def put(self, kind: str, body: bytes) -> ObjectId:
        """The id of a vcrdt object, queued to be stored with the next batch."""
        oid = object_id(kind, body)
        if oid not in self.stored:
            self.stored.add(oid)
            self.batch.append((kind, body, None))
            self.batch_bytes += len(body)
            if self.batch_bytes >= _BATCH_BYTES or len(self.batch) >= _BATCH_OBJECTS:
                self._send()
        return oid

    def _send(self) -> None:
        """Start storing the queued objects: compressed on the store's workers while git is read on.

        The batch started before this one is written now (one statement for all, inside the
        import's transaction).
        """
        started = self.repo.store.start_put_many(self.batch)
        if self.storing is not None:
            self.storing.finish()
        self.storing = started
        self.batch = []
        self.batch_bytes = 0

    def flush(self) -> None:
        """Store every queued object."""
        if self.batch:
            self._send()
        if self.storing is not None:
            self.storing.finish()
            self.storing = None

    # --- reading git ---------------------------------------------------------------------

    def read(self, gid: bytes) -> tuple[str, bytes]:
        return self.git.read(gid)

    def known(self, gid: bytes) -> tuple[ObjectId, str] | None:
        hit = self.memo.get(gid)
        if hit is None and not self.map_empty and gid not in self.asked:
            hit = maps.to_vcrdt(self.repo.db, gid)
            if hit is not None and not self.repo.store.has(hit[0]):
                hit = None
            if hit is not None:
                self.memo[gid] = hit
        return hit

    # --- blobs and trees -----------------------------------------------------------------

    def blob(self, gid: bytes) -> ObjectId:
        hit = self.known(gid)
        if hit is not None:
            return hit[0]
        typ, data = self.read(gid)
        if typ != "blob":
            raise GitInteropError(f"git object {gid.hex()} is a {typ}, where a blob is named")
        oid = self.put("blob", data)
        self._mapped(gid, oid, "blob")
        self.summary.blobs += 1
        return oid

    def gitlink(self, gid: bytes) -> ObjectId:
        return self.put("blob", gid.hex().encode("ascii"))

    def tree(self, gid: bytes, where: str) -> tuple[ObjectId, tuple[tuple[bytes, bytes], ...]]:
        """Store the vcrdt form of a git tree (and everything under it); return its id and odd shapes."""
        done = self.trees.get(gid)
        if done is not None:
            return done
        hit = self.known(gid)
        if hit is not None and hit[1] == "tree":
            # Only canonical trees are mapped, so nothing under it is odd.
            self.trees[gid] = (hit[0], ())
            return self.trees[gid]
        # Iterative post-order: git trees can be deep. Each tree is read and parsed once.
        parsed: dict[bytes, tuple[bytes, list[GitTreeEntry]]] = {}
        stack: list[tuple[bytes, bytes, bool]] = [(gid, b"", False)]
        while stack:
            g, path, expanded = stack.pop()
            if g in self.trees:
                continue
            if expanded:
                data, entries = parsed.pop(g)
                self.trees[g] = self._convert_tree(g, data, entries, path, where)
                continue
            hit = self.known(g)
            if hit is not None and hit[1] == "tree":
                self.trees[g] = (hit[0], ())  # imported before: canonical, nothing under it is odd
                continue
            typ, data = self.read(g)
            if typ != "tree":
                raise GitInteropError(f"{where}: {_show(path)}: git object {g.hex()} is a {typ}, not a tree")
            ahead = self.parsed.pop(g, None)  # parsed when read ahead (`prefetch_named`)
            if ahead is None:
                try:
                    ahead = parse_git_tree(data, self.hash_len)
                except GitInteropError as exc:
                    raise GitInteropError(f"{where}: {_show(path)} ({g.hex()}): {exc}") from None
            parsed[g] = (data, ahead)
            stack.append((g, path, True))
            subtrees = [e for e in ahead if e.oid not in self.trees and mode_kind(e.mode) is EntryKind.TREE]
            self._prefetch([e.oid for e in subtrees])
            for e in subtrees:
                stack.append((e.oid, _join(path, e.name), False))

        return self.trees[gid]

    def _prefetch(self, gids: list[bytes]) -> None:
        """Look the git ids the memo lacks up in the mapping at once (an incremental import's unchanged blobs)."""
        if self.map_empty:
            return
        ask = [g for g in gids if g not in self.memo and g not in self.asked]
        if not ask:
            return
        self.asked.update(ask)
        self.memo.update(maps.to_vcrdt_stored(self.repo.db, ask))

    def prefetch_named(self, read: dict[bytes, tuple[str, bytes]]) -> None:
        """Look up at once the objects read ahead and everything they name (an incremental import).

        The new trees name mostly unchanged trees and blobs, imported before: one batch of
        lookups for all of them instead of one per tree.
        """
        named: set[bytes] = set()
        for gid, (typ, body) in read.items():
            try:
                if typ == "tree":
                    entries = self.parsed[gid] = parse_git_tree(body, self.hash_len)
                    named.update(e.oid for e in entries if e.mode != b"160000")
                elif typ == "commit":
                    parts = split_commit(body, self.hex_len)
                    named.update(bytes.fromhex(h.decode("ascii")) for h in (parts.tree, *parts.parents))
            except (GitInteropError, ValueError):
                continue  # refused where it is imported, with the object named
        # What was read ahead is new to this source, but may be known from another: asked too.
        self._prefetch([*named.difference(read), *read])

    def _convert_tree(
        self, gid: bytes, data: bytes, entries: list[GitTreeEntry], path: bytes, where: str
    ) -> tuple[ObjectId, tuple[tuple[bytes, bytes], ...]]:
        self._prefetch([e.oid for e in entries if e.mode != b"40000" and e.mode != b"160000"])
        items: list[tuple[bytes, EntryKind, ObjectId]] = []
        odd: list[tuple[bytes, bytes]] = []
        memo = self.memo
        for e in entries:
            kind = mode_kind(e.mode)
            if kind is None:
                raise GitInteropError(
                    f"{where}: {_entry(path, e.name)}: git tree entry mode {e.mode.decode('latin-1')}"
                    " is not a file, link, tree or submodule"
                )
            if kind is EntryKind.TREE:
                oid, below = self.trees[e.oid]
                odd += [(_join(e.name, p) if p else e.name, s) for p, s in below]
            elif kind is EntryKind.GITLINK:
                oid = self.gitlink(e.oid)
            else:
                hit = memo.get(e.oid)  # mostly: an unchanged file, looked up ahead
                if hit is not None:
                    oid = hit[0]
                else:
                    try:
                        oid = self.blob(e.oid)
                    except GitInteropError as exc:
                        raise GitInteropError(f"{where}: {_entry(path, e.name)}: {exc}") from None
            items.append((e.name, kind, oid))
        # The vcrdt tree body, built directly: names checked once each (they repeat from one
        # version of a directory to the next), entries sorted by their raw bytes. Anything
        # wrong goes through Tree.build, whose error names the rule.
        items.sort(key=_first)
        good = self.good_names
        bad_name = any(n not in good and self._name_problem(n) for n, _, _ in items)
        if bad_name or any(a[0] == b[0] for a, b in pairwise(items)):
            try:
                Tree.build([TreeEntry(decode(n), k, o) for n, k, o in items])
            except CorruptObjectError as exc:
                raise GitInteropError(f"{where}: in {_show(path)}: {_rule(exc)}") from None
        body = b"".join(_KIND_WORDS[k] + b" " + n + b"\0" + o for n, k, o in items)
        vid = self.put("tree", body)
        shape = shape_of(entries)
        if shape != b"".join(CANONICAL_MODE[k] + b" " + n + b"\0" for n, k, _ in sorted(items, key=_git_key)):
            odd.append((b"", shape))
        if not odd:
            self._mapped(gid, vid, "tree")
        self.summary.trees += 1
        return vid, tuple(sorted(odd))

    def _name_problem(self, raw: bytes) -> bool:
        """Tell whether a tree-entry name breaks a path rule (each distinct name is checked once)."""
        bad = self.names.get(raw)
        if bad is None:
            try:
                check_component(decode(raw))
                bad = False
            except BadPathError:
                bad = True
            self.names[raw] = bad
            if not bad:
                self.good_names.add(raw)
        return bad

    # --- commits and tags ----------------------------------------------------------------

    def commitish(self, gid: bytes) -> tuple[ObjectId, str] | None:
        """Import a commit or tag and everything it needs; None for a tag of a tree or blob, or one skipped.

        Under ``skip_invalid`` a commit or tag vcrdt refuses is skipped (with what is built on
        it) and recorded in the summary, instead of ending the import.
        """
        stack = [gid]
        while stack:
            g = stack[-1]
            if self.known(g) is not None or g in self.invalid:
                stack.pop()
                continue
            try:
                if self._step(g, gid, stack):
                    return None
            except GitInteropError as exc:
                if not self.skip_invalid:
                    raise
                self._skip(g, exc.message)
                stack.pop()
        return self.known(gid)

    def _skip(self, gid: bytes, why: str) -> None:
        self.invalid[gid] = why
        self.summary.skipped.append((gid.hex(), why))

    def _step(self, g: bytes, gid: bytes, stack: list[bytes]) -> bool:
        """One step of `commitish` on the object at the top of `stack`; True to stop (no commit or tag)."""
        typ, raw = self.read(g)
        if typ == "commit":
            try:
                parts = split_commit(raw, self.hex_len)
            except GitInteropError as exc:
                raise GitInteropError(f"git commit {g.hex()}: {exc}") from None
            need = [bytes.fromhex(p.decode()) for p in parts.parents]
            gone = [p for p in need if p in self.invalid]
            if gone:
                raise GitInteropError(f"git commit {g.hex()}: its parent {gone[0].hex()} was skipped")
            missing = [p for p in need if self.known(p) is None]
            # A native commit on an imported tag names the tag in its header: it comes first.
            for i, t in _parent_tags(parts.header, self.hex_len):
                if i < len(need) and self.known(t) is None and self._peels_to(t, need[i]):
                    missing.append(t)
            if self.skip_invalid:
                # A parent that is no commit is this commit's fault, not the parent's.
                for p in missing:
                    ptyp = self.read(p)[0]
                    if ptyp != "commit":
                        raise GitInteropError(f"git commit {g.hex()}: its parent {p.hex()} is a {ptyp}, not a commit")
            if missing:
                stack.extend(reversed(missing))
                return False
            self._commit(g, raw, parts)
        elif typ == "tag":
            try:
                tag = split_tag(raw, self.hex_len)
            except GitInteropError as exc:
                raise GitInteropError(f"git tag {g.hex()}: {exc}") from None
            target = bytes.fromhex(tag.target.decode())
            if target in self.invalid:
                raise GitInteropError(f"git tag {g.hex()}: its target {target.hex()} was skipped")
            ttyp = self.read(target)[0]
            if ttyp not in ("commit", "tag") or tag.target_type != ttyp.encode():
                return True
            if self.known(target) is None:
                stack.append(target)
                return False
            self._tag(g, tag)
        elif g == gid:
            return True
        else:
            raise GitInteropError(f"git object {g.hex()} is a {typ}, where a commit is named")
        stack.pop()
        return False

    def _mapped(self, gid: bytes, vid: ObjectId, kind: str) -> None:
        self.memo[gid] = (vid, kind)
        self.rows.append((gid, vid, kind))

    def _parent_commits(self, parents: list[ObjectId]) -> list[Commit]:
        out = []
        for p in parents:
            c = self.commits.get(p)
            if c is None:
                c = self.commits[p] = read_commit(self.repo.store, p)
            out.append(c)
        return out

    def _dot(self, parents: list[Commit]) -> int:
        last = self.counter
        for p in parents:
            for key, count in p.clock:
                if key == self.repo.replica:
                    last = max(last, count)
        self.counter = last + 1
        return self.counter

    def _commit(self, gid: bytes, raw: bytes, parts: GitCommitParts) -> None:
        where = f"git commit {gid.hex()}"
        named = [self.memo[bytes.fromhex(p.decode())] for p in parts.parents]
        for p, (_, kind) in zip(parts.parents, named, strict=True):
            if kind != "commit":
                raise GitInteropError(f"{where}: its parent {p.decode()} is a {kind}, not a commit")
        parents = [vid for vid, _ in named]
        if len(parents) > MAX_PARENTS:
            raise GitInteropError(f"{where}: {len(parents)} parents, more than vcrdt's {MAX_PARENTS}")
        if len(set(parents)) != len(parents):
            raise GitInteropError(f"{where}: names the same parent twice, which a vcrdt commit cannot")
        tree, shapes = self.tree(bytes.fromhex(parts.tree.decode()), where)
        pcs = self._parent_commits(parents)
        native = None if shapes else self._native(tree, parents, pcs, parts)
        if native is not None:
            commit = native
        else:
            enc = message_encoding(parts.header)
            try:
                message = display_message(parts.message, enc)
            except GitInteropError as exc:
                raise GitInteropError(f"{where}: {exc}") from None
            author = display_signature(header_value(parts.header, b"author"), enc)
            raw_message = None if message.encode() == parts.message else parts.message
            record = GitRecord(b"commit", parts.header, raw_message, shapes, self.object_format)
            commit = self._new(tree, parents, pcs, author, message, record)
        vid = self.put("commit", commit.to_bytes())
        self.commits[vid] = commit
        self._mapped(gid, vid, "commit")
        self.summary.commits += 1

    def _new(
        self,
        tree: ObjectId,
        parents: list[ObjectId],
        pcs: list[Commit],
        author: Signature,
        message: str,
        record: GitRecord,
    ) -> Commit:
        rec = self.put("blob", record.to_bytes())
        lamport = 1 + max((c.lamport for c in pcs), default=0)
        clock, gaps = commit_clock(pcs, (self.repo.replica, self._dot(pcs)))
        return Commit(tree, tuple(parents), author, message, self.repo.replica, lamport, clock, None, gaps, rec)

    def _peels_to(self, tag: bytes, commit: bytes) -> bool:
        """Tell whether git object `tag` is an annotated tag that (through any chain of tags) names `commit`."""
        try:
            if self.read(tag)[0] != "tag":
                return False
        except GitInteropError:
            return False
        return self.git.peel_commit(tag) == commit

    def _native(
        self, tree: ObjectId, parents: list[ObjectId], pcs: list[Commit], parts: GitCommitParts
    ) -> Commit | None:
        """The vcrdt commit a git commit is the export of (its vcrdt-* headers and nothing else), if it is one."""
        h = parts.header
        if b"\nvcrdt-replica " not in h:
            return None
        fields = {}
        for line in h.split(b"\n")[:-1]:
            key, _, value = line.partition(b" ")
            if key in fields:
                return None
            fields[key] = value
        author = fields.get(b"author")
        if author is None:
            return None
        tags = _parent_tags(h, self.hex_len)
        if tags:
            parents = list(parents)
            for i, t in tags:
                hit = self.known(t)
                if i >= len(parents) or hit is None or hit[1] != "tag":
                    return None
                if not self._peels_to(t, bytes.fromhex(parts.parents[i].decode())):
                    return None
                parents[i] = hit[0]
            if len(set(parents)) != len(parents):
                return None
            pcs = self._parent_commits(parents)
        text = [f"tree {tree.hex()}"] + [f"parent {p.hex()}" for p in parents]
        try:
            text.append("author " + author.decode("utf-8"))
            for key, word in ((b"vcrdt-replica", "replica"), (b"vcrdt-lamport", "lamport"), (b"vcrdt-clock", "clock")):
                text.append(f"{word} " + fields[key].decode("ascii"))
            if b"vcrdt-gaps" in fields:
                text.append("gaps " + fields[b"vcrdt-gaps"].decode("ascii"))
            record = None
            if b"vcrdt-resolutions" in fields:
                record = fields[b"vcrdt-resolutions"] + b"\n"
                text.append("resolutions " + self.put("blob", record).hex())
            body = ("\n".join(text) + "\n\n").encode() + parts.message
            commit = Commit.from_bytes(body)
        except (KeyError, UnicodeDecodeError, CorruptObjectError):
            return None
        try:
            if native_header(commit, record, tags) != h:
                return None
        except GitInteropError:
            return None
        if history_problem(commit, pcs) is not None:
            return None
        if commit.replica == self.repo.replica:
            self.counter = max(self.counter, dict(commit.clock).get(ReplicaId(commit.replica), 0))
        return commit

    def _tag(self, gid: bytes, tag: GitTagParts) -> None:
        where = f"git tag {gid.hex()}"
        target = self.memo[bytes.fromhex(tag.target.decode())][0]
        pcs = self._parent_commits([target])
        enc = message_encoding(tag.header)
        try:
            message = display_message(tag.message, enc)
        except GitInteropError as exc:
            raise GitInteropError(f"{where}: {exc}") from None
        tagger = display_signature(header_value(tag.header, b"tagger"), enc)
        raw_message = None if message.encode() == tag.message else tag.message
        record = GitRecord(b"tag", tag.header, raw_message, (), self.object_format)
        commit = self._new(pcs[0].tree, [target], pcs, tagger, message, record)
        vid = self.put("commit", commit.to_bytes())
        self.commits[vid] = commit
        self._mapped(gid, vid, "tag")
        self.summary.tags += 1


_KIND_WORDS = {k: k.value.encode("ascii") for k in EntryKind}
_BATCH_BYTES = 16 << 20  # queued object bytes before a batch is stored
_BATCH_OBJECTS = 4096


def _parent_tags(header: bytes, hex_len: int = 40) -> list[tuple[int, bytes]]:
    r"""The ``vcrdt-parent-tags`` of a git commit header (``N=GITID ...``); empty when absent or malformed.

    >>> _parent_tags(b"author A\nvcrdt-parent-tags 1=" + b"ab" * 20 + b"\n")[0][0]
    1
    """
    at = header.find(b"\nvcrdt-parent-tags ")
    if at < 0:
        return []
    value = header[at + 19 : header.find(b"\n", at + 1)]
    out = []
    for item in value.split(b" "):
        n, _, g = item.partition(b"=")
        if not n.isdigit() or len(g) != hex_len or g.lower() != g:
            return []
        try:
            out.append((int(n), bytes.fromhex(g.decode("ascii"))))
        except ValueError:
            return []
    return out


def _first(item: tuple[bytes, EntryKind, ObjectId]) -> bytes:
    return item[0]


def _git_key(item: tuple[bytes, EntryKind, ObjectId]) -> bytes:
    return git_sort_key(item[0], item[1])


def _entry(path: bytes, name: bytes) -> str:
    return repr(decode(_join(path, name)))


def _join(path: bytes, name: bytes) -> bytes:
    return path + b"/" + name if path else name


def _show(path: bytes) -> str:
    return f"directory {decode(path)!r}" if path else "the root tree"


def _rule(exc: CorruptObjectError) -> str:
    text = exc.message
    prefix = "corrupt object tree: "
    return text[len(prefix) :] if text.startswith(prefix) else text


def import_git(
    repo: Repository,
    gitdir: Path,
    refs: Iterable[str] = (),
    *,
    on_progress: Progress | None = None,
    skip_invalid: bool = False,
) -> ImportSummary:
    """Bring a git repository's branches and tags (and all they reach) into `repo`.

    Incremental: commits imported before (the id mapping knows them) are not read again, and
    a branch that moved or was deleted in git since the last import from the same git
    directory moves or goes here too, unless it moved here as well (then the git head joins
    it as a sibling, or the branch stays, with a warning). One transaction: on any refusal
    nothing is stored.

    Args:
        repo: The vcrdt repository.
        gitdir: The git repository (bare, a work tree or its ``.git``).
        refs: Full ref-name patterns (``fnmatch``); default all branches and tags.
        on_progress: Called as ``(commits done, commits to do)``.
        skip_invalid: Skip a commit or tag vcrdt refuses (and every commit and tag built on
            it, and the refs naming them) instead of refusing the import; each is listed in
            the summary's ``skipped``.

    Returns:
        What was imported and which refs moved.

    Raises:
        GitInteropError: If `gitdir` is no git repository or an object cannot be read, or
            holds something vcrdt refuses (the message names the object, the path and the rule).
        DirtyWorktreeError: If the checked-out branch would move over local changes.
    """
    gd = GitDir(gitdir)
    source = source_key(gd)
    summary = ImportSummary(source)
    previous = maps.ref_state(repo.db, source, "import")
    # pygit2 for a first SHA-1 import (many objects); git's plumbing for SHA-256 (libgit2 here
    # reads SHA-1 only) and for later runs, which read few objects and need not load pygit2.
    # Without a git command on PATH, a SHA-1 repository is read through pygit2 every time.
    plumbing = gd.hash_name != "sha1" or (bool(previous) and git_on_path())
    git: GitSource = PlumbingSource(gd) if plumbing else Pygit2Source(gd.path)
    try:
        wanted = select_refs(git, refs)
        if previous and nothing_moved(repo, wanted, previous):
            return summary
        # The run makes many small objects and no reference cycles: the cyclic collector
        # would only walk everything imported so far, again and again (restored after).
        import gc

        collecting = gc.isenabled()
        gc.disable()
        try:
            return _import(repo, git, gd, source, wanted, summary, on_progress, skip_invalid)
        finally:
            if collecting:
                gc.enable()
    finally:
        git.close()


def _import(
    repo: Repository,
    git: GitSource,
    gd: GitDir,
    source: str,
    wanted: dict[str, bytes],
    summary: ImportSummary,
    on_progress: Progress | None,
    skip_invalid: bool,
) -> ImportSummary:
    with repo.transaction():
        maps.ensure_tables(repo.db)
        fill_map(repo, gd.hash_name)
        imp = _Importer(repo, git, summary, skip_invalid=skip_invalid)
        previous = maps.ref_state(repo.db, source, "import")
        order = git.walk(wanted.values(), previous.values())
        if isinstance(git, PlumbingSource) and git.cache:
            imp.prefetch_named(git.cache)
        total = len(order)
        for n, gid in enumerate(order, 1):
            imp.commitish(gid)
            if on_progress is not None:
                on_progress(n, total)
        state: dict[bytes, bytes] = {}
        targets: dict[str, set[ObjectId]] = {}
        for name, gid in sorted(wanted.items()):
            vname = vcrdt_ref_name(name)
            try:
                check_full_name(vname)
            except BadRefNameError as exc:
                summary.warnings.append(f"git ref {name!r} skipped: {exc.message}")
                continue
            hit = imp.commitish(gid)
            if hit is None and gid in imp.invalid:
                summary.warnings.append(f"git ref {name} skipped: it names {gid.hex()}, which was skipped")
                continue
            if hit is None:
                summary.warnings.append(f"git ref {name} skipped: it names a {imp.read(gid)[0]}, not a commit or tag")
                continue
            targets.setdefault(vname, set()).add(hit[0])
            state[name.encode()] = gid
        imp.flush()
        maps.add(repo.db, imp.rows)
        before: dict[str, set[ObjectId]] = {}
        for gname, gid in previous.items():
            hit = imp.known(gid)
            if hit is not None:
                before.setdefault(vcrdt_ref_name(gname.decode()), set()).add(hit[0])
        head = repo.refs.head()
        for name in sorted(set(targets) | set(before)):
            _update_ref(repo, name, targets.get(name, set()), before.get(name, set()), summary)
        # A branch deleted in git that stays here (moved on) is kept in the state, so it is not retried.
        maps.set_ref_state(repo.db, source, "import", state)
        repo.db.set_meta(f"counter:{repo.replica}", str(imp.counter))
        after = repo.refs.head()
        if head.branch is not None and after.commit != head.commit and after.commit is not None:
            # Only the paths that differ between the two trees are compared and written.
            old_tree = None if head.commit is None else read_commit(repo.store, head.commit).tree
            repo.worktree.begin_checkout_trees(old_tree, read_commit(repo.store, after.commit).tree, force=False)
            summary.checkout = after.commit
    if summary.checkout is not None:
        repo.worktree.finish_checkout()
    return summary


def fill_map(repo: Repository, hash_name: str = "sha1") -> int:
    """Map every commit under a local ref that the mapping does not know yet; return how many were added.

    A replica that received imported history through sync has the commits and their git
    records but not the mapping (a local cache): their git ids are computed from the history
    (nothing written), so a later import knows them and does not import them twice.
    """
    hash_len = 32 if hash_name == "sha256" else 20
    missing = [
        h for _name, heads in repo.refs.iter_refs("refs/") for h in heads if not maps.to_git(repo.db, h, hash_len)
    ]
    if not missing:
        return 0
    from vcrdt.gitio.exporter import Exporter, GitWriter  # not loaded when every head is mapped

    exp = Exporter(repo, GitWriter(None, hash_name))
    for head in missing:
        exp.commit(head)
    maps.add(repo.db, exp.rows)
    return len(exp.rows)


def _update_ref(
    repo: Repository,
    name: str,
    new: set[ObjectId],
    prev: set[ObjectId],
    summary: ImportSummary,
) -> None:
    heads = set(repo.refs.heads(name))
    # Siblings that are ancestors of another head are not heads.
    new = {h for h in new if not any(h != o and is_ancestor(repo.store, h, o) for o in new)}
    was = next(iter(heads)) if len(heads) == 1 else None
    if not new:
        if heads and heads == prev:
            if repo.refs.head().branch == name:
                summary.warnings.append(f"{name} was deleted in git but is checked out here; kept")
                return
            repo.refs.delete(name)
            summary.refs.append((name, was, None))
        elif heads:
            summary.warnings.append(f"{name} was deleted in git but moved here since; kept")
        return
    if heads == new:
        return
    if (
        not heads
        or name.startswith(TAG_PREFIX)
        or heads == prev
        or all(any(is_ancestor(repo.store, h, n) for n in new) for h in heads)
    ):
        _set_heads(repo, name, new)
        for n in sorted(new):
            summary.refs.append((name, was, n))
    else:
        shown = was.hex()[:12] if was is not None else f"{len(heads)} heads"
        summary.warnings.append(f"{name} moved both in git and here; kept here at {shown}")


def _set_heads(repo: Repository, name: str, heads: set[ObjectId]) -> None:
    """Point a ref at exactly `heads` (siblings when more than one), each head with a new dot."""
    ordered = sorted(heads)
    repo.refs.update(name, ordered[0])
    if len(ordered) == 1 or not name.startswith(BRANCH_PREFIX):
        return
    repo.refs.add_entries(name, frozenset(ordered[1:]))
    entries = frozenset((h, r, c) for n, h, r, c in repo.refs.iter_entries() if n == name)
    repo.refs.set_state(name, frozenset(ordered), entries)
