"""Gas of the cross-chain messenger: a send (by approval, and with one EIP-3009 signature) and a receive
with 1-of-1 and 2-of-3 attesters, next to a plain token transfer.

``measure_messenger()`` deploys, on the connected devnet (one chain), the devnet's token (``config/devnet.yaml``'s
roles) and a messenger with a route to chain 31338, rate limits both ways (as a bank runs it). A send is
measured as it runs. A receive needs a message from another chain: it is the message chain 31338's messenger
would emit (its address stands in for that chain's messenger), signed by the attesters; the receive's gas does
not depend on where the message came from. All in steady state: the nonce, the rate limits, the recipient's
balance and the messenger's minter allowance already non-zero (each operation is measured after one like it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from eth_account import Account
from eth_utils import keccak

from .messenger import VERSION, Message, attest, deploy_messenger, transfer_typed_data

AMOUNT = 250_00  # minor units per message (250.00)
REMOTE_CHAIN_ID = 31338


@dataclass(frozen=True)
class MessengerGas:
    """Receipts' ``gasUsed`` of each operation and of the plain transfer they are compared with."""

    send_approved: int
    send_signed: int
    receive_1_of_1: int
    receive_2_of_3: int
    transfer: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def measure_messenger() -> MessengerGas:
    """Deploys a messenger on the connected devnet and measures it (see the module docstring)."""
    from ape import accounts, chain

    from ..config import load_config
    from ..token import TokenClient
    from ..token import authorizations as auth
    from ..token.deployer import deploy_token
    from ..token.gas import devnet_config

    config = load_config(devnet_config())
    test = accounts.test_accounts
    admin, minter_admin, treasury, compliance, pauser, sender, recipient = (test[i] for i in (0, 1, 2, 3, 5, 7, 8))
    relayer = test[27]
    token, _ = deploy_token(config, admin, record=False)
    messenger = deploy_messenger(admin, token, admin=admin, pauser=pauser, message_lifetime=86_400)
    remote = deploy_messenger(admin, token, admin=admin, pauser=pauser, message_lifetime=86_400)  # its address only
    expiry = int(chain.pending_timestamp) + 365 * 86_400
    token.configureMinter(treasury, 10**15, sender=minter_admin)
    token.configureMinter(messenger, 10**15, sender=minter_admin)
    token.allowlistBatch([sender, recipient, treasury, messenger], [expiry] * 4, sender=compliance)
    token.mint(sender, 10**9, keccak(text="deptoken messenger benchmark initial"), sender=treasury)
    token.mint(recipient, 10**9, keccak(text="deptoken messenger benchmark initial 2"), sender=treasury)
    messenger.setRoute(REMOTE_CHAIN_ID, remote, 10**12, sender=admin)
    for direction in (0, 1):
        messenger.setRateLimit(REMOTE_CHAIN_ID, direction, 10**12, 86_400, sender=admin)
    token.approve(messenger, 2**255, sender=sender)

    messenger.send(REMOTE_CHAIN_ID, recipient, AMOUNT, sender=sender)  # warm: nonce and rate limit non-zero
    send_approved = messenger.send(REMOTE_CHAIN_ID, recipient, AMOUNT, sender=sender).gas_used
    client = TokenClient.from_contract(token)
    salt = keccak(text="deptoken messenger benchmark signed send")
    nonce = messenger.sendNonce(REMOTE_CHAIN_ID, recipient, salt)
    signed = auth.sign(sender, auth.transfer_authorization(client, sender, messenger.address, client.to_decimal(AMOUNT),
                                                           valid_for=3600, nonce=nonce, receive=True))
    m = signed.message
    send_signed = messenger.sendWithAuthorization(REMOTE_CHAIN_ID, recipient, AMOUNT, sender, m["validAfter"], m["validBefore"],
                                                  salt, signed.signature, sender=relayer).gas_used

    keys = sorted((Account.from_key(keccak(text=f"deptoken messenger benchmark attester {i}")) for i in range(3)),
                  key=lambda k: int(k.address, 16))
    inbound = iter(range(1_000))

    def receive() -> int:
        message = Message(VERSION, REMOTE_CHAIN_ID, chain.chain_id, remote.address, messenger.address, next(inbound),
                          sender.address, recipient.address, AMOUNT, int(chain.pending_timestamp) + 3_600)
        attestation = attest(transfer_typed_data(message), keys[:int(messenger.threshold())])
        return messenger.receiveMessage(message.encode(), attestation, sender=relayer).gas_used

    messenger.setAttesters([keys[0].address], 1, sender=admin)
    receive()  # warm
    receive_1_of_1 = receive()
    messenger.setAttesters([k.address for k in keys], 2, sender=admin)
    receive_2_of_3 = receive()
    transfer = token.transfer(recipient, AMOUNT, sender=sender).gas_used
    return MessengerGas(send_approved, send_signed, receive_1_of_1, receive_2_of_3, transfer)


def format_messenger(gas: MessengerGas) -> str:
    """One line per operation with its ratio to the plain transfer."""
    rows = (("cross-chain send (approved)", gas.send_approved), ("cross-chain send (one signature)", gas.send_signed),
            ("cross-chain receive (1 of 1 attesters)", gas.receive_1_of_1),
            ("cross-chain receive (2 of 3 attesters)", gas.receive_2_of_3))
    lines = [f"{label:<40} {value:>9,}  = {value / gas.transfer:.2f}x a transfer ({gas.transfer:,})" for label, value in rows]
    return "\n".join(lines)
