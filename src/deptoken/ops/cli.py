"""``deptoken``: the issuer operations CLI (a thin layer over ``deptoken.ops``).

Exit status: 0 done; 1 refused or failed (one line on stderr, nothing half-done); 2 usage error;
3 reconciliation found a mismatch. ``--json`` prints machine-readable output on stdout, amounts as
integers in the currency's minor units (exact); tables show currency units.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from functools import wraps
from pathlib import Path
from typing import Any

import click

from ..errors import DepositTokenError
from ..rate_limits import describe as describe_rate_limit
from .cli_env import Env, _disconnect, pass_env

MISMATCH_EXIT = 3


def _signer(env: Env, role: str | None, account: str | None, as_: str | None, keystore: str | None, yes: bool,
            needs_token: bool = True) -> Any:
    """The signing account: ape keystore alias, an eth-account keystore file, or a devnet test account."""
    from ..signers import ROLES, select_signer

    if not needs_token and role is None and not (as_ and as_.strip().lower().replace("-", "_") in ROLES):
        chain_id, token = env.chain_id, None  # an operator's own key for a ledger-only step: the chain decides
    else:
        chain_id, token = env.ops.chain_id, env.ops.client.contract
    return select_signer(chain_id=chain_id, account=account, keystore=keystore, as_=as_, role=role,
                         token=token, autosign=yes)


def signer_options(role: str | None, *, token: bool = True) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--account/--keystore/--as/--yes``; passes ``signer`` (resolved lazily) to the command.
    ``role``: on the devnet, the token role whose test account signs by default (None: must choose).
    ``token=False``: a ledger-only step (operator changes): the node's chain, not the token, is needed."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        # dest ``signer_account``: ``account`` is also the name of some commands' ADDRESS argument
        # (legal freeze/unfreeze/lien), and click would give both the same slot in ctx.params.
        @click.option("--account", "signer_account", metavar="ALIAS", help="Sign with this ape keystore account.")
        @click.option("--keystore", metavar="FILE", help="Sign with this eth-account keystore (JSON) file.")
        @click.option("--as", "as_", metavar="WHO", help="Devnet only: a public test account (index, address or token role).")
        @click.option("--yes", is_flag=True, help="Keystore: unlock once, sign without asking each time.")
        @wraps(function)
        def wrapper(*args: Any, signer_account: str | None, keystore: str | None, as_: str | None, yes: bool, **kwargs: Any) -> Any:
            env = click.get_current_context().find_object(Env)
            def signer(needs: str | None = role, needs_token: bool = token) -> Any:
                return _signer(env, needs, signer_account, as_, keystore, yes, needs_token)

            return function(*args, signer=signer, **kwargs)

        return wrapper

    return decorate


def _operator_name(env: Env, signer: Any, may: str = "request", action: str | None = None) -> str:
    from .operators import operator_at

    with env.ledger.session() as session:
        return operator_at(session, str(signer.address), may=may, action=action).name


class _Group(click.Group):
    """The error boundary: a ``DepositTokenError`` is one line on stderr and exit status 1: ``error: ...``,
    or with ``--json`` the object ``{"error": "..."}`` (stdout stays empty). ``--json`` may also follow
    the subcommand."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if ctx.parent is None and "--json" in args:
            cut = args.index("--") if "--" in args else len(args)
            if "--json" in args[:cut]:
                args = ["--json", *(a for a in args[:cut] if a != "--json"), *args[cut:]]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        import json

        from ..cli import failure_message

        from sqlalchemy.exc import SQLAlchemyError

        try:
            return super().invoke(ctx)
        except SQLAlchemyError as exc:  # never a raw SQL error: the ledger's transaction was rolled back
            message = (f"the ledger database refused the change ({type(exc).__name__}; another process may have changed "
                       "the same records): nothing of this step was recorded, run the command again")
        except Exception as exc:  # noqa: BLE001 - the expected kinds become one line
            if (message := failure_message(exc)) is None:
                raise
        finally:
            _disconnect()
        if isinstance(ctx.obj, Env) and ctx.obj.as_json:
            click.echo(json.dumps({"error": message}), err=True)
        else:
            click.echo(f"error: {message}", err=True)
        ctx.exit(1)


@click.group(cls=_Group)
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


def _table(title: str, columns: Sequence[str], rows: Iterator[Sequence[Any]] | list[Sequence[Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(cell) for cell in row))
    Console(width=None if sys.stdout.isatty() else 250).print(table)


@contextmanager
def _progress(label: str, total: int | None) -> Iterator[Callable[..., None]]:
    """``advance(n, what="")``: a progress bar on a terminal; otherwise (a cron log) one line per step
    on stderr, flushed, naming what completed (request, batch, with its tx hash), so that the log shows
    what was done even if the run dies."""
    from rich.progress import Progress

    if not sys.stderr.isatty():
        done = 0

        def line(n: int, what: str = "") -> None:
            nonlocal done
            done += n
            click.echo(f"{label}: {done}" + (f"/{total}" if total is not None else "") + (f": {what}" if what else ""), err=True)

        yield line
        return
    with Progress(transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n, what="": bar.advance(task, n)


def _list_options(dates: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--from/--to`` (``dates``: what the period filters), ``--page/--per-page`` and ``--csv FILE``."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        function = click.option("--csv", "csv_path", type=click.Path(dir_okay=False), default=None,
                                help="Also write the rows (this page, or every row without --page) to this CSV file.")(function)
        function = click.option("--per-page", type=click.IntRange(min=1), default=None, help="Rows per page (default: 50 with --page).")(function)
        function = click.option("--page", type=click.IntRange(min=1), default=None, help="Show this page of the rows.")(function)
        function = click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), default=None, help=f"Up to this day ({dates}).")(function)
        return click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), default=None, help=f"From this day ({dates}).")(function)

    return decorate


