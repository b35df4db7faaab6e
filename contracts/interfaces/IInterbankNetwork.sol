// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title IInterbankNetwork
 * @notice Payments between clients of different banks, each bank with its own deposit token in the
 * network's currency, and the banks' settlement with each other in a settlement asset (see
 * {InterbankNetwork}). Its events and errors, as others decode them, and the two functions a
 * contract paying through the network calls ({bank}, {pay}).
 */
interface IInterbankNetwork {
    /// @notice How the banks settle: `Net` at the end of a cycle (multilateral net positions, backed
    /// by collateral), or `Gross` with every payment (collateral moves payment by payment).
    enum Mode {
        Net,
        Gross
    }

    /// @notice A bank as the network records it, by its deposit token.
    struct Bank {
        address operator; // the bank's own account: withdraws collateral, settles early
        bool active; // a suspended bank neither pays nor is paid; it still settles
        int256 position; // minor units: > 0 the network owes the bank, < 0 the bank owes the network
        uint256 collateral; // settlement asset held here for the bank
    }

    /// @notice `token`'s bank joined, run by `operator`.
    event BankJoined(address indexed token, address indexed operator);
    /// @notice `token`'s bank is now run by `operator`.
    event BankOperatorSet(address indexed token, address indexed operator);
    /// @notice `token`'s bank may (`active`) or may not pay and be paid.
    event BankActiveSet(address indexed token, bool active);
    /// @notice Collateral counts for `haircutBps` / 10,000 less than it holds, from now on.
    event HaircutSet(uint16 haircutBps);
    /// @notice `from` posted `amount` of the settlement asset as collateral of `token`'s bank.
    event CollateralPosted(address indexed token, address indexed from, uint256 amount);
    /// @notice `amount` of `token`'s bank's collateral went to `to`.
    event CollateralWithdrawn(address indexed token, address indexed to, uint256 amount);
    /// @notice `payer`, a client of `fromToken`'s bank, paid `payee`, a client of `toToken`'s bank:
    /// `amount` of `fromToken` burned, `amount` of `toToken` minted, both under the token reference
    /// `paymentReference(payer, paymentId)`; in cycle `cycle` (net mode), or with `amount` of collateral
    /// moved at once (gross mode).
    event InterbankPayment(
        bytes32 indexed paymentId,
        address indexed fromToken,
        address indexed toToken,
        address payer,
        address payee,
        uint256 amount,
        uint256 cycle
    );
    /// @notice `token`'s bank settled `amount` of its debit early, out of its collateral.
    event EarlySettlement(address indexed token, uint256 amount, uint256 cycle);
    /// @notice Cycle `cycle` settled: each `tokens[i]`'s bank's collateral changed by `positions[i]`.
    event CycleSettled(uint256 indexed cycle, address[] tokens, int256[] positions);

    error NotAMember(address token);
    error AlreadyMember(address token);
    error BankSuspended(address token);
    error NotBankOperator(address token, address caller);
    error CurrencyMismatch(address token, string currency);
    error DecimalsMismatch(address token, uint8 decimals);
    error InvalidOperator();
    error InvalidHaircut(uint16 haircutBps);
    error InvalidAmount();
    error InvalidPaymentId();
    /// @notice `payer` used `paymentId` for a payment of this network already.
    error PaymentIdUsed(address payer, bytes32 paymentId);
    error SameBank(address token);
    /// @notice The payment would take `token`'s bank's net debit past what its collateral backs:
    /// `headroom` more could be paid now.
    error DebitLimitExceeded(address token, uint256 headroom, uint256 amount);
    /// @notice Gross mode: `token`'s bank holds `available` collateral, less than the payment's `amount`.
    error InsufficientCollateral(address token, uint256 available, uint256 amount);
    /// @notice Only `free` of `token`'s bank's collateral is above what its debit needs.
    error CollateralLocked(address token, uint256 free, uint256 amount);
    /// @notice Early settlement of more than `token`'s bank owes (`debit`).
    error SettlementExceedsDebit(address token, uint256 debit, uint256 amount);
    error WrongMode(Mode mode);

    /// @notice What the network records for `token`'s bank (all zero: not a member).
    function bank(address token) external view returns (Bank memory);

    /// @notice Pays `amount` from the caller, a client of `fromToken`'s bank (approved this contract
    /// on `fromToken`), to `payee`, a client of `toToken`'s bank, under `paymentId` (non-zero,
    /// usable once).
    function pay(address fromToken, address toToken, address payee, uint256 amount, bytes32 paymentId) external;
}
