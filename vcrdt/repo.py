"""The repository: store + refs + work tree + config, and revision parsing.

A `Repository` is opened from a directory holding ``.vcrdt/``. It owns the
database connection; `transaction()` wraps one operation's objects, ref
moves and work-tree rows in a single SQLite transaction. Everything ambient
(user identity from the environment, the global config path, the clock) is
handed in through `Settings` by the caller, never read here.
"""

from __future__ import annotations

import _sqlite3 as sqlite3  # the C module alone: see vcrdt.store.db
import os

from vcrdt.dag import read_commit, read_tree
from vcrdt.errors import (
    AmbiguousRevisionError,
    BadRevisionError,
    ConfigError,
    IdentityError,
    NotARepositoryError,
    RepoError,
    RepoExistsError,
    UnsupportedFormatError,
)
from vcrdt.extensions import cache, cached_property, contextmanager  # functools' and contextlib's, neither loaded
from vcrdt.ids import ObjectId, ReplicaId, from_hex, is_hex_id, is_replica_id, to_hex
from vcrdt.paths import META_DIR
from vcrdt.refs import BRANCH_PREFIX, TAG_PREFIX, RefStore
from vcrdt.store.db import DEFAULT_BUSY_TIMEOUT, Database
from vcrdt.store.sqlite import SqliteStore
from vcrdt.values import Value, value_class

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    import re
    from collections.abc import Callable, Iterable, Iterator
    from datetime import datetime
    from pathlib import Path

    from vcrdt.merge.state import MergeState
    from vcrdt.objects import Commit, EntryKind, Signature
    from vcrdt.worktree import FlatTree, FsMonitor, Worktree

FORMAT_NAME = "vcrdt repository format"
FORMAT_VERSION = 2
DB_FILE = "store.db"
CONFIG_FILE = "config.toml"


@cache
def _rev_suffix() -> re.Pattern[str]:  # compiled on first use, not at every command's start-up
    import re  # here: a revision without ~ or ^ (HEAD, a name, an id) needs no pattern

    return re.compile(r"(.*?)((?:[~^][0-9]*)+)$")


def _suffix_steps(suffix: str) -> list[tuple[str, str]]:
    """The steps of a revision suffix (``~2^2``: ``[("~", "2"), ("^", "2")]``); none for ``""``."""
    if not suffix:
        return []
    import re

    return re.findall(r"([~^])([0-9]*)", suffix)


def _system_now() -> datetime:
    from datetime import UTC, datetime  # here: a command that makes no commit never reads the clock

    return datetime.now(UTC).astimezone()


def _system_clock_ns() -> int:
    import time  # the same instant as `_system_now`'s, in nanoseconds, without loading datetime

    return time.time_ns()


# How many flattened trees a `Repository` keeps (each about 1 MB per 10,000 files).
_FLAT_TREES_KEPT = 4
_SETTINGS_FIELDS = ("author_name", "author_email", "global_config", "busy_timeout", "now", "clock_ns", "monitor")


@value_class(frozen=True, init=False, repr=False, eq=False)
class Settings(Value):
    """Everything from outside the repository that the core may use."""

    __slots__ = _SETTINGS_FIELDS

    author_name: str | None
    author_email: str | None
    global_config: str | os.PathLike[str] | None
    busy_timeout: float
    now: Callable[[], datetime]
    clock_ns: Callable[[], int]
    # A file-system monitor that `status` asks what changed (the command server's); None: look at every file.
    monitor: FsMonitor | None

    def __init__(
        self,
        author_name: str | None = None,
        author_email: str | None = None,
        global_config: str | os.PathLike[str] | None = None,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        now: Callable[[], datetime] = _system_now,
        clock_ns: Callable[[], int] = _system_clock_ns,
        monitor: FsMonitor | None = None,
    ) -> None:
        set_ = object.__setattr__
        set_(self, "author_name", author_name)
        set_(self, "author_email", author_email)
        set_(self, "global_config", global_config)
        set_(self, "busy_timeout", busy_timeout)
        set_(self, "now", now)
        set_(self, "clock_ns", clock_ns)
        set_(self, "monitor", monitor)


def read_toml(path: str | os.PathLike[str]) -> dict[str, object]:
    """Read a TOML file (missing file: empty).

    Raises:
        ConfigError: If the file is not valid TOML.
    """
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    if not data:
        return {}  # empty (as `init` writes it): the parser is not loaded
    import tomllib  # here: a command that reads no setting does not pay for the parser

    try:
        return tomllib.loads(data.decode())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc


