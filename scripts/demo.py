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
statement -> the audit log checked.

Then across borders, with three banks (``setup_devnet``: USD Bank A, the demo's bank; USD Bank B; CNH
Bank C) and every party a client of one bank only, each bank with its own ledger (var/demo/ledger*.sqlite):
the buyer (A) funds the USD escrow with one signature -> released, the supplier (B) is paid through the
interbank network and the marketplace's fee account (A) by transfer, in one transaction -> the supplier
pays its manufacturer (C) in CNH against the FX desk's routed quote, one transaction: its USD through the
network to the desk's USD account at A, the desk's CNH to the manufacturer -> who owes whom after each
step -> the settlement cycle -> every bank reconciles, interbank payments in and out included. Only
Anvil's public test accounts sign: devnet only.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

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
    _cross_border(client, url)
    _cross_chain(client)
    click.echo("\nDemo complete; ape now stops Anvil. Try the same with the CLI: `deptoken --help` (README).")


# the cross-border parties' KYC files and the deposits behind the devnet's own mints, per bank
BANK_FILES = {"A": (ROOT / "config" / "devnet-parties-kyc.csv", ROOT / "config" / "devnet-parties-deposits.csv"),
              "B": (ROOT / "config" / "devnet-usd-b-kyc.csv", None),
              "C": (ROOT / "config" / "devnet-cnh-kyc.csv", ROOT / "config" / "devnet-cnh-deposits.csv")}
# each bank's operations team in its ledger (test accounts 10-19 sign as operators): maker, checker, second checker
BANK_OPERATORS = {"A": (10, 11, 12), "B": (13, 14, 15), "C": (16, 17, 18)}
PARTY_LABELS = {"buyer": "buyer (importer, US)", "marketplace_fees": "marketplace fees (USD)",
                "fx_desk_usd": "FX desk, USD account", "supplier": "supplier (exporter, HK)",
                "fx_desk": "FX desk, CNH account", "manufacturer": "manufacturer (CN)",
                "marketplace_fees_cnh": "marketplace fees (CNH)"}
ORDER_AMOUNT = "12500.00"  # the buyer's order; the supplier is paid it less the marketplace's 1.50 % fee
FX_USD = "10000.00"  # of what it was paid, the supplier converts this much to pay the manufacturer in CNH
FX_RATE = "7.1234"


class BankBooks(NamedTuple):
    """One bank of the cross-border devnet with its own ledger and operations team."""

    label: str  # A, B or C
    token: TokenClient
    ledger: Ledger
    ops: Any  # IssuerContext
    roles: dict[str, Any]
    operators: tuple[Any, Any, Any]


def _holdings(devnet: Any, names: dict[str, Any]) -> None:
    tokens = (devnet.usd, devnet.usd_b, devnet.cnh)
    click.echo(f"  {'':<28}" + "".join(f" {t.symbol + ' (' + b + ')':>16}" for t, b in zip(tokens, "ABC", strict=True)))
    for name, who in names.items():
        cells = (format_amount(t.contract.balanceOf(who), t.decimals) for t in tokens)
        click.echo(f"  {name:<28}" + "".join(f" {c:>16}" for c in cells))


def _positions(network: Any) -> None:
    for b in network.positions():
        owes = ("owes the network " if b.position < 0 else "is owed ") + network.format_asset(abs(b.position)) if b.position else "flat"
        click.echo(f"  {b.symbol}: {owes}; collateral {network.format_asset(b.collateral)}")


def _open_books(label: str, token: TokenClient, roles: dict[str, Any], network: str, *, adopt: bool,
                ledger: Ledger | None = None) -> BankBooks:
    """The bank's ledger (Bank A's: the demo's own) and operations team, knowing the interbank network."""
    from dataclasses import replace

    acct = devnet_accounts()
    operators = tuple(acct[i] for i in BANK_OPERATORS[label])
    if ledger is None:
        url = f"sqlite:///{WORK / f'ledger-bank-{label.lower()}.sqlite'}"
        upgrade(make_engine(url))
        ledger = Ledger(url)
        with ledger.session() as s:
            for name, who in zip(("maker", "checker", "checker2"), operators, strict=True):
                add_operator(s, f"{label.lower()}-{name}", who.address, request=True, approve=True, actor="demo")
    policy = replace(load_policy(), interbank_networks=(network,))
    return BankBooks(label, token, ledger, open_ops(ledger, policy, client=token, adopt=adopt), roles, operators)


