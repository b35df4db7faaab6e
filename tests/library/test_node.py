"""The library's own way to the node (``deptoken.node``, ``deptoken.contracts``, ``deptoken.accounts``):
what ``deptoken`` uses instead of ape. Network choices, the devnet's test accounts, keystores,
contract calls, transactions, events and reverts, on ape's Anvil; and a chain read in a process that
never imports ape."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

import pytest
from eth_account import Account

from constants import ROOT
from deptoken import node
from deptoken.accounts import as_ape_account, devnet_accounts, load_keystore_file, sign_transaction
from deptoken.contracts import Contract, as_contract, contract_at
from deptoken.errors import DepositTokenError, InvalidInput, NodeUnreachable, TransactionReverted
from deptoken.token import TokenClient


@pytest.fixture
def uri(chain) -> str:
    return str(chain.provider.uri)


@pytest.fixture
def connected(uri):
    """The library connected to ape's Anvil without ape (as ``deptoken`` connects), forgotten after."""
    yield node.connect(f"ethereum:local:{uri}")
    node.disconnect()


def test_network_choices():
    assert node.resolve_choice("ethereum:local:http://127.0.0.1:9999") == ("local", "http://127.0.0.1:9999")
    assert node.resolve_choice(" ethereum:sepolia:https://rpc.example/v1/KEY ") == ("sepolia", "https://rpc.example/v1/KEY")
    assert node.resolve_choice("ethereum:local:node") == ("local", "http://127.0.0.1:8545")  # ape-config.yaml's node: URI
    assert node.resolve_choice("ethereum:hardhat:node") == ("hardhat", "http://127.0.0.1:8545")
    for bad, says in [("ethereum:local", "expected ECOSYSTEM:NETWORK:URI"), ("local", "expected ECOSYSTEM:NETWORK:URI"),
                      ("ethereum:local:foundry", "connects to a running node"),
                      ("ethereum:sepolia:node", "gives no node.ethereum.sepolia.uri")]:
        with pytest.raises(InvalidInput, match=says):
            node.resolve_choice(bad)


def test_an_absent_node_is_one_line():
    with pytest.raises(NodeUnreachable, match="^cannot reach the node: "):
        node.connect("ethereum:local:http://127.0.0.1:9")
    assert node.connected() is None


def test_threads_share_a_node_each_with_its_own_connection(connected, accounts):
    """The console serves pages from threads over one ``Node``: each call gets its own answer (one shared
    HTTP connection gave one thread another's reply, or a batch's list)."""
    from concurrent.futures import ThreadPoolExecutor

    addresses = [a.address for a in accounts[:8]]
    expected = {a: connected.rpc("eth_getBalance", a, "latest") for a in addresses}

    def ask(n: int) -> tuple[str, object, object]:
        address = addresses[n % len(addresses)]
        if n % 3 == 0:  # batches too
            (balance, _), (number, _) = connected.batch([("eth_getBalance", [address, "latest"]), ("eth_chainId", [])])
            return address, balance, number
        return address, connected.rpc("eth_getBalance", address, "latest"), None

    for way in ("own HTTP connections", "web3's provider"):  # the second once web3 was made (signing does)
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(ask, range(400)))
        assert len(answers) == 400, way
        assert [(a, balance) for a, balance, _ in answers] == [(a, expected[a]) for a, _, _ in answers], way
        assert {number for _, _, number in answers} == {None, hex(31337)}, way
        assert connected.web3.is_connected()


def test_devnet_accounts_are_apes_test_accounts(accounts):
    ours = devnet_accounts()
    assert [a.address for a in ours] == [a.address for a in accounts] and len(ours) == 44
    assert not ours[0].prompts and as_ape_account(ours[5]) == accounts[5]


def test_a_keystore_asks_for_its_passphrase_when_it_first_signs(tmp_path, monkeypatch, uri, connected, token, alice, bob):
    key = Account.create()
    path = tmp_path / "key.json"
    path.write_text(json.dumps(Account.encrypt(key.key, "right", kdf="pbkdf2", iterations=1_000)))  # a cheap KDF: a test
    signer = load_keystore_file(str(path))
    assert (signer.address, signer.keyfile, signer.prompts) == (key.address, path, True)
    answers = iter(["wrong"])
    monkeypatch.setattr("click.prompt", lambda *a, **k: next(answers))
    monkeypatch.setattr("click.confirm", lambda *a, **k: True)
    tx = {"from": key.address, "to": bob.address, "data": "0x", "nonce": 0, "gas": 21_000, "chainId": 31337, "gasPrice": 10**9}
    with pytest.raises(DepositTokenError, match="^wrong passphrase for keystore key.json$"):
        sign_transaction(signer, tx)
    answers = iter(["right"])
    raw = sign_transaction(signer, tx)
    assert Account.recover_transaction(raw) == key.address
    monkeypatch.setattr("click.confirm", lambda *a, **k: False)  # the operator says no: nothing signed
    with pytest.raises(DepositTokenError, match="declined to sign"):
        sign_transaction(signer, tx)
    (tmp_path / "broken.json").write_text("{}")
    with pytest.raises(DepositTokenError, match="is not an eth-account keystore file"):
        load_keystore_file(str(tmp_path / "broken.json"))


def test_contract_calls_transactions_events_and_reverts(connected, token, alice, bob, outsider):
    ours = devnet_accounts()
    sender = next(a for a in ours if a.address == alice.address)  # alice's key, without ape
    t = contract_at("DepositToken", token.address)
    assert as_contract(token) == t and as_contract(t) is t
    assert t.balanceOf(alice) == token.balanceOf(alice) and t.symbol() == token.symbol()
    issuer = t.issuer()  # several outputs: by name and by position
    assert (issuer.name_, issuer.lei, issuer[2]) == tuple(token.issuer())
    before = int(t.balanceOf(bob))
    receipt = t.transfer(bob.address, 100, sender=sender)
    assert receipt.status == 1 and int(t.balanceOf(bob)) == before + 100
    [log] = receipt.decode_logs(t.Transfer)
    assert (log.event_name, log.event_arguments["from"], log.value) == ("Transfer", alice.address, 100)
    assert [e.event_name for e in receipt.events] == ["Transfer"]
    found = t.logs(["Transfer"], from_block=receipt.block_number, topics={"to": bob.address})
    assert [(e.transaction_hash, e.log_index) for e in found] == [(receipt.txn_hash, log.log_index)]
    with pytest.raises(TransactionReverted, match=f"^transfer reverted: ERC7943CannotReceive\\(account={outsider.address}\\)$"):
        t.transfer(outsider.address, 1, sender=sender)
    with pytest.raises(InvalidInput, match="not an address"):
        t.balanceOf("0x1234")
    with pytest.raises(InvalidInput, match="unknown event"):
        t.logs(["Nope"])


def test_a_chain_read_runs_without_ape(uri, token, alice):
    """What ``deptoken`` does for a chain command, in a process of its own: ape is never imported."""
    script = (
        "import sys; from deptoken import node; from deptoken.token import TokenClient; "
        "from deptoken.contracts import contract_at; "
        f"node.connect('ethereum:local:{uri}'); c = TokenClient(contract_at('DepositToken', '{token.address}')); "
        f"print(c.balance('{alice.address}'), c.now() > 0, 'ape' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    balance, has_time, ape_loaded = result.stdout.split()
    assert Decimal(balance) == TokenClient.from_contract(token).balance(alice) and has_time == "True" and ape_loaded == "False"


def test_a_client_converts_apes_contract(token):
    client = TokenClient(token)
    assert isinstance(client.contract, Contract) and client.contract.address == token.address
