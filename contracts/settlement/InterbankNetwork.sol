// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IDepositToken} from "../interfaces/IDepositToken.sol";
import {IInterbankNetwork} from "../interfaces/IInterbankNetwork.sol";

/**
 * @title InterbankNetwork
 * @notice Payments between clients of different banks in one currency, final in one transaction,
 * and the banks' settlement with each other in a settlement asset.
 *
 * A bank joins with its deposit token (same currency and decimals as the settlement asset). A payer
 * at bank A pays a payee at bank B ({pay} after an approval, or {payWithAuthorization} with one
 * EIP-3009 signature): the payer's A-tokens come here and are burned (A owes its client less), B-tokens
 * are minted to the payee (B owes its client more), and A owes B the amount, all in one transaction
 * or not at all. A payment id is usable once in the network; both burn and mint carry it as the
 * token's once-only reference too (burn reference at A, deposit reference at B), so no payment id can
 * mint twice at a bank, whichever network mints.
 *
 * Each bank stays in control of its token: it grants this contract the minter role with an allowance
 * (what the network may mint for it: payments in) and allowlists it (it receives what payers pay
 * before burning it). The payer must be able to send at A, the payee to receive at B: the tokens'
 * own rules (allowlist, freezes, liens, pause) stop a payment.
 *
 * What banks owe each other is settled in the settlement asset (tokenised reserves), which each bank
 * posts here as collateral ({postCollateral}):
 *
 * - `Net` mode: each payment moves the banks' net positions (they sum to what was settled early,
 *   zero after each cycle); a bank's net debit may not exceed its collateral less the haircut
 *   ({DebitLimitExceeded}). The settlement operator closes a cycle ({settleCycle}): every bank's
 *   collateral changes by its position and the positions reset; it cannot fail, since no debit
 *   exceeds its collateral. A bank may settle early ({settleEarly}) and withdraw collateral above
 *   what its debit needs ({withdrawCollateral}).
 * - `Gross` mode: each payment moves `amount` of collateral from A to B at once (real-time gross
 *   settlement); positions stay zero.
 *
 * Roles: the admin (`DEFAULT_ADMIN_ROLE`) admits and suspends banks and sets the haircut; the
 * settlement operator ({SETTLEMENT_OPERATOR_ROLE}) closes cycles; each bank's operator withdraws its
 * collateral and settles early. Tokens and the settlement asset are trusted (admitted by the admin).
 */
