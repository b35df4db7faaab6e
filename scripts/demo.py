"""The local devnet demo: a bank issues a USD deposit token and runs it with its operations tooling.

    ape run demo --network ethereum:local:foundry      (what `make demo` runs)

ape starts a fresh Anvil for the run and stops it afterwards. The story, every step through the same
library the ``deptoken`` CLI uses (``deptoken.ops``), with a fresh ledger in var/demo/:

deploy -> register the operations team -> onboard three clients from a KYC file -> the bank's core
system notifies two deposits (ISO 20022 camt.054) -> maker-checker approval (a self-approval and,
for the large deposit, a single approval are not enough) -> mint, exactly once (a replayed
notification is refused) -> a client pays another (a payment to an account not onboarded is
refused) -> a legal lien through the same approval workflow -> a redemption -> index the events ->
payout instruction (ISO 20022 pacs.008) -> marked paid -> reconciliation OK and the day's camt.053
statement -> the audit log checked. Only Anvil's public test accounts sign: devnet only.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from deptoken.amounts import format_amount
from deptoken.chain import connected_chain_id
from deptoken.cli.ape_scripts import OperatorCommand
from deptoken.config import load_config
from deptoken.errors import DepositTokenError
from deptoken.iso20022 import Party, build_camt054
from deptoken.token.deployer import deploy_from_config
from deptoken.token import TokenClient
from deptoken.ops import audit, deposits, indexer, onboarding, reconcile, redemptions, workflow
from deptoken.ops.context import open_ops
from deptoken.ops.db import Ledger, make_engine, upgrade
from deptoken.ops.operators import add_operator
from deptoken.ops.policy import load_policy
from deptoken.signers import DEVNET_CHAIN_ID, devnet_accounts

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config" / "devnet.yaml"
KYC_FILE = ROOT / "config" / "devnet-kyc.csv"
WORK = ROOT / "var" / "demo"


def _step(title: str) -> None:
    click.echo(f"\n== {title}")


def _refused(action: str, attempt) -> None:
    """Runs something that must be refused before anything is sent or written, and shows the refusal."""
    try:
        attempt()
    except DepositTokenError as exc:
        click.echo(f"  refused, nothing done: {action}: {exc}")
        return
    raise click.ClickException(f"demo: {action} was not refused")


def _balances(client: TokenClient, names: dict[str, str]) -> None:
    for address, name in names.items():
        status = client.account(address)
        state = "allowlisted" if status.allowlisted else "not allowlisted"
        if status.frozen_amount:
            state += f", {client.format_decimal(status.frozen_amount)} under lien"
        click.echo(f"  {name:<34} {client.format_decimal(status.balance):>20}  {state}")
    click.echo(f"  {'total supply (bank liability)':<34} {client.format_decimal(client.total_supply()):>20}")


@click.command(cls=OperatorCommand, short_help="Local devnet demo: the bank's token and its operations, end to end")
def cli() -> None:
    """Run the deposit token story end to end on the local devnet."""
    from ape.logging import logger

    logger.set_level("WARNING")  # the demo prints its own account of each transaction
    chain_id = connected_chain_id()
    if chain_id != DEVNET_CHAIN_ID:
        raise DepositTokenError(f"the demo signs with public test accounts and runs only on the devnet (chain id {DEVNET_CHAIN_ID}), not {chain_id}")
    acct = devnet_accounts()
    admin, minter_admin, treasury, compliance, legal = acct[0], acct[1], acct[2], acct[3], acct[4]
    seven, eight, nine = acct[7], acct[8], acct[9]
    ana, ben, chen = acct[10], acct[11], acct[12]
    stranger = "0x000000000000000000000000000000000000dEaD"  # never onboarded
    config = load_config(CONFIG)

    _step(f"Deploy {config.name} ({config.symbol}), issued by {config.issuer_name}")
    client, _ = deploy_from_config(config, admin, minter_admin=minter_admin, force=True)
    d = client.deployment
    click.echo(f"  token (proxy) {d.token}, block {d.deploy_block}; record deployments/{d.network}.json")

    _step("The operations team and a fresh ledger (var/demo/ledger.sqlite)")
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    url = f"sqlite:///{WORK / 'ledger.sqlite'}"
    upgrade(make_engine(url))
    ledger = Ledger(url)
    ops = open_ops(ledger, load_policy(), client=client)
    with ledger.session() as s:
        for name, who in (("ana", ana), ("ben", ben), ("chen", chen)):
            add_operator(s, name, who.address, request=True, approve=True, actor="demo")
            click.echo(f"  operator {name:<5} signs with {who.address}")
    click.echo(f"  policy: two approvals above {client.format_decimal(ops.policy.two_approvals_above)}")

    _step(f"Onboard clients from the KYC file {KYC_FILE.relative_to(ROOT)}")
    today = datetime.fromtimestamp(int(__import__("ape").chain.pending_timestamp), UTC).date()
    with ledger.session() as s:
        result = onboarding.import_clients(s, KYC_FILE, today=today, actor="ana")
    with ledger.new_session() as s:
        applied = onboarding.apply_jobs(s, ops, compliance, actor="compliance")
    click.echo(f"  {result.added} clients recorded, allowlisted on-chain in {applied.transactions} transaction(s)")
    names = {seven.address: "Devnet Client Seven GmbH (DE)", eight.address: "Devnet Client Eight Pte. Ltd. (SG)",
             nine.address: "Devnet Client Nine Co., Ltd. (CN)"}

    _step("Deposits arrive: the bank's core system sends an ISO 20022 camt.054 credit notification")
    camt054 = WORK / "camt054-deposits.xml"
    camt054.write_bytes(build_camt054(
        message_id="CORE-NTFCN-0001", created=datetime.now(UTC).replace(microsecond=0),
        account=Party(name=config.issuer_name, account="EXBK-CLIENT-DEPOSITS"), servicer_bic=config.issuer_bic,
        credits=[("DEP-2026-11-25-0001", Decimal("125000.00"), "USD", today, "DEV-0007", "Devnet Client Seven GmbH"),
                 ("DEP-2026-11-25-0002", Decimal("80000.50"), "USD", today, "DEV-0008", "Devnet Client Eight Pte. Ltd.")],
    ))
    inputs, source = deposits.from_camt054(camt054)
    with ledger.session() as s:
        requests = deposits.record_deposits(s, ops, inputs, ana, source=source)
        ids = [(r.id, r.required_approvals) for r in requests]
    for (rid, needed), d_in in zip(ids, inputs, strict=True):
        click.echo(f"  {d_in.bank_reference}  {d_in.client_id}  {d_in.amount:>12,.2f} USD -> mint request #{rid}, "
                   f"{needed} approval(s) needed; maker ana")

    _step("Maker-checker approval")
    first = ids[0][0]
    with ledger.session() as s:
        _refused("ana approves her own request", lambda: workflow.decide(s, first, ana, approve=True))
    for rid, _needed in ids:
        with ledger.session() as s:
            status = workflow.decide(s, rid, ben, approve=True).status
        click.echo(f"  ben approves #{rid}: {status}")
    with ledger.session() as s:
        click.echo(f"  chen approves #{first}: {workflow.decide(s, first, chen, approve=True).status}")

    _step("Mint, exactly once (each signed transaction is stored before it is broadcast)")
    with ledger.new_session() as s:
        for rid, _needed in ids:
            outcome = workflow.execute(s, ops, workflow.get_request(s, rid), treasury, actor="minter")
            click.echo(f"  request #{rid}: {outcome.status}, tx {outcome.tx_hash[:18]}... block {outcome.block_number}")
    with ledger.session() as s:
        _refused("the same camt.054 imported again", lambda: deposits.record_deposits(s, ops, inputs, ana, source=source))

    _step("Pay: client Seven pays client Eight's invoice, 24/7, final in one block")
    receipt = client.transfer(eight, "12345.67", sender=seven)
    click.echo(f"  Seven -> Eight 12,345.67  tx {receipt.txn_hash[:18]}...  gas {receipt.gas_used:,}")
    _refused("pay an account the bank has not onboarded", lambda: client.transfer(stranger, "1.00", sender=seven))

    _step("Legal order: a lien on client Nine, through the same approval workflow")
    client.transfer(nine, "500.00", sender=seven)
    with ledger.session() as s:
        lien = workflow.propose(s, ops, "lien", {"account": nine.address, "amount": client.units("400.00")}, ana).id
        workflow.decide(s, lien, ben, approve=True)
    with ledger.new_session() as s:
        outcome = workflow.execute(s, ops, workflow.get_request(s, lien), legal, actor="legal")
    click.echo(f"  lien request #{lien}: {outcome.status}, tx {outcome.tx_hash[:18]}...")
    _refused("Nine pays 200.00 of its 500.00 with 400.00 under lien", lambda: client.transfer(seven, "200.00", sender=nine))

    _step("Redeem: client Eight takes 50,000.00 back to its bank account")
    receipt = client.redeem("50000.00", "PAY-2026-11-25-0001", sender=eight)
    click.echo(f"  burned 50,000.00, payout reference PAY-2026-11-25-0001  tx {receipt.txn_hash[:18]}...")

    _step("Index the token's events, instruct the payout (ISO 20022 pacs.008), mark it paid")
    with ledger.new_session() as s:
        synced = indexer.sync(s, ops, confirmations=0)
        click.echo(f"  indexed blocks {synced.from_block}..{synced.to_block}: {synced.events} events")
        export = redemptions.export_payouts(s, ops, WORK / "payouts", "pacs.008", actor="ana")
        click.echo(f"  payout file {Path(export.file.path).relative_to(ROOT)}: {export.file.count} payout(s), "
                   f"{client.format(export.file.total)}")
    with ledger.session() as s:
        redemptions.mark_paid(s, file_id=export.file.id, reference="CORE-PAY-0001", actor="ben")
    click.echo("  payment system confirms: marked paid (CORE-PAY-0001)")

    _step("Balances")
    _balances(client, names)

    _step("Reconciliation: chain against ledger")
    with ledger.new_session() as s:
        report = reconcile.reconcile(s, ops, actor="demo")
        s.commit()
        statement = WORK / "camt053-liability.xml"
        statement.write_bytes(reconcile.camt053_statement(s, ops, today))
        problems = audit.verify(s)
    fmt = client.format
    click.echo(f"  at block {report.block_number}: total supply {fmt(report.total_supply)} = minted {fmt(report.ledger_minted)}"
               f" - redemptions paid {fmt(report.redemptions_paid)} - awaiting payout {fmt(report.redemptions_unpaid)}")
    for p in report.clients:
        click.echo(f"  {p.client_id}: minted {fmt(p.minted)} - redeemed {fmt(p.redeemed)} + transfers {fmt(p.transfers)}"
                   f" = {fmt(p.explained)}; chain {fmt(p.chain_balance)}")
    click.echo(f"  reconciliation {'OK' if report.ok else 'MISMATCH'}; camt.053 statement {statement.relative_to(ROOT)}")
    click.echo(f"  audit log: {'intact' if not problems else problems}")
    ledger.dispose()
    if not report.ok or problems:
        raise click.ClickException("demo: reconciliation or audit check failed")
    _cross_border(client)
    click.echo("\nDemo complete; ape now stops Anvil. Try the same with the CLI: `deptoken --help` (README).")


def _holdings(devnet: Any, names: dict[str, Any]) -> None:
    click.echo(f"  {'':<28} {devnet.usd.symbol:>14} {devnet.cnh.symbol:>14}")
    for name, who in names.items():
        usd, cnh = (format_amount(t.contract.balanceOf(who), t.decimals) for t in (devnet.usd, devnet.cnh))
        click.echo(f"  {name:<28} {usd:>14} {cnh:>14}")


def _cross_border(usd: TokenClient) -> None:
    """A buyer pays a supplier across a border: USD token of one bank, CNH token of another."""
    from ape import chain

    from deptoken.settlement.settlement_deployer import setup_devnet
    from deptoken.settlement.escrow import EscrowClient
    from deptoken.settlement.pvp import PvPClient, build_quote, sign_quote

    _step("Cross-border: a second bank issues CNH; the settlement contracts are deployed and allowlisted")
    devnet = setup_devnet(usd)
    c, p = devnet.contracts, devnet.parties
    buyer, supplier, desk, marketplace = p["buyer"], p["supplier"], p["fx_desk"], p["marketplace"]
    click.echo(f"  {devnet.cnh.symbol} token {devnet.cnh.address} ({devnet.cnh.contract.issuer()[0]})")
    click.echo(f"  PvP settlement {c.pvp.address}, trade escrow (USD) {c.escrows['USD'].address}, HTLC {c.htlc.address}")
    click.echo("  each bank's compliance allowlisted them: contracts that hold or move deposit tokens are holders too")
    click.echo("  buyer, supplier and FX desk onboarded at both banks; the FX desk holds CNH liquidity")
    click.echo("  the buyer deposited 20,000.00 USD at its bank, which minted it")
    names = {"buyer (importer, US)": buyer, "supplier (manufacturer, CN)": supplier, "FX desk": desk,
             "marketplace fees": p["marketplace_fees"], "escrow": c.escrows["USD"], "PvP settlement": c.pvp}
    _step("Balances before")
    _holdings(devnet, names)

    _step("Checkout: the buyer pays order ORDER-2026-0042 into escrow with one signature (no gas)")
    escrow = EscrowClient(c.escrows["USD"], usd)
    now = int(chain.pending_timestamp)
    terms = escrow.terms("ORDER-2026-0042", buyer, supplier, "12500.00", ship_by=now + 7 * 86400, confirm_window="3d")
    signed = escrow.sign_funding_authorization(buyer, terms, 3600)
    click.echo("  the buyer signs an EIP-3009 ReceiveWithAuthorization of 12,500.00 USD to the escrow; its nonce is the order key,")
    click.echo(f"  the hash of the full terms: {'0x' + escrow.order_key(terms).hex()}")
    receipt = escrow.fund_with_authorization(signed, sender=marketplace)
    click.echo(f"  the marketplace submits it: escrow funded, tx {receipt.txn_hash[:18]}...  gas {receipt.gas_used:,}")
    other = escrow.terms("ORDER-2026-0043", buyer, supplier, "12500.00", ship_by=now + 7 * 86400, confirm_window="3d")
    _refused("the same signature for another order",
             lambda: escrow.fund_with_authorization(type(signed)(signed.escrow, other, signed.authorization), sender=marketplace))

    _step("The supplier ships; the buyer confirms receipt; the supplier is paid, less the marketplace fee")
    click.echo("  the supplier checks the order key of the terms it agreed to: funded, so amount, buyer and deadlines are as agreed")
    escrow.ship(terms, "BL-COSU-6189-2026", sender=supplier)
    click.echo("  shipped with bill of lading BL-COSU-6189-2026 (its hash is on-chain)")
    receipt = escrow.confirm(terms, sender=buyer)
    click.echo(f"  buyer confirms: released, tx {receipt.txn_hash[:18]}...  gas {receipt.gas_used:,}")

    _step("The supplier converts its USD to CNH: payment-versus-payment against the FX desk's quote")
    pvp = PvPClient.from_contract(c.pvp, tokens=[usd, devnet.cnh])
    amount = usd.to_decimal(usd.contract.balanceOf(supplier))
    quote = sign_quote(desk, pvp, build_quote(pvp, desk, supplier, devnet.cnh, usd, amount, "7.1234", expiry_seconds=120))
    click.echo(f"  FX desk quotes USD/CNH 7.1234: {devnet.cnh.format(quote.quote.maker_amount)} for "
               f"{usd.format(quote.quote.taker_amount)}, valid 120 s, signed (EIP-712)")
    devnet.cnh.approve(c.pvp, devnet.cnh.to_decimal(quote.quote.maker_amount), sender=desk)
    usd.approve(c.pvp, usd.to_decimal(quote.quote.taker_amount), sender=supplier)
    receipt = pvp.settle(quote, sender=supplier)
    click.echo(f"  settled in one transaction, both legs or neither: tx {receipt.txn_hash[:18]}...  gas {receipt.gas_used:,}")
    _refused("the quote settled a second time", lambda: pvp.settle(quote, sender=supplier))

    _step("Balances after")
    _holdings(devnet, names)
