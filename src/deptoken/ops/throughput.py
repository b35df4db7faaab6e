"""Throughput benchmark of the issuer tooling on a local Anvil: onboarding N KYC records (file check,
ledger, allowlist batches through the exactly-once outbox), executing K approved mints with the node
mining a block every ``block_time`` seconds, and indexing the events of M transfers.

``run()`` deploys a fresh token (config/devnet.yaml's roles), writes a KYC file of N generated
clients, imports and applies it; records K deposits of those clients and approves their mint requests
(maker-checker, not timed), switches Anvil to a block every ``block_time`` seconds (as ``anvil
--block-time``) and executes them as ``requests execute`` does (pipelined, exactly once); then mints
to a payer, sends M transfers from the payer to the new clients (JSON-RPC batches through Anvil's
unlocked account, mined ``per_block`` to a block), and syncs the index. It reports transactions sent,
blocks, wall times and events indexed per second, and the time of `deptoken status`
(``ops.status.status``) on that ledger of N clients.
``scripts/ops_benchmark.py`` prints the figures (``make bench-ops``).
"""

from __future__ import annotations

import csv
import json
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from eth_abi import encode
from eth_utils import keccak, to_checksum_address

from ..amounts import Money
from ..token.gas import devnet_config
from ..config import load_config
from ..token.deployer import deploy_token
from ..token import TokenClient
from ..signers import select_signer
from .context import open_ops
from .db import Ledger, make_engine, upgrade
from .deposits import DepositInput, record_deposits
from .indexer import sync
from .models import Transaction
from .onboarding import apply_jobs, import_clients
from .operators import add_operator
from .policy import Policy
from .status import status
from .workflow import decide, execute_all, pending_requests

COUNTRIES = ("DE", "SG", "CN", "US", "GB", "FR", "JP", "AE")
TRANSFER = keccak(text="transfer(address,uint256)")[:4]


@dataclass(frozen=True)
class BenchmarkResult:
    clients: int
    allowlist_transactions: int
    onboarding_seconds: float  # check the file, record the jobs, send and confirm every batch
    transfers: int
    transfer_seconds: float  # sending and mining the transfers (not the tool's work)
    events_indexed: int
    index_seconds: float
    blocks_indexed: int
    status_seconds: float  # `deptoken status` (ledger and node) with ``clients`` onboarded
    mints: int = 0
    mint_seconds: float = 0.0  # executing the approved mints: checks, signing, outbox, receipts
    mint_transactions: int = 0
    mint_blocks: int = 0  # blocks the mints were mined in
    block_time: int = 0  # seconds between blocks while the mints ran

    @property
    def clients_per_second(self) -> float:
        return self.clients / self.onboarding_seconds

    @property
    def events_per_second(self) -> float:
        return self.events_indexed / self.index_seconds

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"clients_per_second": round(self.clients_per_second, 1),
                               "events_per_second": round(self.events_per_second, 1)}


def client_address(i: int) -> str:
    """The address of generated client ``i`` (no key: it only receives)."""
    return to_checksum_address(keccak(text=f"deptoken ops benchmark client {i}")[-20:])


def write_kyc_file(path: Path, count: int, review: datetime) -> None:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(("address", "client_id", "legal_name", "country", "lei", "kyc_review_date"))
        for i in range(count):
            writer.writerow((client_address(i), f"BENCH-{i:06d}", f"Benchmark Client {i} Ltd",
                             COUNTRIES[i % len(COUNTRIES)], "", review.date().isoformat()))


