// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {DepositToken} from "../../../contracts/token/DepositToken.sol";
import {TokenFixture} from "../utils/TokenFixture.sol";

/**
 * @dev The base of the halmos proofs: the real DepositToken behind its proxy ({TokenFixture}), whose
 * state the proofs then make symbolic where they need it. Storage is addressed by the token's ERC-7201
 * namespaces (the constants below are the contracts' own; storage-layout.json pins them).
 *
 * A symbolic account (`symbolicAccount`) gets any packed word and any frozen amount that a reachable
 * state can hold: bits 194-255 of the word zero, its `hasFrozenTokens` flag set exactly when the
 * frozen amount is non-zero, and the balance counted in a symbolic total supply that stays within
 * `type(uint128).max` (the token's invariant: the sum of the balances is at most the total supply).
 * Address zero's word stays zero (the token never lists it).
 */
abstract contract SymbolicToken is TokenFixture {
    bytes32 internal constant COMPLIANCE_ERC20 = 0x3af73a328f099f25de191fd498f5dfc3e3930dc7b73290003386308a62c4d500;
    bytes32 internal constant BANK_ISSUANCE = 0xab0bed1488c1a66b0bfae2d6312d19c76661cfd040da34668fff6ac07b6d5b00;
    bytes32 internal constant ISSUER_IDENTITY = 0xabce0e022df480aaeb41456156357f5c232291e3f2e7c21c6186a6c631588000;
    bytes32 internal constant PAUSABLE = 0xcd5ed15c6e187e77e9aee88184c21f4f2182ab5827cb3b7e07fbedcd63f03300;
    bytes32 internal constant INITIALIZABLE = 0xf0c57e16840df040f15088dc2f81fe391c3923bec73e23a9662efc9c229c6a00;
    bytes32 internal constant IMPLEMENTATION = 0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc;

    uint256 internal constant BALANCE_MASK = type(uint128).max;
    uint256 internal constant EXPIRY_MASK = uint256(type(uint64).max) << 128;
    uint256 internal constant FROZEN = 1 << 192;
    uint256 internal constant HAS_FROZEN_TOKENS = 1 << 193;

    DepositToken internal token;
    /// @dev The symbolic total supply; `symbolicAccount` draws each balance from what is left of it.
    uint256 internal supplyLeft;

    function deploy() internal {
        token = deployToken("USDD", "USD", 0);
        vm.warp(1_700_000_000);
    }

    // ------------------------------------------------------------------ slots

    function accountSlot(address account) internal pure returns (bytes32) {
        return keccak256(abi.encode(account, COMPLIANCE_ERC20));
    }

    function frozenSlot(address account) internal pure returns (bytes32) {
        return keccak256(abi.encode(account, uint256(COMPLIANCE_ERC20) + 1));
    }

    function allowanceSlot(address owner, address spender) internal pure returns (bytes32) {
        return keccak256(abi.encode(spender, keccak256(abi.encode(owner, uint256(COMPLIANCE_ERC20) + 2))));
    }

    function totalSupplySlot() internal pure returns (bytes32) {
        return bytes32(uint256(COMPLIANCE_ERC20) + 3);
    }

    function minterAllowanceSlot(address minter) internal pure returns (bytes32) {
        return keccak256(abi.encode(minter, BANK_ISSUANCE));
    }

    function depositRefSlot(bytes32 ref) internal pure returns (bytes32) {
        return keccak256(abi.encode(ref, uint256(BANK_ISSUANCE) + 1));
    }

    function burnRefSlot(bytes32 ref) internal pure returns (bytes32) {
        return keccak256(abi.encode(ref, uint256(BANK_ISSUANCE) + 3));
    }

    function rateLimitSlot(address minter) internal pure returns (bytes32) {
        return keccak256(abi.encode(minter, uint256(BANK_ISSUANCE) + 4));
    }

    function load(bytes32 slot) internal view returns (uint256) {
        return uint256(vm.load(address(token), slot));
    }

    function store(bytes32 slot, uint256 value) internal {
        vm.store(address(token), slot, bytes32(value));
    }

    function word(address account) internal view returns (uint256) {
        return load(accountSlot(account));
    }

    // ------------------------------------------------------------------ symbolic state

    /// @dev Starts a symbolic total supply (any value up to the cap) for `symbolicAccount` to share out.
    function symbolicSupply() internal {
        uint256 supply = svm.createUint(128, "totalSupply");
        store(totalSupplySlot(), supply);
        supplyLeft = supply;
    }

    /// @dev Gives `account` any reachable packed word and frozen amount (see the contract's notes);
    /// returns the word.
    function symbolicAccount(address account, string memory name) internal returns (uint256 packed) {
        if (account == address(0)) return 0;
        packed = svm.createUint(194, string.concat(name, ".word"));
        uint256 frozenAmount = svm.createUint256(string.concat(name, ".frozenTokens"));
        vm.assume((packed & HAS_FROZEN_TOKENS != 0) == (frozenAmount != 0));
        vm.assume(packed & BALANCE_MASK <= supplyLeft);
        supplyLeft -= packed & BALANCE_MASK;
        store(accountSlot(account), packed);
        store(frozenSlot(account), frozenAmount);
    }

    function symbolicPaused() internal returns (bool paused) {
        paused = svm.createBool("paused");
        store(PAUSABLE, paused ? 1 : 0);
    }

    /// @dev Any time at which the token can still run (the packed expiries are 64-bit).
    function symbolicTime() internal returns (uint256 time) {
        time = svm.createUint(64, "timestamp");
        vm.warp(time);
    }

    // The specification's predicates, written branch-free (assembly) so that they add no paths of
    // their own to halmos's exploration: only the token's code branches.

    /// @dev Allowlisted with an unexpired entry and not frozen, at the current time.
    function active(uint256 packed) internal view returns (bool r) {
        assembly ("memory-safe") {
            r := and(gt(and(shr(128, packed), 0xffffffffffffffff), timestamp()), iszero(and(packed, shl(192, 1))))
        }
    }

    /// @dev The part of `account`'s balance above its frozen amount.
    function unfrozen(address account) internal view returns (uint256 r) {
        uint256 held = word(account) & BALANCE_MASK;
        uint256 frozenAmount = load(frozenSlot(account));
        assembly ("memory-safe") {
            r := mul(gt(held, frozenAmount), sub(held, frozenAmount))
        }
    }

    function both(bool a, bool b) internal pure returns (bool r) {
        assembly ("memory-safe") {
            r := and(a, b)
        }
    }
}
