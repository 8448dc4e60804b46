"""Build the optional C accelerator of the work-tree walk (the rest of the build is in pyproject.toml).

`vcrdt.worktree._scan` (vcrdt/worktree/_scan.c) is optional: without a C
compiler the install still succeeds and vcrdt walks the tree in pure Python
(`vcrdt.worktree.scan`), only slower.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "vcrdt.worktree._scan",
            sources=["vcrdt/worktree/_scan.c"],
            optional=True,
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Werror=implicit-function-declaration"],
        )
    ]
)
