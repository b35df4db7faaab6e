"""Stateful property test of the interbank network (contracts/settlement/InterbankNetwork.sol) on Anvil:
three USD banks, each with its own deposit token and its own clients (each client banks at one bank
only), one net-mode network with a haircut and one gross-mode network over the same tokens, and a
settlement asset the banks' operators post as collateral. Random payments in every direction
(amounts within and over the debit limit, over the payer's balance, fresh, reused and zero payment
ids, payees of the wrong bank), freezes, pauses, suspensions, collateral posted and withdrawn (free
and locked), early settlements, cycles and haircut changes, checked step by step against a Python
model.

Every action is a real transaction. The model predicts success with the exact events (the
network's, the tokens' and the asset's), or the exact custom error with its arguments, in the order
the contracts check them; a reverted transaction's error is read by replaying it with ``eth_call``
on the block it was mined in (same state). After every step, one batched read compares the whole
state with the model (balances, supplies, pauses, freezes, positions, collateral, headroom, free
collateral, cycle, haircut, settled-early, the asset's balances) and checks:

* each token's supply equals the sum of its holders' balances (every account that ever holds it);
* the net positions sum to ``settledEarly()`` (zero after each cycle), gross positions stay zero;
* no bank's net debit exceeds its collateral, nor its collateral-backed limit at the haircut under
  which it last paid or withdrew (a later haircut rise may leave it above the new limit: then its
  headroom is zero and nothing more leaves);
* each network holds exactly its banks' collateral in the settlement asset, plus what was settled
  early in the open cycle (taken from the debtors' collateral, the creditors' at the cycle);
* in the logs since the example started: every mint by a network is one leg of an
  ``InterbankPayment`` whose payer handed the amount to the network and whose payer's bank burned it
  under the same payment reference, in the same transaction (no payee received without the payer
  paying), and no reference was minted twice at a bank (the fixtures' mints included).

Payment ids, as the contracts have them: a payer uses an id once in a network (``PaymentIdUsed``);
ids are scoped by the payer, so another payer's same id pays. The payment's reference,
keccak256(abi.encode(payer, id)), is the payer's bank's burn reference and the payee's bank's deposit
reference, each once-only at its token (shared by both networks). So a payer's id the other network
used is refused (``BurnReferenceUsed``: the payer's bank burned under that reference), while the same
id of another payer, the reverse direction or a third bank pays: the model expects that (outcomes
"a used id, ..."), and checks that no reference is ever minted twice at one bank. A deposit reference
used at the payee's bank before its burn reference at the payer's (``DepositReferenceUsed``) cannot
happen through a network any more: every payment burns under its reference before it mints.

A cycle's step also checks that every position is zero after it and each bank's collateral changed
by exactly its position. The test asserts at the end that payments, cycles and every refusal the
model knows were actually reached.

Draws: a step's choices come from a random generator seeded by hypothesis's draw and the example's
and step's numbers (see ``Draws``), so that the actions and arguments occur at the weights written
here; the run is derandomized (the same every time) and a failure's report notes every choice.

Speed: the fixtures deploy the tokens, the asset and the networks through ape; ``chain.snapshot()``
/ ``chain.restore()`` give every example a clean chain; everything else is raw JSON-RPC from Anvil's
unlocked accounts (as tests/contracts/test_stateful.py and test_escrow_stateful.py do), with one
batched read per step and the logs read incrementally. About 1,200 steps in some 25 s.
"""

from __future__ import annotations

import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from ape import project
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address
from hypothesis import HealthCheck, Phase, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from constants import INITIAL, MAX_UINT256, MINTER_ALLOWANCE, TX_GAS, YEAR, ZERO_ADDRESS, ZERO_REF
from deptoken.token.deployer import deploy_token


NET, GROSS = 0, 1
HAIRCUT = 1_000  # 10 %, at the start
HAIRCUTS = (1_000, 0, 2_500, 5_000, 5_001, 1_000)  # 5,001: over MAX_HAIRCUT_BPS, refused
COLLATERAL = {"net": 400_000, "gross": 200_000}  # each bank's at the start, minor units
NETWORK_ALLOWANCE = 10**12  # what each bank lets each network mint
BANKS = ("A", "B", "C")
CLIENTS = {"A": ("alice", "bob", "carol"), "B": ("ana", "ben"), "C": ("chen", "dora")}
BALANCES = {"alice": INITIAL, "bob": INITIAL, "carol": 300_000, "ana": INITIAL, "ben": 200_000, "chen": INITIAL, "dora": 150_000}
BANK_OF = {c: b for b, clients in CLIENTS.items() for c in clients}
NETWORKS = ("net", "gross")
SETTLEMENT_OPERATOR_ROLE = keccak(text="SETTLEMENT_OPERATOR_ROLE")
BANK = "(address,bool,int256,uint256)"
# the actions and their weights (see Draws)
ACTIONS = (("pay", 50), ("freeze", 4), ("pause", 3), ("suspend", 3), ("lift", 8), ("post", 5), ("withdraw", 6),
           ("settle_early", 6), ("cycle", 6), ("haircut", 3))

SETTINGS = settings(
    max_examples=40,
    stateful_step_count=30,
    deadline=None,
    database=None,
    derandomize=True,
    print_blob=False,
    # No shrinking: a failure shows its whole sequence at once, instead of minutes of replays.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)

OUTCOMES: Counter[tuple[str, str]] = Counter()
STEPS = Counter()


# ---------------------------------------------------------------------------------- chain access
# (as in tests/settlement/test_escrow_stateful.py, without the block-time control: nothing here expires)


def _abi_type(item: dict) -> str:
    t = item["type"]
    if t.startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in item["components"]) + ")" + t[len("tuple") :]
    return t


