"""Fixed costs of a small sync: the modules both sides load, the peer started early, a no-op writing nothing."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner, vcrdt_subprocess

# Runs the CLI, then appends the heavy modules it loaded to the file named by its first argument.
SCRIPT = """
import sys
from vcrdt.cli import run
out, args = sys.argv[1], sys.argv[2:]
code = run(args)
heavy = {"dataclasses", "inspect", "ast", "zstandard", "platform", "typer", "click", "rich", "tomllib", "typing"}
with open(out, "a") as f:
    f.write(args[0] + " " + ",".join(sorted(heavy & set(sys.modules))) + "\\n")
sys.exit(code)
"""


def _run_noting(
    script: Path, log: Path, verb: str, serve: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``VERB --exec SERVE --json`` in `cwd` through `script`, which notes what it loaded in `log`."""
    return _run_script(script, log, [verb, "--exec", serve, "--json"], cwd, env)


def _run_script(
    script: Path, log: Path, args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the command line `args` in `cwd` through `script`, which notes what it loaded in `log`."""
    return subprocess.run(
        [sys.executable, str(script), str(log), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env=env,
    )


def _replicas(cli: CliRunner) -> tuple[Path, Path]:
    a = cli.cwd / "a"
    a.mkdir()
    ra = CliRunner(a)
    ra.ok("init")
    (a / "f.txt").write_text("one\n")
    ra.ok("add", "f.txt")
    ra.ok("commit", "-m", "one")
    cli.ok("clone", str(a), "b")
    (a / "f.txt").write_text("two\n")
    ra.ok("commit", "-a", "-m", "two")
    return a, cli.cwd / "b"


def test_fetch_and_serve_stdio_load_no_dataclasses_zstandard_package_or_typer(cli: CliRunner, tmp_path: Path) -> None:
    """A fetch over ``--exec 'vcrdt serve --stdio'`` that receives a commit: neither side imports
    dataclasses (nor inspect and ast with it), the zstandard package (its C backend alone), typer or typing,
    and the server, whose config file is empty, not the TOML parser (the clone's names `origin`)."""
    a, b = _replicas(cli)
    log = tmp_path / "loaded.txt"
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    serve = shlex.join([sys.executable, str(script), str(log), "serve", "--stdio", str(a)])
    proc = _run_noting(script, log, "fetch", serve, b)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["objects"] == 3  # the commit, its tree and the blob
    assert (a / ".vcrdt" / "config.toml").read_bytes() == b""
    # The clone's config names `origin`: the client reads it with tomllib, which imports typing.
    assert sorted(log.read_text().splitlines()) == ["fetch tomllib,typing", "serve "]


# As SCRIPT, for the modules named (comma-separated) by the WATCH environment variable, which the
# server started by `--exec` inherits.
WATCH_SCRIPT = """
import os, sys
from vcrdt.cli import run
out, args = sys.argv[1], sys.argv[2:]
code = run(args)
watched = set(os.environ["WATCH"].split(","))
with open(out, "a") as f:
    f.write(args[0] + " " + ",".join(sorted(watched & set(sys.modules))) + "\\n")
sys.exit(code)
"""


def _fetch_loading(b: Path, a: Path, tmp_path: Path, watch: set[str]) -> list[str]:
    """Fetch into `b` over ``--exec 'serve --stdio a'``; return, for each side, the `watch` modules it loaded."""
    log = tmp_path / "watched.txt"
    log.unlink(missing_ok=True)
    script = tmp_path / "watch.py"
    script.write_text(WATCH_SCRIPT)
    serve = shlex.join([sys.executable, str(script), str(log), "serve", "--stdio", str(a)])
    proc = _run_noting(script, log, "fetch", serve, b, env={**os.environ, "WATCH": ",".join(sorted(watch))})
    assert proc.returncode == 0, proc.stderr
    return sorted(log.read_text().splitlines())


def test_a_fetch_over_exec_and_serve_stdio_load_no_pathlib_or_subprocess_and_a_no_op_no_work_tree(
    cli: CliRunner, tmp_path: Path
) -> None:
    """pathlib (with fnmatch, urllib.parse and ipaddress: about 17 M instructions of a start-up) is
    loaded by neither side of a fetch over a command, whether it receives a commit or is a no-op:
    the CLI passes the working directory as a string and a path is made only for a local remote
    (or `clone`, or the HTTP server). Nor is subprocess (with threading, signal, selectors and
    locale, as much again): the peer command is started with ``os.posix_spawnp``. A fetch moving
    no checked-out branch notes its refs in the operation log without loading the work-tree modules."""
    a, b = _replicas(cli)
    watch = {"pathlib", "fnmatch", "urllib.parse", "ipaddress", "subprocess", "threading", "vcrdt.worktree"}
    # Receiving a commit: the checked-out branch moves, so the client reads its work tree.
    assert _fetch_loading(b, a, tmp_path, watch) == ["fetch vcrdt.worktree", "serve "]
    # Up to date: one round trip, nothing to receive.
    assert _fetch_loading(b, a, tmp_path, watch) == ["fetch ", "serve "]


def test_a_fetch_loads_no_json_its_server_no_openssl_or_re(cli: CliRunner, tmp_path: Path) -> None:
    """json (with re and enum: about 34 M instructions) is loaded by neither side of a fetch over a
    command, receiving or not: the frames' JSON and ``--json`` go through `vcrdt.jsontext`, the
    bucket digests through CPython's own BLAKE2b. The server loads no OpenSSL (hashlib's _hashlib)
    and no re either (its commits are decoded without a pattern); the client here reads its clone's
    config with tomllib, which loads re, and loads OpenSSL's SHA-256 while it waits for the answer
    (`vcrdt.sync.receive.prepare`), off its critical path, whether objects come or not."""
    a, b = _replicas(cli)
    watch = {"json", "_hashlib", "re", "enum"}
    assert _fetch_loading(b, a, tmp_path, watch) == ["fetch _hashlib,enum,re", "serve "]
    assert _fetch_loading(b, a, tmp_path, watch) == ["fetch _hashlib,enum,re", "serve "]


def test_the_server_of_a_fetch_loads_no_receiving_side(cli: CliRunner, tmp_path: Path) -> None:
    """The server of a fetch keeps the bodies it sent last (`vcrdt.sync.recent`) without loading the
    receiving side's module (about 3 M instructions of a session), nor the client's session module."""
    a, b = _replicas(cli)
    watch = {"vcrdt.sync.receive", "vcrdt.sync.session", "vcrdt.sync.recent"}
    assert _fetch_loading(b, a, tmp_path, watch) == [
        "fetch vcrdt.sync.receive,vcrdt.sync.recent,vcrdt.sync.session",
        "serve vcrdt.sync.recent",
    ]


def test_a_no_op_fetch_from_a_path_loads_no_openssl(cli: CliRunner, tmp_path: Path) -> None:
    """A peer at a local path answers in this process as its answer is read, so nothing is loaded
    ahead "while it works" (`vcrdt.sync.receive.prepare`): an up-to-date fetch loads no OpenSSL."""
    a, b = _replicas(cli)
    log = tmp_path / "watched.txt"
    script = tmp_path / "watch.py"
    script.write_text(WATCH_SCRIPT)
    env = {**os.environ, "WATCH": "_hashlib"}
    args = ["fetch", str(a), "--json", "--stats"]
    first = _run_script(script, log, args, b, env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["objects"] == 3
    again = _run_script(script, log, args, b, env)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["noop"]
    assert log.read_text().splitlines()[-1] == "fetch "


def test_a_peer_started_early_ends_when_the_command_fails_before_its_session(tmp_path: Path) -> None:
    """``--exec CMD`` starts CMD before the repository is opened; when the command then fails (no
    repository here) CMD's stdin is closed and it is waited for: nothing is left running."""
    marks = tmp_path / "marks.txt"
    peer = f"echo started >> {shlex.quote(str(marks))}; cat > /dev/null; echo ended >> {shlex.quote(str(marks))}"
    nowhere = tmp_path / "not-a-repository"
    nowhere.mkdir()
    proc = vcrdt_subprocess("fetch", "--exec", peer, cwd=nowhere)
    assert proc.returncode == 1
    assert proc.stderr.startswith(b"error: ")
    assert marks.read_text().splitlines() == ["started", "ended"]


def test_a_peer_started_before_the_app_ends_when_the_command_line_fails_after(tmp_path: Path) -> None:
    """The peer of ``fetch --exec CMD`` starts before the typer app's modules load; a global option the
    app then refuses (a usage error, before the command runs) still ends it: nothing is left running."""
    marks = tmp_path / "marks.txt"
    peer = f"echo started >> {shlex.quote(str(marks))}; cat > /dev/null; echo ended >> {shlex.quote(str(marks))}"
    proc = vcrdt_subprocess("--color", "nonsense", "fetch", "--exec", peer, cwd=tmp_path)
    assert proc.returncode == 2
    assert b"--color" in proc.stderr
    assert marks.read_text().splitlines() == ["started", "ended"]


# Runs the CLI with `os.posix_spawnp` noting, in the file named by its first argument, which of some
# modules were loaded when the peer was started.
SPAWN_SCRIPT = """
import os, sys
out, args = sys.argv[1], sys.argv[2:]
real = os.posix_spawnp
def noting(*a, **k):
    watched = {"vcrdt.cli.app", "sqlite3", "_sqlite3", "re", "json", "collections", "vcrdt.repo", "vcrdt.sync.session"}
    with open(out, "a") as f:
        f.write(",".join(sorted(watched & set(sys.modules))) + "\\n")
    return real(*a, **k)
os.posix_spawnp = noting
from vcrdt.cli import run
sys.exit(run(args))
"""


@pytest.mark.parametrize("verb", ["fetch", "sync", "push", "pull"])
def test_the_peer_command_starts_before_the_app_the_database_or_the_sync_modules_load(
    cli: CliRunner, tmp_path: Path, verb: str
) -> None:
    """`vcrdt.cli.run` starts the peer of a fetch, sync, push or pull over ``--exec`` before anything
    heavy is imported (the typer app's modules, sqlite3, re, collections, the repository, the session), so the
    peer's start-up overlaps all of this side's; the session then speaks to that process."""
    a, b = _replicas(cli)
    log = tmp_path / "spawned.txt"
    script = tmp_path / "spawn.py"
    script.write_text(SPAWN_SCRIPT)
    serve = shlex.join([sys.executable, "-m", "vcrdt", "serve", "--stdio", str(a)])
    proc = _run_noting(script, log, verb, serve, b)
    assert proc.returncode == 0, proc.stderr
    assert log.read_text() == "\n"  # one command started, with none of the watched modules loaded


# As SPAWN_SCRIPT, noting which of vcrdt's own modules were loaded when the peer was started.
SPAWN_VCRDT_SCRIPT = """
import os, sys
out, args = sys.argv[1], sys.argv[2:]
real = os.posix_spawnp
def noting(*a, **k):
    with open(out, "a") as f:
        f.write(",".join(sorted(m for m in sys.modules if m.startswith("vcrdt."))) + "\\n")
    return real(*a, **k)
os.posix_spawnp = noting
from vcrdt.cli import run
sys.exit(run(args))
"""


def test_a_peer_named_by_exec_starts_with_the_spawn_module_alone(cli: CliRunner, tmp_path: Path) -> None:
    """``--exec CMD`` names the peer whatever the remote: CMD starts once the command line is read,
    with the spawn module alone (not the error tree, the transport or the command's module), and
    the session takes it."""
    a, b = _replicas(cli)
    log = tmp_path / "spawned.txt"
    script = tmp_path / "spawn.py"
    script.write_text(SPAWN_VCRDT_SCRIPT)
    serve = shlex.join([sys.executable, "-m", "vcrdt", "serve", "--stdio", str(a)])
    proc = _run_noting(script, log, "fetch", serve, b)
    assert proc.returncode == 0, proc.stderr
    loaded = log.read_text().splitlines()
    assert len(loaded) == 1  # one command started: the session took it
    assert set(loaded[0].split(",")) == {
        "vcrdt.cli",
        "vcrdt.cli.argv",
        "vcrdt.cli.argv_table",
        "vcrdt.extensions",  # the package's compiled finder (vcrdt/__init__.py)
        "vcrdt.sync",
        "vcrdt.sync.spawn",
        "vcrdt.values",
    }


def test_a_no_op_fetch_writes_nothing(cli: CliRunner) -> None:
    """Once up to date, a fetch over stdio leaves the database's and the WAL's bytes as they were.

    The WAL is compared by content, absent counting as empty: through the daemon a spare that
    opened the store ahead holds a connection, so SQLite keeps (or creates, empty) the WAL file
    that the last connection to close would delete; what matters is that no frame was added.
    """
    a, b = _replicas(cli)
    serve = shlex.join([sys.executable, "-m", "vcrdt", "serve", "--stdio", str(a)])
    rb = CliRunner(b)
    rb.ok("fetch", "--exec", serve)
    db = b / ".vcrdt" / "store.db"
    wal = b / ".vcrdt" / "store.db-wal"

    def state() -> tuple[str, int, bytes]:
        frames = wal.read_bytes() if wal.exists() else b""
        return hashlib.sha256(db.read_bytes()).hexdigest(), db.stat().st_mtime_ns, frames

    before = state()
    doc = json.loads(rb.ok("fetch", "--exec", serve, "--json", "--stats").out)
    assert doc["noop"] and doc["stats"]["round_trips"] == 1
    assert state() == before


def test_a_fetch_moving_the_checked_out_branch_reads_only_the_changed_paths(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """20 directories of 20 files; the other replica edits one file and adds one. The fetch moves the
    checked-out branch by comparing the two trees (equal subtrees skipped): no tree is flattened."""
    from vcrdt.diff import tree as tree_diff
    from vcrdt.porcelain import sync
    from vcrdt.repo import Repository, Settings

    a = cli.cwd / "a"
    a.mkdir()
    ra = CliRunner(a)
    ra.ok("init")
    for i in range(20):
        (a / f"d{i:02d}").mkdir()
        for j in range(20):
            (a / f"d{i:02d}" / f"f{j:02d}.txt").write_text(f"file {i} {j}\n")
    ra.ok("add", ".")
    ra.ok("commit", "-m", "base")
    cli.ok("clone", str(a), "b")
    b = cli.cwd / "b"
    (a / "d07" / "f11.txt").write_text("edited\n")
    (a / "d07" / "new.txt").write_text("new\n")
    ra.ok("add", ".")
    ra.ok("commit", "-m", "edit")

    flattened: list[str] = []
    entries = tree_diff.iter_tree_entries

    def counting_entries(reader: object, tree: object) -> object:
        for item in entries(reader, tree):  # type: ignore[arg-type]
            flattened.append(item[0])
            yield item

    monkeypatch.setattr(tree_diff, "iter_tree_entries", counting_entries)
    repo = Repository(b, Settings(author_name="t", author_email="t@x"))
    try:
        result = sync(repo, str(a), cwd=b, mode="fetch")
    finally:
        repo.close()
    monkeypatch.undo()
    assert result.received.checkout is not None
    assert flattened == []
    assert (b / "d07" / "f11.txt").read_text() == "edited\n"
    assert (b / "d07" / "new.txt").read_text() == "new\n"
    assert CliRunner(b).ok("status", "--short").out == ""
    CliRunner(b).ok("fsck")


def test_config_files_empty_missing_or_broken_read_as_before(tmp_path: Path) -> None:
    """`read_toml` skips the parser for an empty file only: a missing file is an empty table, a
    broken one is still a `ConfigError` naming it."""
    from vcrdt.errors import ConfigError
    from vcrdt.repo import read_toml

    f = tmp_path / "config.toml"
    assert read_toml(tmp_path / "missing.toml") == {}
    f.write_bytes(b"")
    assert read_toml(f) == {}
    f.write_bytes(b'[core]\ndaemon = "on"\n')
    assert read_toml(f) == {"core": {"daemon": "on"}}
    for broken in (b"[core\n", b"\r"):
        f.write_bytes(broken)
        with pytest.raises(ConfigError, match="invalid TOML"):
            read_toml(f)


def test_the_sync_modules_load_neither_typing_nor_dataclasses() -> None:
    """The modules a sync over a command imports, and the token store of the HTTP server, define their
    values with `vcrdt.values` and their type aliases for the type checker alone."""
    code = (
        "import sys\n"
        "import vcrdt.sync.session, vcrdt.sync.transport, vcrdt.sync.limits, vcrdt.sync.tokens, vcrdt.sync.spawn\n"
        "print(','.join(sorted({'typing', 'dataclasses', 'pathlib', 'subprocess'} & set(sys.modules))))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert proc.stdout == "\n"


def test_the_server_of_a_fetch_loads_neither_the_parse_table_nor_importlib(cli: CliRunner, tmp_path: Path) -> None:
    """``serve --stdio PATH`` is read without the parse table (`vcrdt.cli.argv`), and the zstandard
    backend is loaded with the import system's own loaders: the server of a fetch that receives
    objects loads neither the table nor the importlib package (with warnings)."""
    a, b = _replicas(cli)
    watch = {"vcrdt.cli.argv_table", "importlib", "importlib.machinery", "warnings"}
    fetch, serve = _fetch_loading(b, a, tmp_path, watch)
    assert fetch.startswith("fetch vcrdt.cli.argv_table")  # the client's command line is read by the table
    assert serve == "serve "


# As SPAWN_SCRIPT, through `vcrdt.cli.main` as the native client runs it after asking the server.
MAIN_SPAWN_SCRIPT = """
import os, sys
out = sys.argv.pop(1)
real = os.posix_spawnp
def noting(*a, **k):
    with open(out, "a") as f:
        f.write(",".join(sorted({"vcrdt.daemon.client"} & set(sys.modules))) + "\\n")
    return real(*a, **k)
os.posix_spawnp = noting
from vcrdt.cli import main
main(asked=True)
"""


def test_a_fetch_the_native_client_hands_over_starts_its_peer_before_loading_the_server_client(
    cli: CliRunner, tmp_path: Path
) -> None:
    """When the native client has asked the command server already, `main` loads the server's client
    module only after the command (to see whether to start one): the peer starts without it."""
    a, b = _replicas(cli)
    log = tmp_path / "spawned.txt"
    script = tmp_path / "main_spawn.py"
    script.write_text(MAIN_SPAWN_SCRIPT)
    serve = shlex.join([sys.executable, "-m", "vcrdt", "serve", "--stdio", str(a)])
    env = {k: v for k, v in os.environ.items() if k != "VCRDT_NO_SERVER"} | {"XDG_RUNTIME_DIR": str(tmp_path)}
    proc = _run_noting(script, log, "fetch", serve, b, env=env)
    assert proc.returncode == 0, proc.stderr
    assert log.read_text() == "\n"
