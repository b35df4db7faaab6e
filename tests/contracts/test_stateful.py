"""Stateful property test: random sequences of operations against the real DepositToken on Anvil,
checked step by step against a Python model of the token.

Every action is first simulated with ``eth_call``: the model predicts success, or the exact custom
error and its arguments, and the simulation must agree. The action is then sent as a real
transaction, which must succeed or revert as predicted; on success its events must be exactly the
ones the model expects, and the model applies the effect. After every step the invariants compare
the whole chain state (balances, allowlist entries, freezes, frozen amounts, allowances, supply,
pause, minter allowance and role, reference use) with the model, check that the supply equals
minted - redeemed - burned, that no account gained tokens except through a path allowed for it at
that moment, and that no deposit reference was ever minted twice.

Speed: the ape fixtures deploy the token, ``chain.snapshot()``/``chain.restore()`` give every example
a clean chain and ``chain.mine`` travels in time, but actions and reads go to Anvil as raw JSON-RPC
(``eth_call``, ``eth_sendTransaction`` from Anvil's unlocked accounts, one batched request for all of
a step's reads): about ten times faster than ape's transaction layer, which also prints a call
trace for every revert.

Time: every allowlist expiry the machine sets is ``base + k hours`` and time travels in whole hours,
so the model's clock is ``base + H hours`` while the chain's block time lies in
``[base + H hours, base + H hours + drift)`` with a drift of seconds (asserted after every step).
Expiry comparisons therefore come out the same on the chain and in the model.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, ClassVar

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule, run_state_machine_as_test

from constants import HOUR, MAX_UINT256, TX_GAS, ZERO_ADDRESS, ZERO_REF

MAX_HOURS = 24 * 300  # time travelled per example stays well inside the fixtures' one-year entries
MAX_UINT64 = 2**64 - 1
SUPPLY_CAP = 2**128 - 1

ROLE = {name: keccak(text=name) for name in ("MINTER_ROLE", "MINTER_ADMIN_ROLE", "COMPLIANCE_ROLE", "LEGAL_ROLE", "PAUSER_ROLE")}
ACTORS = ("alice", "bob", "carol", "outsider", "treasury")  # the treasury is the minter

SETTINGS = settings(
    # 100 examples of 40 steps (200 before): derandomized, so every run replays the same sequences; 100
    # reach every path of must_see (the test's check), 200 doubled the suite's longest single test.
    max_examples=100,
    stateful_step_count=40,
    deadline=None,
    database=None,
    derandomize=True,
    print_blob=False,
    # No explain phase: it replays the failing case many more times against the chain.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=list(HealthCheck),
)

# Outcome counts over the whole run (rule -> "ok" or error name); see test_deposit_token_state_machine.
OUTCOMES: Counter[tuple[str, str]] = Counter()


# ---------------------------------------------------------------------------------- chain access


class Rpc:
    """The token reached through raw JSON-RPC: simulate, send, batch-read, decode errors and events."""

    def __init__(self, provider: Any, token: Any):
        self.provider = provider
        self.address = to_checksum_address(token.address)
        abi = [item.model_dump(mode="json", by_alias=True) for item in token.contract_type.abi]
        self.functions = {a["name"]: a for a in abi if a["type"] == "function"}
        self.errors: dict[bytes, tuple[str, list[str]]] = {}
        self.events: dict[bytes, tuple[str, list[dict]]] = {}
        for a in abi:
            sig = f"{a.get('name')}({','.join(_abi_type(i) for i in a.get('inputs', []))})"
            if a["type"] == "error":
                self.errors[keccak(text=sig)[:4]] = (a["name"], [_abi_type(i) for i in a["inputs"]])
            elif a["type"] == "event":
                self.events[keccak(text=sig)] = (a["name"], a["inputs"])
        # Panic(uint256): arithmetic errors, which the model never expects.
        self.errors[keccak(text="Panic(uint256)")[:4]] = ("Panic", ["uint256"])
        self._calldata: dict[tuple, str] = {}
        self.event_topic = {name: topic for topic, (name, _) in self.events.items()}

    def request(self, method: str, params: list) -> Any:
        response = self.provider.make_request(method, params)
        assert "error" not in response, f"{method} failed: {response['error']}"
        return response["result"]

    def calldata(self, fn: str, args: tuple) -> str:
        key = (fn, args)
        if key not in self._calldata:
            abi = self.functions[fn]
            types = [_abi_type(i) for i in abi["inputs"]]
            selector = keccak(text=f"{fn}({','.join(types)})")[:4]
            self._calldata[key] = "0x" + (selector + abi_encode(types, list(args))).hex()
        return self._calldata[key]

    def simulate(self, sender: str, fn: str, args: tuple) -> tuple[bool, Any]:
        """``eth_call`` of the action: (True, None) or (False, (error name, error args))."""
        tx = {"from": sender, "to": self.address, "data": self.calldata(fn, args), "gas": hex(TX_GAS)}
        response = self.provider.make_request("eth_call", [tx, "latest"])
        if "error" not in response:
            return True, None
        data = response["error"].get("data")
        assert isinstance(data, str) and len(data) >= 10, f"{fn}{args}: revert without error data: {response['error']}"
        return False, self.decode_error(bytes.fromhex(data[2:]))

    def decode_error(self, data: bytes) -> tuple[str, tuple]:
        assert data[:4] in self.errors, f"unknown revert data 0x{data.hex()}"
        name, types = self.errors[data[:4]]
        return name, _normalise(types, abi_decode(types, data[4:]))

    def send(self, sender: str, fn: str, args: tuple) -> dict:
        tx = {"from": sender, "to": self.address, "data": self.calldata(fn, args), "gas": hex(TX_GAS)}
        tx_hash = self.request("eth_sendTransaction", [tx])
        # Anvil automines, but may answer before the block is sealed: wait for the receipt.
        deadline = time.monotonic() + 30
        while (receipt := self.request("eth_getTransactionReceipt", [tx_hash])) is None:
            assert time.monotonic() < deadline, f"{fn}{args}: not mined within 30 s"
            time.sleep(0.001)
        return receipt

    def decode_logs(self, logs: list[dict]) -> list[tuple[str, tuple]]:
        return [self.decode_log(log) for log in logs]

    def decode_log(self, log: dict) -> tuple[str, tuple]:
        assert to_checksum_address(log["address"]) == self.address, f"log from another contract: {log}"
        topics = [bytes.fromhex(t[2:]) for t in log["topics"]]
        assert topics[0] in self.events, f"unknown event {log}"
        name, inputs = self.events[topics[0]]
        indexed = iter(topics[1:])
        data_types = [_abi_type(i) for i in inputs if not i.get("indexed")]
        data_values = iter(abi_decode(data_types, bytes.fromhex(log["data"][2:])))
        values = []
        for i in inputs:
            t = _abi_type(i)
            raw = abi_decode([t], next(indexed))[0] if i.get("indexed") else next(data_values)
            values.append(_normalise([t], [raw])[0])
        return name, tuple(values)

    def read(self, calls: list[tuple[str, tuple]]) -> list[int]:
        """One batched request of view calls, each returning a single word (uint or bool)."""
        requests = [("eth_call", [{"to": self.address, "data": self.calldata(fn, args)}, "latest"]) for fn, args in calls]
        requests.append(("eth_getBlockByNumber", ["latest", False]))
        responses = self.provider.make_batch_request(requests)
        assert len(responses) == len(requests), responses
        responses = sorted(responses, key=lambda r: r["id"]) if all("id" in r for r in responses) else responses
        out = []
        for (fn, args), response in zip(calls, responses[:-1]):
            assert "error" not in response, f"{fn}{args} failed: {response['error']}"
            out.append(int(response["result"], 16))
        out.append(int(responses[-1]["result"]["timestamp"], 16))
        return out

    def logs(self, event: str) -> list[tuple[str, tuple]]:
        raw = self.request(
            "eth_getLogs",
            [{"address": self.address, "fromBlock": "0x0", "toBlock": "latest", "topics": ["0x" + self.event_topic[event].hex()]}],
        )
        return self.decode_logs(raw)


def _abi_type(item: dict) -> str:
    t = item["type"]
    if t.startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in item["components"]) + ")" + t[len("tuple") :]
    return t


def _normalise(types: list[str], values: Any) -> tuple:
    out = []
    for t, v in zip(types, values):
        if t == "address":
            v = to_checksum_address(v)
        elif t.startswith("bytes") and not t.endswith("]"):
            v = bytes(v)
        out.append(v)
    return tuple(out)


# ---------------------------------------------------------------------------------- the model


def released_lien(balance: int, frozen: int, amount: int) -> int | None:
    """The frozen amount after a privileged debit of ``amount``, or None if it is unchanged: the
    unfrozen part is taken first, and only the frozen tokens taken beyond it are released."""
    unfrozen = max(balance - frozen, 0)
    return None if amount <= unfrozen else frozen - (amount - unfrozen)


@dataclass
class Account:
    balance: int = 0
    expiry: int = 0  # allowlist entry: active while expiry > now; 0 = not listed
    frozen: bool = False  # whole-account freeze
    frozen_tokens: int = 0  # ERC-7943 frozen amount (lien), may exceed the balance


Expected = tuple[str, tuple] | None  # None: success; else (custom error name, its arguments)


@dataclass
class Context:
    """What the test function hands the machine: chain access, fixtures and the token."""

    chain: Any
    rpc: Rpc
    names: dict[str, str]  # role / actor name -> address

    def label(self, address: str) -> str:
        return next((n for n, a in self.names.items() if a == address), address)

    def pretty(self, value: Any) -> Any:
        """Account names for addresses, recursively, for assertion messages."""
        if isinstance(value, tuple):
            return tuple(self.pretty(v) for v in value)
        if isinstance(value, list):
            return [self.pretty(v) for v in value]
        if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
            return self.label(value)
        if isinstance(value, bytes):
            return "0x" + value.hex()
        return value


class DepositTokenMachine(RuleBasedStateMachine):
    ctx: ClassVar[Context]

    # ------------------------------------------------------------------ setup and teardown

    def __init__(self) -> None:
        super().__init__()
        ctx = self.ctx
        self.rpc = ctx.rpc
        self.n = ctx.names
        self.actors = [self.n[a] for a in ACTORS]
        self.treasury = self.n["treasury"]
        self.snapshot_id = ctx.chain.snapshot()  # every example starts from the fixture's state

        reads = self._reads()
        values = self.rpc.read(reads)
        state = dict(zip(reads, values))
        self.base = values[-1]  # block time: the model's clock is base + hours * HOUR
        self.hours = 0

        self.acct = {}
        for a in self.actors:
            self.acct[a] = Account(
                balance=state["balanceOf", (a,)],
                expiry=state["allowlistExpiry", (a,)],
                frozen=bool(state["isFrozen", (a,)]),
                frozen_tokens=state["getFrozenTokens", (a,)],
            )
            expiry = self.acct[a].expiry
            assert expiry == 0 or expiry > self.base + (MAX_HOURS + 2) * HOUR, (
                f"fixture entry of {ctx.label(a)} expires too soon for the machine's clock"
            )
        self.allowances = {(o, s): state["allowance", (o, s)] for o in self.actors for s in self.actors}
        self.paused = bool(state["paused", ()])
        self.minter_allowance = state["minterAllowance", (self.treasury,)]
        self.minter_role = bool(state["hasRole", (ROLE["MINTER_ROLE"], self.treasury)])

        # References and totals from the fixture's history, read from the event logs.
        minted = self.rpc.logs("Minted")
        self.minted_refs = [args[3] for _, args in minted]  # every Minted event's depositRef, in order
        assert len(set(self.minted_refs)) == len(self.minted_refs), "fixture minted a deposit reference twice"
        self.deposit_refs = set(self.minted_refs)
        self.payout_refs = {(args[0], args[2]) for _, args in self.rpc.logs("Redeemed")}  # per holder
        self.burn_refs = {args[2] for _, args in self.rpc.logs("Burned")}
        self.total_minted = sum(args[2] for _, args in minted)
        self.total_redeemed = sum(args[1] for _, args in self.rpc.logs("Redeemed"))
        self.total_burned = sum(args[1] for _, args in self.rpc.logs("Burned"))
        assert self.total_minted > 0 and self.minter_role, "the token fixture should have a minter that minted"

        self.ref_counter = 0
        self.step_credit: dict[str, str] = {}  # address -> path by which it may gain this step
        self.touched_deposit_refs: set[bytes] = set()
        self.touched_payout_refs: set[tuple[str, bytes]] = set()
        self.prev_chain: dict | None = None  # chain reads of the previous check

    @initialize(allowance=st.sampled_from([None, SUPPLY_CAP, MAX_UINT256]))
    def start(self, allowance: int | None) -> None:
        """Most examples start with a minter allowance that reaches the supply cap (the fixture's is 10**15)."""
        if allowance is not None:
            self.configure_minter(allowance)

    def teardown(self) -> None:
        try:
            # The chain's whole Minted history (fixture and this example): no reference twice, and
            # exactly the references of the mints the model saw succeed.
            refs = [args[3] for _, args in self.rpc.logs("Minted")]
            assert len(refs) == len(set(refs)), "a deposit reference was minted twice"
            assert refs == self.minted_refs, "Minted events differ from the successful mints"
        finally:
            self.ctx.chain.restore(self.snapshot_id)

    # ------------------------------------------------------------------ model helpers

    @property
    def now(self) -> int:
        return self.base + self.hours * HOUR

    def active(self, a: str) -> bool:
        x = self.acct[a]
        return x.expiry > self.now and not x.frozen

    def unfrozen(self, a: str) -> int:
        x = self.acct[a]
        return max(x.balance - x.frozen_tokens, 0)

    def has_entry(self, a: str) -> bool:
        """Whether the packed account word is non-zero (recovery needs a source with one)."""
        x = self.acct[a]
        return x.balance != 0 or x.expiry != 0 or x.frozen or x.frozen_tokens != 0

    def supply(self) -> int:
        return sum(x.balance for x in self.acct.values())

    def fresh_ref(self, tag: str) -> bytes:
        self.ref_counter += 1
        return keccak(text=f"{tag}:{self.ref_counter}")

    def draw_ref(self, data: st.DataObject, tag: str, used: set[bytes]) -> bytes:
        kinds = ["fresh"] * 3 + ["zero"] + (["reused"] * 2 if used else [])
        kind = data.draw(st.sampled_from(kinds), label=f"{tag} ref")
        if kind == "fresh":
            return self.fresh_ref(tag)
        if kind == "zero":
            return ZERO_REF
        return data.draw(st.sampled_from(sorted(used)), label=f"reused {tag} ref")

    def draw_amount(self, data: st.DataObject, a: str, **extra: int) -> int:
        """An amount for `a`'s tokens: any, or an edge (0, the balance and one more, the unfrozen part
        and one more, half the balance, and the caller's `extra` edges)."""
        bal, free = self.acct[a].balance, self.unfrozen(a)
        edges = {"zero": 0, "balance": bal, "balance + 1": bal + 1, "unfrozen": free, "unfrozen + 1": free + 1, "half": bal // 2, **extra}
        liened = ["unfrozen + 1"] * 3 if self.acct[a].frozen_tokens else []  # reaching into a lien
        kind = data.draw(st.sampled_from(["any", *edges, *liened]), label="amount kind")
        if kind == "any":
            return data.draw(st.integers(0, 2 * bal + 10), label="amount")
        return min(edges[kind], MAX_UINT256)

    def draw_actor(self, data: st.DataObject, label: str) -> str:
        return self.n[data.draw(st.sampled_from(ACTORS), label=label)]

    def draw_source(self, data: st.DataObject, label: str) -> str:
        """An actor, those holding tokens (and more so those under a lien) more likely: the sources
        of transfers, redemptions and seizures."""
        holders = tuple(name for name in ACTORS if self.acct[self.n[name]].balance > 0)
        liened = tuple(name for name in holders if self.acct[self.n[name]].frozen_tokens > 0)
        return self.n[data.draw(st.sampled_from(ACTORS + holders + liened), label=label)]

    # ------------------------------------------------------------------ executing an action

    def act(self, rule_name: str, sender: str, fn: str, args: tuple, expected: Expected, events: list | None = None) -> bool:
        """Simulates, then sends the action; checks outcome (and on success the events) against the
        model's prediction. Returns whether it succeeded."""
        p = self.ctx.pretty
        what = f"{rule_name}: {fn}{p(args)} by {p(sender)}"
        ok, error = self.rpc.simulate(sender, fn, args)
        if expected is None:
            assert ok, f"{what}: model expects success, chain reverts with {p(error)}"
        else:
            assert not ok, f"{what}: model expects {p(expected)}, chain succeeds"
            assert error == expected, f"{what}: model expects {p(expected)}, chain reverts with {p(error)}"
        receipt = self.rpc.send(sender, fn, args)
        status = int(receipt["status"], 16)
        assert status == (1 if ok else 0), f"{what}: simulation ok={ok} but transaction status {status}"
        if not ok:
            assert receipt["logs"] == [], f"{what}: a reverted transaction left logs"
            OUTCOMES[rule_name, expected[0]] += 1
            return False
        logs = self.rpc.decode_logs(receipt["logs"])
        if events is not None:
            assert logs == events, f"{what}: events {p(logs)}, model expects {p(events)}"
        for name, ev_args in logs:
            if name == "Minted":  # no deposit reference is ever minted twice
                assert ev_args[3] not in self.minted_refs, f"{what}: deposit reference {ev_args[3].hex()} minted twice"
                self.minted_refs.append(ev_args[3])
        OUTCOMES[rule_name, "ok"] += 1
        return True

    def credit(self, a: str, path: str) -> None:
        """Records that `a` may gain balance in this step, and by which path."""
        self.step_credit[a] = path

    # ------------------------------------------------------------------ issuance

    @rule(data=st.data())
    def mint(self, data: st.DataObject) -> None:
        """An ordinary mint: a fresh (sometimes reused or zero) reference, an everyday amount."""
        self._mint(data, edge=False)

    @rule(data=st.data())
    def mint_edge(self, data: st.DataObject) -> None:
        """A mint at the edges: the minter allowance and one more, the supply cap and one more, 0, 2**256 - 1."""
        self._mint(data, edge=True)

    def _mint(self, data: st.DataObject, edge: bool) -> None:
        to = self.draw_actor(data, "to")
        ref = self.draw_ref(data, "deposit", self.deposit_refs)
        headroom = SUPPLY_CAP - self.supply()  # the total supply is capped at 2**128 - 1
        if edge:
            edges = {
                "cap headroom + 1": headroom + 1,
                "cap headroom": headroom,
                "allowance": self.minter_allowance,
                "allowance + 1": min(self.minter_allowance + 1, MAX_UINT256),
                "zero": 0,
                "2**256 - 1": MAX_UINT256,
            }
            amount = edges[data.draw(st.sampled_from(sorted(edges)), label="amount kind")]
        else:
            amount = data.draw(st.integers(1, 10**6), label="amount")
        t = self.treasury
        if not self.minter_role:
            expected = ("AccessControlUnauthorizedAccount", (t, ROLE["MINTER_ROLE"]))
        elif amount == 0:
            expected = ("InvalidAmount", ())
        elif ref == ZERO_REF:
            expected = ("InvalidReference", ())
        elif ref in self.deposit_refs:
            expected = ("DepositReferenceUsed", (ref,))
        elif self.minter_allowance < amount:
            expected = ("MinterAllowanceExceeded", (t, self.minter_allowance, amount))
        elif self.paused:
            expected = ("EnforcedPause", ())
        elif not self.active(to):
            expected = ("ERC7943CannotReceive", (to,))
        elif amount > headroom:
            expected = ("SupplyCapExceeded", (amount,))
        else:
            expected = None
        events = [("Transfer", (ZERO_ADDRESS, to, amount)), ("Minted", (t, to, amount, ref))]
        self.touched_deposit_refs.add(ref)
        reused = ref in self.deposit_refs
        if self.act("mint_edge" if edge else "mint", t, "mint", (to, amount, ref), expected, events):
            assert not reused, "a reused deposit reference was accepted"
            self.minter_allowance -= amount
            self.acct[to].balance += amount
            self.deposit_refs.add(ref)
            self.total_minted += amount
            self.credit(to, "ordinary")

    @rule(data=st.data())
    def redeem(self, data: st.DataObject) -> None:
        a = self.draw_source(data, "holder")
        own = {r for holder, r in self.payout_refs if holder == a}
        others = {r for _, r in self.payout_refs} - own
        ref = self.draw_ref(data, "payout", own)
        if others and data.draw(st.integers(0, 3), label="another holder's payout ref") == 0:
            ref = data.draw(st.sampled_from(sorted(others)), label="their payout ref")  # allowed: refs are per holder
        self._redeem(a, ref, self.draw_amount(data, a))

    @precondition(lambda self: bool(self.payout_refs))
    @rule(data=st.data())
    def redeem_reusing_reference(self, data: st.DataObject) -> None:
        """A holder redeems again under a payout reference it has used before."""
        a, ref = data.draw(st.sampled_from(sorted(self.payout_refs)), label="holder and used payout ref")
        self._redeem(a, ref, self.draw_amount(data, a))

    def _redeem(self, a: str, ref: bytes, amount: int) -> None:
        bal, free = self.acct[a].balance, self.unfrozen(a)
        if amount == 0:
            expected = ("InvalidAmount", ())
        elif ref == ZERO_REF:
            expected = ("InvalidReference", ())
        elif (a, ref) in self.payout_refs:
            expected = ("PayoutReferenceUsed", (a, ref))
        elif self.paused:
            expected = ("EnforcedPause", ())
        elif not self.active(a):
            expected = ("ERC7943CannotSend", (a,))
        elif bal < amount:
            expected = ("ERC20InsufficientBalance", (a, bal, amount))
        elif amount > free:
            expected = ("ERC7943InsufficientUnfrozenBalance", (a, amount, free))
        else:
            expected = None
        events = [("Transfer", (a, ZERO_ADDRESS, amount)), ("Redeemed", (a, amount, ref))]
        self.touched_payout_refs.add((a, ref))
        if self.act("redeem", a, "redeem", (amount, ref), expected, events):
            self.acct[a].balance -= amount
            self.payout_refs.add((a, ref))
            self.total_redeemed += amount

    @rule(data=st.data())
    def bank_burn(self, data: st.DataObject) -> None:
        t = self.treasury
        amount = self.draw_amount(data, t)
        ref = self.draw_ref(data, "burn", self.burn_refs)
        x = self.acct[t]
        if not self.minter_role:
            expected = ("AccessControlUnauthorizedAccount", (t, ROLE["MINTER_ROLE"]))
        elif amount == 0:
            expected = ("InvalidAmount", ())
        elif ref == ZERO_REF:
            expected = ("InvalidReference", ())
        elif ref in self.burn_refs:
            expected = ("BurnReferenceUsed", (ref,))
        elif x.frozen:
            expected = ("ERC7943CannotSend", (t,))
        elif x.balance < amount:
            expected = ("ERC20InsufficientBalance", (t, x.balance, amount))
        elif amount > self.unfrozen(t):
            expected = ("ERC7943InsufficientUnfrozenBalance", (t, amount, self.unfrozen(t)))
        else:
            expected = None  # privileged: not blocked by pause or the allowlist; a freeze or lien binds it
        events = [("Transfer", (t, ZERO_ADDRESS, amount)), ("Burned", (t, amount, ref))]
        if self.act("bank_burn", t, "burn", (amount, ref), expected, events):
            x.balance -= amount
            self.burn_refs.add(ref)
            self.total_burned += amount

    @rule(allowance=st.sampled_from([10**15, None, 0, 10**6, SUPPLY_CAP, MAX_UINT256, SUPPLY_CAP, MAX_UINT256]))
    def configure_minter(self, allowance: int | None) -> None:
        """The minter admin sets the treasury's minter allowance, or (None) removes it as minter."""
        t, admin = self.treasury, self.n["minter_admin"]
        if allowance is None:
            expected: Expected = None if self.minter_role else ("NotAMinter", (t,))
            events = [("RoleRevoked", (ROLE["MINTER_ROLE"], t, admin)), ("MinterRemoved", (t,))]
            if self.act("remove_minter", admin, "removeMinter", (t,), expected, events):
                self.minter_role, self.minter_allowance = False, 0
            return
        events = [] if self.minter_role else [("RoleGranted", (ROLE["MINTER_ROLE"], t, admin))]
        events.append(("MinterConfigured", (t, allowance)))
        if self.act("configure_minter", admin, "configureMinter", (t, allowance), None, events):
            self.minter_role, self.minter_allowance = True, allowance

    # ------------------------------------------------------------------ ERC-20

    def _transfer_error(self, frm: str, to: str, amount: int) -> Expected:
        bal, free = self.acct[frm].balance, self.unfrozen(frm)
        if self.paused:
            return ("EnforcedPause", ())
        if not self.active(frm):
            return ("ERC7943CannotSend", (frm,))
        if bal < amount:
            return ("ERC20InsufficientBalance", (frm, bal, amount))
        if amount > free:
            return ("ERC7943InsufficientUnfrozenBalance", (frm, amount, free))
        if not self.active(to):
            return ("ERC7943CannotReceive", (to,))
        return None

    def _apply_transfer(self, frm: str, to: str, amount: int) -> None:
        self.acct[frm].balance -= amount
        self.acct[to].balance += amount
        self.credit(to, "ordinary")

    @rule(data=st.data())
    def transfer(self, data: st.DataObject) -> None:
        frm, to = self.draw_source(data, "from"), self.draw_actor(data, "to")
        amount = self.draw_amount(data, frm)
        # ERC-7943 canTransfer must agree with the model's view of the rules.
        can = self.rpc.read([("canTransfer", (frm, to, amount))])[0]
        model_can = not self.paused and self.active(frm) and self.active(to) and amount <= self.unfrozen(frm)
        assert bool(can) == model_can, f"canTransfer({frm}, {to}, {amount}) = {bool(can)}, model {model_can}"
        expected = self._transfer_error(frm, to, amount)
        if self.act("transfer", frm, "transfer", (to, amount), expected, [("Transfer", (frm, to, amount))]):
            self._apply_transfer(frm, to, amount)

    @precondition(lambda self: any(x.balance > 0 and x.frozen_tokens > 0 for x in self.acct.values()))
    @rule(data=st.data())
    def spend_into_lien(self, data: st.DataObject) -> None:
        """A holder under a lien tries to move one unit more than its unfrozen part."""
        liened = sorted(a for a, x in self.acct.items() if x.balance > 0 and x.frozen_tokens > 0)
        frm, to = data.draw(st.sampled_from(liened), label="liened holder"), self.draw_actor(data, "to")
        amount = min(self.unfrozen(frm) + 1, self.acct[frm].balance)
        expected = self._transfer_error(frm, to, amount)
        if self.act("transfer", frm, "transfer", (to, amount), expected, [("Transfer", (frm, to, amount))]):
            self._apply_transfer(frm, to, amount)

    @rule(data=st.data())
    def approve(self, data: st.DataObject) -> None:
        owner, spender = self.draw_actor(data, "owner"), self.draw_actor(data, "spender")
        value = data.draw(st.one_of(st.sampled_from([0, MAX_UINT256]), st.integers(0, 2 * self.acct[owner].balance + 10)), label="value")
        # Approving is not restricted: not by pause, allowlist or freeze.
        if self.act("approve", owner, "approve", (spender, value), None, [("Approval", (owner, spender, value))]):
            self.allowances[owner, spender] = value

    @rule(data=st.data())
    def transfer_from(self, data: st.DataObject) -> None:
        spender = self.draw_actor(data, "spender")
        frm, to = self.draw_source(data, "from"), self.draw_actor(data, "to")
        current = self.allowances[frm, spender]
        amount = self.draw_amount(data, frm, allowance=current, **{"allowance + 1": current + 1})
        if not self.active(spender):
            expected: Expected = ("SpenderNotAllowed", (spender,))
        elif current != MAX_UINT256 and current < amount:
            expected = ("ERC20InsufficientAllowance", (spender, current, amount))
        else:
            expected = self._transfer_error(frm, to, amount)
        if self.act("transfer_from", spender, "transferFrom", (frm, to, amount), expected, [("Transfer", (frm, to, amount))]):
            if current != MAX_UINT256:
                self.allowances[frm, spender] = current - amount
            self._apply_transfer(frm, to, amount)

    # ------------------------------------------------------------------ compliance

    @rule(data=st.data())
    def allowlist(self, data: st.DataObject) -> None:
        a = self.draw_actor(data, "account")
        kind = data.draw(st.sampled_from(["future", "remove", "zero", "past", "now", "forever"]), label="expiry kind")
        c = self.n["compliance"]
        if kind == "remove":  # offboarding: the balance stays, immobile
            if self.act("remove_from_allowlist", c, "removeFromAllowlist", (a,), None, [("AllowlistUpdated", (a, 0))]):
                self.acct[a].expiry = 0
            return
        if kind == "zero":
            expiry = 0
        elif kind == "forever":
            expiry = MAX_UINT64
        elif kind == "now":
            expiry = self.now  # the boundary: not in the future, rejected
        elif kind == "past":
            expiry = self.now - data.draw(st.sampled_from([1, 24]), label="hours ago") * HOUR
        else:  # renewals and short entries that lapse when time travels
            expiry = self.now + data.draw(st.sampled_from([1, 2, 5, 24, 24 * 30, 24 * 400]), label="hours ahead") * HOUR
        if expiry == 0:
            expected: Expected = ("AllowlistExpiryZero", (a,))
        elif expiry <= self.now:
            expected = ("AllowlistExpiryInPast", (a, expiry))
        else:
            expected = None
        if self.act("allowlist", c, "allowlist", (a, expiry), expected, [("AllowlistUpdated", (a, expiry))]):
            self.acct[a].expiry = expiry

    @rule(data=st.data(), freeze=st.booleans())
    def freeze_account(self, data: st.DataObject, freeze: bool) -> None:
        a = self.draw_actor(data, "account")
        c, x = self.n["compliance"], self.acct[a]
        if freeze:
            expected: Expected = ("AccountAlreadyFrozen", (a,)) if x.frozen else None
            fn, events = "freezeAccount", [("AccountFrozen", (a,))]
        else:
            expected = None if x.frozen else ("AccountNotFrozen", (a,))
            fn, events = "unfreezeAccount", [("AccountUnfrozen", (a,))]
        if self.act("freeze_account" if freeze else "unfreeze_account", c, fn, (a,), expected, events):
            x.frozen = freeze

    # ------------------------------------------------------------------ legal orders

    @rule(data=st.data())
    def set_frozen_tokens(self, data: st.DataObject) -> None:
        a = self.draw_actor(data, "account")
        amount = self.draw_amount(data, a, above=2 * self.acct[a].balance + 7, max=MAX_UINT256)  # liens may exceed the balance
        legal = self.n["legal"]
        if self.act("set_frozen_tokens", legal, "setFrozenTokens", (a, amount), None, [("Frozen", (a, amount))]):
            self.acct[a].frozen_tokens = amount

    @rule(data=st.data(), seize=st.booleans())
    def forced_transfer(self, data: st.DataObject, seize: bool) -> None:
        frm = self.draw_source(data, "from")
        to = self.n[data.draw(st.sampled_from(("treasury", "treasury") + ACTORS), label="to")]  # mostly the treasury
        amount = self.draw_amount(data, frm)
        # a missing legal order one time in four: most seizures go through, and the treasury they fund burns
        ref = data.draw(st.sampled_from([self.fresh_ref("order")] * 3 + [ZERO_REF]), label="legal order") if seize else None
        x = self.acct[frm]
        if seize and ref == ZERO_REF:
            expected: Expected = ("InvalidLegalOrderRef", ())
        elif frm == to:
            expected = ("ERC7943CannotTransfer", (frm, to, amount))
        elif x.balance < amount:
            expected = ("ERC20InsufficientBalance", (frm, x.balance, amount))
        elif not self.active(to):
            expected = ("ERC7943CannotReceive", (to,))
        else:
            expected = None  # whatever the source's status, and also while paused
        release = released_lien(x.balance, x.frozen_tokens, amount)
        events = [] if release is None else [("Frozen", (frm, release))]
        events += [("Transfer", (frm, to, amount)), ("ForcedTransfer", (frm, to, amount))]
        if seize:
            events.append(("Seized", (frm, to, amount, ref)))
            fn, args = "seize", (frm, to, amount, ref)
        else:
            fn, args = "forcedTransfer", (frm, to, amount)
        if self.act("seize" if seize else "forced_transfer", self.n["legal"], fn, args, expected, events):
            if release is not None:
                x.frozen_tokens = release
            x.balance -= amount
            self.acct[to].balance += amount
            self.credit(to, "forced")

    @rule(data=st.data())
    def recover_account(self, data: st.DataObject) -> None:
        lost, new = self.draw_actor(data, "lost"), self.draw_actor(data, "replacement")
        x, y = self.acct[lost], self.acct[new]
        replacement_ready = y.expiry > self.now and not (y.balance or y.frozen or y.frozen_tokens)
        if lost == new or not self.has_entry(lost) or not replacement_ready:
            expected: Expected = ("RecoveryNotPossible", (lost, new))
        else:
            expected = None  # two-party: compliance allowlisted the replacement, legal moves the funds
        events = [("AllowlistUpdated", (lost, 0))] if x.expiry else []
        if x.frozen:
            events += [("AccountUnfrozen", (lost,)), ("AccountFrozen", (new,))]
        if x.frozen_tokens:
            events += [("Frozen", (lost, 0)), ("Frozen", (new, x.frozen_tokens))]
        if x.balance:
            events.append(("Transfer", (lost, new, x.balance)))
        events.append(("AccountRecovered", (lost, new, x.balance)))
        if self.act("recover_account", self.n["legal"], "recoverAccount", (lost, new), expected, events):
            x.expiry = y.expiry  # the replacement keeps the entry compliance gave it
            self.acct[new], self.acct[lost] = x, Account()
            self.credit(new, "recovery")

    # ------------------------------------------------------------------ pause, time, authorisation

    @rule(toggle=st.sampled_from([True, True, False]))
    def pause(self, toggle: bool) -> None:
        """Mostly a toggle (pause if running, unpause if paused), sometimes a repeat, which reverts."""
        p = self.n["pauser"]
        pause = not self.paused if toggle else self.paused
        if pause:
            expected: Expected = ("EnforcedPause", ()) if self.paused else None
            fn, events = "pause", [("Paused", (p,))]
        else:
            expected = None if self.paused else ("ExpectedPause", ())
            fn, events = "unpause", [("Unpaused", (p,))]
        if self.act(fn, p, fn, (), expected, events):
            self.paused = pause

    @rule(hours=st.sampled_from([1, 2, 3, 6, 24, 24 * 7, 24 * 30]))
    def time_travel(self, hours: int) -> None:
        hours = min(hours, MAX_HOURS - self.hours)
        if hours > 0:
            self.hours += hours
            self.ctx.chain.mine(timestamp=self.now)
        OUTCOMES["time_travel", "ok"] += 1

    @rule(data=st.data())
    def unauthorised(self, data: st.DataObject) -> None:
        """A privileged function called by an account without its role."""
        a, t = self.actors[0], self.treasury
        calls = {
            "mint": ("MINTER_ROLE", (a, 1, self.fresh_ref("deposit"))),
            "burn": ("MINTER_ROLE", (1, ZERO_REF)),
            "configureMinter": ("MINTER_ADMIN_ROLE", (a, 10**6)),
            "removeMinter": ("MINTER_ADMIN_ROLE", (t,)),
            "allowlist": ("COMPLIANCE_ROLE", (a, MAX_UINT64)),
            "removeFromAllowlist": ("COMPLIANCE_ROLE", (a,)),
            "freezeAccount": ("COMPLIANCE_ROLE", (a,)),
            "setFrozenTokens": ("LEGAL_ROLE", (a, 1)),
            "forcedTransfer": ("LEGAL_ROLE", (a, t, 1)),
            "seize": ("LEGAL_ROLE", (a, t, 1, keccak(text="order"))),
            "recoverAccount": ("LEGAL_ROLE", (a, self.n["outsider"])),
            "pause": ("PAUSER_ROLE", ()),
            "unpause": ("PAUSER_ROLE", ()),
        }
        fn = data.draw(st.sampled_from(sorted(calls)), label="function")
        role, args = calls[fn]
        holders = {
            "MINTER_ROLE": {t} if self.minter_role else set(),
            "MINTER_ADMIN_ROLE": {self.n["minter_admin"]},
            "COMPLIANCE_ROLE": {self.n["compliance"]},
            "LEGAL_ROLE": {self.n["legal"]},
            "PAUSER_ROLE": {self.n["pauser"]},
        }[role]
        callers = [c for c in ACTORS + ("admin", "minter_admin", "compliance", "legal", "pauser", "upgrader") if self.n[c] not in holders]
        caller = self.n[data.draw(st.sampled_from(callers), label="caller")]
        self.act("unauthorised", caller, fn, args, ("AccessControlUnauthorizedAccount", (caller, ROLE[role])))

    # ------------------------------------------------------------------ invariants

    def _reads(self) -> list[tuple[str, tuple]]:
        reads: list[tuple[str, tuple]] = [
            ("totalSupply", ()),
            ("paused", ()),
            ("minterAllowance", (self.treasury,)),
            ("hasRole", (ROLE["MINTER_ROLE"], self.treasury)),
        ]
        for a in self.actors:
            for fn in ("balanceOf", "allowlistExpiry", "isFrozen", "getFrozenTokens", "unfrozenBalanceOf", "canSend", "canReceive", "isAllowlisted"):
                reads.append((fn, (a,)))
        reads += [("allowance", (o, s)) for o in self.actors for s in self.actors]
        return reads

    @invariant()
    def chain_matches_model(self) -> None:
        reads = self._reads()
        reads += [("isDepositRefUsed", (r,)) for r in sorted(self.touched_deposit_refs)]
        reads += [("isPayoutRefUsed", (a, r)) for a, r in sorted(self.touched_payout_refs)]
        values = self.rpc.read(reads)
        chain = dict(zip(reads, values))
        block_time = values[-1]
        label = self.ctx.label

        # The clock assumption behind every expiry prediction.
        assert self.now <= block_time < self.now + HOUR, f"block time {block_time} outside the model's hour {self.now}"

        # Supply: chain total == sum over all holders == minted - redeemed - burned.
        supply = chain["totalSupply", ()]
        chain_balances = {a: chain["balanceOf", (a,)] for a in self.actors}
        assert supply == sum(chain_balances.values()), f"totalSupply {supply} != sum of balances {chain_balances}"
        assert supply == self.total_minted - self.total_redeemed - self.total_burned == self.supply()
        assert supply <= SUPPLY_CAP

        assert bool(chain["paused", ()]) == self.paused
        assert chain["minterAllowance", (self.treasury,)] == self.minter_allowance
        assert bool(chain["hasRole", (ROLE["MINTER_ROLE"], self.treasury)]) == self.minter_role

        for a in self.actors:
            x, who = self.acct[a], label(a)
            assert chain["balanceOf", (a,)] == x.balance, f"balance of {who}"
            assert chain["allowlistExpiry", (a,)] == x.expiry, f"allowlist expiry of {who}"
            assert bool(chain["isFrozen", (a,)]) == x.frozen, f"freeze of {who}"
            assert chain["getFrozenTokens", (a,)] == x.frozen_tokens, f"frozen amount of {who}"
            assert chain["unfrozenBalanceOf", (a,)] == self.unfrozen(a), f"unfrozen balance of {who}"
            assert bool(chain["canSend", (a,)]) == self.active(a), f"canSend of {who}"
            assert bool(chain["canReceive", (a,)]) == self.active(a), f"canReceive of {who}"
            assert bool(chain["isAllowlisted", (a,)]) == (x.expiry > self.now), f"isAllowlisted of {who}"
        for (o, s), value in self.allowances.items():
            assert chain["allowance", (o, s)] == value, f"allowance {label(o)} -> {label(s)}"
        for r in self.touched_deposit_refs:
            assert bool(chain["isDepositRefUsed", (r,)]) == (r in self.deposit_refs), f"deposit ref {r.hex()}"
        for a, r in self.touched_payout_refs:
            assert bool(chain["isPayoutRefUsed", (a, r)]) == ((a, r) in self.payout_refs), f"payout ref {r.hex()} of {a}"

        # No account gained tokens except by a path allowed for it at that moment, judged from the
        # chain's own state before the step: ordinary paths (mint, transfer, transferFrom) and forced
        # transfers only to an account that was active; recovery only to a replacement that had no
        # entry and now holds the lost account's.
        if self.prev_chain is not None:
            before = self.prev_chain
            for a in self.actors:
                if chain["balanceOf", (a,)] <= before["balanceOf", (a,)]:
                    continue
                path = self.step_credit.get(a)
                assert path is not None, f"{label(a)} gained tokens by no recorded path"
                if path in ("ordinary", "forced"):
                    assert before["canReceive", (a,)], f"{label(a)} gained tokens ({path}) while it could not receive"
                else:
                    # recovery: the replacement was allowlisted and held nothing
                    assert before["balanceOf", (a,)] == 0 and before["canReceive", (a,)], f"{label(a)} recovered into while not ready"
        self.prev_chain = chain
        self.step_credit = {}
        self.touched_deposit_refs, self.touched_payout_refs = set(), set()


# ---------------------------------------------------------------------------------- the test


def test_deposit_token_state_machine(chain, token, admin, minter_admin, minter, compliance, legal, pauser, upgrader, alice, bob, carol, outsider):
    provider = chain.provider.web3.provider
    names = {
        "alice": alice.address,
        "bob": bob.address,
        "carol": carol.address,
        "outsider": outsider.address,
        "treasury": minter.address,
        "admin": admin.address,
        "minter_admin": minter_admin.address,
        "compliance": compliance.address,
        "legal": legal.address,
        "pauser": pauser.address,
        "upgrader": upgrader.address,
    }
    names = {k: to_checksum_address(v) for k, v in names.items()}
    rpc = Rpc(provider, token)
    # The outsider is not one of Anvil's unlocked accounts: impersonate it and give it gas.
    rpc.request("anvil_impersonateAccount", [names["outsider"]])
    chain.set_balance(outsider, 10**21)
    OUTCOMES.clear()
    DepositTokenMachine.ctx = Context(chain=chain, rpc=rpc, names=names)
    try:
        run_state_machine_as_test(DepositTokenMachine, settings=SETTINGS)
    finally:
        rpc.request("anvil_stopImpersonatingAccount", [names["outsider"]])

    # The run must have reached the interesting paths, or its passing says little. Each entry is a
    # family of (rule, outcome) pairs of which at least one must have occurred.
    must_see = {
        "mint": [("mint", "ok"), ("mint_edge", "ok")],
        "mint with a reused deposit reference": [("mint", "DepositReferenceUsed"), ("mint_edge", "DepositReferenceUsed")],
        "mint to an account that may not receive": [("mint", "ERC7943CannotReceive"), ("mint_edge", "ERC7943CannotReceive")],
        "mint beyond the supply cap": [("mint_edge", "SupplyCapExceeded")],
        "mint while paused": [("mint", "EnforcedPause"), ("mint_edge", "EnforcedPause")],
        "transfer": [("transfer", "ok")],
        "transferFrom": [("transfer_from", "ok")],
        "send from an inactive account": [("transfer", "ERC7943CannotSend"), ("transfer_from", "ERC7943CannotSend"), ("redeem", "ERC7943CannotSend")],
        "send to an inactive account": [("transfer", "ERC7943CannotReceive"), ("transfer_from", "ERC7943CannotReceive")],
        "send beyond the unfrozen balance": [("transfer", "ERC7943InsufficientUnfrozenBalance"), ("transfer_from", "ERC7943InsufficientUnfrozenBalance"), ("redeem", "ERC7943InsufficientUnfrozenBalance"), ("bank_burn", "ERC7943InsufficientUnfrozenBalance")],
        "send beyond the balance": [("transfer", "ERC20InsufficientBalance"), ("transfer_from", "ERC20InsufficientBalance"), ("redeem", "ERC20InsufficientBalance")],
        "transferFrom by an inactive spender": [("transfer_from", "SpenderNotAllowed")],
        "transferFrom beyond the allowance": [("transfer_from", "ERC20InsufficientAllowance")],
        "redeem": [("redeem", "ok")],
        "redeem with a reused payout reference": [("redeem", "PayoutReferenceUsed")],
        "bank burn": [("bank_burn", "ok")],
        "forced transfer": [("forced_transfer", "ok"), ("seize", "ok")],
        "forced transfer to an inactive account": [("forced_transfer", "ERC7943CannotReceive"), ("seize", "ERC7943CannotReceive")],
        "account recovery": [("recover_account", "ok")],
        "allowlisting": [("allowlist", "ok")],
        "allowlist expiry not in the future": [("allowlist", "AllowlistExpiryInPast"), ("allowlist", "AllowlistExpiryZero")],
        "freeze": [("freeze_account", "ok")],
        "lien": [("set_frozen_tokens", "ok")],
        "unauthorised caller": [("unauthorised", "AccessControlUnauthorizedAccount")],
    }
    missing = [name for name, family in must_see.items() if not any(OUTCOMES[m] for m in family)]
    assert not missing, f"the run never reached: {missing}; outcomes: {dict(OUTCOMES)}"
