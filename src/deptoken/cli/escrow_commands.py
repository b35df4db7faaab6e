"""``deptoken escrow``: order protection for marketplace payments (``deptoken.settlement.escrow``).

    deptoken escrow fund --escrow USD --order ORDER-1001 --seller 0x... --amount 125.50 --ship-by +7d \\
        --confirm-window 3d --as 7 [--approve]                 # the buyer pays in (approve path); prints the key
    deptoken escrow sign-funding --escrow USD --order ORDER-1001 --seller 0x... --amount 125.50 --ship-by +7d \\
        --confirm-window 3d --out order-1001.json --as 7       # the buyer's one signature, no gas; prints the key
    deptoken escrow fund --authorization order-1001.json --as 30   # the marketplace submits it
    deptoken escrow ship 0xKEY --shipment TRACK-1Z999 --as 8   # shipping takes the key of the terms agreed
    deptoken escrow confirm ORDER-1001 --as 7                  # or, after the confirm deadline, anyone:
    deptoken escrow release ORDER-1001 --as 30
    deptoken escrow refund ORDER-1001 --as 30                  # not shipped by the ship-by time
    deptoken escrow dispute ORDER-1001 --reason "damaged" --as 7
    deptoken escrow resolve ORDER-1001 --buyer-amount 25.00 --as 31   # an arbiter splits
    deptoken escrow seize 0xKEY --to 0x... --legal-order COURT-2026-17 --as 4     # the token's legal role
    deptoken escrow replace-party 0xKEY --lost 0x... --replacement 0x... --as 4  # after a key recovery
    deptoken escrow show ORDER-1001
    deptoken escrow payouts ORDER-1001 [--buyer-amount 25.00]  # where settling it pays (bank, payment id)
    deptoken escrow set-network --interbank 0x... --as 30      # the admin connects the interbank network (--none: off)
    deptoken escrow payout-bank --seller 0x...                 # a seller's payout bank
    deptoken escrow payout-bank --set EXUSB --as 8             # the seller (signer) is paid at bank B from now on
    deptoken escrow payout-bank --set here --as 8              # back to the escrow's own token
    deptoken escrow set-fee-recipient --recipient 0x... --bank EXUSB --as 30   # the admin: fees paid at bank B

``--escrow`` names the escrow by its token's currency (the network's settlement record) or its
address. An order is named by its key (``0x`` + 64 hex: the hash of its terms, printed by ``fund``
and ``sign-funding``) or, except for ``ship``, by the marketplace's reference (text), looked up in
the escrow's ``OrderFunded`` events and refused unless exactly one order carries it: anyone can fund
an order of its own under any reference, so a seller ships only against the key of the terms it
agreed to. Shipment references, dispute reasons and legal order references are text (recorded as
keccak-256) or ``0x`` + 64 hex. ``--json`` output gives amounts in minor units. The bank must have
allowlisted the escrow on its token (see ``deptoken.settlement.settlement_deployer``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .env import Env, pass_env
from .settlement_support import connect, contract, emit, registry, signer_options

_ESCROW_OPTION = click.option("--escrow", "escrow_ref", metavar="CURRENCY|ADDRESS",
                              help="The TradeEscrow: its token's currency (settlement record) or its address.")


def _client(env: Env, escrow_ref: str | None) -> Any:
    from ..errors import DepositTokenError
    from ..settlement.escrow import EscrowClient

    if not escrow_ref:
        raise DepositTokenError("give the escrow with --escrow CURRENCY or --escrow 0x...")
    connect(env)
    found = contract(env, "escrow", "TradeEscrow", escrow_ref)
    record = registry(env)  # event searches (find_orders, open_positions) start at the escrow's deploy block
    return EscrowClient(found, deploy_block=record.deploy_block(str(found.address)) if record else 0)


def _key(client: Any, order: str, *, key_only: bool = False) -> str:
    """The key of ORDER: the key itself (0x + 64 hex), or the one order funded under that marketplace reference."""
    from ..errors import DepositTokenError
    from ..validation import parse_bytes32

    if order.strip().startswith("0x"):
        return "0x" + parse_bytes32(order, "order key").hex()
    if key_only:
        raise DepositTokenError(f"give the order key (0x + 64 hex, from the terms agreed), not the reference {order!r}")
    keys = client.find_orders(order)
    if len(keys) != 1:
        found = "no order" if not keys else f"{len(keys)} orders ({', '.join(keys)})"
        raise DepositTokenError(f"{found} funded under the reference {order!r}: give the order key")
    return keys[0]


def _order_data(client: Any, o: Any, **extra: Any) -> dict[str, Any]:
    return {
        "escrow": client.address,
        "order_key": o.key,
        "state": o.state,
        "buyer": o.buyer,
        "seller": o.seller,
        "amount": client.token.units(o.amount),
        "fee_bps": o.fee_bps,
        "ship_by": o.ship_by,
        "confirm_window": o.confirm_window,
        "confirm_deadline": o.confirm_deadline,
        **extra,
    }


def _order_text(client: Any, o: Any) -> str:
    from ..times import format_expiry

    clock = f"ship by {format_expiry(o.ship_by)}"
    if o.confirm_deadline:
        clock = f"shipped, confirm by {format_expiry(o.confirm_deadline)}"
    return (f"order {o.key} ({o.state}): {client.token.format_decimal(o.amount)} from {o.buyer} to {o.seller}, "
            f"fee {o.fee_bps / 100:g}%, {clock}")


def _done(env: Env, client: Any, order: Any, receipt: Any) -> None:
    o = client.order(order)
    emit(env, _order_data(client, o, tx=str(receipt.txn_hash)), f"{_order_text(client, o)}; tx {receipt.txn_hash}")


def _terms_options(function: Any) -> Any:
    for option in reversed((
        click.option("--order", "order_id", required=True, help="The marketplace's order id (text or 0x + 64 hex)."),
        click.option("--buyer", help="The buyer if not the signer (an ERC-1271 wallet the signer's key signs for)."),
        click.option("--seller", required=True, help="The seller's address."),
        click.option("--amount", required=True, help="Currency units, e.g. 125.50"),
        click.option("--ship-by", required=True, help="Unix seconds, YYYY-MM-DD (through that day, UTC), ISO 8601 or +N[s|m|h|d|w]."),
        click.option("--confirm-window", required=True, help="Seconds, or N[m|h|d|w], the buyer has after shipment."),
    )):
        function = option(function)
    return function


@click.group()
def escrow() -> None:
    """Trade escrow: the buyer funds, the seller ships, the buyer confirms (or time passes); refunds and disputes."""


@escrow.command("fund")
@_ESCROW_OPTION
@click.option("--authorization", "authorization", type=click.Path(dir_okay=False),
              help="Submit the buyer's signed funding file (from sign-funding) instead; any signer pays the gas.")
@click.option("--order", "order_id", help="The marketplace's order id (text or 0x + 64 hex).")
@click.option("--seller", help="The seller's address.")
@click.option("--amount", help="Currency units, e.g. 125.50")
@click.option("--ship-by", help="Unix seconds, YYYY-MM-DD (through that day, UTC), ISO 8601 or +N[s|m|h|d|w].")
@click.option("--confirm-window", help="Seconds, or N[m|h|d|w], the buyer has after shipment.")
@click.option("--approve", is_flag=True, help="Approve the escrow for the amount first if needed (a second transaction).")
@signer_options
@pass_env
def fund(env: Env, escrow_ref: str | None, authorization: str | None, order_id: str | None, seller: str | None,
         amount: str | None, ship_by: str | None, confirm_window: str | None, approve: bool, signer: Any) -> None:
    """The buyer (the signer) funds an order, or anyone submits a buyer's signed funding (--authorization)."""
    terms_given = [order_id, seller, amount, ship_by, confirm_window]
    if authorization:
        from ..settlement.escrow import SignedFunding

        if any(v is not None for v in terms_given) or approve:
            raise click.UsageError("--authorization carries the order's terms: give no --order/--seller/--amount/--ship-by/--confirm-window/--approve")
        signed = SignedFunding.load(authorization)
        client = _client(env, escrow_ref or signed.escrow)
        receipt = client.fund_with_authorization(signed, sender=signer())
        _done(env, client, signed.terms, receipt)
        return
    if any(v is None for v in terms_given):
        raise click.UsageError("give --order, --seller, --amount, --ship-by and --confirm-window (or --authorization FILE)")
    client = _client(env, escrow_ref)
    buyer = signer()
    terms = client.terms(order_id, buyer, seller, amount, ship_by=ship_by, confirm_window=confirm_window)
    _done(env, client, terms, client.fund(terms, sender=buyer, approve=approve))


