"""The states and kinds the ledger records, as ``StrEnum``s: a member is its text (``"approved"``),
so it compares, formats and serialises as the text did; the database refuses any other value (CHECK
constraints, migration 0006)."""

from __future__ import annotations

from enum import StrEnum


class RequestKind(StrEnum):
    """What a maker-checker request does (``workflow``; ``operator``: a team change, ``operators``)."""

    MINT = "mint"
    FREEZE = "freeze"
    UNFREEZE = "unfreeze"
    LIEN = "lien"
    SEIZE = "seize"
    RECOVER = "recover"
    PAUSE = "pause"
    UNPAUSE = "unpause"
    CANCEL = "cancel"
    RETURN = "return"
    OPERATOR = "operator"


class RequestStatus(StrEnum):
    """pending -> approved | rejected; approved -> executing -> executed | failed; approved or failed
    -> cancelled | expired; a mint minted on-chain with other terms -> conflict."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXECUTING = "executing"
    EXECUTED = "executed"
    FAILED = "failed"
    CONFLICT = "conflict"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class Decision(StrEnum):
    """A checker's decision on a request."""

    APPROVE = "approve"
    REJECT = "reject"


class DepositStatus(StrEnum):
    """A deposit version: recorded (its mint request exists), in suspense (client unknown), superseded
    by an amendment, or returned to the payer."""

    RECORDED = "recorded"
    SUSPENSE = "suspense"
    SUPERSEDED = "superseded"
    RETURNED = "returned"


class TransactionStatus(StrEnum):
    """An outbox transaction: signed (stored, not yet sent) -> broadcast -> mined | reverted; void: its
    nonce went to another transaction, it can never be mined."""

    SIGNED = "signed"
    BROADCAST = "broadcast"
    MINED = "mined"
    REVERTED = "reverted"
    VOID = "void"


class RedemptionStatus(StrEnum):
    """A redemption the bank owes a payout for: recorded -> instructed (in a payout file) -> paid;
    orphaned: a reorg removed its event."""

    RECORDED = "recorded"
    INSTRUCTED = "instructed"
    PAID = "paid"
    ORPHANED = "orphaned"


class ClientStatus(StrEnum):
    """pending (onboarded, not yet allowlisted) -> active -> offboarding -> offboarded."""

    PENDING = "pending"
    ACTIVE = "active"
    OFFBOARDING = "offboarding"
    OFFBOARDED = "offboarded"


class JobAction(StrEnum):
    """An allowlist change for one client."""

    ONBOARD = "onboard"
    RENEW = "renew"
    OFFBOARD = "offboard"


class JobStatus(StrEnum):
    """An allowlist job: pending -> sent -> done (or back to pending); expired: its expiry passed unsent."""

    PENDING = "pending"
    SENT = "sent"
    DONE = "done"
    EXPIRED = "expired"


class InterbankPaymentStatus(StrEnum):
    """An interbank payment the bank's tooling sends (``interbank_payments``): queued (over the bank's
    headroom, waiting) -> sending (its transaction stored in the outbox) -> paid; a queued payment past its
    validBefore -> expired; dropped by an operator; failed: refused for another reason, or reverted."""

    QUEUED = "queued"
    SENDING = "sending"
    PAID = "paid"
    EXPIRED = "expired"
    DROPPED = "dropped"
    FAILED = "failed"


class PayoutFormat(StrEnum):
    """The format of a payout instruction file."""

    PACS008 = "pacs.008"
    CSV = "csv"


def values(enum: type[StrEnum]) -> list[str]:
    """The texts of ``enum``'s members, in declaration order (what the database's CHECK allows)."""
    return [member.value for member in enum]
