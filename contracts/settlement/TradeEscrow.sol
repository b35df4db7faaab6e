// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {IERC3009Bytes} from "../interfaces/IERC3009Bytes.sol";
import {IERC7943Fungible} from "../interfaces/IERC7943Fungible.sol";
import {IInterbankNetwork} from "../interfaces/IInterbankNetwork.sol";
import {BankControlledPositions} from "./BankControlledPositions.sol";

/// @notice What the escrow uses of the interbank network ({InterbankNetwork}): a payment and a member's record.
interface IInterbankPayments {
    /// @notice Pays `amount` of the caller's `fromToken` (approved) to `payee` at `toToken`'s bank under `paymentId`.
    function pay(address fromToken, address toToken, address payee, uint256 amount, bytes32 paymentId) external;
    /// @notice The network's record of `token`'s bank (operator zero: not a member).
    function bank(address token) external view returns (IInterbankNetwork.Bank memory);
}

/**
 * @title TradeEscrow
 * @notice Order protection for marketplace payments in one deposit token (`token`). The buyer funds an
 * order ({fund} after an approval, or {fundWithAuthorization}: one EIP-3009 signature whose nonce is
 * the order's key); the seller marks it shipped by the ship-by time ({ship}); the buyer confirms
 * receipt ({confirm}) or the confirm window passes ({release}, anyone) and the seller is paid, less
 * the marketplace fee; an order not shipped in time is refunded in full ({refund}, anyone). While its
 * clock runs (until the ship-by time, or the confirm deadline once shipped) either party may open a
 * dispute ({dispute}), which stops the clock; an arbiter (`ARBITER_ROLE`) then splits the funds
 * ({resolve}). Every order ends in exactly one of Released, Refunded, Resolved or Seized, and its funds
 * leave the escrow exactly once; {outstanding}(`token`) is always the sum of the open orders' amounts.
 *
 * Order keys: an order is identified by its key, {orderKey}(terms), the EIP-712 struct hash of its
 * full terms (escrow, the marketplace's `orderId`, buyer, seller, amount, ship-by time, confirm
 * window), which is also the EIP-3009 nonce the buyer signs. Only the buyer can open an order with
 * itself as buyer ({fund} by the buyer, or its signature), so nobody can take the key of another
 * buyer's order; the marketplace's `orderId` is a reference only (several orders may carry the same
 * one, e.g. a squatter's). **Before shipping**, the seller (or the marketplace) computes the key from
 * the terms it agreed to and checks that `order(key)` is Funded: that one check proves the amount,
 * buyer, seller and deadlines. Checking an `orderId` and a state proves nothing.
 *
 * Fees: the fee is `feeBps` (at most {MAX_FEE_BPS}) of the gross amount paid to the seller side,
 * rounded down: the seller receives the rest. E.g. an order of 125.50 at 150 bps released to the
 * seller: fee 1.88 (12,550 * 150 / 10,000 = 188.25 minor units, rounded down), seller 123.62. In a
 * split, the fee is taken on the seller's part only. The rate is fixed for each order when it is
 * funded; every fee goes to the recipient of the moment it is paid. Refunds and the buyer's part of a
 * split carry no fee. The fee recipient can be neither this escrow nor the token, and must be able to
 * receive at its bank (`token`, or its {feePayoutToken}) when it is set.
 *
 * Deployment: the bank must allowlist this contract on `token` (COMPLIANCE_ROLE:
 * `allowlist(escrow, kycExpiry)`) before the first order, and keep its entry current. The fee
 * recipient and an arbiter must be allowlisted *before* they are set (constructor, {setFee},
 * `grantRole`): the escrow checks that they can receive (ERC-7943 `canReceive`). The admin is
 * two-step with a delay (OpenZeppelin `AccessControlDefaultAdminRules`), and is never an arbiter.
 *
 * The bank's controls, per order (see {BankControlledPositions}): the token's legal role may close
 * one order by {seizeOrder} (its exact amount to an account it names, final state Seized) and, after a
 * lost-key recovery, move its buyer or seller to the replacement address ({replaceParty}). A
 * token-level seizure (`forcedTransfer`/`seize`) of the escrow's balance is not the way: it takes
 * from the pool, the seized order still runs and is paid out of other orders' funds, and the books
 * ({outstanding} against the balance) no longer match. Tokens sent here outside any order can be
 * rescued by the legal role ({rescueExcess}, only what exceeds {outstanding}).
 *
 * Sanctions: a party the token restricts (ERC-7943 `canSend` false: not allowlisted, expired, or
 * frozen) cannot act on an order, and its money does not move through the escrow to anyone else.
 * Who must be active (reverts {PartyRestricted} otherwise):
 *
 * | action                     | must be active                                              |
 * |----------------------------|-------------------------------------------------------------|
 * | fund, fundWithAuthorization| the buyer (checked by the token's own transfer)             |
 * | ship                       | the seller (at its payout bank, {payoutToken})              |
 * | confirm                    | the buyer (caller; its money goes to the seller)            |
 * | release                    | the buyer (its money goes to the seller)                    |
 * | refund                     | nobody: the money goes back to its owner (token's receive check) |
 * | dispute                    | the caller (buyer; seller at its payout bank)               |
 * | resolve                    | the buyer, if any of the amount goes to the seller side     |
 * | seizeOrder, replaceParty   | the token's legal role decides (replacement: active; a seller's at its payout bank) |
 *
 * Every payee is also checked by the token itself: while the party to be paid (or the fee
 * recipient) cannot receive, or the token is paused, the payout reverts and the order is unchanged.
 *
 * Sellers at other banks: the admin connects the escrow to an interbank network in its currency
 * ({setNetwork}; `token`'s bank a member). A seller that banks at another member bank names that
 * bank's token as its payout token ({setPayoutToken}); the admin does the same for the fee recipient
 * ({setFeeRecipient}). Their payouts then go through the network in the same transaction: the escrow
 * approves the network for exactly the amount and calls `pay(token, payoutToken, payee, amount,
 * paymentId)`, so `token` is burned here and the payout token minted to the payee at its bank, with
 * the payment id {payoutIds}: `keccak256(abi.encode(orderKey, "seller"))` (or `"fee"`), usable once
 * in the network ({CrossBankPayout} reports it). Such a seller must be active at its payout bank
 * where the table above says "seller"; if the network refuses (the seller or that bank restricted or
 * suspended, the debit limit, a paused token), the payout reverts and the order is unchanged: it can
 * be paid later, or after the seller names another bank. The escrow must be allowlisted at `token`
 * (it pays), the network at `token` and as a minter at the payout bank (the banks' membership).
 * A seller or fee recipient without a payout token (or with `token`) is paid by a plain transfer.
 */
