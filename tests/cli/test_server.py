"""The command server, through real processes: same results as in-process, per-request state, lifecycle."""

from __future__ import annotations

import errno
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pexpect
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vcrdt.daemon import native, protocol, stdio

Env = dict[str, str]
# The command line of each client: the Python console entry, and the native client (built once).
CLIENTS = ("python", "native")
_client_cmd: dict[str, list[str]] = {"python": [sys.executable, "-m", "vcrdt"]}


@pytest.fixture(scope="session")
def native_client(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The native client built for this interpreter and package (with the compiler `make` uses)."""
    if native.find_compiler() is None:
        pytest.skip("no C compiler: the native client cannot be built here")
    return str(native.build(tmp_path_factory.mktemp("native") / "vcrdt"))


@pytest.fixture(params=CLIENTS)
def client(request: pytest.FixtureRequest) -> str:
    """Run the test once with each client; `vcrdt()` then uses it."""
    name = str(request.param)
    if name == "native":
        _client_cmd["native"] = [request.getfixturevalue("native_client")]
    return name


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


def vcrdt(
    env: Env, cwd: Path, *args: str, stdin: str | None = None, client: str = "python"
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*_client_cmd[client], *args],
        cwd=cwd,
        env=env,
        input=stdin.encode() if stdin is not None else None,
        capture_output=True,
        timeout=60,
        check=False,
    )


def server_socket(env: Env) -> Path:
    return Path(protocol.socket_path(str(Path(env["XDG_RUNTIME_DIR"]) / "vcrdt"), protocol.socket_key()))


def start_server(env: Env, cwd: Path, client: str = "python") -> int:
    """Start the server with `vcrdt daemon start` (it returns once the server listens); return its pid."""
    r = vcrdt(env, cwd, "daemon", "start", "--json", client=client)
    assert r.returncode == 0, r.stderr
    pid = int(json.loads(r.stdout)["pid"])
    assert _pids(Path(env["XDG_RUNTIME_DIR"])) == [pid]
    return pid


# Runs a command line as a child subreaper and prints how many processes it left running (a
# server it started becomes our child when it exits), then kills them.
_LEFT_BEHIND = """
import ctypes, os, signal, subprocess, sys
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
with open(f"/proc/{os.getpid()}/task/{os.getpid()}/children") as f:
    left = [int(pid) for pid in f.read().split()]
for pid in left:
    os.kill(pid, signal.SIGKILL)
print(code, len(left))
"""


def left_behind(env: Env, cwd: Path, *args: str, client: str = "python") -> tuple[int, int]:
    """Run one command; return its exit code and the number of processes it left running."""
    done = subprocess.run(
        [sys.executable, "-c", _LEFT_BEHIND, *_client_cmd[client], *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        timeout=120,
        check=True,
    )
    code, left = done.stdout.split()
    return int(code), int(left)


def _config(path: Path, daemon: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"[core]\ndaemon = {daemon}\n")


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
def test_server_gives_the_same_results_as_in_process(env: Env, work: Path, args: tuple[str, ...], client: str) -> None:
    start_server(env, work)
    served = vcrdt(env, work, *args, client=client)
    plain = vcrdt(env | {"VCRDT_NO_SERVER": "1"}, work, *args, client=client)
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


def _server_pid(runtime: Path, old: int | None = None) -> int:
    """Wait until one server (other than `old`) listens in `runtime`; return its pid."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pids = [pid for pid in _pids(runtime) if pid != old and _running(pid)]
        if pids and any((runtime / "vcrdt").glob("*.sock")):
            return pids[0]
        time.sleep(0.05)
    raise AssertionError("no server started")


def _running(pid: int) -> bool:
    """Whether process `pid` runs (a zombie, exited but not yet reaped, does not count)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_changed_code_is_never_run(env: Env, tmp_path: Path, work: Path) -> None:
    # A private copy of the package, so the test can edit it.
    copy = tmp_path / "pkg"
    shutil.copytree(protocol.package_dir(), copy / "vcrdt", ignore=shutil.ignore_patterns("__pycache__"))
    # A command that finds no server starts one (so the new code gets a server of its own).
    _config(tmp_path / "config" / "vcrdt" / "config.toml", "true")
    env = {k: v for k, v in env.items() if k != "CI"} | {
        "PYTHONPATH": str(copy),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "VCRDT_SERVER_TIMEOUT": "60",
    }
    runtime = Path(env["XDG_RUNTIME_DIR"])
    vcrdt(env, work, "--version")
    old = _server_pid(runtime)
    init = copy / "vcrdt" / "__init__.py"
    init.write_text(init.read_text().replace('__version__ = "', '__version__ = "9.9.9+'))
    r = vcrdt(env, work, "--version")
    assert r.stdout.startswith(b"vcrdt 9.9.9+"), r.stdout
    # The old server noticed on that request that its code changed, and went away at once.
    deadline = time.monotonic() + 10
    while _running(old) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(old)
    new = _server_pid(runtime, old)
    assert new != old
    assert vcrdt(env, work, "--version").stdout.startswith(b"vcrdt 9.9.9+")
    # A file that is not Python source does not count; a new module does.
    (copy / "vcrdt" / "notes.txt").write_text("x")
    assert vcrdt(env, work, "--version").returncode == 0
    assert _running(new)
    (copy / "vcrdt" / "extra.py").write_text("")
    assert vcrdt(env, work, "--version").returncode == 0
    deadline = time.monotonic() + 10
    while _running(new) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(new)


def _sigint_as_at_a_terminal() -> None:
    """Give the command SIGINT's default action, as a shell gives a foreground command.

    A test run started in the background of a non-interactive shell (``make test &``) inherits
    SIGINT ignored, and Python then never installs its handler: ^C would reach no one.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interrupt(proc: subprocess.Popen[bytes]) -> None:
    """Press ^C until `proc` ends.

    A SIGINT that lands between the command opening the FIFO and its read()
    blocking is only noted by Python (a flag checked between bytecodes), and
    the read then blocks anyway: press again, as a person would.
    """
    for _ in range(30):
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=1)
            return
        except subprocess.TimeoutExpired:
            continue


