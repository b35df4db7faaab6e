"""``deptoken interbank``: payments between clients of different banks, and the banks' settlement
(``deptoken.settlement.interbank``).

    deptoken interbank pay --from-token EXUSD --to-token EXUSB --to 0xAna... --amount 250.00 --id PAY-1 --as 7
                                                       # same token twice: a plain transfer
    deptoken interbank sign --from-token EXUSD --to-token EXUSB --to 0xAna... --amount 250.00 --id PAY-2 \\
        --valid-for 3600 --out pay-2.json --as 7       # the payer's one signature, no gas
    deptoken interbank submit pay-2.json --as 27       # anyone submits it
    deptoken interbank submit pay-2.json --ledger --queue --as 34   # the paying bank: exactly once, queued over its headroom
    deptoken interbank queue list | run --as 34 | drop 3            # the paying bank's queue (its ledger, --db)
    deptoken interbank show [EXUSD]                    # the network, or one bank
    deptoken interbank positions                       # every bank: position, collateral, headroom
    deptoken interbank payments [--from-block N] [--id PAY-1]
    deptoken interbank collateral post --bank EXUSD --amount 10000.00 --as 17   # approves the asset first
    deptoken interbank collateral withdraw --bank EXUSD --amount 100.00 --to 0x... --as 17
    deptoken interbank settle-early --bank EXUSD --amount 50.00 --as 17
    deptoken interbank settle --as 16                  # the settlement operator closes the cycle
    deptoken interbank cycles
    deptoken interbank join --bank 0xToken... --operator 0x... --as 15          # the network's admin
    deptoken interbank suspend EXUSB --as 15 | readmit EXUSB --as 15 | haircut 2000 --as 15

``--interbank`` names the network (default: ``DEPTOKEN_INTERBANK``, then the settlement record's
``interbank`` entry). Every member shares the network's currency, so a bank's token is named by its
symbol or its address. Amounts are currency units; ``--json`` output gives minor units.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from .env import Env, pass_env
from .settlement_support import connect, emit, registry, signer_options

_NETWORK_OPTION = click.option("--interbank", "network_ref", metavar="ADDRESS", envvar="DEPTOKEN_INTERBANK",
                               help="The InterbankNetwork (default: $DEPTOKEN_INTERBANK, else the settlement record's).")
_BANK_OPTION = click.option("--bank", required=True, metavar="SYMBOL|ADDRESS", help="The member bank's token.")


def _client(env: Env, network_ref: str | None) -> Any:
    from ..errors import DepositTokenError
    from ..settlement.interbank import InterbankClient

    connect(env)
    record = registry(env)
    address = network_ref or (getattr(record, "interbank", None) if record else None)
    if not address:
        raise DepositTokenError("give the interbank network with --interbank 0x... (no settlement record entry)")
    return InterbankClient.at(address, deploy_block=record.deploy_block(address) if record else 0)


def _tx(receipt: Any) -> str:
    return str(receipt.txn_hash)


def _bank_text(client: Any, b: Any) -> str:
    t = client.token(b.token)
    side = "owed" if b.position > 0 else "owes"
    position = f"{side} {t.format(abs(b.position))}" if b.position else "flat"
    state = "" if b.active else " (suspended)"
    return (f"{b.symbol}{state}: {position}, collateral {client.format_asset(b.collateral)} "
            f"({client.format_asset(b.free_collateral)} free), headroom {t.format(b.headroom)}")


def _payment_text(client: Any, p: Any) -> str:
    frm, to = client.token(p.from_token), client.token(p.to_token)
    return (f"payment 0x{p.payment_id.hex()[:8]}...: {p.payer} ({frm.symbol}) paid {p.payee} ({to.symbol}) "
            f"{frm.format(p.amount)} in cycle {p.cycle}, tx {p.tx}")


@click.group()
def interbank() -> None:
    """Interbank payments: a client of one bank pays a client of another in one transaction; the banks
    settle in a settlement asset, backed by collateral."""


_LEDGER_OPTION = click.option("--ledger", "use_ledger", is_flag=True,
                              help="Send through the paying bank's ledger (--db): stored before broadcast, exactly once; "
                                   "a re-run of a payment made says so.")


@contextmanager
def _ledger_session(env: Env, use_ledger: bool) -> Iterator[Any]:
    """The paying bank's ledger session (the outbox's: committed step by step), or None without --ledger."""
    if not use_ledger:
        yield None
        return
    with env.ledger.new_session() as session:
        yield session


@interbank.command("pay")
@_NETWORK_OPTION
@click.option("--from-token", required=True, metavar="SYMBOL|ADDRESS", help="The payer's bank's token.")
@click.option("--to-token", required=True, metavar="SYMBOL|ADDRESS", help="The payee's bank's token (the same: a plain transfer).")
@click.option("--to", "payee", required=True, help="The payee's address.")
@click.option("--amount", required=True, help="Currency units, e.g. 250.00")
@click.option("--id", "payment_id", required=True, help="The payment id (text, hashed; or 0x + 64 hex): usable once by the payer in the network.")
@click.option("--no-approve", is_flag=True, help="Refuse instead of approving the network for the amount first.")
@_LEDGER_OPTION
@signer_options
@pass_env
def pay(env: Env, network_ref: str | None, from_token: str, to_token: str, payee: str, amount: str, payment_id: str,
        no_approve: bool, use_ledger: bool, signer: Any) -> None:
    """The signer pays --to at the other bank: its tokens burned, the payee's bank's minted, at once."""
    from ..ops import interbank_payments
    from ..validation import address_of

    client = _client(env, network_ref)
    frm = client.member(from_token)
    to = frm if to_token == from_token else client.member(to_token)
    who = signer()
    with _ledger_session(env, use_ledger) as session:
        result = interbank_payments.pay(session, client, who, frm, to, payee, amount, payment_id, approve=not no_approve)
    units = frm.units(amount)
    kind = "transfer" if result.same_bank else "interbank"
    data = {"kind": kind, "payment_id": "0x" + result.payment_id.hex(), "from_token": frm.address, "to_token": to.address,
            "payer": address_of(who, "payer"), "payee": address_of(payee, "payee"), "amount": units, "tx": result.tx,
            "approve_tx": result.approve_tx}
    if use_ledger:
        data.update(already=result.already, record=result.record)
    if result.already:
        emit(env, data, f"already paid in tx {result.tx}")
        return
    where = "within " + frm.symbol if result.same_bank else f"from {frm.symbol} to {to.symbol}"
    emit(env, data, f"paid {frm.format(units)} to {payee} {where} ({kind}), tx {result.tx}")


@interbank.command("sign")
@_NETWORK_OPTION
@click.option("--from-token", required=True, metavar="SYMBOL|ADDRESS", help="The payer's bank's token.")
@click.option("--to-token", required=True, metavar="SYMBOL|ADDRESS", help="The payee's bank's token.")
@click.option("--to", "payee", required=True, help="The payee's address.")
@click.option("--amount", required=True, help="Currency units, e.g. 250.00")
@click.option("--id", "payment_id", required=True, help="The payment id (text, hashed; or 0x + 64 hex).")
@click.option("--payer", help="The payer if not the signer (an ERC-1271 wallet the signer's key signs for).")
@click.option("--valid-for", default="3600", show_default=True, help="Seconds (or N[m|h|d]) from chain time.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="File to write the signed payment to.")
@signer_options
@pass_env
def sign_payment(env: Env, network_ref: str | None, from_token: str, to_token: str, payee: str, amount: str, payment_id: str,
                 payer: str | None, valid_for: str, out: str, signer: Any) -> None:
    """The payer signs a payment (EIP-3009, bound to the payee, its bank and the id; no gas): anyone submits it."""
    path = Path(out)
    if path.exists():
        raise click.UsageError(f"{path} exists: choose another --out")
    client = _client(env, network_ref)
    frm, to = client.member(from_token), client.member(to_token)
    signed = client.sign_payment(signer(), frm, to, payee, amount, payment_id, valid_for, payer=payer)
    signed.save(path)
    data = {"network": client.address, "file": str(path), "payment_id": "0x" + signed.payment_id.hex(), "payer": signed.payer,
            "payee": signed.payee, "from_token": frm.address, "to_token": to.address, "amount": signed.amount,
            "valid_before": signed.authorization.message["validBefore"]}
    emit(env, data, f"payment of {frm.format(signed.amount)} to {signed.payee} ({to.symbol}) signed: {path}")


@interbank.command("submit")
@click.argument("path", type=click.Path(dir_okay=False))
@_NETWORK_OPTION
@_LEDGER_OPTION
@click.option("--queue", "queue_it", is_flag=True,
              help="With the ledger: queue the payment if it would take the paying bank past its headroom "
                   "(deptoken interbank queue run submits it later); other refusals still fail.")
@signer_options
@pass_env
def submit(env: Env, path: str, network_ref: str | None, use_ledger: bool, queue_it: bool, signer: Any) -> None:
    """Submits a payer's signed payment file (any signer pays the gas)."""
    from ..errors import HeadroomExceeded
    from ..ops import interbank_payments
    from ..settlement.interbank import SignedPayment

    signed = SignedPayment.load(path)
    client = _client(env, network_ref or signed.network)
    frm, to = client.token(signed.from_token), client.token(signed.to_token)
    data = {"payment_id": "0x" + signed.payment_id.hex(), "payer": signed.payer, "payee": signed.payee,
            "from_token": frm.address, "to_token": to.address, "amount": signed.amount}
    with _ledger_session(env, use_ledger or queue_it) as session:
        try:
            result = interbank_payments.submit(session, client, signed, sender=signer())
        except HeadroomExceeded as exc:
            if not queue_it:
                raise
            record = interbank_payments.enqueue(session, client, signed)
            emit(env, {**data, "status": "queued", "record": record.id, "reason": str(exc)},
                 f"queued as #{record.id}: {exc}")
            return
    if session is not None:
        data.update(already=result.already, record=result.record)
    data["tx"] = result.tx
    if result.already:
        emit(env, data, f"already paid in tx {result.tx}")
        return
    emit(env, data, f"{signed.payer} paid {frm.format(signed.amount)} to {signed.payee} ({to.symbol}), tx {result.tx}")


