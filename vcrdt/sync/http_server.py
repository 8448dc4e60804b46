"""``vcrdt serve`` over HTTP: a Starlette app answering ``POST /NAME/sync`` for each served repository.

The body of a request is the request's frames (docs/protocol.md); the response body is
the response's frames, streamed from an async generator as the synchronous core
(`vcrdt.sync.responder.respond_safely`) yields them in a worker thread. Nothing is kept
between requests: each opens its repository (read-only, or writable for a ``push``),
checks the bearer token against that repository's tokens (`vcrdt.sync.tokens`), answers,
and closes it. A refused request gets 401 or 403 with a one-line text body and nothing
changes. The request body is capped at ``limits.max_request_size`` and every wait for the
client's next bytes at ``limits.stall_timeout``.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread
from anyio.streams.memory import MemoryObjectSendStream
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from vcrdt.errors import LimitError, ProtocolError, VcrdtError
from vcrdt.repo import Repository, Settings
from vcrdt.sync import frames as F
from vcrdt.sync import tokens
from vcrdt.sync.frames import FrameReader
from vcrdt.sync.limits import SyncLimits
from vcrdt.sync.responder import respond_safely

CONTENT_TYPE = "application/x-vcrdt-sync"
# Response frames are sent in pieces of about this many bytes.
BATCH = 256 << 10


@dataclass(frozen=True, slots=True)
class Served:
    """One repository the server answers for."""

    name: str
    root: Path
    limits: SyncLimits


def served(paths: list[Path], settings: Settings) -> dict[str, Served]:
    """The repositories at `paths`, each under its directory name, their limits read now.

    Raises:
        NotARepositoryError: If a path holds no repository.
        ProtocolError: If two have the same directory name.
    """
    out: dict[str, Served] = {}
    for path in paths:
        repo = Repository.discover(path, settings)
        try:
            name = repo.root.name
            if name in out:
                raise ProtocolError(
                    f"cannot serve {repo.root} and {out[name].root}: both would be served as {name!r}",
                    hint="each repository is served under its directory name",
                )
            out[name] = Served(name, repo.root, SyncLimits.from_config(repo))
        finally:
            repo.close()
    return out


class _Deny:
    """The worker's refusal, sent before any frame."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message


class _Body:
    """The request body as a blocking `read(n)` for the worker thread, pulled from the event loop.

    When reading fails (the body is over the limit, the client stalled or went away) `status`
    says how to answer, if nothing was sent yet: 413, 408, or 0 for nobody to answer.
    """

    def __init__(self, chunks: AsyncIterator[bytes], limits: SyncLimits) -> None:
        self.chunks = chunks
        self.limits = limits
        self.buf = b""
        self.pos = 0
        self.total = 0
        self.done = False
        self.status: int | None = None

    async def _next(self) -> bytes:
        with anyio.fail_after(self.limits.stall_timeout):
            try:
                return await self.chunks.__anext__()
            except StopAsyncIteration:
                return b""

    def read(self, n: int) -> bytes:
        while self.pos >= len(self.buf):
            if self.done:
                return b""
            try:
                chunk = anyio.from_thread.run(self._next)
            except TimeoutError as exc:
                self.status = 408
                raise ProtocolError(
                    f"client: sent nothing for {self.limits.stall_timeout:g} s (limits.stall_timeout)"
                ) from exc
            except ClientDisconnect as exc:
                self.status = 0
                raise ProtocolError("client: went away before the request ended") from exc
            if not chunk:
                self.done = True
                return b""
            self.total += len(chunk)
            if self.total > self.limits.max_request_size:
                self.status = 413
                raise LimitError(f"request body over limits.max_request_size ({self.limits.max_request_size} bytes)")
            self.buf, self.pos = chunk, 0
        out = self.buf[self.pos : self.pos + n]
        self.pos += len(out)
        return out

    def unread(self, data: bytes) -> None:
        """Put `data` back before what is left."""
        self.buf, self.pos = data + self.buf[self.pos :], 0


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else ""


