"""How a client reaches a responder: in-process for a local path, or a child process speaking on stdio.

A transport takes one request (its frames) and returns a `FrameReader` over
the response. `LocalTransport` runs `respond` in this process on the other
repository (opened read-only for reading, writable only for a push);
`ProcessTransport` starts a command that speaks the protocol on its stdin and
stdout (``vcrdt serve --stdio PATH``, the same over ssh, or any ``--exec``
command) and sends requests over its pipes one after another.
"""

from __future__ import annotations

import os

from vcrdt.errors import MergeError, NotARepositoryError, ProtocolError
from vcrdt.sync.spawn import Child, end_peer, shell_argv, spawn_peer, take_early
from vcrdt.values import Value, value_class

TYPE_CHECKING = False  # as typing's (mypy reads it so)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from pathlib import Path
    from typing import Protocol

    from vcrdt.repo import Repository, Settings
    from vcrdt.sync.frames import FrameReader
    from vcrdt.sync.limits import SyncLimits
else:
    Protocol = object  # `Transport` is a protocol to the type checker only: typing is not loaded

# The frames, the responder and the repository are imported where first used: a command that
# starts its peer early (`vcrdt.sync.spawn.start_early`) from an ssh URL imports this module
# before anything else of the sync (``--exec CMD`` needs only the spawn module).
# pathlib too, where a local path is the remote: a session over a command never loads it. So
# are re, shlex and select, which only an ssh URL or a session's reads need, and collections
# (the abstract types are for the type checker): `--exec CMD` starts its peer having loaded
# none of them (about 20 million instructions of a client's start-up, all of it on the
# critical path of a small fetch, which waits for the peer's).

# A response is read from its pipe or socket in pieces of up to this many bytes.
READ_SIZE = 256 << 10


def buffered(read: Callable[[int], bytes]) -> Callable[[int], bytes]:
    """A `read(n)` that asks `read` for large pieces (it may return more than asked) and hands them out in `n`s.

    A frame is read as its 5-byte header, then its payload: without this, each is one system
    call (or one HTTP client call) on a stream of small objects.
    """
    buf = b""
    pos = 0

    def read_some(n: int) -> bytes:
        nonlocal buf, pos
        if pos >= len(buf):
            buf, pos = read(n), 0
            if len(buf) <= n:
                out, buf = buf, b""
                return out
        out = buf[pos : pos + n]
        pos += len(out)
        return out

    return read_some


class Transport(Protocol):
    """One session's way to the responder."""

    peer: str
    sent: int  # bytes of requests
    # Whether the peer answers in a process of its own, working while this one waits after sending
    # a request (what a session loads while it waits then costs no time).
    answers_apart: bool

    def start(self) -> None:
        """Begin reaching the peer, before the first request is built (a child process starts here)."""
        ...

    def request(self, frames: Iterable[bytes], *, write: bool = False) -> FrameReader:
        """Send one request; return a reader over its response (`write`: the request changes the peer)."""
        ...

    def end_requests(self) -> None:
        """No request follows (the last answer was read): the peer may end now, before `close`."""
        ...

    def close(self) -> None:
        """End the session."""
        ...


class _Counting:
    """Frames passed through, their bytes counted."""

    def __init__(self, owner: LocalTransport | ProcessTransport | HttpTransport, frames: Iterable[bytes]) -> None:
        self.owner = owner
        self.frames = frames

    def __iter__(self) -> Iterator[bytes]:
        for f in self.frames:
            self.owner.sent += len(f)
            yield f