def _page(page: int | None, per_page: int | None) -> Any:
    from .listing import Page

    return Page(page or 1, per_page or (50 if page else None))


def _day(value: datetime | None) -> date | None:
    return value.date() if value else None


def _write_csv(path: str, columns: Sequence[str], rows: list[Sequence[Any]]) -> None:
    """Writes ``rows`` under a header of ``columns`` (written whole, then moved into place)."""
    import csv

    target = Path(path)
    temporary = target.with_name(f".{target.name}.tmp")
    try:
        with temporary.open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(columns)
            writer.writerows(rows)
        temporary.replace(target)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise DepositTokenError(f"cannot write {path}: {exc.strerror or exc}") from None


def _show_list(env: Env, title: str, columns: Sequence[str], rows: list[dict[str, Any]], total: int, page: Any,
               csv_path: str | None, amounts: Sequence[str] = ()) -> None:
    """A listing: JSON rows, or a table with "rows a-b of n" when paged; ``--csv`` too, amounts in
    currency units (decimal text) there, minor units in JSON."""
    def cell(column: str, value: Any, shown: bool) -> Any:
        if column in amounts and value not in ("", None):
            return env.token.format(value) if shown else env.token.to_decimal(value)
        return value

    if csv_path:
        _write_csv(csv_path, columns, [[cell(c, row[c], False) for c in columns] for row in rows])
    if env.as_json:
        env.emit(rows, lambda: None)
        return
    _table(title, columns, [[cell(c, row[c], True) for c in columns] for row in rows])
    if page.size is not None or csv_path:
        first = (page.number - 1) * page.size + 1 if page.size is not None else 1
        click.echo((f"rows {first}-{first + len(rows) - 1} of {total}" if rows else f"no rows on page {page.number} ({total} in all)")
                   + (f"; written to {csv_path}" if csv_path else ""))


# ---------------------------------------------------------------------------- database


@main.group()
def db() -> None:
    """The ledger database schema."""


@db.command("upgrade")
@pass_env
def db_upgrade(env: Env) -> None:
    """Creates or migrates the ledger schema to the newest revision."""
    from .db import Ledger, schema_revision, upgrade

    ledger = Ledger(env.db, check=False, create=True)
    upgrade(ledger.engine)
    current, _ = schema_revision(ledger.engine)
    env.emit({"revision": current}, lambda: click.echo(f"ledger schema at revision {current}"))


@db.command("status")
@pass_env
def db_status(env: Env) -> None:
    """Shows the ledger's schema revision."""
    from .db import Ledger, require_current, schema_revision

    ledger = Ledger(env.db, check=False)
    current, head = schema_revision(ledger.engine)
    env.emit({"revision": current, "head": head}, lambda: click.echo(f"revision {current or 'none'} (newest {head})"))
    require_current(ledger.engine)  # exit 1 with the one-line reason when not at the newest revision


# ---------------------------------------------------------------------------- operators


@main.group()
def operators() -> None:
    """The operations team (makers and checkers)."""


@operators.command("bootstrap")
@click.option("--operator", "team", type=(str, str, str), multiple=True, required=True, metavar="NAME ADDRESS PERSON_ID",
              help="One of the first operators (at least two, each may request and approve).")
@pass_env
def operators_bootstrap(env: Env, team: tuple[tuple[str, str, str], ...]) -> None:
    """Registers the first operators of an empty team, together (refused once any operator exists;
    every later change goes through `operators add/deactivate/duties` and another operator's approval)."""
    from .operators import bootstrap

    with env.ledger.session() as session:
        added = [{"name": o.name, "address": o.address, "person_id": o.person_id}
                 for o in bootstrap(session, list(team), actor=os.environ.get("USER", "cli"))]
    env.emit(added, lambda: click.echo(f"team bootstrapped: {', '.join(o['name'] for o in added)}"))


def _duties_options(function: Callable[..., Any]) -> Callable[..., Any]:
    function = click.option("--max-amount", default=None, help="Largest amount (currency units) they may request or approve.")(function)
    function = click.option("--permit", "permissions", metavar="ACTION", multiple=True,
                            help="An action they may take: a request kind (mint, freeze, ...), operators, clients or "
                                 "payouts (repeat; default: every action).")(function)
    function = click.option("--approve/--no-approve", default=True, help="May approve or reject requests.")(function)
    return click.option("--request/--no-request", default=True, help="May propose requests and record deposits.")(function)


def _propose_operator_change(env: Env, change: str, name: str, signer: Callable[[], Any], **fields: Any) -> None:
    from .operators import propose_change

    if fields.get("permissions") is not None:
        fields["permissions"] = list(fields["permissions"]) or None
    if fields.get("max_amount") is not None:
        fields["max_amount"] = env.token.units(fields["max_amount"], "max amount")
    from .context import ledger_binding

    with env.ledger.session() as session:
        bound = ledger_binding(session) is not None
    if not bound:  # a change is signed for the ledger's chain and token: bind it first
        env.ops  # noqa: B018
    maker = signer()
    with env.ledger.session() as session:
        request = propose_change(session, change, name, maker, **fields)
        data = {"request": request.id, "kind": "operator", "change": change, "name": name, "approvals_needed": 1}
    env.emit(data, lambda: click.echo(f"operator {change} of {name}: request #{data['request']} awaits 1 approval "
                                      "(by another operator: `deptoken requests approve`)"))


@operators.command("add")
@click.argument("name")
@click.argument("address")
@click.option("--person-id", required=True, help="Who the operator is (staff number): one person, one operator identity.")
@_duties_options
@signer_options(None, token=False)
@pass_env
def operators_add(env: Env, name: str, address: str, person_id: str, request: bool, approve: bool,
                  permissions: tuple[str, ...], max_amount: str | None, signer: Callable[[], Any]) -> None:
    """Proposes a new operator (signed by an operator; takes effect when another approves it)."""
    _propose_operator_change(env, "add", name, signer, address=address, person_id=person_id, request=request,
                             approve=approve, permissions=permissions, max_amount=max_amount)


