// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {DepositToken} from "../../../contracts/token/DepositToken.sol";
import {TradeEscrow} from "../../../contracts/settlement/TradeEscrow.sol";
import {TokenFixture} from "../utils/TokenFixture.sol";
import {InvariantBase, HandlerBase} from "../utils/InvariantBase.sol";

address constant ESCROW_ADMIN = address(0xE5C0);
address constant ARBITER = address(0xA4B1);
address constant FEE_RECIPIENT = address(0xFEE);
address constant SINK = address(0x5EE); // where legal orders send seized orders
uint16 constant INITIAL_FEE_BPS = 150;

function buyerAt(uint256 i) pure returns (address) {
    return address(uint160(0xB000 + i));
}

function sellerAt(uint256 i) pure returns (address) {
    return address(uint160(0x5E000 + i));
}

/**
 * @dev Drives the real TradeEscrow over the real DepositToken through orders' whole lives: funding,
 * shipping, confirmation, release after the confirm window, refunds after the ship-by time, disputes
 * and arbiters' splits, legal seizures, fee changes, compliance freezes, time. Each action is tried on
 * any order (ended ones too) and checked against what the contract must allow; the ghost books follow
 * every unit: what each buyer, seller, the fee recipient and the legal sink must hold.
 */
contract EscrowHandler is HandlerBase, TokenFixture {
    struct Ghost {
        bytes32 key;
        bytes32 orderId;
        address buyer;
        address seller;
        uint256 amount;
        uint64 shipBy;
        uint64 confirmWindow;
        uint64 confirmDeadline;
        uint16 feeBps; // the rate when it was funded
        TradeEscrow.State state;
        uint8 endings; // Released, Refunded, Resolved or Seized: once
    }

    uint256 internal constant N = 3; // buyers, sellers

    DepositToken public immutable token;
    TradeEscrow public immutable escrow;
    Ghost[] internal _orders;
    mapping(address account => uint256) public expected; // each account's balance, by the ghost books
    uint16 public feeBps = INITIAL_FEE_BPS;

    uint256 public funded;
    uint256 public paidToSellers;
    uint256 public fees;
    uint256 public refunded; // refunds and buyers' parts of splits
    uint256 public seized;
    uint256 public held;

    constructor(DepositToken token_, TradeEscrow escrow_) {
        token = token_;
        escrow = escrow_;
        for (uint256 i = 0; i < N; ++i) expected[buyerAt(i)] = token.balanceOf(buyerAt(i));
    }

    function orderCount() external view returns (uint256) {
        return _orders.length;
    }

    function ghost(uint256 i) external view returns (Ghost memory) {
        return _orders[i];
    }

    // ------------------------------------------------------------------ actions

    function fund(uint256 buyerSeed, uint256 sellerSeed, uint256 amount, uint256 shipIn, uint256 window, bytes32 orderId)
        external
    {
        address buyer = buyerAt(buyerSeed % N);
        uint256 balance = token.balanceOf(buyer);
        if (balance == 0) return;
        TradeEscrow.OrderTerms memory t = TradeEscrow.OrderTerms({
            orderId: orderId | bytes32(uint256(1)),
            buyer: buyer,
            seller: sellerAt(sellerSeed % N),
            amount: _bound(amount, 1, balance),
            shipBy: uint64(block.timestamp + _bound(shipIn, 1, 3 days)),
            confirmWindow: uint64(_bound(window, 1, 3 days))
        });
        bytes32 key = escrow.orderKey(t);
        bool fresh = escrow.order(key).state == TradeEscrow.State.None;
        vm.prank(buyer);
        try escrow.fund(t) {
            _check(fresh && _active(buyer), "fund succeeded: a used key, or a restricted buyer");
            _orders.push(Ghost(key, t.orderId, buyer, t.seller, t.amount, t.shipBy, t.confirmWindow, 0, feeBps, TradeEscrow.State.Funded, 0));
            funded += t.amount;
            held += t.amount;
            expected[buyer] -= t.amount;
            _count("fund");
        } catch {
            _check(!fresh || !_active(buyer), "a valid fund reverted");
        }
    }

    /// @dev The same terms again: the key is taken, whatever became of its order ({OrderExists}).
    function fundAgain(uint256 index) external {
        if (_orders.length == 0) return;
        Ghost storage g = _pick(index);
        TradeEscrow.OrderTerms memory t =
            TradeEscrow.OrderTerms(g.orderId, g.buyer, g.seller, g.amount, g.shipBy, g.confirmWindow);
        vm.prank(g.buyer);
        try escrow.fund(t) {
            _violation("an order key was funded twice");
        } catch (bytes memory reason) {
            _check(bytes4(reason) == TradeEscrow.OrderExists.selector, "a second funding failed otherwise than OrderExists");
        }
    }

    function ship(uint256 index, bytes32 shipmentRef) external {
        if (_orders.length == 0) return;
        Ghost storage g = _pickIn(index, TradeEscrow.State.Funded);
        bool allowed = g.state == TradeEscrow.State.Funded && block.timestamp <= g.shipBy && _active(g.seller);
        vm.prank(g.seller);
        try escrow.ship(g.key, shipmentRef | bytes32(uint256(1))) {
            _check(allowed, "ship succeeded when it must not");
            g.state = TradeEscrow.State.Shipped;
            g.confirmDeadline = uint64(block.timestamp) + g.confirmWindow;
            _count("ship");
        } catch {
            _check(!allowed, "a valid ship reverted");
        }
    }

    function confirm(uint256 index) external {
        if (_orders.length == 0) return;
        Ghost storage g = _pickIn(index, TradeEscrow.State.Shipped);
        bool allowed = g.state == TradeEscrow.State.Shipped && _active(g.buyer) && _payable(g, g.amount);
        vm.prank(g.buyer);
        try escrow.confirm(g.key) {
            _check(allowed, "confirm succeeded when it must not");
            _end(g, TradeEscrow.State.Released);
            _paySellerSide(g, g.amount);
            _count("confirm");
        } catch {
            _check(!allowed, "a valid confirm reverted");
        }
    }

    function release(uint256 index, uint256 callerSeed) external {
        if (_orders.length == 0) return;
        Ghost storage g = _pickIn(index, TradeEscrow.State.Shipped);
        bool allowed = g.state == TradeEscrow.State.Shipped && block.timestamp > g.confirmDeadline
            && _active(g.buyer) && _payable(g, g.amount);
        vm.prank(address(uint160(callerSeed | 1))); // anyone
        try escrow.release(g.key) {
            _check(allowed, "release succeeded when it must not");
            _end(g, TradeEscrow.State.Released);
            _paySellerSide(g, g.amount);
            _count("release");
        } catch {
            _check(!allowed, "a valid release reverted");
        }
    }

    function refund(uint256 index, uint256 callerSeed) external {
        if (_orders.length == 0) return;
        Ghost storage g = _pickIn(index, TradeEscrow.State.Funded);
        bool allowed = g.state == TradeEscrow.State.Funded && block.timestamp > g.shipBy && _active(g.buyer);
        vm.prank(address(uint160(callerSeed | 1)));
        try escrow.refund(g.key) {
            _check(allowed, "refund succeeded when it must not");
            _end(g, TradeEscrow.State.Refunded);
            _payBuyer(g, g.amount);
            _count("refund");
        } catch {
            _check(!allowed, "a valid refund reverted");
        }
    }

    function dispute(uint256 index, bool bySeller, uint256 rarity) external {
        if (_orders.length == 0 || rarity % 3 != 0) return; // a rarer action: most orders run their course
        Ghost storage g = _pick(index);
        address party = bySeller ? g.seller : g.buyer;
        bool allowed = (
            (g.state == TradeEscrow.State.Funded && block.timestamp <= g.shipBy)
                || (g.state == TradeEscrow.State.Shipped && block.timestamp <= g.confirmDeadline)
        ) && _active(party);
        vm.prank(party);
        try escrow.dispute(g.key, bytes32(0)) {
            _check(allowed, "dispute succeeded when it must not");
            g.state = TradeEscrow.State.Disputed;
            _count("dispute");
        } catch {
            _check(!allowed, "a valid dispute reverted");
        }
    }

    function resolve(uint256 index, uint256 buyerAmount) external {
        if (_orders.length == 0) return;
        Ghost storage g = _pickIn(index, TradeEscrow.State.Disputed);
        buyerAmount = _bound(buyerAmount, 0, g.amount);
        uint256 sellerSide = g.amount - buyerAmount;
        bool allowed = g.state == TradeEscrow.State.Disputed && (sellerSide == 0 || _active(g.buyer))
            && (buyerAmount == 0 || _active(g.buyer)) && _payable(g, sellerSide);
        vm.prank(ARBITER);
        try escrow.resolve(g.key, buyerAmount) {
            _check(allowed, "resolve succeeded when it must not");
            _end(g, TradeEscrow.State.Resolved);
            if (buyerAmount != 0) _payBuyer(g, buyerAmount);
            _paySellerSide(g, sellerSide);
            _count("resolve");
        } catch {
            _check(!allowed, "a valid resolve reverted");
        }
    }

    /// @dev The legal exit of one order (the token's legal role) to the sink.
    function seize(uint256 index, bytes32 legalOrderRef) external {
        if (_orders.length == 0 || uint256(legalOrderRef) % 3 != 0) return; // a rarer action
        Ghost storage g = _pick(index);
        bool allowed = _open(g.state);
        vm.prank(LEGAL);
        try escrow.seizeOrder(g.key, SINK, legalOrderRef | bytes32(uint256(1))) {
            _check(allowed, "seizeOrder succeeded on an ended order");
            _end(g, TradeEscrow.State.Seized);
            held -= g.amount;
            seized += g.amount;
            expected[SINK] += g.amount;
            _count("seize");
        } catch {
            _check(!allowed, "a valid seizeOrder reverted");
        }
    }

    /// @dev The admin changes the fee rate: orders funded from now on pay it, funded ones keep theirs.
    function setFee(uint256 bps) external {
        uint16 rate = uint16(_bound(bps, 0, 1000));
        vm.prank(ESCROW_ADMIN);
        escrow.setFee(FEE_RECIPIENT, rate);
        feeBps = rate;
    }

    /// @dev Compliance freezes or unfreezes a buyer or a seller.
    function freeze(uint256 seed, bool frozen) external {
        address a = seed % 2 == 0 ? buyerAt((seed / 2) % N) : sellerAt((seed / 2) % N);
        vm.prank(COMPLIANCE);
        if (frozen) {
            try token.freezeAccount(a) {} catch {}
        } else {
            try token.unfreezeAccount(a) {} catch {}
        }
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + _bound(seconds_, 1, 2 days));
    }

    /// @dev At the end of a run (not fuzzed): compliance lifts every freeze, time passes every
    /// deadline, and every open order ends: refunded (funded), released (shipped) or split by the
    /// arbiter (disputed). Reverts (failing the run) if one cannot: no order's funds stay stuck.
    function drain(uint256 buyerShareBps) external {
        uint256 latest = block.timestamp;
        for (uint256 i = 0; i < N; ++i) {
            vm.startPrank(COMPLIANCE);
            try token.unfreezeAccount(buyerAt(i)) {} catch {}
            try token.unfreezeAccount(sellerAt(i)) {} catch {}
            vm.stopPrank();
        }
        for (uint256 i = 0; i < _orders.length; ++i) {
            Ghost storage g = _orders[i];
            uint256 deadline = g.state == TradeEscrow.State.Shipped ? g.confirmDeadline : g.shipBy;
            if (deadline > latest) latest = deadline;
        }
        vm.warp(latest + 1);
        for (uint256 i = 0; i < _orders.length; ++i) {
            Ghost storage g = _orders[i];
            if (g.state == TradeEscrow.State.Funded) {
                escrow.refund(g.key);
                _end(g, TradeEscrow.State.Refunded);
                _payBuyer(g, g.amount);
            } else if (g.state == TradeEscrow.State.Shipped) {
                escrow.release(g.key);
                _end(g, TradeEscrow.State.Released);
                _paySellerSide(g, g.amount);
            } else if (g.state == TradeEscrow.State.Disputed) {
                uint256 buyerAmount = g.amount * buyerShareBps / 10_000;
                vm.prank(ARBITER);
                escrow.resolve(g.key, buyerAmount);
                _end(g, TradeEscrow.State.Resolved);
                if (buyerAmount != 0) _payBuyer(g, buyerAmount);
                _paySellerSide(g, g.amount - buyerAmount);
            }
        }
    }

    // ------------------------------------------------------------------ books

    /// @dev Three times in four an open order (the first from a random one on), else any order, ended ones too.
    function _pick(uint256 seed) private view returns (Ghost storage) {
        uint256 n = _orders.length;
        uint256 i = seed % n;
        if (seed % 4 != 0) {
            for (uint256 k = 0; k < n; ++k) {
                if (_orders[(i + k) % n].endings == 0) return _orders[(i + k) % n];
            }
        }
        return _orders[i];
    }

    function _active(address a) private view returns (bool) {
        return token.canSend(a);
    }

    function _open(TradeEscrow.State s) private pure returns (bool) {
        return s == TradeEscrow.State.Funded || s == TradeEscrow.State.Shipped || s == TradeEscrow.State.Disputed;
    }

    /// @dev Whether the seller side of `gross` can be paid now: the seller (and the fee recipient) receive.
    function _payable(Ghost storage g, uint256 gross) private view returns (bool) {
        uint256 fee = gross * g.feeBps / 10_000;
        return (gross - fee == 0 || _active(g.seller)) && (fee == 0 || _active(FEE_RECIPIENT));
    }

    /// @dev Three times in four an order in `state` (the first from a random one on), else {_pick}.
    function _pickIn(uint256 seed, TradeEscrow.State state) private view returns (Ghost storage) {
        uint256 n = _orders.length;
        uint256 i = seed % n;
        if (seed % 4 != 0) {
            for (uint256 k = 0; k < n; ++k) {
                if (_orders[(i + k) % n].state == state) return _orders[(i + k) % n];
            }
        }
        return _pick(seed / 4);
    }

    function _end(Ghost storage g, TradeEscrow.State outcome) private {
        g.state = outcome;
        ++g.endings;
    }

    function _paySellerSide(Ghost storage g, uint256 gross) private {
        uint256 fee = gross * g.feeBps / 10_000; // rounded down, in the seller's favour
        held -= gross;
        paidToSellers += gross - fee;
        fees += fee;
        expected[g.seller] += gross - fee;
        expected[FEE_RECIPIENT] += fee;
    }

    function _payBuyer(Ghost storage g, uint256 amount) private {
        held -= amount;
        refunded += amount;
        expected[g.buyer] += amount;
    }
}

