"""ISO 20022 XML: builders validate against the official schemas, camt.054 import is all-or-nothing, money is exact."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from lxml import etree

from helpers import one_line_error
from deptoken.iso20022 import (
    MESSAGES,
    CreditEntry,
    DebitEntry,
    Party,
    Payout,
    StatementEntry,
    build_camt053,
    build_camt054,
    build_camt054_debits,
    build_pacs008,
    parse_camt054,
    parse_camt054_debits,
    validate,
)

from constants import TEST_DATA

SAMPLE = TEST_DATA / "camt054_sample.xml"
NOW = datetime(2025, 1, 2, 17, 5, tzinfo=timezone.utc)
DAY = date(2025, 1, 2)
IBAN = "DE89370400440532013000"
BANK = Party("Example Bank AG", "DE", "529900T8BM49AURSDO55", "EXAMDEFFXXX", IBAN)
OMNIBUS = Party("Example Bank AG deposit token omnibus", "DE", account=IBAN)
UETR = "3f1c2a9e-8d4b-4c6e-9a1f-2b3c4d5e6f70"
TX = "0x" + "ab" * 32 + ":12"  # a tx hash and log index: 69 characters


def ns(message: str) -> dict[str, str]:
    return {"d": f"urn:iso:std:iso:20022:tech:xsd:{message}"}


def texts(xml: bytes, message: str, path: str) -> list[str]:
    """Text of every element at ``path`` (``d:`` prefixed) in ``xml``."""
    return [el.text for el in etree.fromstring(xml).iterfind(path, ns(message))]



def camt054(*credits: tuple[str, Decimal, str, date, str, str | None]) -> bytes:
    return build_camt054(message_id="NTF-1", created=NOW, account=OMNIBUS, servicer_bic="EXAMDEFFXXX", credits=credits)


def pacs008(*payouts: Payout) -> bytes:
    return build_pacs008(
        message_id="PAY-1", created=NOW, settlement_date=date(2025, 1, 3), debtor=BANK, debtor_agent=BANK, payouts=payouts
    )


def payout(**changes: object) -> Payout:
    fields: dict[str, object] = dict(
        instruction_id="RED-1",
        end_to_end_id="HOLDER-REF-1",
        uetr=UETR,
        amount=Decimal("12.5"),
        currency="USD",
        creditor=Party("Alice Holdings Ltd", "GB", "213800D1EI4B9WTWWD28", account="GB33BUKB20201555555555"),
        remittance="Redemption of deposit token, tx " + TX,
    )
    fields.update(changes)
    return Payout(**fields)  # type: ignore[arg-type]


def camt053(entries: list[StatementEntry], opening: str = "100.00", closing: str = "100.25") -> bytes:
    return build_camt053(
        statement_id="STMT-2025-01-02",
        created=NOW,
        account=Party("Deposit token liability USD", account="DTKN-USD-0001"),
        servicer=BANK,
        currency="USD",
        period_start=NOW - timedelta(days=1),
        period_end=NOW,
        opening=Decimal(opening),
        closing=Decimal(closing),
        entries=entries,
        sequence=7,
    )


MINTS = [
    StatementEntry(TX, Decimal("0.10"), True, NOW - timedelta(hours=3), "Mint to 0x1111 for CLIENT-0042"),
    StatementEntry("0xcd:1", Decimal("0.20"), True, NOW - timedelta(hours=2), "Mint to 0x2222"),
    StatementEntry("0xef:3", Decimal("0.05"), False, NOW - timedelta(hours=1), "Redemption burn"),
]


# ---- camt.054: the hand-written sample ----


def test_sample_gives_exactly_its_two_booked_credits() -> None:
    assert parse_camt054(SAMPLE.read_bytes(), source="camt054_sample.xml") == [
        CreditEntry(
            entry=1,
            bank_reference="BANKREF-2025-000001",
            amount=Decimal("1250.50"),
            currency="EUR",
            booking_date=date(2025, 1, 2),
            value_date=date(2025, 1, 3),
            client_id="CLIENT-0042",
            debtor_name="ACME Trading GmbH",
            end_to_end_id="ACME-INV-77",
            account=IBAN,
        ),
        CreditEntry(
            entry=4,
            bank_reference="BANKREF-2025-000004",
            amount=Decimal("0.10"),
            currency="EUR",
            booking_date=date(2025, 1, 2),
            value_date=None,
            client_id="CLIENT-0007",
            debtor_name=None,
            end_to_end_id=None,
            account=IBAN,
        ),
    ]


def edited_sample(old: str, new: str, count: int = 1) -> bytes:
    text = SAMPLE.read_text()
    assert text.count(old) >= count
    return text.replace(old, new, count).encode()


def test_missing_bank_reference_is_an_error() -> None:
    data = edited_sample("<AcctSvcrRef>BANKREF-2025-000004</AcctSvcrRef>", "")
    assert one_line_error(parse_camt054, data, source="in.xml") == (
        "in.xml: 1 bad entry, nothing imported: entry 4: no bank reference "
        "(TxDtls/Refs/AcctSvcrRef or Ntry/AcctSvcrRef)"
    )


def test_missing_client_id_and_bad_decimals_are_listed_together() -> None:
    data = edited_sample("<Ref>CLIENT-0042</Ref>", "").replace(b'"EUR">0.10<', b'"EUR">0.105<')
    data = data.replace(b"<Ustrd>Top-up deposit tokens</Ustrd>", b"")
    assert one_line_error(parse_camt054, data, source="in.xml") == (
        "in.xml: 2 bad entries, nothing imported: "
        "entry 1: no client id (RmtInf/Strd/CdtrRefInf/Ref or RmtInf/Ustrd); "
        "entry 4: EUR amount '0.105' has more than 2 decimal places"
    )


def test_unstructured_remittance_is_the_fallback_client_id() -> None:
    data = edited_sample("<Ref>CLIENT-0042</Ref>", "")
    assert [c.client_id for c in parse_camt054(data, source="in.xml")] == ["Top-up deposit tokens", "CLIENT-0007"]


def test_zero_decimal_currency_refuses_fractions() -> None:
    data = edited_sample('<Amt Ccy="EUR">0.10</Amt>', '<Amt Ccy="JPY">100.5</Amt>')
    assert one_line_error(parse_camt054, data, source="in.xml").endswith(
        "entry 4: JPY amount '100.5' has more than 0 decimal places"
    )


def test_unknown_currency_is_an_error() -> None:
    data = edited_sample('<Amt Ccy="EUR">0.10</Amt>', '<Amt Ccy="XYZ">0.10</Amt>')
    assert one_line_error(parse_camt054, data, source="in.xml") == (
        "in.xml: 1 bad entry, nothing imported: entry 4: unknown currency code 'XYZ': expected an ISO 4217 code such as USD"
    )


def test_reversals_are_skipped() -> None:
    data = edited_sample("<CdtDbtInd>CRDT</CdtDbtInd>", "<CdtDbtInd>CRDT</CdtDbtInd><RvslInd>true</RvslInd>")
    assert [c.entry for c in parse_camt054(data, source="in.xml")] == [4]


def test_no_booked_credits_is_an_error() -> None:
    data = edited_sample("<Cd>BOOK</Cd>", "<Cd>PDNG</Cd>", 3)
    assert one_line_error(parse_camt054, data, source="in.xml") == (
        "in.xml: no booked credit entries to import (4 entries in the file)"
    )


def test_batch_entry_gives_one_credit_per_transaction() -> None:
    tx2 = (
        "<TxDtls><Refs><AcctSvcrRef>BANKREF-2025-000001-B</AcctSvcrRef></Refs>"
        '<Amt Ccy="EUR">0.20</Amt><RmtInf><Ustrd>CLIENT-0043</Ustrd></RmtInf></TxDtls>'
    )
    data = edited_sample("</TxDtls>", "</TxDtls>" + tx2).replace(b'"EUR">1250.50<', b'"EUR">1250.70<', 1)
    credits = parse_camt054(data, source="in.xml")
    assert [(c.entry, c.bank_reference, c.amount, c.client_id) for c in credits] == [
        (1, "BANKREF-2025-000001", Decimal("1250.50"), "CLIENT-0042"),
        (1, "BANKREF-2025-000001-B", Decimal("0.20"), "CLIENT-0043"),
        (4, "BANKREF-2025-000004", Decimal("0.10"), "CLIENT-0007"),
    ]
    wrong_total = edited_sample("</TxDtls>", "</TxDtls>" + tx2)
    assert one_line_error(parse_camt054, wrong_total, source="in.xml") == (
        "in.xml: 1 bad entry, nothing imported: "
        "entry 1: transactions add up to 1250.70 EUR, not the entry amount 1250.50 EUR"
    )


# ---- camt.054: built, then parsed back ----


def test_camt054_round_trip_is_exact() -> None:
    credits = [
        ("R-1", Decimal("0.10"), "USD", DAY, "CLIENT-1", "Alice Ltd"),
        ("R-2", Decimal("0.2"), "USD", DAY, "CLIENT-2", None),
        ("R-3", Decimal("9999999999999999.99"), "USD", DAY, "CLIENT-3", "Big Corp"),
        ("R-4", Decimal("123456789012345678"), "JPY", DAY, "CLIENT-4", None),
        ("R-5", Decimal("1.234"), "KWD", DAY, "CLIENT-5", None),
    ]
    xml = camt054(*credits)
    validate(xml, "camt.054.001.08")
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<Document')
    assert xml == camt054(*credits)  # deterministic
    assert texts(xml, "camt.054.001.08", ".//d:Ntry/d:Amt") == [
        "0.10", "0.20", "9999999999999999.99", "123456789012345678", "1.234"
    ]
    parsed = parse_camt054(xml, source="built.xml")
    assert [(c.bank_reference, c.amount, c.currency, c.booking_date, c.client_id, c.debtor_name) for c in parsed] == [
        (ref, amount, ccy, day, client, name) for ref, amount, ccy, day, client, name in credits
    ]
    assert [c.entry for c in parsed] == [1, 2, 3, 4, 5]
    assert {c.account for c in parsed} == {IBAN}
    assert parsed[0].amount + parsed[1].amount == Decimal("0.30")
    assert str(parsed[1].amount) == "0.20" and str(parsed[3].amount) == "123456789012345678"


def test_duplicate_bank_reference_in_a_file_is_an_error() -> None:
    xml = camt054(("R-1", Decimal("5"), "USD", DAY, "C-1", None), ("R-1", Decimal("6"), "USD", DAY, "C-2", None))
    assert one_line_error(parse_camt054, xml, source="dup.xml") == (
        "dup.xml: 1 bad entry, nothing imported: entry 2: bank reference 'R-1' already used by entry 1"
    )


def test_camt054_builder_refuses_bad_input() -> None:
    assert one_line_error(camt054) == "camt.054: no credits to notify"
    assert one_line_error(camt054, ("R" * 36, Decimal("1"), "USD", DAY, "C", None)) == (
        f"camt.054 credit 1: bank reference '{'R' * 36}' is 36 characters; ISO 20022 allows at most 35"
    )
    assert one_line_error(camt054, ("R", Decimal("1.001"), "USD", DAY, "C", None)) == (
        "camt.054 credit 1: USD amount '1.001' has more than 2 decimal places"
    )
    assert one_line_error(camt054, ("R", 1.5, "USD", DAY, "C", None)) == (
        "camt.054 credit 1: USD amount 1.5 must be a Decimal, never a float"
    )
    assert one_line_error(camt054, ("R", Decimal("123456789012345678.99"), "USD", DAY, "C", None)) == (
        "camt.054 credit 1: USD amount 123456789012345678.99 has 20 digits; ISO 20022 allows at most 18"
    )


# ---- validation and safe parsing ----


def test_malformed_xml() -> None:
    assert one_line_error(validate, b"<Document><Ntry></Document>", "camt.054.001.08", source="bad.xml").startswith(
        "bad.xml: not well-formed XML: line 1: Opening and ending tag mismatch: Ntry line 1 and Document"
    )
    assert one_line_error(parse_camt054, b"", source="empty.xml") == "empty.xml: not well-formed XML: line 1: Document is empty"
    assert one_line_error(parse_camt054, "<Document/>", source="text.xml") == "text.xml: XML must be given as bytes, not str"


def test_wrong_message_type() -> None:
    assert one_line_error(parse_camt054, pacs008(payout()), source="pay.xml") == (
        "pay.xml: not a camt.054.001.08 message: the root element is a pacs.008.001.08 message "
        "(namespace urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08)"
    )
    assert one_line_error(validate, b"<Document/>", "pacs.008.001.08") == (
        "message: not a pacs.008.001.08 message: the root element is <Document> (namespace none)"
    )
    assert one_line_error(validate, b"<x/>", "pain.001.001.09") == (
        "unknown ISO 20022 message 'pain.001.001.09': expected one of " + ", ".join(MESSAGES)
    )


def test_schema_invalid() -> None:
    data = edited_sample("<CdtDbtInd>DBIT</CdtDbtInd>", "")
    line = SAMPLE.read_text().splitlines().index("        <CdtDbtInd>DBIT</CdtDbtInd>") + 2  # the <Sts> after it
    assert one_line_error(parse_camt054, data, source="in.xml") == (
        f"in.xml: not a valid camt.054.001.08: line {line}: Element 'Sts': This element is not expected. "
        "Expected is ( CdtDbtInd )."
    )


def test_entities_and_doctype_are_refused() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><d>&b;</d>'
    assert one_line_error(validate, bomb, "camt.054.001.08", source="bomb.xml") == (
        "bomb.xml: has a DOCTYPE declaration, which ISO 20022 messages never have; refused"
    )
    external = b'<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>'
    assert "DOCTYPE" in one_line_error(validate, external, "camt.054.001.08")


# ---- pacs.008 ----


def test_pacs008_is_valid_and_exact() -> None:
    payouts = [
        payout(),
        payout(
            instruction_id="RED-2",
            end_to_end_id="E" * 35,
            uetr="0b7e4e4e-3c1a-4f2b-8d9e-1a2b3c4d5e6f",
            amount=Decimal("123456789012345678"),
            currency="JPY",
            creditor=Party("Bob KK", "JP", account="1234-5678"),
            remittance="x" * 200,
        ),
    ]
    xml = pacs008(*payouts)
    validate(xml, "pacs.008.001.08")
    assert xml == pacs008(*payouts)  # deterministic
    m = "pacs.008.001.08"
    tx = ".//d:CdtTrfTxInf"
    assert texts(xml, m, ".//d:GrpHdr/d:NbOfTxs") == ["2"]
    assert texts(xml, m, ".//d:SttlmMtd") == ["INDA"]
    assert texts(xml, m, f"{tx}/d:IntrBkSttlmAmt") == ["12.50", "123456789012345678"]
    assert [el.get("Ccy") for el in etree.fromstring(xml).iterfind(f"{tx}/d:IntrBkSttlmAmt", ns(m))] == ["USD", "JPY"]
    assert texts(xml, m, f"{tx}/d:PmtId/d:EndToEndId") == ["HOLDER-REF-1", "E" * 35]
    assert texts(xml, m, f"{tx}/d:PmtId/d:UETR") == [UETR, "0b7e4e4e-3c1a-4f2b-8d9e-1a2b3c4d5e6f"]
    assert texts(xml, m, f"{tx}/d:IntrBkSttlmDt") == ["2025-01-03"] * 2
    assert texts(xml, m, f"{tx}/d:ChrgBr") == ["SLEV"] * 2
    assert texts(xml, m, f"{tx}/d:DbtrAgt//d:BICFI") == texts(xml, m, f"{tx}/d:CdtrAgt//d:BICFI") == ["EXAMDEFFXXX"] * 2
    assert texts(xml, m, f"{tx}/d:Cdtr/d:Id/d:OrgId/d:LEI") == ["213800D1EI4B9WTWWD28"]
    assert texts(xml, m, f"{tx}/d:CdtrAcct/d:Id/d:IBAN") == ["GB33BUKB20201555555555"]
    assert texts(xml, m, f"{tx}/d:CdtrAcct/d:Id/d:Othr/d:Id") == ["1234-5678"]
    assert texts(xml, m, f"{tx}/d:RmtInf/d:Ustrd") == ["Redemption of deposit token, tx " + TX, "x" * 140]


def test_pacs008_refuses_bad_input() -> None:
    assert one_line_error(pacs008) == "pacs.008: no payouts to instruct"
    assert one_line_error(pacs008, payout(end_to_end_id="H" * 36)) == (
        f"pacs.008 payout 1: end-to-end id (payout reference) '{'H' * 36}' is 36 characters; ISO 20022 allows at most 35"
    )
    assert one_line_error(pacs008, payout(uetr="not-a-uuid")) == (
        "pacs.008 payout 1: UETR 'not-a-uuid' is not a lower-case UUID v4"
    )
    assert one_line_error(pacs008, payout(), payout()) == (
        "pacs.008 payout 2: instruction id or UETR 'RED-1' already used by payout 1"
    )
    assert one_line_error(pacs008, payout(amount=Decimal("0.001"))) == (
        "pacs.008 payout 1: USD amount '0.001' has more than 2 decimal places"
    )
    assert one_line_error(pacs008, payout(creditor=Party("C", "gb"))) == (
        "pacs.008 payout 1: creditor country 'gb' is not a valid code (expected [A-Z]{2})"
    )
    assert one_line_error(
        build_pacs008, message_id="P", created=NOW, settlement_date=DAY, debtor=BANK,
        debtor_agent=Party("Bank without BIC"), payouts=[payout()],
    ) == "pacs.008 payout 1: debtor agent has no BIC"
    assert one_line_error(
        build_pacs008, message_id="M" * 36, created=NOW, settlement_date=DAY, debtor=BANK, debtor_agent=BANK,
        payouts=[payout()],
    ).startswith("pacs.008 message id 'MMM")


def test_pacs008_creditor_account_on_us_iban_and_local_account_at_another_bank() -> None:
    """Issue 10 §4: the creditor's account, and its bank as creditor agent when it is not the debtor agent."""
    payouts = [
        payout(creditor=Party("On-us GmbH", "DE", account="DEP-0007-001")),
        payout(instruction_id="RED-2", uetr="0b7e4e4e-3c1a-4f2b-8d9e-1a2b3c4d5e6f",
               creditor=Party("Iban Ltd", "GB", account="GB33BUKB20201555555555"), creditor_agent=Party("", bic="BUKBGB22")),
        payout(instruction_id="RED-3", uetr="1b7e4e4e-3c1a-4f2b-8d9e-1a2b3c4d5e6f",
               creditor=Party("Local Co", "CN", account="0012345678"), creditor_agent=Party("", bic="DEVBCNSHXXX")),
    ]
    xml = pacs008(*payouts)
    validate(xml, "pacs.008.001.08")
    m, tx = "pacs.008.001.08", ".//d:CdtTrfTxInf"
    assert texts(xml, m, f"{tx}/d:CdtrAgt/d:FinInstnId/d:BICFI") == ["EXAMDEFFXXX", "BUKBGB22", "DEVBCNSHXXX"]
    assert texts(xml, m, f"{tx}/d:DbtrAgt/d:FinInstnId/d:BICFI") == ["EXAMDEFFXXX"] * 3
    assert texts(xml, m, f"{tx}/d:CdtrAcct/d:Id/d:IBAN") == ["GB33BUKB20201555555555"]
    assert texts(xml, m, f"{tx}/d:CdtrAcct/d:Id/d:Othr/d:Id") == ["DEP-0007-001", "0012345678"]
    assert one_line_error(pacs008, payout(creditor_agent=Party("", bic="BAD"))) == (
        "pacs.008 payout 1: creditor agent BIC 'BAD' is not a valid code (expected [A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?)")