def _interrupted_merge(env: Env, work: Path, client: str = "python") -> tuple[int, bytes]:
    proc = subprocess.Popen(
        [*_client_cmd[client], "merge-file", "fifo", "b", "b"],
        cwd=work,
        env=env | {"VCRDT_SERVER_TIMEOUT": "60"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_sigint_as_at_a_terminal,
    )
    writer = _writer_when_read(work / "fifo")  # the command is now blocked reading the FIFO
    try:
        _interrupt(proc)
        _, err = proc.communicate(timeout=30)
    finally:
        os.close(writer)
    return proc.returncode, err


def test_sigint_reaches_the_command(env: Env, work: Path, client: str) -> None:
    os.mkfifo(work / "fifo")
    (work / "b").write_text("x\n")
    in_process = _interrupted_merge(env | {"VCRDT_NO_SERVER": "1"}, work, client)
    start_server(env, work)
    assert _interrupted_merge(env, work, client) == in_process
    assert in_process[0] == 130


def _interrupt_blocked(env: Env, work: Path, native_client: str) -> str:
    """Run the native client on a command that blocks, interrupt it; return the program it ran as."""
    proc = subprocess.Popen(
        [native_client, "merge-file", "fifo", "b", "b"],
        cwd=work,
        env=env | {"VCRDT_SERVER_TIMEOUT": "60"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_sigint_as_at_a_terminal,
    )
    writer = _writer_when_read(work / "fifo")  # the command runs (here or in a server child), reading the FIFO
    try:
        program = os.readlink(f"/proc/{proc.pid}/exe")
        _interrupt(proc)
        assert proc.wait(timeout=30) == 130
    finally:
        os.close(writer)
    return program


def test_the_native_client_is_served_without_python(env: Env, work: Path, native_client: str) -> None:
    os.mkfifo(work / "fifo")
    (work / "b").write_text("x\n")
    # No server yet: the client becomes the Python entry point and runs the command itself.
    assert Path(_interrupt_blocked(env, work, native_client)).resolve() == Path(sys.executable).resolve()
    # With a server, the client stays the native program while a server child runs the command.
    start_server(env, work)
    assert Path(_interrupt_blocked(env, work, native_client)).resolve() == Path(native_client).resolve()
    # Turned off, it runs in Python again.
    plain = env | {"VCRDT_NO_SERVER": "1"}
    assert Path(_interrupt_blocked(plain, work, native_client)).resolve() == Path(sys.executable).resolve()


def test_no_server_when_turned_off(env: Env, work: Path) -> None:
    _config(work / ".vcrdt" / "config.toml", "true")
    assert left_behind(env | {"VCRDT_NO_SERVER": "1"}, work, "status") == (0, 0)


@pytest.mark.parametrize("args", [("status",), ("--version",), ("commit", "-m", "nothing"), ("nosuch",)])
def test_no_command_starts_a_server_unless_asked(env: Env, work: Path, args: tuple[str, ...], client: str) -> None:
    env = {k: v for k, v in env.items() if k != "CI"}
    code, left = left_behind(env, work, *args, client=client)
    assert left == 0 and code == {"status": 0, "--version": 0, "commit": 1, "nosuch": 2}[args[0]]
    assert not (Path(env["XDG_RUNTIME_DIR"]) / "vcrdt").exists() or not _pids(Path(env["XDG_RUNTIME_DIR"]))


def test_core_daemon_in_config_starts_one(env: Env, work: Path, tmp_path: Path, client: str) -> None:
    env = {k: v for k, v in env.items() if k != "CI"} | {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    global_config = tmp_path / "config" / "vcrdt" / "config.toml"
    repo_config = work / ".vcrdt" / "config.toml"
    _config(global_config, "true")
    assert left_behind(env, work, "status", client=client) == (0, 1)
    assert left_behind(env, tmp_path, "--version", client=client) == (0, 1)  # outside any repository
    assert left_behind(env | {"CI": "true"}, work, "status", client=client) == (0, 0)  # never under CI
    _config(repo_config, "false")  # the repository's setting wins
    assert left_behind(env, work / "sub", "status", client=client) == (0, 0)
    _config(global_config, "false")
    _config(repo_config, '"true"')  # as `vcrdt config core.daemon true` writes it
    assert left_behind(env, work / "sub", "status", client=client) == (0, 1)


def test_daemon_start_status_stop(env: Env, work: Path, client: str) -> None:
    r = vcrdt(env, work, "daemon", "status", client=client)
    assert (r.returncode, r.stdout) == (3, b"command server not running\n")
    r = vcrdt(env, work, "daemon", "start", client=client)
    assert r.returncode == 0 and r.stdout.startswith(b"command server started (pid "), r.stderr
    pid = _pids(Path(env["XDG_RUNTIME_DIR"]))[0]
    assert (
        vcrdt(env, work, "daemon", "start", client=client).stdout
        == f"command server already running (pid {pid})\n".encode()
    )
    assert vcrdt(env, work, "status", client=client).returncode == 0  # served: the server watches the tree
    r = vcrdt(env, work, "daemon", "status", "--json", client=client)
    info = json.loads(r.stdout)
    assert r.returncode == 0 and info["pid"] == pid and info["running"] and info["idle_exit"] is None
    assert info["trees"] == [str(work)] and info["rss"]["server"] > 0 and info["rss"]["spare"] > 0
    assert info["uptime"] >= 0 and _running(info["spare"])
    text = vcrdt(env, work, "daemon", "status", client=client).stdout.decode()
    assert f"pid {pid}" in text and "memory: " in text and "uptime: " in text and f"  {work}" in text
    r = vcrdt(env, work, "daemon", "stop", client=client)
    assert (r.returncode, r.stdout) == (0, f"command server stopped (pid {pid})\n".encode())
    # When stop returns, the server, its spare and its socket are gone.
    assert not server_socket(env).exists() and not _running(pid) and not _running(info["spare"])
    assert vcrdt(env, work, "daemon", "stop", client=client).stdout == b"command server not running\n"
    assert vcrdt(env, work, "daemon", "status", client=client).returncode == 3


def test_concurrent_clients(env: Env, work: Path, client: str) -> None:
    start_server(env, work)
    expected = vcrdt(env | {"VCRDT_NO_SERVER": "1"}, work, "log", "--oneline").stdout
    results: list[bytes] = []

    def one() -> None:
        results.append(vcrdt(env, work, "log", "--oneline", client=client).stdout)

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 8


def test_colour_follows_the_client_terminal(env: Env, work: Path, client: str) -> None:
    start_server(env, work)
    (work / "a.txt").write_text("changed\n")
    tty_env = {k: v for k, v in env.items() if k != "NO_COLOR"} | {"TERM": "xterm-256color"}
    program, *args = _client_cmd[client]
    child = pexpect.spawn(program, [*args, "diff"], cwd=str(work), env=tty_env, timeout=60)
    out = child.read()
    child.close()
    assert child.exitstatus == 0 and b"\x1b[" in out
    piped = vcrdt(tty_env, work, "diff", client=client)
    assert piped.returncode == 0 and b"\x1b[" not in piped.stdout and b"changed" in piped.stdout


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"LANG": "C"},
        {"LANG": "POSIX", "LC_ALL": ""},
        {"LC_ALL": "C.utf8"},
        {"LANG": "xx_YY.UTF-8"},  # not installed: setlocale fails
        {"PYTHONIOENCODING": "latin-1"},
        {"PYTHONIOENCODING": ":replace"},
        {"PYTHONIOENCODING": "ascii:backslashreplace"},
        {"PYTHONUNBUFFERED": "1"},
    ],
)
def test_stdio_is_set_up_as_python_would(extra: Env) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG", "PYTHONIO", "PYTHONUNBUF"))}
    env |= {k: v for k, v in extra.items() if v}
    probe = (
        "import sys; print([(s.encoding, s.errors, s.line_buffering, s.write_through)"
        " for s in (sys.stdin, sys.stdout, sys.stderr)])"
    )
    # The same UTF-8 mode as this process: the socket key makes a server's clients share it.
    done = subprocess.run(
        [sys.executable, "-X", f"utf8={sys.flags.utf8_mode}", "-c", probe],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=True,
    )
    expected = [tuple(mode) for mode in eval(done.stdout)]  # a list of tuples of literals
    modes = stdio.stdio_modes(env, (False, False, False))
    assert [(codecs_name(m[0]), *m[1:]) for m in modes] == [(codecs_name(m[0]), *m[1:]) for m in expected]


