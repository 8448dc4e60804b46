"""Pure CRDT and causality types; no store, no I/O."""
