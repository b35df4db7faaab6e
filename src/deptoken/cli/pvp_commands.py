"""``deptoken pvp``: FX payment-versus-payment between two banks' deposit tokens (``deptoken.settlement.pvp``).

    deptoken pvp quote --to 0xClient... --maker-token CNH --taker-token USD --taker-amount 1000.00 --rate 7.1234 \\
        --valid-for 120 --out quote.json --as 29          # the desk signs; sends quote.json to the client
    deptoken pvp verify quote.json [--taker 0xClient...]  # exit 1 with the reason if it would not settle
    deptoken pvp settle quote.json --as 28 [--approve]    # the client (taker) settles both legs at once
    deptoken pvp cancel-quote quote.json --as 29          # the desk withdraws it (or give the nonce)
    # across banks: the desk (CNH at C) is paid at its USD account at another bank, through the network
    deptoken pvp quote --via-network 0xNet... --receiver 0xDeskUSD... --to 0xSupplier... --maker-token CNH \
        --taker-token EXUSD --taker-amount 1000.00 --rate 7.1234 --out routed.json --as 29
    deptoken pvp verify routed.json --taker 0xSupplier... --from-token EXUSB --payee 0xManufacturer...
    deptoken pvp settle-across routed.json --from-token EXUSB --payee 0xManufacturer... --as 28 [--approve]
    deptoken pvp propose --to 0xBob... --give-token USD --give-amount 100.00 --want-token CNH --want-amount 712.34 \\
        --expires-in 3600 --as 7 [--approve]              # locks 100.00 USD until accepted, cancelled or expired
    deptoken pvp show ID                                  # prints the proposal's terms hash
    deptoken pvp accept ID --terms-hash 0x... --as 8 [--approve] | cancel ID --as 7 | expire ID --as 9
    # the bank: the legal role of the proposal's give token
    deptoken pvp positions 0xAlice...                     # open proposals of a client (before a recovery)
    deptoken pvp replace-party ID --lost 0xAlice... --replacement 0xAliceNew... --as 4
    deptoken pvp seize ID --to 0xTreasury... --legal-order COURT-ORDER-7 --as 4

``--pvp`` names the settlement contract (default: the network's settlement record); tokens are
currency codes of that record or addresses; the USD side of a routed quote (``--taker-token``,
``--from-token``) is a member of the interbank network, named by its symbol (``EXUSB``) or address. ``--json`` output gives amounts in minor units.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .env import Env, pass_env
from .settlement_support import connect, contract, emit, registry, signer_options, token_client

_PVP_OPTION = click.option("--pvp", "pvp_ref", metavar="ADDRESS", help="The PvPSettlement (default: the settlement record's).")


def _client(env: Env, pvp_ref: str | None) -> Any:
    from ..settlement.pvp import PvPClient

    connect(env)
    found = contract(env, "pvp", "PvPSettlement", pvp_ref)
    record = registry(env)
    return PvPClient(found, deploy_block=record.deploy_block(str(found.address)) if record else 0)


def _quote_text(client: Any, signed: Any) -> str:
    q = signed.quote
    from ..times import format_expiry

    give, pay = client.token(q.maker_token), client.token(q.taker_token)
    paid = f" paid to {q.receiver} through network {q.network}" if hasattr(q, "network") else ""
    return (f"quote 0x{q.nonce.hex()}: {q.maker} gives {give.format(q.maker_amount)} to {q.taker} for "
            f"{pay.format(q.taker_amount)}{paid} at {q.rate_text}, until {format_expiry(q.expiry)}")


def _quote_data(signed: Any, **extra: Any) -> dict[str, Any]:
    routed = {"payment_id": "0x" + signed.payment_id.hex()} if hasattr(signed, "payment_id") else {}
    return {**signed.quote.as_dict(), "digest": "0x" + signed.digest.hex(), **routed, **extra}


def _proposal_text(client: Any, p: Any) -> str:
    from ..times import format_expiry

    give, want = client.token(p.give_token), client.token(p.want_token)
    return (f"proposal #{p.id} ({p.status}): {p.proposer} gives {give.format(p.give_amount)} to {p.counterparty} "
            f"for {want.format(p.want_amount)}, until {format_expiry(p.expiry)}, terms hash 0x{p.terms_hash.hex()}")


def _signed_file(path: str) -> Any:
    """A signed quote file: a ``SignedRoutedQuote`` if its primary type is ``RoutedQuote``, else a ``SignedQuote``."""
    import json

    from ..settlement.pvp import ROUTED_QUOTE, SignedQuote, SignedRoutedQuote

    try:
        routed = json.loads(Path(path).read_text())["typedData"]["primaryType"] == ROUTED_QUOTE
    except (OSError, ValueError, KeyError, TypeError):
        routed = False  # SignedQuote.load says what is wrong with the file
    return (SignedRoutedQuote if routed else SignedQuote).load(path)


def _load(env: Env, path: str, pvp_ref: str | None) -> tuple[Any, Any]:
    signed = _signed_file(path)
    return _client(env, pvp_ref or signed.domain["verifyingContract"]), signed


def _member(client: Any, network: Any, ref: str) -> Any:
    """The network's member token ``ref`` (symbol or address), as the PvP client's ``TokenClient``."""
    return client.token(network.member(ref))


@click.group()
def pvp() -> None:
    """FX payment-versus-payment: signed quotes settled in one transaction, or two-step proposals."""


@pvp.command("quote")
@_PVP_OPTION
@click.option("--to", "taker", required=True, help="The taker: the only account that may settle the quote.")
@click.option("--maker", help="The maker if not the signer: the desk's ERC-1271 wallet the signer's key signs for.")
@click.option("--maker-token", required=True, help="The token the maker gives (currency code or address).")
@click.option("--taker-token", required=True, help="The token the taker pays (currency code or address).")
@click.option("--taker-amount", required=True, help="What the taker pays, currency units, e.g. 1000.00")
@click.option("--rate", required=True, help="Maker currency units per taker unit, e.g. 7.1234 (at most 18 decimals).")
@click.option("--valid-for", type=click.IntRange(min=1), default=300, show_default=True, help="Seconds from chain time.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="File to write the signed quote to.")
@click.option("--via-network", "network_ref", metavar="ADDRESS",
              help="A routed quote: the taker pays through this interbank network (--taker-token one of its members).")
@click.option("--receiver", help="With --via-network: the desk's account at --taker-token's bank that is paid.")
@signer_options
@pass_env
def quote(env: Env, pvp_ref: str | None, taker: str, maker: str | None, maker_token: str, taker_token: str,
          taker_amount: str, rate: str, valid_for: int, out: str, network_ref: str | None, receiver: str | None,
          signer: Any) -> None:
    """The desk signs a quote: it gives TAKER-AMOUNT x RATE (rounded down) of --maker-token for --taker-amount.
    With --via-network and --receiver, a quote across banks (settled with settle-across)."""
    from ..settlement.pvp import build_quote, build_routed_quote, sign_quote, sign_routed_quote

    path = Path(out)
    if path.exists():
        raise click.UsageError(f"{path} exists: choose another --out")
    if (network_ref is None) != (receiver is None):
        raise click.UsageError("--via-network and --receiver go together")
    client = _client(env, pvp_ref)
    give = client.token(token_client(env, maker_token))
    who = signer()
    if network_ref is not None:
        network = client.network(network_ref)
        pay = _member(client, network, taker_token)
        routed = build_routed_quote(client, maker or who, receiver, taker, give, pay, taker_amount, rate, network=network,
                                    expiry_seconds=valid_for)
        signed: Any = sign_routed_quote(who, client, routed)
        signed.save(path)
        emit(env, _quote_data(signed, file=str(path)), f"{_quote_text(client, signed)}: signed, {path}")
        return
    pay = client.token(token_client(env, taker_token))
    q = build_quote(client, maker or who, taker, give, pay, taker_amount, rate, expiry_seconds=valid_for)
    signed = sign_quote(who, client, q)
    signed.save(path)
    emit(env, _quote_data(signed, file=str(path)), f"{_quote_text(client, signed)}: signed, {path}")


@pvp.command("verify")
@click.argument("path", type=click.Path(dir_okay=False))
@_PVP_OPTION
@click.option("--taker", help="Also check the taker's side (allowlists, balances, allowances) as settle would.")
@click.option("--from-token", metavar="SYMBOL|ADDRESS", help="A routed quote, with --taker: the token the taker pays from.")
@click.option("--payee", help="A routed quote, with --taker: who receives the maker's amount.")
@pass_env
def verify(env: Env, path: str, pvp_ref: str | None, taker: str | None, from_token: str | None, payee: str | None) -> None:
    """Checks a signed quote file as the contract would (exit 1 and the reason if it would fail)."""
    from ..settlement.pvp import SignedRoutedQuote, verify_quote

    client, signed = _load(env, path, pvp_ref)
    if isinstance(signed, SignedRoutedQuote):
        if taker is not None and (from_token is None or payee is None):
            raise click.UsageError("a routed quote's taker side needs --from-token and --payee too")
        network = client.network(signed.quote.network)
        frm = _member(client, network, from_token) if from_token else None
        client.verify_routed(signed, from_token=frm, payee=payee, sender=taker, network=network)
    else:
        verify_quote(client, signed, sender=taker)
    emit(env, _quote_data(signed), f"{_quote_text(client, signed)}: valid now")


@pvp.command("settle")
@click.argument("path", type=click.Path(dir_okay=False))
@_PVP_OPTION
@click.option("--approve", is_flag=True, help="Approve the settlement contract for your leg first if needed.")
@signer_options
@pass_env
def settle(env: Env, path: str, pvp_ref: str | None, approve: bool, signer: Any) -> None:
    """The taker settles a signed quote file: both legs in one transaction."""
    from ..settlement.pvp import SignedRoutedQuote

    client, signed = _load(env, path, pvp_ref)
    if isinstance(signed, SignedRoutedQuote):
        raise click.UsageError(f"{path} is a routed quote: settle it with settle-across")
    receipt = client.settle(signed, sender=signer(), approve=approve)
    emit(env, _quote_data(signed, tx=str(receipt.txn_hash)), f"{_quote_text(client, signed)}: settled, tx {receipt.txn_hash}")


@pvp.command("settle-across")
@click.argument("path", type=click.Path(dir_okay=False))
@_PVP_OPTION
@click.option("--from-token", required=True, metavar="SYMBOL|ADDRESS", help="Your own bank's token, a member of the quote's network.")
@click.option("--payee", required=True, help="Who receives the maker's amount (a client of its bank; may be you).")
@click.option("--approve", is_flag=True, help="Approve the settlement contract for your leg first if needed.")
@signer_options
@pass_env
def settle_across(env: Env, path: str, pvp_ref: str | None, from_token: str, payee: str, approve: bool, signer: Any) -> None:
    """The taker settles a routed quote file across banks: the maker's amount to --payee, yours through the
    quote's interbank network to the desk's account (a plain transfer if that is at your own bank), at once."""
    from ..settlement.pvp import SignedRoutedQuote
    from ..validation import address_of

    payee = address_of(payee, "payee")
    client, signed = _load(env, path, pvp_ref)
    if not isinstance(signed, SignedRoutedQuote):
        raise click.UsageError(f"{path} is a quote within one pair of tokens: settle it with settle")
    network = client.network(signed.quote.network)
    frm = _member(client, network, from_token)
    receipt = client.settle_through_network(signed, from_token=frm, payee=payee, sender=signer(), network=network, approve=approve)
    emit(env, _quote_data(signed, from_token=frm.address, payee=payee, tx=str(receipt.txn_hash)),
         f"{_quote_text(client, signed)}: settled from {frm.symbol}, {client.token(signed.quote.maker_token).symbol} to {payee}, "
         f"payment 0x{signed.payment_id.hex()}, tx {receipt.txn_hash}")


@pvp.command("cancel-quote")
@click.argument("quote_ref", metavar="FILE|NONCE")
@_PVP_OPTION
@signer_options
@pass_env
def cancel_quote(env: Env, quote_ref: str, pvp_ref: str | None, signer: Any) -> None:
    """The maker withdraws a quote (its file, or its nonce 0x + 64 hex digits) not yet settled."""
    from ..settlement.pvp import parse_nonce

    if Path(quote_ref).is_file():
        signed = _signed_file(quote_ref)
        nonce, pvp_ref = signed.quote.nonce, pvp_ref or signed.domain["verifyingContract"]
    else:
        nonce = parse_nonce(quote_ref)
    client = _client(env, pvp_ref)
    receipt = client.cancel_quote(nonce, sender=signer())
    emit(env, {"nonce": "0x" + nonce.hex(), "tx": str(receipt.txn_hash)}, f"quote 0x{nonce.hex()} cancelled, tx {receipt.txn_hash}")


@pvp.command("propose")
@_PVP_OPTION
@click.option("--to", "counterparty", required=True, help="The counterparty: the only account that may accept.")
@click.option("--give-token", required=True, help="The token you give and lock now (currency code or address).")
@click.option("--give-amount", required=True, help="Currency units.")
@click.option("--want-token", required=True, help="The token you want in exchange.")
@click.option("--want-amount", required=True, help="Currency units.")
@click.option("--expires-in", type=click.IntRange(min=1), help="Seconds from chain time.")
@click.option("--expiry", help="Unix seconds or YYYY-MM-DD (through that day, UTC).")
@click.option("--approve", is_flag=True, help="Approve the settlement contract for the amount first if needed.")
@signer_options
@pass_env
def propose(env: Env, pvp_ref: str | None, counterparty: str, give_token: str, give_amount: str, want_token: str,
            want_amount: str, expires_in: int | None, expiry: str | None, approve: bool, signer: Any) -> None:
    """Locks --give-amount for --to, against --want-amount, until accepted, cancelled or expired."""
    client = _client(env, pvp_ref)
    give, want = token_client(env, give_token), token_client(env, want_token)
    pid, receipt = client.propose(counterparty, give, give_amount, want, want_amount, expiry=expiry, expires_in=expires_in,
                                  sender=signer(), approve=approve)
    p = client.proposal(pid)
    emit(env, {**p.as_dict(), "tx": str(receipt.txn_hash)}, f"{_proposal_text(client, p)}: tx {receipt.txn_hash}")


def _close(env: Env, action: str, proposal_id: str, pvp_ref: str | None, signer: Any, **kwargs: Any) -> None:
    client = _client(env, pvp_ref)
    receipt = getattr(client, action)(proposal_id, sender=signer(), **kwargs)
    p = client.proposal(proposal_id)
    emit(env, {**p.as_dict(), "tx": str(receipt.txn_hash)}, f"{_proposal_text(client, p)}: tx {receipt.txn_hash}")


@pvp.command("accept")
@click.argument("proposal_id")
@_PVP_OPTION
@click.option("--approve", is_flag=True, help="Approve the settlement contract for the wanted amount first if needed.")
@click.option("--terms-hash", metavar="0x...", help="The terms hash `show` printed: refused if the proposal's terms changed since.")
@signer_options
@pass_env
def accept(env: Env, proposal_id: str, pvp_ref: str | None, approve: bool, terms_hash: str | None, signer: Any) -> None:
    """The counterparty accepts: pays the wanted amount, receives the locked one, at once (only the terms it read)."""
    _close(env, "accept", proposal_id, pvp_ref, signer, approve=approve, terms_hash=terms_hash)


@pvp.command("cancel")
@click.argument("proposal_id")
@_PVP_OPTION
@signer_options
@pass_env
def cancel(env: Env, proposal_id: str, pvp_ref: str | None, signer: Any) -> None:
    """The proposer cancels an open proposal and takes the locked amount back."""
    _close(env, "cancel", proposal_id, pvp_ref, signer)


@pvp.command("expire")
@click.argument("proposal_id")
@_PVP_OPTION
@signer_options
@pass_env
def expire(env: Env, proposal_id: str, pvp_ref: str | None, signer: Any) -> None:
    """Returns an expired, unaccepted proposal's locked amount to its proposer (anyone may send it)."""
    _close(env, "expire", proposal_id, pvp_ref, signer)