def codecs_name(encoding: str) -> str:
    import codecs

    return codecs.lookup(encoding).name


_field = st.binary(max_size=40).map(lambda b: b.replace(b"\0", b""))


@given(st.lists(_field, max_size=8), st.lists(_field, max_size=8), st.integers(0, 0o777))
def test_requests_round_trip(argv: list[bytes], environ: list[bytes], umask: int) -> None:
    message = protocol.encode_request(argv, environ, umask)
    assert int.from_bytes(message[:4], "big") == len(message) - 4
    assert protocol.decode_request(message[4:]) == (argv, environ, umask)


@given(st.integers(-(2**31), 2**31 - 1))
def test_an_int_is_what_struct_packs(value: int) -> None:
    import struct

    packed = protocol.pack_int(value)
    assert packed == struct.pack("!i", value) and len(packed) == protocol.INT_SIZE
    assert protocol.unpack_int(packed) == value


def test_an_int_out_of_range_is_refused() -> None:
    with pytest.raises(OverflowError):
        protocol.pack_int(2**31)


def test_a_plain_command_start_loads_no_struct() -> None:
    """protocol and stdio, which every command imports, leave struct to the server and its client."""
    script = "import sys\nimport vcrdt.daemon.protocol, vcrdt.daemon.stdio\nprint('struct' in sys.modules)\n"
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-S", "-c", script], capture_output=True, text=True, check=False, cwd=root)
    assert (proc.returncode, proc.stdout.strip()) == (0, "False"), proc.stderr


