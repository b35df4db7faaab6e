"""``deptoken reconcile``: chain against ledger, and the day's camt.053 statement."""

from __future__ import annotations

import os
import sys
from datetime import datetime

import click

from .env import Env, pass_env
from .issuer_support import chain_today, table

MISMATCH_EXIT = 3


@click.command()
@click.option("--sync/--no-sync", "do_sync", default=True, show_default=True, help="Index new confirmed blocks first.")
@click.option("--camt053", "camt053", type=click.Path(dir_okay=False), default=None, help="Also write the day's camt.053 statement here (only when the reconciliation passes).")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Statement day (default: the chain's today, UTC).")
@click.option("--all", "every_row", is_flag=True, help="Show every client's row, not only those that differ.")
@pass_env
def reconcile(env: Env, do_sync: bool, camt053: str | None, day: datetime | None, every_row: bool) -> None:
    """Reconciles chain and ledger; exit status 3 on any mismatch."""
    from ..ops.indexer import sync as run_sync
    from ..ops.reconcile import issue_camt053, reconcile as run

    actor = os.environ.get("USER", "cli")
    with env.ledger.new_session() as session:
        if do_sync:
            run_sync(session, env.ops)
        report = run(session, env.ops, actor=actor)
        session.commit()
        if camt053 and report.ok:  # a statement of an unreconciled ledger is never written
            issue_camt053(session, env.ops, day.date() if day else chain_today(env), report, camt053, actor=actor)
    fmt = env.ops.client.format

    def human() -> None:
        click.echo(f"reconciliation at block {report.block_number}: {'OK' if report.ok else 'MISMATCH'}")
        click.echo(f"  total supply {fmt(report.total_supply)}; ledger: minted {fmt(report.ledger_minted)}, redemptions paid "
                   f"{fmt(report.redemptions_paid)}, awaiting payout {fmt(report.redemptions_unpaid)}, burned {fmt(report.burned)}"
                   + (f"; interbank in {fmt(report.interbank_in)}, out {fmt(report.interbank_out)}"
                      if report.interbank_in or report.interbank_out else "")
                   + (f"; cross-chain in {fmt(report.crosschain_in)}, out {fmt(report.crosschain_out)}"
                      if report.crosschain_in or report.crosschain_out else ""))
        differing = [p for p in report.clients if p.explained != p.chain_balance]
        mismatches = sum(f.severity == "mismatch" for f in report.findings)
        click.echo(f"  {len(report.clients)} client(s), {len(differing)} differing; {mismatches} mismatch(es), "
                   f"{len(report.findings) - mismatches} note(s)" + ("" if every_row else " (--all: every client's row)"))
        shown = report.clients if every_row else differing
        if shown:
            table("clients" if every_row else "clients that differ", ("client", "minted", "redeemed", "transfers", "explained", "chain balance"),
                   [(p.client_id, fmt(p.minted), fmt(p.redeemed), fmt(p.transfers), fmt(p.explained), fmt(p.chain_balance))
                    for p in shown])
        for f in report.findings:
            click.echo(f"  {f.severity.upper():8} {f.code}: {f.subject}: {f.detail}")
        if camt053:
            click.echo(f"camt.053 statement written to {camt053}" if report.ok
                       else "camt.053 statement NOT written: the reconciliation found mismatches")

    env.emit(report.as_dict(), human)
    if not report.ok:
        sys.exit(MISMATCH_EXIT)
