"""Read (and write) a git repository through git's own plumbing, without pygit2.

Two uses: repositories libgit2 cannot open (the SHA-256 object format: libgit2 here reads
SHA-1 only), and runs with little to do, where starting git's small commands costs less than
loading pygit2 (an incremental import, or one that finds nothing moved). Objects are read raw
with one long-running ``git cat-file --batch`` (names, offsets and headers as stored), refs with
``git for-each-ref``, commit order with ``git rev-list``. Replace refs and grafts are ignored
(``--no-replace-objects``), as pygit2's object reads ignore them. No git hook or filter runs:
none of these commands has any.

Writing (`LooseWriter`, `update_refs`): objects as loose files (zlib of ``TYPE SIZE\\0BODY``,
named by their id in the repository's hash), refs with one ``git update-ref --stdin``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from vcrdt.errors import GitInteropError
from vcrdt.sync.spawn import Child

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from typing import IO

HASHES = {"sha1": 20, "sha256": 32}


def _env() -> dict[str, str]:
    """The environment of the git commands: none of git's own variables (they could point elsewhere)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["LC_ALL"] = "C"
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    return env


class GitProcess(Child):
    """One git command started with ``os.posix_spawnp`` (`vcrdt.sync.spawn.Child`): its pipes and pid.

    Not `subprocess`: loading it (with selectors, signal, threading and locale) costs an
    incremental import more than the git commands it runs. The child gets pipes where asked,
    ``/dev/null`` elsewhere, no other descriptor, and SIGPIPE and SIGXFSZ at their defaults.
    """

    def __init__(
        self, args: list[str], *, stdin: bool = False, stdout: bool = False, stderr: bool = False, what: str = "git"
    ) -> None:
        """Start ``git ARGS`` (`what` names it in the error).

        Raises:
            GitInteropError: If git cannot be started.
        """
        try:
            super().__init__(["git", *args], _env(), stdin=stdin, stdout=stdout, stderr=stderr)
        except OSError as exc:
            raise GitInteropError(f"cannot run {what}: {exc}") from None


class _Result:
    """What a finished git command said: exit code, output, error output."""

    __slots__ = ("returncode", "stderr", "stdout")

    def __init__(self, returncode: int, stdout: bytes, stderr: bytes) -> None:
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


def _run(args: list[str], *, stdin: bytes | None = None) -> _Result:
    """Run ``git ARGS`` to the end, with `stdin` as its input; its output and error output read whole.

    The input is written by a thread (git may answer before it has read everything), and the
    error output is read by another while the output is read here, so neither pipe fills up.
    """
    proc = GitProcess(args, stdin=stdin is not None, stdout=True, stderr=True)
    import threading

    err: list[bytes] = []
    assert proc.stdout is not None and proc.stderr is not None
    errpipe = proc.stderr

    def feed() -> None:
        if proc.stdin is not None:
            try:
                proc.stdin.write(stdin or b"")
            except OSError:
                pass  # git stopped reading: its exit code and error output say why
            finally:
                try:
                    proc.stdin.close()
                except OSError:
                    pass
        err.append(errpipe.read())

    helper = threading.Thread(target=feed, daemon=True)
    helper.start()
    try:
        out = proc.stdout.read()
    finally:
        helper.join()
        code = proc.wait()
        proc.close()
    return _Result(code, out, err[0] if err else b"")


def git_on_path() -> bool:
    """Tell whether a ``git`` command is on ``PATH`` (as `shutil.which` finds it, without loading shutil)."""
    for d in os.environ.get("PATH", os.defpath).split(os.pathsep):
        exe = os.path.join(d or ".", "git")
        if os.access(exe, os.X_OK) and not os.path.isdir(exe):
            return True
    return False


def _first_line(err: bytes) -> str:
    lines = [ln for ln in err.decode("utf-8", "replace").splitlines() if ln.strip()]
    return lines[0].strip() if lines else "git failed"


