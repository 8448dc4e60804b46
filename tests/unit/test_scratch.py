"""`vcrdt.scratch`: directories made under a scratch name and renamed; orphans of dead processes removed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from vcrdt.scratch import remove_orphaned, scratch_for, scratch_prefix


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
    return int(done.stdout)


def test_the_scratch_name_sits_beside_its_target_with_this_process_id(tmp_path: Path) -> None:
    assert scratch_prefix(str(tmp_path / "out.git")) == ".out.git.vcrdt-init-"
    assert scratch_prefix(str(tmp_path / ".vcrdt")) == ".vcrdt.vcrdt-init-"
    path = scratch_for(str(tmp_path / "out.git"))
    assert path == str(tmp_path / f".out.git.vcrdt-init-{os.getpid()}")
    assert not os.path.exists(path)  # named, not made


def test_only_directories_of_processes_that_are_gone_are_removed(tmp_path: Path) -> None:
    prefix = ".t.vcrdt-init-"
    with subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE) as live:
        keep = [
            f"{prefix}{live.pid}",  # its process runs
            f"{prefix}{os.getpid()}",  # this process's own
            f"{prefix}12x",  # not a pid
            f"{prefix}\u00b2",  # a digit, not an ASCII one
            f"{prefix}{10**30}",  # no process can have it
            f".other.vcrdt-init-{_dead_pid()}",  # another target's
        ]
        dead = f"{prefix}{_dead_pid()}"
        for name in [*keep, dead]:
            (tmp_path / name).mkdir()
            (tmp_path / name / "HEAD").write_text("x\n")
        as_file = tmp_path / f"{prefix}{_dead_pid()}"
        as_file.write_text("a file, not a scratch directory\n")
        remove_orphaned(str(tmp_path), prefix)
        live.communicate(b"")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*keep, as_file.name])


def test_a_parent_that_cannot_be_read_is_left_alone(tmp_path: Path) -> None:
    remove_orphaned(str(tmp_path / "missing"), ".t.vcrdt-init-")
