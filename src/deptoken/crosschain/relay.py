"""The bank's attester and relayer over the cross-chain messenger, on two nodes at once.

* :func:`find_message`: a message by its id or by its send's transaction hash, read from the source
  chain's ``MessageSent``, with its confirmations;
* :func:`message_status`: what both chains recorded of it (Sent, Received, Refused, Refunded);
* :func:`attest_message`: one attester's signature, after ``confirmations`` blocks (of the send; for a
  refund also of the refusal), by the bank's policy
  (the route is configured both ways; a ``refund`` attestation once the destination refused the message,
  else a ``transfer`` one), stored in the ledger (``crosschain_attestations``); again: the same row;
* :func:`relay_message`: the stored attestations (this ledger's and those exported from other attesters'
  ledgers) combined, ``threshold`` of them in increasing signer order, and submitted: ``receiveMessage``,
  ``refuse`` (recipient not active, or past the deadline) or ``refund``; a message already processed is
  reported and nothing is sent.

A transfer attestation is signed also for a recipient not active on the destination: the messenger's
``refuse`` verifies the same transfer digest, so withholding it would leave the message neither
receivable nor refusable. The relay's transactions go through the ledger's exactly-once outbox
(``deptoken.ops.outbox``: signed and stored before broadcast), each row settled against its own chain's
node: a relay killed between signing and broadcast is finished by the next one (the same bytes, or
proven void) before the on-chain status is read, so a repeated relay sends nothing.

Usage::

    source, dest = open_node("ethereum:local:http://127.0.0.1:8545"), open_node("ethereum:local:http://127.0.0.1:8546")
    found = find_message(source, messenger, "0x<tx hash or message id>")
    row = attest_message(ledger, source, dest, messenger, ref, signer, confirmations=2)
    result = relay_message(ledger, source, dest, messenger, ref, sender=relayer, imported=[...])
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_utils import to_checksum_address

from .. import node as node_module
from ..errors import DepositTokenError, InvalidInput, WrongChain
from ..node import Node
from .messenger import RECEIVED, REFUNDED, REFUSED, SENT, Message, encode_attestation, refund_typed_data, transfer_typed_data

STATUS_NAMES = {0: "None", SENT: "Sent", REFUNDED: "Refunded", RECEIVED: "Received", REFUSED: "Refused"}
TRANSFER_KIND, REFUND_KIND = "transfer", "refund"
DEFAULT_CONFIRMATIONS = 1  # blocks on top of the send's block (the send's own block counts as one)


def open_node(choice: str) -> Node:
    """A node for the network ``choice`` (``ECOSYSTEM:NETWORK:URI``), checked to answer."""
    from ..errors import NodeUnreachable

    network, uri = node_module.resolve_choice(choice)
    found = Node(network, uri)
    try:
        found.rpc("eth_chainId")
    except NodeUnreachable as exc:
        raise NodeUnreachable(f"cannot reach the node ({choice}): {str(exc).removeprefix('cannot reach the node: ')}") from None
    return found


def on(chain: Node) -> Any:
    """``chain`` as the library's node (``deptoken.contracts``) inside a ``with`` block."""
    return node_module.using(chain)


def messenger_at(address: str) -> Any:
    from ..contracts import contract_at

    return contract_at("DepositTokenMessenger", address)


def parse_ref(ref: str) -> bytes:
    """A message id or transaction hash: 0x + 64 hex digits."""
    text = ref.strip()
    try:
        raw = bytes.fromhex(text[2:]) if text.startswith("0x") else b""
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise InvalidInput(f"not a message id or transaction hash (0x + 64 hex digits): {ref!r}")
    return raw


@dataclass(frozen=True)
class Found:
    """A message as its source chain emitted it."""

    message: Message
    tx_hash: str
    block_number: int
    confirmations: int

    @property
    def id(self) -> str:
        return "0x" + self.message.id.hex()


