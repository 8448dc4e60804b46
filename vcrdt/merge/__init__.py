"""Merging: the diff3 line algorithm (pure), conflicts as values, and tree merges."""
