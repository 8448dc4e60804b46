"""The command server: a warm process that forks a child per command (Mercurial's chg model).

Starting Python and importing typer, click, rich and the core costs more than
most commands' own work. So `vcrdt` first asks a per-user server, which has
everything imported already and holds no open repository, to run the command.
The server is opt-in: only ``vcrdt daemon start`` (`control.start`) or
``core.daemon = true`` in a config file (`protocol.auto_start`) starts one; a
running one is used. Two clients speak the same protocol: `client.request`
(the Python console script), and the native client ``vcrdt/daemon/client.c``,
which `make` builds as ``.venv/bin/vcrdt`` (see `native`) so that a command
does not pay for starting Python at all; its constants are generated from
`protocol` when it is built.

- The client connects to a Unix socket in ``$XDG_RUNTIME_DIR/vcrdt`` (or
  ``/tmp/vcrdt-<uid>``; a directory of mode 0700 owned by the user, else no
  server is used). The socket is named by a key (`protocol.socket_key`) of
  everything fixed when an interpreter starts: the protocol, the interpreter,
  the package directory, the file-system encoding, UTF-8 mode and the
  ``PYTHON*`` variables other than `protocol.PER_REQUEST_VARS`. Clients that
  differ in any of them never share a server.
- It sends argv, the environment and its umask (`protocol.encode_request`),
  with its stdin, stdout, stderr and current directory as file descriptors
  (SCM_RIGHTS). The server first checks that its code is still what it
  imported (`server.code_stamp`: the path, mtime and size of every ``.py``
  file of vcrdt and the site-packages directories); if not, it closes the
  connection without running anything and exits. Otherwise it forks; the
  child takes the descriptors as 0, 1, 2 and its working directory, replaces
  its environment, sets up stdio as Python would have for that environment
  (`stdio.stdio_modes`), runs the same in-process entry `vcrdt.cli.run(argv)`,
  and sends back its pid first and its exit code last. The client forwards
  SIGINT, SIGTERM and SIGHUP to the child and exits with the child's code.
- Some commands always run in the client (`protocol.runs_here`; both clients
  apply the same rule to argv): the command word is the first argument that
  is not an option nor the value of a global option that takes one
  (`protocol.VALUE_OPTIONS`). `protocol.LOCAL_COMMANDS` (``daemon``) always
  run in the client; `protocol.TERMINAL_COMMANDS` (``merge``, ``resolve``,
  ``commit``, ``revert``, which may prompt and start the editor, and ``log``, ``diff``,
  ``show``, ``conflicts``, ``blame``, which page) run in the client when its stdin is
  a terminal, because a server child has no controlling terminal: job control
  (SIGTSTP, SIGCONT), window-size changes and ``/dev/tty`` would not reach
  them.
- When no server answers, the client runs the command itself and then, if
  `protocol.auto_start` says so, starts a detached server for next time; that
  one exits after `protocol.IDLE_SECONDS` without requests. Any server exits
  as soon as its stamp no longer matches the files on disk, and on SIGTERM
  (``vcrdt daemon stop``). The server parent answers ``status`` on a second
  socket (`protocol.control_path`, `control.query`).

Each request runs in a fresh fork of a server that never ran a command, so no
state passes from one command to the next; what the server read at import
time is the only risk. vcrdt's own modules read the environment, the
terminal and the working directory per command; typer reads a few variables
at import (`protocol.IMPORT_TIME_VARS`), so a client with any of them set
runs in-process. ``VCRDT_NO_SERVER=1`` turns the server off.

One thing a spare child does open before its request: the store of the repository a command
last opened (named in ``last-store`` in the socket directory), with its schema read and the
commit table's query prepared (`server._StoreAhead`). The command's `vcrdt.store.db.Database`
takes that connection only if the store it opens is that very file, unchanged in place (device,
inode, size, mtime), in the same ``.vcrdt`` directory and with the same WAL files; else it opens
its own. The server parent never opens a store, so no connection crosses a fork. While a spare
holds a store, the ``-wal`` and ``-shm`` files stay beside it, and a command's close is not the
last one: the child checkpoints what a command left in the WAL before it sends the exit code.

The modules, by concern:

- `protocol`: what both clients and the server agree on (the key, the
  socket directory, the request and reply formats, the rule of which
  commands run in the client, the timeouts and variable names).
- `client`: the Python client that hands a command to the server, and
  starts a server for next time when the configuration asks for one.
- `control`: ``vcrdt daemon start | stop | status`` from the outside.
- `server`: the server process (accept loop, pre-forked spare, children,
  signals, the code watch and the warm-up).
- `stdio`: descriptors 0-2 (occupied in the client, taken over in a child)
  and the text streams Python would have set up.
- `monitor`: the file-system monitor a server runs for `status`, `commit` and `add`.
- `native`: building the native client, with its constants generated from
  `protocol`.

The package knows nothing of the command line: the server runs commands
through the `server.Commands` it is given, and its process entry point
(``python -m vcrdt.daemon``, `vcrdt.daemon.__main__`) is the one place that
connects it to `vcrdt.cli`. The client modules import only the standard
library at module level (the client runs on every command).
"""
