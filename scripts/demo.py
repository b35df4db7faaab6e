"""The local devnet demo: a bank issues a USD deposit token and its clients use it.

    ape run demo --network ethereum:local:foundry      (what `make demo` runs)

ape starts a fresh Anvil for the run and stops it afterwards. The demo deploys the token of
config/devnet.yaml (recorded in deployments/<network>.json, replaced on every run since the chain is
new), onboards three business clients and the bank's treasury, mints against the bank's deposit
references, has one client pay another, shows the controls refusing a replayed deposit and a
payment to an account that is not onboarded, redeems, and prints balances, supply and the event
trail. Every step goes through ``deptoken.operations``, as the scripts do. Only Anvil's public test
accounts sign, which is why it refuses to run on any chain but the devnet's.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import click

from deptoken.allowlist_file import format_expiry
from deptoken.chain import connected_chain_id
from deptoken.cli import OperatorCommand
from deptoken.config import load_config
from deptoken.errors import DepositTokenError
from deptoken.operations import TokenClient, deploy_from_config
from deptoken.signers import DEVNET_CHAIN_ID, devnet_accounts

CONFIG = Path(__file__).resolve().parents[1] / "config" / "devnet.yaml"


def _step(title: str) -> None:
    click.echo(f"\n== {title}")


def _balances(client: TokenClient, names: dict[str, str]) -> None:
    click.echo(f"  {'holder':<28} {'address':<42} {'balance':>16}  status")
    for address, name in names.items():
        status = client.account(address)
        state = "allowlisted" if status.allowlisted else "not allowlisted"
        if status.frozen:
            state += ", frozen"
        click.echo(f"  {name:<28} {address:<42} {client.format_decimal(status.balance):>16}  {state}")
    click.echo(f"  {'total supply (bank liability)':<71} {client.format_decimal(client.total_supply()):>16}")


def _refused(action: str, attempt) -> None:
    """Runs an operation that must be refused by the pre-send checks, and shows the refusal."""
    try:
        attempt()
    except DepositTokenError as exc:
        click.echo(f"  refused, nothing sent: {action}: {exc}")
        return
    raise click.ClickException(f"demo: {action} was not refused")


@click.command(cls=OperatorCommand, short_help="Local devnet demo: deploy, onboard, mint, pay, redeem")
def cli() -> None:
    """Run the deposit token story end to end on the local devnet."""
    from ape.logging import logger

    logger.set_level("WARNING")  # the demo prints its own account of each transaction
    chain_id = connected_chain_id()
    if chain_id != DEVNET_CHAIN_ID:
        raise DepositTokenError(f"the demo signs with public test accounts and runs only on the devnet (chain id {DEVNET_CHAIN_ID}), not {chain_id}")
    acct = devnet_accounts()
    admin, minter_admin, treasury, compliance, legal = acct[0], acct[1], acct[2], acct[3], acct[4]
    acme, shenzhen, lagos = acct[7], acct[8], acct[9]
    stranger = "0x000000000000000000000000000000000000dEaD"  # never onboarded
    config = load_config(CONFIG)

    _step(f"Deploy {config.name} ({config.symbol}), issued by {config.issuer_name}")
    client, _ = deploy_from_config(config, admin, minter_admin=minter_admin, force=True)
    d = client.deployment
    click.echo(f"  token (proxy) {d.token}, implementation {d.implementation}, block {d.deploy_block}")
    click.echo(f"  {client.contract.currency()} with {client.decimals} decimals; record: deployments/{d.network}.json")
    click.echo(f"  minter {treasury.address} may mint {client.format(client.contract.minterAllowance(treasury))}")

    _step("Onboard clients (allowlist with KYC review dates)")
    names = {
        acme.address: "Acme Imports Ltd (US)",
        shenzhen.address: "Shenzhen Widgets Co (CN)",
        lagos.address: "Lagos Trading Ltd (NG)",
        treasury.address: "Bank treasury",
    }
    reviews = ["2027-06-30", "2027-03-31", "2027-01-31", "2030-01-01"]
    client.allowlist_many(zip([acme, shenzhen, lagos, treasury], reviews), sender=compliance)
    for address, name in names.items():
        click.echo(f"  {name:<28} allowlisted until {format_expiry(client.account(address).allowlist_expiry)}")

    _step("Mint against deposits the bank received")
    for who, amount, ref in ((acme, "125000.00", "DEP-2026-11-25-0001"), (shenzhen, "80000.50", "DEP-2026-11-25-0002")):
        receipt = client.mint(who, amount, ref, sender=treasury)
        click.echo(f"  {names[who.address]:<28} +{Decimal(amount):>12,.2f}  deposit {ref}  tx {receipt.txn_hash[:18]}...")
    _refused("mint again against DEP-2026-11-25-0001", lambda: client.mint(acme, "125000.00", "DEP-2026-11-25-0001", sender=treasury))

    _step("Pay: Acme pays Shenzhen's invoice, 24/7, final in one block")
    receipt = client.transfer(shenzhen, "12345.67", sender=acme)
    click.echo(f"  Acme -> Shenzhen 12,345.67  tx {receipt.txn_hash[:18]}...  gas {receipt.gas_used:,}")
    _refused("pay an account the bank has not onboarded", lambda: client.transfer(stranger, "1.00", sender=acme))

    _step("Legal order: a lien on Lagos Trading, then its payment is held")
    client.transfer(lagos, "500.00", sender=acme)
    client.set_frozen_amount(lagos, "400.00", sender=legal)
    _refused("Lagos pays 200.00 out of 500.00 with 400.00 under lien", lambda: client.transfer(acme, "200.00", sender=lagos))

    _step("Redeem: Shenzhen takes 50,000.00 back to its bank account")
    receipt = client.redeem("50000.00", "PAY-2026-11-25-0001", sender=shenzhen)
    click.echo(f"  burned 50,000.00, payout reference PAY-2026-11-25-0001  tx {receipt.txn_hash[:18]}...")

    _step("Balances and supply")
    _balances(client, names)
    minted, redeemed = Decimal("205000.50"), Decimal("50000.00")
    if client.total_supply() != minted - redeemed:
        raise click.ClickException(f"demo: supply {client.total_supply()} != minted {minted} - redeemed {redeemed}")
    click.echo(f"  check: supply = minted {minted:,.2f} - redeemed {redeemed:,.2f}  OK")

    _step("Event trail (what auditors and the bank's books reconcile against)")
    skip = {"RoleGranted", "RoleAdminChanged", "Initialized", "Upgraded", "IssuerUpdated"}
    for event in client.events():
        if event.name not in skip:
            click.echo("  " + client.describe(event))
    click.echo("\nDemo complete; ape now stops Anvil.")
