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

The Python it falls back to starts without `site` (``-S``) where that is safe: `site_setup`
runs the interpreter once at build time, with and without `site`, and bakes in what `site`
added (the site-packages directories and the directories their ``.pth`` files name, such as an
editable install's project, and a virtual environment's ``sys.prefix``). At run time the entry
sets them itself after checking, in a few system calls, that `site` would still add the same
ones (the same ``.pth`` files, unchanged, and every directory present); otherwise it runs `site`
as usual (``site.main()``). An installation where `site` does anything else (a
``sitecustomize``, code in a ``.pth`` file, the user's site-packages) keeps `site`.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import site
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

# The modules a Python loads with `site` and not without it when `site` does no more than add
# directories: `site` and what it imports. `_distutils_hack` is setuptools' (its
# distutils-precedence.pth): it only redirects `import distutils`, which vcrdt never makes.
_SITE_MODULES = frozenset(
    {"site", "_sitebuiltins", "os", "os.path", "posixpath", "genericpath", "stat", "_stat", "_collections_abc"}
    | {"_distutils_hack"}
)
_PROBE = (
    "import json, sys; user = getattr(sys.modules.get('site'), 'ENABLE_USER_SITE', None); "
    "print(json.dumps([sys.path, sys.prefix, sys.exec_prefix, sorted(sys.modules), user]))"
)

# Run before the entry by a Python started with -S: the directories and prefixes `site` would set,
# if the site-packages directories `{dirs}` still hold the same .pth files (`{pths}`: for each, the
# names and times, None where it was missing) and every directory `{paths}` is there; else `site`
# itself. Short: Python compiles it at each start. `site` reads an unreadable directory as empty.
SITE_BOOT = """import sys
from os import listdir, stat
from os.path import exists
def _pths(d):
    try:
        return [(n, stat(d + "/" + n).st_mtime_ns) for n in sorted(listdir(d)) if n.endswith(".pth")]
    except OSError:
        return None
if list(map(_pths, {dirs})) == {pths} and all(map(exists, {paths})):
    sys.path += {paths}
    sys.prefix, sys.exec_prefix = {prefix}, {exec_prefix}
else:
    import site
    site.main()
del _pths
"""


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


def _probe(python: str, *flags: str) -> tuple[list[str], str, str, list[str], bool | None]:
    """`python`'s sys.path, prefixes, loaded modules and whether `site` added the user's site-packages."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSTARTUP", "PYTHONNOUSERSITE")}
    done = subprocess.run([python, *flags, "-P", "-c", _PROBE], capture_output=True, text=True, env=env, check=True)
    path, prefix, exec_prefix, modules, user = json.loads(done.stdout)
    return path, prefix, exec_prefix, modules, user


def site_setup(python: str) -> str | None:
    """Return the code that does `site`'s work for `python` started with ``-S`` (None: keep `site`).

    `python` is run with and without `site`; `site` may be left out when all it did was append
    directories to ``sys.path`` and set the prefixes, with no ``sitecustomize`` or
    ``usercustomize`` loaded and the user's site-packages off (as in a virtual environment).
    The code checks at each start that `site` would do the same (`SITE_BOOT`).

    Args:
        python: The interpreter the client runs; this module must run under it (its `site` is read).

    Returns:
        Python source to run first, or None.
    """
    if os.path.realpath(python) != os.path.realpath(sys.executable) or sys.flags.no_site:
        return None
    try:
        path, prefix, exec_prefix, modules, user = _probe(python)
        base, _, _, base_modules, _ = _probe(python, "-S")
    except (OSError, subprocess.CalledProcessError, ValueError):
        return None
    if user is not False or (prefix, exec_prefix) != (sys.prefix, sys.exec_prefix):
        return None  # the user's site-packages (its presence can change), or not this process's site
    if path[: len(base)] != base or not set(modules) - set(base_modules) <= _SITE_MODULES:
        return None  # site inserted a directory, or ran code: keep it
    dirs = site.getsitepackages()
    pths: list[list[tuple[str, int]] | None] = []
    for d in dirs:
        try:
            names = sorted(n for n in os.listdir(d) if n.endswith(".pth"))
            pths.append([(n, os.stat(os.path.join(d, n)).st_mtime_ns) for n in names])
        except FileNotFoundError:
            pths.append(None)
        except OSError:
            return None
    return SITE_BOOT.format(
        dirs=ascii(dirs),
        pths=ascii(pths),
        paths=ascii(path[len(base) :]),
        prefix=ascii(prefix),
        exec_prefix=ascii(exec_prefix),
    )


def header(python: str, package: str, *, boot: str | None = None) -> str:
    """Return ``protocol.h``: the client's constants, generated from `vcrdt.daemon.protocol`.

    Args:
        python: The interpreter the client runs a command with when no server takes it.
        package: The vcrdt package directory (part of the socket key).
        boot: Code doing `site`'s work (`site_setup`): Python then starts with ``-S`` and runs it
            before the entry point. None: Python starts with `site`.

    Returns:
        The text of the header.
    """
    p = protocol
    lines = [
        f"/* Generated from vcrdt/daemon/protocol.py by {__name__} when the client is built: do not edit. */",
        f"#define VCRDT_PYTHON {c_string(python)}",
        f"#define VCRDT_PACKAGE {c_string(package)}",
        f"#define NO_SITE {int(boot is not None)}",
        f"#define ENTRY {c_string((boot or '') + ENTRY)}",
        f"#define ENTRY_ASKED {c_string((boot or '') + ENTRY_ASKED)}",
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
        f"#define REPLY_SIZE {1 + p.INT_SIZE}",
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
            boot = site_setup(sys.executable)
            text = header(sys.executable, protocol.package_dir(), boot=boot)
            Path(include, HEADER).write_text(text, encoding="ascii")
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