class LocalTransport:
    """The responder in this process, on a repository at a local path."""

    answers_apart = False  # the answer is made as it is read, in this process

    def __init__(
        self, path: Path, settings: Settings, limits: SyncLimits, *, own_root: Path, verb: str = "sync"
    ) -> None:
        """Serve the repository at `path` (its work-tree directory).

        Raises:
            NotARepositoryError: If `path` holds no repository.
            MergeError: If it is this repository itself.
        """
        from vcrdt.paths import META_DIR

        if not (path / META_DIR).is_dir():
            what = "does not exist" if not path.exists() else "is not a vcrdt repository"
            raise NotARepositoryError(
                str(path),
                message=f"cannot {verb} {'from' if verb == 'fetch' else 'with'} {path}: it {what}",
                hint="name the other replica's work-tree directory (the one holding .vcrdt)",
            )
        self.path = path
        self.settings = settings
        self.limits = limits
        self.own_root = own_root
        self.verb = verb
        self.peer = str(path)
        self.sent = 0
        self._reader: Repository | None = None
        self._writer: Repository | None = None

    def source(self) -> Repository:
        """The other repository, opened read-only, one snapshot, each query within the time limit.

        Raises:
            MergeError: If it is this repository itself.
            BadRefNameError: If one of its ref names breaks a ref-name rule.
        """
        if self._reader is None:
            from vcrdt.repo import Repository

            repo = Repository.discover(self.path, self.settings, read_only=True, time_limit=self.limits.source_timeout)
            self._reader = repo
            if repo.root == self.own_root:
                raise MergeError(
                    f"cannot {self.verb} {'from' if self.verb == 'fetch' else 'with'} the repository itself"
                )
            self.peer = str(repo.root)
            from vcrdt.errors import BadRefNameError

            try:
                repo.refs.check_names()
            except BadRefNameError as exc:
                exc.hint = "the other replica has a ref this one does not accept; nothing was fetched"
                raise
        return self._reader

    def start(self) -> None:
        """Nothing to start: the other repository is opened by the first request."""

    def request(self, frames: Iterable[bytes], *, write: bool = False) -> FrameReader:
        """Run the responder on the request; return a reader over its frames as it yields them."""
        from vcrdt.sync import frames as F
        from vcrdt.sync.responder import respond

        if write:
            if self._writer is None:
                from vcrdt.repo import Repository

                self.source()
                self._writer = Repository.discover(self.path, self.settings)
            repo = self._writer
            # The read-only side reads one snapshot: the next read request must see this write.
            if self._reader is not None:
                self._reader.close()
                self._reader = None
        else:
            repo = self.source()
        request = F.FrameReader(F.reader_of(_Counting(self, frames)), self.limits, "client")
        return F.FrameReader(F.reader_of(respond(repo, request, self.limits)), self.limits, self.peer)

    def end_requests(self) -> None:
        """Nothing to do: the other repository is closed by `close`."""

    def close(self) -> None:
        """Close the other repository."""
        for repo in (self._reader, self._writer):
            if repo is not None:
                repo.close()
        self._reader = self._writer = None


class ProcessTransport:
    """A child process speaking the protocol on its stdin and stdout."""

    answers_apart = True

    def __init__(self, argv: list[str], peer: str, limits: SyncLimits) -> None:
        """Run `argv` at `start` (or the first request)."""
        self.argv = argv
        self.peer = peer
        self.limits = limits
        self.sent = 0
        self._proc: Child | None = None
        self._read: Callable[[int], bytes] | None = None

    def start(self) -> None:
        """Start the command now: its start-up (an interpreter, an ssh connection) overlaps this side's."""
        self._start()

    def _start(self) -> Child:
        if self._proc is None:
            self._proc = take_early(tuple(self.argv))
        if self._proc is None:
            try:
                self._proc = spawn_peer(self.argv)
            except OSError as exc:
                raise ProtocolError(f"cannot run {self.argv[0]!r} to reach {self.peer}: {exc.strerror}") from exc
        return self._proc

    def request(self, frames: Iterable[bytes], *, write: bool = False) -> FrameReader:
        """Write the request to the child's stdin; return a reader over its stdout."""
        proc = self._start()
        assert proc.stdin is not None and proc.stdout is not None
        try:
            for f in frames:
                self.sent += len(f)
                proc.stdin.write(f)
            proc.stdin.flush()
        except OSError as exc:
            code = proc.wait_for(5)
            status = f"it exited with status {code}" if code is not None else exc.strerror or str(exc)
            raise ProtocolError(f"{self.peer}: the connection closed while sending ({status})") from exc
        fd = proc.stdout.fileno()
        limit = self.limits.stall_timeout
        import select

        def read(n: int) -> bytes:
            # Straight from the pipe (never through a buffer select cannot see), waiting at most `limit`.
            ready, _, _ = select.select([fd], [], [], limit)
            if not ready:
                raise ProtocolError(
                    f"{self.peer}: sent nothing for {limit:g} s while an answer was due (limits.stall_timeout)"
                )
            data = os.read(fd, max(n, READ_SIZE))
            if not data:
                # The end of its output: a command that failed (ssh refused, no vcrdt there) says why on
                # stderr, which the user sees; name its exit status rather than a truncated frame.
                status = proc.wait_for(5)
                if status is None:
                    return data
                if status != 0:
                    raise ProtocolError(
                        f"{self.peer}: the command ended before answering (it exited with status {status})"
                    )
            return data

        if self._read is None:
            # One buffer for the whole session: what arrives after an answer's end belongs to the next.
            self._read = buffered(read)
        from vcrdt.sync.frames import FrameReader

        return FrameReader(self._read, self.limits, self.peer)

    def end_requests(self) -> None:
        """Close the child's stdin: it ends (``serve --stdio`` at the end of its input) while this side works on."""
        proc = self._proc
        if proc is not None and proc.stdin is not None:
            try:
                proc.stdin.close()
            except OSError:
                pass

    def close(self) -> None:
        """Close the child's stdin and wait for it (killed if it does not end)."""
        proc = self._proc
        if proc is None:
            return
        self._proc = None
        self._read = None
        end_peer(proc)


