// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {SymbolicToken} from "./SymbolicToken.sol";

/**
 * @dev Property 3 (no role), bounded: a caller holding no role sends one call with symbolic calldata
 * for any of the token's external functions (halmos's createCalldata("DepositToken"), dynamic
 * arguments at halmos's default sizes). Afterwards nothing that needs a role has changed: the holder's
 * allowlist expiry and freeze flag, the frozen amount, the minter's allowance, the pause flag, the
 * implementation slot, the roles of the fixture's holders and the caller; and the total supply has not
 * grown (a holder's own redemption may lower it). Balances, allowances, nonces and authorization states
 * are a holder's own to change (transfers, approvals, permits, authorizations) and are not covered here,
 * except that an account that is not active receives nothing (property 4, for this caller).
 */
contract NoRoleTest is SymbolicToken {
    address internal constant HOLDER = address(0x1001);
    address internal constant STRANGER = address(0xBAD);

    function setUp() public {
        deploy();
    }

    function check_bounded_noRoleCaller_changesNoRoleState() public {
        symbolicSupply();
        uint256 before = symbolicAccount(HOLDER, "holder");
        uint256 frozenAmount = load(frozenSlot(HOLDER));
        store(minterAllowanceSlot(MINTER), svm.createUint256("minterAllowance"));
        uint256 allowanceBefore = load(minterAllowanceSlot(MINTER));
        bool paused = symbolicPaused();
        uint256 supply = token.totalSupply();
        bytes32 implementation = vm.load(address(token), IMPLEMENTATION);

        bytes memory data = svm.createCalldata("DepositToken");
        vm.prank(STRANGER);
        (bool ok,) = address(token).call(data);
        vm.assume(ok);

        assert(word(HOLDER) & ~BALANCE_MASK == before & ~BALANCE_MASK);
        // property 4 for this caller: a holder that is not active receives nothing
        bool wasActive = active(before);
        bool notGrown = word(HOLDER) & BALANCE_MASK <= before & BALANCE_MASK;
        bool holds;
        assembly ("memory-safe") {
            holds := or(wasActive, notGrown) // branch-free: no paths of its own
        }
        assert(holds);
        assert(load(frozenSlot(HOLDER)) == frozenAmount);
        assert(load(minterAllowanceSlot(MINTER)) == allowanceBefore);
        assert(token.paused() == paused);
        assert(token.totalSupply() <= supply);
        assert(vm.load(address(token), IMPLEMENTATION) == implementation);
        assert(!token.hasRole(token.MINTER_ROLE(), STRANGER));
        assert(!token.hasRole(token.DEFAULT_ADMIN_ROLE(), STRANGER));
        assert(token.hasRole(token.COMPLIANCE_ROLE(), COMPLIANCE));
        assert(token.hasRole(token.LEGAL_ROLE(), LEGAL));
        assert(token.hasRole(token.MINTER_ROLE(), MINTER));
        assert(token.defaultAdmin() == ADMIN);
    }
}
