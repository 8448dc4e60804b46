"""`vcrdt daemon start | stop | status`: the optional command server (see `vcrdt.daemon`)."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from vcrdt.cli import render
from vcrdt.cli.base import app

daemon_app = typer.Typer(
    help="Start, stop or inspect the command server, an optional accelerator (off unless asked for).",
    no_args_is_help=True,
)
app.add_typer(daemon_app, name="daemon")
# Written out, not base's `JsonOption` (a string the registry resolves): typer reads these commands itself.
_Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]


@daemon_app.command("start")
def start(json: _Json = False) -> int:
    """Start the command server (if it is not running) and return once it answers.

    Commands then run in a warm fork of it, with the file-system monitor; it
    runs until `vcrdt daemon stop` or until vcrdt's code changes. Setting
    `core.daemon = true` (repository or global config) instead starts one
    after any command that found none, and that one exits after ten idle
    minutes. Never needed: every command also runs on its own.
    """
    from vcrdt.daemon import control

    try:
        pid, new = control.start()
    except OSError as exc:
        render.err().print(f"error: {exc}", markup=False)
        return 1
    if json:
        render.emit_json({"schema": 1, "pid": pid, "started": new})
    else:
        typer.echo(f"command server {'started' if new else 'already running'} (pid {pid})")
    return 0


@daemon_app.command("stop")
def stop(json: _Json = False) -> int:
    """Stop the command server and its spare; return once its socket is gone.

    Commands it is running finish first. Not running is not an error.
    """
    from vcrdt.daemon import control

    pid = control.stop()
    if json:
        render.emit_json({"schema": 1, "pid": pid, "stopped": pid is not None})
    else:
        typer.echo("command server not running" if pid is None else f"command server stopped (pid {pid})")
    return 0


@daemon_app.command("status")
def status(json: _Json = False) -> int:
    """Show the command server: pid, memory, uptime and the work trees it watches.

    Memory is the resident size of the server and of its spare child (they
    share most pages). Exit 0 if it runs, 3 if not, 1 if it does not answer.
    """
    from vcrdt.daemon import control

    info = control.query()
    if info is None:
        pid = control.holder()
        if json:
            render.emit_json({"schema": 1, "running": pid is not None, "pid": pid, "answering": False})
        elif pid is None:
            typer.echo("command server not running")
        else:
            typer.echo(f"command server pid {pid} does not answer (stopped or overloaded); `vcrdt daemon stop` ends it")
        return 3 if pid is None else 1
    pid, spare = int(info["pid"]), info.get("spare")
    rss = {"server": control.memory(pid), "spare": control.memory(spare) if isinstance(spare, int) else None}
    uptime = max(0.0, time.time() - float(info["started"]))
    trees = [str(t) for t in info.get("trees", [])]
    idle = float(info.get("idle") or 0)
    if json:
        render.emit_json(
            {
                "schema": 1,
                "running": True,
                "answering": True,
                "pid": pid,
                "spare": spare,
                "rss": rss,
                "uptime": round(uptime, 3),
                "idle_exit": idle or None,
                "trees": trees,
                "socket": info.get("socket"),
            }
        )
        return 0
    typer.echo(f"command server running: pid {pid}" + (f", spare {spare}" if spare else ""))
    memory = f"{_size(rss['server'])} server, {_size(rss['spare'])} spare"
    typer.echo(f"memory: {memory} (resident; the two share most pages)")
    typer.echo(f"uptime: {_duration(uptime)}" + (f" (exits after {_duration(idle)} idle)" if idle else ""))
    typer.echo(f"work trees watched: {len(trees)}")
    for tree in trees:
        typer.echo(f"  {render.quote(tree)}")
    return 0


def _size(n: int | None) -> str:
    return "-" if n is None else f"{n / (1 << 20):.1f} MiB"


def _duration(seconds: float) -> str:
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"