@interbank.group("queue")
def queue() -> None:
    """The paying bank's queue of signed payments over its headroom (in its ledger, --db)."""


def _record_text(r: dict[str, Any], units: Any) -> str:
    amount = units.format(r["amount"]) if units is not None else f"{r['amount']} minor units"
    tail = f", tx {r['tx']}" if r["tx"] else (f" ({r['error']})" if r["error"] else "")
    return f"#{r['record']} {r['status']}: payment {r['payment_id'][:10]}..., {r['payer']} pays {r['payee']} {amount}{tail}"


@queue.command("list")
@click.option("--all", "every", is_flag=True, help="Every recorded interbank payment, not only those waiting.")
@pass_env
def queue_list(env: Env, every: bool) -> None:
    """The queued payments (and those in flight), in the order they will be submitted. Reads the ledger only."""
    from ..ops import interbank_payments
    from ..ops.context import ledger_token

    with env.ledger.session() as session:
        rows = [interbank_payments.record_dict(r) for r in interbank_payments.queued(session, every=every)]
        units = ledger_token(session)
    emit(env, rows, "\n".join(_record_text(r, units) for r in rows) or "no queued payments")


@queue.command("run")
@_NETWORK_OPTION
@signer_options
@pass_env
def queue_run(env: Env, network_ref: str | None, signer: Any) -> None:
    """Submits the queued payments in order while the paying bank's headroom allows (each through the outbox,
    exactly once); marks those past validBefore expired."""
    from ..ops import interbank_payments

    client = _client(env, network_ref)
    with env.ledger.new_session() as session:
        outcomes = interbank_payments.run_queue(session, client, sender=signer())
    text = "\n".join(f"#{o.record} {o.status}" + (f", tx {o.tx}" if o.tx else "") + (f" ({o.detail})" if o.detail else "")
                     for o in outcomes)
    emit(env, [o.as_dict() for o in outcomes], text or "no queued payments")


