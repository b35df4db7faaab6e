"""``deptoken``: the command line of the issuer operations (``deptoken.ops``) and of the settlement
contracts (``deptoken.settlement``), a thin layer over both.

Exit status: 0 done; 1 refused or failed (one line on stderr, nothing half-done); 2 usage error;
3 reconciliation found a mismatch. ``--json`` prints machine-readable output on stdout, amounts as
integers in the currency's minor units (exact); tables show currency units.

Each command group is a module of this package; they import only click and this package at load
time (the ledger, ape and web3 when a command runs), so that ``deptoken --help`` starts quickly.
"""

from __future__ import annotations

import click

from .audit_commands import audit
from .auth_commands import auth
from .boundary import RootGroup
from .client_commands import clients
from .console_commands import console, console_users
from .db_commands import db
from .deposit_commands import deposits
from .env import Env
from .escrow_commands import escrow
from .htlc_commands import htlc
from .index_commands import statement, supply, sync
from .interbank_commands import interbank
from .legal_commands import legal
from .operator_commands import operators
from .payout_commands import payouts
from .pvp_commands import pvp
from .reconcile_commands import MISMATCH_EXIT, reconcile
from .request_commands import requests
from .status_commands import report, status_command
from .xchain_commands import xchain

__all__ = ["MISMATCH_EXIT", "main"]


@click.group(cls=RootGroup)
@click.option("--db", metavar="URL", envvar="DEPTOKEN_DB_URL", help="Ledger database URL (default: sqlite file var/ledger.sqlite).")
@click.option("--network", default=None, envvar="DEPTOKEN_NETWORK",
              help="ape network choice of the node, e.g. ethereum:local:http://HOST:PORT (no default: chain commands need it).")
@click.option("--config", metavar="FILE", envvar="DEPTOKEN_OPS_CONFIG", help="Operations policy (default: config/ops.yaml).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (also after the subcommand); errors as {\"error\": ...} on stderr.")
@click.option("--adopt", is_flag=True, help="Let a new ledger bind to a token that already has history.")
@click.pass_context
def main(ctx: click.Context, db: str | None, network: str | None, config: str | None, as_json: bool, adopt: bool) -> None:
    """Issuer operations for a deposit token: onboarding, maker-checker minting, redemptions and
    payouts, the event index, reconciliation, legal orders and the audit log."""
    ctx.obj = Env(db, network, config, as_json, adopt)


# Issuer operations (deptoken.ops).
for _command in (db, operators, clients, deposits, requests, legal, sync, statement, supply, status_command, report,
                 payouts, reconcile, audit, console, console_users):
    main.add_command(_command)
# Cross-border settlement (deptoken.settlement): gasless authorizations, FX PvP, trade escrow, HTLC, interbank
# payments; cross-chain transfers over the bank's messenger (deptoken.crosschain).
for _command in (auth, pvp, escrow, htlc, interbank, xchain):
    main.add_command(_command)
