"""The reliability log: what the slow tier's crash, hostile-input and race tests saw.

`make reliability` sets ``VCRDT_RELIABILITY_LOG`` to a file; every test process
(pytest-xdist workers included) appends one JSON line per event with
`record`, and `tests.reliability.summary` adds them up into the one-line
summary CI prints. Outside that target nothing is written.

Kinds of event:
- ``crash``: one crash run (a process killed at a random point); ``ok`` means
  the repository was consistent afterwards and the redo worked;
- ``hostile``: one hostile input; ``ok`` means it was refused with a clear
  error and nothing changed (recorded for every passing or failing test marked
  ``hostile``, by `tests/conftest.py`);
- ``race``: one round of concurrent writers; ``ok`` means nothing was lost;
- ``outside``: files outside the work tree that a test's victim directory
  saw created, changed or deleted (``n``);
- ``lost``: committed data found missing after a fault (``n``).
"""

from __future__ import annotations

import json
import os
from typing import Any

ENV = "VCRDT_RELIABILITY_LOG"


def record(kind: str, **fields: Any) -> None:
    """Append one event to the reliability log, if one is being kept."""
    path = os.environ.get(ENV)
    if not path:
        return
    line = json.dumps({"kind": kind, **fields}, sort_keys=True) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())  # one write with O_APPEND: lines from workers never interleave
    finally:
        os.close(fd)