@given(st.lists(_field, max_size=8), st.lists(_field, max_size=8), st.data())
def test_a_damaged_request_is_refused(argv: list[bytes], environ: list[bytes], data: st.DataObject) -> None:
    body = protocol.encode_request(argv, environ, 0o22)[4:]
    cut = data.draw(st.integers(0, len(body) - 1))
    damaged = data.draw(st.sampled_from([body[:cut], body + b"x\0", b"1\0" + body[2:], body[:-1]]))
    with pytest.raises(ValueError, match="malformed request"):
        protocol.decode_request(damaged)


def test_the_key_names_what_fixes_an_interpreter() -> None:
    base = {b"HOME": b"/h", b"PYTHONPATH": b"/p"}
    key = protocol.socket_key(base)
    assert len(key) == 16 and int(key, 16) >= 0
    # Per-request variables and other variables do not change it; start-up variables do.
    assert protocol.socket_key(base | {b"PYTHONIOENCODING": b"latin-1", b"HOME": b"/other"}) == key
    assert protocol.socket_key(base | {b"PYTHONPATH": b"/q"}) != key
    assert protocol.socket_key(base | {b"PYTHONHASHSEED": b"0"}) != key
    assert protocol.fnv1a64(b"") == 0xCBF29CE484222325
    assert protocol.fnv1a64(b"a") == 0xAF63DC4C8601EC8C  # the published FNV-1a test vector


