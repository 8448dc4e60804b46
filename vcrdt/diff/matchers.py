"""Line matchers for `vcrdt.merge.diff3`, one per git diff algorithm (`--diff-algorithm`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from vcrdt.diff.histogram import histogram_blocks
from vcrdt.diff.xdiff import XDIFF_ALGORITHMS, flagged_matcher, xdiff_matcher
from vcrdt.errors import GitInteropError

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from typing import Literal

    DiffAlgorithm = Literal["myers", "minimal", "patience", "histogram"]
else:
    DiffAlgorithm = str  # a Literal of these strings to the type checker
# git's names (`--diff-algorithm`); "default" is git's other name for myers.
DIFF_ALGORITHMS: tuple[str, ...] = ("myers", "default", "minimal", "patience", "histogram")


def line_matcher(algorithm: str = "myers") -> Callable[[Sequence[bytes], Sequence[bytes]], list[tuple[int, int, int]]]:
    """Return the line matcher for one of git's diff algorithms.

    Args:
        algorithm: ``myers`` (or ``default``), ``minimal``, ``patience`` or ``histogram``.

    Returns:
        A matcher for `vcrdt.merge.diff3`: `xdiff_matcher` for myers, libgit2's xdiff with
        flags for minimal and patience, `histogram_blocks` (pure Python) for histogram.

    Raises:
        GitInteropError: For an unknown name.
    """
    if algorithm == "histogram":
        return histogram_blocks
    flags = XDIFF_ALGORITHMS.get(algorithm)
    if flags is None:
        raise GitInteropError(f"unknown diff algorithm {algorithm!r}: use one of {', '.join(DIFF_ALGORITHMS)}")
    return xdiff_matcher if not flags else flagged_matcher(flags)
