"""Diffs, as values the CLI renders and `--json` prints; one module per concern.

- `tree`: which paths differ between two trees or two flat path maps (`iter_tree_changes`,
  `diff_changes`, `flatten_tree`). Pure.
- `lines`: line diffs as values (`FileDiff` / `Hunk` / `DiffLine`), their stat and their
  git-style unified text (`format_unified`); git's binary rule (`is_binary`). Pure.
- `xdiff`: the adapter to libgit2's C xdiff through pygit2, the one module that imports it:
  `diff_blobs` (the line diff of two contents), `xdiff_matcher` (matching blocks for diff3).
- `histogram`: the histogram diff algorithm, in Python (libgit2 has none).
- `matchers`: `line_matcher`, the matcher for each of git's diff algorithms.

Callers import from the module that owns a name. This package also exports the public names,
each module imported on first use, so ``vcrdt.diff.X`` keeps meaning what it did when diff was
one module and ``import vcrdt.diff`` costs nothing.
"""

from __future__ import annotations

from vcrdt.extensions import lazy_exports

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from vcrdt.diff.lines import DiffLine, DiffStat, FileDiff, Hunk, Origin, format_unified, is_binary, stat_from
    from vcrdt.diff.matchers import DIFF_ALGORITHMS, DiffAlgorithm, line_matcher
    from vcrdt.diff.tree import (
        Change,
        ChangeStatus,
        Entry,
        FlatEntries,
        diff_changes,
        flatten_tree,
        iter_tree_changes,
        iter_tree_entries,
    )
    from vcrdt.diff.xdiff import diff_blobs, fill_token_cache, xdiff_matcher, xdiff_pair

# Each name's module, imported on first use.
_SUBMODULE = {
    "Change": "vcrdt.diff.tree",
    "ChangeStatus": "vcrdt.diff.tree",
    "DIFF_ALGORITHMS": "vcrdt.diff.matchers",
    "DiffAlgorithm": "vcrdt.diff.matchers",
    "DiffLine": "vcrdt.diff.lines",
    "DiffStat": "vcrdt.diff.lines",
    "Entry": "vcrdt.diff.tree",
    "FileDiff": "vcrdt.diff.lines",
    "FlatEntries": "vcrdt.diff.tree",
    "Hunk": "vcrdt.diff.lines",
    "Origin": "vcrdt.diff.lines",
    "diff_blobs": "vcrdt.diff.xdiff",
    "diff_changes": "vcrdt.diff.tree",
    "fill_token_cache": "vcrdt.diff.xdiff",
    "flatten_tree": "vcrdt.diff.tree",
    "format_unified": "vcrdt.diff.lines",
    "is_binary": "vcrdt.diff.lines",
    "iter_tree_changes": "vcrdt.diff.tree",
    "iter_tree_entries": "vcrdt.diff.tree",
    "line_matcher": "vcrdt.diff.matchers",
    "stat_from": "vcrdt.diff.lines",
    "xdiff_matcher": "vcrdt.diff.xdiff",
    "xdiff_pair": "vcrdt.diff.xdiff",
}


__getattr__, __dir__ = lazy_exports(globals(), _SUBMODULE)


__all__ = [
    "DIFF_ALGORITHMS",
    "Change",
    "ChangeStatus",
    "DiffAlgorithm",
    "DiffLine",
    "DiffStat",
    "Entry",
    "FileDiff",
    "FlatEntries",
    "Hunk",
    "Origin",
    "diff_blobs",
    "diff_changes",
    "fill_token_cache",
    "flatten_tree",
    "format_unified",
    "is_binary",
    "iter_tree_changes",
    "iter_tree_entries",
    "line_matcher",
    "stat_from",
    "xdiff_matcher",
    "xdiff_pair",
]
