from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.helpers.killed import KILLED_BEFORE_RENAME
from vcrdt.errors import BadRevisionError, ConfigError, IdentityError, NotARepositoryError, RepoError, RepoExistsError
from vcrdt.repo import Repository, Settings, split_key


def test_init_and_discover(tmp_path: Path) -> None:
    repo = Repository.init(tmp_path, Settings())
    (tmp_path / "sub").mkdir()
    found = Repository.discover(tmp_path / "sub", Settings())
    assert found.root == tmp_path and found.replica == repo.replica
    with pytest.raises(RepoExistsError):
        Repository.init(tmp_path, Settings())
    with pytest.raises(NotARepositoryError):
        Repository.discover(tmp_path.parent / "elsewhere-that-does-not-exist", Settings())


def test_signature_rejects_bad_identity_and_clock(tmp_path: Path) -> None:
    bad = Repository.init(tmp_path / "a", Settings(author_name="A\0B", author_email="a@b"))
    with pytest.raises(IdentityError, match="NUL"):
        bad.signature()
    early = datetime(1969, 12, 31, tzinfo=UTC)
    old = Repository.init(tmp_path / "b", Settings(author_name="A", author_email="a@b", now=lambda: early))
    with pytest.raises(ConfigError, match="before 1970"):
        old.signature()


def test_config_round_trip_and_keys(tmp_path: Path) -> None:
    repo = Repository.init(tmp_path, Settings())
    repo.config_set("user.name", 'Ada "the first" \\ Lovelace')
    assert repo.config_get("user.name") == 'Ada "the first" \\ Lovelace'
    repo.config_set("user.name", None)
    assert repo.config_get("user.name") is None
    with pytest.raises(ConfigError):
        split_key("nosection")


def test_resolve_errors(tmp_path: Path) -> None:
    repo = Repository.init(tmp_path, Settings())
    with pytest.raises(BadRevisionError, match="HEAD has no commits yet"):
        repo.resolve("HEAD")
    with pytest.raises(BadRevisionError, match="unknown revision"):
        repo.resolve("nope")


# Runs `Repository.init`, killed (SIGKILL) when it would put `.vcrdt` in place.
_KILLED_INIT = (
    KILLED_BEFORE_RENAME
    + """
from vcrdt.repo import Repository, Settings
Repository.init(sys.argv[1], Settings())
"""
)


def test_a_killed_init_leaves_no_half_made_repository(tmp_path: Path) -> None:
    import subprocess
    import sys

    root = tmp_path / "r"
    killed = subprocess.run([sys.executable, "-c", _KILLED_INIT, str(root)], capture_output=True, check=False)
    assert killed.returncode == -9, killed.stderr
    assert not (root / ".vcrdt").exists()
    left = [p.name for p in root.iterdir()]
    assert len(left) == 1 and left[0].startswith(".vcrdt.vcrdt-init-"), left
    with pytest.raises(NotARepositoryError):
        Repository.discover(root, Settings())
    repo = Repository.init(root, Settings())
    assert sorted(p.name for p in root.iterdir()) == [".vcrdt"]  # the dead init's scratch is gone
    assert repo.head_commit() is None
    repo.close()


def test_init_replaces_an_empty_metadata_directory_and_refuses_a_file(tmp_path: Path) -> None:
    (tmp_path / "a" / ".vcrdt").mkdir(parents=True)
    Repository.init(tmp_path / "a", Settings()).close()
    assert (tmp_path / "a" / ".vcrdt" / "format").is_file()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / ".vcrdt").write_text("not a directory\n")
    with pytest.raises(RepoError, match=r"\.vcrdt exists and is not a directory"):
        Repository.init(tmp_path / "b", Settings())
    assert (tmp_path / "b" / ".vcrdt").read_text() == "not a directory\n"
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / ".vcrdt").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(RepoError, match="not a directory"):
        Repository.init(tmp_path / "c", Settings())
    assert not (tmp_path / "elsewhere").exists()
    (tmp_path / "d").mkdir()
    (tmp_path / "empty").mkdir()
    (tmp_path / "d" / ".vcrdt").symlink_to(tmp_path / "empty")  # a link to a real, empty directory
    with pytest.raises(RepoError, match="not a directory"):
        Repository.init(tmp_path / "d", Settings())
    assert list((tmp_path / "empty").iterdir()) == []


def test_init_through_a_symlink_and_dot_dot_goes_where_the_kernel_resolves_it(tmp_path: Path) -> None:
    (tmp_path / "else" / "x").mkdir(parents=True)
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "link").symlink_to(tmp_path / "else" / "x")
    Repository.init(tmp_path / "a" / "link" / "..", Settings()).close()  # the parent of else/x: else
    assert (tmp_path / "else" / ".vcrdt" / "format").is_file()
    assert not (tmp_path / "a" / ".vcrdt").exists()
    Repository.discover(tmp_path / "else", Settings()).close()


def test_concurrent_inits_of_one_root_make_one_repository(tmp_path: Path) -> None:
    import threading

    outcomes: list[str] = []
    start = threading.Barrier(8)

    def init() -> None:
        start.wait()
        try:
            Repository.init(tmp_path, Settings()).close()
            outcomes.append("made")
        except RepoExistsError:
            outcomes.append("exists")

    threads = [threading.Thread(target=init) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["exists"] * 7 + ["made"]
    assert [p.name for p in tmp_path.iterdir()] == [".vcrdt"]  # no scratch directory left
    Repository.discover(tmp_path, Settings()).close()


def test_an_empty_metadata_directory_that_is_the_working_directory_is_refused(tmp_path: Path) -> None:
    import os

    (tmp_path / ".vcrdt").mkdir()
    old = os.getcwd()
    os.chdir(tmp_path / ".vcrdt")
    try:
        with pytest.raises(RepoError, match="is the current directory"):
            Repository.init(tmp_path, Settings())
    finally:
        os.chdir(old)


def test_a_metadata_directory_without_its_format_file_is_named_as_not_whole(tmp_path: Path) -> None:
    (tmp_path / ".vcrdt").mkdir()
    (tmp_path / ".vcrdt" / "store.db").write_bytes(b"")
    with pytest.raises(RepoError, match="the format file is missing: not a whole repository"):
        Repository.discover(tmp_path, Settings())
    with pytest.raises(RepoExistsError):
        Repository.init(tmp_path, Settings())
