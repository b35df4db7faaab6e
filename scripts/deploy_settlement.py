"""Deploy the settlement contracts next to deposit tokens: FX PvP, hashed time-lock, a trade escrow per token.

    ape run deploy_settlement --network ethereum:local:node          # the devnet (what `make devnet` runs)
    ape run deploy_settlement --network <net> --account ALIAS --token USD=0x... --token CNH=0x... \\
        --escrow-admin 0x... --escrow-admin-delay 172800 --arbiter 0x... --fee-recipient 0x... --fee-bps 150

On the devnet (chain id 31337) it builds the whole cross-border devnet on top of the USD token of
deployments/<network>-<chain tag>.json (Bank A): USD Bank B's token (config/devnet-usd-b.yaml), CNH Bank C's
(config/devnet-cnh.yaml), the contracts, each bank allowlisting them, the cross-border parties each onboarded at
its one bank, and the interbank network of the USD banks (deptoken.settlement.settlement_deployer.setup_devnet). Elsewhere it deploys the contracts only and prints the
addresses each bank's compliance must allowlist on its token before they can be used: a contract
that holds or moves deposit tokens is a holder like any other. The escrow's fee recipient and arbiter
must be allowlisted on every token *before* (the deploy refuses otherwise, sending nothing). Writes deployments/<network>-<chain tag>-settlement.json.
"""

import click

from deptoken.chain import connected_chain_id
from deptoken.cli.ape_scripts import OperatorCommand, open_token, signer_choice, signer_options
from deptoken.errors import DepositTokenError
from deptoken.settlement.settlement_deployer import YEAR, deploy_settlement, setup_devnet, to_allowlist
from deptoken.settlement.registry import registry_path
from deptoken.signers import DEVNET_CHAIN_ID
from deptoken.validation import parse_address


@click.command(cls=OperatorCommand, short_help="Deploy the settlement contracts (PvP, HTLC, escrow)")
@click.option("--token", "tokens", multiple=True, metavar="CUR=ADDRESS", help="A deposit token by currency (off the devnet).")
@click.option("--escrow-admin", help="Appoints arbiters and sets the escrow fee (off the devnet).")
@click.option("--escrow-admin-delay", type=click.IntRange(0, 2**48 - 1), default=2 * 86400, show_default=True,
              help="Seconds a transfer of the escrow admin role waits (off the devnet).")
@click.option("--arbiter", help="Decides disputed orders; not the escrow admin (off the devnet).")
@click.option("--fee-recipient", help="Receives the escrow fee (off the devnet).")
@click.option("--fee-bps", type=click.IntRange(0, 1000), default=0, show_default=True)
@signer_options
def cli(tokens, escrow_admin, escrow_admin_delay, arbiter, fee_recipient, fee_bps):
    """Deploy the settlement contracts and record them."""
    from ape import chain, project

    from deptoken.token import TokenClient

    if connected_chain_id() == DEVNET_CHAIN_ID and not tokens:
        devnet = setup_devnet(open_token())
        c = devnet.contracts
        click.echo(f"USD Bank B token {devnet.usd_b.address} ({devnet.usd_b.symbol})")
        click.echo(f"CNH Bank C token {devnet.cnh.address} ({devnet.cnh.symbol})")
        click.echo(f"interbank network {devnet.interbank.address} (USD: {devnet.usd.symbol}, {devnet.usd_b.symbol})")
        click.echo(f"PvP settlement   {c.pvp.address}")
        click.echo(f"hashed time-lock {c.htlc.address}")
        for currency, escrow in c.escrows.items():
            click.echo(f"trade escrow     {escrow.address} ({currency}; fee {escrow.feeBps()} bps)")
        for name, account in devnet.parties.items():
            click.echo(f"{name:<20} {account.address}  client of {devnet.bank_of(name).symbol}")
        click.echo(f"record {registry_path(c.record.network)}")
        return
    if not (tokens and escrow_admin and fee_recipient):
        raise DepositTokenError("off the devnet give --token CUR=ADDRESS (one per token), --escrow-admin and --fee-recipient")
    clients = []
    for entry in tokens:
        currency, _, address = entry.partition("=")
        client = TokenClient.from_contract(project.DepositToken.at(parse_address(address, f"--token {currency}")))
        if client.currency != currency.strip().upper():
            raise DepositTokenError(f"--token {entry}: that token's currency is {client.currency}")
        clients.append((client, None))
    deployer = signer_choice().select(connected_chain_id())
    c = deploy_settlement(clients, deployer, escrow_admin=escrow_admin, escrow_admin_delay=escrow_admin_delay,
                          arbiter=arbiter, fee_recipient=fee_recipient,
                          fee_bps=fee_bps, kyc_expiry=int(chain.pending_timestamp) + YEAR)
    for client, _ in clients:
        addresses = ", ".join(to_allowlist(c.pvp, c.htlc, c.escrows[client.currency]))
        click.echo(f"{client.symbol}: the bank's compliance must allowlist {addresses} (`ape run allowlist`)")
    click.echo(f"record {registry_path(c.record.network)}")