@operators.command("duties")
@click.argument("name")
@_duties_options
@signer_options(None, token=False)
@pass_env
def operators_duties(env: Env, name: str, request: bool, approve: bool, permissions: tuple[str, ...],
                     max_amount: str | None, signer: Callable[[], Any]) -> None:
    """Proposes new duties for an operator (what they may do, up to which amount)."""
    _propose_operator_change(env, "duties", name, signer, request=request, approve=approve,
                             permissions=permissions, max_amount=max_amount)


@operators.command("deactivate")
@click.argument("name")
@signer_options(None, token=False)
@pass_env
def operators_deactivate(env: Env, name: str, signer: Callable[[], Any]) -> None:
    """Proposes to deactivate an operator (they sign nothing once approved)."""
    _propose_operator_change(env, "deactivate", name, signer)


@operators.command("list")
@pass_env
def operators_list(env: Env) -> None:
    """Lists the operators."""
    from .operators import list_operators

    with env.ledger.session() as session:
        operators_ = list_operators(session)
        rows = [(o.name, o.address, o.person_id or "", o.can_request, o.can_approve, o.active,
                 ",".join(o.permissions) if o.permissions is not None else "all",
                 "" if o.max_amount is None else o.max_amount) for o in operators_]
    columns = ("name", "address", "person_id", "request", "approve", "active", "permissions", "max_amount")
    env.emit([dict(zip(columns, r, strict=True)) for r in rows],
             lambda: _table("operators", columns, [[env.token.format(c) if k == "max_amount" and c != "" else c
                                                    for k, c in zip(columns, r, strict=True)] for r in rows]))


# ---------------------------------------------------------------------------- clients


@main.group()
def clients() -> None:
    """Onboarding, KYC review renewals and offboarding."""


def _chain_today(env: Env) -> date:
    return env.ops.today()


def _import(env: Env, kind: str, path: str, signer: Callable[[], Any]) -> None:
    from . import onboarding
    from .operators import operator_at

    address = str(signer().address)
    today = _chain_today(env) if kind != "offboard" else None  # connects (and binds the ledger) before the session
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
    from .onboarding import approve_jobs
    from .operators import operator_at

    address = str(signer().address)
    with env.ledger.session() as session:
        count = approve_jobs(session, operator_at(session, address, may="approve", action="clients"), run=run)
    env.emit({"approved": count}, lambda: click.echo(f"{count} allowlist job(s) approved" if count else "nothing to approve"))


@clients.command("apply")
@signer_options("compliance")
@pass_env
def clients_apply(env: Env, signer: Callable[[], Any]) -> None:
    """Sends the pending allowlist jobs in batches (resumes an interrupted run)."""
    from .onboarding import apply_jobs, pending_jobs

    sender = signer()
    with env.ledger.session() as session:
        total = pending_jobs(session)
    with _progress("allowlisting", total) as advance, env.ledger.new_session() as session:
        result = apply_jobs(session, env.ops, sender, actor=f"executor {sender.address}", progress=advance)
    env.emit(result, lambda: click.echo(f"{result.done} job(s) done in {result.transactions} transaction(s); "
                                        f"{result.already} already so on-chain"
                                        + (f"; {result.expired} set aside: review date passed (renew them)" if result.expired else "")))


@clients.command("list")
@click.option("--status", type=click.Choice(["pending", "active", "offboarding", "offboarded"]))
@click.option("--client", "client_id", default=None, help="Only this client.")
@_list_options("recorded")
@pass_env
def clients_list(env: Env, status: str | None, client_id: str | None, first: datetime | None, last: datetime | None,
                 page: int | None, per_page: int | None, csv_path: str | None) -> None:
    """Lists the clients (filters, paging, CSV export)."""
    from .listing import list_clients

    paging = _page(page, per_page)
    with env.ledger.session() as session:
        found = list_clients(session, status=status, client_id=client_id, first=_day(first), last=_day(last), page=paging)
        rows = [{"client_id": c.client_id, "address": c.address, "legal_name": c.legal_name, "country": c.country,
                 "lei": c.lei or "", "review_date": c.review_date, "status": c.status,
                 "payout_account": c.payout_account or "", "payout_bic": c.payout_bic or ""} for c in found.rows]
    columns = ("client_id", "address", "legal_name", "country", "lei", "review_date", "status", "payout_account", "payout_bic")
    _show_list(env, "clients", columns, rows, found.total, paging, csv_path)


# ---------------------------------------------------------------------------- deposits and requests


@main.group()
def deposits() -> None:
    """Deposits received, each becoming a mint request."""


def _record(env: Env, inputs: Any, source: str, signer: Callable[[], Any], *, label: str | None = None,
            skip_known: bool = False, suspense: bool = False) -> None:
    from .deposits import intake

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
    from ..amounts import to_decimal
    from .deposits import DepositInput

    c = env.ops.client
    when = value_date.date() if value_date else datetime.now(UTC).date()
    inputs = [DepositInput(reference.strip(), client_id.strip(), to_decimal(c.units(amount), c.decimals),
                           c.currency, when, "command line")]
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
    from .deposits import from_camt054, from_csv

    if Path(path).suffix.lower() == ".xml":
        inputs, source = from_camt054(path)
    else:
        inputs, source = from_csv(path, env.ops.client.currency)
    if dry_run:
        _import_dry_run(env, inputs, source, signer, label=path, skip_known=skip_known)
        return
    _record(env, inputs, source, signer, label=path, skip_known=skip_known, suspense=True)


