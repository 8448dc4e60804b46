"""The native client's Python without `site` (``-S``): the entry sets what `site` would, or runs it.

`native.site_setup` bakes in, at build time, what `site` adds for this interpreter; the code it
returns checks at each start that `site` would still add the same, and otherwise runs `site`.
"""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vcrdt.daemon import native

PROBE = "import json, sys; print(json.dumps([sys.path, sys.prefix, sys.exec_prefix, 'site' in sys.modules]))"


def _run(*flags: str, code: str) -> list[object]:
    done = subprocess.run([sys.executable, *flags, "-P", "-c", code], capture_output=True, text=True, check=True)
    return list(json.loads(done.stdout))


@pytest.fixture(scope="module")
def boot() -> str:
    code = native.site_setup(sys.executable)
    if code is None:
        pytest.skip("this interpreter's site does more than add directories: the client keeps it")
    return code


def _baked(code: str) -> dict[str, object]:
    """The values `site_setup` formatted into `SITE_BOOT`, read back from its code."""
    condition = code.split("\nif ", 1)[1].split(":\n", 1)[0]
    dirs, rest = condition.removeprefix("list(map(_pths, ").split(")) == ", 1)
    pths, paths = rest.split(" and all(map(exists, ", 1)
    prefixes = code.split("sys.prefix, sys.exec_prefix = ", 1)[1].split("\n", 1)[0]
    prefix, exec_prefix = ast.literal_eval(prefixes)
    return {
        "dirs": ast.literal_eval(dirs),
        "pths": ast.literal_eval(pths),
        "paths": ast.literal_eval(paths.removesuffix("))")),
        "prefix": prefix,
        "exec_prefix": exec_prefix,
    }


def _format(**values: object) -> str:
    return native.SITE_BOOT.format(**{k: ascii(v) for k, v in values.items()})


def test_the_entry_without_site_sets_what_site_would(boot: str) -> None:
    with_site = _run(code=PROBE)
    without = _run("-S", code=boot + PROBE)
    assert without[:3] == with_site[:3]  # sys.path, sys.prefix (a virtual environment's), sys.exec_prefix
    assert (with_site[3], without[3]) == (True, False)
    assert _format(**_baked(boot)) == boot


def test_the_entry_runs_site_when_what_site_adds_may_have_changed(boot: str, tmp_path: Path) -> None:
    """Another .pth file, one changed, a directory gone or a site directory made since: `site` runs, as usual."""
    with_site = _run(code=PROBE)
    baked = _baked(boot)
    pths = baked["pths"]
    assert isinstance(pths, list) and isinstance(baked["dirs"], list) and isinstance(baked["paths"], list)
    first = next(i for i, p in enumerate(pths) if p is not None)
    listed = pths[first]
    changes = [
        {"pths": [*pths[:first], [*listed, ("zz-new.pth", 1)], *pths[first + 1 :]]},  # a .pth file added
        {"pths": [*pths[:first], [(n, t + 1) for n, t in listed], *pths[first + 1 :]]} if listed else {},  # rewritten
        {"paths": [*baked["paths"], str(tmp_path / "gone")]},  # a directory a .pth named is gone
        {"dirs": [*baked["dirs"], str(tmp_path)], "pths": [*pths, None]},  # a site directory now exists
    ]
    for change in changes:
        if not change:
            continue
        code = _format(**(baked | change))
        assert _run("-S", code=code + PROBE) == with_site, change


def test_the_header_starts_python_without_site_only_with_the_code(boot: str) -> None:
    with_boot = native.header(sys.executable, "pkg", boot=boot)
    assert "#define NO_SITE 1" in with_boot
    assert f"#define ENTRY {native.c_string(boot + native.ENTRY)}" in with_boot
    plain = native.header(sys.executable, "pkg")
    assert "#define NO_SITE 0" in plain
    assert f"#define ENTRY {native.c_string(native.ENTRY)}" in plain


def test_a_plain_command_through_the_native_client_starts_python_without_site(boot: str, tmp_path: Path) -> None:
    if native.find_compiler() is None:
        pytest.skip("no C compiler: the native client cannot be built here")
    client = str(native.build(tmp_path / "vcrdt"))
    work = tmp_path / "work"
    work.mkdir()
    os.mkfifo(work / "fifo")
    (work / "b").write_text("x\n")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "NO_COLOR": "1", "VCRDT_NO_SERVER": "1"}
    proc = subprocess.Popen(
        [client, "merge-file", "-p", "fifo", "b", "b"],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        # Wait for the client to become Python (it execs at once: no server is asked).
        deadline = time.monotonic() + 30
        cmdline: list[bytes] = []
        while time.monotonic() < deadline:
            cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
            if cmdline[0] not in (client.encode(), b""):  # empty while the exec is under way
                break
            time.sleep(0.01)
        assert cmdline[1:4] == [b"-S", b"-P", b"-c"]
        with open(work / "fifo", "w") as fifo:
            fifo.write("x\n")
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
    assert (proc.returncode, out, err) == (0, b"x\n", b"")
