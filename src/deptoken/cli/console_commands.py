"""``deptoken console``: the operations console (a web application over this CLI's library), and
``deptoken console-users``: who may log in to it."""

from __future__ import annotations

import sys

import click

from ..errors import DepositTokenError
from .env import Env, pass_env


@click.command("console")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback by default).")
@click.option("--port", type=click.IntRange(0, 65535), default=8600, show_default=True)
@click.option("--keystores", metavar="DIR", default=None,
              help="Folder of the operators' eth-account keystore files (default: ape's accounts folder).")
@click.option("--devnet-keys", is_flag=True, help="Local devnet only: Anvil's public test accounts sign (no keystores).")
@click.option("--idle-minutes", type=click.FloatRange(min=0.05), default=15.0, show_default=True,
              help="A session ends after this long without a request.")
@click.option("--insecure-cookie", is_flag=True,
              help="Send the session cookie over plain HTTP to another host than this one (never in production).")
@click.option("--work-dir", type=click.Path(file_okay=False), default="var/console", show_default=True,
              help="Where uploads, payout files and statements are kept.")
@pass_env
def console(env: Env, host: str, port: int, keystores: str | None, devnet_keys: bool, idle_minutes: float,
            insecure_cookie: bool, work_dir: str) -> None:
    """Serves the operations console against this ledger and node (Ctrl-C stops it)."""
    from pathlib import Path

    import uvicorn

    from ..console.app import Console, create_app
    from ..console.signing import Keys

    ops = env.ops  # connects and checks the ledger belongs to this token, as every chain command does
    keys = Keys.of(keystores, devnet_keys, ops.chain_id)
    app = create_app(Console(env, keys, secure_cookie=not insecure_cookie, idle_seconds=int(idle_minutes * 60),
                             work_dir=Path(work_dir)))
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    original = server.startup

    async def startup(sockets: object = None) -> None:
        await original(sockets)  # type: ignore[arg-type]
        bound = server.servers[0].sockets[0].getsockname()[1] if server.servers else port
        click.echo(f"console: http://{host}:{bound}/ (token {ops.token} on chain {ops.chain_id}; "
                   f"{'devnet test keys' if keys.devnet_keys else f'keystores in {keys.folder}'}); Ctrl-C stops it", err=True)
        sys.stderr.flush()

    server.startup = startup  # type: ignore[method-assign]
    server.run()


@click.group("console-users")
def console_users() -> None:
    """Who may log in to the console, and with which role."""


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline().rstrip("\n")
        if not line:
            raise DepositTokenError("--password-stdin: no password on standard input")
        return line
    return str(click.prompt("password", hide_input=True, confirmation_prompt=True, err=True))


@console_users.command("add")
@click.argument("username")
@click.option("--role", required=True, help="viewer, maker, checker, compliance, legal, treasury or admin.")
@click.option("--operator", default=None, help="The ledger operator they are (roles that sign or pay out).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (one line) instead of asking.")
@pass_env
def users_add(env: Env, username: str, role: str, operator: str | None, password_stdin: bool) -> None:
    """Adds a console user (the password is asked for, twice)."""
    from ..console.auth import add_user

    password = _password(password_stdin)
    with env.ledger.session() as session:
        user = add_user(session, username, password, role, operator=operator, actor=f"cli console-users ({_who()})")
        data = {"username": user.username, "role": user.role, "operator": operator}
    env.emit(data, lambda: click.echo(f"console user {data['username']} added ({data['role']})"))


@console_users.command("list")
@pass_env
def users_list(env: Env) -> None:
    """Lists the console users."""
    from ..console.auth import list_users
    from .issuer_support import table

    with env.ledger.session() as session:
        rows = [{"username": u.username, "role": u.role, "operator": u.operator.name if u.operator else None,
                 "active": u.active, "locked_until": u.locked_until} for u in list_users(session)]
    env.emit(rows, lambda: table("console users", ("username", "role", "operator", "active", "locked_until"),
                                 [[r[c] if r[c] is not None else "" for c in ("username", "role", "operator", "active", "locked_until")]
                                  for r in rows]))


@console_users.command("change")
@click.argument("username")
@click.option("--role", default=None)
@click.option("--operator", default=None)
@click.option("--password", "new_password", is_flag=True, help="Set a new password (asked for; unlocks the user).")
@click.option("--password-stdin", is_flag=True, help="With --password: read it from standard input.")
@click.option("--disable/--enable", "disabled", default=None)
@click.option("--unlock", is_flag=True, help="Lift the lockout of too many wrong passwords.")
@pass_env
def users_change(env: Env, username: str, role: str | None, operator: str | None, new_password: bool, password_stdin: bool,
                 disabled: bool | None, unlock: bool) -> None:
    """Changes a console user's role, password or activity, or lifts their lockout (their sessions end)."""
    from ..console.auth import change_user

    password = _password(password_stdin) if new_password else None
    with env.ledger.session() as session:
        user = change_user(session, username, actor=f"cli console-users ({_who()})", role=role, operator=operator,
                           password=password, active=None if disabled is None else not disabled, unlock=unlock)
        data = {"username": user.username, "role": user.role, "active": user.active}
    env.emit(data, lambda: click.echo(f"console user {data['username']}: {data['role']}, {'active' if data['active'] else 'disabled'}"))


def _who() -> str:
    import getpass

    return getpass.getuser()
