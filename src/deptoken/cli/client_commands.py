"""``deptoken clients``: onboarding, KYC review renewals and offboarding."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import click

from .env import Env, pass_env
from .issuer_support import chain_today, day_of, list_options, page_of, progress, show_list, signer_options


@click.group()
def clients() -> None:
    """Onboarding, KYC review renewals and offboarding."""


def _import(env: Env, kind: str, path: str, signer: Callable[[], Any]) -> None:
    from ..ops import onboarding
    from ..ops.operators import operator_at

    address = str(signer().address)
    today = chain_today(env) if kind != "offboard" else None  # connects (and binds the ledger) before the session
    with env.ledger.session() as session:
        maker = operator_at(session, address, may="request", action="clients")
        actor = maker.name
        if kind == "onboard":
            result = onboarding.import_clients(session, path, today=today, actor=actor, ops=env.ops, maker=maker)
        elif kind == "renew":
            result = onboarding.import_renewals(session, path, today=today, actor=actor, maker=maker)
        else:
            result = onboarding.import_offboarding(session, path, actor=actor, maker=maker)
    then = ("approve them (`deptoken clients approve`, another operator), then run `deptoken clients apply`"
            if env.policy.clients_second_approver else "run `deptoken clients apply` to send them")
    payouts = f", {result.payout_accounts} payout account(s) changed" if result.payout_accounts else ""
    env.emit(result, lambda: click.echo(f"{path}: {result.added} new {kind} job(s), {result.unchanged} unchanged{payouts}; {then}"))


@clients.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@signer_options(None)
@pass_env
def clients_import(env: Env, path: str, signer: Callable[[], Any]) -> None:
    """Records the clients of a KYC CSV file (address, client_id, legal_name, country, lei, kyc_review_date
    [, payout_account, payout_bic])."""
    _import(env, "onboard", path, signer)


@clients.command("renew")
@click.argument("path", type=click.Path(dir_okay=False))
@signer_options(None)
@pass_env
def clients_renew(env: Env, path: str, signer: Callable[[], Any]) -> None:
    """Records KYC review renewals from a CSV file (client_id, kyc_review_date [, payout_account, payout_bic])."""
    _import(env, "renew", path, signer)


@clients.command("offboard")
@click.argument("path", type=click.Path(dir_okay=False))
@signer_options(None)
@pass_env
def clients_offboard(env: Env, path: str, signer: Callable[[], Any]) -> None:
    """Records offboardings from a CSV file (client_id, reason)."""
    _import(env, "offboard", path, signer)


@clients.command("approve")
@click.option("--run", "run", default=None, help="Only the jobs of this import (as `clients import` reported it).")
@signer_options(None)
@pass_env
def clients_approve(env: Env, run: str | None, signer: Callable[[], Any]) -> None:
    """Approves the pending allowlist jobs another operator imported (policy `clients_second_approver`)."""
    from ..ops.onboarding import approve_jobs
    from ..ops.operators import operator_at

    address = str(signer().address)
    with env.ledger.session() as session:
        count = approve_jobs(session, operator_at(session, address, may="approve", action="clients"), run=run)
    env.emit({"approved": count}, lambda: click.echo(f"{count} allowlist job(s) approved" if count else "nothing to approve"))


@clients.command("apply")
@signer_options("compliance")
@pass_env
def clients_apply(env: Env, signer: Callable[[], Any]) -> None:
    """Sends the pending allowlist jobs in batches (resumes an interrupted run)."""
    from ..ops.onboarding import apply_jobs, pending_jobs

    sender = signer()
    with env.ledger.session() as session:
        total = pending_jobs(session)
    with progress("allowlisting", total) as advance, env.ledger.new_session() as session:
        result = apply_jobs(session, env.ops, sender, actor=f"executor {sender.address}", progress=advance)
    env.emit(result, lambda: click.echo(f"{result.done} job(s) done in {result.transactions} transaction(s); "
                                        f"{result.already} already so on-chain"
                                        + (f"; {result.expired} set aside: review date passed (renew them)" if result.expired else "")))


@clients.command("list")
@click.option("--status", type=click.Choice(["pending", "active", "offboarding", "offboarded"]))
@click.option("--client", "client_id", default=None, help="Only this client.")
@list_options("recorded")
@pass_env
def clients_list(env: Env, status: str | None, client_id: str | None, first: datetime | None, last: datetime | None,
                 page: int | None, per_page: int | None, csv_path: str | None) -> None:
    """Lists the clients (filters, paging, CSV export)."""
    from ..ops.listing import list_clients

    paging = page_of(page, per_page)
    with env.ledger.session() as session:
        found = list_clients(session, status=status, client_id=client_id, first=day_of(first), last=day_of(last), page=paging)
        rows = [{"client_id": c.client_id, "address": c.address, "legal_name": c.legal_name, "country": c.country,
                 "lei": c.lei or "", "review_date": c.review_date, "status": c.status,
                 "payout_account": c.payout_account or "", "payout_bic": c.payout_bic or ""} for c in found.rows]
    columns = ("client_id", "address", "legal_name", "country", "lei", "review_date", "status", "payout_account", "payout_bic")
    show_list(env, "clients", columns, rows, found.total, paging, csv_path)
