"""A sync peer for tests, run as a program over --exec: the real responder, with its answers tampered.

    python tests/helpers/sync_peer.py MODE REPO

serves REPO on stdin/stdout as ``vcrdt serve --stdio`` does, but changes what it says by MODE:

- ``honest``: nothing changed;
- ``v1``: nothing changed, but it speaks protocol version 1 only (no packed objects);
- ``v2``: nothing changed, but it speaks versions 1 and 2 only (no compact descent, plain states);
- ``v3``: nothing changed, but it speaks versions 1 to 3 only (no tree deltas);
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
- ``packed-truncate``: the first packed frame is cut in the middle, and the peer exits;
- ``packed-trailing``: the first packed object has bytes after its zstd frame (a receiver
  stores the frame as it came, so it must be exactly one frame).

The ``tdelta-*`` modes speak version 4 and tamper with the first tree delta (``U``) of the answer:

- ``tdelta-range``: it removes entry 1000 of its base;
- ``tdelta-unsorted``: its inserted entry goes first, before a name that sorts before it;
- ``tdelta-duplicate``: its inserted entry takes the name of the base entry before it;
- ``tdelta-zero``: its inserted entry names the zero id;
- ``tdelta-missing-base``: its base is an id the receiver does not have;
- ``tdelta-blob-base``: its base is the object just before it (a blob);
- ``tdelta-huge-insert``: it announces 1,000,000,000 inserted entries;
- ``tdelta-size``: it declares one byte more than the tree it makes.

The ``descent-*`` modes speak version 3 and tamper with the compressed state and the compact
descent (the refs answer, or the first ``descend`` answer), answering honestly until then:

- ``descent-state-bomb``: the compressed state declares 100 MiB (over `frames.MAX_STATE`);
- ``descent-children-truncate``: the root's children frame of the refs answer is cut short;
- ``descent-children-unasked``: the refs answer's children frame names bucket ``a``, not the root;
- ``descent-want-collide``: the first want frame repeats a short id (a forced collision);
- ``descent-want-unlisted``: the first want frame names short ids the client never listed;
- ``descent-want-wide``: the first want frame's short ids are 33 bytes wide;
- ``descent-want-oversized``: the first want frame declares 5,000 entries;
- ``descent-unasked-object``: the first descend answer ends with a blob no bucket asked for.

Forged history (`forge`): ``main`` moves to a commit made here on top of its head, sent after
the real objects:

- ``tree-dotdot``, ``tree-abs``, ``tree-meta``, ``tree-case``: its tree holds an entry named
  ``..``, ``/etc/evil``, ``.vcrdt`` or ``.VCRDT`` (a directory holding ``config``);
- ``link-escape:TARGET``: a commit whose ``link`` is a symlink to TARGET, then its child where
  ``link`` is a directory holding ``evil.txt`` (a file beneath the link);
- ``bad-clock``: its Lamport clock is 5 past its parent's instead of 1;
- ``ghost-ref``: everything honest, plus a branch ``ghost`` naming an object never sent.

    python tests/helpers/sync_peer.py --http MODE REPO

serves the same lies over HTTP (``POST /NAME/sync``, no tokens) on 127.0.0.1, any free port;
once listening it prints ``serving NAME at URL`` as ``vcrdt serve`` does. There MODE may also be
``stall-head`` (reads the request, never answers) or ``stall-body`` (sends the response's head
and first frame, then nothing).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

from vcrdt.ids import ObjectId
from vcrdt.objects import Commit
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
            elif mode == "packed-trailing" and seen == 1:
                f = F.encode_packed(p.kind, p.size, p.base, p.data + b"\0trailing bytes")
            elif mode == "packed-truncate":
                yield f[: len(f) // 2]
                return
        yield f


def _tree_delta(mode: str, frames: Iterator[bytes]) -> Iterator[bytes]:
    """The responder's frames as a ``tdelta-*`` MODE changes them (see the module doc)."""
    done = False
    for f in frames:
        if f[4] == F.TREE_DELTA and not done:
            done = True
            d = F.decode_tree_delta(f[5:], "peer")
            ins = list(d.inserted)
            at, entry = ins[0] if ins else (0, b"")
            word, name, oid = entry[:4], F.entry_name(entry), entry[-32:]
            if mode == "tdelta-range":
                f = F.encode_tree_delta(d.base, d.size, d.replaced, (1000,), d.inserted)
            elif mode == "tdelta-unsorted":
                f = F.encode_tree_delta(d.base, d.size, d.replaced, d.removed, [(0, entry), *ins[1:]])
            elif mode == "tdelta-duplicate":
                twin = b"file a.txt\0" + oid
                f = F.encode_tree_delta(d.base, d.size - len(entry) + len(twin), d.replaced, d.removed, [(at, twin)])
            elif mode == "tdelta-zero":
                f = F.encode_tree_delta(
                    d.base, d.size, d.replaced, d.removed, [(at, word + b" " + name + b"\0" + bytes(32))]
                )
            elif mode == "tdelta-missing-base":
                f = F.encode_tree_delta(ObjectId(bytes(range(32))), d.size, d.replaced, d.removed, d.inserted)
            elif mode == "tdelta-blob-base":
                f = F.encode_tree_delta(1, d.size, d.replaced, d.removed, d.inserted)
            elif mode == "tdelta-huge-insert":
                f = F.encode(F.TREE_DELTA, bytes([1, 1]) + bytes([0x80, 0x01, 0, 0]) + b"\x80\x94\xeb\xdc\x03" + entry)
            elif mode == "tdelta-size":
                f = F.encode_tree_delta(d.base, d.size + 1, d.replaced, d.removed, d.inserted)
        yield f