def find_message(source: Node, messenger: str, ref: str) -> Found:
    """The message ``ref`` (its id, or the hash of the transaction that sent it) from ``messenger`` on ``source``."""
    raw = parse_ref(ref)
    with on(source):
        contract = messenger_at(messenger)
        if not source.code(contract.address):
            raise DepositTokenError(f"no contract at {contract.address} on chain {source.chain_id()} (the source messenger)")
        logs = []
        receipt = source.rpc("eth_getTransactionReceipt", "0x" + raw.hex())
        if receipt is not None:
            logs = [log for log in (contract.decode_log(r) for r in receipt.get("logs") or []) if log and log.event_name == "MessageSent"]
        if not logs:
            logs = contract.MessageSent.logs(topics={"messageId": raw})
        if not logs:
            raise DepositTokenError(f"no message {ref} sent by {contract.address} on chain {source.chain_id()}")
        log = logs[0]
        message = Message.decode(bytes(log.message))
        if message.sourceChainId != source.chain_id():
            raise WrongChain(f"message {ref} names source chain {message.sourceChainId}, the node is chain {source.chain_id()}")
        return Found(message, log.transaction_hash, log.block_number, source.block_number() - log.block_number + 1)


def _destination(dest: Node, message: Message) -> Any:
    if dest.chain_id() != message.destinationChainId:
        raise WrongChain(f"the message goes to chain {message.destinationChainId}, the destination node is chain {dest.chain_id()}")
    return messenger_at(message.destinationMessenger)


@dataclass(frozen=True)
class Status:
    """A message and what each chain recorded of it."""

    message_id: str
    source_chain_id: int
    destination_chain_id: int
    sender: str
    recipient: str
    amount: int
    deadline: int
    nonce: int
    tx_hash: str
    confirmations: int
    source_status: str
    destination_status: str

    def as_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


def message_status(source: Node, dest: Node, messenger: str, ref: str) -> Status:
    found = find_message(source, messenger, ref)
    m = found.message
    with on(source):
        at_source = int(messenger_at(m.sourceMessenger).messageStatus(m.id))
    with on(dest):
        at_dest = int(_destination(dest, m).messageStatus(m.id))
    return Status(found.id, m.sourceChainId, m.destinationChainId, m.sender, m.recipient, m.amount, m.deadline, m.nonce,
                  found.tx_hash, found.confirmations, STATUS_NAMES[at_source], STATUS_NAMES[at_dest])


