// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/// @notice The `bytes signature` form of EIP-3009's {receiveWithAuthorization} (USDC v2.2, DepositToken),
/// which also carries ERC-1271 signatures of contract wallets.
interface IERC3009ReceiveBytes {
    /// @notice Moves `value` from `from` to the caller, `to`, under `from`'s signed authorization.
    function receiveWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes calldata signature
    ) external;
}

/**
 * @title TradeEscrow
 * @notice Order protection for marketplace payments in one deposit token (`token`). The buyer funds an
 * order ({fund} after an approval, or {fundWithAuthorization}: one EIP-3009 signature whose nonce
 * commits to the order's terms); the seller marks it shipped by the ship-by time ({ship}); the buyer
 * confirms receipt ({confirm}) or the confirm window passes ({release}, anyone) and the seller is paid,
 * less the marketplace fee; an order not shipped in time is refunded in full ({refund}, anyone). While
 * its clock runs (until the ship-by time, or the confirm deadline once shipped) either party may open a
 * dispute ({dispute}), which stops the clock; an arbiter (`ARBITER_ROLE`) then splits the funds
 * ({resolve}). Every order ends in exactly one of Released, Refunded or Resolved, and its funds leave
 * the escrow exactly once.
 *
 * Fees: `feeBps` (at most {MAX_FEE_BPS}) of what the seller receives goes to `feeRecipient`; the rate
 * is fixed for each order when it is funded, so later changes do not touch funded orders. Refunds
 * and the buyer's part of a split carry no fee.
 *
 * Deployment: the bank must allowlist this contract on `token` (COMPLIANCE_ROLE:
 * `allowlist(escrow, kycExpiry)`) before the first order, and keep its entry current: the escrow is
 * the spender of {fund} and holds the funds, so while it is not allowlisted (or is frozen) no order
 * can be funded or paid out. The fee recipient, buyers and sellers must be allowlisted too.
 *
 * The bank's controls apply to every payout: if the party to be paid (or the fee recipient) is frozen,
 * no longer allowlisted, or the token is paused, the payout reverts and the funds stay in the escrow,
 * the order unchanged, until the bank acts; the bank's legal role can also move funds out of the
 * escrow by a forced transfer, after which the orders they belonged to cannot be paid.
 */