def _onboard_books(books: BankBooks, today: Any) -> str:
    """The bank's ledger records its cross-border clients (the devnet allowlisted them for a year: the ledger's
    jobs set each one's KYC review date on-chain) and the deposit behind the devnet's mint, approved and found
    minted."""
    kyc, deposit_file = BANK_FILES[books.label]
    maker, checker, checker2 = books.operators
    with books.ledger.session() as s:
        added = onboarding.import_clients(s, kyc, today=today, actor="demo", ops=books.ops).added
    with books.ledger.new_session() as s:
        onboarding.apply_jobs(s, books.ops, books.roles["compliance"], actor="compliance")
    if deposit_file is None:
        return f"{added} client(s)"
    inputs, source = deposits.from_csv(deposit_file, books.token.currency)
    with books.ledger.session() as s:
        ids = [r.id for r in deposits.record_deposits(s, books.ops, inputs, maker, source=source)]
    for rid in ids:
        for who in (checker, checker2):
            with books.ledger.session() as s:
                if workflow.get_request(s, rid).status == "pending":
                    workflow.decide(s, rid, who, approve=True)
        with books.ledger.new_session() as s:
            workflow.execute(s, books.ops, workflow.get_request(s, rid), books.roles["minter"], actor="minter")
    total = sum((d.amount for d in inputs), Decimal(0))
    return f"{added} client(s), the deposit of {total:,.2f} {books.token.currency} behind the devnet's mint found minted"


def _reconcile(books: BankBooks) -> bool:
    with books.ledger.new_session() as s:
        indexer.sync(s, books.ops, confirmations=0)
        report = reconcile.reconcile(s, books.ops, actor="demo")
        s.commit()
    fmt = books.token.format
    click.echo(f"  Bank {books.label} ({books.token.symbol}) at block {report.block_number}: total supply {fmt(report.total_supply)}"
               f" = minted {fmt(report.ledger_minted)} + interbank in {fmt(report.interbank_in)}"
               f" - interbank out {fmt(report.interbank_out)} - redeemed {fmt(report.redemptions_paid + report.redemptions_unpaid)}:"
               f" reconciliation {'OK' if report.ok else 'MISMATCH'}")
    if not report.ok:
        for f in report.findings:
            click.echo(f"    {f.severity} {f.code} {f.subject}: {f.detail}")
    return report.ok


def _cross_border(usd: TokenClient, ledger_url: str) -> None:
    """A buyer who banks with USD Bank A pays a supplier who banks with USD Bank B, who pays its manufacturer,
    a client of CNH Bank C, in CNH; nobody is a client of two banks."""
    from ape import chain

    from deptoken.settlement.settlement_deployer import DEVNET_CLIENTS, setup_devnet

    _step("Cross-border: three banks, every party a client of one of them only")
    devnet = setup_devnet(usd)
    c, p, network = devnet.contracts, devnet.parties, devnet.interbank
    banks = {"A": devnet.usd, "B": devnet.usd_b, "C": devnet.cnh}
    for label, token in banks.items():
        clients = "; ".join(PARTY_LABELS.get(n, "marketplace operator") for n in DEVNET_CLIENTS[label])
        click.echo(f"  Bank {label}: {token.contract.issuer()[0]}, {token.symbol} {token.address}; clients: {clients}")
    click.echo(f"  interbank network {network.address} (USD): Banks A and B joined, each posted "
               f"{network.format_asset(network.bank(devnet.usd).collateral)} of the central bank's settlement asset")
    click.echo(f"  PvP settlement {c.pvp.address}, trade escrows USD {c.escrows['USD'].address}, CNH {c.escrows['CNH'].address}")
    click.echo("  the buyer deposited 20,000.00 USD at Bank A; Bank C's FX desk holds 1,000,000.00 CNH")

    _step("Each bank's ledger: its cross-border clients and the deposits behind the devnet's mints")
    today = datetime.fromtimestamp(int(chain.pending_timestamp), UTC).date()
    roles = {"A": devnet.banks["USD"], "B": devnet.banks[devnet.usd_b.symbol], "C": devnet.banks["CNH"]}
    books = {"A": _open_books("A", usd, roles["A"], network.address, adopt=False, ledger=Ledger(ledger_url)),
             "B": _open_books("B", devnet.usd_b, roles["B"], network.address, adopt=False),
             "C": _open_books("C", devnet.cnh, roles["C"], network.address, adopt=True)}
    for label, b in books.items():
        click.echo(f"  Bank {label}: {_onboard_books(b, today)}")
    names = {PARTY_LABELS[n]: p[n] for n in PARTY_LABELS}
    _step("Balances before")
    _holdings(devnet, names)

    _checkout_and_release(devnet)
    _step("Who owes whom after the release")
    _positions(network)
    _fx(devnet)
    _step("Who owes whom after the FX settlement")
    _positions(network)

    _step("The settlement cycle: the central bank's settlement operator settles the net positions in collateral")
    operator = devnet_accounts()[39]
    receipt = network.settle_cycle(sender=operator)
    cycle = network.cycles()[-1]
    for token, change in cycle.positions.items():
        click.echo(f"  {network.member(token).symbol}: collateral {'+' if change >= 0 else '-'}{network.format_asset(abs(change))}")
    click.echo(f"  cycle {cycle.cycle} settled, tx {receipt.txn_hash[:18]}...  gas {receipt.gas_used:,}; every position now flat:")
    _positions(network)

    _step("Balances after")
    _holdings(devnet, names)

    _step("Every bank reconciles: total supply = minted from deposits + interbank in - interbank out - redeemed")
    ok = [_reconcile(b) for b in books.values()]
    for b in books.values():
        b.ledger.dispose()
    if not all(ok):
        raise click.ClickException("demo: a bank's reconciliation failed")


