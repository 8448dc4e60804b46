"""The limits of `vcrdt serve` over HTTP, against a real server on 127.0.0.1.

A client that goes away mid-request, one that stalls, a body over the size limit and more
requests at once than a repository allows: each is answered (or dropped) cleanly, nothing is
half-stored, no ref moves, the server logs no traceback and keeps serving.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest

from tests.helpers.cli import CliRunner
from tests.helpers.http_serve import Urls, http_served
from tests.security.hostile_source import assert_refused, victim_state
from vcrdt.crdt.refstate import RefState
from vcrdt.sync import frames as F


def _srv(cli: CliRunner, mp: pytest.MonkeyPatch, **config: str) -> tuple[CliRunner, str]:
    """Repository `srv` with one commit and the `limits.*` config given; return it and a write token.

    The token is in VCRDT_TOKEN for the test's own clients.
    """
    cli.ok("init", "srv")
    srv = CliRunner(cli.cwd / "srv")
    srv.write("f.txt", "one\n")
    srv.ok("commit", "-A", "-m", "one")
    for key, value in config.items():
        srv.ok("config", f"limits.{key}", value)
    token = srv.ok("token", "create", "--write").out.strip()
    mp.setenv("VCRDT_TOKEN", token)
    return srv, token


def _open(url: str, token: str, *, push: bool, expect: bool = False, length: int | None = None) -> socket.socket:
    """A raw connection that has sent the headers of ``POST URL/sync`` (chunked unless `length`)."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=60)
    headers = [
        f"POST {parts.path}/sync HTTP/1.1",
        f"Host: {parts.netloc}",
        f"Authorization: Bearer {token}",
        "Content-Type: application/x-vcrdt-sync",
        f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked",
    ]
    if expect:
        headers.append("Expect: 100-continue")
    sock.sendall(("\r\n".join(headers) + "\r\n\r\n").encode())
    if expect:
        # Readiness: the server answers 100 once the request is in the app, its slot taken.
        line = _read_head(sock)
        assert line.startswith("HTTP/1.1 100"), line
    return sock


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n" % len(data) + data + b"\r\n"


def _read_head(sock: socket.socket) -> str:
    """Everything up to the end of a response head."""
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(4096)
        if not piece:
            break
        data += piece
    return data.decode("latin-1")


def _read_all(sock: socket.socket) -> str:
    data = b""
    while True:
        try:
            piece = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not piece:
            break
        data += piece
    return data.decode("latin-1")