def _import_dry_run(env: Env, inputs: Any, source: str, signer: Callable[[], Any], *, label: str, skip_known: bool) -> None:
    from .bulk import mint_allowance_check
    from .deposits import intake

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
@_list_options("value date")
@pass_env
def deposits_list(env: Env, held: bool, suspense: bool, history: bool, status: str | None, client_id: str | None,
                  first: datetime | None, last: datetime | None, page: int | None, per_page: int | None, csv_path: str | None) -> None:
    """Lists deposits and their state (recorded, held until its value date, suspense, returned)."""
    from .deposits import list_deposits

    with env.ledger.session() as session:
        views = [v for v in list_deposits(session, env.ops, held=held, suspense=suspense, history=history or status == "superseded")
                 if (status is None or v.state.split(" ")[0] == status) and (client_id is None or v.client_id == client_id)
                 and (first is None or v.value_date >= first.date()) and (last is None or v.value_date <= last.date())]
    paging = _page(page, per_page)
    columns = ("reference", "client", "amount", "value_date", "state", "request", "request_status")
    rows = [dict(zip(columns, (v.bank_reference, v.client_id, v.amount, v.value_date, v.state, v.request_id or "",
                               v.request_status or ""), strict=True)) for v in paging.slice(views)]
    _show_list(env, "deposits", columns, rows, len(views), paging, csv_path, amounts=("amount",))


