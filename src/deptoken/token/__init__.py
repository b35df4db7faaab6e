"""The library's client of a deployed DepositToken, for scripts, the issuer tooling, the settlement
clients, tests and demos. By concern:

* ``reads``    (``TokenReader``): identity, amounts in the token's units, accounts, roles, events;
* ``checks``   (``TokenChecks``): what the contract will check, checked first: chain time, accounts
  active, unfrozen balances, pause, roles, mint budgets (one-line, typed ``deptoken.errors``);
* ``client``   (``TokenClient``): the transactions, each checked first, then sent;
* ``sending``: how a checked transaction is sent (straight to the node, or a transport such as the exactly-once outbox).

Besides: deploying a token (``deployer``), gasless authorizations (``authorizations``), per-minter
rate limits as read and shown (``rate_limits``; set with ``TokenClient.set_minter_rate_limit``), the gas
benchmark (``gas``); imported by name, not re-exported here.

Every operation checks its inputs and the chain state first and raises a ``DepositTokenError`` subclass (one line) when it would fail; only then does it send,
so a refused operation sends nothing. Amounts are currency units as text, ``int`` or ``Decimal``
(``"125.50"``), never floats; references are bank references (text, hashed to bytes32) or ``0x`` +
64 hex digits; addresses must be valid EIP-55 (or single-case) hex. Signers are ``deptoken.accounts``
signers (see ``deptoken.signers``) or ape accounts.

Usage::

    from deptoken.token import TokenClient

    client = TokenClient.from_deployment()             # deployments/<network>-<chain tag>.json + chain-id check
    client = TokenClient.from_contract(token)          # or an ape contract instance (tests)
    client, receipts = deploy_from_config(load_config("config/devnet.yaml"), deployer)  # deptoken.token.deployer

    client.configure_minter(minter, "1000000", sender=minter_admin)  # rate_limit=("50000", "1d"): both receipts
    client.set_minter_rate_limit(minter, "50000", "1d", sender=minter_admin)   # "0", 0: no rate limit
    client.allowlist(alice, "2027-12-31", sender=compliance)       # or unix seconds / date
    client.allowlist_many([(alice, "2027-12-31"), (bob, 1830000000)], sender=compliance)
    client.allowlist_from_file("clients.csv", sender=compliance)   # address,kyc_expiry_date
    client.remove_from_allowlist(alice, sender=compliance)
    client.remove_from_allowlist_many([a, b], sender=compliance)   # or remove_from_allowlist_file(path)
    client.mint(alice, "125.50", "DEP-2026-0001", sender=minter)
    client.transfer(bob, "10", sender=alice)
    client.approve(escrow, "125.50", sender=alice)                  # a spender's allowance
    client.redeem("20.00", "PAY-2026-0001", sender=alice)
    client.burn("5", "BURN-1", sender=minter)
    client.freeze(alice, sender=compliance); client.unfreeze(alice, sender=compliance)
    client.set_frozen_amount(alice, "50", sender=legal)             # lien; "0" releases it
    client.seize(alice, treasury, "50", "ORDER-7", sender=legal)
    client.pause(sender=pauser); client.unpause(sender=pauser)

    client.balance(alice) -> Decimal           client.account(alice) -> AccountStatus
    client.summary() -> TokenSummary           client.role_holders() -> {role: (addresses)}
    client.events() -> [EventRecord]           client.describe(event) -> str
    client.accounts_seen() -> (addresses)      client.roles_of(alice) -> ("minter", ...)
    client.units("1.50") -> 150                client.format(150) / client.format_decimal(Decimal("1.5")) -> "1.50 EXUSD"

    client.now(); client.require_active(alice, "payee"); client.require_role(sender, "legal", "seize")
    client.send("approve", spender, 150, sender=alice)             # a checked call, through the transport
    client.with_transport(transport)                               # the same token, sent another way

Accounts and addresses are interchangeable arguments (anything with ``.address``, or the text).
Operations return the receipt (``deptoken.contracts.Receipt``; batch operations a list, one per batch).
"""

from ..amounts import Amount
from ..times import Expiry
from .checks import SUPPLY_CAP, TokenChecks
from .client import BATCH_SIZE, TokenClient
from .reads import AccountStatus, EventRecord, TokenReader, TokenSummary
from .sending import Transport, send_checked

__all__ = [
    "BATCH_SIZE", "SUPPLY_CAP", "AccountStatus", "Amount", "EventRecord", "Expiry", "TokenChecks", "TokenClient",
    "TokenReader", "TokenSummary", "Transport", "send_checked",
]
