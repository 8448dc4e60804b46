"""What a sync accepts from a peer: the ``limits.*`` config keys (docs/format.md, docs/protocol.md)."""

from __future__ import annotations

from functools import cache

from vcrdt.errors import ConfigError, LimitError
from vcrdt.ids import ObjectId, to_hex
from vcrdt.repo import Repository, read_toml
from vcrdt.values import Value, value_class

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    import re


# Compiled on first use (`cache`): most repositories set no size, and every session reads the limits.
@cache
def _size_re() -> re.Pattern[str]:
    import re  # here, as `vcrdt.sync.frames` does

    return re.compile(r"\s*([0-9]+)\s*([kmgt]?)(?:i?b)?\s*", re.IGNORECASE)


_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


@value_class(frozen=True, init=False, repr=False, eq=False)
class SyncLimits(Value):
    """What a sync (or fetch) accepts from the other replica: config keys ``limits.*``.

    Sizes are of decoded objects, whatever their compressed form; each is checked against the
    size its header declares before anything is read or stored, and a body must then have exactly
    that size, so a few kilobytes declaring gigabytes (a decompression bomb) are refused at once.
    """

    __slots__ = (  # noqa: RUF023 (field order)
        "max_object_size",
        "max_tree_size",
        "max_fetch_size",
        "source_timeout",
        "max_frame_size",
        "max_frames",
        "max_rounds",
        "stall_timeout",
        "max_request_size",
        "max_sessions",
    )

    # Any one object (blobs are copied chunk by chunk; this bounds the disk, not the memory).
    max_object_size: int
    # Trees and commits, which are read whole into memory.
    max_tree_size: int
    # Everything one fetch copies, all objects together.
    max_fetch_size: int
    # Seconds any one query of the other replica's database may run (local paths).
    source_timeout: float
    # The payload of any one frame.
    max_frame_size: int
    # Frames in one response (or request, on the serving side).
    max_frames: int
    # Requests of one session (round trips), bounding the Merkle descent.
    max_rounds: int
    # Seconds a peer process may send nothing while an answer is due (a stalled peer).
    stall_timeout: float
    # The body of any one HTTP request ``vcrdt serve`` answers (a push carries its objects).
    max_request_size: int
    # Requests one ``vcrdt serve`` process answers at once for one repository (more get 503).
    max_sessions: int

    def __init__(
        self,
        max_object_size: int = 1 << 30,
        max_tree_size: int = 64 << 20,
        max_fetch_size: int = 16 << 30,
        source_timeout: float = 30.0,
        max_frame_size: int = 4 << 20,
        max_frames: int = 50_000_000,
        max_rounds: int = 64,
        stall_timeout: float = 300.0,
        max_request_size: int = 16 << 30,
        max_sessions: int = 8,
    ) -> None:
        object.__setattr__(self, "max_object_size", max_object_size)
        object.__setattr__(self, "max_tree_size", max_tree_size)
        object.__setattr__(self, "max_fetch_size", max_fetch_size)
        object.__setattr__(self, "source_timeout", source_timeout)
        object.__setattr__(self, "max_frame_size", max_frame_size)
        object.__setattr__(self, "max_frames", max_frames)
        object.__setattr__(self, "max_rounds", max_rounds)
        object.__setattr__(self, "stall_timeout", stall_timeout)
        object.__setattr__(self, "max_request_size", max_request_size)
        object.__setattr__(self, "max_sessions", max_sessions)

    @classmethod
    def from_config(cls, repo: Repository) -> SyncLimits:
        """Read the limits from the repository and global config, defaults for unset keys.

        Sizes are a number of bytes with an optional ``K``, ``M``, ``G`` or ``T`` (powers of 1024).

        Raises:
            ConfigError: If a value is not a positive size or number of seconds.
        """
        default = cls()
        conf = _limits_config(repo)
        timeout = _config_seconds(conf, "limits.source_timeout", default.source_timeout)
        frame = _config_size(conf, "limits.max_frame_size", default.max_frame_size)
        if frame < 64 << 10:
            raise ConfigError(f"config limits.max_frame_size = {frame}: must be at least 64K")
        return cls(
            max_object_size=_config_size(conf, "limits.max_object_size", default.max_object_size),
            max_tree_size=_config_size(conf, "limits.max_tree_size", default.max_tree_size),
            max_fetch_size=_config_size(conf, "limits.max_fetch_size", default.max_fetch_size),
            source_timeout=timeout,
            max_frame_size=frame,
            max_frames=_config_count(conf, "limits.max_frames", default.max_frames),
            max_rounds=_config_count(conf, "limits.max_rounds", default.max_rounds),
            stall_timeout=_config_seconds(conf, "limits.stall_timeout", default.stall_timeout),
            max_request_size=_config_size(conf, "limits.max_request_size", default.max_request_size),
            max_sessions=_config_count(conf, "limits.max_sessions", default.max_sessions),
        )

    def check_object(self, oid: ObjectId, kind: str, size: int) -> None:
        """Refuse an object larger than the limits allow for its kind.

        Raises:
            LimitError: Naming the object, its size and the limit.
        """
        if size > self.max_object_size:
            raise LimitError(
                f"{kind} {to_hex(oid)}: {size} bytes, more than limits.max_object_size ({self.max_object_size})",
                hint="raise it with `vcrdt config limits.max_object_size SIZE` if the replica is trusted",
            )
        if kind != "blob" and size > self.max_tree_size:
            raise LimitError(
                f"{kind} {to_hex(oid)}: {size} bytes, more than limits.max_tree_size ({self.max_tree_size})",
                hint="trees and commits are read whole; raise it with `vcrdt config limits.max_tree_size SIZE`",
            )


def _limits_config(repo: Repository) -> dict[str, str]:
    """The ``limits.*`` keys set (without the ``limits.``), the repository's config over the global file.

    As `Repository.config_get` reads each key, with each file read once.
    """
    out: dict[str, str] = {}
    if repo.settings.global_config is not None:
        glob = read_toml(repo.settings.global_config).get("limits")
        if isinstance(glob, dict):
            out.update({str(k): str(v) for k, v in glob.items()})
    out.update(repo.config().get("limits", {}))
    return out


def _config_size(conf: dict[str, str], key: str, default: int) -> int:
    """A size from the config (bytes, or with a K/M/G/T suffix), or `default` when unset.

    Raises:
        ConfigError: If the value is not a size of at least one byte.
    """
    text = conf.get(key.split(".", 1)[1])
    if text is None:
        return default
    m = _size_re().fullmatch(text)
    if m is None:
        raise ConfigError(f"config {key} = {text!r}: not a size (bytes, or a number with K, M, G or T)")
    size = int(m.group(1)) * _UNITS[m.group(2).lower()]
    if size < 1:
        raise ConfigError(f"config {key} = {text!r}: must be at least 1 byte")
    return size


def _config_seconds(conf: dict[str, str], key: str, default: float) -> float:
    """A positive number of seconds from the config, or `default` when unset.

    Raises:
        ConfigError: If the value is not a positive, finite number.
    """
    text = conf.get(key.split(".", 1)[1])
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise ConfigError(f"config {key} = {text!r}: not a positive number of seconds")
    return value


def _config_count(conf: dict[str, str], key: str, default: int) -> int:
    """A positive whole number from the config, or `default` when unset.

    Raises:
        ConfigError: If the value is not a whole number of at least 1.
    """
    text = conf.get(key.split(".", 1)[1])
    if text is None:
        return default
    if not text.strip().isdigit() or int(text) < 1:
        raise ConfigError(f"config {key} = {text!r}: not a whole number of at least 1")
    return int(text)
