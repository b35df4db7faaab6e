// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IBankIssuance} from "../../interfaces/IBankIssuance.sol";
import {ComplianceERC20Upgradeable} from "./ComplianceERC20Upgradeable.sol";

/**
 * @title BankIssuanceUpgradeable
 * @notice The issuing bank's side of the token's life: minting against deposits it received (each
 * deposit reference usable once, each minter within an allowance set by the minter admin, as USDC's
 * master minter does), redemption by holders (each holder's payout reference usable once), and burning of
 * tokens the bank holds (each burn reference once).
 * @dev Authorisation is left to the inheriting contract (see {DepositToken}).
 */
abstract contract BankIssuanceUpgradeable is ComplianceERC20Upgradeable, IBankIssuance {
    /// @custom:storage-location erc7201:deptoken.storage.BankIssuance
    struct BankIssuanceStorage {
        mapping(address minter => uint256) minterAllowance;
        mapping(bytes32 depositRef => bool) depositRefUsed;
        mapping(bytes32 accountPayoutRef => bool) payoutRefUsed; // keyed by keccak256(account, payoutRef)
        mapping(bytes32 burnRef => bool) burnRefUsed;
        // appended in 1.2.0
        mapping(address minter => MintRateLimit) rateLimits;
    }

    /// @dev A minter's rate limit: up to `capacity` per `period` seconds, refilling linearly (as
    /// Paxos's RateLimit does); `remaining` was left at `updatedAt`. Capacity 0: no rate limit.
    struct MintRateLimit {
        uint128 capacity;
        uint128 remaining;
        uint64 period;
        uint64 updatedAt;
    }

    // keccak256(abi.encode(uint256(keccak256("deptoken.storage.BankIssuance")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant BANK_ISSUANCE_STORAGE =
        0xab0bed1488c1a66b0bfae2d6312d19c76661cfd040da34668fff6ac07b6d5b00;

    function _getBankIssuanceStorage() private pure returns (BankIssuanceStorage storage $) {
        assembly ("memory-safe") {
            $.slot := BANK_ISSUANCE_STORAGE
        }
    }

    /// @notice How much `minter` may still mint.
    function minterAllowance(address minter) public view virtual returns (uint256) {
        return _getBankIssuanceStorage().minterAllowance[minter];
    }

    /// @notice The rate limit of `minter`: at most `capacity` per `period` seconds, of which
    /// `available` may be minted now (all zero: no rate limit, only the allowance applies).
    function minterRateLimitOf(address minter)
        public
        view
        virtual
        returns (uint256 capacity, uint256 period, uint256 available)
    {
        MintRateLimit memory limit = _getBankIssuanceStorage().rateLimits[minter];
        return (limit.capacity, limit.period, _available(limit));
    }

    /// @notice Whether `depositRef` has been used for a mint.
    function isDepositRefUsed(bytes32 depositRef) public view virtual returns (bool) {
        return _getBankIssuanceStorage().depositRefUsed[depositRef];
    }

    /// @notice Whether `account` has used `payoutRef` for a redemption. Payout references are
    /// per holder, so that no one can block another holder's redemption by using its reference first.
    function isPayoutRefUsed(address account, bytes32 payoutRef) public view virtual returns (bool) {
        return _getBankIssuanceStorage().payoutRefUsed[_payoutKey(account, payoutRef)];
    }

    /// @notice Whether `burnRef` has been used for a bank burn.
    function isBurnRefUsed(bytes32 burnRef) public view virtual returns (bool) {
        return _getBankIssuanceStorage().burnRefUsed[burnRef];
    }

    /// @dev Sets the allowance of `minter` (overwrites).
    function _configureMinter(address minter, uint256 allowance_) internal virtual {
        if (minter == address(0)) revert InvalidAccount(address(0));
        _getBankIssuanceStorage().minterAllowance[minter] = allowance_;
        emit MinterConfigured(minter, allowance_);
    }

    /// @dev Sets the rate limit of `minter` (full capacity available now); capacity 0 removes it.
    function _setMinterRateLimit(address minter, uint256 capacity, uint256 period) internal virtual {
        if (minter == address(0)) revert InvalidAccount(address(0));
        if (capacity == 0 ? period != 0 : (capacity > type(uint128).max || period == 0 || period > type(uint64).max)) {
            revert InvalidRateLimit(capacity, period);
        }
        _getBankIssuanceStorage().rateLimits[minter] =
            MintRateLimit(uint128(capacity), uint128(capacity), uint64(period), uint64(block.timestamp));
        emit MinterRateLimitSet(minter, capacity, period);
    }

    /// @dev What the rate limit leaves to mint now: the remainder refilled by `capacity / period` per
    /// second since it was last used, at most `capacity`. No rate limit (capacity 0): 0, unused.
    function _available(MintRateLimit memory limit) private view returns (uint256) {
        if (limit.capacity == 0) return 0;
        uint256 refill = (block.timestamp - limit.updatedAt) * limit.capacity / limit.period;
        uint256 available = limit.remaining + refill;
        return available < limit.capacity ? available : limit.capacity;
    }

    /// @dev Zeroes the allowance of `minter`.
    function _removeMinter(address minter) internal virtual {
        delete _getBankIssuanceStorage().minterAllowance[minter];
        emit MinterRemoved(minter);
    }

    /// @dev Mints `amount` to `to` against `depositRef`, once per reference, within `minter`'s allowance.
    function _mintAgainstDeposit(address minter, address to, uint256 amount, bytes32 depositRef) internal virtual {
        if (amount == 0) revert InvalidAmount();
        if (depositRef == bytes32(0)) revert InvalidReference();
        BankIssuanceStorage storage $ = _getBankIssuanceStorage();
        if ($.depositRefUsed[depositRef]) revert DepositReferenceUsed(depositRef);
        _spendMinterAllowance(minter, amount);
        $.depositRefUsed[depositRef] = true;
        _mint(to, amount);
        emit Minted(minter, to, amount, depositRef);
    }

    /// @dev Takes `amount` from `minter`'s allowance and, if it has one, its rate limit; reverts beyond either.
    function _spendMinterAllowance(address minter, uint256 amount) internal virtual {
        BankIssuanceStorage storage $ = _getBankIssuanceStorage();
        uint256 remaining = $.minterAllowance[minter];
        if (remaining < amount) revert MinterAllowanceExceeded(minter, remaining, amount);
        unchecked {
            $.minterAllowance[minter] = remaining - amount;
        }
        MintRateLimit storage limit = $.rateLimits[minter];
        if (limit.capacity != 0) {
            uint256 available = _available(limit);
            if (available < amount) revert MinterRateLimitExceeded(minter, available, amount);
            unchecked {
                (limit.remaining, limit.updatedAt) = (uint128(available - amount), uint64(block.timestamp));
            }
        }
    }

    function _payoutKey(address account, bytes32 payoutRef) private pure returns (bytes32) {
        return keccak256(abi.encode(account, payoutRef));
    }

    /// @dev Burns `amount` of `account`'s tokens for payout under `payoutRef`, once per holder and reference.
    function _redeem(address account, uint256 amount, bytes32 payoutRef) internal virtual {
        if (amount == 0) revert InvalidAmount();
        if (payoutRef == bytes32(0)) revert InvalidReference();
        BankIssuanceStorage storage $ = _getBankIssuanceStorage();
        bytes32 key = _payoutKey(account, payoutRef);
        if ($.payoutRefUsed[key]) revert PayoutReferenceUsed(account, payoutRef);
        $.payoutRefUsed[key] = true;
        _burn(account, amount, false);
        emit Redeemed(account, amount, payoutRef);
    }

    /// @dev Burns `amount` the bank holds at `account` (privileged: also while paused and without an
    /// allowlist entry; a freeze or frozen amount still applies), recorded under `burnRef`, once per reference.
    function _bankBurn(address account, uint256 amount, bytes32 burnRef) internal virtual {
        if (amount == 0) revert InvalidAmount();
        if (burnRef == bytes32(0)) revert InvalidReference();
        BankIssuanceStorage storage $ = _getBankIssuanceStorage();
        if ($.burnRefUsed[burnRef]) revert BurnReferenceUsed(burnRef);
        $.burnRefUsed[burnRef] = true;
        _burn(account, amount, true);
        emit Burned(account, amount, burnRef);
    }
}
