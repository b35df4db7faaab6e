"""``deptoken deposits``: deposits received, each becoming a mint request."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from .env import Env, pass_env
from .issuer_support import list_options, page_of, show_list, signer_options


@click.group()
def deposits() -> None:
    """Deposits received, each becoming a mint request."""


def _record(env: Env, inputs: Any, source: str, signer: Callable[[], Any], *, label: str | None = None,
            skip_known: bool = False, suspense: bool = False) -> None:
    from ..ops.deposits import intake

    maker = signer()
    with env.ledger.session() as session:
        result = intake(session, env.ops, inputs, maker, source=source, label=label, skip_known=skip_known,
                        suspense=suspense)
        rows = [{"request": r.id, "deposit": r.params["deposit_reference"], "amount": r.amount,
                 "approvals_needed": r.required_approvals} for r in result.requests]
    env.emit(rows, lambda: click.echo(f"{len(rows)} deposit(s) recorded" + (
        "; mint requests " + ", ".join(f"#{d['request']}" for d in rows) + " await approval" if rows else "")))
    # what was not recorded, on stderr (the --json output stays the list of mint requests)
    if result.duplicates:
        click.echo(f"note: {len(result.duplicates)} known deposit(s) skipped as duplicates: " + "; ".join(result.duplicates), err=True)
    if result.suspended:
        click.echo(f"note: {len(result.suspended)} credit(s) parked in suspense (`deptoken deposits assign`): "
                   + "; ".join(result.suspended), err=True)


@deposits.command("add")
@click.option("--reference", required=True, help="The bank's reference of the deposit (once only, whatever its case).")
@click.option("--client", "client_id", required=True)
@click.option("--amount", required=True, help="Currency units, e.g. 1250.50")
@click.option("--value-date", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Default: today (UTC).")
@signer_options(None)
@pass_env
def deposits_add(env: Env, reference: str, client_id: str, amount: str, value_date: datetime | None, signer: Callable[[], Any]) -> None:
    """Records one deposit entered by hand."""
    from ..amounts import Money
    from ..ops.deposits import DepositInput

    c = env.ops.client
    when = value_date.date() if value_date else datetime.now(UTC).date()
    inputs = [DepositInput(reference.strip(), client_id.strip(), Money.parse(amount, c.currency, c.decimals), c.currency, when,
                           "command line")]
    _record(env, inputs, "manual", signer)


@deposits.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--skip-known", is_flag=True,
              help="Record the new entries of a partly replayed file; report the known ones (same terms) as duplicates.")
@click.option("--dry-run", is_flag=True, help="Check the file and show totals, the allowance check and what would be recorded; record nothing.")
@signer_options(None)
@pass_env
def deposits_import(env: Env, path: str, skip_known: bool, dry_run: bool, signer: Callable[[], Any]) -> None:
    """Records the deposits of a CSV file or an ISO 20022 camt.054 notification (.xml). A credit for
    an unknown client is parked in suspense (`deposits list --suspense`, `deposits assign`)."""
    from ..ops.deposits import from_camt054, from_csv

    if Path(path).suffix.lower() == ".xml":
        inputs, source = from_camt054(path)
    else:
        inputs, source = from_csv(path, env.ops.client.currency)
    if dry_run:
        _import_dry_run(env, inputs, source, signer, label=path, skip_known=skip_known)
        return
    _record(env, inputs, source, signer, label=path, skip_known=skip_known, suspense=True)


def _import_dry_run(env: Env, inputs: Any, source: str, signer: Callable[[], Any], *, label: str, skip_known: bool) -> None:
    from ..ops.bulk import mint_allowance_check
    from ..ops.deposits import intake

    maker = signer()
    today = env.ops.today()
    with env.ledger.session() as session:
        result = intake(session, env.ops, inputs, maker, source=source, label=label, skip_known=skip_known,
                        suspense=True, dry_run=True)
        minting = sum(p.amount for p in result.planned if p.to is not None)
        check = mint_allowance_check(session, env.ops, minting)
    held = sum(p.value_date > today for p in result.planned if p.to is not None)
    fmt = env.ops.client.format
    data = {"dry_run": True, "deposits": result.planned, "total": sum(p.amount for p in result.planned), "minting": minting,
            "held": held, "duplicates": result.duplicates, "suspense": result.suspended, "allowance": check}

    def human() -> None:
        for p in result.planned:
            click.echo(f"{p.bank_reference}: {fmt(p.amount)} value {p.value_date} "
                       + (f"-> mint request to {p.client_id} {p.to}" if p.to else f"-> suspense (unknown client {p.client_id!r})"))
        click.echo(f"dry run, nothing recorded: {len(result.planned)} deposit(s), total {fmt(data['total'])}; "
                   f"{sum(p.to is not None for p in result.planned)} mint request(s) of {fmt(minting)} ({held} held for their value date), "
                   f"{len(result.suspended)} to suspense, {len(result.duplicates)} known (skipped)")
        click.echo(f"allowance: mints waiting {fmt(check['waiting'])} + this file {fmt(minting)} against the largest minter "
                   f"allowance {fmt(check['largest_allowance'])}" + (f" ({check['minter']})" if check["minter"] else "")
                   + (": enough" if check["ok"] else ": NOT ENOUGH"))

    env.emit(data, human)


@deposits.command("list")
@click.option("--held", is_flag=True, help="Only deposits waiting for their value date.")
@click.option("--suspense", is_flag=True, help="Only credits whose client is unknown.")
@click.option("--history", is_flag=True, help="Every version of amended deposits too.")
@click.option("--status", default=None, help="Only deposits in this state (recorded, suspense, returned, superseded; held: --held).")
@click.option("--client", "client_id", default=None, help="Only this client's deposits.")
@list_options("value date")
@pass_env
def deposits_list(env: Env, held: bool, suspense: bool, history: bool, status: str | None, client_id: str | None,
                  first: datetime | None, last: datetime | None, page: int | None, per_page: int | None, csv_path: str | None) -> None:
    """Lists deposits and their state (recorded, held until its value date, suspense, returned)."""
    from ..ops.deposits import list_deposits

    with env.ledger.session() as session:
        views = [v for v in list_deposits(session, env.ops, held=held, suspense=suspense, history=history or status == "superseded")
                 if (status is None or v.state.split(" ")[0] == status) and (client_id is None or v.client_id == client_id)
                 and (first is None or v.value_date >= first.date()) and (last is None or v.value_date <= last.date())]
    paging = page_of(page, per_page)
    columns = ("reference", "client", "amount", "value_date", "state", "request", "request_status")
    rows = [dict(zip(columns, (v.bank_reference, v.client_id, v.amount, v.value_date, v.state, v.request_id or "",
                               v.request_status or ""), strict=True)) for v in paging.slice(views)]
    show_list(env, "deposits", columns, rows, len(views), paging, csv_path, amounts=("amount",))


def _amend(env: Env, reference: str, signer: Callable[[], Any], reason: str, **changes: Any) -> None:
    from ..ops.deposits import amend_deposit

    maker = signer()
    with env.ledger.session() as session:
        request = amend_deposit(session, env.ops, reference, maker, reason=reason, **changes)
        data = {"request": request.id, "deposit": request.params["deposit_reference"], "amount": request.amount,
                "to": request.params["to"], "approvals_needed": request.required_approvals}
    env.emit(data, lambda: click.echo(f"deposit {data['deposit']} amended; mint request #{data['request']} awaits "
                                      f"{data['approvals_needed']} approval(s)"))


@deposits.command("amend")
@click.argument("reference")
@click.option("--client", "client_id", default=None, help="The right client.")
@click.option("--amount", default=None, help="The right amount (currency units).")
@click.option("--value-date", type=click.DateTime(["%Y-%m-%d"]), default=None, help="The right value date.")
@click.option("--reason", required=True, help="Why (recorded with the new version).")
@signer_options(None)
@pass_env
def deposits_amend(env: Env, reference: str, client_id: str | None, amount: str | None, value_date: datetime | None,
                   reason: str, signer: Callable[[], Any]) -> None:
    """Corrects a deposit not minted whose mint request was rejected, cancelled or expired: a new
    version (the old one is kept) and a new mint request for a checker."""
    from ..amounts import Money

    c = env.ops.client
    _amend(env, reference, signer, reason, client_id=client_id,
           amount=Money.parse(amount, c.currency, c.decimals) if amount is not None else None,
           value_date=value_date.date() if value_date else None)


@deposits.command("assign")
@click.argument("reference")
@click.argument("client_id")
@click.option("--reason", default="client identified", show_default=True)
@signer_options(None)
@pass_env
def deposits_assign(env: Env, reference: str, client_id: str, reason: str, signer: Callable[[], Any]) -> None:
    """Assigns a credit in suspense to a client: a mint request for a checker."""
    _amend(env, reference, signer, reason, client_id=client_id)


@deposits.command("return")
@click.argument("reference")
@click.option("--reason", required=True)
@signer_options(None)
@pass_env
def deposits_return(env: Env, reference: str, reason: str, signer: Callable[[], Any]) -> None:
    """Proposes returning a deposit not minted to the payer (takes effect when a checker approves)."""
    from ..ops.deposits import propose_return

    maker = signer()
    with env.ledger.session() as session:
        request = propose_return(session, env.ops, reference, maker, reason)
        data = {"request": request.id, "kind": "return", "approvals_needed": request.required_approvals}
    env.emit(data, lambda: click.echo(f"return request #{data['request']} awaits {data['approvals_needed']} approval(s)"))