def _checkout_and_release(devnet: Any) -> None:
    """The buyer (Bank A) funds the USD escrow with one signature; on release the supplier (Bank B) is paid
    through the network and the marketplace's fee account (Bank A) by transfer, in the same transaction."""
    from ape import chain

    from deptoken.settlement.escrow import EscrowClient

    p, c = devnet.parties, devnet.contracts
    buyer, supplier, marketplace = p["buyer"], p["supplier"], p["marketplace"]
    escrow = EscrowClient(c.escrows["USD"], devnet.usd)
    _step("The supplier, a client of Bank B, asks the USD escrow (Bank A's token) to pay it at its own bank")
    escrow.set_payout_bank(devnet.usd_b.symbol, sender=supplier)
    payout = next(t for t in (devnet.usd, devnet.usd_b) if t.address == escrow.payout_token(supplier))
    click.echo(f"  escrow {escrow.address} pays the supplier in {payout.symbol} through the interbank network {escrow.contract.network()}")

    _step(f"Checkout: the buyer (Bank A) pays order ORDER-2026-0042, {Decimal(ORDER_AMOUNT):,.2f} USD, into escrow with one signature")
    now = int(chain.pending_timestamp)
    terms = escrow.terms("ORDER-2026-0042", buyer, supplier, ORDER_AMOUNT, ship_by=now + 7 * 86400, confirm_window="3d")
    signed = escrow.sign_funding_authorization(buyer, terms, 3600)
    click.echo("  the buyer signs an EIP-3009 ReceiveWithAuthorization to the escrow; its nonce is the order key,")
    click.echo(f"  the hash of the full terms: {'0x' + escrow.order_key(terms).hex()}")
    receipt = escrow.fund_with_authorization(signed, sender=marketplace)
    click.echo(f"  the marketplace submits it: escrow funded, tx {receipt.txn_hash[:18]}...  gas {receipt.gas_used:,}")
    other = escrow.terms("ORDER-2026-0043", buyer, supplier, ORDER_AMOUNT, ship_by=now + 7 * 86400, confirm_window="3d")
    _refused("the same signature for another order",
             lambda: escrow.fund_with_authorization(type(signed)(signed.escrow, other, signed.authorization), sender=marketplace))

    _step("The supplier ships; the buyer confirms receipt: the release pays each party at its own bank")
    key = escrow.order_key(terms)
    escrow.ship(terms, "BL-COSU-6189-2026", sender=supplier)
    click.echo("  shipped with bill of lading BL-COSU-6189-2026 (its hash is on-chain)")
    for payout in escrow.payouts(terms):
        via = f"through the network, payment id {payout.payment_id[:18]}..." if payout.payment_id else "by transfer"
        click.echo(f"  {payout.who}: {payout.amount:,.2f} {payout.symbol} {via}")
    receipt = escrow.confirm(key, sender=buyer)
    click.echo(f"  buyer confirms: released, tx {receipt.txn_hash[:18]}...  gas {receipt.gas_used:,}")
    click.echo("  Bank A burned the escrow's USD for the supplier and Bank B minted it to the supplier: A owes B")


