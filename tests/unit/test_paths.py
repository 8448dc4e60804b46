"""Path rules: one test per row of the bad-inputs checklist that concerns a path or a name.

Every rejection is a `BadPathError` whose `path` is the whole offending path
and whose message names both the path and the rule.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from vcrdt.errors import BadPathError, RepoError
from vcrdt.paths import (
    MAX_COMPONENT_BYTES,
    MAX_PATH_BYTES,
    META_DIR,
    check_component,
    check_path,
    decode,
    encode,
    is_meta_alias,
    parent_dirs,
)

# Code points HFS+ ignores when it compares names (the list git checks in is_hfs_dotgit).
HFS_IGNORABLES = [
    "\u200c",
    "\u200d",
    "\u200e",
    "\u200f",
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",
    "\u206a",
    "\u206b",
    "\u206c",
    "\u206d",
    "\u206e",
    "\u206f",
    "\ufeff",
]


def assert_rejected(path: str, rule: str) -> BadPathError:
    with pytest.raises(BadPathError) as info:
        check_path(path)
    err = info.value
    assert err.path == path
    assert rule in err.rule
    assert str(err) == f"invalid path {path!r}: {err.rule}"
    return err


# --- bad_path_dotdot ---------------------------------------------------------------


@pytest.mark.hostile
@pytest.mark.parametrize("path", ["..", "a/../../x", "a/..", "../a", "a/b/../../../etc/passwd"])
def test_bad_path_dotdot(path: str) -> None:
    assert_rejected(path, "'..' component not allowed")


# --- bad_path_dot ------------------------------------------------------------------------


@pytest.mark.hostile
@pytest.mark.parametrize("path", [".", "./a", "a/./b", "a/."])
def test_bad_path_dot(path: str) -> None:
    assert_rejected(path, "'.' component not allowed")


# --- bad_path_empty ----------------------------------------------------------------------


@pytest.mark.hostile
def test_bad_path_empty_path() -> None:
    assert_rejected("", "empty path")


@pytest.mark.hostile
@pytest.mark.parametrize("path", ["a//b", "a/", "a/b//", "a///b"])
def test_bad_path_empty_component(path: str) -> None:
    assert_rejected(path, "empty path component")


@pytest.mark.hostile
def test_bad_path_empty_name() -> None:
    with pytest.raises(BadPathError, match="empty path component"):
        check_component("")


# --- bad_path_absolute -------------------------------------------------------------------


@pytest.mark.hostile
@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/etc/x", id="posix-root"),
        pytest.param("/", id="root-alone"),
        pytest.param("//srv/share/x", id="posix-double-slash"),
        pytest.param("C:x", id="drive-relative"),
        pytest.param("C:\\x", id="drive-absolute"),
        pytest.param("c:/x", id="drive-forward-slash"),
        pytest.param("z:", id="drive-alone"),
        pytest.param("\u00e4:x", id="subst-non-ascii-letter"),
        pytest.param("\u058d:x", id="subst-non-letter-symbol"),
        pytest.param("1:x", id="subst-digit"),
    ],
)
def test_bad_path_absolute(path: str) -> None:
    assert_rejected(path, "absolute path not allowed")


@pytest.mark.hostile
def test_bad_path_absolute_unc_share() -> None:
    # `\\srv\share\x` is one name holding backslashes: refused by the backslash rule.
    assert_rejected("\\\\srv\\share\\x", "backslash inside a name")


# --- bad_path_backslash ------------------------------------------------------------------


@pytest.mark.hostile
@pytest.mark.parametrize("path", ["a\\..\\..\\x", "..\\x", "sub/a\\b", "x\\"])
def test_bad_path_backslash(path: str) -> None:
    assert_rejected(path, "backslash inside a name")


# --- bad_path_nul_slash --------------------------------------------------------------------


@pytest.mark.hostile
@pytest.mark.parametrize("path", ["a\0b", "\0", "dir/x\0.txt", "x\0"])
def test_bad_path_nul(path: str) -> None:
    assert_rejected(path, "NUL byte")


@pytest.mark.hostile
def test_bad_name_slash_inside_a_single_name() -> None:
    with pytest.raises(BadPathError, match="slash inside a name") as info:
        check_component("a/b", "dir/a/b")
    assert info.value.path == "dir/a/b"


# --- bad_meta_dir_exact ----------------------------------------------------------------------


@pytest.mark.hostile
@pytest.mark.parametrize("path", [".vcrdt", ".vcrdt/objects", "sub/.vcrdt/hooks/x", "a/b/c/.vcrdt"])
def test_bad_meta_dir_exact(path: str) -> None:
    err = assert_rejected(path, "reserved for repository metadata")
    assert META_DIR in err.rule


# --- bad_meta_dir_case --------------------------------------------------------------------------


@pytest.mark.hostile
@pytest.mark.parametrize("path", [".VCRDT", ".Vcrdt", ".vCrDt/x", "sub/.VCRDT/hooks/x"])
def test_bad_meta_dir_case(path: str) -> None:
    assert_rejected(path, "reserved for repository metadata")


# --- bad_meta_dir_hfs -----------------------------------------------------------------------------


@pytest.mark.hostile
@pytest.mark.parametrize("path", [".vc\u200crdt", ".\ufeffvcrdt", "sub/.vc\u200crdt/x", ".VC\u200dRDT"])
def test_bad_meta_dir_hfs(path: str) -> None:
    assert_rejected(path, "reserved for repository metadata")


@pytest.mark.hostile
@pytest.mark.parametrize("cp", HFS_IGNORABLES, ids=[f"U+{ord(c):04X}" for c in HFS_IGNORABLES])
def test_bad_meta_dir_hfs_every_ignorable_at_every_position(cp: str) -> None:
    for i in range(len(META_DIR) + 1):
        name = META_DIR[:i] + cp + META_DIR[i:]
        assert_rejected(name, "reserved for repository metadata")
        assert_rejected("sub/" + name + "/x", "reserved for repository metadata")


@pytest.mark.hostile
def test_bad_meta_dir_hfs_several_ignorables() -> None:
    assert_rejected("\u200c.\u200dv\u200ec\u200fr\u202ad\u202bt\ufeff", "reserved for repository metadata")


# --- bad_meta_dir_ntfs -----------------------------------------------------------------------------


@pytest.mark.hostile
@pytest.mark.parametrize(
    "path",
    [
        pytest.param(".vcrdt.", id="trailing-dot"),
        pytest.param(".vcrdt ", id="trailing-space"),
        pytest.param(".vcrdt. . .", id="trailing-dots-and-spaces"),
        pytest.param(".vcrdt::$INDEX_ALLOCATION", id="ads-index-allocation"),
        pytest.param(".VCRDT::$index_allocation", id="ads-case"),
        pytest.param(".vcrdt:stream", id="ads-named-stream"),
        pytest.param(".vcrdt . ::$DATA", id="ads-after-trailing-dot"),
        pytest.param("VCRDT~1", id="short-name"),
        pytest.param("vcrdt~2", id="short-name-lowercase"),
        pytest.param("VCRDT~12", id="short-name-two-digits"),
        pytest.param("VCRDT~1.", id="short-name-trailing-dot"),
        pytest.param("VCRDT~1::$INDEX_ALLOCATION", id="short-name-ads"),
        pytest.param("sub/VCRDT~1/hooks/x", id="short-name-at-depth"),
        pytest.param("sub/.vcrdt./x", id="trailing-dot-at-depth"),
        pytest.param(".VC\u200cRDT. ::$DATA", id="every-disguise-at-once"),
    ],
)
def test_bad_meta_dir_ntfs(path: str) -> None:
    assert_rejected(path, "reserved for repository metadata")


# --- bad_path_too_long -------------------------------------------------------------------------------


@pytest.mark.hostile
def test_bad_path_too_long_component() -> None:
    assert_rejected("x" * (MAX_COMPONENT_BYTES + 1), f"component longer than {MAX_COMPONENT_BYTES} bytes")


@pytest.mark.hostile
def test_bad_path_too_long_component_counts_bytes_not_characters() -> None:
    # 128 two-byte characters: 128 characters but 256 bytes.
    assert_rejected("sub/" + "\u00e9" * 128, "component longer than 255 bytes")


def test_component_of_exactly_255_bytes_is_accepted() -> None:
    name = "\u00e9" * 127 + "x"
    assert len(encode(name)) == MAX_COMPONENT_BYTES
    assert check_path(name) == name


@pytest.mark.hostile
def test_bad_path_too_long_path() -> None:
    path = "/".join(["abcdefg"] * 512) + "/x"  # 8 * 512 + 1 = 4097 bytes
    assert len(encode(path)) == MAX_PATH_BYTES + 1
    assert_rejected(path, f"path longer than {MAX_PATH_BYTES} bytes")


def test_path_of_exactly_4096_bytes_is_accepted() -> None:
    path = "/".join(["abcdefg"] * 512)[:-1] + "xx"
    assert len(encode(path)) == MAX_PATH_BYTES
    assert check_path(path) == path


# --- names that are not UTF-8 ---------------------------------------------------------------------------


def test_non_utf8_names_round_trip() -> None:
    for raw in [b"caf\xe9", b"\xff\xfe.txt", b"\x80", b"\xc3", b"\xed\xa0\x80", b"ok-\xc3\xa9-\xe9"]:
        name = decode(raw)
        assert encode(name) == raw
        assert check_path("dir/" + name) == "dir/" + name


def test_every_single_byte_round_trips() -> None:
    for byte in range(256):
        raw = bytes([byte])
        assert encode(decode(raw)) == raw


def test_valid_utf8_decodes_to_text() -> None:
    assert decode("caf\u00e9".encode()) == "caf\u00e9"


@pytest.mark.hostile
@pytest.mark.parametrize(
    ("name", "rule"),
    [
        pytest.param("\ud800", "lone surrogate", id="lone-high-surrogate"),
        pytest.param("\udc41", "lone surrogate", id="escape-of-an-ascii-byte"),
        pytest.param("\udcc3\udca9", "non-canonical", id="escaped-bytes-of-valid-utf8"),
    ],
)
def test_names_that_do_not_round_trip_are_rejected(name: str, rule: str) -> None:
    # "\udcc3\udca9" would encode to the bytes of "é": two names, one file.
    assert_rejected("dir/" + name, rule)


# --- the error ----------------------------------------------------------------------------------------------


def test_bad_path_error_is_a_repo_error_with_path_and_rule() -> None:
    err = assert_rejected("a/../b", "'..'")
    assert isinstance(err, RepoError)
    assert str(err) == "invalid path 'a/../b': '..' component not allowed"


def test_check_component_names_the_whole_path() -> None:
    with pytest.raises(BadPathError) as info:
        check_component(".vcrdt", "deep/dir/.vcrdt")
    assert info.value.path == "deep/dir/.vcrdt"


# --- accepted ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "a",
        "a/b/c.txt",
        ".vcrdtignore",
        ".vcrdt-backup",
        "vcrdt",
        "x.vcrdt",
        ".vcrd",
        "VCRDT~",
        "VCRDT~1a",
        ".vcrdt~1",
        "caf\u00e9",
        "..a",
        "a..",
        ".hidden/file",
        "a b/c d",
        "dir/C:x",
        "x" * MAX_COMPONENT_BYTES,
    ],
)
def test_good_paths(path: str) -> None:
    assert check_path(path) == path


@pytest.mark.parametrize("name", [".VCRDT", ".vcrdt.", "VCRDT~1", ".vc\u200crdt", ".vcrdt::$INDEX_ALLOCATION"])
def test_is_meta_alias(name: str) -> None:
    assert is_meta_alias(name)


@pytest.mark.parametrize("name", ["x", ".vcrdtx", "vcrdt~", "a.vcrdt"])
def test_is_not_meta_alias(name: str) -> None:
    assert not is_meta_alias(name)


def test_parent_dirs() -> None:
    assert parent_dirs("a/b/c") == ["a", "a/b"]
    assert parent_dirs("top") == []


# --- any text: the checker answers, it never crashes ---------------------------------------------------------


@pytest.mark.hostile
@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
@example("\ud800")
@example("a/\udcc3\udca9")
def test_check_path_raises_only_bad_path_error(text: str) -> None:
    try:
        assert check_path(text) == text
    except BadPathError as exc:
        assert exc.path == text
