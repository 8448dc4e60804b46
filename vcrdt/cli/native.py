"""Build the native client (`client.c`): `python -m vcrdt.cli.native OUTPUT`.

The client runs each command on the command server without starting Python,
which is most of the time of a small command (see `vcrdt.cli.server`). It is
built for one installation: the interpreter running this module and the
package directory beside it are compiled in, so the result belongs in that
installation's ``bin`` (``make`` puts it at ``.venv/bin/vcrdt``, over the
Python console script). Without a C compiler the Python client keeps working;
the build exits 1 and says so. ``CC`` and ``CFLAGS`` are honoured.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SOURCE = Path(__file__).with_name("client.c")


def c_string(text: str) -> str:
    """Return `text` as a C string literal (every byte but letters, digits and ``/._-+@`` in octal).

    >>> print(c_string('/opt/my "env"/bin/python3.11'))
    "/opt/my\\040\\042env\\042/bin/python3.11"
    """
    out = []
    for byte in os.fsencode(text):
        char = chr(byte)
        out.append(char if (char.isascii() and char.isalnum()) or char in "/._-+@" else f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


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
    from vcrdt.cli.server import package_dir

    flags = shlex.split(os.environ.get("CFLAGS", "-O2"))
    output = output.absolute()
    fd, temp = tempfile.mkstemp(prefix=".vcrdt-client-", dir=output.parent)
    os.close(fd)
    try:
        done = subprocess.run(
            [
                *shlex.split(cc),
                *flags,
                "-Wall",
                "-Wextra",
                f"-DVCRDT_PYTHON={c_string(sys.executable)}",
                f"-DVCRDT_PACKAGE={c_string(package_dir())}",
                "-o",
                temp,
                str(SOURCE),
            ],
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
        sys.stderr.write("usage: python -m vcrdt.cli.native OUTPUT\n")
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
