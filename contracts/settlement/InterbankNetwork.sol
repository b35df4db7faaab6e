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
 * or not at all. A payer uses each payment id once in the network. Both burn and mint carry the
 * payment's reference, {paymentReference}(payer, paymentId), as the token's once-only reference too
 * (burn reference at A, deposit reference at B), so no payment can mint twice at a bank, whichever
 * network mints, and both banks book it under one value. Ids are scoped by the payer: nobody can use
 * up, and so block, the ids another payer (an escrow, the PvP contract) derives for its payments.
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
 *
 * Storage (ERC-7201 namespace `deptoken.storage.InterbankNetwork`) is laid out for the payment: a
 * payment reads one word per bank ({Ledger}: membership, collateral and position) and one word of
 * parameters ({Params}: haircut, cycle, early settlements), and writes a new word for its payment id;
 * the bank's operator, read only by the bank's own calls, lives apart. Amounts are narrowed with checks:
 * the network holds at most 2^120 - 1 of the settlement asset ({postCollateral}), which bounds every
 * collateral and position (int128).
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

    /// @dev A member bank's books, in one word: what a payment reads and writes of each bank.
    struct Ledger {
        Status status;
        uint120 collateral; // settlement asset held here for the bank
        int128 position; // > 0 the network owes the bank, < 0 the bank owes the network
    }

    /// @dev Not a member (the zero value), a member that pays and is paid, or a suspended one.
    enum Status {
        None,
        Active,
        Suspended
    }

    /// @dev The network's parameters that every payment reads, in one word.
    struct Params {
        uint16 haircutBps;
        uint64 cycle; // the open settlement cycle; the first is 1
        uint128 settledEarly; // collateral taken by early settlements this cycle; positions sum to it
    }

    /// @custom:storage-location erc7201:deptoken.storage.InterbankNetwork
    struct NetworkStorage {
        mapping(address token => Ledger) ledgers;
        mapping(address token => address) operators;
        mapping(bytes32 paymentReference => uint256) paymentUsed; // 1: used (a word, written without reading it again)
        Params params;
        address[] members;
        string currency;
    }

    // keccak256(abi.encode(uint256(keccak256("deptoken.storage.InterbankNetwork")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant NETWORK_STORAGE = 0xf31a346a36ddbe0dc99c4e132727af1d605f474233f72a5069028c5bf9ea6300;

    IERC20 private immutable _asset;
    Mode private immutable _mode;
    bytes32 private immutable _currencyHash;
    uint8 private immutable _decimals;

    modifier onlyBankOperator(address token) {
        if (_storage().operators[token] != _msgSender()) revert NotBankOperator(token, _msgSender());
        _;
    }

    /// @param asset The settlement asset (an ERC-20 only banks hold); its decimals are the tokens'.
    /// @param currency The ISO 4217 code every member's token must carry.
    constructor(IERC20Metadata asset, string memory currency, Mode mode, uint16 haircutBps, address admin, address operator) {
        if (haircutBps > MAX_HAIRCUT_BPS) revert InvalidHaircut(haircutBps);
        if (admin == address(0) || operator == address(0)) revert InvalidOperator();
        _asset = IERC20(address(asset));
        _decimals = asset.decimals();
        _currencyHash = keccak256(bytes(currency));
        _mode = mode;
        NetworkStorage storage $ = _storage();
        $.currency = currency;
        $.params = Params(haircutBps, 1, 0);
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
        return _storage().currency;
    }

    /// @notice How the banks settle ({Mode}).
    function mode() external view returns (Mode) {
        return _mode;
    }

    /// @notice The haircut on collateral, in basis points.
    function haircutBps() external view returns (uint16) {
        return _storage().params.haircutBps;
    }

    /// @notice The current (open) settlement cycle; the first is 1.
    function cycle() external view returns (uint256) {
        return _storage().params.cycle;
    }

    /// @notice Collateral taken by early settlements in the open cycle (what the positions sum to).
    function settledEarly() external view returns (uint256) {
        return _storage().params.settledEarly;
    }

    /// @notice The member banks' tokens, in joining order.
    function members() external view returns (address[] memory) {
        return _storage().members;
    }

    /// @notice What the network records for `token`'s bank (all zero: not a member).
    function bank(address token) external view returns (Bank memory) {
        NetworkStorage storage $ = _storage();
        Ledger memory l = $.ledgers[token];
        return Bank($.operators[token], l.status == Status.Active, l.position, l.collateral);
    }

    /// @notice What `token`'s bank may still pay out (net debit it may add) now: its collateral less
    /// the haircut, less its current debit (net mode); its collateral (gross mode).
    function headroom(address token) public view returns (uint256) {
        NetworkStorage storage $ = _storage();
        Ledger memory l = $.ledgers[token];
        return _headroom(l.collateral, l.position, $.params.haircutBps);
    }

    /// @notice The collateral of `token`'s bank above what its debit needs (what it may withdraw).
    function freeCollateral(address token) public view returns (uint256) {
        NetworkStorage storage $ = _storage();
        Ledger memory l = $.ledgers[token];
        uint256 debit = l.position < 0 ? uint256(-int256(l.position)) : 0;
        if (debit == 0) return l.collateral;
        uint256 haircut = $.params.haircutBps;
        uint256 needed = (debit * 10_000 + (10_000 - haircut) - 1) / (10_000 - haircut); // rounded up
        return l.collateral > needed ? l.collateral - needed : 0;
    }

    /// @notice Whether `payer` used `paymentId` for a payment of this network.
    function isPaymentIdUsed(address payer, bytes32 paymentId) external view returns (bool) {
        return _storage().paymentUsed[paymentReference(payer, paymentId)] != 0;
    }

    /// @notice The reference of `payer`'s payment `paymentId`: the burn reference at the payer's bank and
    /// the deposit reference at the payee's bank, so both banks book the payment under one value. Scoped
    /// by the payer, so nobody can use up (or block) the ids another payer (an escrow, the PvP contract)
    /// derives for its payments.
    function paymentReference(address payer, bytes32 paymentId) public pure returns (bytes32) {
        return keccak256(abi.encode(payer, paymentId));
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
        NetworkStorage storage $ = _storage();
        if ($.ledgers[token].status != Status.None) revert AlreadyMember(token);
        string memory tokenCurrency = IDepositToken(token).currency();
        if (keccak256(bytes(tokenCurrency)) != _currencyHash) revert CurrencyMismatch(token, tokenCurrency);
        uint8 tokenDecimals = IDepositToken(token).decimals();
        if (tokenDecimals != _decimals) revert DecimalsMismatch(token, tokenDecimals);
        $.ledgers[token] = Ledger(Status.Active, 0, 0);
        $.operators[token] = operator;
        $.members.push(token);
        emit BankJoined(token, operator);
    }

    /// @notice `token`'s bank is run by `operator` from now on.
    function setBankOperator(address token, address operator) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _member(token);
        if (operator == address(0)) revert InvalidOperator();
        _storage().operators[token] = operator;
        emit BankOperatorSet(token, operator);
    }

    /// @notice Suspends (`active` false) or readmits `token`'s bank: a suspended bank neither pays nor is
    /// paid; its position still settles with the cycle and its operator may still manage its collateral.
    function setBankActive(address token, bool active) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _member(token).status = active ? Status.Active : Status.Suspended;
        emit BankActiveSet(token, active);
    }

    /// @notice Collateral counts for `haircutBps` / 10,000 less than it holds, for payments and
    /// withdrawals from now on (at most {MAX_HAIRCUT_BPS}).
    function setHaircut(uint16 haircutBps_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (haircutBps_ > MAX_HAIRCUT_BPS) revert InvalidHaircut(haircutBps_);
        _storage().params.haircutBps = haircutBps_;
        emit HaircutSet(haircutBps_);
    }

    // ------------------------------------------------------------------ collateral

    /// @notice Posts `amount` of the settlement asset from the caller (approved) as collateral of `token`'s bank.
    function postCollateral(address token, uint256 amount) external {
        Ledger storage l = _member(token);
        if (amount == 0) revert InvalidAmount();
        l.collateral = SafeCast.toUint120(l.collateral + amount);
        emit CollateralPosted(token, _msgSender(), amount);
        _asset.safeTransferFrom(_msgSender(), address(this), amount);
        // Every unit of collateral (and of early settlements) is held here, and only this adds to it:
        // while what is held stays within 120 bits, so does any bank's collateral after a cycle
        // credits it, and every position within int128: a cycle cannot fail on a narrowing.
        uint256 held = _asset.balanceOf(address(this));
        if (held > type(uint120).max) revert SafeCast.SafeCastOverflowedUintDowncast(120, held);
    }

    /// @notice Sends `amount` of `token`'s bank's collateral to `to`: only what its debit does not need.
    function withdrawCollateral(address token, uint256 amount, address to) external onlyBankOperator(token) {
        if (amount == 0) revert InvalidAmount();
        uint256 free = freeCollateral(token);
        if (amount > free) revert CollateralLocked(token, free, amount);
        _storage().ledgers[token].collateral -= uint120(amount); // amount <= free <= collateral < 2^120
        emit CollateralWithdrawn(token, to, amount);
        _asset.safeTransfer(to, amount);
    }

    /// @notice Net mode: settles `amount` of `token`'s bank's debit now, out of its collateral (its
    /// creditors receive it when the cycle closes).
    function settleEarly(address token, uint256 amount) external onlyBankOperator(token) {
        if (_mode != Mode.Net) revert WrongMode(_mode);
        NetworkStorage storage $ = _storage();
        Ledger storage l = $.ledgers[token];
        uint256 debit = l.position < 0 ? uint256(-int256(l.position)) : 0;
        if (amount == 0) revert InvalidAmount();
        if (amount > debit) revert SettlementExceedsDebit(token, debit, amount);
        // amount <= debit <= collateral < 2^120: neither narrowing nor the subtraction can fail
        (l.collateral, l.position) = (l.collateral - uint120(amount), l.position + int128(int256(amount)));
        Params storage params = $.params;
        params.settledEarly = SafeCast.toUint128(params.settledEarly + amount);
        emit EarlySettlement(token, amount, params.cycle);
    }

    // ------------------------------------------------------------------ payments

    /// @notice Pays `amount` from the caller, a client of `fromToken`'s bank (approved this contract
    /// on `fromToken`), to `payee`, a client of `toToken`'s bank, under `paymentId` (non-zero,
    /// usable once by the caller).
    function pay(address fromToken, address toToken, address payee, uint256 amount, bytes32 paymentId) external {
        // msg.sender, not _msgSender(): no forwarder here, and slither's arbitrary-send-erc20 check sees it is the payer
        (uint256 openCycle, bytes32 ref) = _record(fromToken, toToken, msg.sender, amount, paymentId);
        IERC20(fromToken).safeTransferFrom(msg.sender, address(this), amount);
        _settle(fromToken, toToken, msg.sender, payee, amount, paymentId, ref, openCycle);
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
        (uint256 openCycle, bytes32 ref) = _record(fromToken, toToken, payer, amount, paymentId);
        _receive(fromToken, payer, amount, paymentNonce(toToken, payee, paymentId), validAfter, validBefore, signature);
        _settle(fromToken, toToken, payer, payee, amount, paymentId, ref, openCycle);
    }

    /// @notice Closes the cycle (net mode): every bank's collateral changes by its position, the
    /// positions reset, and {CycleSettled} reports each bank's figure. Grows with the banks, not the payments.
    function settleCycle() external onlyRole(SETTLEMENT_OPERATOR_ROLE) {
        if (_mode != Mode.Net) revert WrongMode(_mode);
        NetworkStorage storage $ = _storage();
        address[] memory tokens = $.members;
        uint256 n = tokens.length;
        int256[] memory positions = new int256[](n);
        for (uint256 i = 0; i < n; ++i) {
            Ledger storage l = $.ledgers[tokens[i]];
            (uint120 collateral, int128 position) = (l.collateral, l.position);
            if (position != 0) {
                positions[i] = position;
                // a debit never exceeds the collateral: the sum stays >= 0 (and below 2^120 is checked)
                (l.collateral, l.position) = (uint256(int256(uint256(collateral)) + position).toUint120(), 0);
            }
        }
        Params storage params = $.params;
        uint64 settled = params.cycle;
        (params.cycle, params.settledEarly) = (settled + 1, 0);
        emit CycleSettled(settled, tokens, positions);
    }

    // ------------------------------------------------------------------ internals

    function _storage() private pure returns (NetworkStorage storage $) {
        assembly ("memory-safe") {
            $.slot := NETWORK_STORAGE
        }
    }

    function _member(address token) private view returns (Ledger storage l) {
        l = _storage().ledgers[token];
        if (l.status == Status.None) revert NotAMember(token);
    }

    /// @dev What a bank with `collateral` and `position` may still pay out (see {headroom}).
    function _headroom(uint256 collateral, int256 position, uint256 haircut) private view returns (uint256) {
        if (_mode == Mode.Gross) return collateral;
        int256 room = int256(collateral * (10_000 - haircut) / 10_000) + position; // collateral < 2^120
        return room > 0 ? uint256(room) : 0;
    }

    /// @dev The checks and the books of `payer`'s payment, before any token moves; returns the open cycle
    /// and the payment's reference. Reads each bank's ledger and the parameters once, and writes to each
    /// ledger the one field that changes.
    function _record(address fromToken, address toToken, address payer, uint256 amount, bytes32 paymentId)
        private
        returns (uint256 openCycle, bytes32 ref)
    {
        NetworkStorage storage $ = _storage();
        Ledger memory from = $.ledgers[fromToken];
        Ledger memory to = $.ledgers[toToken];
        if (from.status == Status.None) revert NotAMember(fromToken);
        if (to.status == Status.None) revert NotAMember(toToken);
        if (fromToken == toToken) revert SameBank(fromToken);
        if (from.status != Status.Active) revert BankSuspended(fromToken);
        if (to.status != Status.Active) revert BankSuspended(toToken);
        if (amount == 0) revert InvalidAmount();
        if (paymentId == bytes32(0)) revert InvalidPaymentId();
        ref = paymentReference(payer, paymentId);
        if ($.paymentUsed[ref] != 0) revert PaymentIdUsed(payer, paymentId);
        $.paymentUsed[ref] = 1;
        Params memory params = $.params;
        if (_mode == Mode.Gross) {
            if (from.collateral < amount) revert InsufficientCollateral(fromToken, from.collateral, amount);
            $.ledgers[fromToken].collateral = from.collateral - uint120(amount); // amount <= collateral < 2^120
            $.ledgers[toToken].collateral = SafeCast.toUint120(to.collateral + amount);
        } else {
            uint256 room = _headroom(from.collateral, from.position, params.haircutBps);
            if (amount > room) revert DebitLimitExceeded(fromToken, room, amount);
            // amount <= room < 2^120: the narrowing is exact; the positions' int128 bounds are checked
            int128 signed = int128(int256(amount));
            $.ledgers[fromToken].position = from.position - signed;
            $.ledgers[toToken].position = to.position + signed;
        }
        openCycle = params.cycle;
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

    /// @dev The tokens of a recorded payment: `amount` of `fromToken` (here) burned, of `toToken` minted to
    /// `payee`, both under the payment's reference `ref`.
    function _settle(
        address fromToken,
        address toToken,
        address payer,
        address payee,
        uint256 amount,
        bytes32 paymentId,
        bytes32 ref,
        uint256 openCycle
    ) private {
        IDepositToken(fromToken).burn(amount, ref);
        IDepositToken(toToken).mint(payee, amount, ref);
        emit InterbankPayment(paymentId, fromToken, toToken, payer, payee, amount, openCycle);
    }
}
