"""Helpers for the issuer operations tests (``deptoken.ops``); their fixtures are in ``fixtures/ops.py``.

* ``BACKENDS``: the ledger backends a ``ledger`` test runs on: SQLite, and PostgreSQL on the server
  named by ``DEPTOKEN_TEST_POSTGRES_URL`` (``.ci/run`` starts one with ``tools/postgres.sh``); without
  that variable the PostgreSQL variant is reported as skipped, with the reason.
* ``TEST_POLICY``: the policy of the in-process ``ops`` fixture.
* ``Devnet``: a standalone Anvil (own port, optional ``--state`` file so it can be restarted) with a
  token deployed by ``ape run deploy``, and ``deptoken`` CLI runs against it, each in a process of its own
  (``CliServer``).
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from constants import BIN, ROOT  # noqa: F401 - re-exported (test modules import them from here)
from deptoken.deployments import tag_of
from deptoken.ops.db import make_engine, upgrade
from deptoken.ops.policy import Policy

POSTGRES_URL = os.environ.get("DEPTOKEN_TEST_POSTGRES_URL")
TEST_POLICY = Policy(two_approvals_above=Decimal("1000.00"), confirmations=0, chunk_blocks=50, batch_size=3)


BACKENDS = [
    "sqlite",
    pytest.param("postgresql", marks=[
        pytest.mark.postgres,
        pytest.mark.skipif(not POSTGRES_URL, reason="PostgreSQL not configured: set DEPTOKEN_TEST_POSTGRES_URL (.ci/run does)"),
    ]),
]


def _admin_engine() -> sa.Engine:
    return sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")


def pg_url(name: str) -> str:
    return sa.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


@contextmanager
def pg_database(template: str | None = None) -> Iterator[str]:
    """A new database on the test server (a copy of ``template``, if given), dropped afterwards."""
    admin = _admin_engine()
    name = f"ledger_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    try:
        yield name
    finally:
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        except sa.exc.DBAPIError:  # a throw-away server: a database left behind does no harm
            pass
        admin.dispose()


def migrate(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()


# ---------------------------------------------------------------------------- standalone devnet + CLI


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


class CliServer:
    """``deptoken`` runs for the tests, each in a new process forked by tests/cli_server.py, a Python
    that imported the CLI, ape and its plugins once (what makes up most of a command's start time);
    with ``DEPTOKEN_TEST_CLI=script``, each run is the installed console script instead."""

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None
        self.directory = tempfile.mkdtemp(prefix="deptoken-cli-")
        self.socket = os.path.join(self.directory, "server.sock")
        atexit.register(self.stop)

    def start(self) -> None:
        if os.path.exists(self.socket):  # a server that died left its socket
            os.unlink(self.socket)
        self.process = subprocess.Popen([sys.executable, str(ROOT / "tests" / "cli_server.py"), self.socket],
                                        cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None and self.process.stdout.readline().strip() == "ready", "cli_server"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)

    def run(self, args: list[str], *, cwd: Path, env: dict[str, str], timeout: int) -> Run:
        if os.environ.get("DEPTOKEN_TEST_CLI") == "script":
            result = subprocess.run([str(BIN / "deptoken"), *args], cwd=cwd, env=env, capture_output=True,
                                    text=True, timeout=timeout, stdin=subprocess.DEVNULL)
            return Run(result.returncode, result.stdout, result.stderr)
        if self.process is None or self.process.poll() is not None:
            self.start()
        with tempfile.TemporaryDirectory(prefix="deptoken-run-") as tmp, \
                socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            out, err = os.path.join(tmp, "stdout"), os.path.join(tmp, "stderr")
            conn.settimeout(timeout)
            conn.connect(self.socket)
            stream = conn.makefile("rwb")
            stream.write(json.dumps({"argv": args, "env": env, "cwd": str(cwd), "stdout": out, "stderr": err}).encode() + b"\n")
            stream.flush()
            pid = json.loads(stream.readline())["pid"]
            try:
                status = json.loads(stream.readline())["status"]
            except TimeoutError:
                os.kill(pid, signal.SIGKILL)
                raise subprocess.TimeoutExpired(["deptoken", *args], timeout) from None
            return Run(status, Path(out).read_text(), Path(err).read_text())


CLI_SERVER = CliServer()


class Devnet:
    """An Anvil of its own (restartable with its state) and a ledger file, driven through the CLI."""

    def __init__(self, directory: Path, *, chain_id: int = 31337) -> None:
        self.dir = directory
        self.port = free_port()
        self.chain_id = chain_id
        self.state = directory / "anvil-state.json"
        self.deployments = directory / "deployments"
        self.db_url = f"sqlite:///{directory / 'ledger.sqlite'}"
        self.process: subprocess.Popen | None = None

    @property
    def network(self) -> str:
        return f"ethereum:local:http://127.0.0.1:{self.port}"

    def start(self, *, automine: bool = True) -> None:
        """Starts Anvil on ``self.port`` (a restart: the same port) and waits until it answers. Should another
        process have taken the port (a concurrent test session, the other worker), Anvil cannot bind and exits:
        it is started again on a port it picks itself (``--port 0``), read from its log, so the requests
        never go to somebody else's node."""
        anvil = shutil.which("anvil", path=str(ROOT / "node_modules" / ".bin")) or "anvil"
        log = self.dir / "anvil.log"
        for port in (self.port, 0):
            args = [anvil, "--host", "127.0.0.1", "--port", str(port), "--chain-id", str(self.chain_id),
                    "--accounts", "44", "--state", str(self.state)]
            if not automine:
                args.append("--no-mining")
            with log.open("w") as out:  # not --silent: the "Listening on" line says Anvil bound the port
                self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
            bound = self._bound_port(log)
            if bound is not None:
                self.port = bound
                break
        else:
            raise RuntimeError(f"anvil did not start: {log.read_text()[-500:]}")
        deadline = time.time() + 60
        while True:  # until Anvil answers JSON-RPC (an open port alone was seen to reset the first request)
            try:
                self.rpc("eth_chainId")
                return
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError("anvil did not start") from None
                time.sleep(0.1)

    def _bound_port(self, log: Path) -> int | None:
        """The port Anvil listens on, from its log; None if it exited first (the port was taken)."""
        deadline = time.time() + 60  # the suite's other worker may hold both cores (a solver, a fuzzer)
        while time.time() < deadline:
            for line in log.read_text(errors="replace").splitlines():
                if line.startswith("Listening on "):
                    return int(line.rsplit(":", 1)[1])
            if self.process.poll() is not None:
                return None
            time.sleep(0.05)
        raise RuntimeError("anvil did not start within 60 s")

    def stop(self) -> None:
        """Stops Anvil the way an operator would (SIGTERM): it writes its state file first."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=20)
        self.process = None

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "DEPTOKEN_DB_URL": self.db_url,
            "DEPTOKEN_NETWORK": self.network,
            "DEPTOKEN_DEPLOYMENTS_DIR": str(self.deployments),
            "DEPTOKEN_OPS_CONFIG": str(self.dir / "ops.yaml"),
            "DEPTOKEN_PROJECT": str(ROOT),  # the CLI runs in a directory of its own
            "APE_DISABLE_TELEMETRY": "1",
            "PATH": os.pathsep.join([str(ROOT / "node_modules" / ".bin"), str(BIN), os.environ.get("PATH", "")]),
            **extra,
        }

    def deploy(self) -> None:
        """Deploys the devnet token (config/devnet.yaml) and writes the test policy and migrates the ledger."""
        (self.dir / "ops.yaml").write_text(
            "two_approvals_above: '1000.00'\nconfirmations: 0\nchunk_blocks: 50\nbatch_size: 2\n"
        )
        result = subprocess.run([str(BIN / "ape"), "run", "deploy", "--network", self.network, "--force"], cwd=ROOT,
                                env=self.env(), capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
        assert result.returncode == 0, result.stdout + result.stderr
        assert self.cli("db", "upgrade").returncode == 0

    def cli(self, *args: str, fault: str | None = None, timeout: int = 300, **env: str) -> Run:
        """``deptoken ARGS`` in a process of its own (``CliServer``); ``fault`` sets ``DEPTOKEN_FAULT``
        (kill at that point)."""
        extra = dict(env)
        if fault:
            extra["DEPTOKEN_FAULT"] = fault
        return CLI_SERVER.run(list(args), cwd=self.dir, env=self.env(**extra), timeout=timeout)

    def ok(self, *args: str, **kwargs: str) -> Run:
        result = self.cli(*args, **kwargs)
        assert result.returncode == 0, (args, result.returncode, result.stdout, result.stderr)
        return result

    def rpc(self, method: str, *params: object) -> object:
        import json
        import urllib.request

        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}", body, {"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            reply = json.loads(response.read())
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return reply["result"]

    def record_path(self, suffix: str = "") -> Path:
        """This node's token deployment record (``suffix="-settlement"``: its settlement record), named
        after its chain as ``deptoken.deployments`` names it."""
        block = self.rpc("eth_getBlockByNumber", "0x1", False)
        return self.deployments / f"local-{tag_of(self.chain_id, block['hash'] if block else None)}{suffix}.json"


def assert_one_line_error(result: Run, fragment: str, *, code: int = 1) -> None:
    """Exit status ``code``, exactly one stderr line ``error: ...`` containing ``fragment``, no traceback."""
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], result.stderr
    assert "Traceback" not in result.stdout + result.stderr


# ---------------------------------------------------------------------------- crash-recovery helpers
# (added for tests/ops/test_ops_faults.py; nothing above changed)

from eth_utils import keccak as _keccak  # noqa: E402 - appended section

MINTED_TOPIC = "0x" + _keccak(text="Minted(address,address,uint256,bytes32)").hex()
ALLOWLIST_UPDATED_TOPIC = "0x" + _keccak(text="AllowlistUpdated(address,uint64)").hex()


def account_address(index: int) -> str:
    """The checksummed address of ape's (= Anvil's) public test account ``index``."""
    from ape import accounts

    return str(accounts.test_accounts[index].address)


def topic_of(value: str | bytes) -> str:
    """A 32-byte log topic: an address left-padded, or a bytes32 as is."""
    raw = bytes.fromhex(value[2:]) if isinstance(value, str) else bytes(value)
    return "0x" + raw.rjust(32, b"\0").hex()


def clone_devnet(source: Devnet, directory: Path) -> Devnet:
    """A new ``Devnet`` (own port, not started) from a copy of a *stopped* one's state, deployment
    record, policy and ledger: a prepared chain+ledger reused by several tests without redoing it."""
    assert source.process is None, "stop the source devnet first (Anvil writes its state on exit)"
    shutil.copytree(source.dir, directory)
    return Devnet(directory, chain_id=source.chain_id)


def devnet_token(net: Devnet) -> str:
    import json

    return json.loads(net.record_path().read_text())["token"]


def token_call_uint(net: Devnet, selector_and_args: str) -> int:
    return int(str(net.rpc("eth_call", {"to": devnet_token(net), "data": selector_and_args}, "latest")), 16)


def token_balance(net: Devnet, address: str) -> int:
    """``balanceOf(address)`` in minor units."""
    return token_call_uint(net, "0x70a08231" + address[2:].lower().rjust(64, "0"))


def token_total_supply(net: Devnet) -> int:
    return token_call_uint(net, "0x18160ddd")


def token_logs(net: Devnet, *topics: str | None) -> list[dict]:
    """The token's logs (whole chain) matching ``topics`` (None: any)."""
    return list(net.rpc("eth_getLogs", {"address": devnet_token(net), "fromBlock": "0x0", "toBlock": "latest",
                                        "topics": list(topics)}))  # type: ignore[arg-type]