@escrow.command("sign-funding")
@_ESCROW_OPTION
@_terms_options
@click.option("--valid-for", type=click.IntRange(min=1), default=3600, show_default=True, help="Seconds from chain time.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="File to write the signed funding to.")
@signer_options
@pass_env
def sign_funding(env: Env, escrow_ref: str | None, order_id: str, buyer: str | None, seller: str, amount: str, ship_by: str,
                 confirm_window: str, valid_for: int, out: str, signer: Any) -> None:
    """The buyer signs the funding of an order (EIP-3009, bound to its terms; no gas): for the marketplace to submit."""
    path = Path(out)
    if path.exists():
        raise click.UsageError(f"{path} exists: choose another --out")
    client = _client(env, escrow_ref)
    who = signer()
    terms = client.terms(order_id, buyer or who, seller, amount, ship_by=ship_by, confirm_window=confirm_window)
    signed = client.sign_funding_authorization(who, terms, valid_for)
    signed.save(path)
    m = signed.authorization.message
    key = "0x" + client.order_key(terms).hex()
    data = {"escrow": client.address, "file": str(path), "order_key": key, **terms.to_dict(), "validBefore": m["validBefore"]}
    emit(env, data, f"funding of order {key} ({client.token.format(terms.amount)} to {terms.seller}) signed: {path}")


@escrow.command("ship")
@click.argument("order")
@_ESCROW_OPTION
@click.option("--shipment", required=True, help="The shipment's reference, e.g. the carrier's tracking number.")
@signer_options
@pass_env
def ship(env: Env, order: str, escrow_ref: str | None, shipment: str, signer: Any) -> None:
    """The seller marks the order with key ORDER shipped (by its ship-by time); the buyer's confirm window starts."""
    client = _client(env, escrow_ref)
    key = _key(client, order, key_only=True)
    _done(env, client, key, client.ship(key, shipment, sender=signer()))


@escrow.command("confirm")
@click.argument("order")
@_ESCROW_OPTION
@signer_options
@pass_env
def confirm(env: Env, order: str, escrow_ref: str | None, signer: Any) -> None:
    """The buyer confirms receipt of ORDER: the seller is paid, less the fee."""
    client = _client(env, escrow_ref)
    key = _key(client, order)
    _done(env, client, key, client.confirm(key, sender=signer()))


@escrow.command("release")
@click.argument("order")
@_ESCROW_OPTION
@signer_options
@pass_env
def release(env: Env, order: str, escrow_ref: str | None, signer: Any) -> None:
    """Pays the seller of ORDER after its confirm deadline (anyone may send it)."""
    client = _client(env, escrow_ref)
    key = _key(client, order)
    _done(env, client, key, client.release(key, sender=signer()))


@escrow.command("refund")
@click.argument("order")
@_ESCROW_OPTION
@signer_options
@pass_env
def refund(env: Env, order: str, escrow_ref: str | None, signer: Any) -> None:
    """Refunds the buyer of ORDER, not shipped by its ship-by time (anyone may send it)."""
    client = _client(env, escrow_ref)
    key = _key(client, order)
    _done(env, client, key, client.refund(key, sender=signer()))


@escrow.command("dispute")
@click.argument("order")
@_ESCROW_OPTION
@click.option("--reason", help="The party's statement or its reference (recorded as its hash).")
@signer_options
@pass_env
def dispute(env: Env, order: str, escrow_ref: str | None, reason: str | None, signer: Any) -> None:
    """The buyer or the seller disputes ORDER while its clock runs; an arbiter will split the funds."""
    client = _client(env, escrow_ref)
    key = _key(client, order)
    _done(env, client, key, client.dispute(key, reason, sender=signer()))


@escrow.command("resolve")
@click.argument("order")
@_ESCROW_OPTION
@click.option("--buyer-amount", required=True, help="The buyer's part, currency units (0 to the order's amount).")
@signer_options
@pass_env
def resolve(env: Env, order: str, escrow_ref: str | None, buyer_amount: str, signer: Any) -> None:
    """An arbiter splits disputed ORDER: --buyer-amount to the buyer, the rest to the seller less the fee."""
    client = _client(env, escrow_ref)
    key = _key(client, order)
    _done(env, client, key, client.resolve(key, buyer_amount, sender=signer()))


@escrow.command("show")
@click.argument("order")
@_ESCROW_OPTION
@pass_env
def show(env: Env, order: str, escrow_ref: str | None) -> None:
    """Shows ORDER (key, or a marketplace reference carried by one order) as the escrow records it."""
    client = _client(env, escrow_ref)
    o = client.order(_key(client, order))
    emit(env, _order_data(client, o), _order_text(client, o))


@escrow.command("seize")
@click.argument("order")
@_ESCROW_OPTION
@click.option("--to", "to", required=True, help="Who receives the order's funds (named by the legal order).")
@click.option("--legal-order", required=True, help="The legal order's reference (text, hashed; or 0x + 64 hex digits).")
@signer_options
@pass_env
def seize(env: Env, order: str, escrow_ref: str | None, to: str, legal_order: str, signer: Any) -> None:
    """The token's legal role closes open ORDER (key): its whole amount goes to --to; other orders are untouched."""
    client = _client(env, escrow_ref)
    key = _key(client, order, key_only=True)
    _done(env, client, key, client.seize_order(key, to, legal_order, sender=signer()))


@escrow.command("replace-party")
@click.argument("order")
@_ESCROW_OPTION
@click.option("--lost", required=True, help="The order's buyer or seller whose key was lost (recovered on the token).")
@click.option("--replacement", required=True, help="Its replacement address (allowlisted).")
@signer_options
@pass_env
def replace_party(env: Env, order: str, escrow_ref: str | None, lost: str, replacement: str, signer: Any) -> None:
    """The token's legal role moves the buyer or seller --lost of open ORDER (key) to --replacement."""
    client = _client(env, escrow_ref)
    key = _key(client, order, key_only=True)
    _done(env, client, key, client.replace_party(key, lost, replacement, sender=signer()))


@escrow.command("payouts")
@click.argument("order")
@_ESCROW_OPTION
@click.option("--buyer-amount", default="0", show_default=True, help="The buyer's part of a split (resolve).")
@pass_env
def payouts(env: Env, order: str, escrow_ref: str | None, buyer_amount: str) -> None:
    """Where settling ORDER pays now: each payee, its bank's token and, across banks, the network payment id."""
    client = _client(env, escrow_ref)
    key = _key(client, order)
    plan = client.payouts(key, buyer_amount)
    data = {"escrow": client.address, "order_key": key,
            "payouts": [{**p.as_dict(), "amount": client.token.units(p.amount, allow_zero=True)} for p in plan]}
    lines = [f"{p.who} {p.payee}: {p.amount} {p.symbol}" + (f" through the network, payment id {p.payment_id}" if p.payment_id else " by transfer")
             for p in plan]
    emit(env, data, f"order {key}: " + ("; ".join(lines) if lines else "nothing to pay"))


@escrow.command("set-network")
@_ESCROW_OPTION
@click.option("--interbank", "network_ref", metavar="ADDRESS", envvar="DEPTOKEN_INTERBANK",
              help="The InterbankNetwork (default: $DEPTOKEN_INTERBANK, else the settlement record's).")
@click.option("--none", "disconnect", is_flag=True, help="Disconnect: no payouts at other banks.")
@signer_options
@pass_env
def set_network(env: Env, escrow_ref: str | None, network_ref: str | None, disconnect: bool, signer: Any) -> None:
    """The escrow's admin connects it to the interbank network for payouts at other banks (or --none)."""
    from ..errors import DepositTokenError

    client = _client(env, escrow_ref)
    if disconnect:
        if network_ref:
            raise click.UsageError("give --interbank or --none, not both")
        address = None
    else:
        record = registry(env)
        address = network_ref or (getattr(record, "interbank", None) if record else None)
        if not address:
            raise DepositTokenError("give the interbank network with --interbank 0x... (no settlement record entry), or --none")
    receipt = client.set_network(address, sender=signer())
    network = client.network()
    shown = network.address if network else None
    emit(env, {"escrow": client.address, "network": shown, "tx": str(receipt.txn_hash)},
         f"escrow {client.address}: " + (f"pays at other banks through {shown}" if shown else "no interbank network") + f"; tx {receipt.txn_hash}")


def _bank_data(client: Any, account: str, token: str) -> tuple[dict[str, Any], str]:
    t = client.token_at(token)
    here = token == client.token.address
    data = {"escrow": client.address, "account": account, "payout_token": token, "symbol": t.symbol, "cross_bank": not here}
    how = "by transfer here" if here else "through the interbank network"
    return data, f"{account} is paid in {t.symbol} {token} ({how})"


@escrow.command("payout-bank")
@_ESCROW_OPTION
@click.option("--seller", "account", help="Show this seller's payout bank (default: the signer's).")
@click.option("--set", "new_bank", metavar="SYMBOL|ADDRESS|here",
              help="The signer (a seller) is paid at this member bank's token from now on; 'here': the escrow's token.")
@signer_options
@pass_env
def payout_bank(env: Env, escrow_ref: str | None, account: str | None, new_bank: str | None, signer: Any) -> None:
    """Shows a seller's payout bank, or (--set) the signer names its own: a member bank of the escrow's network."""
    from ..validation import address_of, parse_address

    client = _client(env, escrow_ref)
    if new_bank is None:
        who = parse_address(account, "account") if account else address_of(signer(), "signer")
        data, text = _bank_data(client, who, client.payout_token(who))
        emit(env, data, text)
        return
    if account:
        raise click.UsageError("--set names the signer's own payout bank: give no --seller")
    seller = signer()
    receipt = client.set_payout_bank(None if new_bank.strip().lower() == "here" else new_bank, sender=seller)
    who = address_of(seller, "signer")
    data, text = _bank_data(client, who, client.payout_token(who))
    emit(env, {**data, "tx": str(receipt.txn_hash)}, f"{text}; tx {receipt.txn_hash}")


@escrow.command("set-fee-recipient")
@_ESCROW_OPTION
@click.option("--recipient", required=True, help="The fee account.")
@click.option("--bank", default="here", show_default=True, metavar="SYMBOL|ADDRESS|here",
              help="The fee account's bank: a member of the escrow's network, or 'here' (the escrow's token).")
@signer_options
@pass_env
def set_fee_recipient(env: Env, escrow_ref: str | None, recipient: str, bank: str, signer: Any) -> None:
    """The escrow's admin moves the fees to --recipient at --bank (the rate stays)."""
    client = _client(env, escrow_ref)
    receipt = client.set_fee_recipient(recipient, None if bank.strip().lower() == "here" else bank, sender=signer())
    who, bps = client.fee()
    data, text = _bank_data(client, who, client.fee_payout_token())
    emit(env, {**data, "fee_bps": bps, "tx": str(receipt.txn_hash)}, f"fees ({bps / 100:g}%): {text}; tx {receipt.txn_hash}")