def _amend(env: Env, reference: str, signer: Callable[[], Any], reason: str, **changes: Any) -> None:
    from .deposits import amend_deposit

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
    from ..amounts import to_decimal

    c = env.ops.client
    _amend(env, reference, signer, reason, client_id=client_id,
           amount=to_decimal(c.units(amount), c.decimals) if amount is not None else None,
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
    from .deposits import propose_return

    maker = signer()
    with env.ledger.session() as session:
        request = propose_return(session, env.ops, reference, maker, reason)
        data = {"request": request.id, "kind": "return", "approvals_needed": request.required_approvals}
    env.emit(data, lambda: click.echo(f"return request #{data['request']} awaits {data['approvals_needed']} approval(s)"))


@main.group()
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
@_list_options("made")
@pass_env
def requests_list(env: Env, status: str | None, kind: str | None, client_id: str | None, first: datetime | None,
                  last: datetime | None, page: int | None, per_page: int | None, csv_path: str | None) -> None:
    """Lists requests (filters, paging, CSV export); a mint held until its value date says so."""
    from .listing import list_requests

    # A ledger-only read: "held" is judged by today's UTC date here (execution judges by chain time).
    today = datetime.now(UTC).date()
    paging = _page(page, per_page)
    with env.ledger.session() as session:
        found = list_requests(session, status=status, kind=kind, client_id=client_id, first=_day(first), last=_day(last), page=paging)
        rows = [_request_row(env, r, today) for r in found.rows]
    columns = ("id", "kind", "status", "params", "maker", "approvals", "reason")
    if env.as_json:
        _show_list(env, "requests", columns, rows, found.total, paging, None)
        if csv_path:
            _write_csv(csv_path, columns, [_shown_request(env, row, columns) for row in rows])
        return
    if csv_path:
        _write_csv(csv_path, columns, [_shown_request(env, row, columns) for row in rows])
    _table("requests", columns, [_shown_request(env, row, columns) for row in rows])
    if paging.size is not None or csv_path:
        click.echo(f"{len(rows)} of {found.total} request(s)" + (f" (page {paging.number})" if paging.size else "")
                   + (f"; written to {csv_path}" if csv_path else ""))


def _shown_request(env: Env, row: dict[str, Any], columns: Sequence[str]) -> list[Any]:
    reason = row["reason"] or (f"held until {row['held_until']}" if row["held_until"] else "")
    return [describe(env.token, "", row["params"]) if c == "params" else reason if c == "reason" else row[c] for c in columns]


def describe(token: Any, kind: str, params: dict[str, Any]) -> str:
    """A request as an operator reads it: amounts in currency units, references as text."""
    fields = " ".join(f"{k}={token.format(int(v)) if k in ('amount', 'max_amount') and v is not None else v}"
                      for k, v in params.items() if k != "nonce")
    return f"{kind} {fields}".strip()


def _show_before_signing(env: Env, account: Any, action: str, request_id: int) -> None:
    """Before a keystore prompts for its passphrase (it shows only a digest): what is being signed."""
    from ape_accounts import KeyfileAccount

    from .workflow import get_request

    if not isinstance(account, KeyfileAccount):
        return
    with env.ledger.session() as session:
        request = get_request(session, request_id)
        text = describe(env.token, request.kind, dict(request.params))
    click.echo(f"signing: {action} request #{request_id}: {text}", err=True)


def _decide(env: Env, request_id: int, signer: Callable[[], Any], approve: bool, reason: str | None = None) -> None:
    from .workflow import decide, get_request

    with env.ledger.session() as session:  # a team change is ledger-only: the chain, not the token, is needed
        ledger_only = get_request(session, request_id).kind == "operator"
    checker = signer(None, not ledger_only)
    _show_before_signing(env, checker, "approve" if approve else "reject", request_id)
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
    from .bulk import select_pending
    from .workflow import decide

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
    _propose(env, "cancel", {"request": request_id, "reason": reason}, signer)


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
    from .workflow import FAILURES, LEDGER_KINDS, Outcome, describe, execute_all, expire_approved, get_request, pending_requests, recover, signer_role

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
            with _progress("executing", len(todo)) as advance:
                outcomes += execute_all(session, env.ops, todo, sender, actor=f"executor {sender.address}",
                                        retry=bool(request_ids), progress=advance)
    env.emit(outcomes, lambda: [click.echo(describe(o)) for o in outcomes] or click.echo("nothing to execute"))
    if any(o.status in FAILURES for o in outcomes):
        sys.exit(1)


def _execute_dry_run(env: Env, request_ids: tuple[int, ...], kind: str | None, signer: Callable[[], Any]) -> None:
    from .bulk import plan_execution
    from .workflow import LEDGER_KINDS, get_request, pending_requests, signer_role

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
    from .workflow import recover

    with env.ledger.new_session() as session:
        outcomes = recover(session, env.ops, actor="recovery")
    env.emit(outcomes, lambda: [click.echo(f"request #{o.request_id}: {o.status} ({o.message})") for o in outcomes]
             or click.echo("nothing to recover"))


# ---------------------------------------------------------------------------- legal orders and admin


@main.group()
def legal() -> None:
    """Legal orders and admin actions, proposed for approval: freeze, lien, seize, recover, pause."""


def _propose(env: Env, kind: str, params: dict[str, Any], signer: Callable[[], Any]) -> None:
    from .workflow import propose

    maker = signer()
    with env.ledger.session() as session:
        request = propose(session, env.ops, kind, params, maker)
        data = {"request": request.id, "kind": kind, "approvals_needed": request.required_approvals}
    env.emit(data, lambda: click.echo(f"{kind} request #{data['request']} awaits {data['approvals_needed']} approval(s)"))


def _units(env: Env, amount: str, *, zero: bool = False) -> int:
    return env.ops.client.units(amount, allow_zero=zero)


@legal.command("freeze")
@click.argument("account")
@signer_options(None)
@pass_env
def legal_freeze(env: Env, account: str, signer: Callable[[], Any]) -> None:
    """Freezes an account as a whole (sanctions)."""
    _propose(env, "freeze", {"account": account}, signer)


@legal.command("unfreeze")
@click.argument("account")
@signer_options(None)
@pass_env
def legal_unfreeze(env: Env, account: str, signer: Callable[[], Any]) -> None:
    """Lifts a whole-account freeze."""
    _propose(env, "unfreeze", {"account": account}, signer)


@legal.command("lien")
@click.argument("account")
@click.argument("amount")
@signer_options(None)
@pass_env
def legal_lien(env: Env, account: str, amount: str, signer: Callable[[], Any]) -> None:
    """Sets the frozen amount (lien) of an account; 0 releases it."""
    _propose(env, "lien", {"account": account, "amount": _units(env, amount, zero=True)}, signer)


@legal.command("seize")
@click.argument("source")
@click.argument("destination")
@click.argument("amount")
@click.option("--order", "order", required=True, help="The legal order's reference.")
@signer_options(None)
@pass_env
def legal_seize(env: Env, source: str, destination: str, amount: str, order: str, signer: Callable[[], Any]) -> None:
    """Moves an amount from an account under a legal order."""
    _propose(env, "seize", {"from": source, "to": destination, "amount": _units(env, amount), "order_reference": order}, signer)


def _settlement_positions(env: Env, account: str) -> list[Any]:
    from ..settlement.cli_support import registry
    from ..settlement.positions import open_positions
    from ..validation import parse_address

    return open_positions(registry(env), parse_address(account, "account"))


@legal.command("positions")
@click.argument("account")
@pass_env
def legal_positions(env: Env, account: str) -> None:
    """Lists ACCOUNT's open positions in the settlement contracts (escrow orders, time-locks, PvP
    proposals): their funds sit in the contract, not in the account's balance, so a recovery or a
    seizure of the account does not reach them."""
    positions = _settlement_positions(env, account)
    env.emit([p.as_dict() for p in positions], lambda: click.echo("\n".join(
        f"{p.kind:<13} {p.position_id}  {p.role:<12} {p.amount:>20} (minor units of {p.token})  {p.state}  at {p.contract}"
        for p in positions) or "no open settlement positions"))


@legal.command("recover")
@click.argument("lost")
@click.argument("replacement")
@click.option("--order", "order", required=True, help="The reference of the recovery decision.")
@click.option("--despite-open-positions", is_flag=True,
              help="Propose even though LOST still takes part in open settlement positions.")
@signer_options(None)
@pass_env
def legal_recover(env: Env, lost: str, replacement: str, order: str, despite_open_positions: bool,
                  signer: Callable[[], Any]) -> None:
    """Moves a lost key's balance and restrictions to the client's new, allowlisted address. Refused
    while LOST takes part in open settlement positions (`legal positions LOST`), whose payouts to the
    lost address would fail after the recovery: move each to REPLACEMENT first (`replace-party`)."""
    positions = _settlement_positions(env, lost)
    if positions and not despite_open_positions:
        from ..settlement.positions import replace_command

        raise DepositTokenError(
            f"{lost} takes part in {len(positions)} open settlement position(s); move each to the replacement first: "
            + "; ".join(replace_command(p, replacement) for p in positions)
            + " (or pass --despite-open-positions)"
        )
    _propose(env, "recover", {"lost": lost, "replacement": replacement, "order_reference": order}, signer)


@legal.command("pause")
@signer_options(None)
@pass_env
def legal_pause(env: Env, signer: Callable[[], Any]) -> None:
    """Stops transfers, mints and redemptions."""
    _propose(env, "pause", {}, signer)


@legal.command("unpause")
@signer_options(None)
@pass_env
def legal_unpause(env: Env, signer: Callable[[], Any]) -> None:
    """Resumes transfers, mints and redemptions."""
    _propose(env, "unpause", {}, signer)


# ---------------------------------------------------------------------------- index, statements, supply


@main.command()
@click.option("--confirmations", type=click.IntRange(min=0), default=None, help="Default: the policy's.")
@pass_env
def sync(env: Env, confirmations: int | None) -> None:
    """Indexes the token's events since the last sync (confirmed blocks only; handles reorgs)."""
    from .indexer import sync as run

    with _progress("indexing", None) as advance, env.ledger.new_session() as session:
        result = run(session, env.ops, confirmations=confirmations, progress=lambda events, blocks: advance(blocks, f"{blocks} block(s), {events} event(s)"))
    env.emit(result, lambda: click.echo(
        f"indexed blocks {result.from_block}..{result.to_block} (head {result.head}): {result.events} event(s)"
        + (f"; reorg: blocks from {result.reorg_from} re-indexed" if result.reorg_from is not None else "")
        + (f"; {result.waiting}" if result.waiting else "")))


def _account(env: Env, who: str) -> str:
    from sqlalchemy import select

    from ..validation import parse_address
    from .models import Client

    if who.lower().startswith("0x"):
        return parse_address(who, "account")
    with env.ledger.session() as session:
        client = session.scalars(select(Client).where(Client.client_id == who)).first()
        if client is None:
            raise DepositTokenError(f"unknown client {who!r}")
        return client.address


@main.command()
@click.argument("who", metavar="ADDRESS|CLIENT_ID")
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), required=True)
@pass_env
def statement(env: Env, who: str, first: datetime, last: datetime) -> None:
    """An account's statement for a period (UTC days, inclusive), from the index."""
    from .indexer import statement as build

    with env.ledger.session() as session:
        result = build(session, env.ops, _account(env, who), first.date(), last.date())
    fmt = env.ops.client.format

    def human() -> None:
        click.echo(f"{result.account} {result.first}..{result.last} (indexed to block {result.synced_to})")
        click.echo(f"opening balance {fmt(result.opening)}")
        _table("movements", ("block", "time (UTC)", "kind", "counterparty", "amount", "balance"),
               [(x.block_number, datetime.fromtimestamp(x.timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S"), x.kind,
                 x.counterparty, fmt(x.amount), fmt(x.balance)) for x in result.lines])
        click.echo(f"closing balance {fmt(result.closing)}")

    env.emit(result, human)


@main.command()
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), default=None)
@pass_env
def supply(env: Env, first: datetime | None, last: datetime | None) -> None:
    """Daily supply history (issued, retired, closing supply), from the index."""
    from .indexer import supply_history

    with env.ledger.session() as session:
        days = supply_history(session, first.date() if first else None, last.date() if last else None)

    def fmt(units: int) -> str:  # only when there is something to show (an unbound ledger has nothing)
        return str(env.token.format(units))
    env.emit(days, lambda: _table("supply", ("day", "issued", "retired", "supply"),
                                  [(d.day, fmt(d.issued), fmt(d.retired), fmt(d.supply)) for d in days]))


