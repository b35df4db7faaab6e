"""``deptoken htlc``: hashed time-locks, one leg of an atomic cross-chain settlement (``deptoken.settlement.htlc``).

    deptoken htlc secret                                             # a new preimage and its hashlock
    deptoken --network N htlc lock --token USD --to 0x... --amount 250.00 --hashlock 0x... --deadline +4h --as 7 --approve
    deptoken --network M htlc check LOCK_ID --role responder --token CNH --to 0xMe... --amount 1800.00 --hashlock 0x... --my-deadline T
    deptoken --network M htlc claim LOCK_ID --preimage 0x... --as 7
    deptoken --network N htlc refund LOCK_ID --as 7
    deptoken --network N htlc withdraw LOCK_ID --as 7               # a claim or refund the token could not pay at once
    deptoken --network N htlc show LOCK_ID                           # the lock, and the preimage once claimed
    deptoken --network N htlc positions 0xClient...                  # the client's open locks (before a key recovery)
    deptoken --network N htlc seize LOCK_ID --to 0xTreasury... --legal-order ORDER-2026-7 --as 4      # the token's legal role
    deptoken --network N htlc replace-party LOCK_ID --lost 0xOld... --replacement 0xNew... --as 4   # the token's legal role

``--htlc`` names the contract (default: the network's settlement record). ``--json`` output gives
amounts in minor units and byte strings as 0x-hex.
"""

from __future__ import annotations

from typing import Any

import click

from .env import Env, pass_env
from .settlement_support import connect, emit, registry, signer_options, token_client

_HTLC_OPTION = click.option("--htlc", "htlc_ref", metavar="ADDRESS", help="The HashedTimelock (default: the settlement record's).")


def _client(env: Env, htlc_ref: str | None, deploy_block: int | None = None) -> Any:
    """The HTLC client; event searches start at ``deploy_block``, by default the record's deploy block."""
    from ..settlement.htlc import HtlcClient
    from ..settlement.registry import resolve

    connect(env)
    record = registry(env)
    address = resolve(record, "htlc", htlc_ref)
    if deploy_block is None:
        deploy_block = record.deploy_block(address) if record else 0
    return HtlcClient.at(address, deploy_block=deploy_block)


def _lock_text(env: Env, info: Any) -> str:
    from ..times import format_expiry

    amount = token_client(env, info.token).format(info.amount)
    state = info.state if info.state in ("locked", "seized") else f"{info.state}, {'paid' if info.paid else 'not yet paid'}"
    return (f"lock 0x{info.lock_id.hex()} ({state}): {amount} from {info.sender} to {info.recipient}, "
            f"hashlock 0x{info.hashlock.hex()}, deadline {format_expiry(info.deadline)} on chain {info.chain_id}")


@click.group()
def htlc() -> None:
    """Hashed time-locks: lock with a hashlock and a deadline, claim with the preimage, refund after."""


def _done(env: Env, client: Any, lock_id: Any, receipt: Any) -> None:
    """Shows the lock as it stands after a transaction, with the transaction's hash."""
    info = client.lock_info(lock_id)
    emit(env, {**info.as_dict(), "tx": str(receipt.txn_hash)}, _lock_text(env, info))


@htlc.command("secret")
@pass_env
def secret(env: Env) -> None:
    """Makes a random 32-byte preimage and its hashlock (sha256). Keep the preimage to yourself
    until you claim: whoever knows it can claim every lock under the hashlock."""
    from ..settlement.htlc import hex32, new_secret

    preimage, hashlock = new_secret()
    emit(env, {"preimage": hex32(preimage), "hashlock": hex32(hashlock)},
         f"preimage {hex32(preimage)}\nhashlock {hex32(hashlock)}")


@htlc.command("lock")
@_HTLC_OPTION
@click.option("--token", "token_ref", required=True, help="Currency code (settlement record) or token address.")
@click.option("--to", "recipient", required=True, help="Who may claim the tokens with the preimage.")
@click.option("--amount", required=True, help="Currency units, e.g. 250.00")
@click.option("--hashlock", required=True, help="sha256 of the preimage (0x + 64 hex digits).")
@click.option("--deadline", required=True, help="Unix seconds, ISO 8601 (2026-05-01T12:00:00Z) or +N[s|m|h|d] from chain time.")
@click.option("--approve", is_flag=True, help="Approve the HTLC for the amount first if needed (a second transaction).")
@signer_options
@pass_env
def lock(env: Env, htlc_ref: str | None, token_ref: str, recipient: str, amount: str, hashlock: str, deadline: str,
         approve: bool, signer: Any) -> None:
    """Locks --amount of --token from the signer for --to until --deadline under --hashlock."""
    client = _client(env, htlc_ref)
    result = client.lock(token_client(env, token_ref), recipient, amount, hashlock, deadline, sender=signer(), approve=approve)
    info = client.lock_info(result.lock_id)
    emit(env, {**info.as_dict(), "tx": str(result.receipt.txn_hash)}, _lock_text(env, info))


@htlc.command("check")
@click.argument("lock_id")
@_HTLC_OPTION
@click.option("--role", type=click.Choice(["initiator", "responder"]), required=True,
              help="responder: you will lock the second leg; initiator: you made the secret and locked first.")
