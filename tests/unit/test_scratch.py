"""`vcrdt.scratch`: directories made under a scratch name and renamed; orphans of dead processes removed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from vcrdt.scratch import make_scratch, remove_orphaned, scratch_prefix

HOST = os.uname().nodename


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
    return int(done.stdout)


def test_each_scratch_directory_is_new_and_sits_beside_its_target(tmp_path: Path) -> None:
    assert scratch_prefix(str(tmp_path / "out.git")) == ".out.git.vcrdt-init-"
    assert scratch_prefix(str(tmp_path / ".vcrdt")) == ".vcrdt.vcrdt-init-"
    one, two = make_scratch(str(tmp_path / "out.git")), make_scratch(str(tmp_path / "out.git"))
    assert one != two  # two in one process (threads) never share one
    for path in (one, two):
        name = os.path.basename(path)
        assert os.path.isdir(path) and os.path.dirname(path) == str(tmp_path)
        assert name.startswith(f".out.git.vcrdt-init-{HOST}-{os.getpid()}-") and len(name.rsplit("-", 1)[1]) == 8


def test_only_this_hosts_directories_of_processes_that_are_gone_are_removed(tmp_path: Path) -> None:
    prefix = ".t.vcrdt-init-"
    with subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE) as live:
        keep = [
            f"{prefix}{HOST}-{live.pid}-0123abcd",  # its process runs
            f"{prefix}{HOST}-{os.getpid()}-0123abcd",  # this process's own (another thread's, maybe)
            f"{prefix}other-host-{_dead_pid()}-0123abcd",  # another host's: cannot be asked
            f"{prefix}{HOST}-12x-0123abcd",  # not a pid
            f"{prefix}{HOST}-\u00b2-0123abcd",  # a digit, not an ASCII one
            f"{prefix}{HOST}-{10**9 + 7}0-0123abcd",  # too long for a pid
            f"{prefix}{HOST}-{_dead_pid()}-notrandom",  # not the random part
            f"{prefix}{HOST}-{_dead_pid()}",  # no random part: a name a user chose
            f".other.vcrdt-init-{HOST}-{_dead_pid()}-0123abcd",  # another target's
        ]
        dead = f"{prefix}{HOST}-{_dead_pid()}-0123abcd"
        for name in [*keep, dead]:
            (tmp_path / name).mkdir()
            (tmp_path / name / "HEAD").write_text("x\n")
        as_file = tmp_path / f"{prefix}{HOST}-{_dead_pid()}-89abcdef"
        as_file.write_text("a file, not a scratch directory\n")
        remove_orphaned(str(tmp_path), prefix)
        live.communicate(b"")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*keep, as_file.name])


def test_making_one_removes_the_orphans_of_its_target(tmp_path: Path) -> None:
    orphan = tmp_path / f".out.git.vcrdt-init-{HOST}-{_dead_pid()}-0123abcd"
    orphan.mkdir()
    made = make_scratch(str(tmp_path / "out.git"))
    assert [p.name for p in tmp_path.iterdir()] == [os.path.basename(made)]


def test_a_parent_that_cannot_be_read_is_left_alone(tmp_path: Path) -> None:
    remove_orphaned(str(tmp_path / "missing"), ".t.vcrdt-init-")
