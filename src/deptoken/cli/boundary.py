"""The error boundary of the command-line tools (``deptoken`` and the ape scripts): an expected
failure is one line on stderr and exit status 1; anything else is a bug and keeps its traceback."""

from __future__ import annotations

from typing import Any

import click

from ..errors import DepositTokenError, first_line


def failure_message(exc: Exception) -> str | None:
    """The one line the command-line tools print for an expected failure; None for anything else
    (a bug: it propagates with its traceback)."""
    from ape.exceptions import ApeException
    from sqlalchemy.exc import SQLAlchemyError
    from web3.exceptions import CannotHandleRequest, ProviderConnectionError, Web3Exception

    if isinstance(exc, DepositTokenError):
        return str(exc)
    if isinstance(exc, OSError) and not isinstance(exc, ConnectionError) and exc.filename:
        return f"cannot use {exc.filename}: {exc.strerror or first_line(exc)}"  # a local file, not the node
    if isinstance(exc, ConnectionError | OSError | CannotHandleRequest | ProviderConnectionError):
        return f"lost the node: {first_line(exc)}"
    if isinstance(exc, ApeException | SQLAlchemyError | Web3Exception):  # past our checks: signing, node, database
        return f"{type(exc).__name__}: {first_line(exc)}"
    return None


class RootGroup(click.Group):
    """``deptoken``'s boundary: a ``DepositTokenError`` is one line on stderr and exit status 1: ``error: ...``,
    or with ``--json`` the object ``{"error": "..."}`` (stdout stays empty). ``--json`` may also follow
    the subcommand. The node connection is closed on the way out."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if ctx.parent is None and "--json" in args:
            cut = args.index("--") if "--" in args else len(args)
            if "--json" in args[:cut]:
                args = ["--json", *(a for a in args[:cut] if a != "--json"), *args[cut:]]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        import json

        from .env import Env, disconnect

        try:
            return super().invoke(ctx)
        except Exception as exc:  # noqa: BLE001 - the expected kinds become one line
            if (message := _ledger_refusal(exc) or failure_message(exc)) is None:
                raise
        finally:
            disconnect()
        if isinstance(ctx.obj, Env) and ctx.obj.as_json:
            click.echo(json.dumps({"error": message}), err=True)
        else:
            click.echo(f"error: {message}", err=True)
        ctx.exit(1)


def _ledger_refusal(exc: Exception) -> str | None:
    """Never a raw SQL error: the ledger's transaction was rolled back."""
    from sqlalchemy.exc import SQLAlchemyError

    if not isinstance(exc, SQLAlchemyError):
        return None
    return (f"the ledger database refused the change ({type(exc).__name__}; another process may have changed "
            "the same records): nothing of this step was recorded, run the command again")