contract TradeEscrow is AccessControlDefaultAdminRules, BankControlledPositions {
    using SafeERC20 for IERC20;

    /// @notice The life of an order; Released, Refunded, Resolved and Seized are final.
    enum State {
        None,
        Funded,
        Shipped,
        Disputed,
        Released,
        Refunded,
        Resolved,
        Seized
    }

    /// @notice What the buyer agrees to pay for; their hash is the order's key ({orderKey}), which the
    /// buyer signs as the EIP-3009 nonce in {fundWithAuthorization}.
    struct OrderTerms {
        bytes32 orderId; // the marketplace's reference (non-zero; not unique: the key is)
        address buyer;
        address seller;
        uint256 amount; // minor units of `token`
        uint64 shipBy; // unix seconds: the seller ships at the latest then
        uint64 confirmWindow; // seconds the buyer has to confirm (or dispute) after shipment
    }

    /// @notice An order as recorded (three storage slots).
    struct Order {
        address buyer;
        uint64 shipBy;
        uint16 feeBps; // the fee rate when it was funded
        State state;
        address seller;
        uint64 confirmWindow;
        uint128 amount;
        uint64 confirmDeadline; // set by {ship}: released to the seller after this time
    }

    /// @notice May split the funds of disputed orders.
    bytes32 public constant ARBITER_ROLE = keccak256("ARBITER_ROLE");

    /// @notice The highest fee rate: 10% (basis points).
    uint16 public constant MAX_FEE_BPS = 1000;

    /// @notice The EIP-712 struct type whose hash, with this escrow's address, is the order key (and EIP-3009 nonce).
    bytes32 public constant ORDER_TERMS_TYPEHASH = keccak256(
        "OrderTerms(address escrow,bytes32 orderId,address buyer,address seller,uint256 amount,uint64 shipBy,uint64 confirmWindow)"
    );

    uint256 private constant BPS = 10_000;

    /// @notice The deposit token this escrow holds.
    IERC20 public immutable token;

    /// @notice Who receives the fees.
    address public feeRecipient;

    /// @notice The fee rate of orders funded from now on, in basis points of what the seller receives.
    uint16 public feeBps;

    mapping(bytes32 orderKey => Order) private _orders;

    /// @notice The interbank network cross-bank payouts go through (zero: none).
    IInterbankPayments public network;

    mapping(address account => address payoutToken) private _payoutTokens; // zero: `token`

    address private _feePayoutToken; // zero: `token`

    /// @notice The buyer funded the order `orderKey` (the marketplace's reference `orderId`) with
    /// `amount`; `feeBps` applies to it.
    event OrderFunded(
        bytes32 indexed orderKey,
        bytes32 indexed orderId,
        address indexed seller,
        address buyer,
        uint256 amount,
        uint64 shipBy,
        uint64 confirmWindow,
        uint16 feeBps
    );

    /// @notice The seller shipped under `shipmentRef`; the buyer may confirm or dispute until `confirmDeadline`.
    event OrderShipped(bytes32 indexed orderKey, bytes32 shipmentRef, uint64 confirmDeadline);

    /// @notice The seller was paid `sellerAmount` and the fee recipient `fee`, on the buyer's
    /// confirmation (`confirmed`) or after the confirm deadline.
    event OrderReleased(bytes32 indexed orderKey, uint256 sellerAmount, uint256 fee, bool confirmed);

    /// @notice The order was not shipped in time: the buyer got `amount` back.
    event OrderRefunded(bytes32 indexed orderKey, uint256 amount);

    /// @notice `party` (buyer or seller) disputed the order; `reasonHash` points to its statement.
    event OrderDisputed(bytes32 indexed orderKey, address indexed party, bytes32 reasonHash);

    /// @notice `arbiter` split the disputed order: `buyerAmount` to the buyer, `sellerAmount` to the
    /// seller, `fee` to the fee recipient.
    event OrderResolved(
        bytes32 indexed orderKey, address indexed arbiter, uint256 buyerAmount, uint256 sellerAmount, uint256 fee
    );

    /// @notice Orders funded from now on pay `feeBps` to `feeRecipient` (funded orders keep their rate;
    /// every fee goes to the recipient of the moment it is paid).
    event FeeUpdated(address indexed feeRecipient, uint16 feeBps);

    /// @notice The admin connected the escrow to the interbank network `network` (zero: cross-bank payouts off).
    event NetworkSet(address indexed network);

    /// @notice The seller `account` is paid at the bank of `payoutToken` from now on (`token`: by plain transfer).
    event PayoutTokenSet(address indexed account, address indexed payoutToken);

    /// @notice Fees go to `feeRecipient` at the bank of `payoutToken` from now on (`token`: by plain transfer).
    event FeePayoutTokenSet(address indexed feeRecipient, address indexed payoutToken);

    /// @notice `amount` of the order `orderKey` went to `payee` at `payoutToken`'s bank through the
    /// network under `paymentId` (the seller's or the fee).
    event CrossBankPayout(
        bytes32 indexed orderKey, bytes32 indexed paymentId, address indexed payee, address payoutToken, uint256 amount
    );

    /// @notice The token's legal role (`by`) closed the order under `legalOrderRef`: its `amount` went to `to`.
    event OrderSeized(
        bytes32 indexed orderKey, address indexed to, uint256 amount, bytes32 legalOrderRef, address indexed by
    );

    /// @notice The token's legal role moved the order's party `lost` (buyer or seller) to `replacement`.
    event PartyReplaced(bytes32 indexed orderKey, address indexed lost, address indexed replacement);

    /// @notice A zero address where an account or the token is needed.
    error ZeroAddress();

    /// @notice The fee rate is above {MAX_FEE_BPS}.
    error FeeTooHigh(uint16 feeBps, uint16 maxFeeBps);

    /// @notice Order ids must be non-zero.
    error InvalidOrderId();

    /// @notice An order with these terms (this key) was funded before: each key is used once.
    error OrderExists(bytes32 orderKey);

    /// @notice No order has this key.
    error UnknownOrder(bytes32 orderKey);

    /// @notice Buyer and seller must be distinct accounts other than this escrow.
    error InvalidParties(address buyer, address seller);

    /// @notice The amount must be non-zero and fit in 128 bits (the deposit token's supply cap).
    error InvalidAmount(uint256 amount);

    /// @notice The ship-by time must be in the future when the order is funded.
    error ShipByNotInFuture(uint64 shipBy);

    /// @notice The confirm window must be non-zero, and the ship-by time plus the window must fit in 64 bits.
    error InvalidConfirmWindow(uint64 confirmWindow);

    /// @notice Only the order's buyer may do this.
    error CallerNotBuyer(address caller, address buyer);

    /// @notice Only the order's seller may do this.
    error CallerNotSeller(address caller, address seller);

    /// @notice Only the order's buyer or seller may do this.
    error CallerNotParty(address caller);

    /// @notice The order is not in a state that allows this.
    error InvalidOrderState(bytes32 orderKey, State state);

    /// @notice Too late: the order's current deadline passed.
    error DeadlinePassed(bytes32 orderKey, uint64 deadline);

    /// @notice Too early: the order's current deadline has not passed yet.
    error DeadlineNotPassed(bytes32 orderKey, uint64 deadline);

    /// @notice Shipment references must be non-zero.
    error InvalidShipmentRef();

    /// @notice The buyer's part exceeds the order's amount.
    error InvalidSplit(uint256 buyerAmount, uint256 amount);

    /// @notice The fee recipient can be neither this escrow nor the token.
    error InvalidFeeRecipient(address account);

    /// @notice The token does not let `account` receive (ERC-7943 `canReceive`): allowlist it first.
    error CannotReceive(address account);

    /// @notice The arbiter can be neither the default admin nor this escrow (and the admin no arbiter).
    error InvalidArbiter(address account);

    /// @notice `account` is neither the buyer nor the seller of the order.
    error NotOrderParty(bytes32 orderKey, address account);

    /// @notice The escrow has no interbank network ({setNetwork}): no payout at another bank.
    error NetworkNotSet();

    /// @notice `account` has no code: the network must be a contract.
    error NotAContract(address account);

    /// @notice `token_` is not a member of the escrow's interbank network.
    error NotANetworkMember(address token_);

    /// @notice Sets up the escrow of `token_`.
    /// @param token_ The deposit token (its proxy).
    /// @param admin Holds DEFAULT_ADMIN_ROLE (two-step transfers, `adminDelay`): appoints arbiters, sets the fee.
    /// @param adminDelay Seconds a transfer of the admin role waits before it can be accepted.
    /// @param arbiter Receives ARBITER_ROLE; zero: none yet. Not the admin; must be able to receive the token.
    /// @param feeRecipient_ Receives the fees: neither this escrow nor the token; must be able to receive the token.
    /// @param feeBps_ The fee rate, at most {MAX_FEE_BPS}.
    constructor(IERC20 token_, address admin, uint48 adminDelay, address arbiter, address feeRecipient_, uint16 feeBps_)
        AccessControlDefaultAdminRules(adminDelay, admin)
    {
        if (address(token_) == address(0)) revert ZeroAddress();
        token = token_;
        if (arbiter != address(0)) _grantRole(ARBITER_ROLE, arbiter);
        _setFee(feeRecipient_, feeBps_);
    }

    // ------------------------------------------------------------------ funding

    /// @notice The buyer (the caller) funds a new order; the escrow takes `terms.amount` from the buyer
    /// with `transferFrom` (approve it first; the escrow must be allowlisted on the token).
    /// @param terms The order: the marketplace's reference, buyer (the caller), seller, amount, ship-by
    /// time, confirm window. Its key is {orderKey}(`terms`).
    function fund(OrderTerms calldata terms) external nonReentrant {
        if (msg.sender != terms.buyer) revert CallerNotBuyer(msg.sender, terms.buyer);
        _open(terms);
        token.safeTransferFrom(msg.sender, address(this), terms.amount); // the buyer's own funds
    }

    /// @notice Funds a new order with the buyer's EIP-3009 `ReceiveWithAuthorization` signature (any
    /// submitter, e.g. the marketplace): payee this escrow, value `terms.amount`, nonce
    /// {orderKey}(`terms`), so the signature funds this order and no other. ERC-1271 buyers work.
    /// @param terms The order the buyer signed for.
    /// @param validAfter The authorization is valid after this time (unix seconds).
    /// @param validBefore The authorization is valid before this time.
    /// @param signature The buyer's signature (65 bytes, or what its ERC-1271 wallet accepts).
    function fundWithAuthorization(
        OrderTerms calldata terms,
        uint256 validAfter,
        uint256 validBefore,
        bytes calldata signature
    ) external nonReentrant {
        bytes32 key = _open(terms);
        IERC3009Bytes(address(token)).receiveWithAuthorization(
            terms.buyer, address(this), terms.amount, validAfter, validBefore, key, signature
        );
    }

    /// @notice The key of the order with `terms` here, which is also the EIP-3009 nonce its buyer signs:
    /// the EIP-712 struct hash of
    /// `OrderTerms(address escrow,bytes32 orderId,address buyer,address seller,uint256 amount,uint64 shipBy,uint64 confirmWindow)`.
    /// Integrators compute it from the terms agreed and check that `order(key)` is Funded before shipping.
    /// @param terms The order.
    function orderKey(OrderTerms calldata terms) public view returns (bytes32) {
        return keccak256(
            abi.encode(
                ORDER_TERMS_TYPEHASH,
                address(this),
                terms.orderId,
                terms.buyer,
                terms.seller,
                terms.amount,
                terms.shipBy,
                terms.confirmWindow
            )
        );
    }

    // ------------------------------------------------------------------ the order's course

    /// @notice The seller (active at its payout bank, {payoutToken}) marks the order shipped, at the latest at its ship-by
    /// time; the buyer then has the confirm window to confirm or dispute.
    /// @param key The order's key.
    /// @param shipmentRef The shipment's reference (e.g. the hash of the carrier's tracking number), non-zero.
    function ship(bytes32 key, bytes32 shipmentRef) external {
        Order storage o = _existing(key);
        if (msg.sender != o.seller) revert CallerNotSeller(msg.sender, o.seller);
        if (o.state != State.Funded) revert InvalidOrderState(key, o.state);
        if (block.timestamp > o.shipBy) revert DeadlinePassed(key, o.shipBy);
        if (shipmentRef == bytes32(0)) revert InvalidShipmentRef();
        _requireActive(payoutToken(msg.sender), msg.sender); // active where it is paid
        // cannot overflow: now <= shipBy and shipBy + confirmWindow fits in 64 bits (checked at funding)
        uint64 confirmDeadline = uint64(block.timestamp) + o.confirmWindow;
        o.state = State.Shipped;
        o.confirmDeadline = confirmDeadline;
        emit OrderShipped(key, shipmentRef, confirmDeadline);
    }

    /// @notice The buyer (active on the token) confirms receipt: the seller is paid (less the fee).
    /// @dev Reverts, changing nothing, while the token refuses the payout (see the contract notes).
    /// @param key A shipped order's key.
    function confirm(bytes32 key) external nonReentrant {
        Order storage o = _existing(key);
        if (msg.sender != o.buyer) revert CallerNotBuyer(msg.sender, o.buyer);
        if (o.state != State.Shipped) revert InvalidOrderState(key, o.state);
        _release(key, o, true);
    }

    /// @notice Anyone pays the seller (less the fee) once the confirm deadline of a shipped order
    /// passed, if the buyer is active on the token (its money moves).
    /// @dev Reverts, changing nothing, while the token refuses the payout (see the contract notes).
    /// @param key A shipped order's key.
    function release(bytes32 key) external nonReentrant {
        Order storage o = _existing(key);
        if (o.state != State.Shipped) revert InvalidOrderState(key, o.state);
        if (block.timestamp <= o.confirmDeadline) revert DeadlineNotPassed(key, o.confirmDeadline);
        _release(key, o, false);
    }

    /// @notice Anyone refunds the buyer in full once the ship-by time of an unshipped order passed.
    /// @dev Reverts, changing nothing, while the token refuses the payout (see the contract notes).
    /// @param key A funded, unshipped, undisputed order's key.
    function refund(bytes32 key) external nonReentrant {
        Order storage o = _existing(key);
        if (o.state != State.Funded) revert InvalidOrderState(key, o.state);
        if (block.timestamp <= o.shipBy) revert DeadlineNotPassed(key, o.shipBy);
        o.state = State.Refunded;
        uint256 amount = o.amount;
        _settle(address(token), amount);
        emit OrderRefunded(key, amount);
        token.safeTransfer(o.buyer, amount);
    }

    /// @notice The buyer (active on the token) or the seller (active at its payout bank) disputes the order while its clock runs
    /// (funded: until the ship-by time; shipped: until the confirm deadline). The clock stops; an
    /// arbiter decides.
    /// @param key A funded or shipped order's key.
    /// @param reasonHash The hash of the party's statement (may be zero).
    function dispute(bytes32 key, bytes32 reasonHash) external {
        Order storage o = _existing(key);
        if (msg.sender != o.buyer && msg.sender != o.seller) revert CallerNotParty(msg.sender);
        State state = o.state;
        if (state != State.Funded && state != State.Shipped) revert InvalidOrderState(key, state);
        uint64 deadline = state == State.Funded ? o.shipBy : o.confirmDeadline;
        if (block.timestamp > deadline) revert DeadlinePassed(key, deadline);
        _requireActive(msg.sender == o.buyer ? address(token) : payoutToken(msg.sender), msg.sender);
        o.state = State.Disputed;
        emit OrderDisputed(key, msg.sender, reasonHash);
    }

    /// @notice An arbiter splits a disputed order: `buyerAmount` back to the buyer, the rest to the
    /// seller (less the fee on the seller's part). If any of it goes to the seller side, the buyer must
    /// be active on the token (its money moves).
    /// @dev Reverts, changing nothing, while the token refuses a payout (see the contract notes).
    /// @param key A disputed order's key.
    /// @param buyerAmount The buyer's part, at most the order's amount.
    function resolve(bytes32 key, uint256 buyerAmount) external onlyRole(ARBITER_ROLE) nonReentrant {
        Order storage o = _existing(key);
        if (o.state != State.Disputed) revert InvalidOrderState(key, o.state);
        uint256 amount = o.amount;
        if (buyerAmount > amount) revert InvalidSplit(buyerAmount, amount);
        if (buyerAmount != amount) _requireActive(address(token), o.buyer);
        o.state = State.Resolved;
        _settle(address(token), amount);
        (uint256 sellerAmount, uint256 fee) = _sellerShare(amount - buyerAmount, o.feeBps);
        emit OrderResolved(key, msg.sender, buyerAmount, sellerAmount, fee);
        if (buyerAmount != 0) token.safeTransfer(o.buyer, buyerAmount);
        _paySeller(key, o.seller, sellerAmount, fee);
    }

    // ------------------------------------------------------------------ the bank's legal powers

    /// @notice The legal exit of one order: the token's legal role sends the order's whole amount to
    /// `to` and closes it (Seized). Other orders are untouched; {outstanding} falls by the amount.
    /// @param key A funded, shipped or disputed order's key.
    /// @param to Who receives the funds (non-zero, not this escrow; the token checks it can receive).
    /// @param legalOrderRef The court or authority order's reference, non-zero.
    function seizeOrder(bytes32 key, address to, bytes32 legalOrderRef) external nonReentrant {
        _checkLegalExit(address(token), to, legalOrderRef);
        Order storage o = _existing(key);
        State state = o.state;
        if (state != State.Funded && state != State.Shipped && state != State.Disputed) {
            revert InvalidOrderState(key, state);
        }
        o.state = State.Seized;
        uint256 amount = o.amount;
        _settle(address(token), amount);
        emit OrderSeized(key, to, amount, legalOrderRef, msg.sender);
        token.safeTransfer(to, amount);
    }

    /// @notice After a lost-key recovery on the token, its legal role moves the open order's buyer or
    /// seller `lost` to `replacement` (not the other party; active on the token, or for a seller at
    /// its own payout bank: a replacement seller at another bank calls {setPayoutToken} first).
    /// @param key A funded, shipped or disputed order's key.
    /// @param lost The order's buyer or seller to replace.
    /// @param replacement The new address of that party.
    function replaceParty(bytes32 key, address lost, address replacement) external {
        _checkTokenLegalRole(address(token));
        if (replacement == address(0) || replacement == address(this)) revert InvalidBeneficiary(replacement);
        Order storage o = _existing(key);
        State state = o.state;
        if (state != State.Funded && state != State.Shipped && state != State.Disputed) {
            revert InvalidOrderState(key, state);
        }
        bool seller = lost == o.seller;
        if (lost != o.buyer && !seller) revert NotOrderParty(key, lost);
        // a seller's replacement is active where it is paid (it names its payout bank first)
        if (!_isActive(seller ? payoutToken(replacement) : address(token), replacement)) {
            revert InvalidBeneficiary(replacement);
        }
        if (!seller) {
            if (replacement == o.seller) revert InvalidParties(replacement, o.seller);
            o.buyer = replacement;
        } else {
            if (replacement == o.buyer) revert InvalidParties(o.buyer, replacement);
            o.seller = replacement;
        }
        emit PartyReplaced(key, lost, replacement);
    }

    // ------------------------------------------------------------------ administration

    /// @notice Sets the fee recipient and the rate of orders funded from now on.
    /// @param feeRecipient_ Receives every fee paid from now on: non-zero, neither this escrow nor the
    /// token, able to receive at the fee recipient's bank ({feePayoutToken}; allowlist it first).
    /// @param feeBps_ Basis points of the gross amount paid to the seller side, at most {MAX_FEE_BPS}.
    function setFee(address feeRecipient_, uint16 feeBps_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setFee(feeRecipient_, feeBps_);
    }

    /// @notice Moves the fees to `feeRecipient_` at the bank of `payoutToken_` (the rate stays): a
    /// member of the network in another bank pays them there, `token` (or zero) by plain transfer.
    /// @param feeRecipient_ Receives every fee paid from now on: neither this escrow nor the token,
    /// able to receive `payoutToken_`.
    /// @param payoutToken_ The fee recipient's bank's token: `token`/zero, or a member of {network}.
    function setFeeRecipient(address feeRecipient_, address payoutToken_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _feePayoutToken = _checkPayoutToken(payoutToken_);
        emit FeePayoutTokenSet(feeRecipient_, payoutToken_ == address(0) ? address(token) : payoutToken_);
        _setFee(feeRecipient_, feeBps);
    }

    /// @notice Connects the escrow to the interbank network `network_` for payouts at other banks, or
    /// disconnects it (zero: payouts at other banks revert with {NetworkNotSet} until one is set).
    /// Payout tokens named before stay: a payout to one that is no member of the new network reverts
    /// (the order waits) until its seller (or the admin, for the fees) names another.
    /// @param network_ An {InterbankNetwork} (a contract) of which `token`'s bank is a member, or zero.
    function setNetwork(address network_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (network_ != address(0)) {
            if (network_.code.length == 0) revert NotAContract(network_);
            if (IInterbankPayments(network_).bank(address(token)).operator == address(0)) {
                revert NotANetworkMember(address(token));
            }
        }
        network = IInterbankPayments(network_);
        emit NetworkSet(network_);
    }

    /// @notice The caller (a seller) is paid at the bank of `payoutToken_` from now on, on every order
    /// paid out after this (open ones too): another member bank of {network} pays through the network;
    /// `token` or zero is a plain transfer here.
    /// @param payoutToken_ `token`/zero, or a member of {network} at which the caller can receive.
    function setPayoutToken(address payoutToken_) external {
        _payoutTokens[msg.sender] = _checkPayoutToken(payoutToken_);
        if (payoutToken_ != address(0) && payoutToken_ != address(token)) _requireCanReceive(payoutToken_, msg.sender);
        emit PayoutTokenSet(msg.sender, payoutToken_ == address(0) ? address(token) : payoutToken_);
    }

    // ------------------------------------------------------------------ views

    /// @notice The token `account` is paid in as a seller: its bank's ({setPayoutToken}), else `token`.
    /// @param account A seller.
    function payoutToken(address account) public view returns (address) {
        address t = _payoutTokens[account];
        return t == address(0) ? address(token) : t;
    }

    /// @notice The token the fee recipient is paid in ({setFeeRecipient}; `token` unless at another bank).
    function feePayoutToken() public view returns (address) {
        address t = _feePayoutToken;
        return t == address(0) ? address(token) : t;
    }

    /// @notice The network payment ids of the order `key`'s payouts at other banks: the seller's
    /// `keccak256(abi.encode(key, "seller"))` and the fee's `keccak256(abi.encode(key, "fee"))`.
    /// @param key The order's key.
    function payoutIds(bytes32 key) external pure returns (bytes32 sellerPaymentId, bytes32 feePaymentId) {
        return (keccak256(abi.encode(key, "seller")), keccak256(abi.encode(key, "fee")));
    }

    /// @notice The order with key `key` as recorded (state None: no such order).
    /// @param key The order's key ({orderKey} of its terms).
    function order(bytes32 key) external view returns (Order memory) {
        return _orders[key];
    }

    // ------------------------------------------------------------------ internals

    /// @dev ARBITER_ROLE goes neither to the default admin nor to this escrow, and only to an account
    /// that can receive the token.
    function _grantRole(bytes32 role, address account) internal override returns (bool) {
        if (role == ARBITER_ROLE) {
            if (account == address(this) || account == defaultAdmin()) revert InvalidArbiter(account);
            _requireCanReceive(address(token), account);
        }
        return super._grantRole(role, account);
    }

    /// @dev The admin role is not handed to an arbiter.
    function _beginDefaultAdminTransfer(address newAdmin) internal override {
        if (hasRole(ARBITER_ROLE, newAdmin)) revert InvalidArbiter(newAdmin);
        super._beginDefaultAdminTransfer(newAdmin);
    }

    function _open(OrderTerms calldata t) private returns (bytes32 key) {
        if (t.orderId == bytes32(0)) revert InvalidOrderId();
        key = orderKey(t);
        if (_orders[key].state != State.None) revert OrderExists(key);
        if (
            t.buyer == address(0) || t.seller == address(0) || t.buyer == t.seller || t.buyer == address(this)
                || t.seller == address(this)
        ) revert InvalidParties(t.buyer, t.seller);
        if (t.amount == 0 || t.amount > type(uint128).max) revert InvalidAmount(t.amount);
        if (t.shipBy <= block.timestamp) revert ShipByNotInFuture(t.shipBy);
        if (t.confirmWindow == 0 || uint256(t.shipBy) + t.confirmWindow > type(uint64).max) {
            revert InvalidConfirmWindow(t.confirmWindow);
        }
        uint16 rate = feeBps;
        _orders[key] = Order({
            buyer: t.buyer,
            shipBy: t.shipBy,
            feeBps: rate,
            state: State.Funded,
            seller: t.seller,
            confirmWindow: t.confirmWindow,
            amount: uint128(t.amount),
            confirmDeadline: 0
        });
        _owe(address(token), t.amount);
        emit OrderFunded(key, t.orderId, t.seller, t.buyer, t.amount, t.shipBy, t.confirmWindow, rate);
    }

    function _release(bytes32 key, Order storage o, bool confirmed) private {
        _requireActive(address(token), o.buyer); // the buyer's money moves to the seller
        o.state = State.Released;
        uint256 amount = o.amount;
        _settle(address(token), amount);
        (uint256 sellerAmount, uint256 fee) = _sellerShare(amount, o.feeBps);
        emit OrderReleased(key, sellerAmount, fee, confirmed);
        _paySeller(key, o.seller, sellerAmount, fee);
    }

    function _paySeller(bytes32 key, address seller, uint256 sellerAmount, uint256 fee) private {
        if (sellerAmount != 0) _payOut(key, seller, payoutToken(seller), sellerAmount, "seller");
        if (fee != 0) _payOut(key, feeRecipient, feePayoutToken(), fee, "fee");
    }

    /// @dev `amount` to `payee`: a transfer if `to` is `token`, else through the network under the
    /// order's payment id for `label` (the escrow approves exactly `amount`, which the network takes).
    function _payOut(bytes32 key, address payee, address to, uint256 amount, string memory label) private {
        if (to == address(token)) {
            token.safeTransfer(payee, amount);
            return;
        }
        IInterbankPayments n = network;
        if (address(n) == address(0)) revert NetworkNotSet();
        bytes32 paymentId = keccak256(abi.encode(key, label));
        emit CrossBankPayout(key, paymentId, payee, to, amount);
        token.forceApprove(address(n), amount);
        n.pay(address(token), to, payee, amount, paymentId);
    }

    /// @dev The stored form of a payout token: zero for `token` (or zero); otherwise a member of the network.
    function _checkPayoutToken(address payoutToken_) private view returns (address) {
        if (payoutToken_ == address(0) || payoutToken_ == address(token)) return address(0);
        IInterbankPayments n = network;
        if (address(n) == address(0)) revert NetworkNotSet();
        if (n.bank(payoutToken_).operator == address(0)) revert NotANetworkMember(payoutToken_);
        return payoutToken_;
    }

    function _sellerShare(uint256 gross, uint16 rate) private pure returns (uint256 sellerAmount, uint256 fee) {
        fee = gross * rate / BPS; // rounded down, in the seller's favour
        sellerAmount = gross - fee;
    }

    function _existing(bytes32 key) private view returns (Order storage o) {
        o = _orders[key];
        if (o.state == State.None) revert UnknownOrder(key);
    }

    function _setFee(address feeRecipient_, uint16 feeBps_) private {
        if (feeRecipient_ == address(0)) revert ZeroAddress();
        if (feeRecipient_ == address(this) || feeRecipient_ == address(token)) revert InvalidFeeRecipient(feeRecipient_);
        if (feeBps_ > MAX_FEE_BPS) revert FeeTooHigh(feeBps_, MAX_FEE_BPS);
        _requireCanReceive(feePayoutToken(), feeRecipient_);
        feeRecipient = feeRecipient_;
        feeBps = feeBps_;
        emit FeeUpdated(feeRecipient_, feeBps_);
    }

    /// @dev Reverts with {CannotReceive} unless `token_` lets `account` receive (ERC-7943 `canReceive`).
    function _requireCanReceive(address token_, address account) private view {
        if (!IERC7943Fungible(token_).canReceive(account)) revert CannotReceive(account);
    }
}
