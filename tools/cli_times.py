"""Start times of the ``deptoken`` CLI: minimum and median wall time (and CPU time, user + system,
which a machine shared with other work inflates less) of 10 runs of each of
``deptoken --help``, a ledger-only command (``requests list`` on a fresh SQLite ledger) and a chain
command (``status`` against an Anvil with the devnet token deployed, started here).

    . tools/env.sh && PYTHONPATH=src python tools/cli_times.py [--runs N]

The command runs as the installed console script does (``from MODULE import main; main()``, MODULE
from ``[project.scripts]`` in pyproject.toml), so that it measures the checkout, not an older install.
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # a development tool of the checkout


def entry_point() -> tuple[str, str]:
    target = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]["deptoken"]
    module, _, function = target.partition(":")
    return module, function


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: list[str], env: dict[str, str], runs: int) -> tuple[list[float], list[float]]:
    """Wall times and CPU times (user + system: what a loaded machine does not inflate as much)."""
    times, cpus = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), cpu()
        result = subprocess.run(argv, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
        cpus.append(cpu() - start_cpu)
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(argv[3:])}: exit {result.returncode}\n{result.stdout}{result.stderr}")
    return times, cpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    module, function = entry_point()
    deptoken = [sys.executable, "-c", f"import sys; from {module} import {function} as m; sys.exit(m())"]
    with tempfile.TemporaryDirectory(prefix="cli-times-") as tmp:
        port = free_port()
        network = f"ethereum:local:http://127.0.0.1:{port}"
        env = {**os.environ, "DEPTOKEN_DB_URL": f"sqlite:///{tmp}/ledger.sqlite", "DEPTOKEN_DEPLOYMENTS_DIR": tmp,
               "APE_DISABLE_TELEMETRY": "1"}
        env.pop("DEPTOKEN_NETWORK", None)
        subprocess.run([*deptoken, "db", "upgrade"], env=env, check=True, capture_output=True)
        anvil = subprocess.Popen(["anvil", "--host", "127.0.0.1", "--port", str(port), "--chain-id", "31337",
                                  "--accounts", "44", "--silent"])
        try:
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            subprocess.run(["ape", "run", "deploy", "--network", network, "--force"], cwd=ROOT, env=env, check=True,
                           capture_output=True)
            cases = [("deptoken --help", ["--help"]), ("deptoken requests list (ledger only)", ["requests", "list"]),
                     ("deptoken status (chain)", ["--network", network, "status"])]
            print(f"{module}:{function}, {runs} runs each, seconds; load average {os.getloadavg()[0]:.1f}")
            for label, args in cases:
                times, cpus = timed([*deptoken, *args], env, runs)
                print(f"{label:<40} wall min {min(times):.3f}  median {statistics.median(times):.3f}   "
                      f"cpu min {min(cpus):.3f}  median {statistics.median(cpus):.3f}")
        finally:
            anvil.terminate()
            anvil.wait(timeout=20)


if __name__ == "__main__":
    main()
