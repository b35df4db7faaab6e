"""The console's pages. Each route checks the user's permission (``app.page``) and calls the same
library functions as the ``deptoken`` CLI; a POST answers with a redirect and a one-line message."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ..errors import DepositTokenError
from ..ops import audit
from . import auth
from .app import COOKIE, Console, User, page, same_origin, set_session_cookie
from .permissions import LEGAL_KINDS, PAUSE_KINDS, ROLES, matrix, proposal_permission

LOGIN_COOKIE = "deptoken_console_login"  # the login form's CSRF token (double submit: cookie and field)
PER_PAGE = 50


def _console(request: Request) -> Console:
    return request.app.state.console


def _text(form: FormData | None, name: str, what: str | None = None, *, required: bool = True) -> str:
    value = form.get(name) if form is not None else None
    value = value.strip() if isinstance(value, str) else ""
    if required and not value:
        raise DepositTokenError(f"{what or name.replace('_', ' ')} is required")
    return value


def _page_number(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 1_000_000 else 1


def _done(console: Console, user: User, to: str, action: Callable[[], str], *, back: str | None = None) -> Response:
    """Runs ``action``; its text is shown on ``to``, or the library's one-line error on ``back`` (default ``to``)."""
    try:
        console.flash(user, "ok", action())
    except DepositTokenError as exc:
        console.flash(user, "error", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        to = back or to
    return RedirectResponse(to, status_code=303)


def _ops(console: Console) -> Any:
    """The connected token (connected on first use, by one page at a time)."""
    with console.connecting:
        return console.env.ops


def _signer(console: Console, user: User, form: FormData | None) -> Any:
    """The user's own key (their ledger operator's), unlocked with the passphrase of the form."""
    if user.address is None:
        raise DepositTokenError(f"console user {user.username} is not a ledger operator: they cannot sign")
    ops = _ops(console)
    return console.keys.unlock(ops.chain_id, address=user.address, passphrase=_text(form, "passphrase", required=False))


# ---------------------------------------------------------------------------- login


def _login_form(request: Request, console: Console, *, status: int = 200, error: str | None = None, username: str = "") -> Response:
    """The login page with a fresh CSRF token, in the form and in a cookie for /login only (double submit)."""
    nonce = secrets.token_urlsafe(24)
    response = console.render(request, "login.html", None, status_code=status, nonce=nonce, error=error, username=username[:64])
    response.set_cookie(LOGIN_COOKIE, nonce, httponly=True, secure=console.secure_cookie, samesite="strict", path="/login")
    return response


async def login_page(request: Request) -> Response:
    console = _console(request)
    if request.method == "GET":
        return _login_form(request, console)
    form = await request.form()
    source = request.client.host if request.client else "?"
    now = time.monotonic()
    username = str(form.get("username", ""))
    sent = form.get("csrf")
    if not sent or sent != request.cookies.get(LOGIN_COOKIE) or not same_origin(request):
        return _login_form(request, console, status=403, error="refused: this form has no valid security token (CSRF); try again",
                           username=username)
    try:
        done = await run_in_threadpool(_log_in, console, username, str(form.get("password", "")), source, now)
    except auth.LoginRefused as exc:
        status = 429 if isinstance(exc, Throttled) else 401
        return _login_form(request, console, status=status, error=str(exc), username=username)
    response = RedirectResponse("/", status_code=303)
    set_session_cookie(console, response, done.token)
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


class Throttled(auth.LoginRefused):
    """Too many failed logins from one client address: refused before any password is checked."""


def _log_in(console: Console, username: str, password: str, source: str, now: float) -> auth.Login:
    """One login at a time (a worker thread: argon2 takes a while), the source's failures counted in order."""
    with console.logins:
        if console.throttled(source, now):
            raise Throttled(f"too many failed logins from {source}: wait a few minutes")
        try:
            return auth.login(console.env.ledger, username, password, source=source)
        except auth.LoginRefused:
            console.failed_logins.setdefault(source, deque()).append(now)
            raise


@page("view")
def logout(request: Request, user: User, form: FormData | None) -> Response:
    console = _console(request)
    with console.env.ledger.session() as session:
        auth.logout(session, request.cookies.get(COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


# ---------------------------------------------------------------------------- dashboard


@page("view")
def dashboard(request: Request, user: User, form: FormData | None) -> Response:
    from ..ops.models import Operator, Request as Req
    from ..ops.status import eligible_checkers, status, supply_history

    console = _console(request)
    client, node_error = None, None
    try:
        client = _ops(console).client
    except DepositTokenError as exc:
        node_error = str(exc)
    with console.env.ledger.session() as session:
        try:
            s = status(session, client, today=console.env.ops.today() if client is not None else None, node_error=node_error)
        except DepositTokenError as exc:  # the node went away since it was connected
            s = status(session, None, node_error=str(exc))
        history = supply_history(session)
        mine = []
        if user.may("execute"):  # treasury: what waits to be sent
            for r in session.scalars(select(Req).where(Req.status == "approved").order_by(Req.id).limit(20)):
                mine.append({"id": r.id, "kind": r.kind, "amount": r.amount, "maker": r.maker.name, "at": r.approved_at})
        elif user.operator and user.may("decide"):
            team = list(session.scalars(select(Operator)))
            for r in session.scalars(select(Req).where(Req.status == "pending").order_by(Req.id)):
                if user.operator in eligible_checkers(team, r):
                    mine.append({"id": r.id, "kind": r.kind, "amount": r.amount, "maker": r.maker.name, "at": r.created_at})
    chart = {"labels": [datetime.fromtimestamp(p.timestamp, UTC).strftime("%d %b %H:%M") for p in history],
             "supply": [str(console.env.token.to_decimal(p.supply)) for p in history]}
    return console.render(request, "dashboard.html", user, s=s, mine=mine[:20], mine_count=len(mine), chart=chart)


# ---------------------------------------------------------------------------- clients


@page("view")
def clients(request: Request, user: User, form: FormData | None) -> Response:
    from ..ops.listing import Page, search_clients

    console = _console(request)
    q = request.query_params.get("q", "")[:140]
    with console.env.ledger.session() as session:
        found = search_clients(session, q, page=Page(_page_number(request), PER_PAGE))
        rows = [{"client_id": c.client_id, "legal_name": c.legal_name, "address": c.address, "status": str(c.status),
                 "review_date": c.review_date, "country": c.country} for c in found.rows]
    template = "clients_rows.html" if request.headers.get("hx-request") else "clients.html"
    return console.render(request, template, user, q=q, rows=rows, total=found.total, page=found.page)


@page("view")
def client_detail(request: Request, user: User, form: FormData | None) -> Response:
    from ..ops.listing import client_history
    from ..ops.models import Client, Redemption, Request as Req

    console = _console(request)
    client_id = request.path_params["client_id"]
    with console.env.ledger.session() as session:
        c = session.scalars(select(Client).where(Client.client_id == client_id)).first()
        if c is None:
            return console.render(request, "refused.html", user, status_code=404, message=f"no client {client_id!r}")
        info = {"client_id": c.client_id, "legal_name": c.legal_name, "address": c.address, "status": str(c.status),
                "country": c.country, "lei": c.lei, "review_date": c.review_date, "payout_account": c.payout_account,
                "payout_bic": c.payout_bic, "onboarded": c.created_at}
        moves = client_history(session, c.address)
        mints = [{"id": r.id, "status": str(r.status), "amount": r.amount, "reference": r.params.get("deposit_reference"),
                  "at": r.created_at} for r in session.scalars(
            select(Req).where(Req.kind == "mint", Req.params["to"].as_string() == c.address).order_by(Req.id.desc()).limit(50))]
        redemptions = [{"amount": r.amount, "status": str(r.status), "payout_ref": r.payout_ref, "paid": r.paid_reference}
                       for r in session.scalars(select(Redemption).where(Redemption.holder == c.address).order_by(Redemption.id.desc()))]
    chain, chain_error = None, None
    try:
        token = _ops(console).client
        a = token.account(c.address)
        chain = {"balance": token.format_decimal(a.balance), "frozen_amount": token.format_decimal(a.frozen_amount),
                 "unfrozen_balance": token.format_decimal(a.unfrozen_balance), "allowlisted": a.allowlisted,
                 "allowlist_expiry": a.allowlist_expiry, "frozen": a.frozen, "can_send": a.can_send, "can_receive": a.can_receive}
    except DepositTokenError as exc:
        chain_error = str(exc)
    return console.render(request, "client.html", user, c=info, chain=chain, chain_error=chain_error, moves=moves,
                          mints=mints, redemptions=redemptions)


# ---------------------------------------------------------------------------- requests


def _request_view(console: Console, r: Any) -> dict[str, Any]:
    from ..ops.params import describe_params as describe

    params = {k: v for k, v in r.params.items() if k != "nonce"}
    token = console.env.token
    fields = [(k.replace("_", " ").capitalize(), token.format(int(v)) if k in ("amount", "max_amount") and v is not None else v)
              for k, v in params.items()]
    approvals = [{"operator": a.operator.name, "decision": str(a.decision), "at": a.created_at} for a in r.approvals]
    return {"id": r.id, "kind": str(r.kind), "status": str(r.status), "amount": r.amount, "maker": r.maker.name,
            "text": describe(token, str(r.kind), params), "params": params, "fields": fields, "approvals": approvals,
            "approved": sum(a["decision"] == "approve" for a in approvals), "required": r.required_approvals,
            "reason": r.reason, "at": r.created_at, "tx_id": r.tx_id}


def _clients_named(session: Any, params: dict[str, Any]) -> dict[str, str]:
    """For each address in a request's parameters that is a client's: "Name (client id)", so the
    checker sees whom the request is about, not only an address."""
    from ..ops.models import Client

    addresses = {v for v in params.values() if isinstance(v, str) and v.startswith("0x") and len(v) == 42}
    if not addresses:
        return {}
    found = session.scalars(select(Client).where(Client.address.in_(addresses)))
    return {c.address: f"{c.legal_name} ({c.client_id})" for c in found}


@page("view")
def requests_list(request: Request, user: User, form: FormData | None) -> Response:
    from ..ops.listing import Page, list_requests

    console = _console(request)
    status = request.query_params.get("status") or None
    kind = request.query_params.get("kind") or None
    with console.env.ledger.session() as session:
        try:
            found = list_requests(session, status=status, kind=kind, page=Page(_page_number(request), PER_PAGE))
        except DepositTokenError:
            found = list_requests(session, page=Page(1, PER_PAGE))
        rows = [_request_view(console, r) for r in found.rows]
    return console.render(request, "requests.html", user, rows=rows, total=found.total, page=found.page, status=status, kind=kind)


@page("view")
def request_detail(request: Request, user: User, form: FormData | None) -> Response:
    from ..ops.models import Operator, Transaction
    from ..ops.status import eligible_checkers
    from ..ops.workflow import LEDGER_KINDS, get_request

    console = _console(request)
    try:
        request_id = int(request.path_params["request_id"])
        with console.env.ledger.session() as session:
            r = get_request(session, request_id)
            view = _request_view(console, r)
            view["clients"] = _clients_named(session, view["params"])
            tx = session.get(Transaction, r.tx_id) if r.tx_id else None
            view["tx"] = {"hash": tx.tx_hash, "status": str(tx.status), "block": tx.block_number, "sender": tx.sender} if tx else None
            checkers = eligible_checkers(list(session.scalars(select(Operator))), r) if r.status == "pending" else []
    except (DepositTokenError, ValueError) as exc:
        return console.render(request, "refused.html", user, status_code=404, message=str(exc))
    can_decide = user.may("decide") and view["status"] == "pending" and user.operator in checkers
    can_execute = user.may("execute") and view["status"] in ("approved", "failed") and view["kind"] not in LEDGER_KINDS
    return console.render(request, "request.html", user, r=view, checkers=checkers, can_decide=can_decide,
                          can_execute=can_execute, keystores=console.keys.keystores(), devnet_keys=console.keys.devnet_keys)


def _decide(request: Request, user: User, form: FormData | None, approve: bool) -> Response:
    from ..ops.workflow import decide

    console = _console(request)
    request_id = int(request.path_params["request_id"])

    def run() -> str:
        checker = _signer(console, user, form)
        with console.env.ledger.session() as session:
            done = decide(session, request_id, checker, approve=approve,
                          reason=_text(form, "reason", required=False) or None)
            return f"request #{request_id} {'approved' if approve else 'rejected'}: now {done.status}"

    return _done(console, user, f"/requests/{request_id}", run)


@page("decide")
def request_approve(request: Request, user: User, form: FormData | None) -> Response:
    return _decide(request, user, form, True)


@page("decide")
def request_reject(request: Request, user: User, form: FormData | None) -> Response:
    return _decide(request, user, form, False)


@page("execute")
def request_execute(request: Request, user: User, form: FormData | None) -> Response:
    from ..ops.workflow import FAILURES, LEDGER_KINDS, describe, execute_all, expire_approved, get_request, recover, signer_role

    console = _console(request)
    request_id = int(request.path_params["request_id"])

    def run() -> str:
        ops = _ops(console)
        with console.env.ledger.session() as session:
            kind = str(get_request(session, request_id).kind)
        if kind in LEDGER_KINDS:
            raise DepositTokenError(f"request #{request_id} is a {kind}: it takes effect when approved")
        sender = console.keys.unlock(ops.chain_id, keystore=_text(form, "keystore", required=False) or None,
                                     passphrase=_text(form, "passphrase", required=False), role=signer_role(kind),
                                     token=ops.client.contract)
        with console.env.ledger.new_session() as session:  # as `deptoken requests execute REQUEST_ID`
            outcomes = recover(session, ops, actor="recovery") + expire_approved(session, ops, actor="expiry")
            outcomes += execute_all(session, ops, [get_request(session, request_id)], sender, actor=f"executor {sender.address}",
                                    retry=True)
        mine = [o for o in outcomes if o.request_id == request_id] or outcomes
        text = "; ".join(describe(o) for o in mine)
        if any(o.status in FAILURES for o in mine):
            raise DepositTokenError(text)
        return text

    return _done(console, user, f"/requests/{request_id}", run)


@page("view")
def request_new(request: Request, user: User, form: FormData | None) -> Response:
    console = _console(request)
    kinds = [k for k in (*LEGAL_KINDS, *PAUSE_KINDS) if user.may(proposal_permission(k))]
    return console.render(request, "request_new.html", user, kinds=kinds, devnet_keys=console.keys.devnet_keys)


def _legal_params(console: Console, kind: str, form: FormData | None) -> dict[str, Any]:
    token = console.env.token
    if kind in ("freeze", "unfreeze"):
        return {"account": _text(form, "account")}
    if kind == "lien":
        return {"account": _text(form, "account"), "amount": token.units(_text(form, "amount"), allow_zero=True)}
    if kind == "seize":
        return {"from": _text(form, "account", "the account seized from"), "to": _text(form, "destination"),
                "amount": token.units(_text(form, "amount")), "order_reference": _text(form, "order", "the legal order's reference")}
    if kind == "recover":
        return {"lost": _text(form, "account", "the lost account"), "replacement": _text(form, "destination", "the replacement"),
                "order_reference": _text(form, "order", "the legal order's reference")}
    return {}


@page("view")
def request_propose(request: Request, user: User, form: FormData | None) -> Response:
    from ..ops.workflow import propose

    console = _console(request)
    kind = _text(form, "kind", required=False)

    def run() -> str:
        if kind not in (*LEGAL_KINDS, *PAUSE_KINDS):
            raise DepositTokenError(f"unknown request kind {kind!r}")
        needed = proposal_permission(kind)
        if not user.may(needed):
            with console.env.ledger.session() as session:
                audit.record(session, user.username, "console.refused", request.url.path, {"method": "POST", "kind": kind})
            raise DepositTokenError(f"refused: a {user.role} may not propose a {kind}")
        params = _legal_params(console, kind, form)
        maker = _signer(console, user, form)
        with console.env.ledger.session() as session:
            r = propose(session, _ops(console), kind, params, maker)
            return f"{kind} request #{r.id} awaits {r.required_approvals} approval(s)"

    return _done(console, user, "/requests?status=pending", run, back="/requests/new")


# ---------------------------------------------------------------------------- deposits


UPLOAD_SECONDS = auth.MAX_HOURS * 3600  # a checked file waits at most a session's life to be recorded


def _prune_uploads(folder: Path, now: float) -> None:
    """Removes the checked files nobody recorded within ``UPLOAD_SECONDS`` (bank statements: kept no longer than needed)."""
    for old in folder.glob("*"):
        try:
            if now - old.stat().st_mtime > UPLOAD_SECONDS:
                old.unlink()
        except FileNotFoundError:  # removed by another page meanwhile
            continue


def _upload_path(console: Console, upload_id: str) -> Path:
    if not upload_id or not all(ch in "0123456789abcdef" for ch in upload_id) or len(upload_id) != 64:
        raise DepositTokenError("unknown upload: upload the file again")
    found = list((console.work_dir / "uploads").glob(f"{upload_id}.*"))
    if not found:
        raise DepositTokenError("unknown upload: upload the file again")
    return found[0]


def _inputs(console: Console, path: Path, label: str) -> tuple[list[Any], str]:
    from ..ops.deposits import from_camt054, from_csv

    if path.suffix == ".xml":
        return from_camt054(path, label=label)
    return from_csv(path, console.env.token.currency, label=label)


@page("view")
def deposits(request: Request, user: User, form: FormData | None) -> Response:
    from ..ops.deposits import list_deposits

    console = _console(request)
    rows, error = [], None
    try:
        with console.env.ledger.session() as session:
            rows = list_deposits(session, _ops(console))[-200:][::-1]
    except DepositTokenError as exc:
        error = str(exc)
    return console.render(request, "deposits.html", user, rows=rows, error=error, devnet_keys=console.keys.devnet_keys)


class _Address:
    """A maker known by address only: what a dry run checks (nothing is signed)."""

    def __init__(self, address: str) -> None:
        self.address = address


@page("propose_mint")
def deposits_preview(request: Request, user: User, form: FormData | None) -> Response:
    from ..ops.bulk import mint_allowance_check
    from ..ops.deposit_file import read_deposit_file
    from ..ops.deposits import DepositProblems, intake

    console = _console(request)
    upload = form.get("file") if form is not None else None
    if not isinstance(upload, UploadFile) or not upload.filename:
        console.flash(user, "error", "choose a camt.054 (.xml) or CSV file")
        return RedirectResponse("/deposits", status_code=303)
    data = upload.file.read()
    suffix = ".xml" if upload.filename.lower().endswith(".xml") else ".csv"
    upload_id = hashlib.sha256(data).hexdigest()
    folder = console.work_dir / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    _prune_uploads(folder, time.time())
    path = folder / f"{upload_id}{suffix}"
    path.write_bytes(data)
    problems: list[str] = []
    planned, check, duplicates, suspended = [], None, [], []
    try:
        if suffix == ".csv":  # every bad row, with its line
            _, rows_bad = read_deposit_file(path, currency=console.env.token.currency)
            problems += [str(p) for p in rows_bad]
        if not problems:
            inputs, source = _inputs(console, path, upload.filename)
            with console.env.ledger.session() as session:
                result = intake(session, _ops(console), inputs, _Address(user.address or ""), source=source, label=upload.filename,
                                suspense=True, dry_run=True)
                planned, duplicates, suspended = result.planned, result.duplicates, result.suspended
                check = mint_allowance_check(session, _ops(console), sum(p.amount for p in planned if p.to is not None))
    except DepositProblems as exc:
        problems += exc.problems
    except DepositTokenError as exc:
        problems.append(str(exc))
    if problems:  # nothing of it can be recorded: not kept
        path.unlink(missing_ok=True)
    total = sum(p.amount for p in planned)
    return console.render(request, "deposits_preview.html", user, filename=upload.filename, upload_id=upload_id, planned=planned,
                          problems=problems, duplicates=duplicates, suspended=suspended, check=check, total=total,
                          devnet_keys=console.keys.devnet_keys)


@page("propose_mint")
def deposits_record(request: Request, user: User, form: FormData | None) -> Response:
    from ..ops.deposits import intake

    console = _console(request)

    def run() -> str:
        path = _upload_path(console, _text(form, "upload_id", "the upload"))
        inputs, source = _inputs(console, path, _text(form, "filename", required=False) or path.name)
        maker = _signer(console, user, form)
        with console.env.ledger.session() as session:
            result = intake(session, _ops(console), inputs, maker, source=source, label=_text(form, "filename", required=False) or path.name,
                            suspense=True)
            ids = [r.id for r in result.requests]
        path.unlink(missing_ok=True)
        return (f"{len(ids)} deposit(s) recorded; mint request(s) " + ", ".join(f"#{i}" for i in ids) + " await approval"
                + (f"; {len(result.suspended)} parked in suspense" if result.suspended else ""))

    return _done(console, user, "/requests?status=pending", run, back="/deposits")


@page("propose_mint")
def deposits_add(request: Request, user: User, form: FormData | None) -> Response:
    from ..amounts import Money
    from ..ops.deposits import DepositInput, intake

    console = _console(request)

    def run() -> str:
        ops = _ops(console)
        c = ops.client
        raw_date = _text(form, "value_date", required=False)
        try:
            when = date.fromisoformat(raw_date) if raw_date else ops.today()
        except ValueError:
            raise DepositTokenError(f"value date {raw_date!r} is not a date (YYYY-MM-DD)") from None
        inputs = [DepositInput(_text(form, "reference", "the deposit reference"), _text(form, "client_id", "the client id"),
                               Money.parse(_text(form, "amount"), c.currency, c.decimals), c.currency, when, "console")]
        maker = _signer(console, user, form)
        with console.env.ledger.session() as session:
            r = intake(session, ops, inputs, maker, source="console").requests[0]
            return f"deposit recorded; mint request #{r.id} awaits {r.required_approvals} approval(s)"

    return _done(console, user, "/requests?status=pending", run, back="/deposits")


# ---------------------------------------------------------------------------- payouts


@page("view")
def payouts(request: Request, user: User, form: FormData | None) -> Response:
    from ..ops.models import PayoutFile, Redemption

    console = _console(request)
    with console.env.ledger.session() as session:
        rows = [{"id": r.id, "holder": r.holder, "client": r.client.client_id if r.client else None, "amount": r.amount,
                 "payout_ref": r.payout_ref, "status": str(r.status), "file": r.payout_file_id, "paid": r.paid_reference}
                for r in session.scalars(select(Redemption).order_by(Redemption.id.desc()).limit(200))]
        files = [{"id": f.id, "message_id": f.message_id, "format": str(f.format), "count": f.count, "total": f.total,
                  "by": f.exported_by, "at": f.created_at,
                  "unpaid": sum(r["file"] == f.id and r["status"] != "paid" for r in rows)}
                 for f in session.scalars(select(PayoutFile).order_by(PayoutFile.id.desc()).limit(50))]
    return console.render(request, "payouts.html", user, rows=rows, files=files)


@page("payouts")
def payouts_export(request: Request, user: User, form: FormData | None) -> Response:
    from ..ops.indexer import sync
    from ..ops.operators import operator_at
    from ..ops.redemptions import export_payouts

    console = _console(request)

    def run() -> str:
        ops = _ops(console)
        with console.env.ledger.session() as session:
            actor = operator_at(session, user.address or "", may="request", action="payouts").name
        with console.env.ledger.new_session() as session:
            sync(session, ops)  # the redemptions up to the newest confirmed block
            session.commit()
            result = export_payouts(session, ops, console.work_dir / "payouts", "pacs.008", actor=actor)
            if result.file is None:
                return "nothing to export" + (f" ({len(result.skipped)} skipped: {result.skipped[0]})" if result.skipped else "")
            return (f"payout file #{result.file.id} ({result.file.message_id}): {result.file.count} payout(s), "
                    f"{console.money(result.file.total)}")

    return _done(console, user, "/payouts", run)


@page("view")
def payout_file(request: Request, user: User, form: FormData | None) -> Response:
    import tempfile

    from ..ops.redemptions import render_payout_file

    console = _console(request)
    try:
        file_id = int(request.path_params["file_id"])
        with tempfile.TemporaryDirectory() as tmp, console.env.ledger.session() as session:
            path = render_payout_file(session, _ops(console), file_id, directory=tmp)
            data, name = path.read_bytes(), path.name
            audit.record(session, user.actor, "console.download", f"payout file #{file_id}", {"file": name})
    except (DepositTokenError, ValueError) as exc:
        return console.render(request, "refused.html", user, status_code=404, message=str(exc))
    media = "application/xml" if name.endswith(".xml") else "text/csv"
    return Response(data, media_type=media, headers={"content-disposition": f'attachment; filename="{name}"'})


@page("payouts")
def payout_paid(request: Request, user: User, form: FormData | None) -> Response:
    from ..ops.operators import operator_at
    from ..ops.redemptions import mark_paid

    console = _console(request)
    file_id = int(request.path_params["file_id"])

    def run() -> str:
        reference = _text(form, "reference", "the payment system's reference")
        with console.env.ledger.session() as session:
            actor = operator_at(session, user.address or "", may="approve", action="payouts").name
            count = mark_paid(session, file_id=file_id, reference=reference, actor=actor,
                              four_eyes=console.env.policy.paid_by_another_operator)
        return f"payout file #{file_id}: {count} payout(s) marked paid"

    return _done(console, user, "/payouts", run)


# ---------------------------------------------------------------------------- reconciliation


@page("view")
def reconciliation(request: Request, user: User, form: FormData | None) -> Response:
    from ..ops.models import Reconciliation, Statement

    console = _console(request)
    with console.env.ledger.session() as session:
        runs = [{"id": r.id, "at": r.created_at, "block": r.block_number, "ok": r.ok, "report": r.report}
                for r in session.scalars(select(Reconciliation).order_by(Reconciliation.id.desc()).limit(20))]
        statements = [{"message_id": s.message_id, "day": s.day, "block": s.block_number, "at": s.created_at,
                       "file": (console.work_dir / "statements" / f"{s.message_id}.xml").is_file()}
                      for s in session.scalars(select(Statement).order_by(Statement.id.desc()).limit(20))]
    return console.render(request, "reconcile.html", user, runs=runs, last=runs[0] if runs else None, statements=statements)


@page("reconcile")
def reconciliation_run(request: Request, user: User, form: FormData | None) -> Response:
    from ..ops.indexer import sync
    from ..ops.reconcile import issue_camt053, reconcile

    console = _console(request)

    def run() -> str:
        ops = _ops(console)
        with console.env.ledger.new_session() as session:  # as `deptoken reconcile --camt053`
            sync(session, ops)
            report = reconcile(session, ops, actor=user.actor)
            session.commit()
            text = f"reconciliation at block {report.block_number}: {'OK' if report.ok else 'MISMATCH'}"
            if report.ok and form is not None and form.get("camt053"):
                folder = console.work_dir / "statements"
                folder.mkdir(parents=True, exist_ok=True)
                pending = folder / f".pending-{secrets.token_hex(8)}.xml"
                issue_camt053(session, ops, ops.today(), report, pending, actor=user.actor)
                from ..ops.models import Statement

                message_id = session.scalars(select(Statement.message_id).order_by(Statement.id.desc()).limit(1)).one()
                pending.replace(folder / f"{message_id}.xml")
                text += f"; camt.053 statement {message_id} issued"
        if not report.ok:
            raise DepositTokenError(text + f" ({sum(f.severity == 'mismatch' for f in report.findings)} mismatch(es) below)")
        return text

    return _done(console, user, "/reconcile", run)


@page("view")
def statement_file(request: Request, user: User, form: FormData | None) -> Response:
    console = _console(request)
    message_id = request.path_params["message_id"]
    path = console.work_dir / "statements" / f"{message_id}.xml"
    if not message_id.replace("-", "").isalnum() or not path.is_file():
        return console.render(request, "refused.html", user, status_code=404, message=f"no statement {message_id!r}")
    with console.env.ledger.session() as session:
        audit.record(session, user.actor, "console.download", f"camt.053 {message_id}", {})
    return Response(path.read_bytes(), media_type="application/xml",
                    headers={"content-disposition": f'attachment; filename="{message_id}.xml"'})


# ---------------------------------------------------------------------------- audit log


@page("view")
def audit_log(request: Request, user: User, form: FormData | None) -> Response:
    from ..ops.listing import Page, list_audit

    console = _console(request)
    q = request.query_params
    filters = {"action": q.get("action") or None, "actor": q.get("actor") or None, "subject": q.get("subject") or None}
    with console.env.ledger.session() as session:
        found = list_audit(session, **filters, page=Page(_page_number(request), PER_PAGE))
        rows = [{"id": e.id, "at": e.at, "actor": e.actor, "action": e.action, "subject": e.subject, "details": e.details,
                 "tx": e.tx_hash} for e in found.rows]
        problems = audit.verify(session) if q.get("verify") else None
    return console.render(request, "audit.html", user, rows=rows, total=found.total, page=found.page, filters=filters,
                          problems=problems)


# ---------------------------------------------------------------------------- console users


@page("manage_users")
def users(request: Request, user: User, form: FormData | None) -> Response:
    from ..ops.models import Operator, utcnow

    console = _console(request)
    now = utcnow()
    with console.env.ledger.session() as session:
        rows = [{"username": u.username, "role": u.role, "operator": u.operator.name if u.operator else None,
                 "active": u.active, "locked_until": u.locked_until if u.locked_until and u.locked_until > now else None}
                for u in auth.list_users(session)]
        operators = [o.name for o in session.scalars(select(Operator).where(Operator.active.is_(True)).order_by(Operator.name))]
    return console.render(request, "users.html", user, rows=rows, operators=operators, matrix=matrix(), roles=list(ROLES))


@page("manage_users")
def users_add(request: Request, user: User, form: FormData | None) -> Response:
    console = _console(request)

    def run() -> str:
        username = _text(form, "username")
        with console.env.ledger.session() as session:
            auth.add_user(session, username, _text(form, "password"), _text(form, "role"),
                          operator=_text(form, "operator", required=False) or None, actor=user.actor)
        return f"console user {username} added"

    return _done(console, user, "/users", run)


@page("manage_users")
def users_change(request: Request, user: User, form: FormData | None) -> Response:
    console = _console(request)
    username = request.path_params["username"]

    def run() -> str:
        if username == user.username:
            raise DepositTokenError("you cannot change your own console user: another admin does")
        action = _text(form, "action")
        with console.env.ledger.session() as session:
            if action == "disable":
                auth.change_user(session, username, actor=user.actor, active=False)
            elif action == "enable":
                auth.change_user(session, username, actor=user.actor, active=True)
            elif action == "unlock":
                auth.change_user(session, username, actor=user.actor, unlock=True)
            elif action == "role":
                auth.change_user(session, username, actor=user.actor, role=_text(form, "role"),
                                 operator=_text(form, "operator", required=False) or None)
            else:
                raise DepositTokenError(f"unknown change {action!r}")
        return f"console user {username}: {action} done"

    return _done(console, user, "/users", run)


@page("view")
def password(request: Request, user: User, form: FormData | None) -> Response:
    """Every user's own password: the current one, the new one twice. Done, every session of theirs
    ends and they log in again with the new one."""
    console = _console(request)
    if form is None:
        return console.render(request, "password.html", user)
    try:
        new = str(form.get("new") or "")
        if new != str(form.get("confirm") or ""):
            raise DepositTokenError("the new password and its confirmation differ")
        auth.change_own_password(console.env.ledger, user.username, str(form.get("current") or ""), new)
    except DepositTokenError as exc:
        console.flash(user, "error", str(exc))
        return RedirectResponse("/password", status_code=303)
    response = RedirectResponse("/login?changed=1", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


def routes() -> list[Route]:
    return [
        Route("/login", login_page, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/", dashboard),
        Route("/clients", clients),
        Route("/clients/{client_id}", client_detail),
        Route("/requests", requests_list),
        Route("/requests/new", request_new),
        Route("/requests/propose", request_propose, methods=["POST"]),
        Route("/requests/{request_id:int}", request_detail),
        Route("/requests/{request_id:int}/approve", request_approve, methods=["POST"]),
        Route("/requests/{request_id:int}/reject", request_reject, methods=["POST"]),
        Route("/requests/{request_id:int}/execute", request_execute, methods=["POST"]),
        Route("/deposits", deposits),
        Route("/deposits/preview", deposits_preview, methods=["POST"]),
        Route("/deposits/record", deposits_record, methods=["POST"]),
        Route("/deposits/add", deposits_add, methods=["POST"]),
        Route("/payouts", payouts),
        Route("/payouts/export", payouts_export, methods=["POST"]),
        Route("/payouts/files/{file_id:int}", payout_file),
        Route("/payouts/files/{file_id:int}/paid", payout_paid, methods=["POST"]),
        Route("/reconcile", reconciliation),
        Route("/reconcile/run", reconciliation_run, methods=["POST"]),
        Route("/reconcile/statements/{message_id}", statement_file),
        Route("/audit", audit_log),
        Route("/users", users),
        Route("/users/add", users_add, methods=["POST"]),
        Route("/users/{username}", users_change, methods=["POST"]),
        Route("/password", password, methods=["GET", "POST"]),
    ]