def test_iban_check_digits() -> None:
    from deptoken.iso20022.common import is_iban, parse_iban

    assert parse_iban("gb33 bukb 2020 1555 5555 55") == "GB33BUKB20201555555555"
    assert is_iban(IBAN) and not is_iban("DE88370400440532013000") and not is_iban("1234-5678")
    assert one_line_error(parse_iban, "DE88370400440532013000") == "IBAN 'DE88370400440532013000' has wrong IBAN check digits (mistyped?)"
    assert one_line_error(parse_iban, "DE89").startswith("IBAN 'DE89' is not an IBAN")


# ---- camt.054 debits: the payment system's confirmation of payouts (issue 10 #6) ----


def debit(**changes: object) -> DebitEntry:
    fields: dict[str, object] = dict(entry=1, reference="RTGS-1", amount=Decimal("12.50"), currency="USD",
                                     booking_date=DAY, instruction_id="RED-1", end_to_end_id="HOLDER-REF-1",
                                     uetr=UETR, message_id="PAY-1")
    fields.update(changes)
    return DebitEntry(**fields)  # type: ignore[arg-type]


def camt054_debits(*debits: DebitEntry) -> bytes:
    return build_camt054_debits(message_id="CONF-1", created=NOW, account=OMNIBUS, servicer_bic="EXAMDEFFXXX", debits=debits)