class GitDir:
    """A git repository found by git (bare, a work tree, or its ``.git``): its git directory and object format."""

    def __init__(self, path: Path) -> None:
        """Find the repository at `path`: by its layout when plain, else by asking git.

        Raises:
            GitInteropError: If `path` holds no git repository.
        """
        if not path.is_dir():
            raise GitInteropError(f"{path}: not a git repository (no such directory)")
        if not self._plain(path):
            self._ask(path)
        if self.hash_name not in HASHES:
            raise GitInteropError(f"{path}: object format {self.hash_name!r} is neither sha1 nor sha256")
        self.hash_len = HASHES[self.hash_name]

    def _plain(self, path: Path) -> bool:
        """Read a plain layout (a bare repository or a work tree's ``.git``, no linked work tree): True if it is one."""
        for gd, bare in ((path / ".git", False), (path, True)):
            if not ((gd / "HEAD").is_file() and (gd / "objects").is_dir() and (gd / "refs").is_dir()):
                continue
            if (gd / "commondir").exists() or (gd / "reftable").exists():
                return False
            try:
                config = (gd / "config").read_text("utf-8", "replace").lower()
            except OSError:
                return False
            # The object format and ref storage are extensions (git-config(1)); only their presence is read here.
            if "refstorage" in config or "worktree" in config or "include" in config:
                return False
            fmt = "sha1"
            if "objectformat" in config:
                words = config.replace("=", " = ").split()
                at = words.index("objectformat")
                if at + 2 >= len(words) or words[at + 1] != "=":
                    return False
                fmt = words[at + 2]
            self.path = gd.resolve()
            self.common = self.path
            self.bare = bare and "bare = true" in " ".join(config.replace("=", " = ").split())
            self.hash_name = fmt
            return True
        return False

    def _ask(self, path: Path) -> None:
        res = _run(["-C", str(path), "rev-parse", "--absolute-git-dir", "--git-common-dir", "--is-bare-repository",
                    "--show-object-format"])  # fmt: skip
        lines = res.stdout.decode("utf-8", "surrogateescape").splitlines()
        if res.returncode != 0 or len(lines) != 4:
            raise GitInteropError(f"{path}: not a git repository ({_first_line(res.stderr)})")
        self.path = Path(lines[0])
        common = Path(lines[1])
        self.common = common if common.is_absolute() else (path / common).resolve()
        self.bare = lines[2] == "true"
        self.hash_name = lines[3]

    def git(self, *args: str, stdin: bytes | None = None) -> bytes:
        """Run one git command on this repository; return its output.

        Raises:
            GitInteropError: If git fails (the message is git's first line).
        """
        res = _run(["--no-replace-objects", f"--git-dir={self.path}", *args], stdin=stdin)
        if res.returncode != 0:
            raise GitInteropError(f"{self.path}: git {args[0]}: {_first_line(res.stderr)}")
        return res.stdout

    def refs(self) -> dict[str, bytes]:
        """Every direct ref (symbolic ones left out): full name to raw id.

        Read from the files (``packed-refs``, then the loose refs over them) when the layout is
        plain and every file reads as git writes it; else from ``git for-each-ref``.
        """
        files = self._ref_files() if self.common == self.path else None
        return files if files is not None else self._for_each_ref()

    def _ref_files(self) -> dict[str, bytes] | None:
        hex_len = 2 * HASHES.get(self.hash_name, 20)
        out: dict[str, bytes] = {}
        try:
            packed = (self.path / "packed-refs").read_bytes()
        except FileNotFoundError:
            packed = b""
        except OSError:
            return None
        for line in packed.splitlines():
            if not line or line[:1] in (b"#", b"^"):
                continue
            gid, _, name = line.partition(b" ")
            parsed = _ref_line(gid, name, hex_len)
            if parsed is None:
                return None
            out[parsed[0]] = parsed[1]
        root = self.path / "refs"
        try:
            for top, dirs, names in os.walk(root):
                dirs.sort()
                for n in names:
                    if n.endswith(".lock"):
                        continue
                    full = os.path.join(top, n)
                    ref = "refs/" + os.path.relpath(full, root).replace(os.sep, "/")
                    with open(full, "rb") as f:
                        text = f.read(4096).rstrip(b"\n")
                    if text.startswith(b"ref: "):
                        out.pop(ref, None)  # symbolic: left out, as git's direct refs only are wanted
                        continue
                    parsed = _ref_line(text, os.fsencode(ref), hex_len)
                    if parsed is None:
                        return None
                    out[parsed[0]] = parsed[1]
        except OSError:
            return None
        return out

    def _for_each_ref(self) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        text = self.git("for-each-ref", "--format=%(objectname) %(refname)%00%(symref)")
        for line in text.splitlines():
            head, _, symref = line.partition(b"\0")
            gid, _, name = head.partition(b" ")
            if symref or not name:
                continue
            try:
                out[name.decode("utf-8")] = bytes.fromhex(gid.decode("ascii"))
            except (UnicodeDecodeError, ValueError):
                continue
        return out

    def head_branch_ref(self) -> str | None:
        """The full name of the branch HEAD is on, if it is on one."""
        res = _run(["--git-dir=" + str(self.path), "symbolic-ref", "-q", "HEAD"])
        name = res.stdout.decode("utf-8", "surrogateescape").strip()
        return name if res.returncode == 0 and name else None


