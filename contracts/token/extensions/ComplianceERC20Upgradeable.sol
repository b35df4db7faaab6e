// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Initializable} from "@openzeppelin/contracts-upgradeable/proxy/utils/Initializable.sol";
import {ContextUpgradeable} from "@openzeppelin/contracts-upgradeable/utils/ContextUpgradeable.sol";
import {PausableUpgradeable} from "@openzeppelin/contracts-upgradeable/utils/PausableUpgradeable.sol";
import {IComplianceERC20} from "../../interfaces/IComplianceERC20.sol";
import {PackedAccount} from "../../utils/PackedAccount.sol";

/**
 * @title ComplianceERC20Upgradeable
 * @notice ERC-20 in which every balance change is checked against an allowlist (with a KYC review
 * date), whole-account freezes and ERC-7943 frozen amounts.
 *
 * @dev An account's balance, allowlist expiry and restriction flags share one storage word
 * ({PackedAccount}), so the compliance checks of a transfer read no slot that a plain ERC-20 transfer
 * would not read anyway. The frozen amount lives in its own mapping and is read only when the
 * account's `hasFrozenTokens` flag is set. Balances are 128-bit: {_mint} caps the total supply at
 * `type(uint128).max`, which is what makes the word arithmetic below safe.
 *
 * Rules, enforced on every path that changes a balance:
 * - an account is *active* when its allowlist entry has not expired and it is not frozen;
 * - {transfer}/{transferFrom}: sender, receiver and (for {transferFrom}) spender must be active,
 *   and the amount must not reach into the sender's frozen amount;
 * - {_mint}: the receiver must be active;
 * - {_burn} with `privileged == false` (redemption): as a transfer's sender;
 * - {_burn} with `privileged == true` (the bank burning its own holdings): works while paused and
 *   without an allowlist entry, but not from a frozen account nor into a frozen amount;
 * - {_forcedTransfer} (seizure under a legal order) is not blocked by the source's restrictions and
 *   releases the frozen tokens it takes (ERC-7943; a lien above the balance keeps its excess); its
 *   destination must be active.
 *
 * The contract leaves authorisation to the inheriting contract: every state-changing internal
 * function here must be exposed behind a role check.
 */