def test_status_through_the_server_follows_the_file_system(env: Env, work: Path, client: str) -> None:
    start_server(env, work)
    plain = env | {"VCRDT_NO_SERVER": "1"}

    def same() -> None:
        served = vcrdt(env, work, "status", "--json", client=client)
        alone = vcrdt(plain, work, "status", "--json")
        assert served.returncode == alone.returncode == 0, served.stderr
        assert served.stdout == alone.stdout

    same()  # the server starts watching this work tree
    steps: list[Callable[[], object]] = [
        lambda: (work / "a.txt").write_text("edited\n"),
        lambda: (work / "sub" / "new.txt").write_text("new\n"),
        lambda: (work / "x" / "y").mkdir(parents=True),
        lambda: (work / "x" / "y" / "z.txt").write_text("z\n"),
        lambda: vcrdt(plain, work, "rm", "--cached", "sub/b.txt"),
        lambda: vcrdt(plain, work, "commit", "-m", "untrack b"),
        lambda: (work / "a.txt").write_text("a2\n"),  # back to HEAD's content
        lambda: (work / ".vcrdtignore").write_text("*.txt\n"),
        lambda: shutil.rmtree(work / "x"),
        lambda: (work / ".vcrdtignore").unlink(),
    ]
    for step in steps:
        step()
        same()
    import sqlite3

    db = sqlite3.connect(work / ".vcrdt" / "store.db")
    try:
        assert db.execute("SELECT count(*) FROM meta WHERE key = 'fsmonitor'").fetchone() == (1,)
    finally:
        db.close()


def test_the_native_client_is_built_from_the_protocol_module(
    env: Env, work: Path, native_client: str, tmp_path: Path
) -> None:
    """Each value the native client shares with the server is compiled in from `vcrdt.daemon.protocol`.

    A client built from a protocol module with one value changed behaves by
    that value: it no longer meets the server (another protocol version, a
    command kept in the client, another acknowledgement tag) or it heeds
    another variable, and runs the command in Python instead.
    """
    os.mkfifo(work / "fifo")
    (work / "b").write_text("x\n")
    start_server(env, work)
    python = Path(sys.executable).resolve()

    def runs_as(program: str, extra: Env) -> Path:
        return Path(_interrupt_blocked(env | extra, work, program)).resolve()

    assert runs_as(native_client, {}) == Path(native_client).resolve()  # as built from the module as it is
    changes: list[tuple[str, object, Env]] = [
        ("PROTOCOL", protocol.PROTOCOL + 1, {}),  # another version: another socket key
        ("LOCAL_COMMANDS", (*protocol.LOCAL_COMMANDS, "merge-file"), {}),
        ("PID", b"Q", {}),  # the server's acknowledgement is no longer one
        ("NO_SERVER_VAR", "VCRDT_PROBE_OFF", {"VCRDT_PROBE_OFF": "1"}),
        ("IMPORT_TIME_VARS", (*protocol.IMPORT_TIME_VARS, "VCRDT_PROBE_VAR"), {"VCRDT_PROBE_VAR": "1"}),
    ]
    for name, value, extra in changes:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(protocol, name, value)
            program = str(native.build(tmp_path / f"vcrdt-{name}"))
        assert runs_as(program, extra) == python, name
        if extra:  # the variable, not the build, sent it to Python
            assert runs_as(program, {}) == Path(program).resolve(), name


class _Silent:
    """A socket where the server's should be, which takes a request and then never answers."""

    def __init__(self, env: Env) -> None:
        path = server_socket(env)
        path.parent.mkdir(mode=0o700, exist_ok=True)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(path))
        self.listener.listen(8)
        self.listener.settimeout(60)

    def take(self) -> socket.socket:
        """Accept a client and read its whole request (once this returns, it waits for the answer)."""
        conn, _ = self.listener.accept()
        conn.settimeout(60)
        data = b""
        while len(data) < 4 or len(data) < 4 + int.from_bytes(data[:4], "big"):
            chunk, fds, _, _ = socket.recv_fds(conn, 1 << 16, 4)
            for fd in fds:
                os.close(fd)
            assert chunk, "the client closed before sending its request"
            data += chunk
        return conn

    def close(self) -> None:
        self.listener.close()


