"""Build the optional C accelerators (the work-tree walk, a sync's trees), and install the man pages (the rest is in pyproject.toml).

The man pages (man/vcrdt*.1, made by `make man`) go to the environment's
``share/man/man1``, where `man vcrdt` finds them (man looks beside each
``bin`` directory on the PATH) and so does `vcrdt help`. An editable install
leaves them out; `vcrdt help` then reads them from the checkout's man/.

`vcrdt.worktree._scan` (vcrdt/worktree/_scan.c) is optional: without a C
compiler the install still succeeds and vcrdt walks the tree in pure Python
(`vcrdt.worktree.scan`), only slower. So is `vcrdt.sync._trees`
(vcrdt/sync/_trees.c): without it a sync splits, compares and applies trees
with the Python twins in `vcrdt.sync.frames`. And `vcrdt.porcelain._logtext`
(vcrdt/porcelain/_logtext.c): without it `log` walks and formats with the twin in
`vcrdt.porcelain.logtext`. And `vcrdt.store._rows` (vcrdt/store/_rows.c), which reads
the commit table's rows through SQLite's C API: without it they come through `_sqlite3`.
"""

import sys
from pathlib import Path

from setuptools import Extension, setup

setup(
    data_files=[("share/man/man1", sorted(str(p) for p in Path("man").glob("vcrdt*.1")))],
    ext_modules=[
        Extension(
            "vcrdt.worktree._scan",
            sources=["vcrdt/worktree/_scan.c"],
            optional=True,
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Werror=implicit-function-declaration"],
        ),
        Extension(
            "vcrdt.porcelain._logtext",
            sources=["vcrdt/porcelain/_logtext.c"],
            optional=True,
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Werror=implicit-function-declaration"],
        ),
        Extension(
            "vcrdt.store._rows",
            sources=["vcrdt/store/_rows.c"],
            optional=True,
            # dlopen and dlsym: in libc from glibc 2.34, in libdl (still there, empty) before.
            libraries=["dl"] if sys.platform.startswith("linux") else [],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Werror=implicit-function-declaration"],
        ),
        Extension(
            "vcrdt.sync._trees",
            sources=["vcrdt/sync/_trees.c"],
            optional=True,
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Werror=implicit-function-declaration"],
        ),
    ]
)
