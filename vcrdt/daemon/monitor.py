"""The file-system monitor of the command server: which paths changed since a status (inotify).

`status` on a big tree spends its time looking at every file. The command
server process lives across commands, so it can watch each work tree it has
served with inotify (as git's fsmonitor daemon does) and tell a command which
paths changed since the last status: `vcrdt.worktree` then looks only at those
(see `Worktree.status`).

- `Watcher` lives in the server process. The first question about a work tree
  starts watching every directory in it (but ``.vcrdt``) and answers "look at
  everything". Later answers list the paths with an event after the asker's
  counter. A new directory is watched and its contents listed as changed.
  Anything it cannot follow exactly (a directory deleted or moved, the event
  queue overflowing, the watch limit) drops the watch, so the next answer is
  "look at everything" again, under a new generation.
- `MonitorClient` lives in a command's process and asks the server over a
  socket pair, one JSON line each way.

inotify does not see writes through a shared memory mapping, nor changes made
by another machine on a network file system; neither does git's monitor. A
command run without the server never uses the monitor.

Standard library only; Linux only (elsewhere the watcher never starts).
"""

from __future__ import annotations

import json
import os
import secrets
import struct
from dataclasses import dataclass, field

from vcrdt.paths import reserved_at_root
from vcrdt.worktree import Changes

_MODIFY, _ATTRIB, _CLOSE_WRITE = 0x2, 0x4, 0x8
_MOVED_FROM, _MOVED_TO, _CREATE, _DELETE = 0x40, 0x80, 0x100, 0x200
DELETE_SELF, MOVE_SELF = 0x400, 0x800
Q_OVERFLOW, IGNORED, ISDIR = 0x4000, 0x8000, 0x40000000
_ONLYDIR, _DONT_FOLLOW, _EXCL_UNLINK = 0x01000000, 0x02000000, 0x04000000
# Every change to a directory's entries or their contents, and to the directory itself.
CHANGES = _MODIFY | _ATTRIB | _CLOSE_WRITE | _MOVED_FROM | _MOVED_TO | _CREATE | _DELETE | DELETE_SELF | MOVE_SELF
_MASK = CHANGES | _ONLYDIR | _DONT_FOLLOW | _EXCL_UNLINK
_EVENT = struct.Struct("iIII")
# Beyond these a work tree is not watched (its status looks at everything, as without a server).
MAX_DIRS = 20_000
MAX_CHANGED = 100_000
# Work trees watched at once; the one asked about least recently is dropped for a new one.
MAX_TREES = 32