@main.command("status")
@click.option("--expiring", "expiring_shown", type=click.IntRange(min=0), default=20, show_default=True,
              help="How many allowlist entries expiring within 30 days to list (all are counted).")
@pass_env
def status_command(env: Env, expiring_shown: int) -> None:
    """Status at a glance: approvals waiting (by age and by who may approve), approved requests
    waiting, transactions in flight, the index against the node's head, supply, minter allowances,
    allowlist entries expiring within 30 days, pause state. Without a node, the ledger's part."""
    from .cli_env import _connect
    from .status import status

    client, node_error = None, None
    try:
        _connect(env.network)
    except DepositTokenError as exc:
        node_error = str(exc)
    else:
        client = env.ops.client
    with env.ledger.session() as session:
        result = status(session, client, today=env.ops.today() if client is not None else None,
                        expiring_shown=expiring_shown, node_error=node_error)
    env.emit(result, lambda: _show_status(env, result))


def _age(since: Any, now: datetime) -> str:
    seconds = int((now - since).total_seconds())
    return f"{seconds // 86400} d" if seconds >= 86400 else f"{seconds // 3600} h" if seconds >= 3600 else f"{seconds // 60} min"


def _show_status(env: Env, s: Any) -> None:
    from .status import EXPIRY_DAYS

    fmt = env.token.format if s.token is not None else str

    def queue(q: Any) -> str:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(q.by_kind.items()))
        oldest = f"; oldest #{q.oldest_id} ({_age(q.oldest_at, s.at)})" if q.oldest_id is not None else ""
        return f"{q.count} request(s), {fmt(q.total)}" + (f" ({kinds})" if kinds else "") + oldest

    unknown = "?" if s.node_error else "-"
    click.echo(f"status at {s.at.isoformat(timespec='seconds')}" + (f" (token {s.token} on chain {s.chain_id})" if s.token else ""))
    if s.node_error:
        click.echo(f"node        UNREACHABLE: {s.node_error} (the ledger's part only)")
    click.echo(f"pending     {queue(s.pending)}")
    if s.pending.count:
        click.echo("  by age    " + " | ".join(f"{label} {n}" for label, n in s.pending.by_age.items()))
        click.echo("  may approve " + ", ".join(f"{name} {n}" for name, n in sorted(s.pending.by_checker.items())))
    click.echo(f"approved    {queue(s.approved)}" + (f"; {s.approved.held} held for their value date" if s.approved.held else ""))
    click.echo(f"in flight   {s.executing} request(s) executing, {s.unsettled} transaction(s) sent and not settled"
               + (f" (oldest {_age(s.oldest_unsettled, s.at)})" if s.oldest_unsettled else ""))
    head = s.head if s.head is not None else unknown
    lag = f" ({s.index_lag} behind)" if s.index_lag is not None else ""
    click.echo(f"index       block {s.indexed_block if s.indexed_block is not None else 'none yet'} of head {head}{lag}")
    supply = fmt(s.total_supply) if s.total_supply is not None else unknown
    diff = f", difference {fmt(s.supply_difference)}" if s.supply_difference else ""
    click.echo(f"supply      on-chain {supply}; indexed {fmt(s.indexed_supply)}{diff}; minted by executed requests {fmt(s.ledger_minted)}")
    if s.minter_allowances is None:
        click.echo(f"minters     {unknown}")
    for minter, left in (s.minter_allowances or {}).items():
        limit = (s.minter_rate_limits or {}).get(minter)
        rate = f"; {describe_rate_limit(limit, fmt)}" if limit and limit.limited else ""
        click.echo(f"minter      {minter} may still mint {fmt(left)}{rate}")
    click.echo(f"paused      {unknown if s.paused is None else 'YES' if s.paused else 'no'}")
    click.echo("clients     " + (", ".join(f"{n} {k}" for k, n in sorted(s.clients.items())) or "none"))
    click.echo(f"allowlist   {s.expiring_count} active client(s) whose entry ends within {EXPIRY_DAYS} days"
               + (": " + ", ".join(f"{e.client_id} ({e.review_date})" for e in s.expiring) if s.expiring else "")
               + (" ..." if s.expiring_count > len(s.expiring) else ""))
    click.echo(f"deposits    {s.held_deposits} held until their value date, {s.suspense_deposits} in suspense")


