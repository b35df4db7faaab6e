"""``deptoken requests``: maker-checker requests (list, approve, reject, cancel, execute, recover)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import click

from ..errors import DepositTokenError
from .env import Env, pass_env
from .issuer_support import (day_of, describe, list_options, page_of, progress, propose_request, show_list, signer_options,
                             table, write_csv)


@click.group()
def requests() -> None:
    """Maker-checker requests: list, approve, reject, execute."""


STATUSES = ["pending", "approved", "rejected", "executing", "executed", "failed", "conflict", "cancelled", "expired"]


def _request_row(env: Env, r: Any, today: date) -> dict[str, Any]:
    params = {k: int(v) if k == "amount" else v for k, v in r.params.items() if k != "nonce"}
    held = r.kind == "mint" and r.deposit is not None and r.status in ("pending", "approved") and r.deposit.value_date > today
    return {"id": r.id, "kind": r.kind, "status": r.status, "params": params, "maker": r.maker.name,
            "approvals": f"{sum(a.decision == 'approve' for a in r.approvals)}/{r.required_approvals}", "reason": r.reason or "",
            "held_until": r.deposit.value_date.isoformat() if held else None}


@requests.command("list")
@click.option("--status", type=click.Choice(STATUSES))
@click.option("--kind", default=None, help="Only requests of this kind (mint, freeze, cancel, operator, ...).")
@click.option("--client", "client_id", default=None, help="Only mints to this client.")
@list_options("made")
@pass_env
def requests_list(env: Env, status: str | None, kind: str | None, client_id: str | None, first: datetime | None,
                  last: datetime | None, page: int | None, per_page: int | None, csv_path: str | None) -> None:
    """Lists requests (filters, paging, CSV export); a mint held until its value date says so."""
    from ..ops.listing import list_requests

    # A ledger-only read: "held" is judged by today's UTC date here (execution judges by chain time).
    today = datetime.now(UTC).date()
    paging = page_of(page, per_page)
    with env.ledger.session() as session:
        found = list_requests(session, status=status, kind=kind, client_id=client_id, first=day_of(first), last=day_of(last), page=paging)
        rows = [_request_row(env, r, today) for r in found.rows]
    columns = ("id", "kind", "status", "params", "maker", "approvals", "reason")
    if env.as_json:
        show_list(env, "requests", columns, rows, found.total, paging, None)
        if csv_path:
            write_csv(csv_path, columns, [_shown_request(env, row, columns) for row in rows])
        return
    if csv_path:
        write_csv(csv_path, columns, [_shown_request(env, row, columns) for row in rows])
    table("requests", columns, [_shown_request(env, row, columns) for row in rows])
    if paging.size is not None or csv_path:
        click.echo(f"{len(rows)} of {found.total} request(s)" + (f" (page {paging.number})" if paging.size else "")
                   + (f"; written to {csv_path}" if csv_path else ""))


def _shown_request(env: Env, row: dict[str, Any], columns: Sequence[str]) -> list[Any]:
    reason = row["reason"] or (f"held until {row['held_until']}" if row["held_until"] else "")
    return [describe(env.token, "", row["params"]) if c == "params" else reason if c == "reason" else row[c] for c in columns]


def show_before_signing(env: Env, account: Any, action: str, request_id: int) -> None:
    """Before a keystore prompts for its passphrase (it shows only a digest): what is being signed."""
    from ..ops.workflow import get_request

    if not getattr(account, "prompts", False):  # a keystore (deptoken.accounts.LocalSigner)
        return
    with env.ledger.session() as session:
        request = get_request(session, request_id)
        text = describe(env.token, request.kind, dict(request.params))
    click.echo(f"signing: {action} request #{request_id}: {text}", err=True)


def _decide(env: Env, request_id: int, signer: Callable[[], Any], approve: bool, reason: str | None = None) -> None:
    from ..ops.workflow import decide, get_request

    with env.ledger.session() as session:  # a team change is ledger-only: the chain, not the token, is needed
        ledger_only = get_request(session, request_id).kind == "operator"
    checker = signer(None, not ledger_only)
    show_before_signing(env, checker, "approve" if approve else "reject", request_id)
    with env.ledger.session() as session:
        request = decide(session, request_id, checker, approve=approve, reason=reason)
        data = {"id": request.id, "status": request.status}
    env.emit(data, lambda: click.echo(f"request #{request_id} {data['status']}"))


@requests.command("approve")
@click.argument("request_ids", type=int, nargs=-1)
@click.option("--all-pending", is_flag=True, help="Every pending request (narrowed by --kind, --client, --maker).")
@click.option("--kind", default=None, help="Only requests of this kind (mint, freeze, cancel, ...).")
@click.option("--client", "client_id", default=None, help="Only mints to this client.")
@click.option("--maker", default=None, help="Only requests this operator made.")
@signer_options(None)
@pass_env
def requests_approve(env: Env, request_ids: tuple[int, ...], all_pending: bool, kind: str | None, client_id: str | None,
                     maker: str | None, signer: Callable[[], Any]) -> None:
    """Approves a request (a checker other than its maker); a cancel or return takes effect at once.
    Several ids, or --all-pending with filters: shows what would be approved, with totals, and asks
    first (--yes: does not ask); each approval is still signed on its own."""
    if len(request_ids) == 1 and not (all_pending or kind or client_id or maker):
        _decide(env, request_ids[0], signer, True)
        return
    if not request_ids and not all_pending:
        raise click.UsageError("name the requests to approve, or pass --all-pending (with --kind, --client or --maker)")
    _approve_many(env, list(request_ids), kind, client_id, maker, signer)


def _approve_many(env: Env, ids: list[int], kind: str | None, client_id: str | None, maker: str | None,
                  signer: Callable[[], Any]) -> None:
    from ..ops.bulk import select_pending
    from ..ops.workflow import decide

    checker = signer(None, kind != "operator")  # team changes are ledger-only: no token needed
    with env.ledger.session() as session:
        chosen = select_pending(session, str(checker.address), ids=ids or None, kind=kind, client_id=client_id, maker=maker)
        todo = [(r.id, r.kind, dict(r.params), r.amount) for r in chosen.requests]
        kinds, total = chosen.by_kind(), chosen.total
    fmt = env.token.format
    summary = (f"{len(todo)} request(s) to approve, total {fmt(total)}: "
               + ", ".join(f"{k} {n} ({fmt(t)})" for k, (n, t) in sorted(kinds.items())))
    click.echo(summary if todo else "nothing to approve", err=True)
    for rid, rkind, params, _ in todo:
        click.echo(f"  #{rid} {describe(env.token, rkind, params)}", err=True)
    for line in chosen.skipped:
        click.echo(f"  skipped {line}", err=True)
    yes = bool(click.get_current_context().params.get("yes"))
    if todo and not yes:
        click.confirm("approve them, each signed on its own?", abort=True, err=True)
    done, failed = [], []
    for rid, _, _, _ in todo:
        try:
            with env.ledger.session() as session:
                done.append({"id": rid, "status": decide(session, rid, checker, approve=True).status})
        except DepositTokenError as exc:  # one that cannot be approved now does not stop the others
            failed.append({"id": rid, "error": str(exc)})
    data = {"approved": done, "failed": failed, "skipped": chosen.skipped, "total": total}
    env.emit(data, lambda: [click.echo(f"request #{d['id']} {d['status']}") for d in done]
             + [click.echo(f"request #{f['id']} NOT approved: {f['error']}") for f in failed])
    if failed:
        sys.exit(1)


@requests.command("reject")
@click.argument("request_id", type=int)
@click.option("--reason", default=None, help="Why (recorded with the request and in the audit log).")
@signer_options(None)
@pass_env
def requests_reject(env: Env, request_id: int, reason: str | None, signer: Callable[[], Any]) -> None:
    """Rejects a pending request (final). An approved one is cancelled with `requests cancel`."""
    _decide(env, request_id, signer, False, reason)


@requests.command("cancel")
@click.argument("request_id", type=int)
@click.option("--reason", required=True, help="Why (recorded with the request and in the audit log).")
@signer_options(None)
@pass_env
def requests_cancel(env: Env, request_id: int, reason: str, signer: Callable[[], Any]) -> None:
    """Proposes cancelling an approved or failed request; another operator approves the cancel."""
    propose_request(env, "cancel", {"request": request_id, "reason": reason}, signer)


@requests.command("execute")
@click.argument("request_ids", type=int, nargs=-1)
@click.option("--kind", type=click.Choice(["mint", "freeze", "unfreeze", "lien", "seize", "recover", "pause", "unpause"]), default=None,
              help="Without ids: every approved request of this kind (default: mint).")
@click.option("--dry-run", is_flag=True, help="Show what would be sent, held or refused, the totals and the allowance check; send nothing.")
@signer_options(None)
@pass_env
def requests_execute(env: Env, request_ids: tuple[int, ...], kind: str | None, dry_run: bool, signer: Callable[[], Any]) -> None:
    """Runs approved requests on-chain, exactly once (first settles any interrupted run and expires
    requests approved too long ago). A request that cannot run is set aside as failed (named again,
    it is retried); exit status 1 only when something failed in this run."""
    from ..ops.workflow import FAILURES, LEDGER_KINDS, Outcome, describe, execute_all, expire_approved, get_request, pending_requests, recover, signer_role

    if dry_run:
        _execute_dry_run(env, request_ids, kind, signer)
        return
    outcomes: list[Outcome] = []
    with env.ledger.new_session() as session:
        outcomes += recover(session, env.ops, actor="recovery")
        outcomes += expire_approved(session, env.ops, actor="expiry")
        todo = [get_request(session, i) for i in request_ids] or [
            r for r in pending_requests(session, "approved") if r.kind == (kind or "mint")
        ]
        kinds = {r.kind for r in todo}
        if ledger_only := [r for r in todo if r.kind in LEDGER_KINDS]:
            raise DepositTokenError(f"request #{ledger_only[0].id} is a {ledger_only[0].kind}: it takes effect when approved")
        if len(kinds) > 1:
            raise DepositTokenError(f"requests of different kinds ({', '.join(sorted(kinds))}) need different signers: execute them separately")
        if todo:
            sender = signer(signer_role(todo[0].kind))
            with progress("executing", len(todo)) as advance:
                outcomes += execute_all(session, env.ops, todo, sender, actor=f"executor {sender.address}",
                                        retry=bool(request_ids), progress=advance)
    env.emit(outcomes, lambda: [click.echo(describe(o)) for o in outcomes] or click.echo("nothing to execute"))
    if any(o.status in FAILURES for o in outcomes):
        sys.exit(1)


def _execute_dry_run(env: Env, request_ids: tuple[int, ...], kind: str | None, signer: Callable[[], Any]) -> None:
    from ..ops.bulk import plan_execution
    from ..ops.workflow import LEDGER_KINDS, get_request, pending_requests, signer_role

    with env.ledger.session() as session:
        todo = [get_request(session, i) for i in request_ids] or [
            r for r in pending_requests(session, "approved") if r.kind == (kind or "mint")]
        if ledger_only := [r for r in todo if r.kind in LEDGER_KINDS]:
            raise DepositTokenError(f"request #{ledger_only[0].id} is a {ledger_only[0].kind}: it takes effect when approved")
        sender = str(signer(signer_role(todo[0].kind)).address) if todo else ""
        plan = plan_execution(session, env.ops, todo, sender) if todo else None
    if plan is None:
        env.emit({"steps": [], "dry_run": True}, lambda: click.echo("dry run: nothing to execute"))
        return
    fmt = env.ops.client.format
    counts = {a: sum(s.action == a for s in plan.steps) for a in ("send", "held", "refused")}

    def human() -> None:
        for s in plan.steps:
            click.echo(f"request #{s.request_id}: would {'send' if s.action == 'send' else 'not send'}: "
                       f"{describe(env.ops.client, s.kind, s.params)}" + (f" ({s.detail})" if s.detail else ""))
        click.echo(f"dry run, nothing sent: {counts['send']} to send, {counts['held']} held, {counts['refused']} refused"
                   + (f"; mints {fmt(plan.minting)} against {plan.sender}'s allowance {fmt(plan.allowance)}: "
                      + ("enough" if plan.allowance_ok else "NOT ENOUGH") if plan.allowance is not None else "")
                   + ("; the token is PAUSED: nothing would run" if plan.paused else ""))

    env.emit({"dry_run": True, "steps": plan.steps, "sender": plan.sender, "minting": plan.minting, "allowance": plan.allowance,
              "allowance_ok": plan.allowance_ok, "paused": plan.paused} | counts, human)
    if not plan.allowance_ok or plan.paused or counts["refused"]:
        sys.exit(1)


@requests.command("recover")
@pass_env
def requests_recover(env: Env) -> None:
    """Settles requests left executing by an interrupted run (no new transaction unless one was lost)."""
    from ..ops.workflow import recover

    with env.ledger.new_session() as session:
        outcomes = recover(session, env.ops, actor="recovery")
    env.emit(outcomes, lambda: [click.echo(f"request #{o.request_id}: {o.status} ({o.message})") for o in outcomes]
             or click.echo("nothing to recover"))