def _toml_string(value: str) -> str:
    out = value.replace("\\", "\\\\").replace('"', '\\"')
    out = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in out)
    return f'"{out}"'


def write_config(path: str | os.PathLike[str], data: dict[str, dict[str, str]]) -> None:
    """Write a two-level table of strings as TOML, atomically."""
    lines: list[str] = []
    for section in sorted(data):
        lines.append(f"[{section}]")
        for key in sorted(data[section]):
            lines.append(f"{key} = {_toml_string(data[section][key])}")
        lines.append("")
    tmp = os.path.splitext(path)[0] + ".tmp"  # config.toml -> config.tmp
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines))
    os.replace(tmp, path)


_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
_HEX_DIGITS = frozenset("0123456789abcdef")


def _is_hex(text: str, most: int) -> bool:
    """Tell whether `text` is 4 to `most` lowercase hex digits (an abbreviated id)."""
    return 4 <= len(text) <= most and _HEX_DIGITS.issuperset(text)


def split_key(key: str) -> tuple[str, str]:
    """Split ``section.name``.

    Raises:
        ConfigError: If the key has no section.

    >>> split_key("user.name")
    ('user', 'name')
    """
    section, dot, name = key.partition(".")
    if not dot or not section or not name or not _KEY_CHARS.issuperset(key):
        raise ConfigError(f"invalid config key {key!r}", hint="keys look like `user.name`")
    return section, name


