"""No vcrdt process imports a module from the work tree or the current directory (issue 9, item 2).

A repository is content from others (a fetched replica): a ``shlex.py`` at its
root must stay data. Python puts the current directory first on ``sys.path``
for ``-c`` (and the command server's children change into the client's
directory), so every interpreter vcrdt starts must run with ``-P`` and the
server child must not look modules up relative to its directory.

The work tree root, a subdirectory the commands run from, and a second work
tree's root each hold a module named after every module that is not already
imported when the interpreter starts (the whole standard library, and every
installed package's top-level name, vcrdt's own included); each one, if ever
imported, leaves a marker outside the trees. The commands run through the
installed entry points, as a user runs them: the console script and the native
client, each in-process (``VCRDT_NO_SERVER=1``) and through the command server.
(``python -m vcrdt`` puts the current directory on the path by the user's own
choice, so it is not one of them.)
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import entry_points
from vcrdt.daemon import client, server

_FAKE = """\
import os as _os

_os.close(_os.open(_os.path.join({markers!r}, __name__ + "." + str(_os.getpid())), _os.O_CREAT | _os.O_WRONLY, 0o644))
raise ImportError("a module from the work tree was imported: " + __name__)
"""


@pytest.fixture(scope="module")
def shadow_names() -> list[str]:
    """Every top-level module a vcrdt process could import after start-up (where the path matters)."""
    started = subprocess.run(
        [sys.executable, "-P", "-c", "import sys; print(' '.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
    )
    at_start = set(started.stdout.split())
    names = set(sys.stdlib_module_names) | set(importlib.metadata.packages_distributions())
    names |= {"vcrdt", "typer", "click", "rich", "pathspec", "pygit2"}
    chosen = sorted(n for n in names if n.isidentifier() and n not in at_start)
    # Sanity: the modules of the reported attack and the ones vcrdt imports lazily are all there.
    assert {"shlex", "subprocess", "tempfile", "json", "difflib", "textwrap", "vcrdt", "pygit2"} <= set(chosen)
    return chosen


def _plant(directory: Path, names: list[str], markers: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    text = _FAKE.format(markers=str(markers))
    for name in names:
        (directory / f"{name}.py").write_text(text)


@pytest.fixture(scope="module")
def programs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The two installed entry points: the console script, and the native client (when it builds)."""
    return entry_points.programs(tmp_path_factory.mktemp("bin"), tmp_path_factory.mktemp("native"))


@pytest.fixture
def runtime() -> Iterator[Path]:
    with entry_points.socket_dir() as path:
        yield path


CASES = [
    pytest.param("script", False, marks=pytest.mark.hostile, id="console-script"),
    pytest.param("native", False, marks=pytest.mark.hostile, id="native-client"),
    pytest.param("script", True, marks=pytest.mark.hostile, id="console-script-served"),
    pytest.param("native", True, marks=pytest.mark.hostile, id="native-client-served"),
]