contract InterbankNetwork is IInterbankNetwork, AccessControl {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    /// @notice The role that closes settlement cycles.
    bytes32 public constant SETTLEMENT_OPERATOR_ROLE = keccak256("SETTLEMENT_OPERATOR_ROLE");
    /// @notice The largest haircut: collateral counts for at least half of what it holds.
    uint16 public constant MAX_HAIRCUT_BPS = 5000;
    /// @notice The EIP-712 struct type whose hash is the EIP-3009 nonce a payer signs for
    /// {payWithAuthorization}: it binds the payee, its bank and the payment id to the signature.
    bytes32 public constant PAYMENT_TYPEHASH =
        keccak256("InterbankPayment(address network,address toToken,address payee,bytes32 paymentId)");

    IERC20 private immutable _asset;
    Mode private immutable _mode;
    bytes32 private immutable _currencyHash;
    uint8 private immutable _decimals;
    string private _currency;

    mapping(address token => Bank) private _banks;
    mapping(bytes32 paymentId => bool) private _paymentUsed;
    address[] private _members;
    uint16 private _haircutBps;
    uint256 private _cycle;
    uint256 private _settledEarly; // collateral taken by early settlements this cycle; positions sum to it

    modifier onlyBankOperator(address token) {
        if (_banks[token].operator != _msgSender()) revert NotBankOperator(token, _msgSender());
        _;
    }

    /// @param asset The settlement asset (an ERC-20 only banks hold); its decimals are the tokens'.
    /// @param currency The ISO 4217 code every member's token must carry.
    constructor(IERC20Metadata asset, string memory currency, Mode mode, uint16 haircutBps, address admin, address operator) {
        if (haircutBps > MAX_HAIRCUT_BPS) revert InvalidHaircut(haircutBps);
        if (admin == address(0) || operator == address(0)) revert InvalidOperator();
        _asset = IERC20(address(asset));
        _decimals = asset.decimals();
        _currency = currency;
        _currencyHash = keccak256(bytes(currency));
        _mode = mode;
        _haircutBps = haircutBps;
        _cycle = 1;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(SETTLEMENT_OPERATOR_ROLE, operator);
        emit HaircutSet(haircutBps);
    }

    // ------------------------------------------------------------------ views

    /// @notice The settlement asset.
    function settlementAsset() external view returns (address) {
        return address(_asset);
    }

    /// @notice The ISO 4217 code of the network's currency.
    function currency() external view returns (string memory) {
        return _currency;
    }

    /// @notice How the banks settle ({Mode}).
    function mode() external view returns (Mode) {
        return _mode;
    }

    /// @notice The haircut on collateral, in basis points.
    function haircutBps() external view returns (uint16) {
        return _haircutBps;
    }

    /// @notice The current (open) settlement cycle; the first is 1.
    function cycle() external view returns (uint256) {
        return _cycle;
    }

    /// @notice Collateral taken by early settlements in the open cycle (what the positions sum to).
    function settledEarly() external view returns (uint256) {
        return _settledEarly;
    }

    /// @notice The member banks' tokens, in joining order.
    function members() external view returns (address[] memory) {
        return _members;
    }

    /// @notice What the network records for `token`'s bank (all zero: not a member).
    function bank(address token) external view returns (Bank memory) {
        return _banks[token];
    }

    /// @notice What `token`'s bank may still pay out (net debit it may add) now: its collateral less
    /// the haircut, less its current debit (net mode); its collateral (gross mode).
    function headroom(address token) public view returns (uint256) {
        Bank storage b = _banks[token];
        if (_mode == Mode.Gross) return b.collateral;
        int256 room = _limit(b.collateral).toInt256() + b.position;
        return room > 0 ? uint256(room) : 0;
    }

    /// @notice The collateral of `token`'s bank above what its debit needs (what it may withdraw).
    function freeCollateral(address token) public view returns (uint256) {
        Bank storage b = _banks[token];
        uint256 debit = b.position < 0 ? uint256(-b.position) : 0;
        if (debit == 0) return b.collateral;
        uint256 needed = (debit * 10_000 + (10_000 - _haircutBps) - 1) / (10_000 - _haircutBps); // rounded up
        return b.collateral > needed ? b.collateral - needed : 0;
    }

    /// @notice Whether `paymentId` was used for a payment of this network.
    function isPaymentIdUsed(bytes32 paymentId) external view returns (bool) {
        return _paymentUsed[paymentId];
    }

    /// @notice The EIP-3009 nonce a payer signs for {payWithAuthorization} of `paymentId` to `payee` at `toToken`'s bank.
    function paymentNonce(address toToken, address payee, bytes32 paymentId) public view returns (bytes32) {
        return keccak256(abi.encode(PAYMENT_TYPEHASH, address(this), toToken, payee, paymentId));
    }

    // ------------------------------------------------------------------ membership (admin)

    /// @notice Admits the bank of deposit `token`, run by `operator`. The bank then grants this contract
    /// the minter role with an allowance on its token and allowlists it.
    function join(address token, address operator) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (operator == address(0)) revert InvalidOperator();
        if (_banks[token].operator != address(0)) revert AlreadyMember(token);
        string memory tokenCurrency = IDepositToken(token).currency();
        if (keccak256(bytes(tokenCurrency)) != _currencyHash) revert CurrencyMismatch(token, tokenCurrency);
        uint8 tokenDecimals = IDepositToken(token).decimals();
        if (tokenDecimals != _decimals) revert DecimalsMismatch(token, tokenDecimals);
        _banks[token] = Bank(operator, true, 0, 0);
        _members.push(token);
        emit BankJoined(token, operator);
    }

    /// @notice `token`'s bank is run by `operator` from now on.
    function setBankOperator(address token, address operator) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _member(token);
        if (operator == address(0)) revert InvalidOperator();
        _banks[token].operator = operator;
        emit BankOperatorSet(token, operator);
    }

    /// @notice Suspends (`active` false) or readmits `token`'s bank: a suspended bank neither pays nor is
    /// paid; its position still settles with the cycle and its operator may still manage its collateral.
    function setBankActive(address token, bool active) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _member(token);
        _banks[token].active = active;
        emit BankActiveSet(token, active);
    }

    /// @notice Collateral counts for `haircutBps` / 10,000 less than it holds, for payments and
    /// withdrawals from now on (at most {MAX_HAIRCUT_BPS}).
    function setHaircut(uint16 haircutBps_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (haircutBps_ > MAX_HAIRCUT_BPS) revert InvalidHaircut(haircutBps_);
        _haircutBps = haircutBps_;
        emit HaircutSet(haircutBps_);
    }

    // ------------------------------------------------------------------ collateral

    /// @notice Posts `amount` of the settlement asset from the caller (approved) as collateral of `token`'s bank.
    function postCollateral(address token, uint256 amount) external {
        _member(token);
        if (amount == 0) revert InvalidAmount();
        _banks[token].collateral += amount;
        emit CollateralPosted(token, _msgSender(), amount);
        _asset.safeTransferFrom(_msgSender(), address(this), amount);
    }

    /// @notice Sends `amount` of `token`'s bank's collateral to `to`: only what its debit does not need.
    function withdrawCollateral(address token, uint256 amount, address to) external onlyBankOperator(token) {
        if (amount == 0) revert InvalidAmount();
        uint256 free = freeCollateral(token);
        if (amount > free) revert CollateralLocked(token, free, amount);
        _banks[token].collateral -= amount;
        emit CollateralWithdrawn(token, to, amount);
        _asset.safeTransfer(to, amount);
    }

    /// @notice Net mode: settles `amount` of `token`'s bank's debit now, out of its collateral (its
    /// creditors receive it when the cycle closes).
    function settleEarly(address token, uint256 amount) external onlyBankOperator(token) {
        if (_mode != Mode.Net) revert WrongMode(_mode);
        Bank storage b = _banks[token];
        uint256 debit = b.position < 0 ? uint256(-b.position) : 0;
        if (amount == 0) revert InvalidAmount();
        if (amount > debit) revert SettlementExceedsDebit(token, debit, amount);
        b.collateral -= amount; // debit <= collateral: cannot underflow
        b.position += amount.toInt256();
        _settledEarly += amount;
        emit EarlySettlement(token, amount, _cycle);
    }

    // ------------------------------------------------------------------ payments

    /// @notice Pays `amount` from the caller, a client of `fromToken`'s bank (approved this contract
    /// on `fromToken`), to `payee`, a client of `toToken`'s bank, under `paymentId` (non-zero,
    /// usable once).
    function pay(address fromToken, address toToken, address payee, uint256 amount, bytes32 paymentId) external {
        _record(fromToken, toToken, amount, paymentId);
        IERC20(fromToken).safeTransferFrom(_msgSender(), address(this), amount);
        _settle(fromToken, toToken, _msgSender(), payee, amount, paymentId);
    }

    /// @notice As {pay} for `payer`, who signed an EIP-3009 `receiveWithAuthorization` on
    /// `fromToken` (payee this contract, value `amount`, nonce {paymentNonce}): anyone may submit it.
    function payWithAuthorization(
        address fromToken,
        address toToken,
        address payer,
        address payee,
        uint256 amount,
        bytes32 paymentId,
        uint256 validAfter,
        uint256 validBefore,
        bytes calldata signature
    ) external {
        _record(fromToken, toToken, amount, paymentId);
        _receive(fromToken, payer, amount, paymentNonce(toToken, payee, paymentId), validAfter, validBefore, signature);
        _settle(fromToken, toToken, payer, payee, amount, paymentId);
    }

    /// @notice Closes the cycle (net mode): every bank's collateral changes by its position, the
    /// positions reset, and {CycleSettled} reports each bank's figure. Grows with the banks, not the payments.
    function settleCycle() external onlyRole(SETTLEMENT_OPERATOR_ROLE) {
        if (_mode != Mode.Net) revert WrongMode(_mode);
        uint256 n = _members.length;
        int256[] memory positions = new int256[](n);
        for (uint256 i = 0; i < n; ++i) {
            Bank storage b = _banks[_members[i]];
            int256 position = b.position;
            if (position != 0) {
                positions[i] = position;
                // a debit never exceeds the collateral: the sum stays >= 0
                b.collateral = uint256(b.collateral.toInt256() + position);
                b.position = 0;
            }
        }
        uint256 settled = _cycle;
        _cycle = settled + 1;
        _settledEarly = 0;
        emit CycleSettled(settled, _members, positions);
    }

    // ------------------------------------------------------------------ internals

    function _member(address token) private view returns (Bank storage b) {
        b = _banks[token];
        if (b.operator == address(0)) revert NotAMember(token);
    }

    function _limit(uint256 collateral) private view returns (uint256) {
        return collateral * (10_000 - _haircutBps) / 10_000;
    }

    /// @dev The checks and the books of a payment, before any token moves.
    function _record(address fromToken, address toToken, uint256 amount, bytes32 paymentId) private {
        Bank storage from = _member(fromToken);
        Bank storage to = _member(toToken);
        if (fromToken == toToken) revert SameBank(fromToken);
        if (!from.active) revert BankSuspended(fromToken);
        if (!to.active) revert BankSuspended(toToken);
        if (amount == 0) revert InvalidAmount();
        if (paymentId == bytes32(0)) revert InvalidPaymentId();
        if (_paymentUsed[paymentId]) revert PaymentIdUsed(paymentId);
        _paymentUsed[paymentId] = true;
        if (_mode == Mode.Gross) {
            uint256 available = from.collateral;
            if (available < amount) revert InsufficientCollateral(fromToken, available, amount);
            unchecked {
                from.collateral = available - amount;
            }
            to.collateral += amount;
        } else {
            uint256 room = headroom(fromToken);
            if (amount > room) revert DebitLimitExceeded(fromToken, room, amount);
            int256 signed = amount.toInt256();
            from.position -= signed;
            to.position += signed;
        }
    }

    /// @dev `amount` of `fromToken` from `payer` to here, under the payer's EIP-3009 signature over `nonce`.
    function _receive(
        address fromToken,
        address payer,
        uint256 amount,
        bytes32 nonce,
        uint256 validAfter,
        uint256 validBefore,
        bytes calldata signature
    ) private {
        IDepositToken(fromToken).receiveWithAuthorization(payer, address(this), amount, validAfter, validBefore, nonce, signature);
    }

    /// @dev The tokens of a recorded payment: `amount` of `fromToken` (here) burned, of `toToken` minted to `payee`.
    function _settle(address fromToken, address toToken, address payer, address payee, uint256 amount, bytes32 paymentId)
        private
    {
        IDepositToken(fromToken).burn(amount, paymentId);
        IDepositToken(toToken).mint(payee, amount, paymentId);
        emit InterbankPayment(paymentId, fromToken, toToken, payer, payee, amount, _cycle);
    }
}