def _rpc_batch(uri: str, calls: list[tuple[str, list[Any]]]) -> list[Any]:
    body = json.dumps([{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]).encode()
    request = urllib.request.Request(uri, body, {"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=300) as response:
        replies = sorted(json.loads(response.read()), key=lambda r: r["id"])
    errors = [r["error"] for r in replies if "error" in r]
    if errors:
        raise RuntimeError(f"{len(errors)} JSON-RPC errors, first: {errors[0]}")
    return [r["result"] for r in replies]


def _send_transfers(uri: str, token: str, payer: str, recipients: list[str], per_block: int) -> None:
    """Transfers 0.01 from ``payer`` to each recipient, ``per_block`` transactions mined per block."""
    _rpc_batch(uri, [("evm_setAutomine", [False])])
    nonce = int(_rpc_batch(uri, [("eth_getTransactionCount", [payer, "pending"])])[0], 16)
    try:
        for start in range(0, len(recipients), per_block):
            calls = []
            for offset, to in enumerate(recipients[start : start + per_block]):
                data = "0x" + (TRANSFER + encode(["address", "uint256"], [to, 1])).hex()
                calls.append(("eth_sendTransaction", [{"from": payer, "to": token, "data": data, "gas": hex(80_000),
                                                       "nonce": hex(nonce + start + offset)}]))
            _rpc_batch(uri, calls)
            _rpc_batch(uri, [("evm_mine", [])])
    finally:
        _rpc_batch(uri, [("evm_setAutomine", [True])])


def _execute_mints(ledger: Ledger, ops: Any, count: int, maker: Any, checker: Any, minter: Any,
                   block_time: int) -> tuple[float, int, int]:
    """Records ``count`` deposits of the first generated clients, approves their mints, and executes
    them with a block every ``block_time`` seconds: wall time, transactions and blocks."""
    from ape import networks

    today = ops.today()
    unit = 10 ** ops.client.decimals  # 1.00, 2.00, ... 7.00
    inputs = [DepositInput(f"BENCH-DEP-{i:06d}", f"BENCH-{i:06d}", Money((1 + i % 7) * unit, ops.client.currency, ops.client.decimals),
                           ops.client.currency, today, f"line {i + 2}") for i in range(count)]
    with ledger.session() as session:
        ids = [r.id for r in record_deposits(session, ops, inputs, maker, source="benchmark")]
    with ledger.session() as session:
        for request_id in ids:
            decide(session, request_id, checker, approve=True)
    web3 = networks.provider.web3
    web3.provider.make_request("evm_setIntervalMining", [block_time])
    try:
        with ledger.new_session() as session:
            started = time.perf_counter()
            outcomes = execute_all(session, ops, pending_requests(session, "approved"), minter, actor="benchmark")
            seconds = time.perf_counter() - started
    finally:
        web3.provider.make_request("evm_setIntervalMining", [0])
        web3.provider.make_request("evm_setAutomine", [True])
    executed = [o for o in outcomes if o.status == "executed"]
    assert len(executed) == count, [o for o in outcomes if o.status != "executed"][:3]
    return seconds, len({o.tx_hash for o in executed}), len({o.block_number for o in executed})


def run(clients: int = 10_000, transfers: int = 10_000, *, mints: int = 500, block_time: int = 12, batch_size: int = 200,
        per_block: int = 500, chunk_blocks: int = 2_000, directory: Path | None = None) -> BenchmarkResult:
    """Runs the benchmark on the connected devnet (see the module docstring)."""
    from ape import accounts, chain, networks

    config = load_config(devnet_config())
    from ..accounts import as_ape_account

    deployer = as_ape_account(select_signer(chain_id=chain.chain_id, as_="0"))
    token, _ = deploy_token(config, deployer, record=False)
    client = TokenClient.from_contract(token)
    minter, compliance = accounts.test_accounts[2], accounts.test_accounts[3]
    token.configureMinter(minter, 10**15, sender=accounts.test_accounts[1])
    payer = accounts.test_accounts[7]
    workdir = Path(directory or tempfile.mkdtemp(prefix="deptoken-bench-"))
    url = f"sqlite:///{workdir / 'ledger.sqlite'}"
    upgrade(make_engine(url))
    ledger = Ledger(url)
    policy = Policy(confirmations=0, chunk_blocks=chunk_blocks, batch_size=batch_size)
    ops = open_ops(ledger, policy, client=client)
    maker, checker = accounts.test_accounts[10], accounts.test_accounts[11]
    with ledger.session() as session:
        add_operator(session, "bench", maker.address, request=True, approve=True, actor="benchmark")
        add_operator(session, "bench-checker", checker.address, request=True, approve=True, actor="benchmark")

    kyc = workdir / "kyc.csv"
    review = datetime.fromtimestamp(chain.pending_timestamp, UTC) + timedelta(days=365)
    write_kyc_file(kyc, clients, review)
    started = time.perf_counter()
    with ledger.session() as session:
        import_clients(session, kyc, today=review.date() - timedelta(days=365), actor="bench")
    with ledger.new_session() as session:
        applied = apply_jobs(session, ops, compliance, actor="bench")
    onboarding = time.perf_counter() - started
    with ledger.session() as session:
        sent = session.query(Transaction).count()
    assert applied.done == clients
    mint_seconds, mint_transactions, mint_blocks = _execute_mints(ledger, ops, min(mints, clients), maker, checker, minter,
                                                                  block_time) if mints else (0.0, 0, 0)

    client.allowlist(payer, review.date(), sender=compliance)
    client.mint(payer, Decimal(transfers) / 100 + 1, "BENCH-FUNDING", sender=minter)
    recipients = [client_address(i % clients) for i in range(transfers)]
    started = time.perf_counter()
    _send_transfers(networks.provider.uri, client.address, payer.address, recipients, per_block)
    sending = time.perf_counter() - started

    with ledger.new_session() as session:
        started = time.perf_counter()
        result = sync(session, ops, confirmations=0)
        indexing = time.perf_counter() - started
    with ledger.session() as session:
        started = time.perf_counter()
        state = status(session, client, today=ops.today())
        status_time = time.perf_counter() - started
    assert state.clients.get("active") == clients
    ledger.dispose()
    return BenchmarkResult(clients, sent, round(onboarding, 2), transfers, round(sending, 2), result.events,
                           round(indexing, 2), result.to_block - result.from_block + 1, round(status_time, 3),
                           min(mints, clients), round(mint_seconds, 2), mint_transactions, mint_blocks,
                           block_time if mints else 0)


def format_report(r: BenchmarkResult) -> str:
    return "\n".join([
        f"onboarding  {r.clients:>8,} KYC records  {r.allowlist_transactions:>6,} transactions  {r.onboarding_seconds:>8.2f} s  "
        f"{r.clients_per_second:>10,.1f} records/s",
        f"minting     {r.mints:>8,} approved mints {r.mint_transactions:>6,} transactions  {r.mint_seconds:>8.2f} s  "
        f"{r.mint_blocks:>6,} blocks of {r.block_time} s",
        f"transfers   {r.transfers:>8,} sent         {r.transfer_seconds:>8.2f} s (JSON-RPC batches, not the tool)",
        f"indexing    {r.events_indexed:>8,} events       {r.blocks_indexed:>6,} blocks        {r.index_seconds:>8.2f} s  "
        f"{r.events_per_second:>10,.1f} events/s",
        f"status      {r.clients:>8,} clients      `deptoken status` {r.status_seconds:>8.3f} s",
    ])