@pytest.mark.parametrize(("client", "served"), CASES)
def test_no_module_is_imported_from_the_work_tree(
    client: str,
    served: bool,
    programs: dict[str, str],
    shadow_names: list[str],
    runtime: Path,
    tmp_path: Path,
) -> None:
    if client not in programs:
        pytest.skip("no C compiler: the native client cannot be built here")
    program = programs[client]
    markers = tmp_path / "markers"
    markers.mkdir()
    clean = tmp_path / "clean"
    clean.mkdir()
    work, sub, other = tmp_path / "work", tmp_path / "work" / "sub", tmp_path / "other"
    for directory in (work, sub, other):
        _plant(directory, shadow_names, markers)
    env = {k: v for k, v in os.environ.items() if k != "VCRDT_NO_SERVER"}
    env.update(
        XDG_RUNTIME_DIR=str(runtime),
        VCRDT_AUTHOR_NAME="Ada",
        VCRDT_AUTHOR_EMAIL="ada@example.com",
        # `resolve -i` / `merge -i` "edit": drop the marker lines, keeping every side's lines.
        EDITOR="sed -i -e '/^[<|=>]\\{7\\}/d'",
        VISUAL="sed -i -e '/^[<|=>]\\{7\\}/d'",
    )
    if not served:
        env["VCRDT_NO_SERVER"] = "1"
    else:
        entry_points.start_server(program, env, clean)  # from a directory without planted modules
        assert not list(markers.iterdir())

    ran: list[tuple[str, ...]] = []

    def vcrdt(*args: str, cwd: Path = work, stdin: str = "", codes: tuple[int, ...] = (0,)) -> str:
        ran.append(args)
        done = subprocess.run(
            [program, *args], cwd=cwd, env=env, input=stdin.encode(), capture_output=True, timeout=120, check=False
        )
        planted = sorted(p.name for p in markers.iterdir())
        assert not planted, f"`vcrdt {' '.join(args)}` imported modules from the work tree: {planted}"
        assert done.returncode in codes, (args, done.returncode, done.stderr.decode(errors="replace"))
        return done.stdout.decode(errors="replace")

    (work / "a.txt").write_text("one\ntwo\nthree\n")
    (work / "data.json").write_text('{"a": 1, "b": 2}\n')
    vcrdt("init")
    vcrdt("status")
    vcrdt("commit", "-A", "-m", "first")
    vcrdt("switch", "-c", "topic")
    (work / "a.txt").write_text("one\nTWO (topic)\nthree\n")
    vcrdt("commit", "-m", "topic edit")
    vcrdt("switch", "main")
    (work / "a.txt").write_text("one\nTWO (main)\nthree\n")
    vcrdt("diff")
    vcrdt("status", "--short", cwd=sub)
    vcrdt("commit", "-m", "main edit")
    vcrdt("log")
    vcrdt("log", "--stat", "--oneline", cwd=sub)
    vcrdt("show", "HEAD")
    vcrdt("diff", "HEAD~1", "HEAD")
    # A conflicting merge, settled hunk by hunk with "edit" (where `shlex` was first imported).
    vcrdt("merge", "topic", "-i", stdin="d\n")
    vcrdt("conflicts", codes=(0, 1))
    vcrdt("commit", "-m", "merged", codes=(0, 1))
    vcrdt("switch", "topic")
    vcrdt("merge", "main", codes=(0, 1))
    vcrdt("conflicts", "--json", codes=(0, 1))
    vcrdt("merge", "--abort", codes=(0, 1))
    for name, text in (("base.json", '{"a": 1}\n'), ("ours.json", '{"a": 1, "b": 2}\n'), ("theirs.json", '{"a": 3}\n')):
        (sub / name).write_text(text)
    vcrdt("merge-file", "-p", "ours.json", "base.json", "theirs.json", cwd=sub, codes=(0, 1))
    vcrdt("merge-file", "--rule", "json", "ours.json", "base.json", "theirs.json", cwd=sub, codes=(0, 1))
    (other / "b.txt").write_text("b\n")
    vcrdt("init", cwd=other)
    vcrdt("commit", "-A", "-m", "elsewhere", cwd=other)
    vcrdt("fetch", str(other), codes=(0, 1))
    vcrdt("fetch", "--json", "../other", cwd=work, codes=(0, 1))
    vcrdt("branch")
    vcrdt("fsck")
    vcrdt("--help")
    vcrdt("merge", "--help")
    vcrdt("nosuch", codes=(2,))
    vcrdt("log", "no-such-revision", codes=(1,))
    vcrdt("--version")
    assert len(ran) > 30


@pytest.mark.hostile
def test_the_server_is_started_without_the_current_directory_on_its_path(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[list[str]] = []

    class Popen:
        def __init__(self, args: list[str], **kwargs: object) -> None:
            started.append(args)

    monkeypatch.setattr(subprocess, "Popen", Popen)
    monkeypatch.setattr(client, "runtime_dir", lambda: "/nonexistent")
    client.spawn()
    (args,) = started
    assert args[0] == sys.executable and "-P" in args[: args.index("-c")]


@pytest.mark.hostile
def test_a_server_child_drops_the_current_directory_from_its_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    site = tmp_path / "lib" / "site-packages"
    site.mkdir(parents=True)
    keep = ["/usr/lib/python3.11", str(site)]
    monkeypatch.setattr(sys, "path", ["", ".", "relative/dir", str(tmp_path), f"{tmp_path}/", *keep])
    monkeypatch.chdir(tmp_path)
    server._drop_cwd_from_path()
    assert sys.path == keep
    monkeypatch.chdir(site)  # a site directory stays, even as the current directory
    monkeypatch.setattr(sys, "path", ["", *keep])
    server._drop_cwd_from_path()
    assert sys.path == keep
