"""What the issuer operations' command groups share: who signs, who the operator is, requests
proposed, amounts shown, tables, progress, listings (paging, CSV)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from functools import wraps
from pathlib import Path
from typing import Any

import click

from ..errors import DepositTokenError
from .env import Env
from .signing import AS_HELP, SignerChoice, signer_choice_options


def _signer(env: Env, role: str | None, choice: SignerChoice, needs_token: bool = True) -> Any:
    """The signing account: ape keystore alias, an eth-account keystore file, or a devnet test account."""
    from ..signers import ROLES

    as_ = choice.as_
    if not needs_token and role is None and not (as_ and as_.strip().lower().replace("-", "_") in ROLES):
        chain_id, token = env.chain_id, None  # an operator's own key for a ledger-only step: the chain decides
    else:
        chain_id, token = env.ops.chain_id, env.ops.client.contract
    return choice.select(chain_id, role=role, token=token)


def signer_options(role: str | None, *, token: bool = True) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The signer options (``deptoken.cli.signing``); passes ``signer`` (resolved lazily) to the command.
    ``role``: on the devnet, the token role whose test account signs by default (None: must choose).
    ``token=False``: a ledger-only step (operator changes): the node's chain, not the token, is needed."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        @signer_choice_options(AS_HELP)
        @wraps(function)
        def wrapper(*args: Any, signer_choice: SignerChoice, **kwargs: Any) -> Any:
            env = click.get_current_context().find_object(Env)

            def signer(needs: str | None = role, needs_token: bool = token) -> Any:
                return _signer(env, needs, signer_choice, needs_token)

            return function(*args, signer=signer, **kwargs)

        return wrapper

    return decorate


def operator_name(env: Env, signer: Any, may: str = "request", action: str | None = None) -> str:
    """The name of the operator ``signer`` is, if they may do ``may`` (``action``)."""
    from ..ops.operators import operator_at

    with env.ledger.session() as session:
        return operator_at(session, str(signer.address), may=may, action=action).name


def chain_today(env: Env) -> date:
    """Today (UTC) by the chain's clock (connects)."""
    return env.ops.today()


def propose_request(env: Env, kind: str, params: dict[str, Any], signer: Callable[[], Any]) -> None:
    """Records a ``kind`` request for approval, made by the signer; prints its number."""
    from ..ops.workflow import propose

    maker = signer()
    with env.ledger.session() as session:
        request = propose(session, env.ops, kind, params, maker)
        data = {"request": request.id, "kind": kind, "approvals_needed": request.required_approvals}
    env.emit(data, lambda: click.echo(f"{kind} request #{data['request']} awaits {data['approvals_needed']} approval(s)"))


def describe(token: Any, kind: str, params: dict[str, Any]) -> str:
    """A request as an operator reads it: amounts in currency units, references as text."""
    from ..ops.params import describe_params

    return describe_params(token, kind, params)


def table(title: str, columns: Sequence[str], rows: Iterator[Sequence[Any]] | list[Sequence[Any]]) -> None:
    """Prints a table (250 columns wide when not on a terminal)."""
    from rich.console import Console
    from rich.table import Table

    shown = Table(title=title)
    for column in columns:
        shown.add_column(column)
    for row in rows:
        shown.add_row(*(str(cell) for cell in row))
    Console(width=None if sys.stdout.isatty() else 250).print(shown)


@contextmanager
def progress(label: str, total: int | None) -> Iterator[Callable[..., None]]:
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


def list_options(dates: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--from/--to`` (``dates``: what the period filters), ``--page/--per-page`` and ``--csv FILE``."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        function = click.option("--csv", "csv_path", type=click.Path(dir_okay=False), default=None,
                                help="Also write the rows (this page, or every row without --page) to this CSV file.")(function)
        function = click.option("--per-page", type=click.IntRange(min=1), default=None, help="Rows per page (default: 50 with --page).")(function)
        function = click.option("--page", type=click.IntRange(min=1), default=None, help="Show this page of the rows.")(function)
        function = click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), default=None, help=f"Up to this day ({dates}).")(function)
        return click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), default=None, help=f"From this day ({dates}).")(function)

    return decorate


def page_of(page: int | None, per_page: int | None) -> Any:
    """The ``Page`` of ``--page/--per-page`` (every row without either)."""
    from ..ops.listing import Page

    return Page(page or 1, per_page or (50 if page else None))


def day_of(value: datetime | None) -> date | None:
    """The day of a ``--from/--to`` option's value."""
    return value.date() if value else None


def write_csv(path: str, columns: Sequence[str], rows: list[Sequence[Any]]) -> None:
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


def show_list(env: Env, title: str, columns: Sequence[str], rows: list[dict[str, Any]], total: int, page: Any,
              csv_path: str | None, amounts: Sequence[str] = ()) -> None:
    """A listing: JSON rows, or a table with "rows a-b of n" when paged; ``--csv`` too, amounts in
    currency units (decimal text) there, minor units in JSON."""
    def cell(column: str, value: Any, shown: bool) -> Any:
        if column in amounts and value not in ("", None):
            return env.token.format(value) if shown else env.token.to_decimal(value)
        return value

    if csv_path:
        write_csv(csv_path, columns, [[cell(c, row[c], False) for c in columns] for row in rows])
    if env.as_json:
        env.emit(rows, lambda: None)
        return
    table(title, columns, [[cell(c, row[c], True) for c in columns] for row in rows])
    if page.size is not None or csv_path:
        first = (page.number - 1) * page.size + 1 if page.size is not None else 1
        click.echo((f"rows {first}-{first + len(rows) - 1} of {total}" if rows else f"no rows on page {page.number} ({total} in all)")
                   + (f"; written to {csv_path}" if csv_path else ""))