def test_camt054_debits_round_trip_and_credits_are_skipped() -> None:
    debits = [debit(), debit(entry=2, reference="RTGS-2", amount=Decimal("1.00"), instruction_id=None, end_to_end_id=None,
                             message_id=None)]
    xml = camt054_debits(*debits)
    validate(xml, "camt.054.001.08")
    assert parse_camt054_debits(xml, source="c.xml") == ("CONF-1", debits)
    credits = camt054(("CAMT-1", Decimal("5.00"), "USD", DAY, "C-1", None))
    assert one_line_error(parse_camt054_debits, credits, source="c.xml") == "c.xml: no booked debit entries (1 entries in the file)"
    assert one_line_error(parse_camt054, xml, source="c.xml").startswith("c.xml: no booked credit entries")


def test_camt054_debit_without_payment_id_is_refused() -> None:
    xml = camt054_debits(debit(instruction_id=None, end_to_end_id=None, uetr=None))
    assert one_line_error(parse_camt054_debits, xml, source="c.xml") == (
        "c.xml: 1 bad entry, nothing recorded: entry 1: no payment id (TxDtls/Refs/InstrId, EndToEndId or UETR)")


# ---- camt.053 ----


def test_camt053_is_valid_balanced_and_exact() -> None:
    xml = camt053(MINTS)
    validate(xml, "camt.053.001.08")
    assert xml == camt053(MINTS)
    m = "camt.053.001.08"
    assert texts(xml, m, ".//d:Stmt/d:ElctrncSeqNb") == ["7"]
    assert texts(xml, m, ".//d:Bal/d:Tp/d:CdOrPrtry/d:Cd") == ["OPBD", "CLBD"]
    assert texts(xml, m, ".//d:Bal/d:Amt") == ["100.00", "100.25"]
    assert texts(xml, m, ".//d:TtlNtries/d:Sum") == ["0.35"]
    assert texts(xml, m, ".//d:TtlNetNtry/d:Amt") == ["0.25"]
    assert texts(xml, m, ".//d:TtlCdtNtries/*") == ["2", "0.30"]
    assert texts(xml, m, ".//d:TtlDbtNtries/*") == ["1", "0.05"]
    assert texts(xml, m, ".//d:Ntry/d:CdtDbtInd") == ["CRDT", "CRDT", "DBIT"]
    assert texts(xml, m, ".//d:Ntry/d:BkTxCd/d:Prtry/d:Cd") == ["MINT", "MINT", "BURN"]
    short = texts(xml, m, ".//d:Ntry/d:AcctSvcrRef")
    assert re.fullmatch(r"0x(ab){10}~[0-9a-f]{12}", short[0]) and short[1:] == ["0xcd:1", "0xef:3"]
    assert texts(xml, m, ".//d:Ntry/d:AddtlNtryInf")[0] == f"Mint to 0x1111 for CLIENT-0042 (ref {TX})"
    assert texts(xml, m, ".//d:Ntry/d:BookgDt/d:DtTm")[0] == "2025-01-02T14:05:00+00:00"


