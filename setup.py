"""Build the optional C accelerator of the work-tree walk, and install the man pages (the rest is in pyproject.toml).

The man pages (man/vcrdt*.1, made by `make man`) go to the environment's
``share/man/man1``, where `man vcrdt` finds them (man looks beside each
``bin`` directory on the PATH) and so does `vcrdt help`. An editable install
leaves them out; `vcrdt help` then reads them from the checkout's man/.

`vcrdt.worktree._scan` (vcrdt/worktree/_scan.c) is optional: without a C
compiler the install still succeeds and vcrdt walks the tree in pure Python
(`vcrdt.worktree.scan`), only slower.
"""

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
        )
    ]
)
