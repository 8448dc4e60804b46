"""vcrdt: a git-like versioned store with diff3 merges, CRDT resolution and Merkle sync."""

from vcrdt.extensions import CompiledFinder

# vcrdt's own modules load from their compiled files in fewer steps than the path finder takes.
CompiledFinder.install(__name__, __file__ or "")

__version__ = "0.1.0"
