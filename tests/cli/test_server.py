"""The command server, through real processes: same results as in-process, per-request state, lifecycle."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from vcrdt.cli import server

Env = dict[str, str]


def _pids(runtime: Path) -> list[int]:
    out = []
    for lock in (runtime / "vcrdt").glob("*.lock"):
        text = lock.read_text().strip()
        if text.isdigit():
            out.append(int(text))
    return out


@pytest.fixture
def env() -> Iterator[Env]:
    """The server turned on, with a private socket directory; every server started is killed afterwards."""
    # Unix socket paths are limited to about 100 bytes: a short directory, not pytest's tmp_path.
    runtime = Path(tempfile.mkdtemp(prefix="vs-", dir="/tmp"))
    os.chmod(runtime, 0o700)
    e = {k: v for k, v in os.environ.items() if k != "VCRDT_NO_SERVER"}
    e.update(XDG_RUNTIME_DIR=str(runtime), VCRDT_AUTHOR_NAME="Ada", VCRDT_AUTHOR_EMAIL="ada@example.com")
    try:
        yield e
    finally:
        for pid in _pids(runtime):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        shutil.rmtree(runtime, ignore_errors=True)


def vcrdt(env: Env, cwd: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "vcrdt", *args],
        cwd=cwd,
        env=env,
        input=stdin.encode() if stdin is not None else None,
        capture_output=True,
        timeout=60,
        check=False,
    )


def server_socket(env: Env) -> Path:
    return Path(server.socket_path(str(Path(env["XDG_RUNTIME_DIR"]) / "vcrdt"), server.code_stamp()))


def start_server(env: Env, cwd: Path) -> int:
    """Run one command (which starts the server) and wait until the server listens; return its pid."""
    vcrdt(env, cwd, "--version")
    sock = server_socket(env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if sock.exists():
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(str(sock))
                pids = _pids(Path(env["XDG_RUNTIME_DIR"]))
                assert len(pids) == 1
                return pids[0]
            except OSError:
                pass
            finally:
                s.close()
        time.sleep(0.05)
    raise AssertionError("the server did not start")


@pytest.fixture
def work(env: Env, tmp_path: Path) -> Path:
    """A repository with two commits, built without the server."""
    root = tmp_path / "work"
    root.mkdir()
    plain = env | {"VCRDT_NO_SERVER": "1"}
    for args in (("init",), ("commit", "-A", "-m", "one")):
        if args[0] == "commit":
            (root / "a.txt").write_text("a\n")
            (root / "sub").mkdir()
            (root / "sub" / "b.txt").write_text("b\n")
        assert vcrdt(plain, root, *args).returncode == 0
    (root / "a.txt").write_text("a2\n")
    assert vcrdt(plain, root, "commit", "-m", "two").returncode == 0
    return root


@pytest.mark.parametrize(
    "args",
    [
        ("status",),
        ("log",),
        ("log", "--oneline", "--json"),
        ("show", "HEAD~1"),
        ("diff", "HEAD~1"),
        ("log", "nosuchrev"),  # an error: exit 1
        ("nosuch",),  # a usage error: exit 2
        ("status", "--bogus"),
        ("--version",),
        ("--help",),
    ],
)
def test_server_gives_the_same_results_as_in_process(env: Env, work: Path, args: tuple[str, ...]) -> None:
    start_server(env, work)
    served = vcrdt(env, work, *args)
    plain = vcrdt(env | {"VCRDT_NO_SERVER": "1"}, work, *args)
    assert (served.returncode, served.stdout, served.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    assert served.returncode == {"nosuchrev": 1, "nosuch": 2, "--bogus": 2}.get(args[-1], 0)


def test_environment_cwd_and_umask_come_from_the_client(env: Env, work: Path) -> None:
    pid = start_server(env, work)
    (work / "sub" / "c.txt").write_text("c\n")
    assert vcrdt(env, work / "sub", "add", "c.txt").returncode == 0  # relative to the client's directory
    r = vcrdt(env | {"VCRDT_AUTHOR_NAME": "Grace", "TZ": "Asia/Kolkata"}, work, "commit", "-m", "three")
    assert r.returncode == 0, r.stderr
    log = vcrdt(env, work, "log", "-n", "1").stdout.decode()
    assert "Author: Grace <ada@example.com>" in log and "+0530" in log
    assert vcrdt(env, work, "rm", "sub/c.txt").returncode == 0
    assert vcrdt(env, work, "commit", "-m", "four").returncode == 0
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, sys; os.umask(0o077); from vcrdt.cli import main;"
            " sys.argv[1:] = ['restore', '--source', 'HEAD~1', 'sub/c.txt']; main()",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert (work / "sub" / "c.txt").stat().st_mode & 0o777 == 0o600
    assert _pids(Path(env["XDG_RUNTIME_DIR"])) == [pid]  # all of it on the one server


def test_a_dead_socket_is_ignored(env: Env, work: Path) -> None:
    sock = server_socket(env)
    sock.parent.mkdir(mode=0o700, exist_ok=True)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(sock))  # bound, never listening: connecting is refused
    dead.close()
    r = vcrdt(env, work, "status")
    assert r.returncode == 0 and r.stdout.startswith(b"On branch main")
    start_server(env, work)  # and a new server replaced it


def test_a_stale_stamp_is_never_used(env: Env, tmp_path: Path, work: Path) -> None:
    # A private copy of the package, so the test can edit it.
    copy = tmp_path / "pkg"
    shutil.copytree(
        Path(server.__file__).parents[2] / "vcrdt", copy / "vcrdt", ignore=shutil.ignore_patterns("__pycache__")
    )
    env = env | {"PYTHONPATH": str(copy)}
    probe = [sys.executable, "-c", "import vcrdt.cli.server as s; print(s.code_stamp())"]
    old_stamp = subprocess.run(probe, cwd=work, env=env, capture_output=True, text=True, check=True).stdout.strip()
    vcrdt(env, work, "--version")
    old_sock = Path(env["XDG_RUNTIME_DIR"]) / "vcrdt" / f"{old_stamp}.sock"
    deadline = time.monotonic() + 30
    while not old_sock.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert old_sock.exists()
    init = copy / "vcrdt" / "__init__.py"
    init.write_text(init.read_text().replace('__version__ = "', '__version__ = "9.9.9+'))
    r = vcrdt(env, work, "--version")
    assert r.stdout.startswith(b"vcrdt 9.9.9+"), r.stdout
    new_stamp = subprocess.run(probe, cwd=work, env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert new_stamp != old_stamp
    # The old server notices that its code changed and goes away.
    deadline = time.monotonic() + server.CHECK_SECONDS * 3 + 10
    while old_sock.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not old_sock.exists()


def _interrupted_merge(env: Env, work: Path) -> tuple[int, bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "vcrdt", "merge-file", "fifo", "b", "b"],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    time.sleep(1.5)  # the command is now blocked opening the FIFO
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    return proc.returncode, err


def test_sigint_reaches_the_command(env: Env, work: Path) -> None:
    os.mkfifo(work / "fifo")
    (work / "b").write_text("x\n")
    in_process = _interrupted_merge(env | {"VCRDT_NO_SERVER": "1"}, work)
    start_server(env, work)
    assert _interrupted_merge(env, work) == in_process
    assert in_process[0] == 130


def test_no_server_when_turned_off(env: Env, work: Path) -> None:
    r = vcrdt(env | {"VCRDT_NO_SERVER": "1"}, work, "status")
    assert r.returncode == 0
    time.sleep(0.5)
    runtime = Path(env["XDG_RUNTIME_DIR"]) / "vcrdt"
    assert not runtime.exists() or not any(runtime.iterdir())


def test_concurrent_clients(env: Env, work: Path) -> None:
    start_server(env, work)
    expected = vcrdt(env | {"VCRDT_NO_SERVER": "1"}, work, "log", "--oneline").stdout
    results: list[bytes] = []

    def one() -> None:
        results.append(vcrdt(env, work, "log", "--oneline").stdout)

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 8


def test_colour_follows_the_client_terminal(env: Env, work: Path) -> None:
    start_server(env, work)
    (work / "a.txt").write_text("changed\n")
    tty_env = {k: v for k, v in env.items() if k != "NO_COLOR"} | {"TERM": "xterm-256color"}
    child = pexpect.spawn(sys.executable, ["-m", "vcrdt", "diff"], cwd=str(work), env=tty_env, timeout=60)
    out = child.read()
    child.close()
    assert child.exitstatus == 0 and b"\x1b[" in out
    piped = vcrdt(tty_env, work, "diff")
    assert piped.returncode == 0 and b"\x1b[" not in piped.stdout and b"changed" in piped.stdout
