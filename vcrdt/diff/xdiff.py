"""The adapter to libgit2's C xdiff (through pygit2): the one module that imports pygit2.

`diff_blobs` line-diffs two contents (Myers, with git's defaults, so hunks and
counts agree with `git diff`) into `vcrdt.diff.lines` values. `xdiff_matcher`
(and `xdiff_pair`, and `flagged_matcher` for the minimal and patience
algorithms) give the matching blocks `vcrdt.merge.diff3` merges by, over token
lines that stand in for the caller's lines.

pygit2 is the one import allowed here beyond the stdlib and the layers below
(written into the import-linter contract in pyproject.toml). It is loaded
inside the functions that need it, so importing this module stays cheap; and
of it only its C module, ``pygit2._pygit2`` (`_libgit2`), which holds
everything used here (``Patch``, ``GitError``): the package's own Python
(its enums, settings with ``ssl``, ``tarfile``, cffi bindings) costs about
70 ms of CPU more on every command that shows a diff or merges, against
15-25 ms for the C module alone.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType

from vcrdt.diff.lines import DiffLine, FileDiff, Hunk, Origin, is_binary
from vcrdt.errors import GitInteropError
from vcrdt.extensions import load_alone
from vcrdt.objects import EntryKind

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing the tree diff at run time
if TYPE_CHECKING:
    from vcrdt.diff.tree import ChangeStatus

# Content larger than this is reported as binary instead of line-diffed: the
# differ holds both sides and every line in memory.
MAX_DIFF_BYTES = 50 * 1024 * 1024

_ORIGINS: dict[str, Origin] = {" ": " ", "+": "+", "-": "-"}
# libgit2's "\ No newline at end of file" markers (context, addition, deletion
# side). They follow the line they belong to, whose raw content already lacks
# its "\n", so they carry no information of their own.
_EOFNL_ORIGINS = frozenset("=><")
# libgit2's GIT_DIFF_INDENT_HEURISTIC (pygit2's DiffOption.INDENT_HEURISTIC).
_INDENT_HEURISTIC = 1 << 18


def _libgit2() -> ModuleType:
    """Return pygit2's C module (``Patch``, ``GitError``), loaded without the package's Python if need be.

    If pygit2 is imported already (git interop, the command server), that is
    used. Otherwise the extension module is loaded by itself and registered
    as ``pygit2._pygit2``, so a later ``import pygit2`` takes the same module
    (its ``from ._pygit2 import ...`` finds it in `sys.modules`) and types
    stay one. Should pygit2's layout ever differ (no such file, a module that
    cannot load alone), the whole package is imported instead.
    """
    loaded = sys.modules.get("pygit2")
    if loaded is not None:
        return loaded
    module = sys.modules.get("pygit2._pygit2")
    if module is None:
        with _no_default_certificates():
            module = load_alone("pygit2", "_pygit2", needs=("Patch", "GitError"))
    if module is not None:
        return module
    import pygit2

    return pygit2


# The environment variable OpenSSL reads for its file of trusted certificates.
_CERT_FILE_ENV = "SSL_CERT_FILE"


@contextmanager
def _no_default_certificates() -> Iterator[None]:
    """Point OpenSSL at an empty certificate file while libgit2 initialises (the old value restored after).

    Loading pygit2's C module initialises libgit2, which initialises OpenSSL
    and reads the system's whole file of trusted certificates (parsing about
    150 of them: some 47 M instructions, more than the rest of the load) into
    the TLS context of its network transports. The module alone serves line
    diffs, which make no connection. Importing the pygit2 package later (git
    interop) sets the certificate locations again from Python's defaults
    (``pygit2.settings``), so its transports trust what they would have. The
    variable is set only for the length of the load, in a process whose other
    threads do not read the environment then.
    """
    saved = os.environ.get(_CERT_FILE_ENV)
    os.environ[_CERT_FILE_ENV] = os.devnull
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(_CERT_FILE_ENV, None)
        else:
            os.environ[_CERT_FILE_ENV] = saved


def diff_blobs(
    path: str,
    old: bytes | None,
    new: bytes | None,
    *,
    context: int = 3,
    status: ChangeStatus | None = None,
    old_path: str | None = None,
    old_kind: EntryKind | None = None,
    new_kind: EntryKind | None = None,
    sizes: tuple[int, int] | None = None,
) -> FileDiff:
    """Line-diff two versions of a file.

    The diff is libgit2's xdiff (Myers, git's defaults), so hunks, function
    context in hunk headers and the added/deleted counts match
    ``git diff``'s. Line endings are not normalised: a CRLF line differs from
    an LF line.

    Args:
        path: The file's path (its new path, if renamed).
        old: The old content; None if the file is absent on that side.
        new: The new content; None if the file is absent on that side.
        context: Lines of context around each change.
        status: The change status; by default ``added`` when `old` is None,
            ``deleted`` when `new` is None, else ``modified``.
        old_path: The old path, if different from `path`.
        old_kind: The old entry kind, for mode lines.
        new_kind: The new entry kind, for mode lines.
        sizes: The versions' sizes in bytes, when `old` or `new` stands in for a larger content
            (by default their lengths); a binary diff carries them.

    Returns:
        The file diff: no hunks when the contents are equal; binary, with no
        hunks, when either side is binary or larger than `MAX_DIFF_BYTES`.

    Raises:
        GitInteropError: If libgit2 fails to diff the buffers.
    """
    if status is None:
        status = (
            "added" if old is None and new is not None else "deleted" if new is None and old is not None else "modified"
        )
    a = b"" if old is None else old
    b = b"" if new is None else new
    old_path = path if old_path is None else old_path

    def result(binary: bool, added: int = 0, deleted: int = 0, hunks: tuple[Hunk, ...] = ()) -> FileDiff:
        kept = ((len(a), len(b)) if sizes is None else sizes) if binary else None
        return FileDiff(path, old_path, status, binary, added, deleted, hunks, old_kind, new_kind, kept)

    if a == b:
        return result(False)
    if is_binary(a) or is_binary(b) or len(a) > MAX_DIFF_BYTES or len(b) > MAX_DIFF_BYTES:
        return result(True)
    git = _libgit2()  # lazy: only commands showing diffs pay for loading libgit2
    try:
        # The indent heuristic is git diff's default (diff.indentHeuristic) and not libgit2's. No
        # paths go to libgit2: without a repository it reads no attributes for them, the result
        # never shows them, and a path that is not UTF-8 (surrogateescape) cannot cross into C.
        patch = git.Patch.create_from(a, b, flag=_INDENT_HEURISTIC, context_lines=context)
    except git.GitError as exc:
        raise GitInteropError(f"cannot diff {path!r}: {exc}") from exc
    if patch.delta.is_binary:
        return result(True)
    hunks: list[Hunk] = []
    for h in patch.hunks:
        lines: list[DiffLine] = []
        for ln in h.lines:
            if ln.origin in _EOFNL_ORIGINS:
                continue
            raw = ln.raw_content
            if raw.endswith(b"\n"):
                lines.append(DiffLine(_ORIGINS[ln.origin], raw[:-1]))
            else:
                lines.append(DiffLine(_ORIGINS[ln.origin], raw, True))
        # git cuts the function context at 80 bytes and then drops the whitespace it ends with;
        # libgit2 keeps that whitespace.
        header = h.header.rstrip(" \t\r\n")
        hunks.append(Hunk(h.old_start, h.old_lines, h.new_start, h.new_lines, header, tuple(lines)))
    _, added, deleted = patch.line_stats
    return result(False, added, deleted, tuple(hunks))


# Token lines stand in for the caller's lines in the texts handed to libgit2: the i-th is i in
# hex plus "\n". libgit2 hashes both buffers (SHA-1) and xdiff hashes every line, so short
# tokens make each diff several times cheaper than the raw text. Up to `_TOKENS_KEPT` of them
# are formatted once and kept (about 3 MB); longer inputs format the rest as they go.
_TOKENS_KEPT = 1 << 16
_token_cache: tuple[bytes, ...] = ()


def _token_lines(n: int) -> Iterator[bytes]:
    """Return an endless iterator of distinct token lines, the first `n` from the cache where it reaches."""
    global _token_cache
    cache = _token_cache
    if len(cache) < min(n, _TOKENS_KEPT):
        # Rebuilt whole and swapped in, never extended in place: a thread that races here
        # swaps in a prefix of the same sequence, and every caller iterates a consistent snapshot.
        cache = tuple(map(b"%x\n".__mod__, range(min(max(n, 2 * len(cache), 4096), _TOKENS_KEPT))))
        _token_cache = cache
    return itertools.chain(cache, map(b"%x\n".__mod__, itertools.count(len(cache))))


def fill_token_cache() -> None:
    """Format all `_TOKENS_KEPT` token lines now (the command server does, once for every child)."""
    _token_lines(_TOKENS_KEPT)


def _token_texts(*texts: Sequence[bytes]) -> list[bytes]:
    """Return each text with every line replaced by its token line.

    Equal lines, in one text or in different ones, get equal tokens and
    distinct lines distinct ones (a line takes the token of the position
    where it first occurs); which token a line gets does not matter (see
    `xdiff_matcher`).

    >>> _token_texts([b"x\\n", b"y\\n"], [b"y\\n", b"z\\n", b"x\\n"])
    [b'0\\n1\\n', b'1\\n3\\n0\\n']
    """
    seen: dict[bytes, bytes] = {}
    # One dict operation per line, driven from C: map stops at the end of each text, and the
    # token iterator is shared and endless, so every position draws a fresh token.
    fresh = _token_lines(sum(map(len, texts)))
    return [b"".join(map(seen.setdefault, text, fresh)) for text in texts]


def xdiff_matcher(a: Sequence[bytes], b: Sequence[bytes]) -> list[tuple[int, int, int]]:
    """Return the matching blocks of two line lists, from libgit2's xdiff (Myers, as git).

    The matcher `vcrdt.merge.diff3` uses when results must agree with git's.
    Each distinct line is replaced by a short numbered token line before the
    diff. xdiff compares lines only for equality (its classes, heuristics and
    sliding of hunks look at nothing else with the options used here), so the
    result is the one it would give for the lines themselves, but the line
    numbers it reports are indices into `a` and `b` however the caller split
    them (a lone ``\r`` ends a line for `bytes.splitlines`, not for xdiff),
    NUL bytes cannot make libgit2 call the input binary, and libgit2 has far
    fewer bytes to hash.

    Args:
        a: Lines of one side, each with its line ending.
        b: Lines of the other side.

    Returns:
        ``(i, j, n)`` triples with ``a[i:i+n] == b[j:j+n]``, increasing on
        both sides, ending with the sentinel ``(len(a), len(b), 0)``.

    Raises:
        GitInteropError: If libgit2 fails to diff the buffers.

    >>> xdiff_matcher([b"x\\n", b"y\\n", b"z\\n"], [b"x\\n", b"z\\n"])
    [(0, 0, 1), (2, 1, 1), (3, 2, 0)]
    """
    na, nb = len(a), len(b)
    if not na or not nb:
        return [(na, nb, 0)]
    if a == b:
        return [(0, 0, na), (na, nb, 0)]
    ta, tb = _token_texts(a, b)
    return _xdiff_blocks(ta, tb, na, nb)


def xdiff_pair(
    base: Sequence[bytes], a: Sequence[bytes], b: Sequence[bytes]
) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]:
    """Match `base` against both sides at once: what `xdiff_matcher` gives for each, tokenising `base` once.

    >>> xdiff_pair([b"x\\n"], [b"x\\n"], [])
    ([(0, 0, 1), (1, 1, 0)], [(1, 0, 0)])
    """
    tz, ta, tb = _token_texts(base, a, b)
    return _xdiff_side(tz, ta, len(base), len(a)), _xdiff_side(tz, tb, len(base), len(b))


def _xdiff_side(old: bytes, new: bytes, na: int, nb: int, flags: int = 0) -> list[tuple[int, int, int]]:
    """`_xdiff_blocks`, skipping libgit2 when a side is empty or equal to the other."""
    if not na or not nb:
        return [(na, nb, 0)]
    if old == new:
        # An unchanged side (common in tree merges) needs no diff: one block, as xdiff gives.
        return [(0, 0, na), (na, nb, 0)]
    return _xdiff_blocks(old, new, na, nb, flags)


def _xdiff_blocks(old: bytes, new: bytes, na: int, nb: int, flags: int = 0) -> list[tuple[int, int, int]]:
    """Matching blocks of two token texts of `na` and `nb` lines, from libgit2's xdiff (`flags`: its diff options)."""
    git = _libgit2()  # lazy, see diff_blobs
    try:
        patch = git.Patch.create_from(old, new, context_lines=0, flag=flags)
    except git.GitError as exc:
        raise GitInteropError(f"cannot diff lines: {exc}") from exc
    blocks: list[tuple[int, int, int]] = []
    ia = ib = 0
    for h in patch.hunks:
        # An empty range names the line before it; convert to 0-based starts.
        old_start = h.old_start - 1 if h.old_lines else h.old_start
        new_start = h.new_start - 1 if h.new_lines else h.new_start
        if old_start > ia:
            # invariant: the unchanged stretch between hunks has the same length on both sides
            assert old_start - ia == new_start - ib
            blocks.append((ia, ib, old_start - ia))
        ia, ib = old_start + h.old_lines, new_start + h.new_lines
    if ia < na:
        blocks.append((ia, ib, na - ia))
    blocks.append((na, nb, 0))
    return blocks