@queue.command("drop")
@click.argument("record", type=click.IntRange(min=1))
@pass_env
def queue_drop(env: Env, record: int) -> None:
    """Takes a queued payment off the queue (nothing was sent for it)."""
    from ..ops import interbank_payments

    with env.ledger.new_session() as session:
        row = interbank_payments.record_dict(interbank_payments.drop(session, record))
    emit(env, row, f"#{record} dropped")


@interbank.command("show")
@click.argument("bank", required=False, metavar="[SYMBOL|ADDRESS]")
@_NETWORK_OPTION
@pass_env
def show(env: Env, bank: str | None, network_ref: str | None) -> None:
    """The network (currency, mode, haircut, cycle, members), or one member bank."""
    client = _client(env, network_ref)
    if bank:
        b = client.bank(client.member(bank))
        emit(env, b.as_dict(), _bank_text(client, b))
        return
    data = {"network": client.address, "currency": client.currency, "mode": client.mode, "haircut_bps": client.haircut_bps(),
            "cycle": client.cycle(), "settlement_asset": client.asset.address, "members": client.members()}
    emit(env, data, f"interbank network {client.address}: {client.currency}, {client.mode} settlement in "
                    f"{client.asset_symbol}, haircut {data['haircut_bps'] / 100:g}%, cycle {data['cycle']}, "
                    f"{len(data['members'])} banks")


