"""The bank's attester service: follows a source chain's messenger, attests each confirmed message by the
bank's policy, shares the attestation with the other attesters and relays, all restartable.

One pass (:func:`follow_once`):

1. settles the outbox (a relay killed between signing and broadcast, or with its receipt not stored: the
   same transaction runs once, or is proven void);
2. reads the messenger's ``MessageSent`` events from the ledger's cursor (``crosschain_cursors``) up to the
   newest block with ``confirmations`` (the block of the send counts as one). A reorg that replaced the
   cursor's block (deeper than the confirmations) is seen by its hash: the last ``REORG_WINDOW`` blocks are
   read again. A message a reorg took away before it was confirmed is never attested: each attestation
   reads the message from the chain as it is then (``relay.attest_message``);
3. for each new message, and each one this attester signed that is not final yet: attests it (a transfer
   attestation; a refund one once the destination refused it), writes the attestation to the shared
   directory (``share``: ``<message id>-<kind>-<signer>.json``, what ``deptoken xchain attest --json``
   prints), and, if it relays, submits what the message needs next with the attestations found there
   (``relay.relay_message``: ``receiveMessage``, ``refuse`` or ``refund``, through the outbox). Too few
   attestations yet, or a policy refusal, is an outcome of the pass, not an error: the next pass retries.

k of n: run one service per attester, each with its own key and ledger, all writing to one shared directory
(any file store the bank's attesters can all write); any of them, or all, may relay: a message is minted
or refunded once by the messenger whoever relays it, and a relayer that finds it done sends nothing.

    outcomes = follow_once(ledger, source, dest, "0xMessengerA", signer=attester, relayer=attester,
                           confirmations=2, share=Path("var/attestations"))
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from eth_utils import to_checksum_address

from ..errors import DepositTokenError
from ..node import Node
from .messenger import RECEIVED, REFUNDED
from .relay import attest_message, messenger_at, on, read_attestation_files, relay_message, settle_outbox

REORG_WINDOW = 64  # blocks read again when the cursor's block was replaced


@dataclass(frozen=True)
class Outcome:
    message_id: str | None
    step: str  # reorg | attested | relayed | done | waiting
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _share(share: Path, row: dict[str, Any]) -> None:
    share.mkdir(parents=True, exist_ok=True)
    path = share / f"{row['message_id']}-{row['kind']}-{row['signer']}.json"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({k: v for k, v in row.items() if k != "created"}))
        tmp.replace(path)  # whole or not at all: another attester may read it now


def _shared(share: Path | None, message_id: str) -> list[dict[str, Any]]:
    return read_attestation_files(sorted(share.glob(f"{message_id}-*.json"))) if share and share.is_dir() else []


def _hash_at(chain: Node, number: int) -> str | None:
    block = chain.rpc("eth_getBlockByNumber", hex(number), False)
    return None if block is None else block["hash"]


def _new_messages(ledger: Any, source: Node, messenger: str, confirmations: int,
                  from_block: int) -> tuple[list[tuple[str, int]], int, list[Outcome]]:
    """The messages (id, block) sent in the blocks confirmed since the cursor, and the last such block."""
    from ..ops.models import CrossChainCursor

    chain_id, outcomes = source.signing_chain_id, []
    with on(source):
        last = source.block_number() - confirmations + 1
        with ledger.session() as session:
            cursor = session.get(CrossChainCursor, (chain_id, messenger))
            start = from_block if cursor is None else cursor.block_number + 1
            if cursor is not None and _hash_at(source, cursor.block_number) != cursor.block_hash:
                start = max(from_block, cursor.block_number - REORG_WINDOW)
                outcomes.append(Outcome(None, "reorg", f"block {cursor.block_number} of chain {chain_id} was replaced: "
                                                       f"reading again from block {start}"))
        if last < start:
            return [], start - 1, outcomes
        logs = messenger_at(messenger).logs(["MessageSent"], from_block=start, to_block=last)
    return [("0x" + bytes(log.messageId).hex(), log.block_number) for log in logs], last, outcomes


def _advance(ledger: Any, source: Node, messenger: str, number: int) -> None:
    """Moves the cursor to block ``number`` (with its hash); committed."""
    from ..ops.models import CrossChainCursor

    chain_id = source.signing_chain_id
    block_hash = (_hash_at(source, number) or "") if number >= 0 else ""
    with ledger.session() as session:
        cursor = session.get(CrossChainCursor, (chain_id, messenger))
        if cursor is None:
            session.add(CrossChainCursor(source_chain_id=chain_id, messenger=messenger, block_number=number, block_hash=block_hash))
        else:
            cursor.block_number, cursor.block_hash = number, block_hash


def _unfinished(ledger: Any, source: Node, dest: Node, signer: str) -> list[str]:
    """The messages from ``source`` this attester signed whose transfer or refund is not done yet."""
    from sqlalchemy import select

    from ..ops.models import CrossChainAttestation
    from .messenger import Message

    with ledger.session() as session:
        rows = session.execute(select(CrossChainAttestation.message_id, CrossChainAttestation.message).where(
            CrossChainAttestation.signer == signer, CrossChainAttestation.source_chain_id == source.signing_chain_id,
            CrossChainAttestation.destination_chain_id == dest.signing_chain_id).order_by(CrossChainAttestation.id)).all()
    found: dict[str, Any] = {}
    for mid, raw in rows:
        found.setdefault(mid, Message.decode(raw))
    open_ids = []
    for mid, m in found.items():
        with on(source):
            refunded = int(messenger_at(m.sourceMessenger).messageStatus(m.id)) == REFUNDED
        with on(dest):
            received = int(messenger_at(m.destinationMessenger).messageStatus(m.id)) == RECEIVED
        if not (refunded or received):
            open_ids.append(mid)
    return open_ids


def follow_once(ledger: Any, source: Node, dest: Node, messenger: str, *, signer: Any, relayer: Any = None,
                confirmations: int = 1, share: Path | None = None, from_block: int = 0) -> list[Outcome]:
    """One pass of the service (module docstring): what happened to each message looked at."""
    messenger = to_checksum_address(messenger)
    address = to_checksum_address(signer.address)
    settle_outbox(ledger, source, dest)
    new, last, outcomes = _new_messages(ledger, source, messenger, confirmations, from_block)
    blocks = dict(new)
    for mid in dict.fromkeys(_unfinished(ledger, source, dest, address) + list(blocks)):
        try:
            row = attest_message(ledger, source, dest, messenger, mid, signer, confirmations=confirmations)
        except DepositTokenError as exc:
            done = " was received on chain" in str(exc) or " is Refunded on its source" in str(exc)
            outcomes.append(Outcome(mid, "done" if done else "waiting", str(exc)))
            if not done and mid in blocks:  # not attested: the cursor stays before it, the next pass reads it again
                last = min(last, blocks[mid] - 1)
            continue
        if share is not None:
            _share(share, row)
        if row["created"]:
            outcomes.append(Outcome(mid, "attested", f"{row['kind']} attestation by {address}"))
        if relayer is None:
            continue
        try:
            result = relay_message(ledger, source, dest, messenger, mid, sender=relayer, imported=_shared(share, mid))
        except DepositTokenError as exc:
            outcomes.append(Outcome(mid, "waiting", str(exc)))
            continue
        outcomes.append(Outcome(mid, "done" if result.action == "none" else "relayed",
                                f"{result.action} (transaction {result.tx_hash}): {result.status}"))
    _advance(ledger, source, messenger, last)
    return outcomes


def follow(ledger: Any, source: Node, dest: Node, messenger: str, *, interval: float, **options: Any) -> Iterator[list[Outcome]]:
    """Passes every ``interval`` seconds, for ever (the caller stops it: Ctrl-C ends it between steps,
    and whatever it left in flight the next start settles). A pass that lost a node waits for the next."""
    import time

    from ..errors import NodeUnreachable

    while True:
        try:
            yield follow_once(ledger, source, dest, messenger, **options)
        except NodeUnreachable as exc:
            yield [Outcome(None, "waiting", str(exc))]
        time.sleep(interval)