class HttpTransport:
    """A ``vcrdt serve`` over HTTP(S): each request a ``POST URL/sync`` (urllib3, one connection pool)."""

    answers_apart = True  # the server's worker sends the answer's head with its first frame

    def __init__(self, url: str, limits: SyncLimits, *, token: str | None = None) -> None:
        """Reach the repository served at `url` (``http[s]://host[:port]/NAME``).

        Args:
            url: The repository's URL (credentials in it are refused, never read).
            limits: ``stall_timeout`` bounds each wait for the server.
            token: The bearer token (``VCRDT_TOKEN`` or the remote's ``token.NAME``).

        Raises:
            ProtocolError: If the URL is malformed or carries credentials.
        """
        import urllib3

        try:
            parsed = urllib3.util.parse_url(url)
        except urllib3.exceptions.LocationParseError as exc:
            raise ProtocolError(f"malformed URL {url!r}") from exc
        if parsed.auth:
            raise ProtocolError(
                "credentials in an http(s) URL are not read",
                hint="give the token in VCRDT_TOKEN or `vcrdt config token.REMOTE TOKEN`, and drop it from the URL",
            )
        if not parsed.host:
            raise ProtocolError(f"malformed URL {url!r}: no host")
        self.peer = url
        self.endpoint = url.rstrip("/") + "/sync"
        self.limits = limits
        self.token = token
        self.sent = 0
        self._pool = urllib3.PoolManager(
            retries=False, timeout=urllib3.Timeout(connect=limits.stall_timeout, read=limits.stall_timeout)
        )
        self._resp: urllib3.BaseHTTPResponse | None = None

    def start(self) -> None:
        """Nothing to start: the first request connects."""

    def _release(self) -> None:
        if self._resp is not None:
            try:
                self._resp.drain_conn()
            except Exception:  # a broken connection is simply not reused
                pass
            self._resp.release_conn()
            self._resp = None

    def request(self, frames: Iterable[bytes], *, write: bool = False) -> FrameReader:
        """POST the request; return a reader over the streamed response (refusals raise).

        Raises:
            ProtocolError: If the server cannot be reached or refuses (401/403 with its reason).
        """
        import urllib3

        self._release()
        headers = {"Content-Type": "application/x-vcrdt-sync"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        counted = _Counting(self, frames)
        # A read request is small: sent with its length; a push streams, chunked.
        body: Iterable[bytes] | bytes = counted if write else b"".join(counted)
        try:
            resp = self._pool.request(
                "POST",
                self.endpoint,
                body=body,
                headers=headers,
                chunked=write,
                preload_content=False,
                redirect=False,
            )
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise ProtocolError(
                f"{self.peer}: sent nothing for {self.limits.stall_timeout:g} s while an answer was due "
                "(limits.stall_timeout)"
            ) from exc
        except urllib3.exceptions.HTTPError as exc:
            reason = getattr(exc, "reason", None) or exc
            raise ProtocolError(f"cannot reach {self.peer}: {reason}") from exc
        if resp.status != 200:
            text = resp.read(2000).decode("utf-8", "replace").strip().splitlines()
            resp.release_conn()
            line = (text[0] if text else "").removeprefix("error: ")
            hint = None
            if resp.status == 401:
                hint = "give a token in VCRDT_TOKEN or `vcrdt config token.REMOTE TOKEN` (`vcrdt token create`)"
            elif resp.status == 403:
                hint = "a push needs a token made with `vcrdt token create --write`"
            elif resp.status == 413:
                hint = "the server's limits.max_request_size bounds one request; nothing was changed there"
            elif resp.status == 503:
                hint = "the server is busy or cannot open the repository; nothing was changed there, try again"
            raise ProtocolError(f"{self.peer}: refused (HTTP {resp.status}): {line or resp.reason}", hint=hint)
        self._resp = resp
        peer = self.peer
        stall = self.limits.stall_timeout

        def read(n: int) -> bytes:
            try:
                return resp.read1(max(n, READ_SIZE))
            except urllib3.exceptions.ReadTimeoutError as exc:
                raise ProtocolError(
                    f"{peer}: sent nothing for {stall:g} s while an answer was due (limits.stall_timeout)"
                ) from exc
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise ProtocolError(f"{peer}: the connection broke while reading ({exc})") from exc

        from vcrdt.sync.frames import FrameReader

        return FrameReader(buffered(read), self.limits, peer)

    def end_requests(self) -> None:
        """Nothing to do: each request is its own HTTP exchange."""

    def close(self) -> None:
        """Close the connections."""
        self._release()
        self._pool.clear()


@value_class(frozen=True, init=False, repr=False, eq=False)
class Remote(Value):
    """Where a remote is: a local path, a command to run, or an http(s) URL."""

    __slots__ = ("kind", "display", "path", "argv")  # noqa: RUF023 (field order)

    kind: str  # "path", "command" or "http"
    display: str
    path: Path | None
    argv: tuple[str, ...]

    def __init__(self, kind: str, display: str, path: Path | None = None, argv: tuple[str, ...] = ()) -> None:
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "display", display)
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "argv", argv)