def _norm(t: str, v: Any) -> Any:
    if t == "address":
        return to_checksum_address(v)
    if t.startswith("bytes") and not t.endswith("]"):
        return bytes(v)
    if t.endswith("[]"):
        return tuple(_norm(t[:-2], x) for x in v)
    if t.startswith("("):
        return tuple(_norm(c, x) for c, x in zip(_split_types(t[1:-1]), v))
    return v


def _split_types(types: str) -> list[str]:
    """Splits a comma-separated ABI type list at the top level (tuples kept whole)."""
    out, depth, current = [], 0, ""
    for ch in types:
        if ch == "," and depth == 0:
            out.append(current)
            current = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        current += ch
    if current:
        out.append(current)
    return out


class Rpc:
    """The contracts through raw JSON-RPC: send, decode errors and events, batch-read."""

    def __init__(self, provider: Any, contracts: dict[str, Any], extra_abis: list[Any] = ()):
        self.provider = provider
        self.address = {name: to_checksum_address(c.address) for name, c in contracts.items()}
        self.name_of = {a: n for n, a in self.address.items()}
        self.errors: dict[bytes, tuple[str, list[str]]] = {keccak(text="Panic(uint256)")[:4]: ("Panic", ["uint256"])}
        self.events: dict[tuple[str, bytes], tuple[str, list[dict]]] = {}
        self._calldata: dict[tuple, str] = {}
        abis = [(name, c.contract_type.abi) for name, c in contracts.items()] + [(None, abi) for abi in extra_abis]
        for name, abi in abis:
            for a in (item.model_dump(mode="json", by_alias=True) for item in abi):
                sig = f"{a.get('name')}({','.join(_abi_type(i) for i in a.get('inputs', []))})"
                if a["type"] == "error":
                    self.errors[keccak(text=sig)[:4]] = (a["name"], [_abi_type(i) for i in a["inputs"]])
                elif a["type"] == "event" and name is not None:
                    self.events[self.address[name], keccak(text=sig)] = (a["name"], a["inputs"])

    def request(self, method: str, params: list) -> Any:
        response = self.provider.make_request(method, params)
        assert "error" not in response, f"{method} failed: {response['error']}"
        return response["result"]

    def calldata(self, signature: str, args: tuple) -> str:
        key = (signature, args)
        if key not in self._calldata:
            types = _split_types(signature[signature.index("(") + 1 : -1])
            self._calldata[key] = "0x" + (keccak(text=signature)[:4] + abi_encode(types, list(args))).hex()
        return self._calldata[key]

    def send(self, sender: str, target: str, signature: str, args: tuple) -> tuple[bool, Any]:
        """Mines the call: (True, decoded logs) or (False, (error name, arguments))."""
        tx = {"from": sender, "to": self.address[target], "data": self.calldata(signature, args), "gas": hex(TX_GAS)}
        tx_hash = self.request("eth_sendTransaction", [tx])
        deadline = time.monotonic() + 30
        while (receipt := self.request("eth_getTransactionReceipt", [tx_hash])) is None:
            assert time.monotonic() < deadline, f"{signature}: not mined within 30 s"
            time.sleep(0.001)
        if int(receipt["status"], 16) == 1:
            return True, [self.decode_log(log) for log in receipt["logs"]]
        assert receipt["logs"] == [], f"{signature}: a reverted transaction left logs"
        # Replay on the block it was mined in: same state (it reverted, alone in its block).
        response = self.provider.make_request("eth_call", [tx, receipt["blockNumber"]])
        data = response.get("error", {}).get("data")
        assert isinstance(data, str) and len(data) >= 10, f"{signature}: no revert data on replay: {response}"
        return False, self.decode_error(bytes.fromhex(data[2:]))

    def decode_error(self, data: bytes) -> tuple[str, tuple]:
        assert data[:4] in self.errors, f"unknown revert data 0x{data.hex()}"
        name, types = self.errors[data[:4]]
        return name, tuple(_norm(t, v) for t, v in zip(types, abi_decode(types, data[4:])))

    def decode_log(self, log: dict) -> tuple[str, str, tuple]:
        """(contract name, event name, arguments); an event outside the ABIs given: its topic."""
        address = to_checksum_address(log["address"])
        topics = [bytes.fromhex(t[2:]) for t in log["topics"]]
        contract = self.name_of.get(address, address)
        if (address, topics[0]) not in self.events:
            return contract, "0x" + topics[0].hex(), ()
        name, inputs = self.events[address, topics[0]]
        indexed = iter(topics[1:])
        data_values = iter(abi_decode([_abi_type(i) for i in inputs if not i.get("indexed")], bytes.fromhex(log["data"][2:])))
        values = []
        for i in inputs:
            t = _abi_type(i)
            values.append(_norm(t, abi_decode([t], next(indexed))[0] if i.get("indexed") else next(data_values)))
        return contract, name, tuple(values)

    def read(self, calls: list[tuple[str, str, tuple, str]]) -> list[Any]:
        """One batched request of view calls ``(contract, signature, args, return type)``."""
        requests = [("eth_call", [{"to": self.address[c], "data": self.calldata(sig, args)}, "latest"]) for c, sig, args, _ in calls]
        responses = self.provider.make_batch_request(requests)
        assert len(responses) == len(requests), responses
        if all("id" in r for r in responses):
            responses = sorted(responses, key=lambda r: r["id"])
        out = []
        for (_, sig, args, returns), response in zip(calls, responses):
            assert "error" not in response, f"{sig}{args} failed: {response['error']}"
            out.append(_norm(returns, abi_decode([returns], bytes.fromhex(response["result"][2:]))[0]))
        return out

    def logs(self, contracts: list[str], from_block: int, to_block: int | None = None,
             topic: bytes | None = None) -> list[tuple[str, tuple[str, str, tuple]]]:
        """(transaction hash, decoded log) of ``contracts``' logs from ``from_block`` to ``to_block`` (the latest)."""
        if to_block is None:
            to_block = int(self.request("eth_blockNumber", []), 16)
        if from_block > to_block:
            return []  # Anvil refuses a range that starts after its last block
        query: dict[str, Any] = {"address": [self.address[c] for c in contracts], "fromBlock": hex(from_block), "toBlock": hex(to_block)}
        if topic is not None:
            query["topics"] = ["0x" + topic.hex()]
        return [(log["transactionHash"], self.decode_log(log)) for log in self.request("eth_getLogs", [query])]


