"""The operations throughput benchmark (deptoken.ops.throughput, `make bench-ops`) at a small scale:
it really onboards, sends and indexes what it reports, and the demo tells the whole story."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from deptoken.ops.throughput import BenchmarkResult, client_address, format_report, run
from deptoken.ops.db import Ledger
from deptoken.ops.models import AllowlistJob, ChainEvent, Client, Request, Transaction

from constants import ROOT


def test_benchmark_counts_what_it_did(tmp_path):
    result = run(clients=25, transfers=40, mints=6, block_time=1, batch_size=10, per_block=15, chunk_blocks=5, directory=tmp_path)
    assert isinstance(result, BenchmarkResult)
    assert (result.clients, result.transfers, result.mints, result.block_time) == (25, 40, 6, 1)
    assert result.allowlist_transactions == 3  # ceil(25 / 10), each one stored in the outbox
    # the six approved mints went out pipelined: one transaction each, in one or two 1 s blocks
    assert result.mint_transactions == 6 and 1 <= result.mint_blocks <= 2 and result.mint_seconds > 0
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    with ledger.session() as s:
        assert s.scalar(select(func.count()).select_from(Client).where(Client.status == "active")) == 25
        assert s.scalar(select(func.count()).select_from(AllowlistJob).where(AllowlistJob.status == "done")) == 25
        assert s.scalar(select(func.count()).select_from(Transaction).where(Transaction.status == "mined")) == 3 + 6
        assert s.scalar(select(func.count()).select_from(Request).where(Request.status == "executed")) == 6
        minted = s.scalars(select(ChainEvent).where(ChainEvent.name == "Minted")).all()
        transfers = s.scalars(select(ChainEvent).where(ChainEvent.name == "Transfer")).all()
        indexed = s.scalar(select(func.count()).select_from(ChainEvent))
        listed = s.scalar(select(func.count()).select_from(ChainEvent).where(ChainEvent.name == "AllowlistUpdated"))
    ledger.dispose()
    assert len(minted) == 6 + 1  # the approved mints and the payer's funding mint
    assert len(transfers) == 40 + 6 + 1  # the benchmark's transfers, its mints and the payer's funding mint
    assert sorted(t.recipient for t in transfers if t.amount == 1) == sorted(client_address(i % 25) for i in range(40))
    assert listed == 25 + 1  # the clients and the payer
    assert result.events_indexed == indexed
    assert result.index_seconds > 0 and result.onboarding_seconds > 0
    report = format_report(result)
    assert "25 KYC records" in report and "3 transactions" in report and f"{indexed:,} events" in report
    assert 0 < result.status_seconds < 2 and "`deptoken status`" in report
    assert "6 approved mints" in report and f"{result.mint_blocks} blocks of 1 s" in report
    data = json.loads(json.dumps(result.to_json()))
    assert data["events_indexed"] == indexed and data["events_per_second"] > 0


def test_demo_tells_the_story_end_to_end():
    """`make demo`: deposit -> approve -> mint -> transfer -> redeem -> payout file -> reconciliation OK,
    then cross-border across three banks, every party a client of one: a one-signature escrow checkout at
    Bank A -> released, the supplier paid at Bank B through the network, the fee at Bank A -> the supplier's
    USD becomes the manufacturer's CNH at Bank C in one transaction -> the cycle settles the net -> every
    bank reconciles."""
    env = {**os.environ, "APE_DISABLE_TELEMETRY": "1",
           "PATH": os.pathsep.join([str(ROOT / "node_modules" / ".bin"), str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    result = subprocess.run([str(Path(sys.executable).parent / "ape"), "run", "demo", "--network", "ethereum:local:foundry"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    for line in (
        "3 clients recorded, allowlisted on-chain in 1 transaction(s)",
        "-> mint request #1, 2 approval(s) needed; maker ana",
        "refused, nothing done: ana approves her own request",
        "ben approves #1: pending",
        "chen approves #1: approved",
        "request #1: executed, tx 0x",
        "refused, nothing done: the same camt.054 imported again",
        "refused, nothing done: pay an account the bank has not onboarded",
        "lien request #3: executed",
        "1 payout(s), 50,000.00 EXUSD",
        "total supply (bank liability)          155,000.50 EXUSD",
        "reconciliation OK; camt.053 statement var/demo/camt053-liability.xml",
        "audit log: intact",
        # the cross-border story: three banks, every party a client of one of them
        "Bank A: 4 client(s), the deposit of 20,000.00 USD behind the devnet's mint found minted",
        "Bank B: 1 client(s)",
        "Bank C: 3 client(s), the deposit of 1,000,000.00 CNH behind the devnet's mint found minted",
        "escrow 0x", "pays the supplier in EXUSB through the interbank network 0x",
        "refused, nothing done: the same signature for another order",
        "seller: 12,312.50 EXUSB through the network, payment id 0x",
        "fee recipient: 187.50 EXUSD by transfer",
        "buyer confirms: released",
        "FX desk quotes USD/CNH 7.1234: 71,234.00 EXCNH from its CNH account at Bank C for 10,000.00 EXUSD to its USD account at Bank A",
        "the supplier settles, both legs or neither",
        "refused, nothing done: the quote settled a second time",
        "cycle 1 settled",
        # issue 15: the buyer's liquidity moved to the marketplace's chain by the bank's attester service
        "attester service: relayed: receiveMessage (transaction 0x",
        "balances there: buyer 1,500.00 EXUSD, marketplace 1,000.00 EXUSD",
        "chain 31338: supply 2,500.00 EXUSD (issued 0.00 EXUSD, sent 0.00 EXUSD, received 2,500.00 EXUSD)",
        "cross-chain reconciliation OK: liability 172,688.00 EXUSD = supplies 172,688.00 EXUSD + in flight 0.00 EXUSD",
    ):
        assert line in out, line
    banks = {line.split(":", 1)[0].strip(): line.split("clients: ", 1)[1].split("; ")
             for line in out.splitlines() if line.startswith("  Bank ") and "clients: " in line}
    assert banks == {"Bank A": ["buyer (importer, US)", "marketplace operator", "marketplace fees (USD)", "FX desk, USD account"],
                     "Bank B": ["supplier (exporter, HK)"],
                     "Bank C": ["FX desk, CNH account", "manufacturer (CN)", "marketplace fees (CNH)"]}  # nobody twice
    # who owes whom: A owes B the order less the fee, B owes A the FX payment; the cycle settles the net 2,312.50
    owes = out.split("== Who owes whom after the release")[1]
    assert "EXUSD: owes the network 12,312.50 rUSD" in owes and "EXUSB: is owed 12,312.50 rUSD" in owes
    owes = out.split("== Who owes whom after the FX settlement")[1]
    assert "EXUSD: owes the network 2,312.50 rUSD" in owes and "EXUSB: is owed 2,312.50 rUSD" in owes
    cycle = out.split("== The settlement cycle")[1].split("== Balances after")[0]
    for line in ("EXUSD: collateral -2,312.50 rUSD", "EXUSB: collateral +2,312.50 rUSD",
                 "EXUSD: flat; collateral 997,687.50 rUSD", "EXUSB: flat; collateral 1,002,312.50 rUSD"):
        assert line in cycle, line
    after = out.split("== Balances after")[1]
    for name, a, b, c in (("buyer (importer, US)", "7,500.00", "0.00", "0.00"), ("marketplace fees (USD)", "187.50", "0.00", "0.00"),
                          ("FX desk, USD account", "10,000.00", "0.00", "0.00"),
                          ("supplier (exporter, HK)", "0.00", "2,312.50", "0.00"), ("FX desk, CNH account", "0.00", "0.00", "928,766.00"),
                          ("manufacturer (CN)", "0.00", "0.00", "71,234.00"), ("marketplace fees (CNH)", "0.00", "0.00", "0.00")):
        assert f"  {name:<28} {a:>16} {b:>16} {c:>16}" in after, name
    reconciled = out.split("== Every bank reconciles")[1].split("== Across chains")[0]
    for line in ("Bank A (EXUSD)", "interbank in 10,000.00 EXUSD - interbank out 12,312.50 EXUSD",
                 "Bank B (EXUSB)", "total supply 2,312.50 EXUSB = minted 0.00 EXUSB + interbank in 12,312.50 EXUSB - interbank out 10,000.00 EXUSB",
                 "Bank C (EXCNH)", "total supply 1,000,000.00 EXCNH = minted 1,000,000.00 EXCNH"):
        assert line in reconciled, line
    assert reconciled.count("reconciliation OK") == 3
    from deptoken.iso20022 import validate

    payouts = list((ROOT / "var" / "demo" / "payouts").glob("*.xml"))
    assert len(payouts) == 1
    validate(payouts[0].read_bytes(), "pacs.008.001.08")
    validate((ROOT / "var" / "demo" / "camt053-liability.xml").read_bytes(), "camt.053.001.08")