# Matched by `re.fullmatch`, which compiles them on first use: the module loads no re (see above).
_SSH_URL = r"ssh://(?:(?P<user>[^@/]+)@)?(?P<host>[^:/]+)(?::(?P<port>[0-9]+))?(?P<path>/.*)"
_SCP = r"(?P<user>[^@/:]+)@(?P<host>[^:/]+):(?P<path>.+)"


def parse_remote(
    url: str, cwd: str | os.PathLike[str], *, ssh: str | None = None, exec_cmd: str | None = None
) -> Remote:
    """Read a remote's URL: a path, ``ssh://[user@]host[:port]/path``, ``user@host:path``, http(s).

    Args:
        url: The URL or path (ignored with `exec_cmd`).
        cwd: What a relative path is relative to.
        ssh: The command that replaces ``ssh`` (``VCRDT_SSH``), split as a shell would.
        exec_cmd: A shell command speaking the protocol on stdin/stdout (``--exec``).

    Raises:
        ProtocolError: If an ssh URL is malformed.
    """
    if exec_cmd is not None:
        return Remote("command", exec_cmd, argv=shell_argv(exec_cmd))
    if url.startswith(("http://", "https://")):
        return Remote("http", url)
    import re

    m = re.fullmatch(_SSH_URL, url)
    scp = None if m is not None or url.startswith(("/", ".")) else re.fullmatch(_SCP, url)
    if m is None and url.startswith("ssh://"):
        raise ProtocolError(f"malformed ssh URL {url!r}", hint="write ssh://[user@]host[:port]/path")
    if m is not None or scp is not None:
        import shlex

        g = (m or scp).groupdict()  # type: ignore[union-attr]
        base = shlex.split(ssh) if ssh else ["ssh"]
        port = ["-p", g["port"]] if g.get("port") else []
        target = f"{g['user']}@{g['host']}" if g.get("user") else g["host"]
        remote_cmd = shlex.join(["vcrdt", "serve", "--stdio", g["path"]])
        return Remote("command", url, argv=(*base, *port, target, remote_cmd))
    from pathlib import Path

    return Remote("path", url, path=Path(cwd, url))  # `url` itself when it is absolute
