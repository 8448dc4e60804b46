"""Commands under a locale whose encoding is not UTF-8 (Python's UTF-8 mode turned off).

Names are stored as UTF-8; such a locale would have Python read the work tree's names and write
the output in its own encoding (`status` and `diff` crashed on a non-ASCII name, `commit -A`
refused it): the entry point runs itself again in Python's UTF-8 mode.
"""

from __future__ import annotations

from tests.helpers.cli import CliRunner, vcrdt_subprocess

ASCII_LOCALE = {"PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0", "LC_ALL": "C", "LANG": "C", "VCRDT_NO_SERVER": "1"}
NAME = "\u00e9t\u00e9.txt"


def _run(repo: CliRunner, *args: str) -> str:
    proc = vcrdt_subprocess(*args, cwd=repo.cwd, env=ASCII_LOCALE)
    err = proc.stderr.decode("utf-8", "replace")
    assert "internal error" not in err and "Traceback" not in err, (args, err)
    assert proc.returncode == 0, (args, err)
    return proc.stdout.decode("utf-8")


def test_a_non_ascii_name_under_an_ascii_locale_reads_and_prints_as_stored(repo: CliRunner) -> None:
    repo.write(NAME, "one\n")
    _run(repo, "commit", "-A", "-m", "first")  # committed under the ASCII locale
    assert repo.ok("status", "--short").out == ""  # and read back as the same name under UTF-8
    assert _run(repo, "status", "--short") == ""
    repo.write(NAME, "two\n")
    assert _run(repo, "status", "--short") == f"M  {NAME}\n"
    assert NAME in _run(repo, "diff", "--stat")
    _run(repo, "commit", "-m", "second")
    assert NAME in _run(repo, "log", "--stat", "-n", "1")
    assert repo.ok("status", "--short").out == ""