def _ref_line(gid: bytes, name: bytes, hex_len: int) -> tuple[str, bytes] | None:
    """A ref file's ``HEX`` (and its name) as git writes them, or None when it is anything else."""
    if len(gid) != hex_len or gid.lower() != gid or not name.startswith(b"refs/"):
        return None
    try:
        return name.decode("utf-8"), bytes.fromhex(gid.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return None


class CatFile:
    """One ``git cat-file --batch`` kept running: raw objects by id, in the order asked."""

    def __init__(self, gitdir: GitDir, mode: str = "--batch") -> None:
        """Start the reader on `gitdir` (`mode` ``--batch-check``: headers only, for `has`)."""
        self.dir = gitdir
        self.mode = mode
        self.proc: GitProcess | None = None

    def _start(self) -> GitProcess:
        if self.proc is None:
            self.proc = GitProcess(
                ["--no-replace-objects", f"--git-dir={self.dir.path}", "cat-file", self.mode],
                stdin=True,
                stdout=True,
                what="git cat-file",
            )
        return self.proc

    def read(self, gid: bytes) -> tuple[str, bytes]:
        """The type and raw body of one object.

        Raises:
            GitInteropError: If git does not have it (or cannot read it).
        """
        proc = self._start()
        stdin: IO[bytes] = proc.stdin  # type: ignore[assignment]
        stdout: IO[bytes] = proc.stdout  # type: ignore[assignment]
        try:
            stdin.write(gid.hex().encode("ascii") + b"\n")
            stdin.flush()
            header = stdout.readline()
        except OSError as exc:
            raise GitInteropError(f"git object {gid.hex()} cannot be read: {exc}") from None
        parts = header.split()
        if len(parts) != 3:
            why = parts[1].decode("ascii", "replace") if len(parts) == 2 else "git cat-file stopped"
            if not header:
                self.close()
            raise GitInteropError(f"git object {gid.hex()} cannot be read: {why}")
        size = int(parts[2])
        body = stdout.read(size + 1)
        if len(body) != size + 1:
            self.close()
            raise GitInteropError(f"git object {gid.hex()} cannot be read: git cat-file stopped")
        return parts[1].decode("ascii"), body[:size]

    def has(self, gid: bytes) -> bool:
        """Tell whether git has the object (a reader started in ``--batch-check`` mode)."""
        proc = self._start()
        try:
            proc.stdin.write(gid.hex().encode("ascii") + b"\n")  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]
            header = proc.stdout.readline()  # type: ignore[union-attr]
        except OSError as exc:
            raise GitInteropError(f"cannot ask git for object {gid.hex()}: {exc}") from None
        return len(header.split()) == 3

    def peel_commit(self, gid: bytes) -> bytes | None:
        """The commit an object is or (through annotated tags) names; None for anything else or missing."""
        seen = 0
        while seen < 100:
            try:
                typ, body = self.read(gid)
            except GitInteropError:
                return None
            if typ == "commit":
                return gid
            if typ != "tag" or not body.startswith(b"object "):
                return None
            end = body.find(b"\n")
            try:
                gid = bytes.fromhex(body[7:end].decode("ascii"))
            except (UnicodeDecodeError, ValueError):
                return None
            seen += 1
        return None

    def close(self) -> None:
        """Stop the reader."""
        proc, self.proc = self.proc, None
        if proc is not None:
            try:
                if proc.stdin is not None:
                    proc.stdin.close()
            except OSError:
                pass
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()


