// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title PackedAccount
 * @notice An account's balance, allowlist expiry and restriction flags packed into one word, so
 * that a transfer's compliance checks cost no storage read beyond the balance it reads anyway
 * (USDC v2.2 keeps its blacklist flag beside the balance for the same reason).
 *
 * | bits    | field           | meaning                                                        |
 * |---------|-----------------|----------------------------------------------------------------|
 * | 0-127   | balance         | token balance in minor units                                   |
 * | 128-191 | kycExpiry       | allowlisted while block.timestamp < kycExpiry; 0: not listed   |
 * | 192     | frozen          | whole-account freeze (sanctions, legal order)                  |
 * | 193     | hasFrozenTokens | the ERC-7943 frozen amount is non-zero (read it only then)     |
 *
 * Because the balance occupies the low bits, adding or subtracting an amount to the whole word
 * changes only the balance, provided the result stays within 128 bits: the token caps its total
 * supply at `type(uint128).max`, which bounds every balance.
 */
library PackedAccount {
    uint256 internal constant BALANCE_MASK = type(uint128).max;
    uint256 internal constant EXPIRY_SHIFT = 128;
    uint256 internal constant EXPIRY_MASK = uint256(type(uint64).max) << EXPIRY_SHIFT;
    uint256 internal constant FROZEN = 1 << 192;
    uint256 internal constant HAS_FROZEN_TOKENS = 1 << 193;

    function balance(uint256 word) internal pure returns (uint256) {
        return word & BALANCE_MASK;
    }

    function kycExpiry(uint256 word) internal pure returns (uint64) {
        return uint64(word >> EXPIRY_SHIFT);
    }

    function withKycExpiry(uint256 word, uint64 expiry) internal pure returns (uint256) {
        return (word & ~EXPIRY_MASK) | (uint256(expiry) << EXPIRY_SHIFT);
    }

    function isFrozen(uint256 word) internal pure returns (bool) {
        return word & FROZEN != 0;
    }

    function hasFrozenTokens(uint256 word) internal pure returns (bool) {
        return word & HAS_FROZEN_TOKENS != 0;
    }

    function withFlag(uint256 word, uint256 flag, bool set) internal pure returns (uint256) {
        return set ? word | flag : word & ~flag;
    }

    /// @notice Allowlisted with an unexpired entry and not frozen: may send and receive.
    function isActive(uint256 word, uint256 time) internal pure returns (bool active) {
        // kycExpiry(word) > time && !isFrozen(word), branch-free: it runs for both parties of every transfer
        assembly ("memory-safe") {
            active := and(gt(and(shr(128, word), 0xffffffffffffffff), time), iszero(and(shr(192, word), 1)))
        }
    }
}
