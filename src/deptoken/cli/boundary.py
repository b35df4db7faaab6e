"""The error boundary of the command-line tools (``deptoken`` and the ape scripts): an expected
failure is one line on stderr and exit status 1; anything else is a bug and keeps its traceback."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..errors import DepositTokenError, first_line


def failure_message(exc: Exception) -> str | None:
    """The one line the command-line tools print for an expected failure; None for anything else
    (a bug: it propagates with its traceback)."""
    if isinstance(exc, DepositTokenError):
        return str(exc)
    if isinstance(exc, OSError) and not isinstance(exc, ConnectionError) and exc.filename:
        return f"cannot use {exc.filename}: {exc.strerror or first_line(exc)}"  # a local file, not the node
    if isinstance(exc, (ConnectionError, OSError, *_loaded(("web3.exceptions", "CannotHandleRequest"),
                                                           ("web3.exceptions", "ProviderConnectionError")))):
        return f"lost the node: {first_line(exc)}"
    # past our checks: signing, node, database
    if isinstance(exc, _loaded(("ape.exceptions", "ApeException"), ("sqlalchemy.exc", "SQLAlchemyError"),
                               ("web3.exceptions", "Web3Exception"))):
        return f"{type(exc).__name__}: {first_line(exc)}"
    return None


def _loaded(*names: tuple[str, str]) -> tuple[type, ...]:
    """The exception classes ``(module, name)`` of the modules this process has loaded: an exception of
    a module never imported cannot have been raised, so a failure is classified without importing ape."""
    return tuple(getattr(sys.modules[module], name) for module, name in names if module in sys.modules)


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
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise  # click's own (help, usage errors, Ctrl-C): click reports them, without loading ape to classify them
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
    if not isinstance(exc, _loaded(("sqlalchemy.exc", "SQLAlchemyError"))):
        return None
    return (f"the ledger database refused the change ({type(exc).__name__}; another process may have changed "
            "the same records): nothing of this step was recorded, run the command again")