def _half_push() -> bytes:
    """A push request's hello and state, and half of an object frame: a request cut off mid-way."""
    obj = os.urandom(200_000)
    frame = F.encode(F.OBJECT, F.encode_object_head(b"\x01" * 32, "blob", len(obj), chunked=False) + obj)  # type: ignore[arg-type]
    return F.hello("push") + F.encode(F.STATE, F.encode_state(RefState({}), {})) + frame[: len(frame) // 2]


def _eventually(attempt: Callable[[], bool], tries: int = 200) -> bool:
    """Whether `attempt` succeeds within a bounded number of tries (the server frees a slot asynchronously)."""
    for _ in range(tries):
        if attempt():
            return True
        time.sleep(0.05)
    return False


def _no_traceback(urls: Urls) -> None:
    assert "Traceback" not in urls.final_log and "Exception" not in urls.final_log, urls.final_log


@pytest.mark.hostile
def test_client_gone_mid_push_leaves_nothing_and_the_server_serves_on(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    srv, token = _srv(cli, monkeypatch)
    before = victim_state(srv.cwd)
    with http_served(srv.cwd) as urls:
        for _ in range(3):
            sock = _open(urls["srv"], token, push=True)
            sock.sendall(_chunk(_half_push()))
            sock.close()
        # The server goes on answering: a clone through it works.
        cli.ok("clone", urls["srv"], "c", "--quiet")
    _no_traceback(urls)
    assert victim_state(srv.cwd) == before
    srv.ok("fsck")
    assert (cli.cwd / "c" / "f.txt").read_text() == "one\n"


@pytest.mark.hostile
def test_client_gone_mid_response_is_dropped_quietly(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    """A client that asks for a large answer and hangs up while it streams."""
    srv, token = _srv(cli, monkeypatch)
    for i in range(4):
        srv.write(f"big{i}.bin", os.urandom(1 << 20))
    srv.ok("commit", "-A", "-m", "big")
    with http_served(srv.cwd) as urls:
        for _ in range(3):
            body = F.hello("refs", digest="00" * 32, want=True) + F.encode(F.END)
            sock = _open(urls["srv"], token, push=False, length=len(body))
            sock.sendall(body)
            assert _read_head(sock).startswith("HTTP/1.1 200")
            sock.close()
        cli.ok("clone", urls["srv"], "c", "--quiet")
    _no_traceback(urls)
    srv.ok("fsck")


@pytest.mark.hostile
@pytest.mark.parametrize("push", [True, False], ids=["push", "read"])
def test_stalled_client_is_given_up_with_408(cli: CliRunner, monkeypatch: pytest.MonkeyPatch, push: bool) -> None:
    srv, token = _srv(cli, monkeypatch, stall_timeout="1")
    before = victim_state(srv.cwd)
    with http_served(srv.cwd) as urls:
        part = _half_push()
        sock = _open(urls["srv"], token, push=push, length=None if push else len(part) * 2)
        sock.sendall(_chunk(part) if push else part)
        answer = _read_all(sock)  # the server gives up after 1 s; the socket waits up to 60
        sock.close()
        cli.ok("clone", urls["srv"], "c", "--quiet")
    assert answer.startswith("HTTP/1.1 408"), answer[:300]
    assert "sent nothing for 1 s (limits.stall_timeout)" in answer
    _no_traceback(urls)
    assert victim_state(srv.cwd) == before
    srv.ok("fsck")


@pytest.mark.hostile
def test_push_over_the_request_size_limit_is_413(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    srv, _ = _srv(cli, monkeypatch, max_request_size="256K")
    before = victim_state(srv.cwd)
    with http_served(srv.cwd) as urls:
        cli.ok("clone", urls["srv"], "c", "--quiet")
        c = CliRunner(cli.cwd / "c")
        c.write("big.bin", os.urandom(3 << 20))
        c.ok("commit", "-A", "-m", "big")
        r = c("push")
        assert_refused(r.code, r.err, "HTTP 413", "limits.max_request_size")
        assert victim_state(srv.cwd) == before
        # The server goes on answering.
        cli.ok("clone", urls["srv"], "c2", "--quiet")
    _no_traceback(urls)
    srv.ok("fsck")


@pytest.mark.hostile
def test_request_with_a_declared_length_over_the_limit_is_413(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    srv, token = _srv(cli, monkeypatch, max_request_size="64K")
    with http_served(srv.cwd) as urls:
        sock = _open(urls["srv"], token, push=False, length=1 << 20)
        answer = _read_all(sock)
        sock.close()
    assert answer.startswith("HTTP/1.1 413") and "limits.max_request_size" in answer, answer[:300]
    _no_traceback(urls)


@pytest.mark.hostile
def test_requests_over_max_sessions_get_503_then_the_slot_comes_back(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    srv, token = _srv(cli, monkeypatch, max_sessions="2")
    before = victim_state(srv.cwd)
    with http_served(srv.cwd) as urls:
        url = urls["srv"]
        held = [_open(url, token, push=True, expect=True) for _ in range(2)]
        r = cli("clone", url, "c")
        assert_refused(r.code, r.err, "HTTP 503", "limits.max_sessions (2)", "try again later")
        assert not (cli.cwd / "c").exists()
        # A client that hangs up gives its slot back.
        held.pop().close()

        def clones() -> bool:
            return cli("clone", url, "c", "--quiet").code == 0

        assert _eventually(clones)
        held.pop().close()
    assert victim_state(srv.cwd) == before
    _no_traceback(urls)


def test_max_sessions_config_is_checked(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    cli.ok("init", "srv")
    srv = CliRunner(cli.cwd / "srv")
    srv.ok("config", "limits.max_sessions", "0")
    r = srv("serve", "--port", "0", str(srv.cwd))
    assert r.code == 1 and "config limits.max_sessions = '0': not a whole number of at least 1" in r.err, r.err