def _popen(env: Env, cwd: Path, *args: str, client: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*_client_cmd[client], *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def test_a_server_that_does_not_answer_is_given_up(env: Env, work: Path, client: str) -> None:
    silent = _Silent(env)
    try:
        proc = _popen(env, work, "log", "--oneline", client=client)
        conn = silent.take()
        out, err = proc.communicate(timeout=60)
        # The client ran the command itself, and never told the server's side to go.
        plain = vcrdt(env | {"VCRDT_NO_SERVER": "1"}, work, "log", "--oneline")
        assert (proc.returncode, out, err) == (0, plain.stdout, plain.stderr)
        assert conn.recv(16) == b""
    finally:
        silent.close()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_before_the_server_answers_ends_the_client(env: Env, work: Path, client: str, sig: int) -> None:
    silent = _Silent(env)
    try:
        proc = _popen(env | {"VCRDT_SERVER_TIMEOUT": "60"}, work, "commit", "-A", "-m", "never", client=client)
        (work / "new.txt").write_text("new\n")
        conn = silent.take()
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
        assert (proc.returncode, out, err) == (-sig, b"", b"")  # ended by the signal, nothing said
        assert conn.recv(16) == b""  # no "go": the server's side would have run nothing
    finally:
        silent.close()
    log = vcrdt(env | {"VCRDT_NO_SERVER": "1"}, work, "log", "--oneline").stdout
    assert b"never" not in log


def test_a_stopped_server_costs_a_timeout_and_runs_nothing_twice(env: Env, work: Path, client: str) -> None:
    pid = start_server(env, work)
    info = json.loads(vcrdt(env, work, "daemon", "status", "--json").stdout)
    os.kill(pid, signal.SIGSTOP)
    os.kill(info["spare"], signal.SIGSTOP)
    try:
        (work / "c.txt").write_text("c\n")
        r = vcrdt(env, work, "commit", "-A", "-m", "three", client=client)
        assert r.returncode == 0, r.stderr
    finally:
        os.kill(info["spare"], signal.SIGCONT)
        os.kill(pid, signal.SIGCONT)
    # The spare now takes the request the client gave up on, and must not run it.
    r = vcrdt(env | {"VCRDT_SERVER_TIMEOUT": "60"}, work, "log", "--oneline", client=client)
    assert r.stdout.count(b"\n") == 3 and b"three" in r.stdout
    assert vcrdt(env | {"VCRDT_SERVER_TIMEOUT": "60"}, work, "status", "--short", client=client).stdout == b""


def test_a_killed_spare_is_replaced_at_once(env: Env, work: Path) -> None:
    start_server(env, work)
    info = json.loads(vcrdt(env, work, "daemon", "status", "--json").stdout)
    assert info["trees"] == []
    os.kill(info["spare"], signal.SIGKILL)
    # Within the client's usual patience (not the server's next periodic check), a new spare serves it.
    assert vcrdt(env, work, "status").returncode == 0
    after = json.loads(vcrdt(env, work, "daemon", "status", "--json").stdout)
    assert after["trees"] == [str(work)] and after["spare"] != info["spare"]


def _writer_when_read(fifo: Path, timeout: float = 60) -> int:
    """Open the write end of `fifo` once a command has it open for reading (that is the handshake)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ENXIO or time.monotonic() > deadline:
                raise
            time.sleep(0.01)  # no reader yet


def _reader_gone(writer: int, timeout: float = 60) -> bool:
    """Whether every reader of the FIFO behind `writer` closed it (it died) within `timeout`."""
    poller = select.poll()
    poller.register(writer, select.POLLERR)
    return any(event & select.POLLERR for _, event in poller.poll(timeout * 1000))


def test_a_command_ends_when_its_client_is_killed(env: Env, work: Path, client: str) -> None:
    start_server(env, work)
    fifo = work / "fifo"
    os.mkfifo(fifo)
    (work / "b").write_text("x\n")
    proc = _popen(env | {"VCRDT_SERVER_TIMEOUT": "60"}, work, "merge-file", "fifo", "b", "b", client=client)
    writer = _writer_when_read(fifo)  # the server's child runs the command: it reads the FIFO
    try:
        proc.kill()
        proc.wait(timeout=60)
        assert _reader_gone(writer), "the command outlived its client"
    finally:
        os.close(writer)
    r = vcrdt(env | {"VCRDT_SERVER_TIMEOUT": "60"}, work, "status", "--short", client=client)
    assert (r.returncode, r.stdout) == (0, b"?? b\n")  # the server still serves


def test_a_command_left_running_does_not_hold_the_server_lock(env: Env, work: Path, client: str) -> None:
    pid = start_server(env, work)
    fifo = work / "fifo"
    os.mkfifo(fifo)
    (work / "b").write_text("x\n")
    proc = _popen(env | {"VCRDT_SERVER_TIMEOUT": "60"}, work, "merge-file", "-p", "fifo", "b", "b", client=client)
    writer = _writer_when_read(fifo)
    try:
        waiter = os.pidfd_open(pid)
        os.kill(pid, signal.SIGKILL)  # the server dies; its child, running the command, stays
        assert select.select([waiter], [], [], 60)[0]
        os.close(waiter)
        r = vcrdt(env, work, "daemon", "status", client=client)
        assert (r.returncode, r.stdout) == (3, b"command server not running\n")
        new = start_server(env, work)
        assert new != pid
    finally:
        os.write(writer, b"x\n")
        os.close(writer)
    out, _ = proc.communicate(timeout=60)
    assert (proc.returncode, out) == (0, b"x\n")  # the command finished for its client


def test_interactive_commands_run_in_the_client_with_its_terminal(
    env: Env, work: Path, client: str, tmp_path: Path
) -> None:
    plain = env | {"VCRDT_NO_SERVER": "1"}
    for args in (("branch", "side"), ("switch", "side")):
        assert vcrdt(plain, work, *args).returncode == 0
    (work / "a.txt").write_text("side\n")
    assert vcrdt(plain, work, "commit", "-m", "side").returncode == 0
    assert vcrdt(plain, work, "switch", "main").returncode == 0
    (work / "a.txt").write_text("main\n")
    assert vcrdt(plain, work, "commit", "-m", "main").returncode == 0
    assert vcrdt(plain, work, "merge", "side").returncode == 1  # a conflict in a.txt
    start_server(env, work)
    # The editor can use the terminal only if the command runs in the client (a server child has none).
    said = tmp_path / "tty"
    editor = tmp_path / "editor.sh"
    editor.write_text(
        f'#!/bin/sh\n(: </dev/tty) 2>/dev/null && echo yes > {said} || echo no > {said}\necho edited > "$1"\n'
    )
    editor.chmod(0o755)
    program, *args = _client_cmd[client]
    child = pexpect.spawn(
        program, [*args, "resolve", "-i"], cwd=str(work), env=env | {"EDITOR": str(editor)}, timeout=60
    )
    child.expect("Hunk 1/1 of a.txt:")
    child.sendline("d")  # edit
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert said.read_text() == "yes\n"
    assert (work / "a.txt").read_text() == "edited\n"
    assert vcrdt(env, work, "daemon", "status", "--json").stdout.count(str(work).encode()) == 0  # not served


@pytest.mark.parametrize(
    ("argv", "tty", "here"),
    [
        (["daemon", "status"], False, True),
        (["-C", "merge", "daemon"], False, True),
        (["-C", "daemon", "status"], False, False),
        (["--color", "never", "resolve", "-i"], True, True),
        (["resolve", "-i"], False, False),
        (["merge", "side"], True, True),
        (["log", "merge"], True, True),  # log pages on a terminal
        (["log", "merge"], False, False),
        (["--no-pager", "commit"], True, True),  # the editor
        (["revert", "HEAD"], True, True),
        (["show"], False, False),
        (["status"], True, False),
        (["--version"], True, False),
    ],
)
def test_which_commands_run_in_the_client(argv: list[str], tty: bool, here: bool) -> None:
    assert protocol.runs_here(argv, tty) is here


def test_the_value_options_are_the_global_options_that_take_a_value() -> None:
    import click

    from vcrdt.cli.app import command

    takes_value = [
        opt
        for param in command().params
        if isinstance(param, click.Option) and not param.is_flag and not param.count
        for opt in param.opts
    ]
    assert sorted(takes_value) == sorted(protocol.VALUE_OPTIONS)


def _history(env: Env, root: Path, *messages: str) -> None:
    """A repository at `root` with one commit per message, built without the server."""
    plain = env | {"VCRDT_NO_SERVER": "1"}
    root.mkdir()
    assert vcrdt(plain, root, "init").returncode == 0
    for m in messages:
        assert vcrdt(plain, root, "commit", "--allow-empty", "-m", m).returncode == 0


def _spare_holds(env: Env, cwd: Path, store: Path) -> None:
    """Wait until the server's spare child has `store` open (it opens it ahead, after it is forked).

    A spare that could not open it (another command closing the store at that instant) gives
    up: every few seconds one more read-only request in `cwd` makes a new spare, which tries again.
    """
    deadline = time.monotonic() + 60
    nudge = time.monotonic() + 5
    while time.monotonic() < deadline:
        if time.monotonic() > nudge:
            assert vcrdt(env, cwd, "log", "-n", "1").returncode == 0
            nudge = time.monotonic() + 5
        status = vcrdt(env, cwd, "daemon", "status", "--json")
        spare = json.loads(status.stdout).get("spare") if status.returncode == 0 else None
        try:
            links = [os.readlink(f) for f in Path(f"/proc/{spare}/fd").iterdir()] if spare else []
        except OSError:  # the spare took a request meanwhile
            links = []
        if str(store) in links:
            return
        time.sleep(0.05)
    raise AssertionError(f"no spare opened {store} ahead")


def test_a_store_opened_ahead_serves_only_its_own_repository(env: Env, tmp_path: Path, client: str) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    _history(env, a, "in a", "a again")
    _history(env, b, "in b")
    start_server(env, a)
    for _ in range(2):  # the first request names a's store; the spare forked after the second opens it ahead
        assert vcrdt(env, a, "log", "--oneline", client=client).returncode == 0
    _spare_holds(env, a, (a / ".vcrdt" / "store.db").resolve())
    served = vcrdt(env, b, "log", client=client)
    plain = vcrdt(env | {"VCRDT_NO_SERVER": "1"}, b, "log", client=client)
    assert (served.returncode, served.stdout, served.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    assert b"in b" in served.stdout and b"in a" not in served.stdout


def test_a_repository_made_anew_at_the_same_path_is_not_read_through_the_old_store(
    env: Env, tmp_path: Path, client: str
) -> None:
    a = tmp_path / "a"
    _history(env, a, "the first repository")
    start_server(env, a)
    for _ in range(2):
        assert vcrdt(env, a, "log", client=client).returncode == 0
    _spare_holds(env, a, (a / ".vcrdt" / "store.db").resolve())
    shutil.rmtree(a)
    _history(env, a, "the second repository")
    served = vcrdt(env, a, "log", client=client)
    plain = vcrdt(env | {"VCRDT_NO_SERVER": "1"}, a, "log", client=client)
    assert (served.returncode, served.stdout, served.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    assert b"the second repository" in served.stdout and b"the first" not in served.stdout


def test_a_store_opened_ahead_is_used_for_the_same_repository(env: Env, tmp_path: Path) -> None:
    a = tmp_path / "a"
    _history(env, a, "one", "two")
    start_server(env, a)
    for _ in range(2):
        assert vcrdt(env, a, "log").returncode == 0
    _spare_holds(env, a, (a / ".vcrdt" / "store.db").resolve())
    (a / "c.txt").write_text("c\n")
    assert vcrdt(env, a, "commit", "-A", "-m", "three").returncode == 0  # written through it
    served = vcrdt(env, a, "log", "--oneline")
    plain = vcrdt(env | {"VCRDT_NO_SERVER": "1"}, a, "log", "--oneline")
    assert served.stdout == plain.stdout and served.stdout.count(b"\n") == 3
    assert vcrdt(env | {"VCRDT_NO_SERVER": "1"}, a, "fsck").returncode == 0


def test_a_write_is_checkpointed_while_a_spare_holds_the_store(env: Env, tmp_path: Path) -> None:
    """The command's close is not the last one then: the server checkpoints the WAL it left, as that close would."""
    a = tmp_path / "a"
    _history(env, a, "one")
    start_server(env, a)
    for _ in range(2):
        assert vcrdt(env, a, "log").returncode == 0
    for n in range(3):
        # The spare that takes the commit forks the next one, which opens the store while the commit runs.
        _spare_holds(env, a, (a / ".vcrdt" / "store.db").resolve())
        (a / f"f{n}.txt").write_text(f"{n}\n")
        assert vcrdt(env, a, "commit", "-A", "-m", f"write {n}").returncode == 0
        wal = a / ".vcrdt" / "store.db-wal"
        assert not wal.exists() or wal.stat().st_size == 0


@pytest.mark.parametrize("damage", ["header", "pages"])
def test_a_store_damaged_in_place_is_not_read_through_the_connection_opened_ahead(
    env: Env, tmp_path: Path, damage: str
) -> None:
    a = tmp_path / "a"
    _history(env, a, *[f"commit {n} " + "x" * 200 for n in range(30)])
    start_server(env, a)
    for _ in range(2):
        assert vcrdt(env, a, "log").returncode == 0
    store = (a / ".vcrdt" / "store.db").resolve()
    _spare_holds(env, a, store)
    for extra in ("store.db-wal", "store.db-shm"):
        (a / ".vcrdt" / extra).unlink(missing_ok=True)
    data = bytearray(store.read_bytes())
    if damage == "header":
        data[:16] = b"garbage garbage!"
    else:
        for i in range(4096, len(data), 997):
            data[i] ^= 0x5A
    store.write_bytes(bytes(data))  # the same file, rewritten
    served = vcrdt(env, a, "log")
    plain = vcrdt(env | {"VCRDT_NO_SERVER": "1"}, a, "log")
    assert (served.returncode, served.stdout, served.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    assert served.returncode == 1