@click.option("--token", "token_ref", required=True, help="The token the lock must hold (currency code or address).")
@click.option("--to", "recipient", required=True, help="Your address: the lock's recipient.")
@click.option("--amount", required=True, help="The amount it must lock, currency units.")
@click.option("--hashlock", required=True, help="The agreed hashlock.")
@click.option("--my-deadline", required=True, help="The deadline of your own leg.")
@click.option("--margin", type=click.IntRange(min=0), default=None, help="Seconds between the legs' deadlines (default 3600).")
@click.option("--preimage", default=None, help="Initiator: your secret, checked to be 32 bytes and to hash to --hashlock.")
@pass_env
def check(env: Env, lock_id: str, htlc_ref: str | None, role: str, token_ref: str, recipient: str, amount: str,
          hashlock: str, my_deadline: str, margin: int | None, preimage: str | None) -> None:
    """Checks the other party's lock before you lock your leg or claim (exit 1 with the reason if unsafe)."""
    from ..settlement.htlc import DEFAULT_MARGIN

    client = _client(env, htlc_ref)
    info = client.check_counter_lock(lock_id, role=role, hashlock=hashlock, recipient=recipient,
                                     token=token_client(env, token_ref), amount=amount, my_deadline=my_deadline,
                                     margin=DEFAULT_MARGIN if margin is None else margin, preimage=preimage)
    emit(env, info.as_dict(), "OK: " + _lock_text(env, info))


@htlc.command("claim")
@click.argument("lock_id")
@_HTLC_OPTION
@click.option("--preimage", required=True, help="The secret: 0x + 64 hex digits.")
@signer_options
@pass_env
def claim(env: Env, lock_id: str, htlc_ref: str | None, preimage: str, signer: Any) -> None:
    """Claims LOCK_ID for its recipient with --preimage (anyone may send it); the preimage becomes public.
    The claim stands even if the token cannot pay now; `withdraw` pays it later."""
    client = _client(env, htlc_ref)
    receipt = client.claim(lock_id, preimage, sender=signer())
    _done(env, client, lock_id, receipt)


@htlc.command("refund")
@click.argument("lock_id")
@_HTLC_OPTION
@signer_options
@pass_env
def refund(env: Env, lock_id: str, htlc_ref: str | None, signer: Any) -> None:
    """Refunds LOCK_ID to its sender after its deadline (anyone may send it); `withdraw` pays it later
    if the token cannot pay now."""
    client = _client(env, htlc_ref)
    receipt = client.refund(lock_id, sender=signer())
    _done(env, client, lock_id, receipt)


@htlc.command("withdraw")
@click.argument("lock_id")
@_HTLC_OPTION
@signer_options
@pass_env
def withdraw(env: Env, lock_id: str, htlc_ref: str | None, signer: Any) -> None:
    """Pays a claimed LOCK_ID to its recipient, or a refunded one to its sender (anyone may send it)."""
    client = _client(env, htlc_ref)
    receipt = client.withdraw(lock_id, sender=signer())
    _done(env, client, lock_id, receipt)


@htlc.command("seize")
@click.argument("lock_id")
@_HTLC_OPTION
@click.option("--to", "beneficiary", required=True, help="Who receives the lock's funds under the legal order.")
@click.option("--legal-order", required=True, help="The legal order's reference (text, hashed; or 0x + 64 hex digits).")
@signer_options
@pass_env
def seize(env: Env, lock_id: str, htlc_ref: str | None, beneficiary: str, legal_order: str, signer: Any) -> None:
    """Legal exit: sends LOCK_ID's funds to --to and closes it as seized (the token's legal role)."""
    client = _client(env, htlc_ref)
    receipt = client.seize_lock(lock_id, beneficiary, legal_order, sender=signer())
    _done(env, client, lock_id, receipt)


@htlc.command("replace-party")
@click.argument("lock_id")
@_HTLC_OPTION
@click.option("--lost", required=True, help="The recovered (lost) address: the lock's sender or recipient.")
@click.option("--replacement", required=True, help="The client's new address (active on the token).")
@signer_options
@pass_env
def replace_party(env: Env, lock_id: str, htlc_ref: str | None, lost: str, replacement: str, signer: Any) -> None:
    """After a lost-key recovery, moves LOCK_ID's party --lost to --replacement (the token's legal role)."""
    client = _client(env, htlc_ref)
    receipt = client.replace_party(lock_id, lost, replacement, sender=signer())
    _done(env, client, lock_id, receipt)


@htlc.command("positions")
@click.argument("party")
@_HTLC_OPTION
@click.option("--from-block", type=click.IntRange(min=0), default=None,
              help="Where to start looking for locks [default: the HTLC's deploy block from the settlement record, else 0].")
@pass_env
def positions(env: Env, party: str, htlc_ref: str | None, from_block: int | None) -> None:
    """Lists PARTY's open locks (funds still in the HTLC), as sender or recipient."""
    client = _client(env, htlc_ref, deploy_block=from_block)
    found = client.open_positions(party)
    lines = [f"{p.position_id} {p.role} {p.state}: {token_client(env, p.token).format(p.amount)}" for p in found]
    emit(env, [p.as_dict() for p in found], "\n".join(lines) or f"no open locks for {party}")


@htlc.command("show")
@click.argument("lock_id")
@_HTLC_OPTION
@click.option("--from-block", type=click.IntRange(min=0), default=None,
              help="Where to look for the claim's event (any block before the claim) [default: the HTLC's deploy block from the settlement record, else 0].")
@pass_env
def show(env: Env, lock_id: str, htlc_ref: str | None, from_block: int | None) -> None:
    """Shows LOCK_ID, and the preimage its claim revealed."""
    from ..settlement.htlc import hex32

    client = _client(env, htlc_ref, deploy_block=from_block)
    info = client.lock_info(lock_id)
    preimage = client.find_preimage(info.lock_id)
    text = _lock_text(env, info) + (f"\npreimage {hex32(preimage)}" if preimage else "")
    emit(env, {**info.as_dict(), "preimage": hex32(preimage) if preimage else None}, text)