class PlumbingSource:
    """A git repository read through git's plumbing (the interface `vcrdt.gitio.importer` reads through).

    `walk` lists the objects the new commits bring (``rev-list --objects``, everything not
    reachable from what was imported before) and, when they are few enough, reads them all
    with one ``cat-file --batch`` run: a small incremental import then costs a fixed handful
    of git processes, not one round trip per object. Anything else is read on demand.
    """

    PREFETCH_LIMIT = 20_000  # objects read ahead in one run, at most
    PREFETCH_BYTES = 64 << 20  # and at most this much of their bodies

    def __init__(self, gitdir: GitDir) -> None:
        """Read `gitdir`."""
        self.dir = gitdir
        self.path = gitdir.path
        self.hash_len = gitdir.hash_len
        self.cat = CatFile(gitdir)
        self.cache: dict[bytes, tuple[str, bytes]] = {}

    def refs(self) -> dict[str, bytes]:
        """Every direct ref: full name to raw id."""
        return self.dir.refs()

    def head_branch_ref(self) -> str | None:
        """The full name of the branch HEAD is on, if any."""
        return self.dir.head_branch_ref()

    def read(self, gid: bytes) -> tuple[str, bytes]:
        """The type and raw body of an object (read ahead by `walk`, or by `CatFile.read`)."""
        hit = self.cache.get(gid)
        return hit if hit is not None else self.cat.read(gid)

    def peel_commit(self, gid: bytes) -> bytes | None:
        """The commit `gid` is or names (`CatFile.peel_commit`)."""
        return self.cat.peel_commit(gid)

    def walk(self, tips: Iterable[bytes], hide: Iterable[bytes]) -> list[bytes]:
        """Commits reachable from `tips` and not from `hide`, parents first; empty if git cannot walk them.

        The trees and blobs they bring are read ahead (`PREFETCH_LIMIT`).
        """
        lines = sorted({t.hex() for t in tips})
        if not lines:
            return []
        lines += sorted({"^" + h.hex() for h in hide})
        # The reader of the objects is started first: git starts it while rev-list walks.
        reader = self._reader()
        try:
            out = self.dir.git(
                "rev-list", "--objects", "--no-object-names", "--topo-order", "--ignore-missing", "--stdin",
                stdin="\n".join(lines).encode() + b"\n",
            )  # fmt: skip
        except GitInteropError:
            _stop(reader)
            return []  # a damaged history: imported ref by ref, whose checks name the object at fault
        ids = out.split()
        if len(ids) <= self.PREFETCH_LIMIT:
            self._prefetch(ids, reader)
        else:
            _stop(reader)
        if all(i in self.cache for i in (bytes.fromhex(x.decode("ascii")) for x in ids)):
            commits = [bytes.fromhex(x.decode("ascii")) for x in ids]
            commits = [g for g in commits if self.cache[g][0] == "commit"]
        else:
            try:
                out = self.dir.git("rev-list", "--topo-order", "--ignore-missing", "--stdin",
                                   stdin="\n".join(lines).encode() + b"\n")  # fmt: skip
            except GitInteropError:
                return []
            commits = [bytes.fromhex(x.decode("ascii")) for x in out.split()]
        commits.reverse()
        return commits

    def _reader(self) -> GitProcess | None:
        """A ``cat-file --batch`` run for `_prefetch`; None if git cannot be started (objects are read on demand)."""
        try:
            return GitProcess(
                ["--no-replace-objects", f"--git-dir={self.path}", "cat-file", "--batch"], stdin=True, stdout=True
            )
        except GitInteropError:
            return None

    def _prefetch(self, ids: list[bytes], proc: GitProcess | None) -> None:
        """Read the objects `ids` (hex lines) with the ``cat-file --batch`` run `proc` into the cache; stop it.

        At most `PREFETCH_BYTES` of bodies are kept: past that, the run is stopped and the
        rest is read on demand.
        """
        if proc is None:
            return  # read on demand instead, where each failure names its object
        if not ids:
            _stop(proc)
            return
        import threading

        stdin: IO[bytes] = proc.stdin  # type: ignore[assignment]
        stdout: IO[bytes] = proc.stdout  # type: ignore[assignment]

        def feed() -> None:
            try:
                stdin.write(b"\n".join(ids) + b"\n")
                stdin.close()
            except OSError:
                pass  # stopped early: the rest is read on demand

        writer = threading.Thread(target=feed, daemon=True)
        writer.start()
        kept = 0
        try:
            for _ in ids:
                parts = stdout.readline().split()
                if len(parts) != 3:
                    if len(parts) == 2:
                        continue  # "missing": read on demand, which says so
                    break
                size = int(parts[2])
                if kept + size > self.PREFETCH_BYTES:
                    break
                body = stdout.read(size + 1)
                if len(body) != size + 1:
                    break
                kept += size
                self.cache[bytes.fromhex(parts[0].decode("ascii"))] = (parts[1].decode("ascii"), body[:size])
        finally:
            proc.kill()
            writer.join()
            proc.wait()
            stdout.close()

    def close(self) -> None:
        """Stop the object reader."""
        self.cat.close()
        self.cache = {}


def _stop(proc: GitProcess | None) -> None:
    """End a ``cat-file`` run that was not used."""
    if proc is not None:
        proc.kill()
        proc.wait()
        proc.close()


def loose_path(objects: Path, gid: bytes) -> Path:
    """Where git keeps a loose object."""
    h = gid.hex()
    return objects / h[:2] / h[2:]