class Inotify:
    """A non-blocking inotify instance, through libc (`fd` is -1 where there is none)."""

    def __init__(self) -> None:
        """Open the instance; on failure (not Linux, no libc, the instance limit) `fd` stays -1."""
        self.fd = -1
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            self._add = libc.inotify_add_watch
            self._rm = libc.inotify_rm_watch
            self.fd = max(libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC), -1)
        except (OSError, AttributeError):
            self.fd = -1

    def add(self, path: str, mask: int) -> int:
        """Watch the directory `path` for the events in `mask`; return the watch descriptor, or -1."""
        return int(self._add(self.fd, os.fsencode(path), mask))

    def remove(self, wd: int) -> None:
        """Stop a watch (its IN_IGNORED event follows)."""
        self._rm(self.fd, wd)

    def read(self) -> list[tuple[int, int, bytes]] | None:
        """Return the pending events as (watch, mask, name), [] when there are none; None if reading failed."""
        events: list[tuple[int, int, bytes]] = []
        while True:
            try:
                data = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                return events
            except OSError:
                return None
            at = 0
            while at < len(data):
                wd, mask, _, size = _EVENT.unpack_from(data, at)
                events.append((wd, mask, data[at + 16 : at + 16 + size].rstrip(b"\0")))
                at += 16 + size

    def close(self) -> None:
        """Close the instance (every watch goes with it)."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


@dataclass
class _Tree:
    """One watched work tree."""

    root: str
    generation: str
    dirs: dict[int, str] = field(default_factory=dict)  # watch descriptor -> directory ("" for the root)
    changed: dict[str, int] = field(default_factory=dict)  # path -> counter of its last event


class Watcher:
    """The inotify watches of the server process, and the answers to `MonitorClient` questions."""

    def __init__(self) -> None:
        """Open an inotify instance (`fd` is -1 where there is none: every answer is then None)."""
        self.inotify = Inotify()
        self.fd = self.inotify.fd
        self.counter = 0
        self._trees: dict[str, _Tree] = {}
        self._owner: dict[int, _Tree] = {}

    def roots(self) -> list[str]:
        """Return the work trees watched now, sorted."""
        self.drain()
        return sorted(self._trees)

    def answer(self, question: bytes) -> bytes:
        """Answer one JSON question ``{"root", "generation", "counter"}`` with one JSON line."""
        try:
            q = json.loads(question)
            root, generation, since = str(q["root"]), str(q["generation"]), int(q["counter"])
        except (ValueError, KeyError, TypeError):
            return b"null\n"
        changes = self.changes(root, generation, since)
        if changes is None:
            return b"null\n"
        paths = None if changes.paths is None else sorted(changes.paths)
        reply = {"generation": changes.generation, "counter": changes.counter, "paths": paths}
        return json.dumps(reply).encode("utf-8", "surrogateescape") + b"\n"

    def changes(self, root: str, generation: str, since: int) -> Changes | None:
        """Return what changed in the work tree at `root` after `since` (of `generation`)."""
        if self.fd < 0:
            return None
        self.drain()
        tree = self._trees.pop(root, None)
        if tree is None:
            tree = self._watch(root)
            if tree is None:
                return None
        self._trees[root] = tree  # the most recently asked last: the first one goes when there are too many
        if generation != tree.generation or since > self.counter:
            return Changes(tree.generation, self.counter, None)
        return Changes(tree.generation, self.counter, frozenset(p for p, c in tree.changed.items() if c > since))

    def drain(self) -> None:
        """Read every pending event."""
        if self.fd < 0:
            return
        events = self.inotify.read()
        if events is None:
            self._forget_all()
            return
        for wd, mask, name in events:
            self._event(wd, mask, os.fsdecode(name))

    def _event(self, wd: int, mask: int, name: str) -> None:
        if mask & Q_OVERFLOW:
            self._forget_all()
            return
        tree = self._owner.get(wd)
        if tree is None:
            return
        if mask & (IGNORED | DELETE_SELF | MOVE_SELF):
            self._forget(tree)  # a watched directory went away: follow it no more
            return
        directory = tree.dirs[wd]
        if not name:
            return  # about the directory itself (its mode, say): no path's status depends on it
        path = f"{directory}/{name}" if directory else name
        if not directory and reserved_at_root(name):
            return
        if mask & ISDIR and mask & (_DELETE | _MOVED_FROM | _MOVED_TO):
            self._forget(tree)
            return
        self.counter += 1
        tree.changed[path] = self.counter
        if mask & ISDIR and mask & _CREATE and not self._add_tree(tree, path, mark=True):
            self._forget(tree)
        elif len(tree.changed) > MAX_CHANGED:
            self._forget(tree)

    def _watch(self, root: str) -> _Tree | None:
        while len(self._trees) >= MAX_TREES:
            self._forget(next(iter(self._trees.values())))
        tree = _Tree(root, secrets.token_hex(8))
        self._trees[root] = tree
        if not self._add_tree(tree, "", mark=False):
            self._forget(tree)
            return None
        return tree

    def _add_tree(self, tree: _Tree, top: str, *, mark: bool) -> bool:
        """Watch directory `top` of `tree` and every directory under it; with `mark`, list their contents as changed."""
        stack = [top]
        while stack:
            rel = stack.pop()
            path = os.path.join(tree.root, rel) if rel else tree.root
            wd = self.inotify.add(path, _MASK)
            if wd < 0:
                # A directory that vanished meanwhile is fine (the event of its removal follows);
                # anything else (the watch limit) means this tree cannot be followed.
                return bool(rel) and not os.path.isdir(path)
            if (wd in self._owner and self._owner[wd] is not tree) or len(tree.dirs) >= MAX_DIRS:
                return False  # the same directory in another watched tree (nested work trees), or too many
            self._owner[wd] = tree
            tree.dirs[wd] = rel
            try:
                entries = list(os.scandir(path))
            except OSError:
                continue
            for entry in entries:
                child = f"{rel}/{entry.name}" if rel else entry.name
                if not rel and reserved_at_root(entry.name):
                    continue
                if mark:
                    self.counter += 1
                    tree.changed[child] = self.counter
                try:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(child)
                except OSError:
                    continue
        return True

    def _forget(self, tree: _Tree) -> None:
        for wd in tree.dirs:
            if self._owner.get(wd) is tree:
                del self._owner[wd]
                self.inotify.remove(wd)
        if self._trees.get(tree.root) is tree:
            del self._trees[tree.root]

    def _forget_all(self) -> None:
        for tree in list(self._trees.values()):
            self._forget(tree)


class MonitorClient:
    """A command's side: asks the server's `Watcher` over a connected socket."""

    def __init__(self, sock_fd: int) -> None:
        """Ask over the socket `sock_fd` (one end of the server's socket pair)."""
        self.fd = sock_fd

    def changes(self, root: str, generation: str, counter: int) -> Changes | None:
        """Return what changed under `root` after `counter` of `generation`, or None if unknown."""
        question = json.dumps({"root": root, "generation": generation, "counter": counter})
        try:
            os.write(self.fd, question.encode("utf-8", "surrogateescape") + b"\n")
            reply = b""
            while not reply.endswith(b"\n"):
                chunk = os.read(self.fd, 1 << 16)
                if not chunk:
                    return None
                reply += chunk
            data = json.loads(reply)
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict):
            return None
        paths = data["paths"]
        return Changes(str(data["generation"]), int(data["counter"]), None if paths is None else frozenset(paths))
