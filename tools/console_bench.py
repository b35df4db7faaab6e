"""Page timings of the operations console with a bank-sized ledger (issue 16's benchmark).

    .venv/bin/python tools/console_bench.py   (make bench-console) [--clients 10000] [--events 100000] [--runs 20]

Starts Anvil, deploys the devnet token, and seeds a SQLite ledger bound to it: 4 operators, --clients
clients (1 in 40 with an allowlist entry ending within 30 days), --events indexed Transfer events (a mint to
each client, the rest transfers between clients), an executed mint request per client and 300 pending
ones. Then it serves `deptoken console` (a process of its own, as an operator runs it), logs in over
HTTP and prints, per page, the median, 95th percentile and maximum of --runs requests (the server's
answer, read whole), against the 300 ms the issue asks of the dashboard and the client search.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from http.cookiejar import CookieJar
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parents[1]
TARGET_MS = 300
PASSWORD = "benchmark password"


def fake_address(i: int) -> str:
    from eth_utils import keccak, to_checksum_address

    return to_checksum_address(keccak(text=f"client {i}")[-20:])


def seed(url: str, head: int, clients: int, events: int, operators: list[str]) -> None:
    """Bulk rows, as years of operations would leave them (core inserts: minutes of ORM work otherwise)."""
    import sqlalchemy as sa

    from deptoken.console.auth import add_user
    from deptoken.ops.db import Ledger
    from deptoken.ops.models import ChainEvent, Client, Operator, Request, SyncState
    from deptoken.ops.operators import bootstrap

    ledger = Ledger(url)
    now = datetime.now(UTC)
    today = now.date()
    with ledger.session() as session:
        bootstrap(session, [(name, address, f"P-{name}") for name, address in zip(("ana", "ben", "chen", "dan"), operators)], actor="bench")
        add_user(session, "bench", PASSWORD, "checker", operator="ben", actor="bench")
        ana = session.scalars(sa.select(Operator.id).where(Operator.name == "ana")).one()
        session.execute(sa.update(SyncState).values(block_number=head))
    addresses = [fake_address(i) for i in range(clients)]
    zero = "0x" + "00" * 20
    with ledger.engine.begin() as conn:
        conn.execute(sa.insert(Client), [
            {"client_id": f"C-{i:06d}", "address": a, "legal_name": f"{('Acme', 'Globex', 'Initech', 'Umbrella', 'Stark')[i % 5]} Trading {i} Ltd",
             "country": ("DE", "US", "CN", "GB", "SG")[i % 5], "lei": None,
             "review_date": today + timedelta(days=10 if i % 40 == 0 else 400), "status": "active", "created_at": now, "updated_at": now}
            for i, a in enumerate(addresses)])
        rows, block = [], 1
        for n in range(events):
            if n < clients:
                sender, recipient, amount = zero, addresses[n], 1_000_000
            else:
                sender, recipient, amount = addresses[n % clients], addresses[(n * 7 + 1) % clients], 100 + n % 1000
            if n % 10 == 0:
                block += 1
            rows.append({"block_number": block, "block_hash": "0x" + hashlib.sha256(str(block).encode()).hexdigest(),
                         "timestamp": int(now.timestamp()) - (events - n) * 6, "tx_hash": "0x" + hashlib.sha256(str(n).encode()).hexdigest(),
                         "log_index": 0, "name": "Transfer", "sender": sender, "recipient": recipient, "amount": amount,
                         "reference": None, "args": {}})
            if len(rows) == 10_000:
                conn.execute(sa.insert(ChainEvent), rows)
                rows = []
        if rows:
            conn.execute(sa.insert(ChainEvent), rows)

        def request(i: int, status: str) -> dict:
            ref = f"DEP-B-{i:07d}"
            return {"kind": "mint", "params": {"to": addresses[i % clients], "amount": 1_000_000, "deposit_reference": ref},
                    "digest": "0x" + hashlib.sha256(ref.encode()).hexdigest(), "amount": 1_000_000, "required_approvals": 1,
                    "status": status, "maker_id": ana, "maker_signature": "0x" + "00" * 65, "created_at": now - timedelta(hours=i % 200),
                    "updated_at": now}

        conn.execute(sa.insert(Request), [request(i, "executed") for i in range(clients)]
                     + [request(clients + i, "pending") for i in range(300)])
    ledger.dispose()


class Browser:
    """A logged-in HTTP client (cookies, the login form's CSRF token, the Origin a browser sends)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def get(self, path: str) -> tuple[int, bytes]:
        with self.opener.open(self.base + path, timeout=60) as response:
            return response.status, response.read()

    def login(self, username: str, password: str) -> None:
        _, page = self.get("/login")
        nonce = re.search(rb'name="csrf" value="([^"]+)"', page).group(1).decode()
        body = urllib.parse.urlencode({"csrf": nonce, "username": username, "password": password}).encode()
        request = urllib.request.Request(self.base + "/login", body, {"Origin": self.base})
        with self.opener.open(request, timeout=60) as response:
            if not response.url.endswith("/"):
                raise click.ClickException(f"login refused: {response.url}")


def percentile_95(ordered: list[float]) -> float:
    """The 95th percentile of ``ordered`` (sorted), nearest rank."""
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def at_once(base: str, paths: list[str], *, operators: int, each: int) -> None:
    """``operators`` logged-in users, each on its own thread, request ``each`` pages (cycling through
    ``paths``) at the same time: the requests per second and the latency each of them saw."""
    users = []
    for _ in range(operators):
        users.append(Browser(base))
        users[-1].login("bench", PASSWORD)
    times: list[float] = []
    failures: list[str] = []

    def work(user: Browser, offset: int) -> None:
        for i in range(each):
            path = paths[(offset + i) % len(paths)]
            start = time.perf_counter()
            try:
                user.get(path)
            except OSError as exc:  # urllib's HTTPError (not 2xx/3xx) and timeouts
                failures.append(f"{path}: {exc}")
                continue
            times.append((time.perf_counter() - start) * 1000)

    threads = [threading.Thread(target=work, args=(user, n)) for n, user in enumerate(users)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if failures or len(times) != operators * each:
        raise click.ClickException(f"at once: {failures[:3]} ({len(times)} of {operators * each} answered)")
    times.sort()
    p95 = percentile_95(times)
    click.echo(f"{operators} operators at once, every page in turn: {len(times)} requests in {wall:.1f} s "
               f"({len(times) / wall:.1f} per second), median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms, max {times[-1]:.1f} ms")


@click.command()
@click.option("--clients", type=click.IntRange(10, 1_000_000), default=10_000, show_default=True)
@click.option("--events", type=click.IntRange(10, 10_000_000), default=100_000, show_default=True)
@click.option("--runs", type=click.IntRange(1, 1000), default=20, show_default=True)
def main(clients: int, events: int, runs: int) -> None:
    from ape import networks
    from ape.logging import logger

    logger.set_level("WARNING")

    from deptoken import node
    from deptoken.chain import latest_block_number
    from deptoken.config import load_config
    from deptoken.crosschain.devnet import start_anvil
    from deptoken.ops.context import open_ops
    from deptoken.ops.db import Ledger, make_engine, upgrade
    from deptoken.ops.policy import load_policy
    from deptoken.signers import DEVNET_CHAIN_ID, devnet_accounts, select_signer
    from deptoken.token import TokenClient
    from deptoken.token.deployer import deploy_from_config

    work = Path(tempfile.mkdtemp(prefix="console-bench-"))
    os.environ["DEPTOKEN_DEPLOYMENTS_DIR"] = str(work / "deployments")
    processes = []
    try:
        anvil, uri = start_anvil(DEVNET_CHAIN_ID)
        processes.append(anvil)
        network = f"ethereum:local:{uri}"
        config = load_config(ROOT / "config" / "devnet.yaml")
        with networks.parse_network_choice("ethereum:local:foundry", provider_settings={"host": uri}):
            roles = {r: select_signer(chain_id=DEVNET_CHAIN_ID, role=r, config=config) for r in ("admin", "minter_admin")}
            deploy_from_config(config, roles["admin"], minter_admin=roles["minter_admin"])
        url = f"sqlite:///{work / 'ledger.sqlite'}"
        upgrade(make_engine(url))
        node.connect(network)
        open_ops(Ledger(url), load_policy(None), client=TokenClient.from_deployment())  # binds the ledger to the token
        started = time.monotonic()
        seed(url, latest_block_number(), clients, events, [a.address for a in devnet_accounts()[10:14]])
        click.echo(f"seeded {clients:,} clients, {events:,} indexed events, {clients + 300:,} requests in {time.monotonic() - started:.1f} s "
                   f"({(work / 'ledger.sqlite').stat().st_size / 1e6:.0f} MB SQLite file)")
        log = work / "console.log"
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "deptoken"), "--network", network, "--db", url, "console", "--port", str(port),
             "--devnet-keys", "--insecure-cookie", "--work-dir", str(work / "console")],  # urllib sends no Secure cookie over http
            cwd=ROOT, env={**os.environ, "DEPTOKEN_PROJECT": str(ROOT)}, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=log.open("w"), text=True)  # a file: a pipe nobody reads would stop the server once full
        processes.append(server)
        deadline = time.monotonic() + 60
        while not log.read_text().startswith("console: http://"):
            if server.poll() is not None or time.monotonic() > deadline:
                raise click.ClickException(f"the console did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        browser = Browser(f"http://127.0.0.1:{port}")
        browser.login("bench", PASSWORD)
        pages = {"dashboard": "/", "client search by name": "/clients?q=globex+trading+77",
                 "client search by id prefix": "/clients?q=C-0099", "client search by address": f"/clients?q={fake_address(clients // 2)}",
                 "client list (first page)": "/clients", "one client with history": f"/clients/C-{clients // 3:06d}",
                 "pending requests": "/requests?status=pending"}
        click.echo(f"{'page':<30} {'median':>8} {'p95':>8} {'max':>8}  (ms over {runs} requests; target {TARGET_MS} ms)")
        for label, path in pages.items():
            browser.get(path)  # warm: templates compiled, caches filled
            times = []
            for _ in range(runs):
                start = time.perf_counter()
                status, body = browser.get(path)
                times.append((time.perf_counter() - start) * 1000)
                if status != 200 or b"<h1>" not in body:
                    raise click.ClickException(f"{path}: HTTP {status}")
            times.sort()
            p95 = percentile_95(times)
            verdict = "" if label not in ("dashboard", "client search by name", "client search by id prefix", "client search by address") \
                else ("  ok" if p95 < TARGET_MS else "  OVER TARGET")
            click.echo(f"{label:<30} {statistics.median(times):>8.1f} {p95:>8.1f} {times[-1]:>8.1f}{verdict}")
        try:
            at_once(f"http://127.0.0.1:{port}", list(pages.values()), operators=4, each=runs)
        except click.ClickException as exc:
            raise click.ClickException(f"{exc.message}; the console's log ends:\n{log.read_text()[-3000:]}") from None
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(timeout=20)


if __name__ == "__main__":
    main()
