"""The console's benchmark (tools/console_bench.py, `make bench-console`) runs and prints its figures,
here on a small ledger (the full 10,000 clients and 100,000 events are the make target's)."""

from __future__ import annotations

import re
import subprocess
import sys

from constants import ROOT


def test_console_benchmark_seeds_serves_and_times_every_page():
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "console_bench.py"), "--clients", "200", "--events", "2000", "--runs", "3"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stdout + run.stderr[-2000:]
    lines = run.stdout.splitlines()
    assert lines[0].startswith("seeded 200 clients, 2,000 indexed events, 500 requests in "), lines[0]
    timed = {m.group(1).strip(): (float(m.group(2)), m.group(5)) for line in lines[2:]
             if (m := re.fullmatch(r"(.{30}) +([\d.]+) +([\d.]+) +([\d.]+)(  ok|  OVER TARGET)?", line))}
    assert list(timed) == ["dashboard", "client search by name", "client search by id prefix", "client search by address",
                           "client list (first page)", "one client with history", "pending requests"], lines
    assert all(median > 0 for median, _ in timed.values())
    assert [label for label, (_, verdict) in timed.items() if verdict] == list(timed)[:4]  # the four pages with a target
    assert re.fullmatch(r"4 operators at once, every page in turn: 12 requests in [\d.]+ s \([\d.]+ per second\), "
                        r"median [\d.]+ ms, p95 [\d.]+ ms, max [\d.]+ ms", lines[-1]), lines[-1]