@interbank.command("positions")
@_NETWORK_OPTION
@pass_env
def positions(env: Env, network_ref: str | None) -> None:
    """Every member bank: its position, collateral (and what of it is free) and headroom."""
    client = _client(env, network_ref)
    found = client.positions()
    emit(env, [b.as_dict() for b in found], "\n".join(_bank_text(client, b) for b in found) or "no member banks")


@interbank.command("payments")
@_NETWORK_OPTION
@click.option("--from-block", type=click.IntRange(min=0), help="Search from this block (default: the network's deploy block).")
@click.option("--id", "payment_id", help="Only this payment id.")
@pass_env
def payments(env: Env, network_ref: str | None, from_block: int | None, payment_id: str | None) -> None:
    """The payments made through the network, in chain order."""
    client = _client(env, network_ref)
    found = client.payments(from_block=from_block, payment_id=payment_id)
    emit(env, [p.as_dict() for p in found], "\n".join(_payment_text(client, p) for p in found) or "no payments")


@interbank.group("collateral")
def collateral() -> None:
    """A bank's collateral in the settlement asset: post, withdraw (only what its debit does not need)."""


@collateral.command("post")
@_NETWORK_OPTION
@_BANK_OPTION
@click.option("--amount", required=True, help="Settlement asset, currency units.")
@click.option("--no-approve", is_flag=True, help="Refuse instead of approving the network for the asset first.")
@signer_options
@pass_env
def collateral_post(env: Env, network_ref: str | None, bank: str, amount: str, no_approve: bool, signer: Any) -> None:
    """Posts --amount of the settlement asset from the signer as collateral of --bank."""
    client = _client(env, network_ref)
    t = client.member(bank)
    receipt = client.post_collateral(t, amount, sender=signer(), approve=not no_approve)
    _collateral_done(env, client, t, receipt, f"posted {client.format_asset(client.asset_units(amount))}")


@collateral.command("withdraw")
@_NETWORK_OPTION
@_BANK_OPTION
@click.option("--amount", required=True, help="Settlement asset, currency units.")
@click.option("--to", "to", required=True, help="Who receives it (an admitted holder of the asset).")
@signer_options
@pass_env
def collateral_withdraw(env: Env, network_ref: str | None, bank: str, amount: str, to: str, signer: Any) -> None:
    """The bank's operator withdraws --amount of its free collateral to --to."""
    client = _client(env, network_ref)
    t = client.member(bank)
    receipt = client.withdraw_collateral(t, amount, to, sender=signer())
    _collateral_done(env, client, t, receipt, f"withdrew {client.format_asset(client.asset_units(amount))} to {to}")


def _collateral_done(env: Env, client: Any, token: Any, receipt: Any, what: str) -> None:
    b = client.bank(token)
    emit(env, {**b.as_dict(), "tx": _tx(receipt)}, f"{what}; {_bank_text(client, b)}; tx {_tx(receipt)}")


@interbank.command("settle-early")
@_NETWORK_OPTION
@_BANK_OPTION
@click.option("--amount", required=True, help="Currency units of the bank's debit to settle now.")
@signer_options
@pass_env
def settle_early(env: Env, network_ref: str | None, bank: str, amount: str, signer: Any) -> None:
    """The bank's operator settles part of its debit now, out of its collateral (net mode)."""
    client = _client(env, network_ref)
    t = client.member(bank)
    receipt = client.settle_early(t, amount, sender=signer())
    _collateral_done(env, client, t, receipt, f"settled {t.format(t.units(amount))} early")


