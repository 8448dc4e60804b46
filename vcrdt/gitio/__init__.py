"""Git interop: import git histories into vcrdt and export vcrdt histories to git, id for id.

The one package besides `vcrdt.diff.xdiff` that imports pygit2 (checked by import-linter).

- `record`: git object bytes and the git record (pure; docs/format.md, "Git interop").
- `maps`: the id mapping and the ref state of earlier runs, in the repository's database.
- `importer`: `import_git`.
- `exporter`: `export_git`, and `git_id_of` (the git id of a commit, nothing written).
- `plumbing`: git's own commands, for what pygit2 cannot read (SHA-256) or need not (small runs).
"""

from __future__ import annotations

from vcrdt.extensions import lazy_exports

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from vcrdt.gitio.exporter import ExportSummary, export_git, git_id_of
    from vcrdt.gitio.importer import import_git
    from vcrdt.gitio.lookup import map_rev
    from vcrdt.gitio.refsel import ImportSummary

# Imported on first use: an import that finds nothing moved loads neither the exporter nor pygit2.
_WHERE = {
    "ExportSummary": "vcrdt.gitio.exporter",
    "export_git": "vcrdt.gitio.exporter",
    "git_id_of": "vcrdt.gitio.exporter",
    "ImportSummary": "vcrdt.gitio.refsel",
    "import_git": "vcrdt.gitio.importer",
    "map_rev": "vcrdt.gitio.lookup",
}

__getattr__, __dir__ = lazy_exports(globals(), _WHERE)


__all__ = ["ExportSummary", "ImportSummary", "export_git", "git_id_of", "import_git", "map_rev"]