class Repository:
    """An open repository.

    Its work tree and metadata directory are held as strings (`root_dir`, `meta_dir`): the
    everyday commands go through `os.path` and never load pathlib (with re, fnmatch and
    urllib.parse, millions of instructions of start-up). `root` and `meta` give them as `Path`s
    to the commands that want one.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        settings: Settings,
        *,
        read_only: bool = False,
        time_limit: float | None = None,
    ) -> None:
        """Open the repository whose work tree is `root`.

        Args:
            root: The work tree.
            settings: Everything from outside the repository.
            read_only: Open another replica to read its objects and refs, and nothing else: its
                database is never written (see `Database`), its work tree never touched.
            time_limit: With `read_only`, the seconds any one database statement may run.

        Raises:
            NotARepositoryError: If `root/.vcrdt` is missing.
            UnsupportedFormatError: If the format version is unknown.
        """
        self.root_dir = os.fspath(root)
        self.meta_dir = os.path.join(self.root_dir, META_DIR)
        self.settings = settings
        if not os.path.isdir(self.meta_dir):
            raise NotARepositoryError(self.root_dir)
        fmt = os.path.join(self.meta_dir, "format")
        try:
            # A FIFO would block and a device (a link to /dev/zero) never end: regular files only,
            # and only as much as a valid one holds; any bytes, not only UTF-8, give one error.
            if not os.path.isfile(fmt):
                if not os.path.lexists(fmt):
                    raise RepoError(f"{fmt}: the format file is missing: not a whole repository")
                raise RepoError(f"{fmt}: the format file is not a regular file")
            with open(fmt, "rb") as fh:
                text = fh.read(256).decode("utf-8", "replace").strip()
        except OSError as exc:
            raise RepoError(f"{fmt}: cannot read the format file") from exc
        if text == f"{FORMAT_NAME} 1":
            raise UnsupportedFormatError(
                f"{fmt}: unsupported format {text!r}: its commits' vector clocks are keyed by actors",
                hint="this vcrdt reads format 2 only (clocks keyed by replica, docs/format.md); an earlier"
                " vcrdt still reads it",
            )
        if text != f"{FORMAT_NAME} {FORMAT_VERSION}":
            raise UnsupportedFormatError(f"{fmt}: unsupported format {text[:60]!r}")
        self.db = Database(
            os.path.join(self.meta_dir, DB_FILE),
            busy_timeout=settings.busy_timeout,
            read_only=read_only,
            time_limit=time_limit,
        )
        self.store = SqliteStore(self.db)
        self.refs = RefStore(self.db)
        # The last few trees flattened (`flat_tree`), by id: a merge or switch reads HEAD's more than once.
        self._flat_trees: dict[ObjectId, FlatTree] = {}
        replica = self.db.get_meta("replica")
        if replica is None or not is_replica_id(replica):
            raise RepoError(f"{self.db.path}: missing or malformed replica id")
        self.replica = ReplicaId(replica)

    @cached_property
    def root(self) -> Path:
        """The work tree (`root_dir`) as a `Path`."""
        from pathlib import Path

        return Path(self.root_dir)

    @cached_property
    def meta(self) -> Path:
        """The metadata directory, ``.vcrdt`` in the work tree (`meta_dir`), as a `Path`."""
        from pathlib import Path

        return Path(self.meta_dir)

    @cached_property
    def worktree(self) -> Worktree:
        """The work tree: its rows, the stat cache, status and checkout (made on first use)."""
        from vcrdt.worktree import Worktree

        return Worktree(self.root_dir, self.db, self.store, self.settings.clock_ns, monitor=self.settings.monitor)

    def finish_interrupted_checkout(self) -> int:
        """Finish a checkout cut short, if its journal still holds work; return how many paths (0: none).

        Looks at the journal before the work tree is made, so a command with nothing to finish
        (nearly always) does not load the work-tree machinery for it.

        Raises:
            RepoError: If a file cannot be written or deleted (the checkout stays unfinished).
        """
        try:
            pending = self.db.conn.execute("SELECT 1 FROM checkout_journal LIMIT 1").fetchone() is not None
        except sqlite3.OperationalError:
            return 0  # an older repository opened read-only: it has no journal table yet
        return self.worktree.finish_checkout() if pending else 0

    @cached_property
    def merge_state(self) -> MergeState:
        """The merge in progress, if any (made on first use)."""
        from vcrdt.merge.state import MergeState

        return MergeState(self.db)

    # --- lifecycle ------------------------------------------------------------------

    @classmethod
    def init(cls, root: str | os.PathLike[str], settings: Settings, *, initial_branch: str = "main") -> Repository:
        """Create a repository in `root` (created if missing), whole or not at all.

        The metadata directory is laid out beside its place and renamed into it (`vcrdt.scratch`),
        so a killed init leaves no half-made ``.vcrdt``. An empty ``.vcrdt`` is replaced.

        Raises:
            RepoExistsError: If `root` already holds one.
            RepoError: If it cannot be created (``.vcrdt`` is a file or a symlink, a write fails).
        """
        import errno

        from vcrdt.scratch import made_whole

        meta = None
        building = False
        try:
            # The path as the kernel resolves it (symlinks, then `..`), as opening `root` later does.
            meta = os.path.join(os.path.realpath(root), META_DIR)
            if os.path.lexists(meta):
                if not os.path.isdir(meta) or os.path.islink(meta):
                    raise RepoError(f"cannot create repository in {root}: {meta} exists and is not a directory")
                if os.listdir(meta):
                    raise RepoExistsError(os.fspath(root))
                if os.path.samefile(meta, os.getcwd()):  # a rename would leave this process in a deleted directory
                    raise RepoError(f"cannot create repository in {root}: {meta} is the current directory")
            # Laid out beside `.vcrdt` and renamed into place: a killed init leaves no half-made one.
            with made_whole(meta) as scratch:
                building = True
                db = Database(os.path.join(scratch, DB_FILE), busy_timeout=settings.busy_timeout, create=True)
                with db.write():
                    db.set_meta("replica", os.urandom(16).hex())
                    db.set_meta("HEAD", f"ref: {BRANCH_PREFIX}{initial_branch}")
                db.close()
                write_config(os.path.join(scratch, CONFIG_FILE), {})
                with open(os.path.join(scratch, "format"), "w", encoding="utf-8") as fh:
                    fh.write(f"{FORMAT_NAME} {FORMAT_VERSION}\n")
        except OSError as exc:
            if exc.filename2 == meta and exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
                raise RepoExistsError(os.fspath(root)) from None  # another init got there first
            where = f" ({exc.filename})" if exc.filename and not building else ""
            raise RepoError(f"cannot create repository in {root}: {exc.strerror or exc}{where}") from exc
        return cls(root, settings)

    @classmethod
    def discover(
        cls,
        start: str | os.PathLike[str],
        settings: Settings,
        *,
        read_only: bool = False,
        time_limit: float | None = None,
    ) -> Repository:
        """Open the repository containing `start` (searching parent directories); see `__init__`.

        Raises:
            NotARepositoryError: If none is found.
        """
        candidate = os.path.realpath(start)
        while True:
            if os.path.isdir(os.path.join(candidate, META_DIR)):
                return cls(candidate, settings, read_only=read_only, time_limit=time_limit)
            parent = os.path.dirname(candidate)
            if parent == candidate:
                raise NotARepositoryError(os.fspath(start))
            candidate = parent

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    def __enter__(self) -> Repository:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run a block as one atomic write (objects, refs and work-tree rows).

        Raises:
            RepoBusyError: If another writer holds the lock past the busy timeout.
        """
        with self.db.write():
            yield

    # --- config and identity ------------------------------------------------------------

    def config(self) -> dict[str, dict[str, str]]:
        """Return the repository's own config file as a table of strings."""
        raw = read_toml(os.path.join(self.meta_dir, CONFIG_FILE))
        out: dict[str, dict[str, str]] = {}
        for section, values in raw.items():
            if not isinstance(values, dict):
                raise ConfigError(f"{os.path.join(self.meta_dir, CONFIG_FILE)}: {section!r} must be a table")
            out[section] = {str(k): str(v) for k, v in values.items()}
        return out

    def config_get(self, key: str) -> str | None:
        """Return a config value: repository config first, then the global file."""
        section, name = split_key(key)
        value = self.config().get(section, {}).get(name)
        if value is None and self.settings.global_config is not None:
            glob = read_toml(self.settings.global_config).get(section)
            if isinstance(glob, dict) and name in glob:
                value = str(glob[name])
        return value

    def config_set(self, key: str, value: str | None) -> None:
        """Set (or with None, unset) a key in the repository config."""
        section, name = split_key(key)
        data = self.config()
        if value is None:
            data.get(section, {}).pop(name, None)
        else:
            data.setdefault(section, {})[name] = value
        write_config(os.path.join(self.meta_dir, CONFIG_FILE), {k: v for k, v in data.items() if v})

    def identity(self) -> tuple[str, str]:
        """Return the author (name, e-mail): environment, then repo config, then global config.

        Raises:
            IdentityError: If either is unset.
        """
        name = self.settings.author_name or self.config_get("user.name")
        email = self.settings.author_email or self.config_get("user.email")
        if not name or not email:
            missing = "name" if not name else "e-mail"
            raise IdentityError(
                f"author {missing} is not set",
                hint='run `vcrdt config user.name "Your Name"` and `vcrdt config user.email you@example.com`'
                " (or set VCRDT_AUTHOR_NAME / VCRDT_AUTHOR_EMAIL)",
            )
        for value in (name, email):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise IdentityError(f"author {value!r} is not valid UTF-8") from None
            if any(c in value for c in "<>\n\0"):
                raise IdentityError(f"author {value!r} must not contain '<', '>', a newline or NUL")
        return name, email

    def signature(self) -> Signature:
        """Return the author signature for a new commit, dated now."""
        from vcrdt.objects import Signature

        name, email = self.identity()
        now = self.settings.now()
        offset = now.utcoffset()
        minutes = int(offset.total_seconds() // 60) if offset is not None else 0
        if now.timestamp() < 0:
            raise ConfigError(f"the clock says {now.isoformat()}, before 1970", hint="set the system clock")
        return Signature(name, email, int(now.timestamp()), minutes)

    # --- revisions ------------------------------------------------------------------------

    def head_commit(self) -> ObjectId | None:
        """Return HEAD's commit (None on an unborn branch)."""
        return self.refs.head().commit

    def resolve(self, rev: str) -> ObjectId:
        """Resolve a revision to a commit id.

        Accepts ``HEAD`` / ``@``, branch and tag names, full refs, full or
        abbreviated (at least 4 hex digits) commit ids, and ``~N`` / ``^N``
        suffixes.

        Raises:
            BadRevisionError: If `rev` names no commit.
            AmbiguousRevisionError: If an abbreviation matches several objects.
        """
        m = _rev_suffix().fullmatch(rev) if "~" in rev or "^" in rev else None
        base, suffix = (m.group(1), m.group(2)) if m else (rev, "")
        oid = self._resolve_base(base, rev)
        for op, num in _suffix_steps(suffix):
            n = int(num) if num else 1
            if op == "~":
                for _ in range(n):
                    parents = read_commit(self.store, oid).parents
                    if not parents:
                        raise BadRevisionError(rev, "revision goes past the root commit")
                    oid = parents[0]
            elif n:
                parents = read_commit(self.store, oid).parents
                if n > len(parents):
                    raise BadRevisionError(rev, f"commit has no parent number {n}")
                oid = parents[n - 1]
        return oid

    def _resolve_base(self, base: str, rev: str) -> ObjectId:
        if base in ("HEAD", "@", ""):
            head = self.head_commit()
            if head is None:
                raise BadRevisionError(rev, "HEAD has no commits yet")
            return head
        for name in (base, BRANCH_PREFIX + base, TAG_PREFIX + base):
            if name.startswith("refs/"):
                heads = self.refs.heads(name)
                if len(heads) > 1:
                    checked_out = self.refs.head()
                    if checked_out.branch == name and checked_out.commit is not None:
                        return checked_out.commit  # the sibling the work tree is on
                if heads:
                    return self.refs.get(name) or next(iter(heads))
        if is_hex_id(base):
            oid = from_hex(base)
            if self.store.has(oid):
                return self._peel(oid, rev)
        elif _is_hex(base, 63):
            hits = self._ids_with_hex_prefix(base, limit=1000)
            commits = [o for o in hits if self.store.info(o)[0] == "commit"]
            if len(commits) == 1 or len(hits) == 1:
                return self._peel((commits or hits)[0], rev)
            if len(hits) > 1:
                raise AmbiguousRevisionError(rev)
        raise BadRevisionError(rev)

    def _ids_with_hex_prefix(self, text: str, *, limit: int) -> list[ObjectId]:
        """Ids starting with the hex digits `text` (an odd last digit is matched on the hex form)."""
        prefix = bytes.fromhex(text[: len(text) // 2 * 2])
        return [o for o in self.store.ids_with_prefix(prefix, limit=limit) if to_hex(o).startswith(text)]

    def _peel(self, oid: ObjectId, rev: str) -> ObjectId:
        if self.store.info(oid)[0] != "commit":
            raise BadRevisionError(rev, "not a commit")
        return oid

    def resolve_object(self, rev: str) -> ObjectId:
        """Resolve `rev` to any object: a revision, ``REV:path``, or an id (prefix).

        Raises:
            BadRevisionError: If nothing matches.
        """
        if ":" in rev:
            commit_rev, _, path = rev.partition(":")
            tree = read_commit(self.store, self.resolve(commit_rev or "HEAD")).tree
            if not path.strip("/"):
                return tree
            flat = self.tree_lookup(tree, path.strip("/"))
            if flat is None:
                raise BadRevisionError(rev, "path not in that commit")
            return flat[1]
        if _is_hex(rev, 64):
            hits = self._ids_with_hex_prefix(rev, limit=3)
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                raise AmbiguousRevisionError(rev)
        return self.resolve(rev)

    # --- trees ---------------------------------------------------------------------------

    def tree_lookup(self, tree: ObjectId, path: str) -> tuple[EntryKind, ObjectId] | None:
        """Return the entry at `path` inside `tree`, or None."""
        from vcrdt.objects import EntryKind

        current = tree
        parts = path.split("/")
        for i, part in enumerate(parts):
            entry = read_tree(self.store, current).get(part)
            if entry is None:
                return None
            if i == len(parts) - 1:
                return entry.kind, entry.oid
            if entry.kind is not EntryKind.TREE:
                return None
            current = entry.oid
        return None

    def flat_tree(self, tree: ObjectId | None) -> FlatTree:
        """Return every file entry of a tree by path (a new dict: the caller may change it)."""
        if tree is None:
            return {}
        flat = self._flat_trees.get(tree)
        if flat is None:
            from vcrdt.diff.tree import flatten_tree  # imported on first use: `log` never reads a tree

            flat = flatten_tree(self.store, tree)
            if len(self._flat_trees) >= _FLAT_TREES_KEPT:
                del self._flat_trees[next(iter(self._flat_trees))]
            self._flat_trees[tree] = flat
        return dict(flat)

    def commit_flat(self, commit: ObjectId | None) -> FlatTree:
        """Return the flat tree of a commit (empty for None)."""
        if commit is None:
            return {}
        return self.flat_tree(read_commit(self.store, commit).tree)

    def write_tree(self, flat: FlatTree, *, base: ObjectId | None = None, changed: Iterable[str] = ()) -> ObjectId:
        """Store the trees for a flat path map and return the root tree id.

        With `base` (the tree `flat` was derived from) and the `changed` paths,
        only the directories along changed paths are rebuilt; every other
        subtree is reused by id, so a one-file commit in a big tree writes a
        handful of trees.
        """
        if base is not None:
            files: dict[str, list[str]] = {}
            subdirs: dict[str, set[str]] = {}
            for path in changed:
                parent, _, name = path.rpartition("/")
                files.setdefault(parent, []).append(name)
                while parent:
                    up, _, child = parent.rpartition("/")
                    subdirs.setdefault(up, set()).add(child)
                    parent = up
            return self._rebuild("", base, flat, files, subdirs) or self.store.put("tree", b"")
        from vcrdt.merge.pending import write_flat_tree  # imported on first use, as flatten_tree

        return write_flat_tree(self.store, flat)

    def _rebuild(
        self,
        prefix: str,
        base: ObjectId | None,
        flat: FlatTree,
        files: dict[str, list[str]],
        subdirs: dict[str, set[str]],
    ) -> ObjectId | None:
        """Rebuild directory `prefix` from its `base` tree and the changes under it; None if empty."""
        from vcrdt.objects import EntryKind, Tree, TreeEntry

        old = {e.name: e for e in read_tree(self.store, base).entries} if base is not None else {}
        entries = dict(old)
        lead = prefix + "/" if prefix else ""
        for name in files.get(prefix, ()):
            path = lead + name
            if path in flat:
                kind, oid = flat[path]
                entries[name] = TreeEntry(name, kind, oid)
            elif name in entries and entries[name].kind is not EntryKind.TREE:
                del entries[name]
        for name in subdirs.get(prefix, ()):
            was = old.get(name)
            sub = self._rebuild(
                lead + name, was.oid if was and was.kind is EntryKind.TREE else None, flat, files, subdirs
            )
            if sub is not None:
                entries[name] = TreeEntry(name, EntryKind.TREE, sub)
            elif name in entries and entries[name].kind is EntryKind.TREE:
                del entries[name]
        if not entries:
            return None
        return self.store.put("tree", Tree.build(list(entries.values())).to_bytes())

    def new_commit(
        self,
        tree: ObjectId,
        parents: list[ObjectId],
        message: str,
        author: Signature,
        *,
        resolutions: ObjectId | None = None,
        git: ObjectId | None = None,
    ) -> ObjectId:
        """Build and store a commit with its Lamport clock and vector clock; return its id.

        The commit's dot is (this replica, its next counter): one counter per replica, growing
        across all its branches, so every dot is unique. The clock is the parents' clocks joined
        plus that dot; counters this replica used on branches not in the parents' history are
        the clock's gaps (docs/format.md). Run inside the caller's transaction.
        """
        from vcrdt.objects import Commit, commit_clock

        pcs = [read_commit(self.store, p) for p in parents]
        lamport = 1 + max((c.lamport for c in pcs), default=0)
        counter = self._next_counter(pcs)
        clock, gaps = commit_clock(pcs, (self.replica, counter))
        commit = Commit(tree, tuple(parents), author, message, self.replica, lamport, clock, resolutions, gaps, git)
        oid = self.store.put("commit", commit.to_bytes())
        self.db.set_meta(self._counter_key(), str(counter))
        return oid

    def is_convergent(self, oid: ObjectId) -> bool:
        """Tell whether a commit is a convergent merge commit (`convergent_commit` made it)."""
        from vcrdt.objects import is_convergent_commit

        return is_convergent_commit(read_commit(self.store, oid))

    def convergent_commit(self, tree: ObjectId, parents: list[ObjectId], resolutions: ObjectId | None) -> ObjectId:
        """Build and store the convergent merge commit of `parents` (`vcrdt.merge.convergent.convergent_commit`)."""
        from vcrdt.merge.convergent import convergent_commit

        return convergent_commit(self.store, tree, parents, resolutions)

    def _counter_key(self) -> str:
        return f"counter:{self.replica}"

    def _next_counter(self, parents: list[Commit]) -> int:
        """This replica's next clock counter: above every one it used, and above its parents' count."""
        stored = self.db.get_meta(self._counter_key())
        last = int(stored) if stored is not None and stored.isdigit() else 0
        for p in parents:
            for key, count in p.clock:
                if key == self.replica:
                    last = max(last, count)
        return last + 1