@main.group()
def report() -> None:
    """Reports for the back office."""


@report.command("daily")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), required=True, help="The day (UTC).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), default=None, help="Also write the report to this CSV file.")
@pass_env
def report_daily(env: Env, day: datetime, csv_path: str | None) -> None:
    """The day's issuance and payouts: mints, redemptions, payouts exported and paid, burns, supply
    at the day's open and close (from the index: run `deptoken sync` first; ledger-only)."""
    from .listing import daily_report

    with env.ledger.session() as session:
        result = daily_report(session, day.date())
    rows = result.rows()
    if csv_path:
        _write_csv(csv_path, ("day", "item", "count", "amount", "amount_minor_units"),
                   [(result.day, item, count, env.token.to_decimal(total), total) for item, count, total in rows])

    def human() -> None:
        _table(f"issuance and payouts {result.day} (UTC; index to block {result.indexed_to})", ("item", "count", "amount"),
               [(item, count if not item.startswith("supply") else "", env.token.format(total)) for item, count, total in rows])
        if csv_path:
            click.echo(f"written to {csv_path}")

    env.emit(result, human)


# ---------------------------------------------------------------------------- redemptions and payouts


@main.group()
def payouts() -> None:
    """Redemptions and their payout instructions (pacs.008 or CSV)."""


@payouts.command("list")
@click.option("--status", type=click.Choice(["recorded", "instructed", "paid", "orphaned"]))
@pass_env
def payouts_list(env: Env, status: str | None) -> None:
    """Lists recorded redemptions and their payout state."""
    from .redemptions import redemptions

    def fmt(units: int) -> str:  # only when there is something to show (an unbound ledger has nothing)
        return str(env.token.format(units))
    with env.ledger.session() as session:
        rows = [{"tx": f"{r.tx_hash}:{r.log_index}", "block": r.block_number, "holder": r.holder,
                 "client": r.client.client_id if r.client else "", "amount": r.amount, "status": r.status,
                 "file": r.payout_file_id or "", "paid_reference": r.paid_reference or ""} for r in redemptions(session, status)]
    columns = ("tx", "block", "holder", "client", "amount", "status", "file", "paid_reference")
    env.emit(rows, lambda: _table("redemptions", columns, [[fmt(row[c]) if c == "amount" else row[c] for c in columns] for row in rows]))


@payouts.command("export")
@click.option("--format", "fmt", type=click.Choice(["pacs.008", "csv"]), default="pacs.008", show_default=True)
@click.option("--out", "directory", type=click.Path(file_okay=False), default="var/payouts", show_default=True)
@signer_options(None)
@pass_env
def payouts_export(env: Env, fmt: str, directory: str, signer: Callable[[], Any]) -> None:
    """Writes one payout file for every redemption not yet instructed."""
    from .indexer import unconfirmed
    from .redemptions import export_payouts

    actor = _operator_name(env, signer(), "request", "payouts")
    with env.ledger.new_session() as session:
        result = export_payouts(session, env.ops, directory, fmt, actor=actor)
        if result.file is None:  # nothing recorded: say if the index has not reached the newest blocks
            waiting = unconfirmed(session, env.ops)
            data: dict[str, Any] = {"file": None, "count": 0, "skipped": result.skipped,
                                    **({"waiting": waiting} if waiting else {})}
        else:
            data = {"file": result.file.id, "message_id": result.file.message_id, "path": result.file.path,
                    "count": result.file.count, "total": result.file.total, "sha256": result.file.sha256,
                    "skipped": result.skipped}
    skipped = f"; {len(data['skipped'])} skipped: {data['skipped'][0]}" if data["skipped"] else ""
    env.emit(data, lambda: click.echo(
        f"payout file #{data['file']} {data['path']}: {data['count']} payout(s), total {env.ops.client.format(data['total'])}{skipped}"
        if data["file"] is not None else f"nothing to export{skipped}" + (f" ({data['waiting']})" if data.get("waiting") else "")))


@payouts.command("render")
@click.argument("file_id", type=int)
@click.option("--out", "directory", type=click.Path(file_okay=False), default=None,
              help="Write it into this directory (default: where it was exported).")
@pass_env
def payouts_render(env: Env, file_id: int, directory: str | None) -> None:
    """Writes payout file FILE_ID again, byte for byte (e.g. after a lost file)."""
    from .redemptions import render_payout_file

    with env.ledger.session() as session:
        path = render_payout_file(session, env.ops, file_id, directory=directory)
    env.emit({"path": str(path)}, lambda: click.echo(f"wrote {path}"))


@payouts.command("paid")
@click.argument("file_id", type=int, required=False)
@click.option("--reference", default=None, help="The payment system's reference for the executed payouts (with FILE_ID).")
@click.option("--confirmation", type=click.Path(dir_okay=False), default=None,
              help="The payment system's camt.054 debit notification: marks paid the payouts it confirms (of FILE_ID, if given).")
