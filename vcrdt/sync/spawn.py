"""A command on pipes, started with ``os.posix_spawnp``: the sync's peer commands, and git's (`vcrdt.gitio`).

Not `subprocess`: loading it (with selectors, signal, threading and locale) costs a process about
17 million instructions of start-up, a tenth of a no-op ``vcrdt fetch --exec CMD`` and more than
the small git commands git interop runs.

The sync's peer commands started early (`start_early`) are kept here, for the transport to take:
this module imports nothing of vcrdt, so ``fetch --exec CMD`` starts CMD before loading the
error tree, the transport or the command's module (`vcrdt.cli.run`).
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import IO


class Child:
    """One command started with ``os.posix_spawnp``: its pipes (``stdin``, ``stdout``, ``stderr``) and pid.

    The child gets pipes where asked and, elsewhere, ``/dev/null`` (or with `inherit` this
    process's own descriptor); no other descriptor (Python opens every file close-on-exec); and
    SIGPIPE and SIGXFSZ back at their defaults (Python ignores them; commands expect them), as
    `subprocess` gives them.
    """

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        *,
        stdin: bool = False,
        stdout: bool = False,
        stderr: bool = False,
        inherit: bool = False,
    ) -> None:
        """Start `argv` (its first word looked up on ``PATH``) in the environment `env`.

        Args:
            argv: The command and its arguments.
            env: Its environment.
            stdin: Give it a pipe to write to as its standard input (``self.stdin``).
            stdout: Read its standard output through a pipe (``self.stdout``).
            stderr: Read its error output through a pipe (``self.stderr``).
            inherit: The descriptors without a pipe are this process's own (else ``/dev/null``).

        Raises:
            OSError: If the command cannot be started (nothing is left open).
        """
        import _signal  # type: ignore[import-not-found,unused-ignore]  # `signal`'s C half, loaded at start-up

        actions: list[tuple[int, int, int] | tuple[int, int, str, int, int]] = []
        ours: list[int] = []  # the parent's ends of the pipes
        theirs: list[int] = []  # the child's, closed here once it runs
        for fd, wanted, writing in ((0, stdin, False), (1, stdout, True), (2, stderr, True)):
            if not wanted:
                if not inherit:
                    actions.append((os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_WRONLY if writing else os.O_RDONLY, 0))
                ours.append(-1)
                continue
            r, w = os.pipe()
            child, parent = (w, r) if writing else (r, w)
            actions.append((os.POSIX_SPAWN_DUP2, child, fd))
            ours.append(parent)
            theirs.append(child)
        try:
            self.pid = os.posix_spawnp(
                argv[0], list(argv), env, file_actions=actions, setsigdef=(_signal.SIGPIPE, _signal.SIGXFSZ)
            )
        except OSError:
            for fd in ours + theirs:
                if fd >= 0:
                    os.close(fd)
            raise
        for fd in theirs:
            os.close(fd)
        self.args = list(argv)
        self.returncode: int | None = None
        self.stdin: IO[bytes] | None = open(ours[0], "wb") if ours[0] >= 0 else None
        self.stdout: IO[bytes] | None = open(ours[1], "rb") if ours[1] >= 0 else None
        self.stderr: IO[bytes] | None = open(ours[2], "rb") if ours[2] >= 0 else None

    def wait(self) -> int:
        """Wait for the command to end; return its exit code (negative: the signal that ended it)."""
        if self.returncode is None:
            try:
                _, status = os.waitpid(self.pid, 0)  # retried on EINTR by Python itself (PEP 475)
            except ChildProcessError:
                status = 0
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait_for(self, timeout: float) -> int | None:
        """Wait at most `timeout` seconds, woken the moment it ends; its exit code, or None if still running."""
        if self.returncode is not None:
            return self.returncode
        try:
            fd = os.pidfd_open(self.pid)
        except (AttributeError, OSError):  # not Linux 5.3 or later: poll
            return self._poll(timeout)
        try:
            import select

            ready, _, _ = select.select([fd], [], [], timeout)
        finally:
            os.close(fd)
        return self.wait() if ready else None

    def _poll(self, timeout: float) -> int | None:
        import time

        end = time.monotonic() + timeout
        delay = 0.0005
        while True:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                pid, status = self.pid, 0
            if pid != 0:
                self.returncode = os.waitstatus_to_exitcode(status)
                return self.returncode
            left = end - time.monotonic()
            if left <= 0:
                return None
            time.sleep(min(delay, left))
            delay = min(delay * 2, 0.05)

    def kill(self) -> None:
        """End the command now (nothing if it has been waited for)."""
        if self.returncode is None:
            try:
                os.kill(self.pid, 9)
            except ProcessLookupError:
                pass

    def close(self) -> None:
        """Close the pipes that are still open."""
        for pipe in (self.stdin, self.stdout, self.stderr):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:
                    pass


# --- the sync's peer commands ---------------------------------------------------------------------


def shell_argv(command: str) -> tuple[str, ...]:
    """The argv that runs a shell command line (``--exec CMD``) as the peer."""
    return ("sh", "-c", command)


def spawn_peer(argv: Sequence[str]) -> Child:
    """Start a peer command with pipes on its stdin and stdout; its stderr is this process's (the user sees it).

    Raises:
        OSError: If it cannot be started.
    """
    return Child(argv, os.environ, stdin=True, stdout=True, inherit=True)


def end_peer(proc: Child) -> None:
    """Close the peer's stdin and wait for it to end (killed if it has not in 5 s), woken the moment it does."""
    try:
        if proc.stdin is not None:
            proc.stdin.close()
    except OSError:
        pass
    if proc.wait_for(5) is None:
        proc.kill()
        proc.wait()
    proc.close()


# Peer commands started before the session that will speak to them (`start_early`), by argv.
_EARLY: dict[tuple[str, ...], Child] = {}


def start_early(argv: tuple[str, ...]) -> None:
    """Start a peer command now, for the `ProcessTransport` of the same `argv` to take (`take_early`) when it starts.

    A command that reaches its peer through a process calls this before its own start-up work
    (imports, opening the repository), so the peer's start-up runs beside it, as git starts
    ``upload-pack`` before its own negotiation work. A command that cannot start is left to the
    transport, which names the error. The caller must call `discard_early` when its session
    is over (or never started).
    """
    if argv in _EARLY:
        return
    try:
        _EARLY[argv] = spawn_peer(argv)
    except OSError:
        return


def take_early(argv: tuple[str, ...]) -> Child | None:
    """The peer command of `argv` started early, now the caller's (None if none was)."""
    return _EARLY.pop(argv, None)


def discard_early() -> None:
    """End the peer commands started early that no session took (the command failed before its session)."""
    while _EARLY:
        _, proc = _EARLY.popitem()
        end_peer(proc)
