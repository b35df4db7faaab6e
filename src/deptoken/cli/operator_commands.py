"""``deptoken operators``: the operations team (makers and checkers)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import click

from .env import Env, pass_env
from .issuer_support import signer_options, table


@click.group()
def operators() -> None:
    """The operations team (makers and checkers)."""


@operators.command("bootstrap")
@click.option("--operator", "team", type=(str, str, str), multiple=True, required=True, metavar="NAME ADDRESS PERSON_ID",
              help="One of the first operators (at least two, each may request and approve).")
@pass_env
def operators_bootstrap(env: Env, team: tuple[tuple[str, str, str], ...]) -> None:
    """Registers the first operators of an empty team, together (refused once any operator exists;
    every later change goes through `operators add/deactivate/duties` and another operator's approval)."""
    from ..ops.operators import bootstrap

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
    from ..ops.operators import propose_change

    if fields.get("permissions") is not None:
        fields["permissions"] = list(fields["permissions"]) or None
    if fields.get("max_amount") is not None:
        fields["max_amount"] = env.token.units(fields["max_amount"], "max amount")
    from ..ops.context import ledger_binding

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
    from ..ops.operators import list_operators

    with env.ledger.session() as session:
        operators_ = list_operators(session)
        rows = [(o.name, o.address, o.person_id or "", o.can_request, o.can_approve, o.active,
                 ",".join(o.permissions) if o.permissions is not None else "all",
                 "" if o.max_amount is None else o.max_amount) for o in operators_]
    columns = ("name", "address", "person_id", "request", "approve", "active", "permissions", "max_amount")
    env.emit([dict(zip(columns, r, strict=True)) for r in rows],
             lambda: table("operators", columns, [[env.token.format(c) if k == "max_amount" and c != "" else c
                                                    for k, c in zip(columns, r, strict=True)] for r in rows]))
