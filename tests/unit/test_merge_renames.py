"""Rename detection in tree merges (`vcrdt.merge.renames`): the edit follows the renamed file."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from vcrdt.merge.renames import find_renames, follow_renames, similarity
from vcrdt.merge.trees import merge_flat
from vcrdt.objects import EntryKind
from vcrdt.store.memory import MemoryStore

F = EntryKind.FILE
TEXT = b"".join(b"line %d of a file long enough to be itself\n" % i for i in range(10))


def test_exact_rename_is_found_and_prefers_the_same_file_name() -> None:
    s = MemoryStore()
    oid = s.put("blob", TEXT)
    base = {"a/x.txt": (F, oid)}
    side = {"b/y.txt": (F, oid), "c/x.txt": (F, oid)}
    assert find_renames(s, base, side) == {"a/x.txt": "c/x.txt"}


def test_similar_rename_is_found_and_a_different_file_is_not() -> None:
    s = MemoryStore()
    old = s.put("blob", TEXT)
    edited = s.put("blob", TEXT.replace(b"line 3", b"LINE 3"))
    other = s.put("blob", b"something else entirely\n" * 10)
    assert find_renames(s, {"x": (F, old)}, {"y": (F, edited)}) == {"x": "y"}
    assert find_renames(s, {"x": (F, old)}, {"y": (F, other)}) == {}


def test_binary_files_and_kept_paths_are_not_renames() -> None:
    s = MemoryStore()
    old = s.put("blob", TEXT)
    binary = s.put("blob", b"\0" + TEXT)
    assert find_renames(s, {"x": (F, old)}, {"x": (F, old), "y": (F, old)}) == {}
    assert find_renames(s, {"x": (F, binary)}, {"y": (F, s.put("blob", b"\0" + TEXT + b"more\n"))}) == {}


def test_an_edit_follows_a_file_renamed_on_the_other_side_either_way_round() -> None:
    s = MemoryStore()
    old = s.put("blob", TEXT)
    renamed = s.put("blob", TEXT.replace(b"line 0", b"LINE 0"))
    edited = s.put("blob", TEXT.replace(b"line 9", b"LINE 9"))
    base, ours, theirs = {"x": (F, old)}, {"y": (F, renamed)}, {"x": (F, edited)}
    for o, t in ((ours, theirs), (theirs, ours)):
        tm = merge_flat(s, base, o, t)
        assert tm.is_clean and set(tm.entries) == {"y"}
        assert s.get(tm.entries["y"][1])[1] == TEXT.replace(b"line 0", b"LINE 0").replace(b"line 9", b"LINE 9")


def test_rename_against_a_deletion_of_an_unchanged_file_deletes_it() -> None:
    s = MemoryStore()
    old = s.put("blob", TEXT)
    tm = merge_flat(s, {"x": (F, old)}, {"y": (F, old)}, {})
    assert tm.is_clean and tm.entries == {}


def test_renames_to_the_same_name_merge_under_it_and_to_different_names_keep_both() -> None:
    s = MemoryStore()
    old = s.put("blob", TEXT)
    a = s.put("blob", TEXT.replace(b"line 0", b"A"))
    b = s.put("blob", TEXT.replace(b"line 9", b"B"))
    tm = merge_flat(s, {"x": (F, old)}, {"y": (F, a)}, {"y": (F, b)})
    assert tm.is_clean and set(tm.entries) == {"y"}
    tm = merge_flat(s, {"x": (F, old)}, {"y": (F, a)}, {"z": (F, b)})
    assert tm.is_clean and set(tm.entries) == {"y", "z"}


def test_the_other_sides_new_file_at_the_target_is_left_to_the_path_merge() -> None:
    s = MemoryStore()
    old = s.put("blob", TEXT)
    mine = s.put("blob", b"my own y\n")
    b, o, t = follow_renames(s, {"x": (F, old)}, {"y": (F, old)}, {"x": (F, old), "y": (F, mine)})
    assert (set(b), set(o), set(t)) == ({"x"}, {"y"}, {"x", "y"})


@given(st.binary(max_size=200), st.binary(max_size=200))
def test_similarity_is_symmetric_and_bounded(a: bytes, b: bytes) -> None:
    assert similarity(a, b) == similarity(b, a)
    assert 0 <= similarity(a, b) <= 100
    assert similarity(a, a) == 100
