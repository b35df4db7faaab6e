"""pacs.008.001.08 customer credit transfers: the bank's payout instructions for redemptions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from lxml import etree

from ..errors import DepositTokenError
from .common import Party, account, agent, amount, document, free_text, ident, iso_date, iso_datetime, party
from .common import serialize, sub, to_units
from .schemas import check, namespace

MESSAGE = "pacs.008.001.08"
_UUID4 = re.compile(r"[a-f0-9]{8}-[a-f0-9]{4}-4[a-f0-9]{3}-[89ab][a-f0-9]{3}-[a-f0-9]{12}")


@dataclass(frozen=True)
class Payout:
    """One payout instruction for a redemption."""

    instruction_id: str  # <= 35 chars
    end_to_end_id: str  # the payout reference the holder gave, <= 35 chars
    uetr: str  # UUID v4, lower case
    amount: Decimal
    currency: str
    creditor: Party  # the client: legal name, country, LEI if any, account if known
    remittance: str  # free text, cut to 140 characters
    creditor_agent: Party | None = None  # the bank holding the creditor's account; None: the debtor agent (on-us)


def build_pacs008(
    *,
    message_id: str,
    created: datetime,
    settlement_date: date,
    debtor: Party,
    debtor_agent: Party,
    payouts: Sequence[Payout],
) -> bytes:
    """A valid pacs.008.001.08 (FIToFICstmrCdtTrf) paying each payout from the bank's own account (INDA)
    to the creditor's account at its ``creditor_agent`` (by default the debtor agent: on-us).
    Identifiers too long for the schema are errors."""
    if not payouts:
        raise DepositTokenError("pacs.008: no payouts to instruct")
    root, body = document(namespace(MESSAGE), "FIToFICstmrCdtTrf")
    head = sub(body, "GrpHdr")
    sub(head, "MsgId", ident(message_id, "pacs.008 message id"))
    sub(head, "CreDtTm", iso_datetime(created, "pacs.008 creation time"))
    sub(head, "NbOfTxs", str(len(payouts)))
    sub(head, "SttlmInf/SttlmMtd", "INDA")
    day = iso_date(settlement_date, "pacs.008 settlement date")
    seen: dict[str, int] = {}
    for index, payout in enumerate(payouts, start=1):
        try:
            for key in (payout.instruction_id, payout.uetr):
                if seen.setdefault(key, index) != index:
                    raise DepositTokenError(f"instruction id or UETR {key!r} already used by payout {seen[key]}")
            _transaction(body, payout, day, debtor, debtor_agent)
        except DepositTokenError as exc:
            raise DepositTokenError(f"pacs.008 payout {index}: {exc}") from None
    check(root, MESSAGE, source=f"generated pacs.008 {message_id}")
    return serialize(root)


def _transaction(body: etree._Element, payout: Payout, day: str, debtor: Party, bank: Party) -> None:
    """One ``<CdtTrfTxInf>``."""
    units = to_units(payout.amount, payout.currency)
    if not (isinstance(payout.uetr, str) and _UUID4.fullmatch(payout.uetr)):
        raise DepositTokenError(f"UETR {payout.uetr!r} is not a lower-case UUID v4")
    tx = sub(body, "CdtTrfTxInf")
    ids = sub(tx, "PmtId")
    sub(ids, "InstrId", ident(payout.instruction_id, "instruction id"))
    sub(ids, "EndToEndId", ident(payout.end_to_end_id, "end-to-end id (payout reference)"))
    sub(ids, "UETR", payout.uetr)
    amount(tx, "IntrBkSttlmAmt", units, payout.currency)
    sub(tx, "IntrBkSttlmDt", day)
    sub(tx, "ChrgBr", "SLEV")
    party(tx, "Dbtr", debtor, "debtor")
    if debtor.account:
        account(tx, "DbtrAcct", debtor.account, "debtor")
    agent(tx, "DbtrAgt", bank, "debtor agent")
    if payout.creditor_agent is None:
        agent(tx, "CdtrAgt", bank, "creditor agent (the debtor agent: on-us)")
    else:
        agent(tx, "CdtrAgt", payout.creditor_agent, "creditor agent")
    party(tx, "Cdtr", payout.creditor, "creditor")
    if payout.creditor.account:
        account(tx, "CdtrAcct", payout.creditor.account, "creditor")
    text = free_text(payout.remittance, 140) if isinstance(payout.remittance, str) else None
    if text:
        sub(tx, "RmtInf/Ustrd", text)
