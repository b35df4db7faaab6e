// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {DepositToken} from "../../../contracts/token/DepositToken.sol";
import {SymbolicToken} from "./SymbolicToken.sol";

/**
 * @dev Properties 3 and 4 for every caller, bounded: the holder of one role ({TokenFixture} gives each
 * role its own holder), or a caller without any, sends one call with symbolic calldata for any of the
 * token's external functions (halmos's createCalldata("DepositToken"), dynamic arguments at halmos's
 * default sizes). Afterwards each piece of role-guarded state is unchanged unless a role the caller held
 * before the call may change it by the README's role table, and then it changed only as that role's
 * functions may:
 *
 * | state                                    | may change it                                                 |
 * | ---------------------------------------- | ------------------------------------------------------------- |
 * | an account's allowlist expiry            | compliance; legal: only to 0 (`recoverAccount`'s lost account) |
 * | an account's freeze flag                 | compliance; legal (`recoverAccount` moves it)                 |
 * | an account's frozen amount and its flag  | legal                                                         |
 * | the minter's allowance                   | minter admin; the minter: only down (minting, renouncing)     |
 * | the minter's rate limit                  | minter admin; the minter (minting uses it)                    |
 * | total supply                             | grows: the minter only, by at most the allowance it spent; falls: a holder's redemption, the minter's burn; legal: unchanged (its paths move) |
 * | a deposit or burn reference's use        | the minter                                                    |
 * | pause                                    | pauser                                                        |
 * | implementation slot                      | upgrader                                                      |
 * | any role of any account                  | admin: every role but the minter role; minter admin: the minter role (its role admin); an account: renouncing its own |
 * | default admin, pending admin, delays     | admin                                                         |
 * | currency and issuer identity             | admin                                                         |
 * | the balance of an account not active     | nobody makes it grow (property 4)                             |
 *
 * The accounts are two symbolic holders (any reachable words and frozen amounts, {SymbolicToken}), which
 * the calldata's symbolic addresses may or may not name (two, so that a forced transfer or a recovery
 * between them can succeed); "any role of any account" is a symbolic role and account; a reference is a
 * symbolic one. Bounds: the minter's rate limit starts unset (the rate-limited paths are tested by
 * example in tests/contracts/test_rate_limit.py); the issuer's strings are short (one slot each);
 * `upgradeToAndCall`'s data is empty (see the upgrader's check). Balances, ERC-20 allowances, nonces and
 * authorization states are a holder's own to change (transfers, approvals, signatures), not role-guarded.
 *
 * Every rule was shown to fail when taken from the role that may break it (a counterexample each: the
 * sweeps reach the roles' functions), e.g. without legal's expiry-to-0 halmos finds `recoverAccount`.
 */
