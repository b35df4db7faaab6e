"""ISO 4217 currency codes and their minor units (decimal places), plus CNH (offshore yuan)."""

from __future__ import annotations

from .errors import InvalidInput

# Active ISO 4217 codes with their minor units. Funds and precious-metal codes without minor units
# (XAU, XDR, ...) are left out: a deposit token is a deposit in a currency. CNH is the market code
# for offshore yuan, which banks issue deposit tokens in, with 2 minor units like CNY.
MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys(
        "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN BZD "
        "CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD "
        "GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD "
        "MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP "
        "PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS "
        "TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VES WST XCD XCG YER ZAR ZMW ZWG CNH".split(),
        2,
    ),
    **dict.fromkeys("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split(), 0),
    **dict.fromkeys("BHD IQD JOD KWD LYD OMR TND".split(), 3),
    **dict.fromkeys("CLF UYW".split(), 4),
}


def minor_units(code: str) -> int:
    """Minor units of currency ``code``; raises for a code that is not a known currency."""
    try:
        return MINOR_UNITS[code]
    except KeyError:
        raise InvalidInput(f"unknown currency code {code!r}: expected an ISO 4217 code such as USD") from None