def ledger_rows(net: Devnet, sql: str, **params: object) -> list[dict]:
    """Rows of a read-only query on the devnet's ledger file, as dicts."""
    engine = sa.create_engine(net.db_url)
    try:
        with engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(sa.text(sql), params)]
    finally:
        engine.dispose()


def prepare_mints(net: Devnet, directory: Path, deposits: list[tuple[str, str, str]], *,
                  maker: int = 10, checker: int = 11) -> list[int]:
    """On a deployed devnet: operators ana (``maker``) and ben (``checker``), the demo clients of
    config/devnet-kyc.csv onboarded and allowlisted, ``deposits`` ((bank_reference, client_id,
    amount)) recorded by ana and each approved once by ben. Returns the mint request ids."""
    import json

    net.ok("operators", "bootstrap", "--operator", "ana", account_address(maker), "P-ANA",
           "--operator", "ben", account_address(checker), "P-BEN")
    net.ok("clients", "import", str(ROOT / "config" / "devnet-kyc.csv"), "--as", str(maker))
    net.ok("clients", "apply")
    path = directory / "deposits.csv"
    path.write_text("bank_reference,client_id,amount,currency,value_date\n"
                    + "".join(f"{ref},{client},{amount},USD,2026-01-15\n" for ref, client, amount in deposits))
    recorded = json.loads(net.ok("--json", "deposits", "import", str(path), "--as", str(maker)).stdout)
    ids = [row["request"] for row in recorded]
    for request_id in ids:
        assert row_needs_one(recorded, request_id), recorded
        net.ok("requests", "approve", str(request_id), "--as", str(checker))
    return ids


def row_needs_one(recorded: list[dict], request_id: int) -> bool:
    return next(r for r in recorded if r["request"] == request_id)["approvals_needed"] == 1