# ---------------------------------------------------------------------------------- the model


@dataclass
class BankBook:
    """A bank as one network records it."""

    active: bool = True
    position: int = 0
    collateral: int = 0
    haircut_checked: int = HAIRCUT  # the haircut under which its debit was last checked (pay, withdraw)


@dataclass
class NetworkBook:
    mode: int
    banks: dict[str, BankBook] = field(default_factory=dict)  # bank name -> book
    haircut: int = HAIRCUT
    cycle: int = 1
    settled_early: int = 0
    used_ids: set[tuple[str, bytes]] = field(default_factory=set)  # (payer, id) of the payments this network made


@dataclass
class Context:
    chain: Any
    rpc: Rpc
    names: dict[str, str]  # name -> address (people, banks' tokens by bank name, networks, asset)
    start_collateral: dict[str, int]


Expected = tuple[str, tuple] | None


def limit(collateral: int, haircut: int) -> int:
    """What ``collateral`` backs at ``haircut`` (basis points), rounded down as the contract does."""
    return collateral * (10_000 - haircut) // 10_000


class Draws:
    """The choices of one step, from a random generator that hypothesis seeds (derandomized: the same
    every run), so that the weights given are the frequencies: hypothesis's own draws favour the ends
    of a range and repeat earlier choices, which starved the rarer actions and arguments. Each choice
    is recorded for a failure's report."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.made: list[tuple[str, Any]] = []

    def _made(self, label: str, value: Any) -> Any:
        self.made.append((label, value))
        return value

    def choice(self, options: Any, label: str) -> Any:
        return self._made(label, self.rng.choice(list(options)))

    def integer(self, low: int, high: int, label: str) -> int:
        return self._made(label, self.rng.randint(low, high))

    def pick(self, weighted: tuple[tuple[Any, int], ...], label: str) -> Any:
        values, weights = zip(*weighted)
        return self._made(label, self.rng.choices(values, weights)[0])

    def chance(self, percent: int, label: str) -> bool:
        return self._made(label, self.rng.random() * 100 < percent)


class InterbankMachine(RuleBasedStateMachine):
    ctx: ClassVar[Context]

    def __init__(self) -> None:
        super().__init__()
        ctx = self.ctx
        self.rpc, self.n = ctx.rpc, ctx.names
        self.snapshot_id = ctx.chain.snapshot()
        STEPS["examples"] += 1
        self.example, self.step_number = STEPS["examples"], 0
        self.next_block = int(self.rpc.request("eth_blockNumber", []), 16) + 1  # of the logs read so far
        self.logs: list[tuple[str, tuple[str, str, tuple]]] = []  # the tokens' and networks' logs since the start
        self.clients = [c for b in BANKS for c in CLIENTS[b]]
        # every account that may ever hold a deposit token here (the treasury minted the fixtures')
        self.holders = [*self.clients, "treasury", *NETWORKS]
        self.operators = [f"operator_{b}" for b in BANKS]
        # the model starts from the chain's state, which the fixture set up (and asserts below)
        reads = [(b, "balanceOf(address)", (self.n[h],), "uint256") for b in BANKS for h in self.holders]
        reads += [("asset", "balanceOf(address)", (self.n[h],), "uint256") for h in [*self.operators, *NETWORKS]]
        values = iter(self.rpc.read(reads))
        self.balance = {b: {h: next(values) for h in self.holders} for b in BANKS}
        self.asset = {h: next(values) for h in [*self.operators, *NETWORKS]}
        self.supply = {b: sum(self.balance[b].values()) for b in BANKS}
        for c in self.clients:
            assert self.balance[BANK_OF[c]][c] == BALANCES[c], f"fixture balance of {c}"
        self.networks = {
            name: NetworkBook(mode, {b: BankBook(collateral=ctx.start_collateral[name]) for b in BANKS})
            for name, mode in (("net", NET), ("gross", GROSS))
        }
        self.frozen: set[str] = set()
        self.paused: set[str] = set()
        # payment ids used as the token's once-only references: burns (payer's bank), mints (payee's)
        minted = self.rpc.logs(list(BANKS), 0, topic=keccak(text="Minted(address,address,uint256,bytes32)"))
        self.fixture_refs = {b: [args[3] for _, (c, _, args) in minted if c == b] for b in BANKS}
        self.deposit_refs = {b: set(self.fixture_refs[b]) for b in BANKS}
        self.burn_refs: dict[str, set[bytes]] = {b: set() for b in BANKS}
        self.minter_allowance = {(b, net): NETWORK_ALLOWANCE for b in BANKS for net in NETWORKS}
        self.payments: list[tuple[str, str, bytes, str]] = []  # (from bank, to bank, id, payer) of every payment made
        self.counter = 0

    def teardown(self) -> None:
        self.ctx.chain.restore(self.snapshot_id)

    # ------------------------------------------------------------------ helpers

    def act(self, rule_name: str, sender: str, target: str, signature: str, args: tuple, expected: Expected,
            events: list | None = None) -> bool:
        """Sends the action; checks the outcome (and on success the events) against the model."""
        ok, result = self.rpc.send(self.n[sender], target, signature, args)
        STEPS["transactions"] += 1
        what = f"{rule_name}: {signature.split('(')[0]}{self.pretty(args)} by {sender}"
        if expected is None:
            assert ok, f"{what}: model expects success, chain reverts with {self.pretty(result)}"
            if events is not None:
                assert result == events, f"{what}: events {self.pretty(result)}, model expects {self.pretty(events)}"
            OUTCOMES[rule_name, "ok"] += 1
            return True
        assert not ok, f"{what}: model expects {self.pretty(expected)}, chain succeeds"
        assert result == expected, f"{what}: model expects {self.pretty(expected)}, chain reverts with {self.pretty(result)}"
        OUTCOMES[rule_name, expected[0]] += 1
        return False

    def pretty(self, value: Any) -> Any:
        """Names for addresses, recursively, for assertion messages."""
        if isinstance(value, (tuple, list)):
            return type(value)(self.pretty(v) for v in value)
        if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
            return next((n for n, a in self.n.items() if a == value), value)
        if isinstance(value, bytes):
            return "0x" + value.hex()[:8]
        return value

    def headroom(self, net: str, bank: str) -> int:
        nb = self.networks[net]
        b = nb.banks[bank]
        if nb.mode == GROSS:
            return b.collateral
        return max(limit(b.collateral, nb.haircut) + b.position, 0)

    def free_collateral(self, net: str, bank: str) -> int:
        nb = self.networks[net]
        b = nb.banks[bank]
        debit = max(-b.position, 0)
        if debit == 0:
            return b.collateral
        needed = -(-debit * 10_000 // (10_000 - nb.haircut))  # rounded up
        return max(b.collateral - needed, 0)

    def draw_network(self, data: Draws) -> str:
        return data.pick((("net", 4), ("gross", 1)), "network")

    # ------------------------------------------------------------------ rules

    @rule(seed=st.integers(0, 2**32 - 1))
    def step(self, seed: int) -> None:
        """One action (a single rule, as in test_escrow_stateful.py: swarm testing would otherwise switch
        off paying in some examples, and with it most of what follows)."""
        STEPS["steps"] += 1
        self.step_number += 1
        # hypothesis's seed with the example's and the step's numbers: it often draws the same seed (0) again
        data = Draws(random.Random(f"{seed} {self.example} {self.step_number}"))
        try:
            getattr(self, data.pick(ACTIONS, "action"))(data)
        finally:
            note(f"step {STEPS['steps']}: {', '.join(f'{label} {value!r}' for label, value in data.made)}")

    def pay(self, data: Draws) -> None:
        """A client of one bank pays a client of another: the model predicts the first check that fails."""
        net = self.draw_network(data)
        nb = self.networks[net]
        kind = "fresh"
        if self.payments:
            kind = data.pick((("fresh", 20), ("same way", 2), ("reversed", 2), ("any bank", 3), ("zero", 1)), "id")
        payer = None
        if kind in ("same way", "reversed"):
            frm, to, pid, payer = self.payments[data.integer(0, len(self.payments) - 1, "reused payment")]
            if kind == "reversed" or data.chance(3, "another payer?"):
                payer = None
            if kind == "reversed":
                frm, to = to, frm
        else:
            frm = data.choice(BANKS, "payer's bank")
            to = data.choice([b for b in BANKS if b != frm], "payee's bank")
            if kind == "any bank":
                pid = self.payments[data.integer(0, len(self.payments) - 1, "reused payment")][2]
            elif kind == "zero":
                pid = ZERO_REF
            else:
                self.counter += 1
                pid = keccak(text=f"payment {self.counter}")
        if data.chance(3, "same bank?"):
            to = frm
        payer = payer or data.choice(CLIENTS[frm], "payer")
        payref = keccak(abi_encode(["address", "bytes32"], [self.n[payer], pid]))  # the payment's reference on both tokens
        wrong_bank = data.chance(6, "payee of another bank?")
        payee = data.choice([c for c in self.clients if (BANK_OF[c] != to) == wrong_bank and c != payer], "payee")
        balance, room = self.balance[frm][payer], self.headroom(net, frm)
        amount_kind = data.pick((("some", 16), ("headroom", 2), ("over headroom", 2), ("balance", 1), ("over balance", 1), ("big", 2)), "amount kind")
        amount = {
            "some": lambda: data.integer(1, 60_000, "amount"),
            "headroom": lambda: room,
            "over headroom": lambda: room + 1,
            "balance": lambda: balance,
            "over balance": lambda: balance + 1,
            "big": lambda: data.integer(1, 2 * INITIAL, "amount"),
        }[amount_kind]()

        fb, tb = nb.banks[frm], nb.banks[to]
        f, t, network = self.n[frm], self.n[to], self.n[net]
        # the checks in the order the contracts make them: the network's books, the payer's transfer
        # to the network, the burn at the payer's bank, the mint at the payee's
        if frm == to:
            expected: Expected = ("SameBank", (f,))
        elif not fb.active:
            expected = ("BankSuspended", (f,))
        elif not tb.active:
            expected = ("BankSuspended", (t,))
        elif amount == 0:
            expected = ("InvalidAmount", ())
        elif pid == ZERO_REF:
            expected = ("InvalidPaymentId", ())
        elif (payer, pid) in nb.used_ids:
            expected = ("PaymentIdUsed", (self.n[payer], pid))
        elif nb.mode == NET and amount > room:
            expected = ("DebitLimitExceeded", (f, room, amount))
        elif nb.mode == GROSS and amount > fb.collateral:
            expected = ("InsufficientCollateral", (f, fb.collateral, amount))
        elif frm in self.paused:
            expected = ("EnforcedPause", ())
        elif payer in self.frozen:
            expected = ("ERC7943CannotSend", (self.n[payer],))
        elif balance < amount:
            expected = ("ERC20InsufficientBalance", (self.n[payer], balance, amount))
        elif payref in self.burn_refs[frm]:
            expected = ("BurnReferenceUsed", (payref,))
        elif payref in self.deposit_refs[to]:
            expected = ("DepositReferenceUsed", (payref,))
        elif self.minter_allowance[to, net] < amount:
            expected = ("MinterAllowanceExceeded", (network, self.minter_allowance[to, net], amount))
        elif to in self.paused:
            expected = ("EnforcedPause", ())
        elif payee in self.frozen or BANK_OF[payee] != to:
            expected = ("ERC7943CannotReceive", (self.n[payee],))
        else:
            expected = None
        events = [
            (frm, "Transfer", (self.n[payer], network, amount)),
            (frm, "Transfer", (network, ZERO_ADDRESS, amount)),
            (frm, "Burned", (network, amount, payref)),
            (to, "Transfer", (ZERO_ADDRESS, self.n[payee], amount)),
            (to, "Minted", (network, self.n[payee], amount, payref)),
            (net, "InterbankPayment", (pid, f, t, self.n[payer], self.n[payee], amount, nb.cycle)),
        ]
        signature = "pay(address,address,address,uint256,bytes32)"
        if self.act(f"pay_{net}", payer, net, signature, (f, t, self.n[payee], amount, pid), expected, events):
            self.balance[frm][payer] -= amount
            self.balance[to][payee] += amount
            self.supply[frm] -= amount
            self.supply[to] += amount
            self.burn_refs[frm].add(payref)
            self.deposit_refs[to].add(payref)
            self.minter_allowance[to, net] -= amount
            if nb.mode == NET:
                fb.position -= amount
                tb.position += amount
                fb.haircut_checked = nb.haircut
            else:
                fb.collateral -= amount
                tb.collateral += amount
            self.payments.append((frm, to, pid, payer))
            nb.used_ids.add((payer, pid))
            if kind in ("same way", "reversed", "any bank"):
                OUTCOMES[f"pay_{net}", f"a used id, {kind}"] += 1  # allowed: another payer's, or the other network's in another role

    def freeze(self, data: Draws, client: str | None = None) -> None:
        """The compliance officer freezes a client at its bank, or lifts its freeze."""
        client = client or data.choice(self.clients, "client")
        frozen = client in self.frozen
        fn = "unfreezeAccount(address)" if frozen else "freezeAccount(address)"
        if self.act("freeze", "compliance", BANK_OF[client], fn, (self.n[client],), None):
            (self.frozen.discard if frozen else self.frozen.add)(client)

    def pause(self, data: Draws, bank: str | None = None) -> None:
        """A bank pauses its token, or resumes it."""
        bank = bank or data.choice(BANKS, "bank")
        paused = bank in self.paused
        if self.act("pause", "pauser", bank, "unpause()" if paused else "pause()", (), None):
            (self.paused.discard if paused else self.paused.add)(bank)

    def suspend(self, data: Draws, target: tuple[str, str] | None = None) -> None:
        """The network's admin suspends a bank, or readmits it."""
        net, bank = target or (self.draw_network(data), data.choice(BANKS, "bank"))
        book = self.networks[net].banks[bank]
        events = [(net, "BankActiveSet", (self.n[bank], not book.active))]
        if self.act("suspend", "network_admin", net, "setBankActive(address,bool)", (self.n[bank], not book.active), None, events):
            book.active = not book.active

    def lift(self, data: Draws) -> None:
        """A restriction in force is lifted (a freeze, a pause, a suspension), so that they stay short
        and most payments get past them; none in force: a payment instead."""
        restrictions = [("freeze", c) for c in sorted(self.frozen)] + [("pause", b) for b in sorted(self.paused)]
        restrictions += [("suspend", (net, b)) for net in NETWORKS for b in BANKS if not self.networks[net].banks[b].active]
        if not restrictions:
            return self.pay(data)
        action, target = data.choice(restrictions, "lift")
        getattr(self, action)(data, target)

    def post(self, data: Draws) -> None:
        """A bank's operator posts collateral (rarely more than it holds)."""
        net = self.draw_network(data)
        bank = data.choice(BANKS, "bank")
        operator = f"operator_{bank}"
        held = self.asset[operator]
        kind = data.pick((("some", 5), ("more than held", 1)), "amount kind")
        amount = held + 1 if kind == "more than held" else data.integer(1, 200_000, "amount")
        expected: Expected = ("ERC20InsufficientBalance", (self.n[operator], held, amount)) if amount > held else None
        events = [(net, "CollateralPosted", (self.n[bank], self.n[operator], amount)), ("asset", "Transfer", (self.n[operator], self.n[net], amount))]
        if self.act("post", operator, net, "postCollateral(address,uint256)", (self.n[bank], amount), expected, events):
            self.networks[net].banks[bank].collateral += amount
            self.asset[operator] -= amount
            self.asset[net] += amount

    def withdraw(self, data: Draws) -> None:
        """A bank's operator withdraws collateral: all that is free, part of it, or more (locked)."""
        net = self.draw_network(data)
        bank = data.choice(BANKS, "bank")
        caller = f"operator_{bank}"
        if data.chance(10, "another bank's operator?"):
            caller = f"operator_{data.choice([b for b in BANKS if b != bank], 'other bank')}"
        book = self.networks[net].banks[bank]
        free = self.free_collateral(net, bank)
        kind = data.pick((("part", 6), ("all free", 2), ("locked", 2), ("all", 1)), "amount kind")
        amount = {"part": max(free // 3, 1), "all free": max(free, 1), "locked": free + 1, "all": max(book.collateral, 1)}[kind]
        to = f"operator_{bank}"
        if caller != to:
            expected: Expected = ("NotBankOperator", (self.n[bank], self.n[caller]))
        elif amount > free:
            expected = ("CollateralLocked", (self.n[bank], free, amount))
        else:
            expected = None
        events = [(net, "CollateralWithdrawn", (self.n[bank], self.n[to], amount)), ("asset", "Transfer", (self.n[net], self.n[to], amount))]
        if self.act("withdraw", caller, net, "withdrawCollateral(address,uint256,address)", (self.n[bank], amount, self.n[to]), expected, events):
            book.collateral -= amount
            book.haircut_checked = self.networks[net].haircut
            self.asset[net] -= amount
            self.asset[to] += amount

    def settle_early(self, data: Draws) -> None:
        """A bank's operator settles part or all of its debit early (or more than it owes)."""
        net = "gross" if data.chance(8, "gross network?") else "net"
        nb = self.networks[net]
        debtors = [b for b in BANKS if nb.banks[b].position < 0]
        bank = data.choice(debtors if debtors and data.chance(85, "a debtor?") else BANKS, "bank")
        book = nb.banks[bank]
        debit = max(-book.position, 0)
        kind = data.pick((("part", 6), ("all", 2), ("too much", 1)), "amount kind")
        amount = {"part": max(debit // 2, 1), "all": max(debit, 1), "too much": debit + 1}[kind]
        if nb.mode != NET:
            expected: Expected = ("WrongMode", (nb.mode,))
        elif amount > debit:
            expected = ("SettlementExceedsDebit", (self.n[bank], debit, amount))
        else:
            expected = None
        events = [(net, "EarlySettlement", (self.n[bank], amount, nb.cycle))]
        if self.act("settle_early", f"operator_{bank}", net, "settleEarly(address,uint256)", (self.n[bank], amount), expected, events):
            book.collateral -= amount
            book.position += amount
            nb.settled_early += amount

    def cycle(self, data: Draws) -> None:
        """The settlement operator closes the net network's cycle (rarely: the gross one's, or another caller)."""
        net = "gross" if data.chance(15, "gross network?") else "net"
        caller = "network_admin" if data.chance(12, "another caller?") else "settler"
        nb = self.networks[net]
        if caller != "settler":
            expected: Expected = ("AccessControlUnauthorizedAccount", (self.n[caller], SETTLEMENT_OPERATOR_ROLE))
        elif nb.mode != NET:
            expected = ("WrongMode", (nb.mode,))
        else:
            expected = None
        positions = tuple(nb.banks[b].position for b in BANKS)
        events = [(net, "CycleSettled", (nb.cycle, tuple(self.n[b] for b in BANKS), positions))]
        before = self.rpc.read([(net, "bank(address)", (self.n[b],), BANK) for b in BANKS])
        if self.act("cycle", caller, net, "settleCycle()", (), expected, events):
            after = self.rpc.read([(net, "bank(address)", (self.n[b],), BANK) for b in BANKS])
            for b, (_, _, position, collateral), (_, _, position_after, collateral_after) in zip(BANKS, before, after):
                # every position is zero after a cycle; each collateral changed by exactly the position
                assert position_after == 0, f"bank {b}: position {position_after} after the cycle"
                assert collateral_after == collateral + position, f"bank {b}: collateral {collateral} -> {collateral_after}, position {position}"
                nb.banks[b].collateral += nb.banks[b].position
                nb.banks[b].position = 0
            nb.cycle += 1
            nb.settled_early = 0
            if any(positions):
                OUTCOMES["cycle", "settled positions"] += 1

    def haircut(self, data: Draws) -> None:
        """The network's admin changes the haircut (rarely beyond the maximum)."""
        net = self.draw_network(data)
        bps = data.choice(HAIRCUTS, "haircut")
        expected: Expected = ("InvalidHaircut", (bps,)) if bps > 5_000 else None
        if self.act("haircut", "network_admin", net, "setHaircut(uint16)", (bps,), expected, [(net, "HaircutSet", (bps,))]):
            self.networks[net].haircut = bps

    # ------------------------------------------------------------------ invariants

    @invariant()
    def chain_matches_model(self) -> None:
        reads = [(b, "totalSupply()", (), "uint256") for b in BANKS]
        reads += [(b, "balanceOf(address)", (self.n[h],), "uint256") for b in BANKS for h in self.holders]
        reads += [(b, "paused()", (), "bool") for b in BANKS]
        reads += [(BANK_OF[c], "isFrozen(address)", (self.n[c],), "bool") for c in self.clients]
        for net in NETWORKS:
            reads += [(net, "bank(address)", (self.n[b],), BANK) for b in BANKS]
            reads += [(net, "headroom(address)", (self.n[b],), "uint256") for b in BANKS]
            reads += [(net, "freeCollateral(address)", (self.n[b],), "uint256") for b in BANKS]
            reads += [(net, f, (), t) for f, t in (("settledEarly()", "uint256"), ("cycle()", "uint256"), ("haircutBps()", "uint16"))]
        reads += [("asset", "balanceOf(address)", (self.n[h],), "uint256") for h in [*self.operators, *NETWORKS]]
        reads.append(("asset", "totalSupply()", (), "uint256"))
        values = iter(self.rpc.read(reads))

        supply = {b: next(values) for b in BANKS}
        balances = {b: {h: next(values) for h in self.holders} for b in BANKS}
        for b in BANKS:
            assert balances[b] == self.balance[b], f"bank {b}: balances {balances[b]}, model {self.balance[b]}"
            # each token's supply is the sum of its holders' balances
            assert supply[b] == sum(balances[b].values()) == self.supply[b], f"bank {b}: supply {supply[b]}, balances {balances[b]}"
            assert balances[b]["net"] == balances[b]["gross"] == 0, "a network kept deposit tokens"
        assert {b for b in BANKS if next(values)} == self.paused
        assert {c for c in self.clients if next(values)} == self.frozen

        for net in NETWORKS:
            nb = self.networks[net]
            chain_banks = [next(values) for _ in BANKS]
            headrooms = [next(values) for _ in BANKS]
            frees = [next(values) for _ in BANKS]
            settled_early, cycle, haircut = next(values), next(values), next(values)
            assert (settled_early, cycle, haircut) == (nb.settled_early, nb.cycle, nb.haircut), f"{net}: settledEarly, cycle, haircut"
            for b, (operator, active, position, collateral), room, free in zip(BANKS, chain_banks, headrooms, frees):
                book = nb.banks[b]
                assert (operator, active, position, collateral) == (self.n[f"operator_{b}"], book.active, book.position, book.collateral), (
                    f"{net} bank {b}: chain {(active, position, collateral)}, model {(book.active, book.position, book.collateral)}")
                assert room == self.headroom(net, b) and free == self.free_collateral(net, b), f"{net} bank {b}: headroom, free collateral"
                debit = max(-position, 0)
                # no net debit beyond the collateral, nor beyond the limit it was last checked against
                assert debit <= collateral, f"{net} bank {b}: debit {debit} exceeds its collateral {collateral}"
                assert debit <= limit(collateral, book.haircut_checked), f"{net} bank {b}: debit {debit} beyond its limit"
                if nb.haircut <= book.haircut_checked:
                    assert debit <= limit(collateral, nb.haircut)
            # the net positions sum to what was settled early (zero after a cycle); gross: all zero
            assert sum(position for _, _, position, _ in chain_banks) == settled_early
            if nb.mode == GROSS:
                assert all(position == 0 for _, _, position, _ in chain_banks) and settled_early == 0

        asset = {h: next(values) for h in [*self.operators, *NETWORKS]}
        assert asset == self.asset, f"settlement asset: chain {asset}, model {self.asset}"
        for net in NETWORKS:  # each network holds exactly its banks' collateral and what was settled early (owed to creditors)
            nb = self.networks[net]
            assert asset[net] == sum(book.collateral for book in nb.banks.values()) + nb.settled_early, f"{net}: asset held vs collateral"
        assert next(values) == sum(asset.values()), "the settlement asset's supply is held by others than the banks and networks"
        self.check_logs()

    def check_logs(self) -> None:
        """Every mint by a network is one leg of a payment the payer paid, in the same transaction; no
        payment id minted twice at a bank."""
        latest = int(self.rpc.request("eth_blockNumber", []), 16)
        self.logs += self.rpc.logs([*BANKS, *NETWORKS], self.next_block, latest)
        self.next_block, logs = latest + 1, self.logs
        by_tx: dict[str, list[tuple[str, str, tuple]]] = defaultdict(list)
        for tx, log in logs:
            by_tx[tx].append(log)
        networks = {self.n[net]: net for net in NETWORKS}
        payments = 0
        for tx_logs in by_tx.values():
            for contract, name, args in tx_logs:
                if name == "Minted" and args[0] in networks:
                    net, (minter, payee, amount, payref) = networks[args[0]], args
                    paid = [a for c, n, a in tx_logs if c == net and n == "InterbankPayment"
                            and keccak(abi_encode(["address", "bytes32"], [a[3], a[0]])) == payref]
                    assert len(paid) == 1, f"a mint by {net} without its payment: {self.pretty(tx_logs)}"
                    _, from_token, to_token, payer, payee_paid, amount_paid, _ = paid[0]
                    frm = next(b for b in BANKS if self.n[b] == from_token)
                    assert (to_token, payee_paid, amount_paid) == (self.n[contract], payee, amount)
                    # the payer handed the amount to the network, which burned it at the payer's bank under the id
                    assert (frm, "Transfer", (payer, minter, amount)) in tx_logs, f"payee paid, payer did not: {self.pretty(tx_logs)}"
                    assert (frm, "Burned", (minter, amount, payref)) in tx_logs, f"payee paid, nothing burned: {self.pretty(tx_logs)}"
                    payments += 1
        assert payments == len(self.payments) == sum(1 for _, (_, n, _) in logs if n == "InterbankPayment")
        for b in BANKS:
            refs = self.fixture_refs[b] + [args[3] for _, (c, n, args) in logs if c == b and n == "Minted"]
            assert len(refs) == len(set(refs)), f"bank {b}: a payment reference minted twice"


# ---------------------------------------------------------------------------------- the test


def test_interbank_state_machine(chain, token, devnet_config, admin, minter_admin, minter, compliance, alice, bob, carol, accounts):
    t0 = time.monotonic()
    people = {"alice": alice, "bob": bob, "carol": carol, "treasury": minter, "compliance": compliance,
              "pauser": accounts[5], "ana": accounts[10], "ben": accounts[11], "chen": accounts[12], "dora": accounts[13],
              "central": accounts[14], "network_admin": accounts[15], "settler": accounts[16],
              "operator_A": accounts[17], "operator_B": accounts[18], "operator_C": accounts[19]}
    expiry = chain.pending_timestamp + YEAR
    tokens = {"A": token}
    for bank in ("B", "C"):
        config = replace(devnet_config, name=f"Example Bank {bank} USD Deposit", symbol=f"EXUS{bank}")
        t, _ = deploy_token(config, admin, record=False)
        t.configureMinter(minter, MINTER_ALLOWANCE, sender=minter_admin)
        t.allowlistBatch([*(people[c] for c in CLIENTS[bank]), minter], [expiry] * (len(CLIENTS[bank]) + 1), sender=compliance)
        tokens[bank] = t
    for c, amount in BALANCES.items():  # alice and bob hold INITIAL from the token fixture
        if c not in ("alice", "bob"):
            tokens[BANK_OF[c]].mint(people[c], amount, keccak(text=f"initial {c}"), sender=minter)

    central = people["central"]
    asset = central.deploy(project.SettlementAsset, "Tokenised USD reserves", "rUSD", 2, central)
    network_admin = people["network_admin"]
    networks = {}
    for name, mode in (("net", NET), ("gross", GROSS)):
        n = network_admin.deploy(project.InterbankNetwork, asset, "USD", mode, HAIRCUT, network_admin, people["settler"])
        asset.setHolder(n, True, sender=central)
        networks[name] = n
    for bank, t in tokens.items():
        operator = people[f"operator_{bank}"]
        asset.setHolder(operator, True, sender=central)
        asset.mint(operator, 2_000_000, sender=central)
        for name, n in networks.items():
            n.join(t, operator, sender=network_admin)
            t.configureMinter(n, NETWORK_ALLOWANCE, sender=minter_admin)  # the bank's grant: what the network may mint
            t.allowlist(n, expiry, sender=compliance)  # it receives what payers pay
            asset.approve(n, MAX_UINT256, sender=operator)
            n.postCollateral(t, COLLATERAL[name], sender=operator)
            for c in CLIENTS[bank]:
                t.approve(n, MAX_UINT256, sender=people[c])
    assert [n.members() for n in networks.values()] == [[t.address for t in tokens.values()]] * 2

    names = {k: to_checksum_address(v.address) for k, v in people.items()}
    names |= {b: to_checksum_address(t.address) for b, t in tokens.items()}
    names |= {name: to_checksum_address(n.address) for name, n in networks.items()}
    names["asset"] = to_checksum_address(asset.address)
    rpc = Rpc(chain.provider.web3.provider, {**tokens, **networks, "asset": asset},
              extra_abis=[project.DepositTokenAdmin.contract_type.abi])
    InterbankMachine.ctx = Context(chain=chain, rpc=rpc, names=names, start_collateral=COLLATERAL)
    OUTCOMES.clear()
    STEPS.clear()
    t1 = time.monotonic()
    run_state_machine_as_test(InterbankMachine, settings=SETTINGS)
    print(f"\ninterbank state machine: {STEPS['steps']} steps, {STEPS['transactions']} transactions in "
          f"{time.monotonic() - t1:.1f} s (set-up {t1 - t0:.1f} s); outcomes: {dict(sorted(OUTCOMES.items()))}")

    must_see = {
        "net payment": [("pay_net", "ok")],
        "gross payment": [("pay_gross", "ok")],
        "cycle settling positions": [("cycle", "settled positions")],
        "debit limit": [("pay_net", "DebitLimitExceeded")],
        "gross payment beyond the collateral": [("pay_gross", "InsufficientCollateral")],
        "reused id at the payer's bank": [(p, "BurnReferenceUsed") for p in ("pay_net", "pay_gross")],
        "frozen payer": [(p, "ERC7943CannotSend") for p in ("pay_net", "pay_gross")],
        "frozen payee or payee of another bank": [(p, "ERC7943CannotReceive") for p in ("pay_net", "pay_gross")],
        "paused token": [(p, "EnforcedPause") for p in ("pay_net", "pay_gross")],
        "suspended bank": [(p, "BankSuspended") for p in ("pay_net", "pay_gross")],
        "payer short of funds": [(p, "ERC20InsufficientBalance") for p in ("pay_net", "pay_gross")],
        "same bank": [(p, "SameBank") for p in ("pay_net", "pay_gross")],
        "zero payment id": [(p, "InvalidPaymentId") for p in ("pay_net", "pay_gross")],
        "payment id used in the network": [(p, "PaymentIdUsed") for p in ("pay_net", "pay_gross")],
        "freeze": [("freeze", "ok")],
        "pause": [("pause", "ok")],
        "suspend": [("suspend", "ok")],
        "post collateral": [("post", "ok")],
        "post more than held": [("post", "ERC20InsufficientBalance")],
        "withdraw free collateral": [("withdraw", "ok")],
        "withdraw locked collateral": [("withdraw", "CollateralLocked")],
        "withdraw by another bank": [("withdraw", "NotBankOperator")],
        "settle early": [("settle_early", "ok")],
        "settle early more than owed": [("settle_early", "SettlementExceedsDebit")],
        "settle early in gross mode": [("settle_early", "WrongMode")],
        "cycle in gross mode": [("cycle", "WrongMode")],
        "cycle by another": [("cycle", "AccessControlUnauthorizedAccount")],
        "haircut": [("haircut", "ok")],
        "haircut too high": [("haircut", "InvalidHaircut")],
    }
    missing = [name for name, family in must_see.items() if not any(OUTCOMES[m] for m in family)]
    assert not missing, f"the run never reached: {missing}; outcomes: {dict(OUTCOMES)}"
    # an honest run: most payments pay (not a machine whose every call reverts)
    paid = OUTCOMES["pay_net", "ok"] + OUTCOMES["pay_gross", "ok"]
    tried = sum(v for (r, what), v in OUTCOMES.items() if r.startswith("pay_") and not what.startswith("a used id"))
    cycles = OUTCOMES["cycle", "settled positions"]
    assert paid >= max(tried // 4, 200) and cycles >= 10, f"{paid} of {tried} payments paid, {cycles} cycles settled positions"
