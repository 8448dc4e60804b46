"""vcrdt: a git-like versioned store with diff3 merges, CRDT resolution and Merkle sync."""

__version__ = "0.1.0"
