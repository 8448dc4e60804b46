"""`SyncLimits.from_config`: the repository's config over the global file, defaults for the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from vcrdt.errors import ConfigError
from vcrdt.repo import Repository, Settings
from vcrdt.sync.limits import SyncLimits


def test_limits_come_from_the_repository_over_the_global_file(tmp_path: Path) -> None:
    glob = tmp_path / "global.toml"
    glob.write_text('[limits]\nmax_object_size = "2M"\nmax_rounds = 9\nstall_timeout = "1.5"\n')
    repo = Repository.init(tmp_path / "r", Settings(author_name="t", author_email="t@x", global_config=glob))
    try:
        repo.config_set("limits.max_object_size", "3K")
        got = SyncLimits.from_config(repo)
        assert got.max_object_size == 3 << 10  # the repository's value wins
        assert got.max_rounds == 9 and got.stall_timeout == 1.5  # the global file's
        assert got.max_tree_size == SyncLimits().max_tree_size  # unset: the default
        repo.config_set("limits.max_frames", "0")
        with pytest.raises(ConfigError, match=r"limits\.max_frames = '0': not a whole number"):
            SyncLimits.from_config(repo)
    finally:
        repo.close()
