"""`vcrdt.extensions.load_alone`: a package's C module without the package's ``__init__``."""

from __future__ import annotations

import subprocess
import sys

from vcrdt.extensions import load_alone

SCRIPT = """
import sys
from vcrdt.extensions import load_alone
m = load_alone("zstandard", "backend_c", needs=("ZstdCompressor",))
assert m is sys.modules["zstandard.backend_c"], m
assert "zstandard" not in sys.modules
import zstandard
assert zstandard.ZstdCompressor is m.ZstdCompressor
print("ok")
"""


def test_loads_the_module_alone_and_the_package_shares_it() -> None:
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=False)
    assert (proc.returncode, proc.stdout.strip()) == (0, "ok"), proc.stderr


def test_a_missing_module_or_attribute_gives_none() -> None:
    assert load_alone("zstandard", "no_such_module") is None
    assert load_alone("no_such_package_here", "x") is None
    script = (
        "import sys\nfrom vcrdt.extensions import load_alone\n"
        "assert load_alone('zstandard', 'backend_c', needs=('NoSuchAttribute',)) is None\n"
        "assert 'zstandard.backend_c' not in sys.modules\nprint('ok')\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert (proc.returncode, proc.stdout.strip()) == (0, "ok"), proc.stderr
