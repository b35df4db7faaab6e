"""ISO 20022 XML for the bank's side of deposit tokens, checked against the official schemas.

camt.054 notifications of incoming payments are read (deposits to mint), and of executed payouts (debits), pacs.008 transfers are
written (payouts of redemptions), camt.053 statements are written (the token liability account).
Money is exact ``Decimal`` in the currency's minor units; every message is validated.
"""

from .camt053 import StatementEntry, build_camt053
from .camt054 import CreditEntry, DebitEntry, build_camt054, build_camt054_debits, parse_camt054, parse_camt054_debits
from .common import Party
from .pacs008 import Payout, build_pacs008
from .schemas import MESSAGES, validate

__all__ = [
    "MESSAGES",
    "CreditEntry",
    "DebitEntry",
    "Party",
    "Payout",
    "StatementEntry",
    "build_camt053",
    "build_camt054",
    "build_camt054_debits",
    "build_pacs008",
    "parse_camt054",
    "parse_camt054_debits",
    "validate",
]
