from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from vcrdt.errors import BadRevisionError, ConfigError, IdentityError, NotARepositoryError, RepoExistsError
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
