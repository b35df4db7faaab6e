"""The identifiers of banks and companies, as ISO 20022 messages carry them: one rule each.

``LEI`` (ISO 17442): 18 upper-case letters or digits and 2 check digits (ISO 7064 MOD 97-10, as
IBANs). ``BIC`` (ISO 9362:2014): 4 letters or digits (the party), an ISO 3166 country, 2 letters or
digits (the location), an optional 3 (the branch). The patterns are the ISO 20022 schemas'
(``LEIIdentifier``, ``BICFIDec2014Identifier``): the deploy configuration, the KYC files and the
messages the issuer tooling writes check against the same ones.
"""

from __future__ import annotations

import re

LEI = re.compile(r"[A-Z0-9]{18}[0-9]{2}")
BIC = re.compile(r"[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?")


def lei_checksum_ok(lei: str) -> bool:
    """ISO 17442 check digits (ISO 7064 MOD 97-10, as IBANs) of a text that matches ``LEI``."""
    digits = "".join(str(int(c, 36)) for c in lei)
    return int(digits) % 97 == 1


def is_lei(text: str) -> bool:
    """Whether ``text`` is an LEI: the pattern and correct check digits."""
    return bool(LEI.fullmatch(text)) and lei_checksum_ok(text)


def is_bic(text: str) -> bool:
    """Whether ``text`` has the form of a BIC (8 or 11 characters; the country is not looked up)."""
    return bool(BIC.fullmatch(text))
