// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {DepositToken} from "../../../contracts/token/DepositToken.sol";
import {SymbolicToken} from "./SymbolicToken.sol";

/**
 * @dev Property 5 on the real token behind its proxy, from any state of the accounts involved
 * (symbolic words, frozen amounts, minter allowance, pause flag and total supply; see {SymbolicToken}):
 * a mint against a used deposit reference always reverts; a redemption lowers the total supply and the
 * holder's balance by exactly the amount and changes nothing else of its word; a burn reference works once.
 */
contract IssuanceTest is SymbolicToken {
    address internal constant HOLDER = address(0x1001);

    function setUp() public {
        deploy();
    }

    function check_mint_withUsedDepositRef_alwaysReverts(address to, uint256 amount, bytes32 ref) public {
        symbolicSupply();
        symbolicAccount(to, "to");
        symbolicPaused();
        store(minterAllowanceSlot(MINTER), svm.createUint256("minterAllowance"));
        store(depositRefSlot(ref), 1); // used
        vm.prank(MINTER);
        (bool ok,) = address(token).call(abi.encodeCall(DepositToken.mint, (to, amount, ref)));
        assert(!ok);
    }

    function check_mint_marksItsDepositRefUsed(uint256 amount, bytes32 ref) public {
        symbolicSupply();
        symbolicAccount(HOLDER, "holder");
        store(minterAllowanceSlot(MINTER), svm.createUint256("minterAllowance"));
        vm.prank(MINTER);
        (bool ok,) = address(token).call(abi.encodeCall(DepositToken.mint, (HOLDER, amount, ref)));
        if (ok) assert(token.isDepositRefUsed(ref));
    }

    function check_redeem_lowersSupplyAndBalanceByExactlyTheAmount(uint256 amount, bytes32 payoutRef) public {
        symbolicSupply();
        uint256 before = symbolicAccount(HOLDER, "holder");
        uint256 supply = token.totalSupply();
        vm.prank(HOLDER);
        (bool ok,) = address(token).call(abi.encodeCall(DepositToken.redeem, (amount, payoutRef)));
        if (ok) {
            assert(token.totalSupply() == supply - amount);
            assert(word(HOLDER) == before - amount); // only the balance bits: amount <= balance
            assert(token.balanceOf(HOLDER) == (before & BALANCE_MASK) - amount);
            assert(token.isPayoutRefUsed(HOLDER, payoutRef));
        }
    }

    function check_burn_refWorksOnce(uint256 amount, uint256 amount2, bytes32 ref) public {
        symbolicSupply();
        symbolicAccount(MINTER, "minter");
        vm.prank(MINTER);
        (bool ok,) = address(token).call(abi.encodeCall(DepositToken.burn, (amount, ref)));
        vm.assume(ok);
        assert(token.isBurnRefUsed(ref));
        vm.prank(MINTER);
        (ok,) = address(token).call(abi.encodeCall(DepositToken.burn, (amount2, ref)));
        assert(!ok);
    }
}