def wait_delivered(source: Node, dest: Node, messenger: str, ref: str, *, timeout: float, poll: float = 0.2) -> Status:
    """The message's status once its destination recorded it ``Received`` or ``Refused`` (the bank's
    attesters relayed it); an error after ``timeout`` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        status = message_status(source, dest, messenger, ref)
        if status.destination_status in ("Received", "Refused"):
            return status
        if time.monotonic() > deadline:
            raise DepositTokenError(f"message {status.message_id} not delivered on chain {status.destination_chain_id} "
                                    f"within {timeout:g} s (destination: {status.destination_status})")
        time.sleep(poll)


def _row_dict(row: Any) -> dict[str, Any]:
    return {"message_id": row.message_id, "kind": row.kind, "signer": row.signer, "signature": row.signature,
            "message": row.message, "source_chain_id": row.source_chain_id,
            "destination_chain_id": row.destination_chain_id, "amount": row.amount}


def attest_message(ledger: Any, source: Node, dest: Node, messenger: str, ref: str, signer: Any, *,
                   confirmations: int = DEFAULT_CONFIRMATIONS) -> dict[str, Any]:
    """``signer``'s attestation of the message ``ref`` by the bank's policy (module docstring), stored in
    ``ledger``; the stored row if ``signer`` attested this message and kind already (``created``: False)."""
    from sqlalchemy import select

    from ..ops.models import CrossChainAttestation

    if confirmations < 1:
        raise InvalidInput(f"confirmations must be at least 1, not {confirmations}")
    found = find_message(source, messenger, ref)
    m = found.message
    if found.confirmations < confirmations:
        raise DepositTokenError(f"message {found.id} has {found.confirmations} of {confirmations} confirmations: not attested yet")
    with on(source):
        route = messenger_at(m.sourceMessenger).route(m.destinationChainId)
        at_source = int(messenger_at(m.sourceMessenger).messageStatus(m.id))
    if to_checksum_address(route.remoteMessenger) != m.destinationMessenger:
        raise DepositTokenError(f"no route from chain {m.sourceChainId} to {m.destinationMessenger} on chain {m.destinationChainId}")
    with on(dest):
        remote = _destination(dest, m)
        if not dest.code(remote.address):
            raise DepositTokenError(f"no messenger at {remote.address} on chain {dest.chain_id()}")
        back = remote.route(m.sourceChainId)
        at_dest = int(remote.messageStatus(m.id))
        if at_dest == REFUSED:  # the refusal, too, must be final before a refund is signed
            [refusal] = remote.MessageRefused.logs(topics={"messageId": m.id})
            final = dest.block_number() - refusal.block_number + 1
            if final < confirmations:
                raise DepositTokenError(f"the refusal of message {found.id} has {final} of {confirmations} confirmations: "
                                        "not attested yet")
    if to_checksum_address(back.remoteMessenger) != m.sourceMessenger:
        raise DepositTokenError(f"chain {m.destinationChainId}'s messenger has no route back to {m.sourceMessenger}")
    if at_dest == REFUSED:
        if at_source != SENT:
            raise DepositTokenError(f"message {found.id} is {STATUS_NAMES[at_source]} on its source: nothing to refund")
        kind, data = REFUND_KIND, refund_typed_data(m)
    elif at_dest == RECEIVED:
        raise DepositTokenError(f"message {found.id} was received on chain {m.destinationChainId}: nothing to attest")
    else:
        kind, data = TRANSFER_KIND, transfer_typed_data(m)
    address = to_checksum_address(signer.address)
    verifier = (source, m.sourceMessenger) if kind == REFUND_KIND else (dest, m.destinationMessenger)
    with on(verifier[0]):
        if not messenger_at(verifier[1]).isAttester(address):
            raise DepositTokenError(f"{address} is not an attester of the messenger {verifier[1]} on chain {verifier[0].chain_id()}")
    with ledger.session() as session:
        row = session.scalars(select(CrossChainAttestation).filter_by(message_id=found.id, kind=kind, signer=address)).first()
        if row is not None:
            return {**_row_dict(row), "created": False}
    from .. import eip712

    signature = "0x" + eip712.sign(signer, data).hex()
    with ledger.session() as session:
        row = CrossChainAttestation(message_id=found.id, kind=kind, signer=address, signature=signature,
                                    message="0x" + m.encode().hex(), source_chain_id=m.sourceChainId,
                                    destination_chain_id=m.destinationChainId, amount=m.amount)
        session.add(row)
    return {**_row_dict(row), "created": True}


def read_attestation_files(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    """Attestations exported by other attesters (``deptoken --json xchain attest`` output: an object or a list)."""
    found: list[dict[str, Any]] = []
    for path in paths:
        try:
            data = json.loads(Path(path).read_text())
        except ValueError:
            raise InvalidInput(f"{path} is not an attestation file (JSON)") from None
        for item in data if isinstance(data, list) else [data]:
            if not isinstance(item, dict) or not {"message_id", "kind", "signer", "signature"} <= set(item):
                raise InvalidInput(f"{path}: not an attestation (message_id, kind, signer, signature)")
            found.append(item)
    return found


def _verified(data: dict[str, Any], items: Iterable[dict[str, Any]], attesters: set[str]) -> dict[str, bytes]:
    """The signatures among ``items`` that recover to their signer, a current attester (others are left out)."""
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    signable = encode_typed_data(full_message=data)
    good: dict[str, bytes] = {}
    for item in items:
        signer = to_checksum_address(item["signer"])
        signature = bytes.fromhex(item["signature"].removeprefix("0x"))
        try:
            recovered = Account.recover_message(signable, signature=signature)
        except Exception:  # noqa: BLE001 - a malformed signature is one not counted
            continue
        if recovered == signer and signer in attesters:
            good[signer] = signature
    return good


@dataclass(frozen=True)
class Relayed:
    message_id: str
    action: str  # receiveMessage | refuse | refund | none
    tx_hash: str | None
    signers: list[str]
    status: str  # what the chain it acted on records now

    def as_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


def relay_message(ledger: Any, source: Node, dest: Node, messenger: str, ref: str, *, sender: Any,
                  imported: Iterable[dict[str, Any]] = ()) -> Relayed:
    """Submits what the message ``ref`` needs next, with ``threshold`` verified attestations: from the
    ledger and ``imported`` (module docstring). Nothing is sent for a message received or refunded.
    ``sender``: the relayer's signer, or a function returning it (called only if a transaction is sent)."""
    from sqlalchemy import select

    from ..ops.models import CrossChainAttestation

    found = find_message(source, messenger, ref)
    m, mid = found.message, found.id
    settle_outbox(ledger, source, dest)  # a relay killed after signing: its transaction runs once, or is void
    with on(source):
        src = messenger_at(m.sourceMessenger)
        at_source = int(src.messageStatus(m.id))
    with on(dest):
        dst = _destination(dest, m)
        at_dest = int(dst.messageStatus(m.id))
    if at_dest == RECEIVED or at_source == REFUNDED:
        done = "Received" if at_dest == RECEIVED else "Refunded"
        return Relayed(mid, "none", None, [], done)
    with ledger.session() as session:
        rows = [_row_dict(r) for r in session.scalars(select(CrossChainAttestation).filter_by(message_id=mid))]
    items = rows + [i for i in imported if i["message_id"].lower() == mid.lower()]
    if at_dest == REFUSED:
        chain, contract, kind, data = source, src, REFUND_KIND, refund_typed_data(m)
    else:
        chain, contract, kind, data = dest, dst, TRANSFER_KIND, transfer_typed_data(m)
    with on(chain):
        attesters = {to_checksum_address(a) for a in contract.attesters()}
        threshold = int(contract.threshold())
        good = _verified(data, [i for i in items if i["kind"] == kind], attesters)
        if len(good) < threshold:
            raise DepositTokenError(f"message {mid}: {len(good)} valid {kind} attestation(s) of the {threshold} needed")
        chosen = dict(sorted(good.items(), key=lambda pair: int(pair[0], 16))[:threshold])
        attestation = encode_attestation(chosen)
        encoded = m.encode()
        if kind == REFUND_KIND:
            action = "refund"
        else:
            from ..contracts import contract_at

            token = contract_at("DepositToken", contract.token())
            expired = chain.pending_timestamp() > m.deadline
            action = "refuse" if expired or not token.canReceive(m.recipient) else "receiveMessage"
        signer = sender() if callable(sender) and not hasattr(sender, "address") else sender
        from ..ops import outbox

        with ledger.new_session() as session:  # signed and stored before it is broadcast (the outbox)
            tx = outbox.send(session, contract, action, (encoded, attestation), signer, purpose=f"xchain.{action}")
            tx_hash, mined = tx.tx_hash, tx.status == "mined"
        status = STATUS_NAMES[int(contract.messageStatus(m.id))]
    if not mined:
        raise DepositTokenError(f"{action} of message {mid} reverted (transaction {tx_hash})")
    return Relayed(mid, action, tx_hash, list(chosen), status)