def _fx(devnet: Any) -> None:
    """The supplier (Bank B) pays the manufacturer (Bank C) in CNH against the FX desk's quote, one transaction:
    its USD through the network to the desk's USD account at Bank A, the desk's CNH to the manufacturer."""
    from deptoken.settlement.pvp import PvPClient, build_routed_quote, sign_routed_quote

    p, network = devnet.parties, devnet.interbank
    supplier, desk, desk_usd, manufacturer = p["supplier"], p["fx_desk"], p["fx_desk_usd"], p["manufacturer"]
    pvp = PvPClient.from_contract(devnet.contracts.pvp, tokens=[devnet.usd, devnet.usd_b, devnet.cnh])
    _step(f"FX across banks: the supplier (Bank B) pays its manufacturer (Bank C) in CNH for {Decimal(FX_USD):,.2f} USD")
    quote = sign_routed_quote(desk, pvp, build_routed_quote(pvp, desk, desk_usd, supplier, devnet.cnh, devnet.usd, FX_USD,
                                                            FX_RATE, network=network, expiry_seconds=300))
    q = quote.quote
    click.echo(f"  FX desk quotes USD/CNH {FX_RATE}: {devnet.cnh.format(q.maker_amount)} from its CNH account at Bank C for "
               f"{devnet.usd.format(q.taker_amount)} to its USD account at Bank A, valid 300 s, signed (EIP-712)")
    devnet.cnh.approve(pvp.contract, devnet.cnh.to_decimal(q.maker_amount), sender=desk)
    receipt = pvp.settle_through_network(quote, from_token=devnet.usd_b, payee=manufacturer, sender=supplier,
                                         network=network, approve=True)
    click.echo(f"  the supplier settles, both legs or neither: its {devnet.usd_b.symbol} through the network to the desk's "
               f"{devnet.usd.symbol}, the desk's {devnet.cnh.symbol} to the manufacturer, tx {receipt.txn_hash[:18]}...  "
               f"gas {receipt.gas_used:,}")
    click.echo(f"  payment id {'0x' + quote.payment_id.hex()[:16]}...: Bank B owes Bank A")
    _refused("the quote settled a second time", lambda: pvp.settle_through_network(
        quote, from_token=devnet.usd_b, payee=manufacturer, sender=supplier, network=network, approve=True))


def _cross_chain(usd: TokenClient) -> None:
    """The buyer's bank moves the buyer's liquidity from the bank's chain to the marketplace's chain (a second
    local chain, id 31338, with the same bank's token), where the buyer pays the marketplace; the bank's
    attester service relays, and the liability across both chains reconciles."""
    from deptoken.contracts import contract_at
    from deptoken.crosschain.devnet import ATTESTER, setup_crosschain_devnet, start_anvil
    from deptoken.crosschain.reconcile import reconcile_chains
    from deptoken.crosschain.relay import on, open_node, send_message
    from deptoken.crosschain.service import follow_once
    from deptoken.signers import DEVNET_SECOND_CHAIN_ID

    acct = devnet_accounts()
    buyer, marketplace, attester = acct[27], acct[30], acct[ATTESTER]
    _step("Across chains: the marketplace settles on another chain (id 31338) where the bank issues the same token")
    process, uri_b = start_anvil(DEVNET_SECOND_CHAIN_ID)
    try:
        net = setup_crosschain_devnet(usd.contract, load_config(CONFIG), uri_b, [buyer.address, marketplace.address])
        a, b = open_node(net.network_a), open_node(net.network_b)
        click.echo(f"  messengers: chain 31337 {net.messenger_a}, chain 31338 {net.messenger_b}; the bank's attester {net.attester}")
        amount = usd.units("2500.00")
        sent = send_message(a, net.messenger_a, DEVNET_SECOND_CHAIN_ID, buyer.address, amount, sender=buyer)
        click.echo(f"  the buyer sends 2,500.00 to itself on chain 31338: burned here, message {sent.id[:18]}...")
        ledger_url = f"sqlite:///{WORK / 'attester.sqlite'}"
        upgrade(make_engine(ledger_url))
        attester_ledger = Ledger(ledger_url)
        for outcome in follow_once(attester_ledger, a, b, net.messenger_a, signer=attester, relayer=attester,
                                   share=WORK / "attestations", from_block=net.block_a):
            click.echo(f"  attester service: {outcome.step}: {outcome.detail}")
        attester_ledger.dispose()
        with on(b):
            token_b = TokenClient.from_contract(contract_at("DepositToken", net.token_b))
            receipt = token_b.transfer(marketplace, "1000.00", sender=buyer)
            click.echo(f"  on chain 31338 the buyer pays the marketplace 1,000.00, tx {receipt.txn_hash[:18]}...; balances there: "
                       f"buyer {token_b.format_decimal(token_b.balance(buyer))}, marketplace {token_b.format_decimal(token_b.balance(marketplace))}")
        report = reconcile_chains([(a, net.messenger_a), (b, net.messenger_b)])
        for c in report.chains:
            click.echo(f"  chain {c.chain_id}: supply {usd.format(c.supply)} (issued {usd.format(c.issued)}, sent "
                       f"{usd.format(c.sent)}, received {usd.format(c.received)})")
        click.echo(f"  cross-chain reconciliation {'OK' if report.ok else 'MISMATCH'}: liability {usd.format(report.liability)} = "
                   f"supplies {usd.format(report.supply)} + in flight {usd.format(report.in_flight_total)}")
        if not report.ok:
            raise click.ClickException("demo: the cross-chain reconciliation failed")
    finally:
        process.terminate()
        process.wait(timeout=20)
