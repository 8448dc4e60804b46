"""Test isolation: no real HOME, no VCRDT_*/GIT_* variables, fixed terminal and author."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.helpers.cli import CliRunner

# No per-example deadline: it is a timing assertion, and on a loaded machine (CI's two cores
# running the suite on two workers) a 200 ms example fails by the clock, not by the law it checks.
settings.register_profile("vcrdt", deadline=None)
settings.load_profile("vcrdt")


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--through-daemon``: every `CliRunner` command runs on a real command server (see `through_daemon`)."""
    parser.addoption(
        "--through-daemon",
        action="store_true",
        help="run the CLI tests' commands through a command server and the native client, not in-process",
    )


@pytest.fixture(scope="session", autouse=True)
def through_daemon(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Under ``--through-daemon``, start one command server for the session and route `CliRunner` through it.

    The client is the native one where a C compiler builds it (else the console
    script). It waits up to two minutes for the server's acknowledgement, so a
    loaded machine does not quietly run commands in-process instead.
    """
    if not request.config.getoption("--through-daemon"):
        yield
        return
    import subprocess

    from tests.helpers import cli, entry_points

    with entry_points.socket_dir() as runtime:
        programs = entry_points.programs(tmp_path_factory.mktemp("bin"), tmp_path_factory.mktemp("native"))
        program = programs.get("native", programs["script"])
        extra = {"XDG_RUNTIME_DIR": str(runtime), "VCRDT_SERVER_TIMEOUT": "120"}
        env = {k: v for k, v in os.environ.items() if k != "VCRDT_NO_SERVER"} | extra
        entry_points.start_server(program, env, runtime)
        cli.DAEMON.update(program=[program], env=extra)
        try:
            yield
        finally:
            cli.DAEMON.clear()
            subprocess.run([program, "daemon", "stop"], env=env, capture_output=True, timeout=120, check=False)


@pytest.fixture(autouse=True)
def no_patching_through_the_daemon(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under ``--through-daemon``, skip a test that patches code: the server's child would not see the patch."""
    if not request.config.getoption("--through-daemon"):
        return

    def refuse(*args: object, **kwargs: object) -> None:
        pytest.skip("patches code in the test process, which a command run through the daemon does not see")

    monkeypatch.setattr(monkeypatch, "setattr", refuse)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.reliability.record import ENV as RELIABILITY_LOG

    home = tmp_path_factory.mktemp("home")
    for key in list(os.environ):
        # The reliability log stays: crash, race and outside-victim events are written during tests.
        if key.startswith(("VCRDT_", "GIT_", "XDG_")) and key != RELIABILITY_LOG:
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(home))
    # Commands run in their own process: no test leaves a command server behind
    # (tests/cli/test_server.py turns it on, in a private socket directory).
    monkeypatch.setenv("VCRDT_NO_SERVER", "1")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("LINES", "24")
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Ada")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "ada@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Ada")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "ada@example.com")


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner whose commands start in an empty directory with an author set."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("VCRDT_AUTHOR_NAME", "Ada Lovelace")
    monkeypatch.setenv("VCRDT_AUTHOR_EMAIL", "ada@example.com")
    return CliRunner(work)


@pytest.fixture
def repo(cli: CliRunner) -> CliRunner:
    """A runner inside a freshly initialised repository."""
    cli.ok("init")
    return cli


def _snapshot(root: Path) -> dict[str, tuple[str, bytes]]:
    """Every entry under `root` (itself included) with its kind and content or link target."""
    out: dict[str, tuple[str, bytes]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        out[os.path.relpath(dirpath, root)] = ("dir", b"")
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root)
            if os.path.islink(full):
                out[rel] = ("link", os.fsencode(os.readlink(full)))
            elif os.path.isfile(full):
                with open(full, "rb") as f:
                    out[rel] = ("file", f.read())
    return out


@pytest.fixture
def outside(tmp_path: Path) -> Iterator[Path]:
    """A victim directory beside the test's work trees, full of SENTINEL files.

    Hostile-input and crash tests aim their attacks at it (through ``..``,
    symlink chains, ...). After the test, any entry created, changed or
    deleted under it fails the test and is counted in the reliability log as
    touched outside the work tree.
    """
    from tests.reliability.record import record

    victim = tmp_path / "outside"
    (victim / "deep" / "er").mkdir(parents=True)
    for rel in ("SENTINEL", "deep/SENTINEL", "deep/er/SENTINEL"):
        (victim / rel).write_bytes(b"sentinel: must never be touched\n")
    before = _snapshot(victim)
    yield victim
    after = _snapshot(victim) if victim.is_dir() else {}
    touched = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    record("outside", n=len(touched))
    assert not touched, f"files outside the work tree were touched: {touched}"


_IN_XDIST_WORKER = False


def pytest_configure(config: pytest.Config) -> None:
    """Note whether this process is a pytest-xdist worker."""
    global _IN_XDIST_WORKER
    _IN_XDIST_WORKER = hasattr(config, "workerinput")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Log every test marked ``hostile`` as one hostile input, rejected (passed) or not.

    Under pytest-xdist the hook runs in the worker and again in the controller
    for the same report: only the controller (or a run without workers) logs.
    """
    if report.when != "call" and not (report.when == "setup" and report.failed):
        return
    if _IN_XDIST_WORKER:
        return
    if "hostile" in report.keywords:
        from tests.reliability.record import record

        record("hostile", ok=report.passed, name=report.nodeid)