@interbank.command("settle")
@_NETWORK_OPTION
@signer_options
@pass_env
def settle(env: Env, network_ref: str | None, signer: Any) -> None:
    """The settlement operator closes the open cycle: every bank's collateral changes by its position (net mode)."""
    client = _client(env, network_ref)
    cycle = client.cycle()
    receipt = client.settle_cycle(sender=signer())
    [settled] = [c for c in client.cycles(from_block=receipt.block_number) if c.cycle == cycle]
    emit(env, {**settled.as_dict()}, _cycle_text(client, settled))


def _cycle_text(client: Any, c: Any) -> str:
    moves = ", ".join(f"{client.token(t).symbol} {'+' if p > 0 else '-'}{client.format_asset(abs(p))}"
                      for t, p in c.positions.items() if p) or "nothing owed"
    return f"cycle {c.cycle} settled: {moves}; tx {c.tx}"


@interbank.command("cycles")
@_NETWORK_OPTION
@click.option("--from-block", type=click.IntRange(min=0), help="Search from this block (default: the network's deploy block).")
@pass_env
def cycles(env: Env, network_ref: str | None, from_block: int | None) -> None:
    """The settled cycles and each bank's collateral change."""
    client = _client(env, network_ref)
    found = client.cycles(from_block=from_block)
    emit(env, [c.as_dict() for c in found], "\n".join(_cycle_text(client, c) for c in found) or "no settled cycles")


@interbank.command("join")
@_NETWORK_OPTION
@click.option("--bank", required=True, metavar="ADDRESS", help="The joining bank's deposit token.")
@click.option("--operator", required=True, help="The bank's operator (withdraws collateral, settles early).")
@signer_options
@pass_env
def join(env: Env, network_ref: str | None, bank: str, operator: str, signer: Any) -> None:
    """The network's admin admits a bank (same currency and decimals). The bank then grants the network the
    minter role with an allowance on its token and allowlists it."""
    client = _client(env, network_ref)
    t = client.token(bank)
    receipt = client.join(t, operator, sender=signer())
    b = client.bank(t)
    emit(env, {**b.as_dict(), "tx": _tx(receipt)}, f"{t.symbol} joined, operator {b.operator}; tx {_tx(receipt)}")


def _set_active(env: Env, network_ref: str | None, bank: str, active: bool, signer: Any) -> None:
    client = _client(env, network_ref)
    t = client.member(bank)
    receipt = client.set_bank_active(t, active, sender=signer())
    b = client.bank(t)
    emit(env, {**b.as_dict(), "tx": _tx(receipt)}, f"{_bank_text(client, b)}; tx {_tx(receipt)}")


@interbank.command("suspend")
@click.argument("bank", metavar="SYMBOL|ADDRESS")
@_NETWORK_OPTION
@signer_options
@pass_env
def suspend(env: Env, bank: str, network_ref: str | None, signer: Any) -> None:
    """The network's admin suspends a bank: it neither pays nor is paid (it still settles)."""
    _set_active(env, network_ref, bank, False, signer)


@interbank.command("readmit")
@click.argument("bank", metavar="SYMBOL|ADDRESS")
@_NETWORK_OPTION
@signer_options
@pass_env
def readmit(env: Env, bank: str, network_ref: str | None, signer: Any) -> None:
    """The network's admin readmits a suspended bank."""
    _set_active(env, network_ref, bank, True, signer)


@interbank.command("haircut")
@click.argument("bps")
@_NETWORK_OPTION
@signer_options
@pass_env
def haircut(env: Env, bps: str, network_ref: str | None, signer: Any) -> None:
    """The network's admin sets the haircut on collateral, in basis points (0 to 5000)."""
    client = _client(env, network_ref)
    receipt = client.set_haircut(bps, sender=signer())
    now = client.haircut_bps()
    emit(env, {"haircut_bps": now, "tx": _tx(receipt)}, f"haircut {now / 100:g}%; tx {_tx(receipt)}")