def tamper(mode: str, frames: Iterator[bytes]) -> Iterator[bytes]:
    """The responder's frames as MODE changes them (see the module doc)."""
    if mode.startswith("packed-"):
        yield from _packed(mode, frames)
        return
    if mode.startswith("tdelta-"):
        yield from _tree_delta(mode, frames)
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


def descent(mode: str, op: str, frames: Iterator[bytes]) -> Iterator[bytes]:
    """The responder's frames as a ``descent-*`` MODE changes them (see the module doc)."""
    done = False
    sent: list[bytes] = []
    for f in frames:
        kind = f[4]
        if done:
            pass
        elif op == "refs" and mode == "descent-state-bomb" and kind == F.STATE_Z:
            f, done = F.encode(F.STATE_Z, _bomb()), True
        elif op == "refs" and mode == "descent-children-truncate" and kind == F.CHILDREN:
            f, done = F.encode(F.CHILDREN, f[5:-3]), True
        elif op == "refs" and mode == "descent-children-unasked" and kind == F.CHILDREN:
            f, done = F.encode(F.CHILDREN, b"\x01a" + f[6:]), True
        elif op == "descend" and mode.startswith("descent-want-") and kind == F.WANT:
            w = F.decode_listing(F.WANT, f[5:], "peer")
            head = bytes([len(w.prefix)]) + w.prefix.encode()
            if mode == "descent-want-collide":
                body = head + bytes([w.width, 2]) + w.shorts[0] * 2
            elif mode == "descent-want-unlisted":
                body = head + bytes([w.width, 1]) + b"\xfe" * w.width
            elif mode == "descent-want-wide":
                body = head + bytes([33, 1]) + b"\xfe" * 33
            else:  # descent-want-oversized: 5,000 entries declared (varint), 4 bytes each
                body = head + bytes([w.width]) + bytes([0x88, 0x27]) + bytes(5000 * w.width)
            f, done = F.encode(F.WANT, body), True
        elif op == "descend" and mode == "descent-unasked-object" and kind == F.END:
            yield _unasked_blob(sent)
        if kind in (F.PACKED, F.WANT):
            sent.append(f)
        yield f