def test_camt053_large_amounts_and_debit_balance() -> None:
    big = [StatementEntry("r1", Decimal("123456789012345.67"), True, NOW, "Mint")]
    xml = camt053(big, opening="-0.01", closing="123456789012345.66")
    assert texts(xml, "camt.053.001.08", ".//d:Bal/d:Amt") == ["0.01", "123456789012345.66"]
    assert texts(xml, "camt.053.001.08", ".//d:Bal/d:CdtDbtInd") == ["DBIT", "CRDT"]


def test_camt053_refuses_an_unbalanced_statement() -> None:
    assert one_line_error(camt053, MINTS, closing="100.30") == (
        "camt.053 statement 'STMT-2025-01-02': does not balance: opening 100.00 + credits 0.30 - debits 0.05 "
        "= 100.25 USD, but closing is 100.30"
    )
    assert one_line_error(camt053, MINTS + [MINTS[0]], closing="100.35") == (
        f"camt.053 statement 'STMT-2025-01-02': reference '{TX}' appears twice"
    )
    bad = [StatementEntry("r1", Decimal("0.001"), True, NOW, "Mint")]
    assert one_line_error(camt053, bad) == (
        "camt.053 statement 'STMT-2025-01-02': entry 'r1': USD amount '0.001' has more than 2 decimal places"
    )