contract TradeEscrow is AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice The life of an order; Released, Refunded and Resolved are final.
    enum State {
        None,
        Funded,
        Shipped,
        Disputed,
        Released,
        Refunded,
        Resolved
    }

    /// @notice What the buyer agrees to pay for (and, in {fundWithAuthorization}, signs through its nonce).
    struct OrderTerms {
        bytes32 orderId; // chosen by the marketplace; each once
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

    /// @notice The EIP-712 struct type whose hash, with this escrow's address, is the EIP-3009 nonce.
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

    mapping(bytes32 orderId => Order) private _orders;

    /// @notice The buyer funded order `orderId` with `amount`; `feeBps` applies to it.
    event OrderFunded(
        bytes32 indexed orderId,
        address indexed buyer,
        address indexed seller,
        uint256 amount,
        uint64 shipBy,
        uint64 confirmWindow,
        uint16 feeBps
    );

    /// @notice The seller shipped under `shipmentRef`; the buyer may confirm or dispute until `confirmDeadline`.
    event OrderShipped(bytes32 indexed orderId, bytes32 shipmentRef, uint64 confirmDeadline);

    /// @notice The seller was paid `sellerAmount` and the fee recipient `fee`, on the buyer's
    /// confirmation (`confirmed`) or after the confirm deadline.
    event OrderReleased(bytes32 indexed orderId, uint256 sellerAmount, uint256 fee, bool confirmed);

    /// @notice The order was not shipped in time: the buyer got `amount` back.
    event OrderRefunded(bytes32 indexed orderId, uint256 amount);

    /// @notice `party` (buyer or seller) disputed the order; `reasonHash` points to its statement.
    event OrderDisputed(bytes32 indexed orderId, address indexed party, bytes32 reasonHash);

    /// @notice `arbiter` split the disputed order: `buyerAmount` to the buyer, `sellerAmount` to the
    /// seller, `fee` to the fee recipient.
    event OrderResolved(
        bytes32 indexed orderId, address indexed arbiter, uint256 buyerAmount, uint256 sellerAmount, uint256 fee
    );

    /// @notice Orders funded from now on pay `feeBps` to `feeRecipient` (funded orders keep their rate;
    /// every fee goes to the recipient of the moment it is paid).
    event FeeUpdated(address indexed feeRecipient, uint16 feeBps);

    /// @notice A zero address where an account or the token is needed.
    error ZeroAddress();

    /// @notice The fee rate is above {MAX_FEE_BPS}.
    error FeeTooHigh(uint16 feeBps, uint16 maxFeeBps);

    /// @notice Order ids must be non-zero.
    error InvalidOrderId();

    /// @notice An order with this id was funded before (ids are used once).
    error OrderIdUsed(bytes32 orderId);

    /// @notice No order has this id.
    error UnknownOrder(bytes32 orderId);

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
    error InvalidOrderState(bytes32 orderId, State state);

    /// @notice Too late: the order's current deadline passed.
    error DeadlinePassed(bytes32 orderId, uint64 deadline);

    /// @notice Too early: the order's current deadline has not passed yet.
    error DeadlineNotPassed(bytes32 orderId, uint64 deadline);

    /// @notice Shipment references must be non-zero.
    error InvalidShipmentRef();

    /// @notice The buyer's part exceeds the order's amount.
    error InvalidSplit(uint256 buyerAmount, uint256 amount);

    /// @notice Sets up the escrow of `token_`.
    /// @param token_ The deposit token (its proxy).
    /// @param admin Holds DEFAULT_ADMIN_ROLE: appoints arbiters, sets the fee.
    /// @param arbiter Receives ARBITER_ROLE; zero: none yet.
    /// @param feeRecipient_ Receives the fees (must be allowlisted on the token if fees are charged).
    /// @param feeBps_ The fee rate, at most {MAX_FEE_BPS}.
    constructor(IERC20 token_, address admin, address arbiter, address feeRecipient_, uint16 feeBps_) {
        if (address(token_) == address(0) || admin == address(0)) revert ZeroAddress();
        token = token_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        if (arbiter != address(0)) _grantRole(ARBITER_ROLE, arbiter);
        _setFee(feeRecipient_, feeBps_);
    }

    // ------------------------------------------------------------------ funding

    /// @notice The buyer (the caller) funds a new order; the escrow takes `terms.amount` from the buyer
    /// with `transferFrom` (approve it first; the escrow must be allowlisted on the token).
    /// @param terms The order: id (unused), buyer (the caller), seller, amount, ship-by time, confirm window.
    function fund(OrderTerms calldata terms) external nonReentrant {
        if (msg.sender != terms.buyer) revert CallerNotBuyer(msg.sender, terms.buyer);
        _open(terms);
        token.safeTransferFrom(msg.sender, address(this), terms.amount); // the buyer's own funds
    }

    /// @notice Funds a new order with the buyer's EIP-3009 `ReceiveWithAuthorization` signature (any
    /// submitter, e.g. the marketplace): payee this escrow, value `terms.amount`, nonce
    /// {orderNonce}(`terms`), so the signature funds this order and no other. ERC-1271 buyers work.
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
        _open(terms);
        IERC3009ReceiveBytes(address(token)).receiveWithAuthorization(
            terms.buyer, address(this), terms.amount, validAfter, validBefore, orderNonce(terms), signature
        );
    }

    /// @notice The EIP-3009 nonce a buyer signs to fund `terms` here: the EIP-712 struct hash of
    /// `OrderTerms(address escrow,bytes32 orderId,address buyer,address seller,uint256 amount,uint64 shipBy,uint64 confirmWindow)`.
    /// @param terms The order.
    function orderNonce(OrderTerms calldata terms) public view returns (bytes32) {
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

    /// @notice The seller marks the order shipped, at the latest at its ship-by time; the buyer then
    /// has the confirm window to confirm or dispute.
    /// @param orderId The order.
    /// @param shipmentRef The shipment's reference (e.g. the hash of the carrier's tracking number), non-zero.
    function ship(bytes32 orderId, bytes32 shipmentRef) external {
        Order storage o = _existing(orderId);
        if (msg.sender != o.seller) revert CallerNotSeller(msg.sender, o.seller);
        if (o.state != State.Funded) revert InvalidOrderState(orderId, o.state);
        if (block.timestamp > o.shipBy) revert DeadlinePassed(orderId, o.shipBy);
        if (shipmentRef == bytes32(0)) revert InvalidShipmentRef();
        // cannot overflow: now <= shipBy and shipBy + confirmWindow fits in 64 bits (checked at funding)
        uint64 confirmDeadline = uint64(block.timestamp) + o.confirmWindow;
        o.state = State.Shipped;
        o.confirmDeadline = confirmDeadline;
        emit OrderShipped(orderId, shipmentRef, confirmDeadline);
    }

    /// @notice The buyer confirms receipt: the seller is paid (less the fee).
    /// @dev Reverts, changing nothing, while the token refuses the payout (see the contract notes).
    /// @param orderId A shipped order.
    function confirm(bytes32 orderId) external nonReentrant {
        Order storage o = _existing(orderId);
        if (msg.sender != o.buyer) revert CallerNotBuyer(msg.sender, o.buyer);
        if (o.state != State.Shipped) revert InvalidOrderState(orderId, o.state);
        _release(orderId, o, true);
    }

    /// @notice Anyone pays the seller (less the fee) once the confirm deadline of a shipped order passed.
    /// @dev Reverts, changing nothing, while the token refuses the payout (see the contract notes).
    /// @param orderId A shipped order.
    function release(bytes32 orderId) external nonReentrant {
        Order storage o = _existing(orderId);
        if (o.state != State.Shipped) revert InvalidOrderState(orderId, o.state);
        if (block.timestamp <= o.confirmDeadline) revert DeadlineNotPassed(orderId, o.confirmDeadline);
        _release(orderId, o, false);
    }

    /// @notice Anyone refunds the buyer in full once the ship-by time of an unshipped order passed.
    /// @dev Reverts, changing nothing, while the token refuses the payout (see the contract notes).
    /// @param orderId A funded, unshipped, undisputed order.
    function refund(bytes32 orderId) external nonReentrant {
        Order storage o = _existing(orderId);
        if (o.state != State.Funded) revert InvalidOrderState(orderId, o.state);
        if (block.timestamp <= o.shipBy) revert DeadlineNotPassed(orderId, o.shipBy);
        o.state = State.Refunded;
        uint256 amount = o.amount;
        emit OrderRefunded(orderId, amount);
        token.safeTransfer(o.buyer, amount);
    }

    /// @notice The buyer or the seller disputes the order while its clock runs (funded: until the
    /// ship-by time; shipped: until the confirm deadline). The clock stops; an arbiter decides.
    /// @param orderId A funded or shipped order.
    /// @param reasonHash The hash of the party's statement (may be zero).
    function dispute(bytes32 orderId, bytes32 reasonHash) external {
        Order storage o = _existing(orderId);
        if (msg.sender != o.buyer && msg.sender != o.seller) revert CallerNotParty(msg.sender);
        State state = o.state;
        if (state != State.Funded && state != State.Shipped) revert InvalidOrderState(orderId, state);
        uint64 deadline = state == State.Funded ? o.shipBy : o.confirmDeadline;
        if (block.timestamp > deadline) revert DeadlinePassed(orderId, deadline);
        o.state = State.Disputed;
        emit OrderDisputed(orderId, msg.sender, reasonHash);
    }

    /// @notice An arbiter splits a disputed order: `buyerAmount` back to the buyer, the rest to the
    /// seller (less the fee on the seller's part).
    /// @dev Reverts, changing nothing, while the token refuses a payout (see the contract notes).
    /// @param orderId A disputed order.
    /// @param buyerAmount The buyer's part, at most the order's amount.
    function resolve(bytes32 orderId, uint256 buyerAmount) external onlyRole(ARBITER_ROLE) nonReentrant {
        Order storage o = _existing(orderId);
        if (o.state != State.Disputed) revert InvalidOrderState(orderId, o.state);
        uint256 amount = o.amount;
        if (buyerAmount > amount) revert InvalidSplit(buyerAmount, amount);
        o.state = State.Resolved;
        (uint256 sellerAmount, uint256 fee) = _sellerShare(amount - buyerAmount, o.feeBps);
        emit OrderResolved(orderId, msg.sender, buyerAmount, sellerAmount, fee);
        if (buyerAmount != 0) token.safeTransfer(o.buyer, buyerAmount);
        _paySeller(o.seller, sellerAmount, fee);
    }

    // ------------------------------------------------------------------ administration

    /// @notice Sets the fee recipient and the rate of orders funded from now on.
    /// @param feeRecipient_ Receives every fee paid from now on (non-zero).
    /// @param feeBps_ Basis points of the seller's receipts, at most {MAX_FEE_BPS}.
    function setFee(address feeRecipient_, uint16 feeBps_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setFee(feeRecipient_, feeBps_);
    }

    // ------------------------------------------------------------------ views

    /// @notice The order `orderId` as recorded (state None: no such order).
    /// @param orderId The order.
    function order(bytes32 orderId) external view returns (Order memory) {
        return _orders[orderId];
    }

    // ------------------------------------------------------------------ internals

    function _open(OrderTerms calldata t) private {
        if (t.orderId == bytes32(0)) revert InvalidOrderId();
        if (_orders[t.orderId].state != State.None) revert OrderIdUsed(t.orderId);
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
        _orders[t.orderId] = Order({
            buyer: t.buyer,
            shipBy: t.shipBy,
            feeBps: rate,
            state: State.Funded,
            seller: t.seller,
            confirmWindow: t.confirmWindow,
            amount: uint128(t.amount),
            confirmDeadline: 0
        });
        emit OrderFunded(t.orderId, t.buyer, t.seller, t.amount, t.shipBy, t.confirmWindow, rate);
    }

    function _release(bytes32 orderId, Order storage o, bool confirmed) private {
        o.state = State.Released;
        (uint256 sellerAmount, uint256 fee) = _sellerShare(o.amount, o.feeBps);
        emit OrderReleased(orderId, sellerAmount, fee, confirmed);
        _paySeller(o.seller, sellerAmount, fee);
    }

    function _paySeller(address seller, uint256 sellerAmount, uint256 fee) private {
        if (sellerAmount != 0) token.safeTransfer(seller, sellerAmount);
        if (fee != 0) token.safeTransfer(feeRecipient, fee);
    }

    function _sellerShare(uint256 gross, uint16 rate) private pure returns (uint256 sellerAmount, uint256 fee) {
        fee = gross * rate / BPS; // rounded down, in the seller's favour
        sellerAmount = gross - fee;
    }

    function _existing(bytes32 orderId) private view returns (Order storage o) {
        o = _orders[orderId];
        if (o.state == State.None) revert UnknownOrder(orderId);
    }

    function _setFee(address feeRecipient_, uint16 feeBps_) private {
        if (feeRecipient_ == address(0)) revert ZeroAddress();
        if (feeBps_ > MAX_FEE_BPS) revert FeeTooHigh(feeBps_, MAX_FEE_BPS);
        feeRecipient = feeRecipient_;
        feeBps = feeBps_;
        emit FeeUpdated(feeRecipient_, feeBps_);
    }
}
