"""`vcrdt git map REV`: a vcrdt id for a git id and the other way round."""

from __future__ import annotations

import re
from dataclasses import dataclass

from vcrdt.errors import BadRevisionError, VcrdtError
from vcrdt.gitio import maps
from vcrdt.gitio.exporter import git_id_of, history_format
from vcrdt.ids import ObjectId
from vcrdt.repo import Repository


@dataclass(frozen=True, slots=True)
class Mapping:
    """One object known on both sides."""

    vcrdt_id: str
    git_id: str
    kind: str


def map_rev(repo: Repository, rev: str) -> Mapping:
    """Map a git id (40 or 64 hex digits) to its vcrdt id, or a vcrdt revision to its git id.

    A git id is looked up in the mapping of earlier imports and exports (40 hex digits it does
    not know are tried as the start of a vcrdt id). A vcrdt revision is
    looked up there too and, for a commit the mapping does not know (one this replica received
    through sync), computed from the history: the git id it exports as, in the object format
    its git records name.

    Raises:
        BadRevisionError: If `rev` is a git id the mapping does not know, or names nothing.
    """
    text = rev.strip().lower()
    if re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", text):
        hit = maps.to_vcrdt(repo.db, bytes.fromhex(text))
        if hit is not None:
            return Mapping(hit[0].hex(), text, hit[1])
    if re.fullmatch(r"[0-9a-f]{40}", text):
        try:
            oid: ObjectId = repo.resolve_object(rev)  # 40 digits of a vcrdt id, perhaps
        except VcrdtError:
            raise BadRevisionError(rev, "no imported or exported git object has this id") from None
    else:
        oid = repo.resolve_object(rev)
    known = maps.to_git(repo.db, oid, 20) or maps.to_git(repo.db, oid, 32)
    if known:
        gid, kind = known[0]
        return Mapping(oid.hex(), gid.hex(), kind)
    kind = repo.store.info(oid)[0]
    if kind != "commit":
        raise BadRevisionError(rev, f"this {kind} is in no imported or exported git history")
    gid, gkind = git_id_of(repo, oid, history_format(repo, [oid]) or "sha1")
    return Mapping(oid.hex(), gid.hex(), gkind)