/// @dev The escrow's invariants, after every call of {EscrowHandler}.
contract TradeEscrowInvariants is InvariantBase, TokenFixture {
    DepositToken internal token;
    TradeEscrow internal escrow;
    EscrowHandler internal handler;

    function setUp() public {
        vm.warp(1_800_000_000);
        token = deployToken("USD", "USD", type(uint128).max);
        uint64 kyc = uint64(block.timestamp + 3650 days);
        onboard(token, ARBITER, kyc);
        onboard(token, FEE_RECIPIENT, kyc);
        onboard(token, SINK, kyc);
        escrow = new TradeEscrow(IERC20(address(token)), ESCROW_ADMIN, 0, ARBITER, FEE_RECIPIENT, INITIAL_FEE_BPS);
        onboard(token, address(escrow), kyc);
        for (uint256 i = 0; i < 3; ++i) {
            onboard(token, buyerAt(i), kyc);
            onboard(token, sellerAt(i), kyc);
            mintTo(token, buyerAt(i), 1_000_000_00, bytes32(i + 1));
            vm.prank(buyerAt(i));
            token.approve(address(escrow), type(uint256).max);
        }
        handler = new EscrowHandler(token, escrow);
        bytes4[] memory s = new bytes4[](12);
        s[0] = EscrowHandler.fund.selector;
        s[1] = EscrowHandler.fundAgain.selector;
        s[2] = EscrowHandler.ship.selector;
        s[3] = EscrowHandler.confirm.selector;
        s[4] = EscrowHandler.release.selector;
        s[5] = EscrowHandler.refund.selector;
        s[6] = EscrowHandler.dispute.selector;
        s[7] = EscrowHandler.resolve.selector;
        s[8] = EscrowHandler.seize.selector;
        s[9] = EscrowHandler.setFee.selector;
        s[10] = EscrowHandler.freeze.selector;
        s[11] = EscrowHandler.warp.selector;
        targetHandler(address(handler), s);
    }

    /// The escrow holds exactly the open orders' funds: balance == outstanding == their sum.
    function invariant_heldEqualsOpenOrders() public view {
        uint256 open;
        for (uint256 i = 0; i < handler.orderCount(); ++i) {
            EscrowHandler.Ghost memory g = handler.ghost(i);
            if (g.endings == 0) open += g.amount;
        }
        assert(open == handler.held());
        assert(token.balanceOf(address(escrow)) == open);
        assert(escrow.outstanding(address(token)) == open);
    }

    /// fees + seller payouts + refunds + seized + held == funded, and each account holds what the books say.
    function invariant_conservation() public view {
        assert(
            handler.funded()
                == handler.paidToSellers() + handler.fees() + handler.refunded() + handler.seized() + handler.held()
        );
        for (uint256 i = 0; i < 3; ++i) {
            assert(token.balanceOf(buyerAt(i)) == handler.expected(buyerAt(i)));
            assert(token.balanceOf(sellerAt(i)) == handler.expected(sellerAt(i)));
        }
        assert(token.balanceOf(FEE_RECIPIENT) == handler.fees());
        assert(token.balanceOf(SINK) == handler.seized());
    }

    /// Every order ends once (released xor refunded xor resolved xor seized), at the rate it was funded at.
    function invariant_everyOrderEndsOnce() public view {
        for (uint256 i = 0; i < handler.orderCount(); ++i) {
            EscrowHandler.Ghost memory g = handler.ghost(i);
            TradeEscrow.Order memory o = escrow.order(g.key);
            assert(g.endings <= 1);
            assert(o.state == g.state);
            assert(o.feeBps == g.feeBps && o.amount == g.amount && o.buyer == g.buyer && o.seller == g.seller);
            bool ended = o.state == TradeEscrow.State.Released || o.state == TradeEscrow.State.Refunded
                || o.state == TradeEscrow.State.Resolved || o.state == TradeEscrow.State.Seized;
            assert(ended == (g.endings == 1));
        }
    }

    /// No action saw the escrow do what it must not (or refuse what it must do).
    function invariant_noViolation() public view {
        if (handler.violations() != 0) revert(handler.firstViolation());
    }

    /// After each run: once the freezes are lifted and the deadlines passed, every open order can end
    /// (refund, release, or the arbiter's split), and the escrow is left holding nothing (no funds
    /// stuck), every unit where the books say.
    function afterInvariant() public {
        handler.drain(handler.orderCount() * 1_234 % 10_001);
        assert(handler.held() == 0);
        assert(token.balanceOf(address(escrow)) == 0 && escrow.outstanding(address(token)) == 0);
        invariant_conservation();
        invariant_everyOrderEndsOnce();
        invariant_noViolation();
    }
}