class _SyncResponse(Response):
    """Runs one request in a worker thread and streams its frames (or sends its refusal)."""

    def __init__(
        self,
        entry: Served,
        settings: Settings,
        token: str | None,
        public: bool,
        body: _Body,
        release: Callable[[], None],
    ) -> None:
        self.entry = entry
        self.settings = settings
        self.token = token
        self.public = public
        self.body_reader = body
        self.release = release
        self.background = None

    def _work(self, out: MemoryObjectSendStream[Any]) -> None:
        """In the worker thread: read the hello, open the repository, check the token, answer."""

        def send(item: object) -> None:
            anyio.from_thread.run(out.send, item)

        entry, body = self.entry, self.body_reader
        try:
            with out:
                try:
                    reader = FrameReader(body.read, entry.limits, "client")
                    first = reader.next(allow_eof=True)
                    if first is None or first.kind != F.HELLO:
                        send(_Deny(400, "a request must start with a hello frame"))
                        return
                    _, fields = F.read_hello(first, "client")
                except VcrdtError as exc:
                    if body.status != 0:
                        send(_Deny(body.status or 400, str(exc)))
                    return
                write = fields.get("op") == "push"
                try:
                    repo = Repository(
                        entry.root,
                        self.settings,
                        read_only=not write,
                        time_limit=None if write else entry.limits.source_timeout,
                    )
                except VcrdtError as exc:
                    send(_Deny(503, f"cannot open {entry.name}: {exc}"))
                    return
                try:
                    refused = tokens.check(repo, self.token, write=write, public=self.public)
                    if refused is not None:
                        send(_Deny(*refused))
                        return
                    body.unread(F.encode(first.kind, first.payload))
                    request = FrameReader(body.read, entry.limits, "client")
                    pending: list[bytes] = []
                    size = 0
                    started = False
                    for frame in respond_safely(repo, request, entry.limits, writable=write):
                        if not started and body.status is not None and frame[4] == F.ERROR:
                            # The body could not be read (a request answers only once it has read
                            # it whole): an HTTP refusal, or nobody left to tell.
                            if body.status:
                                send(_Deny(body.status, frame[5:].decode("utf-8", "replace")))
                            return
                        started = True
                        pending.append(frame)
                        size += len(frame)
                        if size >= BATCH:
                            send(b"".join(pending))
                            pending, size = [], 0
                    if pending:
                        send(b"".join(pending))
                finally:
                    repo.close()
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            return  # the client went away: nothing more to send

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer: a refusal as a one-line text body, or the response frames as they come.

        Once the answer streams, a client that goes away cancels it (the worker stops at its
        next frame); the request's slot (`limits.max_sessions`) is given back at the end.
        """
        try:
            await self._answer(scope, receive, send)
        finally:
            self.release()

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        tx, rx = anyio.create_memory_object_stream[Any](max_buffer_size=4)
        async with anyio.create_task_group() as tg:

            async def watch() -> None:
                # The request was read whole before the first frame: what comes now is the end.
                while (await receive())["type"] != "http.disconnect":
                    pass
                tg.cancel_scope.cancel()

            tg.start_soon(lambda: anyio.to_thread.run_sync(self._work, tx, abandon_on_cancel=True))
            async with rx:
                started = False
                async for item in rx:
                    if isinstance(item, _Deny):
                        headers = {"WWW-Authenticate": "Bearer"} if item.status == 401 else {}
                        line = item.message.replace("\n", " ")
                        await PlainTextResponse(f"error: {line}\n", item.status, headers)(scope, receive, send)
                        return
                    if not started:
                        started = True
                        tg.start_soon(watch)
                        await send(
                            {
                                "type": "http.response.start",
                                "status": 200,
                                "headers": [(b"content-type", CONTENT_TYPE.encode())],
                            }
                        )
                    await send({"type": "http.response.body", "body": item, "more_body": True})
                if not started:
                    await send({"type": "http.response.start", "status": 200, "headers": []})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                tg.cancel_scope.cancel()


def make_app(repos: dict[str, Served], settings: Settings, *, public: bool = False) -> Starlette:
    """The ASGI app serving `repos` (`served`): ``POST /NAME/sync``.

    Args:
        repos: The served repositories by name.
        settings: How each request opens its repository.
        public: Anonymous reads are allowed (pushes always need a write token).
    """
    # Requests being answered, by repository (this process only: nothing of a session is kept).
    active = dict.fromkeys(repos, 0)

    async def sync(request: Request) -> Response:
        entry = repos.get(request.path_params["name"])
        if entry is None:
            return PlainTextResponse(f"error: no repository {request.path_params['name'][:80]!r} here\n", 404)
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > entry.limits.max_request_size:
            return PlainTextResponse(
                f"error: request body over limits.max_request_size ({entry.limits.max_request_size} bytes)\n", 413
            )
        if active[entry.name] >= entry.limits.max_sessions:
            return PlainTextResponse(
                f"error: {entry.name} is answering limits.max_sessions ({entry.limits.max_sessions}) requests "
                "already; try again later\n",
                503,
                {"Retry-After": "1"},
            )
        active[entry.name] += 1

        def release() -> None:
            active[entry.name] -= 1

        token = _bearer(request)
        body = _Body(request.stream().__aiter__(), entry.limits)
        return _SyncResponse(entry, settings, token, public, body, release)

    return Starlette(routes=[Route("/{name}/sync", sync, methods=["POST"])])


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on `host`:`port` (0: any free port).

    Raises:
        ProtocolError: If the address cannot be bound.
    """
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        raise ProtocolError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return sock


def run(app: Starlette, sock: socket.socket) -> None:
    """Serve `app` on the bound socket `sock` until interrupted (uvicorn)."""
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])
