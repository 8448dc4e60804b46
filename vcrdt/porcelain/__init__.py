"""User-level verbs, one function per CLI verb, returning plain values.

Each takes an open `Repository` (or a path plus `Settings` for `init`); nothing here prints,
prompts, exits or reads the environment. Long work reports through an optional
`on_progress(done, total)` callback.

The verbs live in submodules by concern (`files`, `history`, `diffs`, `branches`, `inspection`,
`merging`, `resolving`, `resolutions`, `replicas`); this package exports them all, so callers
write `porcelain.merge(...)`. No submodule is named after a verb it exports (`log`, `diff`,
`fsck`...): importing it would bind the module over the function on this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vcrdt.porcelain._shared import MARKER_PREFIXES, Progress, repo_path, tie_key
    from vcrdt.porcelain.blaming import BlameLine, BlameResult, blame
    from vcrdt.porcelain.branches import (
        BranchInfo,
        SwitchResult,
        TagInfo,
        branch_create,
        branch_delete,
        branch_list,
        branch_rename,
        switch,
        tag_create,
        tag_delete,
        tag_list,
    )
    from vcrdt.porcelain.copies import ReplicaRenewal, bind_replica, renew_replica
    from vcrdt.porcelain.diffs import commit_changes, diff, range_ends, renamed_diff
    from vcrdt.porcelain.files import CommitResult, InitResult, Status, add, commit, init, mv, restore, rm, status
    from vcrdt.porcelain.history import LogEntry, ShowResult, log, show, split_range
    from vcrdt.porcelain.inspection import CatResult, FsckProblem, FsckResult, cat, fsck
    from vcrdt.porcelain.merging import MergeFileResult, MergeOutcome, MergeStatus, merge, merge_abort, merge_file
    from vcrdt.porcelain.oplog import UndoResult, operations, undo
    from vcrdt.porcelain.replicas import (
        Causality,
        FetchedBranch,
        FetchResult,
        clone,
        concurrent,
        fetch,
        ref_state,
        remote_add,
        remote_remove,
        remotes,
        sync,
    )
    from vcrdt.porcelain.resolutions import RESOLUTIONS_FORMAT, AutoRecord, auto_resolutions
    from vcrdt.porcelain.resolving import (
        ConflictDetail,
        ConflictHunk,
        HunkAction,
        HunkChoice,
        HunkText,
        ResolveSide,
        conflict_details,
        reopen,
        resolve,
        resolve_by_rule,
        resolve_hunks,
    )
    from vcrdt.porcelain.rewrite import (
        ResetResult,
        RevertResult,
        branch_force,
        proposed_message,
        reset,
        revert,
        revert_message,
    )

# Each name's submodule, imported on first use: a command pays only for the verbs it runs.
_SUBMODULE = {
    "AutoRecord": "vcrdt.porcelain.resolutions",
    "BranchInfo": "vcrdt.porcelain.branches",
    "CatResult": "vcrdt.porcelain.inspection",
    "Causality": "vcrdt.porcelain.replicas",
    "CommitResult": "vcrdt.porcelain.files",
    "ConflictDetail": "vcrdt.porcelain.resolving",
    "ConflictHunk": "vcrdt.porcelain.resolving",
    "FetchResult": "vcrdt.porcelain.replicas",
    "FetchedBranch": "vcrdt.porcelain.replicas",
    "FsckProblem": "vcrdt.porcelain.inspection",
    "FsckResult": "vcrdt.porcelain.inspection",
    "HunkAction": "vcrdt.porcelain.resolving",
    "HunkChoice": "vcrdt.porcelain.resolving",
    "HunkText": "vcrdt.porcelain.resolving",
    "InitResult": "vcrdt.porcelain.files",
    "LogEntry": "vcrdt.porcelain.history",
    "MARKER_PREFIXES": "vcrdt.porcelain._shared",
    "MergeFileResult": "vcrdt.porcelain.merging",
    "MergeOutcome": "vcrdt.porcelain.merging",
    "MergeStatus": "vcrdt.porcelain.merging",
    "Progress": "vcrdt.porcelain._shared",
    "RESOLUTIONS_FORMAT": "vcrdt.porcelain.resolutions",
    "ReplicaRenewal": "vcrdt.porcelain.copies",
    "ResolveSide": "vcrdt.porcelain.resolving",
    "ShowResult": "vcrdt.porcelain.history",
    "BlameLine": "vcrdt.porcelain.blaming",
    "BlameResult": "vcrdt.porcelain.blaming",
    "blame": "vcrdt.porcelain.blaming",
    "Status": "vcrdt.porcelain.files",
    "SwitchResult": "vcrdt.porcelain.branches",
    "TagInfo": "vcrdt.porcelain.branches",
    "add": "vcrdt.porcelain.files",
    "auto_resolutions": "vcrdt.porcelain.resolutions",
    "bind_replica": "vcrdt.porcelain.copies",
    "branch_create": "vcrdt.porcelain.branches",
    "branch_delete": "vcrdt.porcelain.branches",
    "branch_list": "vcrdt.porcelain.branches",
    "branch_rename": "vcrdt.porcelain.branches",
    "cat": "vcrdt.porcelain.inspection",
    "commit": "vcrdt.porcelain.files",
    "commit_changes": "vcrdt.porcelain.diffs",
    "concurrent": "vcrdt.porcelain.replicas",
    "conflict_details": "vcrdt.porcelain.resolving",
    "diff": "vcrdt.porcelain.diffs",
    "range_ends": "vcrdt.porcelain.diffs",
    "renamed_diff": "vcrdt.porcelain.diffs",
    "fetch": "vcrdt.porcelain.replicas",
    "clone": "vcrdt.porcelain.replicas",
    "remote_add": "vcrdt.porcelain.replicas",
    "remote_remove": "vcrdt.porcelain.replicas",
    "remotes": "vcrdt.porcelain.replicas",
    "sync": "vcrdt.porcelain.replicas",
    "fsck": "vcrdt.porcelain.inspection",
    "init": "vcrdt.porcelain.files",
    "log": "vcrdt.porcelain.history",
    "merge": "vcrdt.porcelain.merging",
    "merge_abort": "vcrdt.porcelain.merging",
    "merge_file": "vcrdt.porcelain.merging",
    "mv": "vcrdt.porcelain.files",
    "ref_state": "vcrdt.porcelain.replicas",
    "renew_replica": "vcrdt.porcelain.copies",
    "reopen": "vcrdt.porcelain.resolving",
    "repo_path": "vcrdt.porcelain._shared",
    "resolve": "vcrdt.porcelain.resolving",
    "resolve_by_rule": "vcrdt.porcelain.resolving",
    "resolve_hunks": "vcrdt.porcelain.resolving",
    "restore": "vcrdt.porcelain.files",
    "rm": "vcrdt.porcelain.files",
    "show": "vcrdt.porcelain.history",
    "split_range": "vcrdt.porcelain.history",
    "status": "vcrdt.porcelain.files",
    "switch": "vcrdt.porcelain.branches",
    "tag_create": "vcrdt.porcelain.branches",
    "tag_delete": "vcrdt.porcelain.branches",
    "tag_list": "vcrdt.porcelain.branches",
    "tie_key": "vcrdt.porcelain._shared",
    "UndoResult": "vcrdt.porcelain.oplog",
    "operations": "vcrdt.porcelain.oplog",
    "undo": "vcrdt.porcelain.oplog",
    "ResetResult": "vcrdt.porcelain.rewrite",
    "RevertResult": "vcrdt.porcelain.rewrite",
    "branch_force": "vcrdt.porcelain.rewrite",
    "proposed_message": "vcrdt.porcelain.rewrite",
    "reset": "vcrdt.porcelain.rewrite",
    "revert": "vcrdt.porcelain.rewrite",
    "revert_message": "vcrdt.porcelain.rewrite",
}


def __getattr__(name: str) -> object:
    module = _SUBMODULE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "MARKER_PREFIXES",
    "RESOLUTIONS_FORMAT",
    "AutoRecord",
    "BlameLine",
    "BlameResult",
    "BranchInfo",
    "CatResult",
    "Causality",
    "CommitResult",
    "ConflictDetail",
    "ConflictHunk",
    "FetchResult",
    "FetchedBranch",
    "FsckProblem",
    "FsckResult",
    "HunkAction",
    "HunkChoice",
    "HunkText",
    "InitResult",
    "LogEntry",
    "MergeFileResult",
    "MergeOutcome",
    "MergeStatus",
    "Progress",
    "ReplicaRenewal",
    "ResetResult",
    "ResolveSide",
    "RevertResult",
    "ShowResult",
    "Status",
    "SwitchResult",
    "TagInfo",
    "UndoResult",
    "add",
    "auto_resolutions",
    "bind_replica",
    "blame",
    "branch_create",
    "branch_delete",
    "branch_force",
    "branch_list",
    "branch_rename",
    "cat",
    "clone",
    "commit",
    "commit_changes",
    "concurrent",
    "conflict_details",
    "diff",
    "fetch",
    "fsck",
    "init",
    "log",
    "merge",
    "merge_abort",
    "merge_file",
    "mv",
    "operations",
    "proposed_message",
    "range_ends",
    "ref_state",
    "remote_add",
    "remote_remove",
    "remotes",
    "renamed_diff",
    "renew_replica",
    "reopen",
    "repo_path",
    "reset",
    "resolve",
    "resolve_by_rule",
    "resolve_hunks",
    "restore",
    "revert",
    "revert_message",
    "rm",
    "show",
    "split_range",
    "status",
    "switch",
    "sync",
    "tag_create",
    "tag_delete",
    "tag_list",
    "tie_key",
    "undo",
]
