"""``deptoken payouts``: redemptions and their payout instructions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from .env import Env, pass_env
from .issuer_support import operator_name, signer_options, table


@click.group()
def payouts() -> None:
    """Redemptions and their payout instructions (pacs.008 or CSV)."""


@payouts.command("list")
@click.option("--status", type=click.Choice(["recorded", "instructed", "paid", "orphaned"]))
@pass_env
def payouts_list(env: Env, status: str | None) -> None:
    """Lists recorded redemptions and their payout state."""
    from ..ops.redemptions import redemptions

    def fmt(units: int) -> str:  # only when there is something to show (an unbound ledger has nothing)
        return str(env.token.format(units))
    with env.ledger.session() as session:
        rows = [{"tx": f"{r.tx_hash}:{r.log_index}", "block": r.block_number, "holder": r.holder,
                 "client": r.client.client_id if r.client else "", "amount": r.amount, "status": r.status,
                 "file": r.payout_file_id or "", "paid_reference": r.paid_reference or ""} for r in redemptions(session, status)]
    columns = ("tx", "block", "holder", "client", "amount", "status", "file", "paid_reference")
    env.emit(rows, lambda: table("redemptions", columns, [[fmt(row[c]) if c == "amount" else row[c] for c in columns] for row in rows]))


@payouts.command("export")
@click.option("--format", "fmt", type=click.Choice(["pacs.008", "csv"]), default="pacs.008", show_default=True)
@click.option("--out", "directory", type=click.Path(file_okay=False), default="var/payouts", show_default=True)
@signer_options(None)
@pass_env
def payouts_export(env: Env, fmt: str, directory: str, signer: Callable[[], Any]) -> None:
    """Writes one payout file for every redemption not yet instructed."""
    from ..ops.indexer import unconfirmed
    from ..ops.redemptions import export_payouts

    actor = operator_name(env, signer(), "request", "payouts")
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
    from ..ops.redemptions import render_payout_file

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
    from ..ops.redemptions import confirm_paid, mark_paid

    if (confirmation is None) == (reference is None) or (reference is not None and file_id is None):
        raise click.UsageError("give FILE_ID --reference REF, or --confirmation FILE (optionally with FILE_ID)")
    if confirmation is not None:
        actor = operator_name(env, signer(), "request", "payouts")
        token = env.token
        with env.ledger.session() as session:
            result = confirm_paid(session, confirmation, token, actor=actor, file_id=file_id)
        env.emit(result, lambda: click.echo(
            f"{confirmation} ({result.message_id}): {result.paid} payout(s) marked paid"
            + (f" in payout file(s) {', '.join(f'#{f}' for f in result.files)}" if result.files else "")
            + (f"; {result.already} confirmed before" if result.already else "")))
        return
    actor = operator_name(env, signer(), "approve", "payouts")
    with env.ledger.session() as session:
        count = mark_paid(session, file_id=file_id, reference=reference, actor=actor,
                          four_eyes=env.policy.paid_by_another_operator)
    env.emit({"file": file_id, "paid": count}, lambda: click.echo(f"payout file #{file_id}: {count} payout(s) marked paid"))