abstract contract ComplianceERC20Upgradeable is
    Initializable,
    ContextUpgradeable,
    PausableUpgradeable,
    IComplianceERC20
{
    using PackedAccount for uint256;

    /// @custom:storage-location erc7201:deptoken.storage.ComplianceERC20
    struct ComplianceERC20Storage {
        mapping(address account => uint256 packed) accounts; // see {PackedAccount}
        mapping(address account => uint256) frozenTokens;
        mapping(address owner => mapping(address spender => uint256)) allowances;
        uint256 totalSupply;
        string name;
        string symbol;
        uint8 decimals;
    }

    // keccak256(abi.encode(uint256(keccak256("deptoken.storage.ComplianceERC20")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant COMPLIANCE_ERC20_STORAGE =
        0x3af73a328f099f25de191fd498f5dfc3e3930dc7b73290003386308a62c4d500;

    function _getComplianceERC20Storage() private pure returns (ComplianceERC20Storage storage $) {
        assembly ("memory-safe") {
            $.slot := COMPLIANCE_ERC20_STORAGE
        }
    }

    // solhint-disable-next-line func-name-mixedcase
    function __ComplianceERC20_init(string memory name_, string memory symbol_, uint8 decimals_)
        internal
        onlyInitializing
    {
        ComplianceERC20Storage storage $ = _getComplianceERC20Storage();
        $.name = name_;
        $.symbol = symbol_;
        $.decimals = decimals_;
    }

    // ------------------------------------------------------------------ ERC-20

    /// @notice The token's name.
    function name() public view virtual returns (string memory) {
        return _getComplianceERC20Storage().name;
    }

    /// @notice The token's symbol.
    function symbol() public view virtual returns (string memory) {
        return _getComplianceERC20Storage().symbol;
    }

    /// @notice Decimals of the token amount: the minor units of the currency unless configured otherwise.
    function decimals() public view virtual returns (uint8) {
        return _getComplianceERC20Storage().decimals;
    }

    /// @notice Total tokens in circulation: the bank's outstanding liability in minor units.
    function totalSupply() public view virtual returns (uint256) {
        return _getComplianceERC20Storage().totalSupply;
    }

    /// @notice Balance of `account` in minor units.
    function balanceOf(address account) public view virtual returns (uint256) {
        return _getComplianceERC20Storage().accounts[account].balance();
    }

    /// @notice Remaining amount `spender` may move from `owner` with {transferFrom}.
    function allowance(address owner, address spender) public view virtual returns (uint256) {
        return _getComplianceERC20Storage().allowances[owner][spender];
    }

    /// @notice Moves `value` from the caller to `to`. Both must be allowlisted and not frozen.
    function transfer(address to, uint256 value) public virtual returns (bool) {
        _transfer(_msgSender(), to, value);
        return true;
    }

    /// @notice Lets `spender` move up to `value` of the caller's tokens.
    /// @dev Approving is not restricted; using the allowance is (see {transferFrom}).
    function approve(address spender, uint256 value) public virtual returns (bool) {
        _approve(_msgSender(), spender, value);
        return true;
    }

    /// @notice Moves `value` from `from` to `to` using the caller's allowance. `from`, `to` and the
    /// caller must all be allowlisted and not frozen.
    function transferFrom(address from, address to, uint256 value) public virtual returns (bool) {
        address spender = _msgSender();
        if (!_getComplianceERC20Storage().accounts[spender].isActive(block.timestamp)) {
            revert SpenderNotAllowed(spender);
        }
        _spendAllowance(from, spender, value);
        _transfer(from, to, value);
        return true;
    }

    // ------------------------------------------------------------------ ERC-7943 and allowlist views

    /// @notice Whether `account` may send: allowlisted (entry not expired) and not frozen.
    function canSend(address account) public view virtual returns (bool) {
        return _getComplianceERC20Storage().accounts[account].isActive(block.timestamp);
    }

    /// @notice Whether `account` may receive: allowlisted (entry not expired) and not frozen.
    function canReceive(address account) public view virtual returns (bool) {
        return _getComplianceERC20Storage().accounts[account].isActive(block.timestamp);
    }

    /// @notice Whether a transfer of `amount` from `from` to `to` is allowed now: transfers enabled
    /// (not paused), both parties active, and `amount` within `from`'s unfrozen balance.
    function canTransfer(address from, address to, uint256 amount) public view virtual returns (bool) {
        return _transfersEnabled() && canSend(from) && canReceive(to) && amount <= unfrozenBalanceOf(from);
    }

    /// @notice The frozen amount of `account` (may exceed its balance).
    function getFrozenTokens(address account) public view virtual returns (uint256) {
        return _getComplianceERC20Storage().frozenTokens[account];
    }

    /// @notice The part of `account`'s balance that is not frozen.
    function unfrozenBalanceOf(address account) public view virtual returns (uint256) {
        ComplianceERC20Storage storage $ = _getComplianceERC20Storage();
        uint256 balance = $.accounts[account].balance();
        uint256 frozen = $.frozenTokens[account];
        return balance > frozen ? balance - frozen : 0;
    }

    /// @notice Whether `account` is on the allowlist with an entry that has not expired.
    function isAllowlisted(address account) public view virtual returns (bool) {
        return _getComplianceERC20Storage().accounts[account].kycExpiry() > block.timestamp;
    }

    /// @notice The allowlist expiry (KYC review date, unix seconds) of `account`; 0 if not listed.
    function allowlistExpiry(address account) public view virtual returns (uint64) {
        return _getComplianceERC20Storage().accounts[account].kycExpiry();
    }

    /// @notice Whether `account` is frozen as a whole.
    function isFrozen(address account) public view virtual returns (bool) {
        return _getComplianceERC20Storage().accounts[account].isFrozen();
    }

    // ------------------------------------------------------------------ hook

    /// @dev Whether ordinary transfers, mints and redemptions are enabled: by default, while not paused.
    /// The one hook for it: {canTransfer} reads it, and the paths it governs ({_transfer}, {_mint},
    /// an unprivileged {_burn}) revert with {EnforcedPause} when it returns false.
    function _transfersEnabled() internal view virtual returns (bool) {
        return !paused();
    }

    // ------------------------------------------------------------------ the balance path

    /// @dev {_update} rule: the sender must be active (allowlisted, unexpired, not frozen).
    uint256 internal constant SENDER_ACTIVE = 1;
    /// @dev {_update} rule: the sender must not be frozen as a whole (its allowlist entry does not matter).
    uint256 internal constant SENDER_NOT_FROZEN = 2;
    /// @dev {_update} rule: frozen tokens taken are released (a forced transfer) instead of protected.
    uint256 internal constant RELEASE_FROZEN = 4;
    /// @dev {_update} rule: a mint (`from` is the zero address; the receiver and the supply cap are
    /// checked). Without it the zero address is a sender like any other, which is never active.
    uint256 internal constant MINT = 8;

    /**
     * @dev The one place where balances and the total supply change and {Transfer} is emitted;
     * `MINT` (with `from` zero) mints, `to` zero burns. Each entry path checks its own preconditions and
     * names the sender's rules: `SENDER_ACTIVE` and/or `SENDER_NOT_FROZEN`, and `RELEASE_FROZEN` (a forced
     * transfer) or not (the frozen amount may not be touched). Always: the sender's balance covers
     * `value`; a credit goes only to an active account (checked after the debit, so that `from == to`
     * stays correct); the total supply stays within `type(uint128).max`, which bounds every balance
     * and makes the word arithmetic safe.
     */
    function _update(address from, address to, uint256 value, uint256 rules) internal virtual {
        ComplianceERC20Storage storage $;
        assembly ("memory-safe") {
            $.slot := COMPLIANCE_ERC20_STORAGE // as {_getComplianceERC20Storage}, without the call: the hot path
        }
        if (rules & MINT != 0) {
            uint256 supply = $.totalSupply; // <= type(uint128).max; the receiver is checked by {_mint}
            // compared as room left, so that a `value` near 2**256 reverts with SupplyCapExceeded, not a panic
            if (value > type(uint128).max - supply) revert SupplyCapExceeded(value);
            unchecked {
                $.totalSupply = supply + value;
            }
        } else {
            uint256 src = $.accounts[from];
            if (rules & SENDER_ACTIVE != 0) {
                if (!src.isActive(block.timestamp)) revert ERC7943CannotSend(from);
            } else if (rules & SENDER_NOT_FROZEN != 0 && src.isFrozen()) {
                revert ERC7943CannotSend(from);
            }
            uint256 balance = src.balance();
            if (balance < value) revert ERC20InsufficientBalance(from, balance, value);
            if (src.hasFrozenTokens()) {
                if (rules & RELEASE_FROZEN != 0) src = _releaseFrozen(from, src, balance, value);
                else _checkUnfrozen(from, balance, value);
            }
            unchecked {
                $.accounts[from] = src - value; // value <= balance: only the balance bits change
            }
        }
        if (to != address(0)) {
            uint256 dst = $.accounts[to]; // read after the debit, so that from == to stays correct
            if (!dst.isActive(block.timestamp)) revert ERC7943CannotReceive(to);
            unchecked {
                $.accounts[to] = dst + value; // balance + value <= totalSupply < 2**128
            }
        } else {
            unchecked {
                $.totalSupply -= value; // value <= balance <= totalSupply
            }
        }
        emit Transfer(from, to, value);
    }

    // ------------------------------------------------------------------ entry paths and their rules

    /// @dev Reverts unless `value` leaves `from`'s frozen amount untouched.
    function _checkUnfrozen(address from, uint256 balance, uint256 value) private view {
        uint256 frozen = _getComplianceERC20Storage().frozenTokens[from];
        uint256 unfrozen = balance > frozen ? balance - frozen : 0;
        if (value > unfrozen) revert ERC7943InsufficientUnfrozenBalance(from, value, unfrozen);
    }

    /// @dev An ordinary transfer: transfers enabled, both parties active, frozen amount respected.
    function _transfer(address from, address to, uint256 value) internal virtual {
        if (!_transfersEnabled()) revert EnforcedPause();
        if (to == address(0)) revert ERC20InvalidReceiver(address(0));
        _update(from, to, value, SENDER_ACTIVE);
    }

    /// @dev Creates `value` tokens for `to`, which must be active ({_update} caps the total supply).
    function _mint(address to, uint256 value) internal virtual {
        if (!_transfersEnabled()) revert EnforcedPause();
        if (to == address(0)) revert ERC20InvalidReceiver(address(0));
        // the receiver before the supply cap (that order of errors), although {_update} checks it too
        if (!_getComplianceERC20Storage().accounts[to].isActive(block.timestamp)) revert ERC7943CannotReceive(to);
        _update(address(0), to, value, MINT);
    }

    /**
     * @dev Destroys `value` of `from`'s tokens. A whole-account freeze and the frozen amount always
     * apply (a lien binds the bank's own holdings too). Unprivileged (a holder's redemption):
     * transfers must also be enabled and `from` allowlisted. Privileged (the bank burning what it
     * holds): also while paused and whatever `from`'s allowlist entry.
     */
    function _burn(address from, uint256 value, bool privileged) internal virtual {
        if (!privileged && !_transfersEnabled()) revert EnforcedPause();
        _update(from, address(0), value, privileged ? SENDER_NOT_FROZEN : SENDER_ACTIVE);
    }

    /**
     * @dev Moves `value` from `from` to `to` under a legal order (ERC-7943 forced transfer): `from`'s
     * allowlist status, freeze and frozen amount do not block it, but `to` must be active. Frozen
     * tokens that are taken are released first ({Frozen} before {Transfer}). Works while paused.
     */
    function _forcedTransfer(address from, address to, uint256 value) internal virtual {
        if (from == address(0)) revert ERC20InvalidSender(address(0));
        if (to == address(0)) revert ERC20InvalidReceiver(address(0));
        if (from == to) revert ERC7943CannotTransfer(from, to, value);
        _update(from, to, value, RELEASE_FROZEN);
        emit ForcedTransfer(from, to, value);
    }

    /**
     * @dev Before a forced debit of `value` from a `balance`: the unfrozen part goes first; what
     * is taken beyond it is frozen and is released (ERC-7943: unfreeze first, {Frozen} before
     * {Transfer}). A frozen amount above the balance (a lien on future funds) keeps its excess: with
     * 1,000 held and 2,000 frozen, taking 300 leaves 1,700 frozen. Returns the account's word.
     */
    function _releaseFrozen(address account, uint256 word, uint256 balance, uint256 value) private returns (uint256) {
        ComplianceERC20Storage storage $ = _getComplianceERC20Storage();
        uint256 frozen = $.frozenTokens[account];
        uint256 unfrozen = balance > frozen ? balance - frozen : 0;
        if (value <= unfrozen) return word;
        _setFrozenTokens(account, frozen - (value - unfrozen)); // value - unfrozen <= min(frozen, balance)
        return $.accounts[account];
    }

    // ------------------------------------------------------------------ internal compliance state

    /// @dev Sets `account`'s allowlist expiry; 0 removes it. A non-zero expiry must be in the future.
    function _setAllowlist(address account, uint64 kycExpiry) internal virtual {
        if (account == address(0)) revert InvalidAccount(address(0));
        if (kycExpiry != 0 && kycExpiry <= block.timestamp) revert AllowlistExpiryInPast(account, kycExpiry);
        mapping(address => uint256) storage accounts = _getComplianceERC20Storage().accounts;
        accounts[account] = accounts[account].withKycExpiry(kycExpiry);
        emit AllowlistUpdated(account, kycExpiry);
    }

    /// @dev Freezes or unfreezes `account` as a whole; reverts if it is already in that state.
    function _setAccountFrozen(address account, bool frozen) internal virtual {
        if (account == address(0)) revert InvalidAccount(address(0));
        mapping(address => uint256) storage accounts = _getComplianceERC20Storage().accounts;
        uint256 word = accounts[account];
        if (word.isFrozen() == frozen) {
            if (frozen) revert AccountAlreadyFrozen(account);
            revert AccountNotFrozen(account);
        }
        accounts[account] = word.withFlag(PackedAccount.FROZEN, frozen);
        if (frozen) emit AccountFrozen(account);
        else emit AccountUnfrozen(account);
    }

    /// @dev Sets the ERC-7943 frozen amount of `account` (may exceed its balance).
    function _setFrozenTokens(address account, uint256 amount) internal virtual {
        if (account == address(0)) revert InvalidAccount(address(0));
        ComplianceERC20Storage storage $ = _getComplianceERC20Storage();
        $.frozenTokens[account] = amount;
        $.accounts[account] = $.accounts[account].withFlag(PackedAccount.HAS_FROZEN_TOKENS, amount != 0);
        emit Frozen(account, amount);
    }

    /**
     * @dev Lost-key recovery: moves `lost`'s balance, freeze and frozen amount to `replacement` and
     * removes `lost` from the allowlist. Two-party by construction: the replacement must already be
     * allowlisted (onboarded by compliance, entry unexpired) and hold nothing (no balance, freeze or
     * frozen amount); it keeps its own allowlist entry. Allowances given by or to `lost` stay behind,
     * unusable since `lost` is no longer allowlisted.
     */
    function _recoverAccount(address lost, address replacement) internal virtual {
        ComplianceERC20Storage storage $ = _getComplianceERC20Storage();
        uint256 entry = $.accounts[lost];
        uint256 target = $.accounts[replacement];
        if (
            lost == replacement || entry == 0 || target.kycExpiry() <= block.timestamp
                || target & ~PackedAccount.EXPIRY_MASK != 0
        ) revert RecoveryNotPossible(lost, replacement);

        uint256 frozenAmount = $.frozenTokens[lost];
        uint256 balance = entry.balance();
        if (entry.kycExpiry() != 0) emit AllowlistUpdated(lost, 0);
        if (entry.isFrozen()) {
            emit AccountUnfrozen(lost);
            emit AccountFrozen(replacement);
        }
        if (frozenAmount != 0) {
            emit Frozen(lost, 0);
            emit Frozen(replacement, frozenAmount);
            delete $.frozenTokens[lost];
            $.frozenTokens[replacement] = frozenAmount;
        }
        // the balance through the one balance path (the replacement is active: checked above), then
        // the restrictions: the lost word is cleared, its freeze flags join the replacement's entry
        // (the frozen amount has moved already, so the debit is not held back by it)
        if (balance != 0) _update(lost, replacement, balance, 0);
        delete $.accounts[lost];
        $.accounts[replacement] |= entry & (PackedAccount.FROZEN | PackedAccount.HAS_FROZEN_TOKENS);
        emit AccountRecovered(lost, replacement, balance);
    }

    // ------------------------------------------------------------------ allowances

    function _approve(address owner, address spender, uint256 value) internal virtual {
        if (owner == address(0)) revert ERC20InvalidApprover(address(0));
        if (spender == address(0)) revert ERC20InvalidSpender(address(0));
        _getComplianceERC20Storage().allowances[owner][spender] = value;
        emit Approval(owner, spender, value);
    }

    /// @dev Uses `value` of `owner`'s allowance to `spender`; an allowance of 2**256 - 1 is unlimited.
    function _spendAllowance(address owner, address spender, uint256 value) internal virtual {
        mapping(address => uint256) storage allowances = _getComplianceERC20Storage().allowances[owner];
        uint256 current = allowances[spender];
        if (current != type(uint256).max) {
            if (current < value) revert ERC20InsufficientAllowance(spender, current, value);
            unchecked {
                allowances[spender] = current - value;
            }
        }
    }
}
