"""Signed files across libraries (issue 11 §1): what ethers emits is read by the Python tooling, and
what the Python tooling writes is verified by ethers and viem (tests/js/typed_data_interop.mjs, run
with Node; ethers and viem from node_modules).

ethers' form (``TypedDataEncoder.getPayload``): ``chainId`` as hex text, addresses in lower case,
uints as text (here hex), and files without ``EIP712Domain`` in ``types`` (as viem and hand-written
payloads leave it out). The Python files keep ``EIP712Domain`` (the eth_signTypedData_v4 JSON form:
MetaMask's eth-sig-util hashes an empty domain without it); ethers' ``verifyTypedData`` takes the
types without it, one destructuring step (shown in the README), while viem takes the file as it is."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
from eth_utils import keccak

from deptoken.token import authorizations as auth
from deptoken import eip712
from deptoken.token import TokenClient
from deptoken.settlement import pvp as pvp_lib
from deptoken.settlement.escrow import EscrowClient, SignedFunding, deploy_escrow
from deptoken.settlement.pvp import PvPClient, SignedQuote, build_quote, sign_quote
from helpers import one_line_error

from constants import ROOT, YEAR

SCRIPT = ROOT / "tests" / "js" / "typed_data_interop.mjs"


def node(job: dict) -> dict:
    exe = shutil.which("node", path=str(ROOT / "node_modules" / ".bin")) or shutil.which("node") or "node"
    result = subprocess.run([exe, str(SCRIPT)], input=json.dumps(job), cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def ethers_signed(signer, data: dict, *, drop_domain_type: bool = False) -> dict:
    """``data`` (Python's typed data) signed by ethers with ``signer``'s key, in ethers' JSON form."""
    key = signer.private_key
    key = "0x" + key.hex() if isinstance(key, bytes) else key if str(key).startswith("0x") else "0x" + str(key)
    return node({"mode": "sign", "key": key, "typedData": eip712.message_json(data), "dropDomainType": drop_domain_type})


def in_ethers_form(file_text: str, *, drop_domain_type: bool) -> str:
    """A file Python wrote, rewritten as ethers and viem emit typed data: hex chainId and uints,
    lower-case addresses (and no EIP712Domain type)."""
    raw = json.loads(file_text)
    data = raw["typedData"]
    data["domain"]["chainId"] = hex(int(data["domain"]["chainId"]))
    data["domain"]["verifyingContract"] = data["domain"]["verifyingContract"].lower()
    fields = data["types"][data["primaryType"]]
    for field in fields:
        value = data["message"][field["name"]]
        if field["type"] == "address":
            data["message"][field["name"]] = value.lower()
        elif field["type"].startswith("uint"):
            data["message"][field["name"]] = hex(int(value))
    if drop_domain_type:
        del data["types"]["EIP712Domain"]
    if "terms" in raw:
        raw["escrow"] = raw["escrow"].lower()
        raw["terms"] = {k: (v.lower() if k in ("buyer", "seller") else str(v) if isinstance(v, int) else v) for k, v in raw["terms"].items()}
    return json.dumps(raw)


@pytest.fixture(scope="module")
def client(token):
    return TokenClient.from_contract(token)


@pytest.fixture(scope="module")
def pvp(token, cnh_token, admin):
    return PvPClient(pvp_lib.deploy_pvp(admin), tokens=[TokenClient.from_contract(token), TokenClient.from_contract(cnh_token)])


@pytest.fixture(scope="module")
def escrow(token, accounts, compliance, chain):
    fees, marketplace = accounts[31], accounts[30]
    expiry = chain.pending_timestamp + YEAR
    token.allowlist(fees, expiry, sender=compliance)
    contract = deploy_escrow(marketplace, token, admin=marketplace, admin_delay=0, arbiter=None, fee_recipient=fees, fee_bps=150)
    token.allowlist(contract, expiry, sender=compliance)
    return EscrowClient(contract)


@pytest.fixture(scope="module", autouse=True)
def _contracts_first(pvp, escrow):
    """Every module fixture set up before the first test (ape's isolation: no rebase)."""


@pytest.mark.parametrize("drop_domain_type", [False, True])
def test_ethers_signed_authorizations_are_read_verified_and_submitted(token, client, alice, bob, carol, drop_domain_type):
    # an EIP-3009 transfer and a permit, signed in ethers and written in its form: Python reads, verifies, submits
    data = auth.transfer_authorization(client, alice, bob, "3.25", valid_for=600)
    raw = ethers_signed(alice, data, drop_domain_type=drop_domain_type)
    assert raw["typedData"]["domain"]["chainId"].startswith("0x") and raw["typedData"]["message"]["value"] == hex(325)
    assert raw["typedData"]["message"]["from"] == alice.address.lower()
    assert ("EIP712Domain" in raw["typedData"]["types"]) is not drop_domain_type
    signed = auth.SignedMessage.from_json(json.dumps(raw))
    assert signed.data == data and signed.signer == alice.address
    before = int(token.balanceOf(bob))
    auth.submit(client, signed, sender=carol)
    assert int(token.balanceOf(bob)) == before + 325

    permit = auth.permit(client, alice, carol, "1.00", deadline=2**40)
    signed = auth.SignedMessage.from_json(json.dumps(ethers_signed(alice, permit, drop_domain_type=drop_domain_type)))
    auth.submit(client, signed, sender=bob)
    assert int(token.allowance(alice, carol)) == 100


def test_ethers_signed_quote_and_funding(token, cnh_token, pvp, escrow, alice, bob, accounts, chain):
    usd, cnh = TokenClient.from_contract(token), TokenClient.from_contract(cnh_token)
    quote = build_quote(pvp, bob, alice, cnh, usd, "10.00", "7.1234", expiry_seconds=600)
    raw = ethers_signed(bob, quote.typed_data(pvp.domain), drop_domain_type=True)
    signed = SignedQuote.from_json(json.dumps(raw))
    assert signed.quote == quote and signed.digest == bytes(pvp.contract.hashQuote(quote.as_tuple()))
    assert eip712.recover(signed.typed_data, signed.signature) == bob.address

    # the buyer's one-signature funding, signed in ethers; the file's terms as a JS writer may give them
    terms = escrow.terms("ORDER-ETHERS-1", alice, bob, "12.00", ship_by="+7d", confirm_window="3d")
    python_signed = escrow.sign_funding_authorization(alice, terms, 600)
    raw = ethers_signed(alice, python_signed.authorization.data, drop_domain_type=True)
    file = json.loads(in_ethers_form(python_signed.to_json(), drop_domain_type=True))
    file.update(typedData=raw["typedData"], signature=raw["signature"])
    funding = SignedFunding.from_json(json.dumps(file))
    assert funding.terms == terms and funding.authorization.data == python_signed.authorization.data
    escrow.fund_with_authorization(funding, sender=accounts[30])
    assert escrow.order(terms).state == "funded"


@pytest.mark.parametrize("drop_domain_type", [False, True])
def test_every_reader_normalises_the_common_forms(token, cnh_token, pvp, escrow, alice, bob, tmp_path, drop_domain_type):
    client = TokenClient.from_contract(token)
    files = [
        (auth.SignedMessage, auth.sign(alice, auth.transfer_authorization(client, alice, bob, "1.00", valid_for=600))),
        (auth.SignedMessage, auth.sign(alice, auth.permit(client, alice, bob, "1.00", deadline=2**40))),
        (auth.SignedMessage, auth.sign(alice, auth.cancel_authorization(client, alice, keccak(text="n")))),
        (SignedQuote, sign_quote(bob, pvp, build_quote(pvp, bob, alice, TokenClient.from_contract(cnh_token), client, "1.00", "7.1",
                                                       expiry_seconds=600))),
        (SignedFunding, escrow.sign_funding_authorization(
            alice, escrow.terms("ORDER-FORMS-1", alice, bob, "2.00", ship_by="+7d", confirm_window="3d"), 600)),
    ]
    for reader, original in files:
        assert reader.from_json(in_ethers_form(original.to_json(), drop_domain_type=drop_domain_type)) == original, reader


def test_normalising_still_refuses_what_is_wrong(token, alice, bob):
    client = TokenClient.from_contract(token)
    text = auth.sign(alice, auth.transfer_authorization(client, alice, bob, "1.00", valid_for=600)).to_json()
    for mutate, fragment in [
        (lambda d: d["typedData"]["types"]["EIP712Domain"].pop(), "EIP712Domain type"),
        (lambda d: d["typedData"]["types"].update(Extra=[]), "standard EIP-712 fields"),
        (lambda d: d["typedData"]["domain"].update(chainId="0x"), "chainId"),
        (lambda d: d["typedData"]["domain"].update(chainId=0), "chainId"),
        (lambda d: d["typedData"]["message"].update(value="0x1" + "0" * 64), "does not fit"),
        (lambda d: d["typedData"]["message"].update(value=1.5), "non-negative integer"),
        (lambda d: d["typedData"]["message"].update(to=bob.address[:2] + bob.address[2:].swapcase()), "checksum"),
        (lambda d: d["typedData"]["message"].update(to="0x" + "0" * 40), "zero address"),
        (lambda d: d["typedData"].update(primaryType="Mint"), "unknown authorization kind"),
    ]:
        raw = json.loads(text)
        mutate(raw)
        assert fragment in one_line_error(auth.SignedMessage.from_json, json.dumps(raw)), fragment


def test_python_files_verify_in_ethers_and_viem(token, cnh_token, pvp, escrow, alice, bob):
    client = TokenClient.from_contract(token)
    files = [
        auth.sign(alice, auth.transfer_authorization(client, alice, bob, "1.00", valid_for=600)),
        auth.sign(alice, auth.permit(client, alice, bob, "1.00", deadline=2**40)),
        sign_quote(bob, pvp, build_quote(pvp, bob, alice, TokenClient.from_contract(cnh_token), client, "1.00", "7.1",
                                         expiry_seconds=600)),
        escrow.sign_funding_authorization(alice, escrow.terms("ORDER-V-1", alice, bob, "2.00", ship_by="+7d", confirm_window="3d"), 600),
    ]
    for signed in files:
        answer = node({"mode": "verify", "file": signed.to_json()})
        expected = bob.address if isinstance(signed, SignedQuote) else alice.address
        assert answer["ethers"] == expected and answer["viem"] == expected, answer
        # what the README's note is about: ethers refuses the EIP712Domain entry (the JSON-RPC form keeps it)
        assert answer["ethersWithDomainType"].startswith("error: ambiguous primary types"), answer


# ------------------------------------------------------------------ the README's integrator snippets and texts


def test_readme_event_filter_and_signed_file_snippets_run(token, minter, alice, bob, chain, tmp_path):
    """The README's "Filtering events by reference" (viem, ethers, web3.py) and "Signed files" (ethers)
    snippets, run as written against this chain."""
    build = subprocess.run([str(ROOT / "node_modules" / ".bin" / "tsc"), "-p", "js/tsconfig.json"], cwd=ROOT,
                           capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stdout + build.stderr
    client = TokenClient.from_contract(token)
    client.mint(alice, "12.00", "DEP-2026-000123", sender=minter)
    client.mint(bob, "1.00", "DEP-2026-000124", sender=minter)
    (tmp_path / "record.json").write_text(json.dumps({"token": token.address, "deploy_block": 0}))
    auth.sign(alice, auth.transfer_authorization(client, alice, bob, "1.00", valid_for=600)).save(tmp_path / "pay.json")
    exe = shutil.which("node", path=str(ROOT / "node_modules" / ".bin")) or shutil.which("node") or "node"
    result = subprocess.run([exe, str(ROOT / "tests" / "js" / "readme_snippets.mjs"), chain.provider.uri,
                             str(ROOT / "js" / "dist" / "index.js"), str(ROOT / "README.md")],
                            cwd=tmp_path, env={**os.environ, "DEPTOKEN_TOKEN_RECORD": str(tmp_path / "record.json")},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    answer = json.loads(result.stdout)
    assert answer == {"minted": 1, "same": 1, "to": alice.address, "ref": "0x" + keccak(text="DEP-2026-000123").hex(),
                      "signer": alice.address}
    # web3.py, as the README gives it
    readme = (ROOT / "README.md").read_text()
    assert 'token.events.Minted.get_logs(argument_filters={"depositRef": ref}, from_block=deploy_block)' in readme
    web3_token = chain.provider.web3.eth.contract(address=token.address, abi=[a.model_dump(mode="json", by_alias=True) for a in token.contract_type.abi])
    ref, deploy_block = keccak(text="DEP-2026-000123"), 0
    logs = web3_token.events.Minted.get_logs(argument_filters={"depositRef": ref}, from_block=deploy_block)
    assert [log["args"]["to"] for log in logs] == [alice.address]


def test_readme_states_the_funding_nonce_exactly(escrow, alice, bob):
    """The README's escrow text: the funding nonce is the order key, the EIP-712 struct hash
    keccak256(abi.encode(ORDER_TERMS_TYPEHASH, escrow, orderId, buyer, seller, amount, shipBy,
    confirmWindow)) (no domain separator, no 0x1901), with orderId the keccak-256 of the reference."""
    from eth_abi import encode

    readme = (ROOT / "README.md").read_text()
    type_string = ("OrderTerms(address escrow,bytes32 orderId,address buyer,address seller,uint256 amount,"
                   "uint64 shipBy,uint64 confirmWindow)")
    assert type_string in readme.replace("\n", " ").replace("  ", " ")
    assert "keccak256(abi.encode(keccak256(" in readme and "not the EIP-712 digest" in readme
    terms = escrow.terms("ORDER-README-1", alice, bob, "3.00", ship_by="+7d", confirm_window="3d")
    assert terms.order_id == keccak(text="ORDER-README-1")
    key = keccak(keccak(text=type_string) + encode(
        ["address", "bytes32", "address", "address", "uint256", "uint64", "uint64"],
        [escrow.address, terms.order_id, terms.buyer, terms.seller, terms.amount, terms.ship_by, terms.confirm_window]))
    assert key == bytes(escrow.contract.orderKey(terms.as_tuple())) == escrow.order_key(terms)
    funding = escrow.sign_funding_authorization(alice, terms, 600)
    assert funding.authorization.message["nonce"] == key and funding.authorization.message["to"] == escrow.address
