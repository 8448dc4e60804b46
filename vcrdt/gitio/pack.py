"""Write git objects as one pack file (version 2) with its index, instead of one loose file each.

libgit2 (through pygit2) writes loose objects only, one compressed file per object; a large
export then spends most of its time creating files. pygit2 exposes neither libgit2's
``mempack`` backend nor its indexer, and its ``PackBuilder`` packs only objects already in a
repository, so the pack is written here: every object whole (no deltas; ``git gc`` or ``git
repack`` deltifies later, as after ``git fast-import``), zlib-compressed, streamed to a
temporary file in ``objects/pack``, then the index (version 2, with 64-bit offsets past 2 GiB).
The pack is renamed into place first and its index last, as git does, so a process killed
on the way leaves at most a ``tmp_pack_*`` file git ignores, never a half-visible pack.

Formats: git's ``Documentation/gitformat-pack.txt``. SHA-1 or SHA-256 repositories (the same
version 2 layout; ids, the pack's trailer and the index's checksums in the repository's hash).
"""

from __future__ import annotations

import hashlib
import os
import struct
import tempfile
import zlib
from pathlib import Path

_TYPE_CODES = {"commit": 1, "tree": 2, "blob": 3, "tag": 4}
_IDX_MAGIC = b"\xfftOc" + struct.pack(">I", 2)
_LEVEL = 1  # zlib level: speed over size (git's own default is 6 after a repack)


def object_header(kind: str, size: int) -> bytes:
    """The variable-length type-and-size header of one whole object in a pack.

    >>> object_header("blob", 10).hex(), object_header("commit", 300).hex()
    ('3a', '9c12')
    """
    byte = (_TYPE_CODES[kind] << 4) | (size & 0x0F)
    size >>= 4
    out = bytearray()
    while size:
        out.append(byte | 0x80)
        byte = size & 0x7F
        size >>= 7
    out.append(byte)
    return bytes(out)


def git_id(kind: str, body: bytes, hash_name: str = "sha1") -> bytes:
    """The git id of an object (SHA-1, or the hash `hash_name`)."""
    h = hashlib.new(hash_name, f"{kind} {len(body)}\0".encode())
    h.update(body)
    return h.digest()


class PackWriter:
    """Streams objects into a temporary pack under `pack_dir`; `finish` files it with its index."""

    def __init__(self, pack_dir: Path, hash_name: str = "sha1") -> None:
        """Open a temporary pack file in `pack_dir` (git's ``objects/pack``) of a `hash_name` repository."""
        pack_dir.mkdir(parents=True, exist_ok=True)
        self.dir = pack_dir
        self.hash_name = hash_name
        fd, name = tempfile.mkstemp(prefix="tmp_pack_", dir=pack_dir)
        self.tmp = Path(name)
        self.f = os.fdopen(fd, "w+b")
        self.f.write(b"PACK" + struct.pack(">II", 2, 0))  # the count is filled in by `finish`
        self.offset = 12
        self.entries: dict[bytes, tuple[int, int]] = {}  # git id -> (offset, crc32)

    def __contains__(self, gid: bytes) -> bool:
        """Tell whether this pack holds the object."""
        return gid in self.entries

    def __len__(self) -> int:
        """How many objects the pack holds."""
        return len(self.entries)

    def add(self, kind: str, body: bytes, gid: bytes | None = None) -> bytes:
        """Append one object (once; a second time is a no-op) and return its git id."""
        gid = gid or git_id(kind, body, self.hash_name)
        if gid in self.entries:
            return gid
        data = object_header(kind, len(body)) + zlib.compress(body, _LEVEL)
        self.f.write(data)
        self.entries[gid] = (self.offset, zlib.crc32(data))
        self.offset += len(data)
        return gid

    def finish(self) -> Path:
        """Write the count, the trailer and the index; move both into place; return the pack's path."""
        self.f.seek(8)
        self.f.write(struct.pack(">I", len(self.entries)))
        self.f.flush()
        self.f.seek(0)
        h = hashlib.new(self.hash_name)
        while chunk := self.f.read(1 << 20):
            h.update(chunk)
        digest = h.digest()
        self.f.seek(0, os.SEEK_END)
        self.f.write(digest)
        self.f.flush()
        os.fsync(self.f.fileno())
        self.f.close()
        name = f"pack-{digest.hex()}"
        idx_tmp = self.tmp.with_name(self.tmp.name + ".idx")
        with open(idx_tmp, "wb") as f:
            f.write(self._index(digest))
            f.flush()
            os.fsync(f.fileno())
        pack = self.dir / f"{name}.pack"
        os.chmod(self.tmp, 0o444)
        os.chmod(idx_tmp, 0o444)
        os.replace(self.tmp, pack)
        os.replace(idx_tmp, self.dir / f"{name}.idx")
        _fsync_dir(self.dir)
        return pack

    def abort(self) -> None:
        """Close and remove the temporary pack."""
        try:
            self.f.close()
        finally:
            self.tmp.unlink(missing_ok=True)

    def _index(self, pack_digest: bytes) -> bytes:
        ids = sorted(self.entries)
        fanout = [0] * 256
        for gid in ids:
            fanout[gid[0]] += 1
        total = 0
        for i in range(256):
            total += fanout[i]
            fanout[i] = total
        small: list[int] = []
        large: list[int] = []
        for gid in ids:
            off = self.entries[gid][0]
            if off < 0x80000000:
                small.append(off)
            else:
                small.append(0x80000000 | len(large))
                large.append(off)
        n = len(ids)
        body = b"".join(
            [
                _IDX_MAGIC,
                struct.pack(">256I", *fanout),
                b"".join(ids),
                struct.pack(f">{n}I", *(self.entries[g][1] for g in ids)),
                struct.pack(f">{n}I", *small),
                struct.pack(f">{len(large)}Q", *large),
                pack_digest,
            ]
        )
        return body + hashlib.new(self.hash_name, body).digest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
