"""A Python prologue that kills its process (SIGKILL) when a scratch directory is about to be renamed into place.

`vcrdt.scratch` lays a new directory out under a scratch name and renames it; a script that
starts with `KILLED_BEFORE_RENAME` dies just before that rename, as a process killed there would.
"""

KILLED_BEFORE_RENAME = r"""
import os, signal, sys
real = os.rename
def rename(src, dst, *args, **kwargs):
    if ".vcrdt-init-" in os.fspath(src):
        os.kill(os.getpid(), signal.SIGKILL)
    return real(src, dst, *args, **kwargs)
os.rename = rename
"""
