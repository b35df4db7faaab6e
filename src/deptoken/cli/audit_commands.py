"""``deptoken audit``: the append-only audit log."""

from __future__ import annotations

import sys
from datetime import datetime

import click

from .env import Env, pass_env
from .issuer_support import day_of, list_options, table, write_csv


@click.group()
def audit() -> None:
    """The append-only audit log."""


@audit.command("list")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Entries per page (same as --per-page).")
@click.option("--action", default=None, help="Only this action (request.approve), or a prefix ending in '.' (request.).")
@click.option("--actor", default=None, help="Only entries by this actor (operator name).")
@click.option("--subject", default=None, help="Only entries about this subject (e.g. 'request 12').")
@list_options("recorded")
@pass_env
def audit_list(env: Env, limit: int, action: str | None, actor: str | None, subject: str | None, first: datetime | None,
               last: datetime | None, page: int | None, per_page: int | None, csv_path: str | None) -> None:
    """The latest audit entries (filters, paging: page 1 is the newest; CSV export)."""
    from ..ops.listing import Page, list_audit

    paging = Page(page or 1, per_page or limit)
    with env.ledger.session() as session:
        found = list_audit(session, action=action, actor=actor, subject=subject, first=day_of(first), last=day_of(last), page=paging)
        rows = [{"id": e.id, "at": e.at.isoformat(), "actor": e.actor, "action": e.action, "subject": e.subject,
                 "tx": e.tx_hash or "", "block": e.block_number or "", "details": e.details} for e in found.rows]
    columns = ("id", "at", "actor", "action", "subject", "tx", "block")
    if csv_path:
        import json

        write_csv(csv_path, (*columns, "details"), [[row[c] for c in columns] + [json.dumps(row["details"], sort_keys=True)]
                                                     for row in reversed(rows)])
    env.emit(rows, lambda: (table("audit log", columns, [[row[c] for c in columns] for row in reversed(rows)]),
                            click.echo(f"{len(rows)} of {found.total} entries (page {paging.number}, newest first)"
                                       + (f"; written to {csv_path}" if csv_path else ""))))


@audit.command("verify")
@pass_env
def audit_verify(env: Env) -> None:
    """Checks the audit log's hash chain; exit status 1 if an entry was edited, removed or inserted."""
    from ..ops.audit import verify

    with env.ledger.session() as session:
        problems = verify(session)
    env.emit({"ok": not problems, "problems": problems},
             lambda: click.echo("audit log intact" if not problems else "\n".join(problems)))
    if problems:
        sys.exit(1)