PAY_IN, PAY_OUT = "0x" + "12" * 32, "0x" + "3f" * 32


def test_camt053_interbank_entries_carry_the_transfer_code_and_the_payment_reference() -> None:
    """Issue 13: an interbank payment in (the network mints to the payee) or out (it burns the payer's
    token) is a mint or burn of the liability (Prtry MINT/BURN, as before) and also a credit transfer
    received or issued (Domn PMNT/RCDT or ICDT), with the payment reference in its own field."""
    entries = [
        StatementEntry("0xaa:1", Decimal("0.40"), True, NOW - timedelta(hours=3), "Interbank payment in", payment_reference=PAY_IN),
        StatementEntry("0xbb:2", Decimal("0.10"), False, NOW - timedelta(hours=2), "Interbank payment out",
                       payment_reference=PAY_OUT),
        StatementEntry("0xcc:3", Decimal("0.05"), False, NOW - timedelta(hours=1), "Redemption burn"),
    ]
    xml = camt053(entries)
    validate(xml, "camt.053.001.08")
    m = "camt.053.001.08"
    assert texts(xml, m, ".//d:Ntry/d:BkTxCd/d:Prtry/d:Cd") == ["MINT", "BURN", "BURN"]
    assert texts(xml, m, ".//d:Ntry/d:BkTxCd/d:Domn/d:Fmly/d:Cd") == ["RCDT", "ICDT"]
    assert texts(xml, m, ".//d:Ntry/d:BkTxCd/d:Domn/d:Cd") == ["PMNT", "PMNT"]
    assert texts(xml, m, ".//d:Ntry/d:NtryDtls/d:TxDtls/d:AddtlTxInf") == [PAY_IN, PAY_OUT]
    assert texts(xml, m, ".//d:Ntry/d:NtryDtls/d:TxDtls/d:Amt") == ["0.40", "0.10"]
    assert texts(xml, m, ".//d:Ntry/d:NtryDtls/d:TxDtls/d:CdtDbtInd") == ["CRDT", "DBIT"]
    assert texts(xml, m, ".//d:TtlNetNtry/d:Amt") == ["0.25"]


def test_camt053_refuses_a_malformed_payment_reference() -> None:
    for bad in ("0x" + "12" * 31, "0x" + "AB" * 32, "IB-OUT-1", b"\x12" * 32):
        entry = StatementEntry("r1", Decimal("0.25"), True, NOW, "Interbank payment in", payment_reference=bad)  # type: ignore[arg-type]
        assert one_line_error(camt053, [entry]) == (
            f"camt.053 statement 'STMT-2025-01-02': entry 'r1': payment reference {bad!r} is not 0x followed by 64 lower-case "
            "hex digits"), bad
