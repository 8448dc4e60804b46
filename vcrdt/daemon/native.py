"""Build the native client (`client.c`): `python -m vcrdt.daemon.native OUTPUT`.

The client runs each command on the command server without starting Python,
which is most of the time of a small command (see `vcrdt.daemon`). It is
built for one installation: the interpreter running this module and the
package directory beside it are compiled in, so the result belongs in that
installation's ``bin`` (``make`` puts it at ``.venv/bin/vcrdt``, over the
Python console script). Without a C compiler the Python client keeps working;
the build exits 1 and says so. ``CC`` and ``CFLAGS`` are honoured.

What the client shares with the server (the protocol version, the message
tags, the timeouts, the variable names, the rule of which commands run in the
client) is not written in the C source: `header` generates it from
`vcrdt.daemon.protocol` into ``protocol.h`` at each build, so the two clients
cannot drift apart.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from vcrdt.daemon import protocol

SOURCE = Path(__file__).with_name("client.c")
HEADER = "protocol.h"
# What the client has Python run when it does not hand the command to a server: the console
# script's entry point, told (`asked`) when the client has already asked the server.
ENTRY = "from vcrdt.cli import main; main()"
ENTRY_ASKED = "from vcrdt.cli import main; main(asked=True)"


def c_string(text: str | bytes) -> str:
    """Return `text` as a C string literal (bytes but printable ASCII other than quotes, ``\\`` and ``?`` in octal).

    >>> print(c_string('/opt/my "env"/bin/python3.11'))
    "/opt/my \\042env\\042/bin/python3.11"
    """
    return '"' + _escape(text) + '"'


def c_char(tag: bytes) -> str:
    """Return the one byte `tag` as a C character literal.

    >>> print(c_char(b"P"), c_char(b"\\n"))
    'P' '\\012'

    Raises:
        ValueError: `tag` is not one byte.
    """
    if len(tag) != 1:
        raise ValueError(f"not one byte: {tag!r}")
    return "'" + _escape(tag) + "'"


def _escape(text: str | bytes) -> str:
    out = []
    for byte in os.fsencode(text) if isinstance(text, str) else text:
        printable = 0x20 <= byte < 0x7F and chr(byte) not in "\"'\\?"  # `?`: no trigraphs
        out.append(chr(byte) if printable else f"\\{byte:03o}")
    return "".join(out)


def _c_list(name: str, items: Iterable[str | bytes]) -> str:
    values = "".join(f"{c_string(item)}, " for item in items)
    return f"static const char *const {name}[] = {{{values}NULL}};"


def header(python: str, package: str) -> str:
    """Return ``protocol.h``: the client's constants, generated from `vcrdt.daemon.protocol`.

    Args:
        python: The interpreter the client runs a command with when no server takes it.
        package: The vcrdt package directory (part of the socket key).

    Returns:
        The text of the header.
    """
    p = protocol
    lines = [
        f"/* Generated from vcrdt/daemon/protocol.py by {__name__} when the client is built: do not edit. */",
        f"#define VCRDT_PYTHON {c_string(python)}",
        f"#define VCRDT_PACKAGE {c_string(package)}",
        f"#define ENTRY {c_string(ENTRY)}",
        f"#define ENTRY_ASKED {c_string(ENTRY_ASKED)}",
        f"#define PROTOCOL {c_string(str(p.PROTOCOL))}",
        f"#define ACK_MS {round(p.ACK_SECONDS * 1000)}",
        f"#define MAX_TIMEOUT_SECONDS {float(p.MAX_TIMEOUT_SECONDS)!r}",
        f"#define NO_SERVER_VAR {c_string(p.NO_SERVER_VAR)}",
        f"#define TIMEOUT_VAR {c_string(p.TIMEOUT_VAR)}",
        f"#define RUNTIME_VAR {c_string(p.RUNTIME_VAR)}",
        f"#define RUNTIME_SUBDIR {c_string(p.RUNTIME_SUBDIR)}",
        f"#define FALLBACK_DIR_PREFIX {c_string(p.FALLBACK_DIR_PREFIX)}",
        f"#define SOCKET_SUFFIX {c_string(p.SOCKET_SUFFIX)}",
        f"#define TAG_PID {c_char(p.PID)}",
        f"#define TAG_GO {c_char(p.GO)}",
        f"#define TAG_EXIT {c_char(p.EXIT)}",
        f"#define REPLY_SIZE {1 + p.INT.size}",
        f"#define INTERNAL_EXIT {p.INTERNAL_EXIT}",
        f"#define LOST_MESSAGE {c_string(p.LOST_MESSAGE)}",
        f"#define FNV_OFFSET {p.FNV_OFFSET:#x}ULL",
        f"#define FNV_PRIME {p.FNV_PRIME:#x}ULL",
        _c_list("import_time_vars", p.IMPORT_TIME_VARS),
        _c_list("per_request_vars", p.PER_REQUEST_VARS),
        _c_list("encoding_vars", p.ENCODING_VARS),
        _c_list("value_options", p.VALUE_OPTIONS),
        _c_list("local_commands", p.LOCAL_COMMANDS),
        _c_list("terminal_commands", p.TERMINAL_COMMANDS),
    ]
    return "\n".join(lines) + "\n"


def find_compiler() -> str | None:
    """Return the C compiler to use: ``CC``, else ``cc`` or ``gcc`` on the PATH (None if there is none)."""
    return os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")


def build(output: Path, *, compiler: str | None = None) -> Path:
    """Compile the client for this interpreter and package into `output` (replaced atomically).

    Raises:
        OSError: No compiler was found, or it failed (the message has its output).
    """
    cc = compiler or find_compiler()
    if not cc:
        raise OSError("no C compiler (set CC)")
    flags = shlex.split(os.environ.get("CFLAGS", "-O2"))
    output = output.absolute()
    fd, temp = tempfile.mkstemp(prefix=".vcrdt-client-", dir=output.parent)
    os.close(fd)
    try:
        with tempfile.TemporaryDirectory(prefix="vcrdt-client-") as include:
            Path(include, HEADER).write_text(header(sys.executable, protocol.package_dir()), encoding="ascii")
            done = subprocess.run(
                [*shlex.split(cc), *flags, "-Wall", "-Wextra", "-I", include, "-o", temp, str(SOURCE)],
                capture_output=True,
                text=True,
                check=False,
            )
        if done.returncode != 0:
            raise OSError(f"{cc} failed: {done.stderr.strip()}")
        os.chmod(temp, 0o755)
        os.replace(temp, output)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
    return output


def main(argv: list[str] | None = None) -> int:
    """Build the client into the path given as the only argument; return the exit code."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.stderr.write("usage: python -m vcrdt.daemon.native OUTPUT\n")
        return 2
    try:
        path = build(Path(args[0]))
    except OSError as exc:
        sys.stderr.write(f"vcrdt: native client not built ({exc}); the Python client is used\n")
        return 1
    sys.stdout.write(f"built the native client: {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
