"""A sync peer for tests, run as a program over --exec: the real responder, with its answers tampered.

    python tests/helpers/sync_peer.py MODE REPO

serves REPO on stdin/stdout as ``vcrdt serve --stdio`` does, but changes what it says by MODE:

- ``honest``: nothing changed;
- ``v1``: nothing changed, but it speaks protocol version 1 only (no packed objects);
- ``cut:N``: stops (exits) after writing N bytes, as a connection broken off half-way;
- ``wrong-id``: the first object is sent under another id (its last byte flipped);
- ``truncate``: the first object frame is cut in the middle, and the peer exits;
- ``no-objects``: the ref state is sent, none of the objects it names;
- ``oversized``: a frame header declaring 1 GiB, then nothing;
- ``garbage``: bytes that are no frame at all;
- ``bomb``: an object declaring 10 bytes whose zstd body decodes to 100 MiB;
- ``replay``: the response is sent twice (a replayed answer to the next request);
- ``head-blob``: the branch ``main`` names a blob it sends instead of a commit.

The modes above tamper with version-1 object frames (ids on the wire), so the peer speaks
version 1 for them. The ``packed-*`` modes speak version 2 and tamper with packed objects:

- ``packed-bomb``: the first packed object declares 10 bytes; its zstd body decodes to 100 MiB;
- ``packed-delta-bomb``: the second is a delta on the first, declaring 10 bytes, a bomb;
- ``packed-missing-base``: the first is a delta on an object the receiver does not have;
- ``packed-far-base``: the first is a delta on an object 5 back in a stream that has none;
- ``packed-truncate``: the first packed frame is cut in the middle, and the peer exits.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

from vcrdt.ids import ObjectId
from vcrdt.repo import Repository, Settings
from vcrdt.sync import frames as F
from vcrdt.sync.frames import FrameReader
from vcrdt.sync.limits import SyncLimits
from vcrdt.sync.responder import respond_safely


def _bomb() -> bytes:
    import zstandard

    return zstandard.ZstdCompressor().compress(bytes(100 << 20))


def _head_is_blob(frames: list[bytes]) -> list[bytes]:
    """Point ``main`` at the first blob among the objects sent."""
    from vcrdt.crdt.refstate import Entry, RefState

    blob = next(
        F.decode_object_head(f[5:], "peer")[0]
        for f in frames
        if f[4] == F.OBJECT and F.decode_object_head(f[5:], "peer")[1] == "blob"
    )
    out = []
    for f in frames:
        if f[4] == F.STATE:
            state, tags = F.decode_state(f[5:], "peer")
            branches = dict(state.branches)
            branches["main"] = frozenset({Entry(min(branches["main"]).dot, blob)})
            f = F.encode(F.STATE, F.encode_state(RefState(branches, state.context), tags))
        out.append(f)
    return out


def _packed(mode: str, frames: Iterator[bytes]) -> Iterator[bytes]:
    """The responder's frames as a ``packed-*`` MODE changes them (see the module doc)."""
    seen = 0
    for f in frames:
        if f[4] == F.PACKED and seen < 2:
            seen += 1
            p = F.decode_packed(f[5:], "peer")
            if mode == "packed-bomb" and seen == 1:
                f = F.encode_packed(p.kind, 10, None, _bomb())
            elif mode == "packed-delta-bomb" and seen == 2:
                f = F.encode_packed(p.kind, 10, 1, _bomb())
            elif mode == "packed-missing-base" and seen == 1:
                f = F.encode_packed(p.kind, p.size, ObjectId(bytes(range(32))), p.data)
            elif mode == "packed-far-base" and seen == 1:
                f = F.encode_packed(p.kind, p.size, 5, p.data)
            elif mode == "packed-truncate":
                yield f[: len(f) // 2]
                return
        yield f


def tamper(mode: str, frames: Iterator[bytes]) -> Iterator[bytes]:
    """The responder's frames as MODE changes them (see the module doc)."""
    if mode.startswith("packed-"):
        yield from _packed(mode, frames)
        return
    if mode == "head-blob":
        yield from _head_is_blob(list(frames))
        return
    done = False
    for f in frames:
        kind = f[4]
        if mode == "wrong-id" and kind == F.OBJECT and not done:
            done = True
            f = f[:36] + bytes([f[36] ^ 1]) + f[37:]
        elif mode == "truncate" and kind == F.OBJECT:
            yield f[: len(f) // 2]
            return
        elif mode == "no-objects" and kind in (F.OBJECT, F.CHUNK):
            continue
        elif mode == "oversized" and kind == F.STATE:
            yield (1 << 30).to_bytes(4, "big") + bytes([F.OBJECT])
            return
        elif mode == "garbage" and kind == F.STATE:
            yield os.urandom(64)
            return
        elif mode == "bomb" and kind == F.OBJECT and not done:
            done = True
            oid, kind_name, _, _, _ = F.decode_object_head(f[5:], "peer")
            f = F.encode(F.OBJECT, F.encode_object_head(oid, kind_name, 10, chunked=False) + _bomb())
        yield f


def main(argv: list[str]) -> int:
    mode, path = argv[1], Path(argv[2])
    repo = Repository.discover(path, Settings())
    limits = SyncLimits()
    out = sys.stdout.buffer
    written = 0
    cut = int(mode.split(":", 1)[1]) if mode.startswith("cut:") else None
    if not mode.startswith("packed-") and mode not in ("honest", "replay") and cut is None:
        F.SUPPORTED = (1,)  # these modes tamper with version-1 object frames
    while True:
        request = FrameReader(sys.stdin.buffer.read, limits, "client")
        first = request.next(allow_eof=True)
        if first is None:
            return 0
        pending = [F.encode(first.kind, first.payload)]

        def read(n: int, pending: list[bytes] = pending, request: FrameReader = request) -> bytes:
            if pending:
                data = pending.pop()
                if len(data) > n:
                    pending.append(data[n:])
                return data[:n]
            return sys.stdin.buffer.read(n)

        response = list(respond_safely(repo, FrameReader(read, limits, "client"), limits))
        frames = tamper(mode, iter(response))
        if mode == "replay":
            frames = iter([*response, *response])
        for f in frames:
            if cut is not None and written + len(f) > cut:
                out.write(f[: cut - written])
                out.flush()
                os._exit(0)
            out.write(f)
            written += len(f)
        out.flush()
        if mode not in ("honest", "replay", "v1") and cut is None:
            return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
