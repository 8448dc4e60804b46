"""A real OpenSSH server on 127.0.0.1 for tests, run as the current user with keys of its own.

`start_sshd(dir)` writes a host key, a client key, an ``authorized_keys`` and a
config under `dir`, starts ``sshd -D`` on a free port and waits until it
accepts connections. The sessions it opens find this Python's ``vcrdt`` first
on their PATH (``SetEnv``), as a user's login shell would find an installed
one. `Sshd.ssh_command` is the ``VCRDT_SSH`` value that logs in with the
client key and trusts the host key. Without ``sshd`` on the machine the tests
skip, except under ``CI=true``, where they fail (`.ci/run` installs it).
"""

from __future__ import annotations

import getpass
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.cli import stop

SSHD_PATHS = ("/usr/sbin/sshd", "/usr/local/sbin/sshd", "/sbin/sshd")


def find_sshd() -> str | None:
    """The sshd program, or None."""
    found = shutil.which("sshd")
    if found:
        return found
    return next((p for p in SSHD_PATHS if os.access(p, os.X_OK)), None)


def require_sshd() -> str:
    """The sshd program; skip the test without one (fail under CI=true)."""
    sshd = find_sshd()
    if sshd is None or shutil.which("ssh") is None or shutil.which("ssh-keygen") is None:
        message = "OpenSSH (sshd, ssh, ssh-keygen) is not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; .ci/run installs openssh-server")
        pytest.skip(message)
    return sshd


@dataclass(frozen=True)
class Sshd:
    """A running server: where it listens and how to reach it."""

    port: int
    user: str
    ssh_command: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bin_dir(directory: Path) -> Path:
    """A directory whose ``vcrdt`` runs this Python's vcrdt (the remote side of a session)."""
    bindir = directory / "bin"
    bindir.mkdir(exist_ok=True)
    script = bindir / "vcrdt"
    script.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m vcrdt "$@"\n')
    script.chmod(0o755)
    return bindir


@contextmanager
def start_sshd(directory: Path) -> Iterator[Sshd]:
    """Run sshd on 127.0.0.1 until the block ends (see the module doc)."""
    sshd = require_sshd()
    directory.mkdir(parents=True, exist_ok=True)
    host_key, client_key = directory / "host_key", directory / "client_key"
    for key in (host_key, client_key):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    authorized = directory / "authorized_keys"
    authorized.write_text((directory / "client_key.pub").read_text())
    authorized.chmod(0o600)
    known = directory / "known_hosts"
    port = _free_port()
    known.write_text(f"[127.0.0.1]:{port} {(directory / 'host_key.pub').read_text()}")
    path = f"{_bin_dir(directory)}:/usr/local/bin:/usr/bin:/bin"
    config = directory / "sshd_config"
    config.write_text(
        f"Port {port}\n"
        "ListenAddress 127.0.0.1\n"
        f"HostKey {host_key}\n"
        f"PidFile {directory / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {authorized}\n"
        "StrictModes no\n"
        "UsePAM no\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "PermitRootLogin prohibit-password\n"
        f"SetEnv PATH={path}\n"
        "LogLevel ERROR\n"
    )
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # the privilege-separation directory
    log = (directory / "sshd.log").open("wb")
    proc = subprocess.Popen([sshd, "-D", "-e", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"sshd exited with {proc.returncode}: {(directory / 'sshd.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("sshd did not listen within 30 s") from None
                time.sleep(0.05)  # polling the port: sshd has no readiness signal of its own
        command = shlex.join(
            [
                "ssh",
                "-i",
                str(client_key),
                "-o",
                f"UserKnownHostsFile={known}",
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                "BatchMode=yes",
                "-o",
                "IdentitiesOnly=yes",
                "-F",
                "/dev/null",
            ]
        )
        yield Sshd(port, getpass.getuser(), command)
    finally:
        stop(proc, 10)
        log.close()
