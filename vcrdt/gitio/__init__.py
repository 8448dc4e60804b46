"""Git interop: import git histories into vcrdt and export vcrdt histories to git, id for id.

The one package besides `vcrdt.diff.xdiff` that imports pygit2 (checked by import-linter).

- `record`: git object bytes and the git record (pure; docs/format.md, "Git interop").
- `maps`: the id mapping and the ref state of earlier runs, in the repository's database.
- `importer`: `import_git`.
- `exporter`: `export_git`, and `git_id_of` (the git id of a commit, nothing written).
"""

from __future__ import annotations

from vcrdt.gitio.exporter import ExportSummary, export_git, git_id_of
from vcrdt.gitio.importer import ImportSummary, import_git
from vcrdt.gitio.lookup import map_rev

__all__ = ["ExportSummary", "ImportSummary", "export_git", "git_id_of", "import_git", "map_rev"]
