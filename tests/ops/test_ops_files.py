"""The operations tool's input files: CSV reading rules, KYC / renewal / offboarding / deposit files."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from helpers import one_line_error
from deptoken.allowlist_file import read_allowlist_file
from deptoken.ops.countries import COUNTRIES, parse_country
from deptoken.ops.csvfiles import RowProblem, problems_summary, read_csv
from deptoken.ops.deposit_file import DepositRow, read_deposit_file
from deptoken.ops.kyc import (
    KycRecord,
    OffboardRecord,
    PayoutAccount,
    RenewalRecord,
    read_kyc_file,
    read_offboarding_file,
    read_renewal_file,
)

from constants import A7, A8, ROOT
TODAY = date(2026, 11, 25)
LEI = "DEVNET00CLIENT000708"
KYC_HEADER = "address,client_id,legal_name,country,lei,kyc_review_date"
KYC_GOOD = f"{A7},DEV-0007,Seven GmbH,DE,{LEI},2027-06-30"
DEPOSIT_HEADER = "bank_reference,client_id,amount,currency,value_date"
DEPOSIT_GOOD = "DEP-1,DEV-0007,1250.50,USD,2026-11-24"


def write(tmp_path: Path, text: str | bytes, name: str = "in.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path



# --- read_csv: the file and its header ---------------------------------------------------------


def test_header_is_case_insensitive_in_any_order_and_cells_are_stripped(tmp_path):
    path = write(tmp_path, " B ,A,Note\n x , y ,z\n")
    rows, problems = read_csv(path, ["a", "b"], optional=["note", "extra"], what="test file")
    assert problems == []
    assert rows == [(2, {"a": "y", "b": "x", "note": "z", "extra": ""})]


@pytest.mark.parametrize(
    "header, message",
    [
        ("a", "test file {}: header on line 1: missing column(s) b (expected a,b,[note])"),
        ("a,b,c,d", "test file {}: header on line 1: unknown column(s) 'c', 'd' (expected a,b,[note])"),
        ("a,b,A", "test file {}: header on line 1: repeated column(s) 'a' (expected a,b,[note])"),
        ("b,x", "test file {}: header on line 1: missing column(s) a; unknown column(s) 'x' (expected a,b,[note])"),
        ('a,"b', "test file {}: header on line 1: quoted field not closed"),
    ],
)
def test_bad_header_is_an_error_naming_the_file(tmp_path, header, message):
    path = write(tmp_path, header + "\n1,2\n")
    assert one_line_error(read_csv, path, ["a", "b"], optional=["note"], what="test file") == message.format(path)


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n  \n"])
def test_file_without_header_is_an_error(tmp_path, text):
    path = write(tmp_path, text)
    assert one_line_error(read_csv, path, ["a", "b"], what="test file") == (
        f"test file {path} is empty: expected a header row (a,b)"
    )


def test_header_only_file_has_no_rows_and_no_problems(tmp_path):
    assert read_csv(write(tmp_path, "a,b\n"), ["a", "b"], what="test file") == ([], [])


def test_missing_unreadable_and_non_utf8_files_are_errors(tmp_path):
    missing = tmp_path / "nope.csv"
    assert one_line_error(read_csv, missing, ["a"], what="KYC file") == f"KYC file {missing} not found"
    assert one_line_error(read_csv, tmp_path, ["a"], what="KYC file") == f"KYC file {tmp_path} not found"
    latin1 = write(tmp_path, "a\nM\xfcller\n".encode("latin-1"))
    assert one_line_error(read_csv, latin1, ["a"], what="KYC file") == (
        f"KYC file {latin1} is not UTF-8 text (bad byte at offset 3)"
    )


def test_byte_order_mark_is_ignored(tmp_path):
    path = write(tmp_path, "\ufeffa,b\n1,2\n".encode())
    assert read_csv(path, ["a", "b"], what="f") == ([(2, {"a": "1", "b": "2"})], [])


def test_crlf_line_ends(tmp_path):
    path = write(tmp_path, "a,b\r\n\r\n1,2\r\n# c\r\n3,\"x\r\ny\"\r\n5,6\r\n")
    rows, problems = read_csv(path, ["a", "b"], what="f")
    assert problems == []
    assert rows == [(3, {"a": "1", "b": "2"}), (5, {"a": "3", "b": "x\r\ny"}), (7, {"a": "5", "b": "6"})]


def test_blank_and_comment_lines_are_skipped_and_counted(tmp_path):
    text = '# comment, with "an unclosed quote\n\na,b\n  # indented comment\n   \n1,2\n#\n3,4'
    rows, problems = read_csv(write(tmp_path, text), ["a", "b"], what="f")
    assert problems == []
    assert rows == [(6, {"a": "1", "b": "2"}), (8, {"a": "3", "b": "4"})]


def test_quoted_fields_with_commas_and_line_breaks_keep_line_numbers(tmp_path):
    text = 'a,b\n"x, y",1\n"two\n\n# not a comment\nlines",2\n3,"""quoted"""\n4,5\n'
    rows, problems = read_csv(write(tmp_path, text), ["a", "b"], what="f")
    assert problems == []
    assert rows == [
        (2, {"a": "x, y", "b": "1"}),
        (3, {"a": "two\n\n# not a comment\nlines", "b": "2"}),
        (7, {"a": "3", "b": '"quoted"'}),
        (8, {"a": "4", "b": "5"}),
    ]


def test_rows_with_wrong_cell_count_or_broken_quoting_are_problems(tmp_path):
    text = 'a,b\n1,2\n1\n1,2,3\n"x"y,2\n5,6\n7,"unclosed\n8,9\n'
    rows, problems = read_csv(write(tmp_path, text), ["a", "b"], what="f")
    assert rows == [(2, {"a": "1", "b": "2"}), (6, {"a": "5", "b": "6"})]
    assert problems == [
        RowProblem(3, "expected 2 cells (a,b), got 1"),
        RowProblem(4, "expected 2 cells (a,b), got 3"),
        RowProblem(5, "not valid CSV (',' expected after '\"')"),
        RowProblem(7, "quoted field not closed"),
    ]


def test_problems_summary():
    problems = [RowProblem(n, f"bad {n}") for n in range(2, 27)]
    assert problems_summary("c.csv", problems[:1]) == "c.csv: 1 bad row: line 2: bad 2"
    assert problems_summary("c.csv", problems[:3]) == "c.csv: 3 bad rows: line 2: bad 2; line 3: bad 3; line 4: bad 4"
    assert problems_summary("c.csv", problems, limit=2) == "c.csv: 25 bad rows: line 2: bad 2; line 3: bad 3; ... and 23 more"
    full = problems_summary("c.csv", problems)
    assert full.startswith("c.csv: 25 bad rows: line 2: bad 2;") and full.endswith("line 21: bad 21; ... and 5 more")
    assert problems_summary("c.csv", []) == "c.csv: 0 bad rows"
    assert str(RowProblem(4, "x")) == "line 4: x"


# --- countries ---------------------------------------------------------------------------------


def test_countries():
    assert len(COUNTRIES) == 249
    assert {"DE", "SG", "CN", "GB", "US", "SS", "BQ", "AQ", "AX"} <= COUNTRIES
    assert parse_country(" de ") == "DE"
    for code in ("UK", "EU", "XK", "XX", "DEU", ""):
        assert one_line_error(parse_country, code) == f"unknown country code {code!r} (ISO 3166-1 alpha-2)"


# --- KYC file ----------------------------------------------------------------------------------


def test_kyc_file_good_rows(tmp_path):
    text = f"{KYC_HEADER}\n{KYC_GOOD}\n{A8},c/8_x.y,\"Jane Doe, Jr.\",sg,,2036-12-31\n"
    records, problems = read_kyc_file(write(tmp_path, text), today=TODAY)
    assert problems == []
    assert records == [
        KycRecord(2, A7, "DEV-0007", "Seven GmbH", "DE", LEI, date(2027, 6, 30)),
        KycRecord(3, A8, "c/8_x.y", "Jane Doe, Jr.", "SG", None, date(2036, 12, 31)),
    ]


KYC_BAD = [
    ({"address": "0x123"}, "address '0x123' is not an address (0x followed by 40 hex digits)"),
    ({"address": A8.lower()}, f"address {A8.lower()} has no EIP-55 checksum: give it in checksummed (mixed-case) form"),
    ({"address": A8[:-1] + "F"}, f"address {A8[:-1]}F has a wrong EIP-55 checksum (mistyped?)"),
    ({"address": A7}, f"address {A7} is already on line 2"),
    ({"client_id": "DEV 8"}, "client_id 'DEV 8' is not 1-35 characters of A-Z a-z 0-9 . _ / -"),
    ({"client_id": ""}, "client_id '' is not 1-35 characters of A-Z a-z 0-9 . _ / -"),
    ({"client_id": "C" * 36}, f"client_id '{'C' * 36}' is not 1-35 characters of A-Z a-z 0-9 . _ / -"),
    ({"client_id": "DEV-0007"}, "client_id DEV-0007 is already on line 2"),
    ({"legal_name": "   "}, "legal_name is empty"),
    ({"legal_name": "N" * 141}, "legal_name has 141 characters, at most 140 allowed"),
    ({"legal_name": '"Eight\x07 Ltd"'}, "legal_name 'Eight\\x07 Ltd' contains line breaks or other non-printable characters"),
    ({"country": "UK"}, "unknown country code 'UK' (ISO 3166-1 alpha-2)"),
    ({"lei": LEI.lower()}, f"lei {LEI.lower()!r} is not an LEI (18 upper-case letters or digits, 2 check digits)"),
    ({"lei": LEI[:-1]}, f"lei {LEI[:-1]!r} is not an LEI (18 upper-case letters or digits, 2 check digits)"),
    ({"lei": LEI[:-1] + "9"}, f"lei {LEI[:-1]}9 has wrong check digits (mistyped?)"),
    ({"kyc_review_date": "30/06/2027"}, "kyc_review_date '30/06/2027' is not a date (YYYY-MM-DD)"),
    ({"kyc_review_date": ""}, "kyc_review_date '' is not a date (YYYY-MM-DD)"),
    ({"kyc_review_date": "2027-02-29"}, "kyc_review_date '2027-02-29' is not a calendar date"),
    ({"kyc_review_date": "2026-11-25"}, "kyc_review_date 2026-11-25 is not after today (2026-11-25)"),
    ({"kyc_review_date": "2025-01-01"}, "kyc_review_date 2025-01-01 is not after today (2026-11-25)"),
    ({"kyc_review_date": "2037-01-01"}, "kyc_review_date 2037-01-01 is more than 10 years ahead (mistyped?)"),
    ({"kyc_review_date": "9999-12-31"}, "kyc_review_date 9999-12-31 is more than 10 years ahead (mistyped?)"),
]


@pytest.mark.parametrize("change, reason", KYC_BAD, ids=[r for _, r in KYC_BAD])
def test_kyc_file_bad_row(tmp_path, change, reason):
    row = {"address": A8, "client_id": "DEV-0008", "legal_name": "Eight Ltd", "country": "SG", "lei": "",
           "kyc_review_date": "2027-03-31"} | change
    text = f"{KYC_HEADER}\n{KYC_GOOD}\n# comment\n" + ",".join(row.values()) + "\n"
    records, problems = read_kyc_file(write(tmp_path, text), today=TODAY)
    assert problems == [RowProblem(4, reason)]
    assert [r.line for r in records] == [2]


def test_kyc_file_reports_every_bad_row_in_line_order(tmp_path):
    text = (
        f"{KYC_HEADER}\n"
        f"{A7},DEV-0007,\"Seven\nGmbH\",DE,{LEI},2027-06-30\n"  # lines 2-3: a name with a line break
        f"{A7},DEV-0007,Too,Few\n"  # line 4
        f"{A8},DEV-0008,Eight Ltd,SG,,2027-03-31\n"  # line 5: good
        f"{A8},DEV-0009,Nine,XX,,2027-03-31\n"  # line 6
    )
    records, problems = read_kyc_file(write(tmp_path, text, "clients.csv"), today=TODAY)
    assert [r.line for r in records] == [5]
    assert problems == [
        RowProblem(2, "legal_name 'Seven\\nGmbH' contains line breaks or other non-printable characters"),
        RowProblem(4, f"expected 6 cells ({KYC_HEADER}), got 4"),
        RowProblem(6, f"address {A8} is already on line 5; unknown country code 'XX' (ISO 3166-1 alpha-2)"),
    ]
    assert problems_summary("clients.csv", problems).startswith("clients.csv: 3 bad rows: line 2: legal_name ")


def test_kyc_file_requires_the_lei_column(tmp_path):
    path = write(tmp_path, "address,client_id,legal_name,country,kyc_review_date\n")
    assert "KYC file" in (message := one_line_error(read_kyc_file, path, today=TODAY))
    assert "missing column(s) lei" in message


# --- payout accounts (issue 10 §4) ------------------------------------------------------------

PAYOUT_HEADER = KYC_HEADER + ",payout_account,payout_bic"
IBAN = "GB33BUKB20201555555555"


def test_kyc_file_payout_accounts_on_us_iban_and_local_account_elsewhere(tmp_path):
    """The payout account: a deposit account at the bank (no BIC), an IBAN (print form accepted) with
    the BIC of the bank holding it, or a local account at another bank; optional (left empty)."""
    text = (f"{PAYOUT_HEADER}\n{KYC_GOOD},DEP-0007-001,\n"
            f"{A8},DEV-0008,Eight Ltd,SG,,2027-03-31,gb33 bukb 2020 1555 5555 55,BUKBGB22\n"
            f"0xa0Ee7A142d267C1f36714E4a8F75612F20a79720,DEV-0009,Nine Ltd,CN,,2027-03-31,0012345678,DEVBCNSHXXX\n"
            f"0x976EA74026E726554dB657fA54763abd0C3a0aa9,DEV-0010,Ten Ltd,DE,,2027-03-31,,\n")
    records, problems = read_kyc_file(write(tmp_path, text), today=TODAY)
    assert problems == []
    assert [r.payout for r in records] == [PayoutAccount("DEP-0007-001", None), PayoutAccount(IBAN, "BUKBGB22"),
                                           PayoutAccount("0012345678", "DEVBCNSHXXX"), None]
    records, _ = read_kyc_file(write(tmp_path, f"{KYC_HEADER}\n{KYC_GOOD}\n"), today=TODAY)  # a file without the columns
    assert records[0].payout is None


PAYOUT_BAD = [
    (("GB34BUKB20201555555555", "BUKBGB22"), "payout_account 'GB34BUKB20201555555555' has wrong IBAN check digits (mistyped?)"),
    ((IBAN, ""), f"payout_account {IBAN} is an IBAN: payout_bic must name the bank holding it"),
    ((IBAN, "BUKB GB22"), "payout_bic 'BUKB GB22' is not a BIC (ISO 9362: 8 or 11 upper-case letters and digits)"),
    (("0012345678", "bukbgb22"), "payout_bic 'bukbgb22' is not a BIC (ISO 9362: 8 or 11 upper-case letters and digits)"),
    (("0012345678", "BUKBGB2"), "payout_bic 'BUKBGB2' is not a BIC (ISO 9362: 8 or 11 upper-case letters and digits)"),
    (("0012345678", "BUKBXX22"), "payout_bic BUKBXX22: 'XX' is not an ISO 3166 country code"),
    (("", "BUKBGB22"), "payout_bic BUKBGB22 given without a payout_account"),
    (("ACC 1", ""), "payout_account 'ACC 1' is neither an IBAN nor 1-34 characters of A-Z a-z 0-9 . _ / -"),
    (("A" * 35, ""), f"payout_account '{'A' * 35}' is neither an IBAN nor 1-34 characters of A-Z a-z 0-9 . _ / -"),
]


@pytest.mark.parametrize("cells, reason", PAYOUT_BAD, ids=[r for _, r in PAYOUT_BAD])
def test_kyc_file_bad_payout_account(tmp_path, cells, reason):
    text = f"{PAYOUT_HEADER}\n{KYC_GOOD},DEP-1,\n{A8},DEV-0008,Eight Ltd,SG,,2027-03-31,{cells[0]},{cells[1]}\n"
    records, problems = read_kyc_file(write(tmp_path, text), today=TODAY)
    assert problems == [RowProblem(3, reason)] and [r.line for r in records] == [2]


def test_renewal_file_may_change_the_payout_account(tmp_path):
    text = ("client_id,kyc_review_date,payout_account,payout_bic\n"
            f"DEV-0007,2028-06-30,{IBAN},BUKBGB22\nDEV-0008,2028-06-30,,\nDEV-0009,2028-06-30,GB00BUKB20201555555555,BUKBGB22\n")
    records, problems = read_renewal_file(write(tmp_path, text), today=TODAY)
    assert records == [RenewalRecord(2, "DEV-0007", date(2028, 6, 30), PayoutAccount(IBAN, "BUKBGB22")),
                       RenewalRecord(3, "DEV-0008", date(2028, 6, 30))]
    assert problems == [RowProblem(4, "payout_account 'GB00BUKB20201555555555' has wrong IBAN check digits (mistyped?)")]


# --- renewal and offboarding files -------------------------------------------------------------


def test_renewal_file(tmp_path):
    text = (
        "Client_ID,KYC_Review_Date\n"
        "DEV-0007,2028-06-30\n"
        "DEV 8,2028-06-30\n"
        "DEV-0007,2029-01-31\n"
        "DEV-0009,2026-11-24\n"
        "DEV-0010,2028-13-01\n"
    )
    records, problems = read_renewal_file(write(tmp_path, text), today=TODAY)
    assert records == [RenewalRecord(2, "DEV-0007", date(2028, 6, 30))]
    assert problems == [
        RowProblem(3, "client_id 'DEV 8' is not 1-35 characters of A-Z a-z 0-9 . _ / -"),
        RowProblem(4, "client_id DEV-0007 is already on line 2"),
        RowProblem(5, "kyc_review_date 2026-11-24 is not after today (2026-11-25)"),
        RowProblem(6, "kyc_review_date '2028-13-01' is not a calendar date"),
    ]
    path = write(tmp_path, "client_id\nDEV-1\n")
    assert one_line_error(read_renewal_file, path, today=TODAY).startswith(f"KYC renewal file {path}: header")


def test_offboarding_file(tmp_path):
    text = (
        "client_id,reason\n"
        'DEV-0007,"Client request, account closed"\n'
        "DEV-0008,\n"
        f"DEV-0009,{'r' * 141}\n"
        "DEV-0007,again\n"
        "x y,fraud\n"
    )
    records, problems = read_offboarding_file(write(tmp_path, text))
    assert records == [OffboardRecord(2, "DEV-0007", "Client request, account closed")]
    assert problems == [
        RowProblem(3, "reason is empty"),
        RowProblem(4, "reason has 141 characters, at most 140 allowed"),
        RowProblem(5, "client_id DEV-0007 is already on line 2"),
        RowProblem(6, "client_id 'x y' is not 1-35 characters of A-Z a-z 0-9 . _ / -"),
    ]


# --- deposit file ------------------------------------------------------------------------------


def test_deposit_file_good_rows(tmp_path):
    text = f"{DEPOSIT_HEADER}\n{DEPOSIT_GOOD}\r\nDEP 2/x,DEV-0008,7,usd,2026-11-25\r\nDEP-3,DEV-0008,0.1,USD,2026-11-25\r\n"
    rows, problems = read_deposit_file(write(tmp_path, text), currency="USD")
    assert problems == []
    assert rows == [
        DepositRow(2, "DEP-1", "DEV-0007", Decimal("1250.50"), "USD", date(2026, 11, 24)),
        DepositRow(3, "DEP 2/x", "DEV-0008", Decimal("7.00"), "USD", date(2026, 11, 25)),
        DepositRow(4, "DEP-3", "DEV-0008", Decimal("0.10"), "USD", date(2026, 11, 25)),
    ]
    assert all(type(r.amount) is Decimal and str(r.amount).count(".") == 1 for r in rows)


PLAIN = "is not a plain unsigned decimal number such as 1250.50"
NOT_PLAIN = "is not a plain decimal number such as 125.50"
DEPOSIT_BAD = [
    ({"amount": '"1,250.50"'}, "amount '1,250.50' " + NOT_PLAIN),
    ({"amount": "1 250.50"}, "amount '1 250.50' " + NOT_PLAIN),
    ({"amount": "1e3"}, "amount '1e3' " + NOT_PLAIN),
    ({"amount": "NaN"}, "amount 'NaN' " + NOT_PLAIN),
    ({"amount": "Infinity"}, "amount 'Infinity' " + NOT_PLAIN),
    ({"amount": ".5"}, "amount '.5' " + NOT_PLAIN),
    ({"amount": ""}, "amount '' " + NOT_PLAIN),
    ({"amount": "-5"}, "amount '-5' " + PLAIN),
    ({"amount": "+5"}, "amount '+5' " + PLAIN),
    ({"amount": "\uff15"}, "amount '\uff15' " + PLAIN),
    ({"amount": "0.00"}, "amount '0.00' must be positive"),
    ({"amount": "1.001"}, "amount '1.001' has more than 2 decimal places"),
    ({"currency": "EUR"}, "currency EUR is not the token's currency USD"),
    ({"currency": "XYZ"}, "unknown currency code 'XYZ': expected an ISO 4217 code such as USD"),
    ({"bank_reference": ""}, "bank_reference is empty"),
    ({"bank_reference": "R" * 36}, "bank_reference has 36 characters, at most 35 allowed"),
    ({"bank_reference": '"DEP\t2"'}, "bank_reference 'DEP\\t2' contains line breaks or other non-printable characters"),
    ({"bank_reference": "DEP-1"}, "bank_reference 'DEP-1' is already on line 2"),
    ({"client_id": "DEV#8"}, "client_id 'DEV#8' is not 1-35 characters of A-Z a-z 0-9 . _ / -"),
    ({"value_date": "2026-11-31"}, "value_date '2026-11-31' is not a calendar date"),
    ({"value_date": "25.11.2026"}, "value_date '25.11.2026' is not a date (YYYY-MM-DD)"),
]


@pytest.mark.parametrize("change, reason", DEPOSIT_BAD, ids=[r for _, r in DEPOSIT_BAD])
def test_deposit_file_bad_row(tmp_path, change, reason):
    row = {"bank_reference": "DEP-2", "client_id": "DEV-0008", "amount": "10.00", "currency": "USD",
           "value_date": "2026-11-25"} | change
    text = f"{DEPOSIT_HEADER}\n{DEPOSIT_GOOD}\n\n" + ",".join(row.values()) + "\n"
    rows, problems = read_deposit_file(write(tmp_path, text), currency="USD")
    assert problems == [RowProblem(4, reason)]
    assert [r.line for r in rows] == [2]


def test_deposit_amounts_follow_the_token_currency(tmp_path):
    text = f"{DEPOSIT_HEADER}\nA,C1,1000,JPY,2026-11-25\nB,C1,1000.5,JPY,2026-11-25\nC,C1,1.234,KWD,2026-11-25\n"
    path = write(tmp_path, text)
    rows, problems = read_deposit_file(path, currency="jpy")
    assert [(r.amount, r.currency) for r in rows] == [(Decimal("1000"), "JPY")]
    assert problems == [
        RowProblem(3, "amount '1000.5' has more than 0 decimal places"),
        RowProblem(4, "currency KWD is not the token's currency JPY; amount '1.234' has more than 0 decimal places"),
    ]
    assert one_line_error(read_deposit_file, path, currency="ABC").startswith("unknown currency code 'ABC'")


# --- example files -----------------------------------------------------------------------------


def test_example_files_parse_without_problems():
    records, problems = read_kyc_file(ROOT / "config/devnet-kyc.csv", today=TODAY)
    assert problems == [] and len(records) == 3
    assert [r.country for r in records] == ["DE", "SG", "CN"]
    assert all(r.lei and r.review_date.year == 2027 for r in records)
    assert [(r.payout.account, r.payout.bic) for r in records] == [  # on-us; IBAN elsewhere; local account elsewhere
        ("DEP-0007-001", None), ("GB33BUKB20201555555555", "BUKBGB22"), ("0012345678", "DEVBCNSH")]
    # the same clients as the devnet allowlist file, whose last row is the treasury
    allowlist = read_allowlist_file(ROOT / "config/devnet-clients.csv")
    assert [r.address for r in records] == [e.account for e in allowlist[:3]]

    deposits, problems = read_deposit_file(ROOT / "config/devnet-deposits.csv", currency="USD")
    assert problems == [] and len(deposits) == 2
    assert {d.client_id for d in deposits} <= {r.client_id for r in records}


def test_every_problem_of_a_row_is_reported_not_only_the_first(tmp_path):
    """Issue 10 #9: a KYC or deposit row with several bad cells names each of them."""
    text = f"{KYC_HEADER}\n{KYC_GOOD}\n0x123,DEV 8,Eight Ltd,UK,,30/06/2027\n"
    _, problems = read_kyc_file(write(tmp_path, text), today=TODAY)
    assert problems == [RowProblem(3, "address '0x123' is not an address (0x followed by 40 hex digits); "
                                      "client_id 'DEV 8' is not 1-35 characters of A-Z a-z 0-9 . _ / -; "
                                      "unknown country code 'UK' (ISO 3166-1 alpha-2); "
                                      "kyc_review_date '30/06/2027' is not a date (YYYY-MM-DD)")]
    text = f"{DEPOSIT_HEADER}\nD-1,C 1,1.001,EUR,2026-13-01\n"
    _, problems = read_deposit_file(write(tmp_path, text, "deposits.csv"), currency="USD")
    assert len(problems) == 1 and problems[0].reason.count("; ") == 3, problems
    assert problems[0].reason.startswith("client_id 'C 1' is not") and "value_date '2026-13-01'" in problems[0].reason