def _unasked_blob(answer: list[bytes]) -> bytes:
    """An object frame for a blob outside every bucket the answer's objects and wants fall in.

    An honest answer sends objects only for buckets the client listed or wanted, and a want
    for each listed bucket where the client holds what this side lacks; with a few differences
    the rest of the 16 top buckets were not asked.
    """
    from vcrdt.hashing import object_id

    asked = set()
    for f in answer:
        if f[4] == F.WANT:
            asked.add(F.decode_listing(F.WANT, f[5:], "peer").prefix[:1])
        else:
            p = F.decode_packed(f[5:], "peer")
            asked.add(object_id(p.kind, F.inflate(p.data, p.size, "peer", "it")).hex()[:1])
    n = 0
    while object_id("blob", f"planted {n}\n".encode()).hex()[:1] in asked:
        n += 1
    return _object_frame("blob", f"planted {n}\n".encode())[1]


# --- forged history (faults): trees with bad names, escaping links, broken clocks, ghost refs ---

FORGED = ("tree-dotdot", "tree-abs", "tree-meta", "tree-case", "link-escape", "bad-clock", "ghost-ref")


def _raw_tree(*entries: tuple[str, str, bytes]) -> bytes:
    """A tree body of (kind word, name, id) entries as given: names unchecked, in the order given."""
    from vcrdt.paths import encode

    return b"".join(k.encode() + b" " + encode(n) + b"\0" + oid for k, n, oid in entries)


def _object_frame(kind: str, body: bytes) -> tuple[bytes, bytes]:
    """The id of an object and its frame."""
    import zstandard

    from vcrdt.hashing import object_id

    oid = object_id(kind, body)
    head = F.encode_object_head(oid, kind, len(body), chunked=False)
    return oid, F.encode(F.OBJECT, head + zstandard.ZstdCompressor().compress(body))


def _forged_commit(tree: bytes, parent: bytes, pc: Commit, n: int, *, skew: int = 0) -> Commit:
    """A commit on `tree` over `parent` (`pc`) by a replica of its own (counter `n`), clocks right unless `skew`."""
    from vcrdt.ids import ObjectId, ReplicaId
    from vcrdt.objects import Signature, commit_clock

    replica = ReplicaId("ee" * 16)
    clock, gaps = commit_clock([pc], (replica, n))
    return Commit(
        ObjectId(tree),
        (ObjectId(parent),),
        Signature("Mallory", "m@example.com", 1_700_000_000 + n, 0),
        f"forged {n}\n",
        replica,
        pc.lamport + 1 + skew,
        clock,
        None,
        gaps,
    )


def forge(mode: str, repo: Repository, frames: list[bytes]) -> list[bytes]:
    """The responder's answer with forged objects added and ``main`` moved to the last (see the doc)."""
    from vcrdt.crdt.refstate import Dot, Entry, RefState
    from vcrdt.ids import ObjectId, ReplicaId

    state_at = next((i for i, f in enumerate(frames) if f[4] == F.STATE), None)
    if state_at is None:
        return frames
    state, tags = F.decode_state(frames[state_at][5:], "peer")
    head = min(state.branches["main"]).head
    extra: list[bytes] = []

    def add(kind: str, body: bytes) -> bytes:
        oid, frame = _object_frame(kind, body)
        extra.append(frame)
        return oid

    blob = add("blob", b"planted by a hostile peer\n")
    branches = dict(state.branches)
    if mode == "ghost-ref":
        branches["ghost"] = frozenset({Entry(Dot(ReplicaId("ee" * 16), 1), ObjectId(b"\x42" * 32))})
    else:
        base = Commit.from_bytes(repo.store.get(head)[1])
        top_tree = base.tree
        meta = add("tree", _raw_tree(("file", "config", blob)))
        bad = {
            "tree-dotdot": ("file", "..", blob),
            "tree-abs": ("file", "/etc/evil", blob),
            "tree-meta": ("tree", ".vcrdt", meta),
            "tree-case": ("tree", ".VCRDT", meta),
        }
        if mode in bad:
            tree = add("tree", _raw_tree(bad[mode], ("tree", "sub", top_tree)))
            new = add("commit", _forged_commit(tree, head, base, 1).to_bytes())
        elif mode == "bad-clock":
            tree = add("tree", _raw_tree(("file", "new.txt", blob), ("tree", "sub", top_tree)))
            new = add("commit", _forged_commit(tree, head, base, 1, skew=4).to_bytes())
        else:  # link-escape:TARGET
            target = add("blob", mode.split(":", 1)[1].encode())
            c1 = _forged_commit(add("tree", _raw_tree(("link", "link", target))), head, base, 1)
            first = add("commit", c1.to_bytes())
            inner = add("tree", _raw_tree(("file", "evil.txt", blob)))
            new = add(
                "commit", _forged_commit(add("tree", _raw_tree(("tree", "link", inner))), first, c1, 2).to_bytes()
            )
        branches["main"] = frozenset({Entry(Dot(ReplicaId("ee" * 16), 1), ObjectId(new))})
    context = {**state.context, ReplicaId("ee" * 16): 1}
    out = list(frames)
    out[state_at] = F.encode(F.STATE, F.encode_state(RefState(branches, context), tags))
    # The forged objects go before the end frame (or the root bucket that precedes it).
    at = next(i for i, f in enumerate(out) if f[4] in (F.BUCKET, F.END) and i > state_at)
    return out[:at] + extra + out[at:]