def settle_outbox(ledger: Any, *chains: Node) -> None:
    """Settles the relayer's transactions the ledger holds of unknown outcome (a relay killed between
    signing and broadcast, a node restarted): each against its own chain's node."""
    from ..ops import outbox

    with ledger.new_session() as session:
        for chain in chains:
            with on(chain):
                outbox.resolve_all(session, chain_id=chain.signing_chain_id)


@dataclass(frozen=True)
class RouteInfo:
    chain_id: int
    remote_messenger: str
    max_amount: int
    paused: bool


def list_routes(chain: Node, messenger: str) -> list[RouteInfo]:
    """The messenger's routes now (chains from its RouteSet events, those still configured)."""
    with on(chain):
        contract = messenger_at(messenger)
        if not chain.code(contract.address):
            raise DepositTokenError(f"no contract at {contract.address} on chain {chain.chain_id()}")
        ids = sorted({int(log.chainId) for log in contract.RouteSet.logs()})
        found = []
        for cid in ids:
            r = contract.route(cid)
            if int(r.remoteMessenger, 16):
                found.append(RouteInfo(cid, to_checksum_address(r.remoteMessenger), int(r.maxAmount), bool(r.paused)))
        return found


def send_message(chain: Node, messenger: str, destination_chain_id: int, recipient: str, amount: int, *, sender: Any) -> Found:
    """``sender`` approves the messenger (if needed) and sends ``amount`` minor units to ``recipient`` on
    ``destination_chain_id``; the message sent."""
    from ..contracts import contract_at

    with on(chain):
        contract = messenger_at(messenger)
        token = contract_at("DepositToken", contract.token())
        if int(token.allowance(sender.address, contract.address)) < amount:
            token.approve(contract.address, amount, sender=sender)
        receipt = contract.send(destination_chain_id, recipient, amount, sender=sender)
        [log] = receipt.decode_logs(contract.MessageSent)
        return Found(Message.decode(bytes(log.message)), receipt.txn_hash, receipt.block_number, 1)
