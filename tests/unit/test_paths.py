from __future__ import annotations

import pytest

from vcrdt.errors import BadPathError
from vcrdt.paths import check_path, decode, encode, is_meta_alias

BAD = {
    "..": "'..' component",
    "a/../../x": "'..' component",
    ".": "'.' component",
    "a/./b": "'.' component",
    "": "empty path",
    "a//b": "empty path component",
    "/etc/x": "absolute path",
    "C:x": "absolute path",
    "a\\..\\..\\x": "backslash",
    "a\0b": "NUL",
    ".vcrdt": "reserved",
    "sub/.vcrdt/hooks/x": "reserved",
    ".VCRDT": "reserved",
    ".Vcrdt/x": "reserved",
    ".vc\u200crdt": "reserved",
    ".\ufeffvcrdt": "reserved",
    ".vcrdt.": "reserved",
    ".vcrdt ": "reserved",
    ".vcrdt::$INDEX_ALLOCATION": "reserved",
    "VCRDT~1": "reserved",
    "x" * 256: "longer than 255",
    "/".join(["abcdefgh"] * 600): "longer than 4096",
}


@pytest.mark.parametrize("path", list(BAD))
def test_bad_paths(path: str) -> None:
    with pytest.raises(BadPathError) as info:
        check_path(path)
    assert BAD[path] in info.value.rule
    assert repr(path) in str(info.value)


@pytest.mark.parametrize("path", ["a", "a/b/c.txt", ".vcrdtignore", "vcrdt", "x.vcrdt", "caf\u00e9", "..a", "a.."])
def test_good_paths(path: str) -> None:
    assert check_path(path) == path


def test_every_hfs_ignorable_is_caught() -> None:
    for cp in "\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u206a\u206b\u206c\u206d\u206e\u206f\ufeff":
        assert is_meta_alias(".vc" + cp + "rdt")


def test_non_utf8_names_round_trip() -> None:
    raw = b"caf\xe9/\xff\xfe.txt"
    assert encode(decode(raw)) == raw
    check_path(decode(raw))