def answer(mode: str, repo: Repository, request: bytes) -> bytes:
    """The (tampered) response to one request's bytes: what the lying HTTP server sends."""
    limits = SyncLimits()
    reader = FrameReader(F.reader_of([request]), limits, "client")
    response = list(respond_safely(repo, reader, limits))
    if mode.split(":", 1)[0] in FORGED:
        if b'"op":"refs"' in request[5:200]:
            response = forge(mode, repo, response)
        return b"".join(response)
    return b"".join(tamper(mode, iter(response)))


def serve_http(mode: str, path: Path) -> int:
    """Serve the lies of `mode` over HTTP until killed."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    repo_root = Repository.discover(path, Settings()).root
    if not mode.startswith("packed-") and mode not in ("honest", "replay"):
        F.SUPPORTED = (1,)  # these modes tamper with version-1 object frames

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                parts = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0], 16)
                    parts.append(self.rfile.read(size))
                    self.rfile.readline()
                    if not size:
                        break
                body = b"".join(parts)
            else:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if mode == "stall-head":
                threading.Event().wait()
            repo = Repository.discover(repo_root, Settings())
            try:
                data = answer("honest" if mode == "stall-body" else mode, repo, body)
            finally:
                repo.close()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-vcrdt-sync")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if mode == "stall-body":
                self.wfile.write(data[:6])
                self.wfile.flush()
                threading.Event().wait()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"serving {repo_root.name} at http://127.0.0.1:{server.server_address[1]}/{repo_root.name}", flush=True)
    server.serve_forever()
    return 0


def main(argv: list[str]) -> int:
    if argv[1] == "--http":
        return serve_http(argv[2], Path(argv[3]))
    mode, path = argv[1], Path(argv[2])
    repo = Repository.discover(path, Settings())
    limits = SyncLimits()
    out = sys.stdout.buffer
    written = 0
    cut = int(mode.split(":", 1)[1]) if mode.startswith("cut:") else None
    lying = (
        not mode.startswith(("packed-", "descent-", "tdelta-"))
        and mode not in ("honest", "replay", "v2", "v3")
        and cut is None
    )
    if lying:
        F.SUPPORTED = (1,)  # these modes tamper with version-1 object frames
    elif mode == "v2":
        F.SUPPORTED = (1, 2)
    elif mode == "v3":
        F.SUPPORTED = (1, 2, 3)
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
        if mode.split(":", 1)[0] in FORGED and b'"op":"refs"' in first.payload:
            response = forge(mode, repo, response)
        # (Forged modes leave every other request's answer as it is.)
        frames = tamper("honest" if mode.split(":", 1)[0] in FORGED else mode, iter(response))
        if mode.startswith("descent-"):
            op = F.read_hello(first, "client")[1]["op"]
            frames = descent(mode, str(op), iter(response))
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
        if mode not in ("honest", "replay", "v1", "v2", "v3") and cut is None and mode.split(":", 1)[0] not in FORGED:
            if not mode.startswith("descent-") or str(op) == "descend":
                return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
