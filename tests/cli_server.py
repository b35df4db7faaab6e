"""A ``deptoken`` that has done its imports already: the tests' CLI runs, each in a process of its own.

Most of a chain command's second is Python importing its modules (tools/cli_times.py); the tests run
the CLI a few hundred times, so ``Devnet.cli`` (tests/ops_support.py) asks this server,
one per pytest worker, which imported all that once: for each run it forks a child that takes the
run's arguments, environment, working directory and output files and calls the console script's
``main``, as the installed ``deptoken`` would, in a fresh process; its exit status (a fault point's
``os._exit`` included) comes back as a subprocess's would. Nothing is connected, opened or read before
the fork: only modules are imported, so each run starts from what a new process would have.

    python tests/cli_server.py SOCKET_PATH     (started and stopped by tests/ops_support.py)

Protocol, one run per connection: the client sends one JSON line ``{"argv", "env", "cwd", "stdout",
"stderr"}``; the server replies with the line ``{"pid": N}`` (the run's process, for a timeout's
kill), then ``{"status": S}`` with S as ``subprocess`` reports it (the exit code, or minus the
signal that ended it).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys


def preload() -> None:
    """Imports what every command's process would import first (modules only, no state)."""
    import importlib
    import pkgutil

    import deptoken

    # the library and the web3 a chain command uses; not ape (the command does not use it) nor the ape scripts' module
    library = [m.name for m in pkgutil.walk_packages(deptoken.__path__, "deptoken.")
               if ".migrations" not in m.name and not m.name.endswith(("__main__", "ape_scripts"))]
    for name in ["deptoken.cli.main", "web3", *library]:
        importlib.import_module(name)
    assert "ape" not in sys.modules, "the CLI's modules import ape"


def run(request: dict) -> None:
    """In the forked child: becomes ``deptoken ARGV`` and exits with its status."""
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    stdin = os.open(os.devnull, os.O_RDONLY)
    os.dup2(stdin, 0)
    for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
        out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(out, fd)
        os.close(out)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the process's own descriptors
    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
    sys.argv = ["deptoken", *request["argv"]]
    from deptoken.cli.main import main

    code = 1
    try:
        code = main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if not isinstance(exc.code, int | None):
            print(exc.code, file=sys.stderr)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code or 0)


def serve(path: str) -> None:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the runs' supervisors reap themselves
    print("ready", flush=True)
    while True:
        conn, _ = listener.accept()
        if os.fork():
            conn.close()
            continue
        # the supervisor: forks the run, reports its pid and then its status
        listener.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        with conn, conn.makefile("rwb") as stream:
            request = json.loads(stream.readline())
            pid = os.fork()
            if pid == 0:
                conn.close()
                run(request)
            stream.write(json.dumps({"pid": pid}).encode() + b"\n")
            stream.flush()
            _, status = os.waitpid(pid, 0)
            code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            stream.write(json.dumps({"status": code}).encode() + b"\n")
            stream.flush()
        os._exit(0)


if __name__ == "__main__":
    preload()
    serve(sys.argv[1])