# diff3 asks a matcher for this attribute to match the base against both sides in one go.
xdiff_matcher.pair = xdiff_pair  # type: ignore[attr-defined]


# The algorithms libgit2 offers, by git's names (`--diff-algorithm`; "default" is git's other
# name for myers), as pygit2's DiffOption flags.
XDIFF_ALGORITHMS = {"myers": 0, "default": 0, "minimal": 1 << 29, "patience": 1 << 28}


class _FlaggedMatcher:
    """`xdiff_matcher` with libgit2 diff flags (the minimal or patience algorithm)."""

    def __init__(self, flags: int) -> None:
        self.flags = flags

    def __call__(self, a: Sequence[bytes], b: Sequence[bytes]) -> list[tuple[int, int, int]]:
        na, nb = len(a), len(b)
        if not na or not nb:
            return [(na, nb, 0)]
        if a == b:
            return [(0, 0, na), (na, nb, 0)]
        ta, tb = _token_texts(a, b)
        return _xdiff_blocks(ta, tb, na, nb, self.flags)

    def pair(
        self, base: Sequence[bytes], a: Sequence[bytes], b: Sequence[bytes]
    ) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]:
        """Match `base` against both sides, tokenising it once (see `xdiff_pair`)."""
        tz, ta, tb = _token_texts(base, a, b)
        return (
            _xdiff_side(tz, ta, len(base), len(a), self.flags),
            _xdiff_side(tz, tb, len(base), len(b), self.flags),
        )


def flagged_matcher(flags: int) -> Callable[[Sequence[bytes], Sequence[bytes]], list[tuple[int, int, int]]]:
    """Return `xdiff_matcher` run with libgit2 diff flags (a value of `XDIFF_ALGORITHMS`), with its `pair`.

    Args:
        flags: pygit2 DiffOption flags.

    Returns:
        The matcher.
    """
    return _FlaggedMatcher(flags)