class LooseWriter:
    """Writes objects as loose files into an object directory (any hash), each once, atomically."""

    def __init__(self, objects: Path, hash_name: str) -> None:
        """Write into `objects` (a repository's ``objects``), naming objects by `hash_name`."""
        self.objects = objects
        self.hash_name = hash_name

    def has(self, gid: bytes) -> bool:
        """Tell whether the object is there as a loose file."""
        return loose_path(self.objects, gid).exists()

    def write(self, kind: str, body: bytes, gid: bytes) -> None:
        """Write one object (nothing if its file is there).

        Raises:
            GitInteropError: If the file cannot be written.
        """
        path = loose_path(self.objects, gid)
        if path.exists():
            return
        import tempfile
        import zlib

        data = zlib.compress(f"{kind} {len(body)}\0".encode() + body, 1)
        try:
            path.parent.mkdir(exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix="tmp_obj_", dir=path.parent)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(tmp, 0o444)
            os.replace(tmp, path)
        except OSError as exc:
            raise GitInteropError(f"cannot write git {kind} {gid.hex()}: {exc}") from None


def git_id(hash_name: str, kind: str, body: bytes) -> bytes:
    """The git id of an object in the hash `hash_name`."""
    import hashlib  # here: an import reads git ids, it does not compute them (OpenSSL not loaded for it)

    h = hashlib.new(hash_name)
    h.update(f"{kind} {len(body)}\0".encode())
    h.update(body)
    return h.digest()


def update_refs(gitdir: GitDir, changes: Mapping[str, tuple[bytes | None, bytes | None]]) -> None:
    """Move, create and delete refs in one ``git update-ref --stdin`` transaction: name to (old, new).

    Raises:
        GitInteropError: If git refuses (a ref moved meanwhile, a bad name).
    """
    zero = "0" * (2 * gitdir.hash_len)
    lines = []
    for name, (old, new) in sorted(changes.items()):
        was = old.hex() if old is not None else zero
        if new is None:
            lines.append(f"delete {name} {was}")
        else:
            lines.append(f"update {name} {new.hex()} {was}")
    if not lines:
        return
    stdin = ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape")
    try:
        gitdir.git("update-ref", "--stdin", stdin=stdin)
    except GitInteropError as exc:
        if not clear_stale_lock(gitdir.path, str(exc)):
            raise
        gitdir.git("update-ref", "--stdin", stdin=stdin)  # a dead writer's lock is gone: once more


def init_bare(path: Path, hash_name: str) -> GitDir:
    """Create a bare git repository of the object format `hash_name` at `path`.

    Raises:
        GitInteropError: If git cannot create it.
    """
    res = _run(["init", "-q", "--bare", f"--object-format={hash_name}", str(path)])
    if res.returncode != 0:
        raise GitInteropError(f"{path}: cannot create a git repository ({_first_line(res.stderr)})")
    return GitDir(path)


# git holds a ref's lock file for milliseconds (core.filesRefLockTimeout is 100 ms, the
# packed-refs lock's 1 s): one older than this has no live writer.
_STALE_LOCK_SECONDS = 1.5


def clear_stale_lock(gitdir: Path, message: str) -> bool:
    """Remove the lock file a writer killed while it set a ref left in `gitdir`; True if one went.

    The lock is the one `message` names (libgit2's "failed to lock file", git's "Unable to
    create"), inside `gitdir`. A lock younger than `_STALE_LOCK_SECONDS` is waited for until
    it is that old: a live git process removes its own by then, and one that is still there,
    the same file, was left by a dead one (a kill between making it and renaming it into
    place). git itself leaves that to the user.
    """
    import re
    import stat
    import time

    found = re.search(r"(?:failed to lock file|Unable to create) '([^']+\.lock)'", message)
    if found is None:
        return False
    lock = Path(found[1])
    try:
        if not lock.resolve().is_relative_to(gitdir.resolve()):
            return False
        st = lock.lstat()
    except FileNotFoundError:
        return True  # gone meanwhile: the writer finished
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode):
        return False
    age = time.time() - st.st_mtime
    if age < _STALE_LOCK_SECONDS:
        time.sleep(_STALE_LOCK_SECONDS - age)
        try:
            again = lock.lstat()
        except FileNotFoundError:
            return True
        if (again.st_ino, again.st_mtime_ns) != (st.st_ino, st.st_mtime_ns):
            return False  # another writer's lock: a live process
    try:
        lock.unlink()
    except FileNotFoundError:
        pass
    except OSError:
        return False
    return True