@pvp.command("show")
@click.argument("proposal_id")
@_PVP_OPTION
@pass_env
def show(env: Env, proposal_id: str, pvp_ref: str | None) -> None:
    """Shows a proposal."""
    client = _client(env, pvp_ref)
    p = client.proposal(proposal_id)
    emit(env, p.as_dict(), _proposal_text(client, p))


@pvp.command("seize")
@click.argument("proposal_id")
@_PVP_OPTION
@click.option("--to", "to", required=True, help="Who receives the locked amount (e.g. the bank's treasury).")
@click.option("--legal-order", required=True, help="The legal order's reference (text, hashed; or 0x + 64 hex digits).")
@signer_options
@pass_env
def seize(env: Env, proposal_id: str, pvp_ref: str | None, to: str, legal_order: str, signer: Any) -> None:
    """Legal exit (the give token's legal role): moves one open proposal's locked amount to --to and closes it."""
    client = _client(env, pvp_ref)
    receipt = client.seize(proposal_id, to, legal_order, sender=signer())
    p = client.proposal(proposal_id)
    emit(env, {**p.as_dict(), "to": to, "tx": str(receipt.txn_hash)}, f"{_proposal_text(client, p)}: seized to {to}, tx {receipt.txn_hash}")


@pvp.command("replace-party")
@click.argument("proposal_id")
@_PVP_OPTION
@click.option("--lost", required=True, help="The party's lost address (proposer or counterparty).")
@click.option("--replacement", required=True, help="Its replacement address (active on both tokens).")
@signer_options
@pass_env
def replace_party(env: Env, proposal_id: str, pvp_ref: str | None, lost: str, replacement: str, signer: Any) -> None:
    """After a lost-key recovery (the give token's legal role): the replacement takes the lost address's place."""
    client = _client(env, pvp_ref)
    receipt = client.replace_party(proposal_id, lost, replacement, sender=signer())
    p = client.proposal(proposal_id)
    emit(env, {**p.as_dict(), "tx": str(receipt.txn_hash)}, f"{_proposal_text(client, p)}: tx {receipt.txn_hash}")


@pvp.command("positions")
@click.argument("party")
@_PVP_OPTION
@pass_env
def positions(env: Env, party: str, pvp_ref: str | None) -> None:
    """A party's open proposals (proposer or counterparty) and what the contract holds for each."""
    client = _client(env, pvp_ref)
    found = client.open_positions(party)
    lines = [f"proposal #{x.position_id}: {x.role}, {client.token(x.token).format(x.amount)} held" for x in found]
    emit(env, [x.as_dict() for x in found], "\n".join(lines) or f"{party}: no open proposal")
