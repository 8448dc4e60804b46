"""Access tokens of ``vcrdt serve``: made once, stored as their SHA-256 only, checked per request.

A token belongs to one repository (the ``tokens`` table of its database), so another
repository's token is simply unknown there. Its scope is ``read`` (refs, buckets, objects)
or ``write`` (also push). A token may expire and may be revoked; neither is ever undone.
"""

from __future__ import annotations

import _sqlite3 as sqlite3  # the C module alone, as vcrdt.store.db
import hashlib
import secrets
import time

from vcrdt.errors import ConfigError, RepoError
from vcrdt.repo import Repository
from vcrdt.values import Value, value_class

TYPE_CHECKING = False  # as typing's (mypy reads it so): neither typing nor dataclasses is loaded at run time
if TYPE_CHECKING:
    from typing import Literal

    Scope = Literal["read", "write"]
PREFIX = "vcrdt_"
SECONDS_PER_DAY = 86400.0


@value_class(frozen=True, init=False, repr=False, eq=False)
class TokenInfo(Value):
    """One stored token (never its secret)."""

    __slots__ = ("id", "scope", "created", "expires", "revoked")  # noqa: RUF023 (field order)

    id: str
    scope: str
    created: float
    expires: float | None
    revoked: float | None

    def __init__(self, id: str, scope: str, created: float, expires: float | None, revoked: float | None) -> None:
        object.__setattr__(self, "id", id)
        object.__setattr__(self, "scope", scope)
        object.__setattr__(self, "created", created)
        object.__setattr__(self, "expires", expires)
        object.__setattr__(self, "revoked", revoked)

    def state(self, now: float) -> str:
        """``active``, ``expired`` or ``revoked``."""
        if self.revoked is not None:
            return "revoked"
        if self.expires is not None and now >= self.expires:
            return "expired"
        return "active"


def hash_of(token: str) -> bytes:
    """The SHA-256 of a token's text: all a repository keeps of it."""
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()


def create(repo: Repository, scope: Scope, *, expires_days: float | None = None) -> tuple[TokenInfo, str]:
    """Make a token; return its record and its secret (shown once, stored only as a hash).

    Raises:
        ConfigError: If `expires_days` is not a positive number.
    """
    if expires_days is not None and not 0 < expires_days < 1e6:
        raise ConfigError(f"--expires {expires_days:g}: not a positive number of days")
    secret = PREFIX + secrets.token_urlsafe(32)
    digest = hash_of(secret)
    now = time.time()
    info = TokenInfo(
        digest[:6].hex(), scope, now, None if expires_days is None else now + expires_days * SECONDS_PER_DAY, None
    )
    with repo.db.write() as conn:
        conn.execute(
            "INSERT INTO tokens(id, hash, scope, created, expires, revoked) VALUES (?, ?, ?, ?, ?, NULL)",
            (info.id, digest, scope, info.created, info.expires),
        )
    return info, secret


def _row(row: tuple[object, ...]) -> TokenInfo:
    id_, scope, created, expires, revoked = row
    return TokenInfo(
        str(id_),
        str(scope),
        float(created),  # type: ignore[arg-type]
        None if expires is None else float(expires),  # type: ignore[arg-type]
        None if revoked is None else float(revoked),  # type: ignore[arg-type]
    )


def listing(repo: Repository) -> list[TokenInfo]:
    """Every token of the repository, oldest first."""
    rows = repo.db.conn.execute("SELECT id, scope, created, expires, revoked FROM tokens ORDER BY created, id")
    return [_row(r) for r in rows.fetchall()]


def revoke(repo: Repository, token_id: str) -> TokenInfo:
    """Revoke a token by its id (revoking it again changes nothing).

    Raises:
        ConfigError: If no token has that id.
    """
    with repo.db.write() as conn:
        conn.execute("UPDATE tokens SET revoked = ? WHERE id = ? AND revoked IS NULL", (time.time(), token_id))
        row = conn.execute(
            "SELECT id, scope, created, expires, revoked FROM tokens WHERE id = ?", (token_id,)
        ).fetchone()
    if row is None:
        raise ConfigError(f"no token with id {token_id[:40]!r}", hint="`vcrdt token list` shows them")
    return _row(row)


def check(repo: Repository, token: str | None, *, write: bool, public: bool) -> tuple[int, str] | None:
    """Decide one request: None if allowed, else an HTTP status (401 or 403) and a one-line reason.

    Args:
        repo: The served repository (its own tokens only count).
        token: The bearer token sent, or None.
        write: The request changes the repository (a push).
        public: Anonymous reads are allowed.
    """
    if token is None:
        if public and not write:
            return None
        return 401, ("a push needs a write token" if write else "this repository needs a token to read")
    try:
        row = repo.db.conn.execute(
            "SELECT id, scope, created, expires, revoked FROM tokens WHERE hash = ?", (hash_of(token),)
        ).fetchone()
    except (RepoError, sqlite3.Error):
        row = None  # a database made before tokens existed has none
    if row is None:
        return 401, "unknown token for this repository"
    info = _row(row)
    state = info.state(time.time())
    if state != "active":
        return 401, f"token {info.id} is {state}"
    if write and info.scope != "write":
        return 403, f"token {info.id} is read-only; a push needs a write token"
    return None
