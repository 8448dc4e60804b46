"""Build git repositories for the interop tests with the real git CLI, odd objects included."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ENV_KEYS = ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL")


def git(cwd: Path, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> bytes:
    """Run git in `cwd` and return its stdout (failing the test on a non-zero exit)."""
    full = dict(os.environ)
    full.update(env or {})
    proc = subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True, env=full, check=False)
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr.decode(errors='replace')}"
    return proc.stdout


def write_raw(cwd: Path, kind: str, body: bytes) -> str:
    """Store an object exactly as given (`git hash-object --literally`); return its hex id."""
    return git(cwd, "hash-object", "-t", kind, "-w", "--literally", "--stdin", stdin=body).decode().strip()


def mktree(cwd: Path, entries: list[tuple[str, str, bytes]]) -> str:
    """Store a tree from ``(mode, hex id, raw name)`` in the order given (no sorting, no checks)."""
    body = b"".join(m.encode() + b" " + name + b"\0" + bytes.fromhex(h) for m, h, name in entries)
    return write_raw(cwd, "tree", body)


def blob(cwd: Path, data: bytes) -> str:
    """Store a blob; return its hex id."""
    return git(cwd, "hash-object", "-w", "--stdin", stdin=data).decode().strip()


def every_object(cwd: Path) -> set[str]:
    """Every object reachable from any ref, annotated tags included."""
    lines = git(cwd, "rev-list", "--objects", "--all").decode("latin-1").splitlines()
    out = {line.split(" ", 1)[0] for line in lines}
    for line in git(cwd, "for-each-ref", "--format=%(objectname) %(objecttype)").decode().splitlines():
        oid, typ = line.split()
        if typ == "tag":
            out.add(oid)
            # Nested tags: peel one level at a time.
            while True:
                target = git(cwd, "cat-file", "tag", oid).split(b"\n", 1)[0].split()[1].decode()
                typ = git(cwd, "cat-file", "-t", target).decode().strip()
                out.add(target)
                if typ != "tag":
                    break
                oid = target
    return out


def refs(cwd: Path) -> dict[str, str]:
    """Branches and tags with the ids they name."""
    text = git(cwd, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads", "refs/tags").decode()
    return dict(line.split() for line in text.splitlines())


def init(path: Path, *, bare: bool = False, object_format: str = "sha1") -> Path:
    """A new git repository with a fixed initial branch."""
    args = ["init", "-q", "-b", "main", f"--object-format={object_format}"]
    if bare:
        args.append("--bare")
    git(path.parent, *args, path.name)
    return path
