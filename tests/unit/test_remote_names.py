"""A remote's name follows ``[A-Za-z0-9][A-Za-z0-9_-]*``, checked without a regular expression."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from vcrdt.errors import ConfigError
from vcrdt.porcelain.replicas import remote_add
from vcrdt.repo import Repository, Settings

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Repository:
    return Repository.init(tmp_path_factory.mktemp("remotes") / "r", Settings("a", "a@b"))


@given(st.text(alphabet="aZ09_-.é ١/\n", max_size=6))
@example("")
@example("-a")
@example("a-")
@example("٣")  # a digit, not an ASCII one
def test_a_name_is_accepted_exactly_when_the_pattern_matches_it(repo: Repository, name: str) -> None:
    try:
        remote_add(repo, name, "/some/path")
    except ConfigError as exc:
        accepted = "already exists" in str(exc)
    else:
        accepted = True
    assert accepted == bool(NAME.fullmatch(name))


CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
BAD = re.compile(r"[ ~^:?*\[\\]")


@given(
    st.text(max_size=8)
    | st.text(alphabet="a ~^:?*[\\]/.\x00\x1f\x7f\x9f\xa0\u061c\u200d\u200e\u202a\u202f\u2069\u206a", max_size=6)
)
def test_ref_names_refuse_the_characters_the_patterns_named(name: str) -> None:
    from vcrdt.refs import _short_name_rule

    rule = _short_name_rule(name) or ""
    if CONTROL.search(name):
        assert rule in ("contains a control character", "not valid UTF-8", "empty name")
    elif BAD.search(name) and not name.startswith("-") and name not in ("HEAD", "@"):
        assert rule in ("contains a space or one of ~ ^ : ? * [ \\", "not valid UTF-8")
    else:
        assert rule not in ("contains a control character", "contains a space or one of ~ ^ : ? * [ \\")
