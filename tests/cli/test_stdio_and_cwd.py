"""A deleted current directory, and closed standard descriptors (issue 9, item 12).

Through the installed entry points (the console script and the native
client), each in-process and through the command server:

- ``mkdir d; cd d; rmdir ../d; vcrdt status`` used to end in a traceback; it
  is one ``error:`` line and exit 1.
- ``vcrdt diff >&-`` (stdout closed): the console script died with a
  traceback, and the client's socket to the server took descriptor 1, so the
  server child wrote the command's output into the socket, where no one reads
  it: a large output blocked the command forever. Descriptors 0-2 are now
  opened on /dev/null first if closed (as git does): the output is discarded
  and the command succeeds.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import entry_points

CASES = [
    pytest.param(("script", False), id="console-script"),
    pytest.param(("native", False), id="native-client"),
    pytest.param(("script", True), id="console-script-served"),
    pytest.param(("native", True), id="native-client-served"),
]


@pytest.fixture(scope="module")
def programs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return entry_points.programs(tmp_path_factory.mktemp("bin"), tmp_path_factory.mktemp("native"))


@pytest.fixture(params=CASES)
def entry(
    request: pytest.FixtureRequest, programs: dict[str, str], tmp_path: Path
) -> Iterator[tuple[str, dict[str, str]]]:
    """The program and environment of one case (the server, when served, already listening)."""
    client, served = request.param
    if client not in programs:
        pytest.skip("no C compiler: the native client cannot be built here")
    with entry_points.socket_dir() as runtime:
        env = {k: v for k, v in os.environ.items() if k != "VCRDT_NO_SERVER"}
        env.update(XDG_RUNTIME_DIR=str(runtime), VCRDT_AUTHOR_NAME="Ada", VCRDT_AUTHOR_EMAIL="ada@example.com")
        if served:
            entry_points.start_server(programs[client], env, tmp_path)
        else:
            env["VCRDT_NO_SERVER"] = "1"
        yield programs[client], env


def _sh(script: str, program: str, *args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    """Run ``sh -c SCRIPT`` where ``"$@"`` is the vcrdt command line."""
    return subprocess.run(
        ["sh", "-c", script, "sh", program, *args], cwd=cwd, env=env, capture_output=True, timeout=30, check=False
    )


def test_a_deleted_current_directory_is_one_error(entry: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    program, env = entry
    for args in (("status",), ("log", "-n", "1"), ("init",)):
        r = _sh('mkdir gone && cd gone && rmdir ../gone && exec "$@"', program, *args, cwd=tmp_path, env=env)
        assert (r.returncode, r.stdout, r.stderr.decode()) == (
            1,
            b"",
            "error: cannot use the current directory: it has been deleted\n",
        ), args


def test_a_closed_stdout_does_not_reach_the_protocol(entry: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    program, env = entry
    work = tmp_path / "work"
    work.mkdir()
    lines = [f"line {i} of a file whose diff is larger than a socket's buffer\n" for i in range(20000)]
    (work / "big.txt").write_text("".join(lines))
    for args in (("init",), ("commit", "-A", "-m", "one")):
        done = subprocess.run([program, *args], cwd=work, env=env, capture_output=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
    (work / "big.txt").write_text("".join(line.upper() for line in lines))
    (work / "new.txt").write_text("n\n")
    for args in (("diff",), ("status",), ("log",)):
        r = _sh('exec "$@" >&-', program, *args, cwd=work, env=env)
        assert (r.returncode, r.stderr) == (0, b""), args
    r = _sh('exec "$@" <&- >&- 2>&-', program, "diff", cwd=work, env=env)
    assert r.returncode == 0
    r = _sh('exec "$@" <&-', program, "status", "--short", cwd=work, env=env)
    assert (r.returncode, r.stderr) == (0, b"") and b"new.txt" in r.stdout
    r = _sh('exec "$@" >&-', program, "nosuchcommand", cwd=work, env=env)
    assert r.returncode == 2 and b"'nosuchcommand' is not a vcrdt command" in r.stderr
