// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {PackedAccount} from "../../../contracts/utils/PackedAccount.sol";
import {SymbolicToken} from "./SymbolicToken.sol";

/**
 * @dev Property 1, at the library level: the fields of the packed account word (balance bits 0-127,
 * KYC expiry bits 128-191, frozen bit 192, hasFrozenTokens bit 193) never bleed into one another,
 * for every word and every value. `others(w, mask)` is the word outside the field(s) in `mask`.
 */
contract PackedAccountLibraryTest {
    using PackedAccount for uint256;

    uint256 internal constant BALANCE = type(uint128).max;
    uint256 internal constant EXPIRY = uint256(type(uint64).max) << 128;

    function check_withKycExpiry_setsOnlyTheExpiry(uint256 word, uint64 expiry) public pure {
        uint256 updated = word.withKycExpiry(expiry);
        assert(updated.kycExpiry() == expiry);
        assert(updated & ~EXPIRY == word & ~EXPIRY); // balance, both flags and the unused bits kept
        assert(updated.balance() == word.balance());
        assert(updated.isFrozen() == word.isFrozen());
        assert(updated.hasFrozenTokens() == word.hasFrozenTokens());
    }

    function check_withFlag_setsOnlyThatFlag(uint256 word, bool frozenFlag, bool set) public pure {
        uint256 flag = frozenFlag ? PackedAccount.FROZEN : PackedAccount.HAS_FROZEN_TOKENS;
        uint256 updated = word.withFlag(flag, set);
        assert((updated & flag != 0) == set);
        assert(updated & ~flag == word & ~flag);
        assert(updated.balance() == word.balance());
        assert(updated.kycExpiry() == word.kycExpiry());
        if (frozenFlag) assert(updated.hasFrozenTokens() == word.hasFrozenTokens());
        else assert(updated.isFrozen() == word.isFrozen());
    }

    /// @dev The token adds and subtracts amounts on the whole word: within 128 bits only the balance moves.
    function check_wordArithmetic_movesOnlyTheBalance(uint256 word, uint256 amount) public pure {
        if (word.balance() + amount <= BALANCE) {
            uint256 credited = word + amount;
            assert(credited.balance() == word.balance() + amount);
            assert(credited & ~BALANCE == word & ~BALANCE);
        }
        if (amount <= word.balance()) {
            uint256 debited = word - amount;
            assert(debited.balance() == word.balance() - amount);
            assert(debited & ~BALANCE == word & ~BALANCE);
        }
    }

    /// @dev The branch-free assembly of isActive is the rule it documents.
    function check_isActive_isUnexpiredAndNotFrozen(uint256 word, uint256 time) public pure {
        assert(word.isActive(time) == (word.kycExpiry() > time && !word.isFrozen()));
    }

    /// @dev Each field reads only its own bits.
    function check_readers_readOnlyTheirBits(uint256 word, uint256 noise) public pure {
        assert((word & BALANCE | noise & ~BALANCE).balance() == word.balance());
        assert((word & EXPIRY | noise & ~EXPIRY).kycExpiry() == word.kycExpiry());
        assert((word & PackedAccount.FROZEN | noise & ~PackedAccount.FROZEN).isFrozen() == word.isFrozen());
        assert(
            (word & PackedAccount.HAS_FROZEN_TOKENS | noise & ~PackedAccount.HAS_FROZEN_TOKENS).hasFrozenTokens()
                == word.hasFrozenTokens()
        );
    }
}

/**
 * @dev Property 1 through the real token behind its proxy: from any reachable state of the account
 * (symbolic word and frozen amount, see {SymbolicToken}), each operation that succeeds changes only
 * its own field of the packed word.
 */
contract PackedAccountTokenTest is SymbolicToken {
    address internal constant HOLDER = address(0x1001);

    function setUp() public {
        deploy();
    }

    function call(address caller, bytes memory data) internal returns (bool ok) {
        vm.prank(caller);
        (ok,) = address(token).call(data);
    }

    function check_allowlist_anyExpiry_changesOnlyTheExpiry(uint64 expiry) public {
        symbolicSupply();
        uint256 before = symbolicAccount(HOLDER, "holder");
        uint256 frozenAmount = load(frozenSlot(HOLDER));
        if (call(COMPLIANCE, abi.encodeCall(token.allowlist, (HOLDER, expiry)))) {
            assert(word(HOLDER) == (before & ~EXPIRY_MASK) | (uint256(expiry) << 128));
            assert(load(frozenSlot(HOLDER)) == frozenAmount);
        }
    }

    function check_removeFromAllowlist_changesOnlyTheExpiry() public {
        symbolicSupply();
        uint256 before = symbolicAccount(HOLDER, "holder");
        assert(call(COMPLIANCE, abi.encodeCall(token.removeFromAllowlist, (HOLDER))));
        assert(word(HOLDER) == before & ~EXPIRY_MASK);
    }

    function check_freezeAndUnfreeze_changeOnlyTheFrozenFlag(bool freeze) public {
        symbolicSupply();
        uint256 before = symbolicAccount(HOLDER, "holder");
        bytes memory data = freeze
            ? abi.encodeCall(token.freezeAccount, (HOLDER))
            : abi.encodeCall(token.unfreezeAccount, (HOLDER));
        if (call(COMPLIANCE, data)) {
            assert(word(HOLDER) == (freeze ? before | FROZEN : before & ~FROZEN));
        }
    }

    function check_setFrozenTokens_changesOnlyItsFlag(uint256 amount) public {
        symbolicSupply();
        uint256 before = symbolicAccount(HOLDER, "holder");
        assert(call(LEGAL, abi.encodeCall(token.setFrozenTokens, (HOLDER, amount))));
        assert(word(HOLDER) == (amount != 0 ? before | HAS_FROZEN_TOKENS : before & ~HAS_FROZEN_TOKENS));
        assert(token.getFrozenTokens(HOLDER) == amount);
    }

    function check_mint_anyAmount_changesOnlyTheBalance(uint256 amount, bytes32 ref) public {
        symbolicSupply();
        uint256 before = symbolicAccount(HOLDER, "holder");
        store(minterAllowanceSlot(MINTER), svm.createUint256("minterAllowance"));
        if (call(MINTER, abi.encodeCall(token.mint, (HOLDER, amount, ref)))) {
            assert(word(HOLDER) == before + amount);
            assert((before & BALANCE_MASK) + amount <= BALANCE_MASK); // hence only the balance bits moved
        }
    }
}