@signer_options(None)
@pass_env
def payouts_paid(env: Env, file_id: int | None, reference: str | None, confirmation: str | None, signer: Callable[[], Any]) -> None:
    """Marks payouts paid: every payout of FILE_ID under --reference (once; by another operator than its
    exporter, by policy), or those a --confirmation from the payment system confirms (any operator)."""
    from .redemptions import confirm_paid, mark_paid

    if (confirmation is None) == (reference is None) or (reference is not None and file_id is None):
        raise click.UsageError("give FILE_ID --reference REF, or --confirmation FILE (optionally with FILE_ID)")
    if confirmation is not None:
        actor = _operator_name(env, signer(), "request", "payouts")
        token = env.token
        with env.ledger.session() as session:
            result = confirm_paid(session, confirmation, token, actor=actor, file_id=file_id)
        env.emit(result, lambda: click.echo(
            f"{confirmation} ({result.message_id}): {result.paid} payout(s) marked paid"
            + (f" in payout file(s) {', '.join(f'#{f}' for f in result.files)}" if result.files else "")
            + (f"; {result.already} confirmed before" if result.already else "")))
        return
    actor = _operator_name(env, signer(), "approve", "payouts")
    with env.ledger.session() as session:
        count = mark_paid(session, file_id=file_id, reference=reference, actor=actor,
                          four_eyes=env.policy.paid_by_another_operator)
    env.emit({"file": file_id, "paid": count}, lambda: click.echo(f"payout file #{file_id}: {count} payout(s) marked paid"))


# ---------------------------------------------------------------------------- reconciliation and audit


@main.command()
@click.option("--sync/--no-sync", "do_sync", default=True, show_default=True, help="Index new confirmed blocks first.")
@click.option("--camt053", "camt053", type=click.Path(dir_okay=False), default=None, help="Also write the day's camt.053 statement here (only when the reconciliation passes).")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Statement day (default: the chain's today, UTC).")
@click.option("--all", "every_row", is_flag=True, help="Show every client's row, not only those that differ.")
@pass_env
def reconcile(env: Env, do_sync: bool, camt053: str | None, day: datetime | None, every_row: bool) -> None:
    """Reconciles chain and ledger; exit status 3 on any mismatch."""
    from .indexer import sync as run_sync
    from .reconcile import issue_camt053, reconcile as run

    actor = os.environ.get("USER", "cli")
    with env.ledger.new_session() as session:
        if do_sync:
            run_sync(session, env.ops)
        report = run(session, env.ops, actor=actor)
        session.commit()
        if camt053 and report.ok:  # a statement of an unreconciled ledger is never written
            issue_camt053(session, env.ops, day.date() if day else _chain_today(env), report, camt053, actor=actor)
    fmt = env.ops.client.format

    def human() -> None:
        click.echo(f"reconciliation at block {report.block_number}: {'OK' if report.ok else 'MISMATCH'}")
        click.echo(f"  total supply {fmt(report.total_supply)}; ledger: minted {fmt(report.ledger_minted)}, redemptions paid "
                   f"{fmt(report.redemptions_paid)}, awaiting payout {fmt(report.redemptions_unpaid)}, burned {fmt(report.burned)}")
        differing = [p for p in report.clients if p.explained != p.chain_balance]
        mismatches = sum(f.severity == "mismatch" for f in report.findings)
        click.echo(f"  {len(report.clients)} client(s), {len(differing)} differing; {mismatches} mismatch(es), "
                   f"{len(report.findings) - mismatches} note(s)" + ("" if every_row else " (--all: every client's row)"))
        shown = report.clients if every_row else differing
        if shown:
            _table("clients" if every_row else "clients that differ", ("client", "minted", "redeemed", "transfers", "explained", "chain balance"),
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


@main.group()
def audit() -> None:
    """The append-only audit log."""


@audit.command("list")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Entries per page (same as --per-page).")
@click.option("--action", default=None, help="Only this action (request.approve), or a prefix ending in '.' (request.).")
@click.option("--actor", default=None, help="Only entries by this actor (operator name).")
@click.option("--subject", default=None, help="Only entries about this subject (e.g. 'request 12').")
@_list_options("recorded")
@pass_env
def audit_list(env: Env, limit: int, action: str | None, actor: str | None, subject: str | None, first: datetime | None,
               last: datetime | None, page: int | None, per_page: int | None, csv_path: str | None) -> None:
    """The latest audit entries (filters, paging: page 1 is the newest; CSV export)."""
    from .listing import Page, list_audit

    paging = Page(page or 1, per_page or limit)
    with env.ledger.session() as session:
        found = list_audit(session, action=action, actor=actor, subject=subject, first=_day(first), last=_day(last), page=paging)
        rows = [{"id": e.id, "at": e.at.isoformat(), "actor": e.actor, "action": e.action, "subject": e.subject,
                 "tx": e.tx_hash or "", "block": e.block_number or "", "details": e.details} for e in found.rows]
    columns = ("id", "at", "actor", "action", "subject", "tx", "block")
    if csv_path:
        import json

        _write_csv(csv_path, (*columns, "details"), [[row[c] for c in columns] + [json.dumps(row["details"], sort_keys=True)]
                                                     for row in reversed(rows)])
    env.emit(rows, lambda: (_table("audit log", columns, [[row[c] for c in columns] for row in reversed(rows)]),
                            click.echo(f"{len(rows)} of {found.total} entries (page {paging.number}, newest first)"
                                       + (f"; written to {csv_path}" if csv_path else ""))))


@audit.command("verify")
@pass_env
def audit_verify(env: Env) -> None:
    """Checks the audit log's hash chain; exit status 1 if an entry was edited, removed or inserted."""
    from .audit import verify

    with env.ledger.session() as session:
        problems = verify(session)
    env.emit({"ok": not problems, "problems": problems},
             lambda: click.echo("audit log intact" if not problems else "\n".join(problems)))
    if problems:
        sys.exit(1)


# Cross-border settlement commands (deptoken.settlement): gasless authorizations, FX PvP, trade escrow, HTLC.
def _add_settlement_commands() -> None:
    from importlib import import_module

    for module, group in (("auth_cli", "auth"), ("pvp_cli", "pvp"), ("escrow_cli", "escrow"), ("htlc_cli", "htlc")):
        main.add_command(getattr(import_module(f"deptoken.settlement.{module}"), group))


_add_settlement_commands()