contract RoleSweepTest is SymbolicToken {
    address internal constant HOLDER = address(0x1001);
    address internal constant OTHER = address(0x1002);
    address internal constant STRANGER = address(0xBAD);

    struct Snapshot {
        uint256 holderWord;
        uint256 holderFrozen;
        uint256 otherWord;
        uint256 otherFrozen;
        uint256 minterAllowance;
        bytes32 rateLimit0;
        bytes32 rateLimit1;
        uint256 supply;
        bool depositRefUsed;
        bool burnRefUsed;
        bool paused;
        bytes32 implementation;
        bool hasRole;
        bytes32 adminRules; // the default admin, the pending admin and delay and their schedules
        bytes32 issuer; // currency and issuer identity
    }

    struct Roles {
        bool admin;
        bool minterAdmin;
        bool minter;
        bool compliance;
        bool legal;
        bool pauser;
        bool upgrader;
    }

    bytes32 internal constant ACCESS_CONTROL = 0x02dd7bc7dec4dceedda775e58dd541e08a116c6c53815c0bd028192f7b626800;
    bytes32 internal constant DEFAULT_ADMIN_RULES = 0xeef3dac4538c82c8ace4063ab0acd2d15cdb5883aa1dff7c2673abb3d8698400;
    bytes32 internal constant MINTER_ROLE = keccak256("MINTER_ROLE");

    bytes32 internal role;
    address internal account;
    bytes32 internal ref;

    function setUp() public {
        deploy();
    }

    /// @dev A caller without any role: every rule applies in full.
    function check_bounded_noRoleCaller_changesNoRoleState() public {
        sweep(STRANGER);
    }

    function check_bounded_adminCaller_changesOnlyWhatTheAdminMay() public {
        sweep(ADMIN);
    }

    function check_bounded_minterAdminCaller_changesOnlyWhatTheMinterAdminMay() public {
        sweep(MINTER_ADMIN);
    }

    function check_bounded_minterCaller_changesOnlyWhatTheMinterMay() public {
        sweep(MINTER);
    }

    function check_bounded_complianceCaller_changesOnlyWhatComplianceMay() public {
        sweep(COMPLIANCE);
    }

    function check_bounded_legalCaller_changesOnlyWhatLegalMay() public {
        sweep(LEGAL);
    }

    function check_bounded_pauserCaller_changesOnlyWhatThePauserMay() public {
        sweep(PAUSER);
    }

    /// @dev A second implementation is deployed, so that an upgrade can change the implementation slot.
    /// `upgradeToAndCall`'s data is empty here: a call in it runs as the upgrader, which this sweep covers
    /// directly, and halmos cannot decode a nested symbolic call's dynamic arguments.
    /// @custom:halmos --array-lengths data=0
    function check_bounded_upgraderCaller_changesOnlyWhatTheUpgraderMay() public {
        new DepositToken();
        sweep(UPGRADER);
    }

    // ------------------------------------------------------------------ the sweep

    function sweep(address caller) internal {
        symbolicSupply();
        symbolicAccount(HOLDER, "holder");
        symbolicAccount(OTHER, "other");
        store(minterAllowanceSlot(MINTER), svm.createUint256("minterAllowance"));
        symbolicPaused();
        role = svm.createBytes32("role");
        account = svm.createAddress("account");
        ref = svm.createBytes32("ref");
        Roles memory r = rolesOf(caller);
        Snapshot memory b = snapshot();

        bytes memory data = svm.createCalldata("DepositToken");
        vm.prank(caller);
        (bool ok,) = address(token).call(data);
        vm.assume(ok);
        Snapshot memory a = snapshot();

        // Each rule is "a role the caller held may change it" or "it is unchanged" (or changed only as
        // allowed), combined branch-free into one assertion, so that halmos asks the solver once per path.
        bool accounts = both(
            accountRules(r, b.holderWord, b.holderFrozen, a.holderWord, a.holderFrozen),
            accountRules(r, b.otherWord, b.otherFrozen, a.otherWord, a.otherFrozen)
        );
        assert(both(both(accounts, issuanceRules(r, b, a)), controlRules(caller, r, b, a)));
    }

    /// @dev The roles `caller` holds before the call, read from AccessControl's storage (a call into the
    /// token here would stay in the trace that halmos copies at every later call).
    function rolesOf(address caller) internal view returns (Roles memory r) {
        r.admin = held(bytes32(0), caller);
        r.minterAdmin = held(keccak256("MINTER_ADMIN_ROLE"), caller);
        r.minter = held(MINTER_ROLE, caller);
        r.compliance = held(keccak256("COMPLIANCE_ROLE"), caller);
        r.legal = held(keccak256("LEGAL_ROLE"), caller);
        r.pauser = held(keccak256("PAUSER_ROLE"), caller);
        r.upgrader = held(keccak256("UPGRADER_ROLE"), caller);
    }

    function held(bytes32 roleId, address who) internal view returns (bool) {
        return load(keccak256(abi.encode(who, keccak256(abi.encode(roleId, ACCESS_CONTROL))))) != 0;
    }

    function accountRules(Roles memory r, uint256 b, uint256 frozenBefore, uint256 a, uint256 frozenAfter)
        internal
        view
        returns (bool holds)
    {
        uint256 expiryAfter = a & EXPIRY_MASK;
        holds = any(r.compliance, expiryAfter == b & EXPIRY_MASK, both(r.legal, expiryAfter == 0));
        holds = both(holds, any(either(r.compliance, r.legal), a & FROZEN == b & FROZEN, false));
        holds = both(holds, any(r.legal, a & HAS_FROZEN_TOKENS == b & HAS_FROZEN_TOKENS, false));
        holds = both(holds, any(r.legal, frozenAfter == frozenBefore, false));
        // property 4: an account that was not active receives nothing
        holds = both(holds, any(active(b), a & BALANCE_MASK <= b & BALANCE_MASK, false));
    }

    /// @dev The minter's allowance and rate limit, the supply, the references.
    function issuanceRules(Roles memory r, Snapshot memory b, Snapshot memory a) internal pure returns (bool holds) {
        // the minter's allowance: the minter admin sets it (and zeroes it with the role); the minter's mint
        // spends it and its renouncing the role zeroes it
        holds = any(r.minterAdmin, a.minterAllowance == b.minterAllowance, both(r.minter, a.minterAllowance <= b.minterAllowance));
        holds = both(
            holds,
            any(either(r.minterAdmin, r.minter), both(a.rateLimit0 == b.rateLimit0, a.rateLimit1 == b.rateLimit1), false)
        );
        // the supply grows only by a mint, which spends at least as much of the minter's allowance
        // (the fixture's only minter); legal paths only move
        holds = both(holds, any(false, a.supply <= b.supply, both(r.minter, mintedWithinAllowance(b, a))));
        holds = both(holds, any(!r.legal, a.supply == b.supply, false));
        holds = both(
            holds, any(r.minter, both(a.depositRefUsed == b.depositRefUsed, a.burnRefUsed == b.burnRefUsed), false)
        );
    }

    /// @dev Pause, implementation, roles, the default admin's state and the issuer.
    function controlRules(address caller, Roles memory r, Snapshot memory b, Snapshot memory a)
        internal
        view
        returns (bool holds)
    {
        holds = any(r.pauser, a.paused == b.paused, false);
        holds = both(holds, any(r.upgrader, a.implementation == b.implementation, false));
        // roles: the minter admin the minter role (its role admin), the admin any other, anyone renouncing its own
        bool mayGrantOrRevoke = either(both(r.admin, role != MINTER_ROLE), both(r.minterAdmin, role == MINTER_ROLE));
        holds = both(holds, any(mayGrantOrRevoke, a.hasRole == b.hasRole, both(account == caller, !a.hasRole)));
        holds = both(holds, any(r.admin, both(a.adminRules == b.adminRules, a.issuer == b.issuer), false));
    }

    /// @dev The minter's call: its allowance did not grow, and the supply grew by at most the allowance
    /// it spent (branch-free and without checked arithmetic, whose panic halmos would not count as a failure).
    function mintedWithinAllowance(Snapshot memory b, Snapshot memory a) internal pure returns (bool r) {
        (uint256 allowanceBefore, uint256 allowanceAfter) = (b.minterAllowance, a.minterAllowance);
        (uint256 supplyBefore, uint256 supplyAfter) = (b.supply, a.supply);
        assembly ("memory-safe") {
            r := and(
                iszero(gt(allowanceAfter, allowanceBefore)),
                or(
                    iszero(gt(supplyAfter, supplyBefore)),
                    iszero(gt(sub(supplyAfter, supplyBefore), sub(allowanceBefore, allowanceAfter)))
                )
            )
        }
    }

    function either(bool x, bool y) internal pure returns (bool r) {
        assembly ("memory-safe") {
            r := or(x, y)
        }
    }

    /// @dev `mayChange || unchanged || allowedChange`, branch-free.
    function any(bool mayChange, bool unchanged, bool allowedChange) internal pure returns (bool r) {
        assembly ("memory-safe") {
            r := or(mayChange, or(unchanged, allowedChange))
        }
    }

    /// @dev Read straight from storage (no call into the token per path): the token's ERC-7201 slots and
    /// OpenZeppelin's (AccessControl, AccessControlDefaultAdminRules). The issuer's strings are short, so
    /// each one's slot holds the whole string.
    function snapshot() internal view returns (Snapshot memory s) {
        (s.holderWord, s.holderFrozen) = (word(HOLDER), load(frozenSlot(HOLDER)));
        (s.otherWord, s.otherFrozen) = (word(OTHER), load(frozenSlot(OTHER)));
        s.minterAllowance = load(minterAllowanceSlot(MINTER));
        s.rateLimit0 = bytes32(load(rateLimitSlot(MINTER)));
        s.rateLimit1 = bytes32(load(bytes32(uint256(rateLimitSlot(MINTER)) + 1)));
        s.supply = load(totalSupplySlot());
        s.depositRefUsed = load(depositRefSlot(ref)) != 0;
        s.burnRefUsed = load(burnRefSlot(ref)) != 0;
        s.paused = load(PAUSABLE) != 0;
        s.implementation = bytes32(load(IMPLEMENTATION));
        s.hasRole = load(keccak256(abi.encode(account, keccak256(abi.encode(role, ACCESS_CONTROL))))) != 0;
        s.adminRules = keccak256(abi.encode(load(DEFAULT_ADMIN_RULES), load(bytes32(uint256(DEFAULT_ADMIN_RULES) + 1))));
        s.issuer = keccak256(
            abi.encode(
                load(ISSUER_IDENTITY),
                load(bytes32(uint256(ISSUER_IDENTITY) + 1)),
                load(bytes32(uint256(ISSUER_IDENTITY) + 2)),
                load(bytes32(uint256(ISSUER_IDENTITY) + 3))
            )
        );
    }
}
