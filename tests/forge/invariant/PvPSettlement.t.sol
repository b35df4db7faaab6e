// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {DepositToken} from "../../../contracts/token/DepositToken.sol";
import {PvPSettlement} from "../../../contracts/settlement/PvPSettlement.sol";
import {InterbankNetwork} from "../../../contracts/settlement/InterbankNetwork.sol";
import {SettlementAsset} from "../../../contracts/settlement/SettlementAsset.sol";
import {IInterbankNetwork} from "../../../contracts/interfaces/IInterbankNetwork.sol";
import {NetworkFixture} from "../utils/NetworkFixture.sol";
import {InvariantBase, HandlerBase} from "../utils/InvariantBase.sol";

uint256 constant DESK_KEY_0 = 0xD35C0; // the FX desks' fixed private keys: they sign quotes (EIP-712)
uint256 constant DESK_KEY_1 = 0xD35C1;
address constant PVP_SINK = address(0x5EE); // where legal orders send seized proposals

function clientAt(uint256 i) pure returns (address) {
    return address(uint160(0xC000 + i));
}

/**
 * @dev Drives the real PvPSettlement over three real DepositTokens (EUR at one bank; USD at banks A and
 * B, members of a real InterbankNetwork): signed quotes settled by their taker (EUR against USD-A, either
 * way), routed quotes across banks (the desk sells EUR and is paid in USD-B; the taker pays from USD-A
 * through the network, or from USD-B directly), replays of settled quotes, quotes cancelled by their
 * maker, and two-step proposals (propose, accept with or without the terms hash, cancel, expire, legal
 * seizure), with time. The quotes are signed with the desks' keys over a digest computed here from the
 * EIP-712 types (and checked against the contract's). Each action checks both legs' exact balance changes.
 */
contract PvPHandler is HandlerBase, NetworkFixture {
    struct Settled {
        bool routed;
        bool sameBank;
        PvPSettlement.Quote quote;
        PvPSettlement.RoutedQuote routedQuote;
        bytes signature;
    }

    struct Proposal {
        uint256 id;
        address proposer;
        address counterparty;
        address giveToken;
        uint256 giveAmount;
        address wantToken;
        uint256 wantAmount;
        uint64 expiry;
        PvPSettlement.Status status;
        uint8 endings;
    }

    bytes32 internal constant QUOTE_TYPEHASH = keccak256(
        "Quote(address maker,address taker,address makerToken,uint256 makerAmount,address takerToken,"
        "uint256 takerAmount,uint256 rate,uint256 expiry,bytes32 nonce)"
    );
    bytes32 internal constant ROUTED_QUOTE_TYPEHASH = keccak256(
        "RoutedQuote(address maker,address receiver,address taker,address makerToken,uint256 makerAmount,"
        "address takerToken,uint256 takerAmount,uint256 rate,uint256 expiry,bytes32 nonce,address network)"
    );
    uint256 internal constant CLIENTS = 3;

    PvPSettlement public immutable pvp;
    DepositToken public immutable eur;
    DepositToken public immutable usdA;
    DepositToken public immutable usdB;
    InterbankNetwork public immutable network;
    address internal immutable _desk0;
    address internal immutable _desk1;

    Settled[] internal _settled;
    Proposal[] internal _proposals;
    mapping(address token => mapping(address account => uint256)) public expected; // by the ghost books
    mapping(address maker => mapping(bytes32 nonce => uint256)) public uses; // settlements and cancellations
    address[] internal _makers;
    bytes32[] internal _nonces;
    uint256 internal _nonceCount;

    constructor(PvPSettlement pvp_, DepositToken eur_, DepositToken usdA_, DepositToken usdB_, InterbankNetwork network_) {
        (pvp, eur, usdA, usdB, network) = (pvp_, eur_, usdA_, usdB_, network_);
        (_desk0, _desk1) = (vm.addr(DESK_KEY_0), vm.addr(DESK_KEY_1));
        address[5] memory parties = [desk(0), desk(1), clientAt(0), clientAt(1), clientAt(2)];
        for (uint256 i = 0; i < parties.length; ++i) {
            expected[address(eur)][parties[i]] = eur.balanceOf(parties[i]);
            expected[address(usdA)][parties[i]] = usdA.balanceOf(parties[i]);
            expected[address(usdB)][parties[i]] = usdB.balanceOf(parties[i]);
        }
    }

    function desk(uint256 i) public view returns (address) {
        return i == 0 ? _desk0 : _desk1;
    }

    function party(uint256 i) public view returns (address) {
        i %= 5;
        return i < 2 ? desk(i) : clientAt(i - 2);
    }

    function proposalCount() external view returns (uint256) {
        return _proposals.length;
    }

    function proposal(uint256 i) external view returns (Proposal memory) {
        return _proposals[i];
    }

    /// @dev The locked amounts of `token` in the proposals still open, summed from the ghost list.
    function openLocked(address token) external view returns (uint256 sum) {
        for (uint256 i = 0; i < _proposals.length; ++i) {
            Proposal storage p = _proposals[i];
            if (p.endings == 0 && p.giveToken == token) sum += p.giveAmount;
        }
    }

    /// @dev Whether every party (and the legal sink) holds on each token what the books say.
    function balancesAsBooked() external view returns (bool) {
        DepositToken[3] memory tokens = [eur, usdA, usdB];
        for (uint256 t = 0; t < 3; ++t) {
            for (uint256 i = 0; i < 6; ++i) {
                address a = i < 5 ? party(i) : PVP_SINK;
                if (tokens[t].balanceOf(a) != expected[address(tokens[t])][a]) return false;
            }
        }
        return true;
    }

    /// @dev Whether every nonce the books saw used (settled or cancelled) was used once, and the
    /// contract records it used.
    function usedOnceAndRecorded() external view returns (bool) {
        for (uint256 i = 0; i < _makers.length; ++i) {
            if (uses[_makers[i]][_nonces[i]] != 1 || !pvp.quoteUsed(_makers[i], _nonces[i])) return false;
        }
        return true;
    }

    // ------------------------------------------------------------------ signed quotes

    function settle(uint256 makerSeed, uint256 takerSeed, bool eurForUsd, uint256 makerAmount, uint256 takerAmount, uint256 ttl)
        external
    {
        uint256 k = makerSeed % 2;
        address taker = clientAt(takerSeed % CLIENTS);
        (DepositToken mt, DepositToken tt) = eurForUsd ? (eur, usdA) : (usdA, eur);
        uint256 mb = mt.balanceOf(desk(k));
        uint256 tb = tt.balanceOf(taker);
        if (mb == 0 || tb == 0) return;
        PvPSettlement.Quote memory q = PvPSettlement.Quote({
            maker: desk(k),
            taker: taker,
            makerToken: address(mt),
            makerAmount: _bound(makerAmount, 1, mb),
            takerToken: address(tt),
            takerAmount: _bound(takerAmount, 1, tb),
            rate: 1.08e18,
            expiry: ttl % 5 == 0 ? block.timestamp - 1 : block.timestamp + _bound(ttl, 0, 1 days), // one in five expired
            nonce: _freshNonce()
        });
        bytes32 digest = _digest(keccak256(abi.encode(QUOTE_TYPEHASH, q)));
        _check(digest == pvp.hashQuote(q), "the quote digest differs from the EIP-712 one");
        bytes memory sig = _sign(k, digest);
        bool allowed = q.expiry >= block.timestamp;
        vm.prank(taker);
        try pvp.settle(q, sig) {
            _check(allowed, "an expired quote settled");
            _move(mt, q.maker, taker, q.makerAmount);
            _move(tt, taker, q.maker, q.takerAmount);
            _use(q.maker, q.nonce);
            Settled storage s = _settled.push();
            (s.quote, s.signature) = (q, sig);
            _count("settle");
        } catch {
            _check(!allowed, "a valid quote did not settle");
        }
    }

    /// @dev A routed quote: the desk sells EUR (to the taker) and is paid in USD at bank B; the taker
    /// pays from USD-A through the network (or from USD-B directly when `sameBank`).
    function settleRouted(uint256 makerSeed, uint256 takerSeed, uint256 makerAmount, uint256 takerAmount, bool sameBank)
        external
    {
        uint256 k = makerSeed % 2;
        address taker = clientAt(takerSeed % CLIENTS);
        DepositToken from = sameBank ? usdB : usdA;
        uint256 mb = eur.balanceOf(desk(k));
        uint256 tb = from.balanceOf(taker);
        if (!sameBank && network.headroom(address(usdA)) < tb) tb = network.headroom(address(usdA));
        if (mb == 0 || tb == 0) return;
        PvPSettlement.RoutedQuote memory q = PvPSettlement.RoutedQuote({
            maker: desk(k),
            receiver: desk(k), // the desk's account at bank B
            taker: taker,
            makerToken: address(eur),
            makerAmount: _bound(makerAmount, 1, mb),
            takerToken: address(usdB),
            takerAmount: _bound(takerAmount, 1, tb),
            rate: 0.92e18,
            expiry: block.timestamp + 1 hours,
            nonce: _freshNonce(),
            network: address(network)
        });
        bytes32 digest = _digest(keccak256(abi.encode(ROUTED_QUOTE_TYPEHASH, q)));
        _check(digest == pvp.hashRoutedQuote(q), "the routed quote digest differs from the EIP-712 one");
        bytes memory sig = _sign(k, digest);
        uint256 supplyA = usdA.totalSupply();
        uint256 supplyB = usdB.totalSupply();
        vm.prank(taker);
        try pvp.settleThroughNetwork(q, sig, address(network), address(from), taker) {
            _move(eur, q.maker, taker, q.makerAmount);
            _move(from, taker, q.receiver, q.takerAmount);
            if (!sameBank) { // burned at bank A, minted at bank B: the ledger's leg moved as a payment
                expected[address(usdA)][q.receiver] -= q.takerAmount;
                expected[address(usdB)][q.receiver] += q.takerAmount;
                _check(usdA.totalSupply() == supplyA - q.takerAmount && usdB.totalSupply() == supplyB + q.takerAmount,
                    "a routed payment did not burn at A exactly what it minted at B");
            }
            _use(q.maker, q.nonce);
            Settled storage s = _settled.push();
            (s.routed, s.sameBank, s.routedQuote, s.signature) = (true, sameBank, q, sig);
            _count("settleRouted");
        } catch {
            _violation("a valid routed quote did not settle");
        }
    }

    /// @dev A settled quote, settled again by its taker: refused ({QuoteAlreadyUsed}), nothing moves.
    function replay(uint256 index) external {
        if (_settled.length == 0) return;
        Settled storage s = _settled[index % _settled.length];
        bool ok;
        bytes memory reason;
        if (s.routed) {
            PvPSettlement.RoutedQuote memory q = s.routedQuote;
            q.expiry = q.expiry; // as signed
            vm.prank(q.taker);
            try pvp.settleThroughNetwork(q, s.signature, address(network), address(s.sameBank ? usdB : usdA), q.taker) {
                ok = true;
            } catch (bytes memory r) {
                reason = r;
            }
        } else {
            vm.prank(s.quote.taker);
            try pvp.settle(s.quote, s.signature) {
                ok = true;
            } catch (bytes memory r) {
                reason = r;
            }
        }
        _check(!ok, "a quote settled twice");
        // an expired quote may fail on its expiry first: both refusals keep it settled once
        _check(ok || bytes4(reason) == PvPSettlement.QuoteAlreadyUsed.selector
            || bytes4(reason) == PvPSettlement.QuoteExpired.selector, "a replay failed for another reason");
        _count("replay");
    }

    /// @dev The desk revokes a nonce; a quote it signed with that nonce can no longer settle.
    function cancelQuote(uint256 makerSeed, uint256 takerSeed, uint256 amount) external {
        uint256 k = makerSeed % 2;
        bytes32 nonce = _freshNonce();
        vm.prank(desk(k));
        pvp.cancelQuote(nonce);
        _use(desk(k), nonce);
        address taker = clientAt(takerSeed % CLIENTS);
        PvPSettlement.Quote memory q = PvPSettlement.Quote(
            desk(k), taker, address(eur), _bound(amount, 1, 100), address(usdA), 1, 1e18, block.timestamp, nonce
        );
        bytes memory sig = _sign(k, pvp.hashQuote(q));
        vm.prank(taker);
        try pvp.settle(q, sig) {
            _violation("a cancelled quote settled");
        } catch (bytes memory r) {
            _check(bytes4(r) == PvPSettlement.QuoteAlreadyUsed.selector, "a cancelled quote failed otherwise");
        }
        _count("cancelQuote");
    }

    // ------------------------------------------------------------------ proposals

    function propose(uint256 proposerSeed, uint256 otherSeed, bool giveEur, uint256 give, uint256 want, uint256 ttl)
        external
    {
        uint256 p = proposerSeed % 5;
        address proposer = party(p);
        address counterparty = party(p + 1 + otherSeed % 4);
        (DepositToken gt, DepositToken wt) = giveEur ? (eur, usdA) : (usdA, eur);
        uint256 balance = gt.balanceOf(proposer);
        if (balance == 0) return;
        give = _bound(give, 1, balance);
        want = _bound(want, 1, 1_000_000_00);
        uint64 expiry = uint64(block.timestamp + _bound(ttl, 1, 2 days));
        vm.prank(proposer);
        uint256 id = pvp.propose(counterparty, address(gt), give, address(wt), want, expiry);
        _proposals.push(Proposal(id, proposer, counterparty, address(gt), give, address(wt), want, expiry, PvPSettlement.Status.Open, 0));
        expected[address(gt)][proposer] -= give;
        _count("propose");
    }

    function accept(uint256 index, bool withTerms) external {
        if (_proposals.length == 0) return;
        Proposal storage p = _pick(index);
        bool allowed = p.status == PvPSettlement.Status.Open && block.timestamp <= p.expiry
            && IERC20(p.wantToken).balanceOf(p.counterparty) >= p.wantAmount;
        bool ok;
        vm.prank(p.counterparty);
        if (withTerms && p.status == PvPSettlement.Status.Open) {
            bytes32 terms = keccak256(abi.encode(p.proposer, p.counterparty, p.giveToken, p.giveAmount, p.wantToken, p.wantAmount, p.expiry));
            try pvp.accept(p.id, terms) {
                ok = true;
            } catch {}
        } else {
            try pvp.accept(p.id) {
                ok = true;
            } catch {}
        }
        _check(ok == allowed, ok ? "accept succeeded when it must not" : "a valid accept reverted");
        if (!ok) return;
        _end(p, PvPSettlement.Status.Accepted);
        _move(DepositToken(p.wantToken), p.counterparty, p.proposer, p.wantAmount);
        expected[p.giveToken][p.counterparty] += p.giveAmount; // the locked leg
        _count("accept");
    }

    function cancel(uint256 index, uint256 callerSeed) external {
        if (_proposals.length == 0) return;
        Proposal storage p = _pick(index);
        address caller = callerSeed % 4 == 0 ? p.counterparty : p.proposer; // one in four: not the proposer
        bool allowed = p.status == PvPSettlement.Status.Open && caller == p.proposer;
        vm.prank(caller);
        try pvp.cancel(p.id) {
            _check(allowed, "cancel succeeded when it must not");
            _end(p, PvPSettlement.Status.Cancelled);
            expected[p.giveToken][p.proposer] += p.giveAmount;
            _count("cancel");
        } catch {
            _check(!allowed, "a valid cancel reverted");
        }
    }

    function expire(uint256 index) external {
        if (_proposals.length == 0) return;
        Proposal storage p = _pick(index);
        bool allowed = p.status == PvPSettlement.Status.Open && block.timestamp > p.expiry;
        try pvp.expire(p.id) {
            _check(allowed, "expire succeeded when it must not");
            _end(p, PvPSettlement.Status.Expired);
            expected[p.giveToken][p.proposer] += p.giveAmount;
            _count("expire");
        } catch {
            _check(!allowed, "a valid expire reverted");
        }
    }

    function seize(uint256 index, bytes32 legalOrderRef) external {
        if (_proposals.length == 0 || uint256(legalOrderRef) % 3 != 0) return; // a rarer action
        Proposal storage p = _pick(index);
        bool allowed = p.status == PvPSettlement.Status.Open;
        vm.prank(LEGAL);
        try pvp.seizeProposal(p.id, PVP_SINK, legalOrderRef | bytes32(uint256(1))) {
            _check(allowed, "seizeProposal succeeded on a closed proposal");
            _end(p, PvPSettlement.Status.Seized);
            expected[p.giveToken][PVP_SINK] += p.giveAmount;
            _count("seize");
        } catch {
            _check(!allowed, "a valid seizeProposal reverted");
        }
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + _bound(seconds_, 1, 1 days));
    }

    /// @dev At the end of a run (not fuzzed): time passes every expiry and anyone expires every open
    /// proposal, which returns its locked amount. Reverts (failing the run) if one cannot.
    function drain() external {
        uint256 latest = block.timestamp;
        for (uint256 i = 0; i < _proposals.length; ++i) {
            if (_proposals[i].expiry > latest) latest = _proposals[i].expiry;
        }
        vm.warp(latest + 1);
        for (uint256 i = 0; i < _proposals.length; ++i) {
            Proposal storage p = _proposals[i];
            if (p.status != PvPSettlement.Status.Open) continue;
            pvp.expire(p.id);
            _end(p, PvPSettlement.Status.Expired);
            expected[p.giveToken][p.proposer] += p.giveAmount;
        }
    }

    // ------------------------------------------------------------------ books

    function _pick(uint256 seed) private view returns (Proposal storage) {
        uint256 n = _proposals.length;
        uint256 i = seed % n;
        if (seed % 4 != 0) {
            for (uint256 k = 0; k < n; ++k) {
                if (_proposals[(i + k) % n].endings == 0) return _proposals[(i + k) % n];
            }
        }
        return _proposals[i];
    }

    function _end(Proposal storage p, PvPSettlement.Status outcome) private {
        p.status = outcome;
        ++p.endings;
    }

    function _move(DepositToken token, address from, address to, uint256 amount) private {
        expected[address(token)][from] -= amount;
        expected[address(token)][to] += amount;
    }

    function _use(address maker, bytes32 nonce) private {
        if (uses[maker][nonce]++ != 0) _violation("a nonce was used twice");
        _makers.push(maker);
        _nonces.push(nonce);
    }

    function _freshNonce() private returns (bytes32) {
        return keccak256(abi.encode("nonce", ++_nonceCount));
    }

    function _digest(bytes32 structHash) private view returns (bytes32) {
        bytes32 domain = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("DepositToken PvP Settlement"),
                keccak256("1"),
                block.chainid,
                address(pvp)
            )
        );
        return keccak256(abi.encodePacked("\x19\x01", domain, structHash));
    }

    function _sign(uint256 k, bytes32 digest) private pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(k == 0 ? DESK_KEY_0 : DESK_KEY_1, digest);
        return abi.encodePacked(r, s, v);
    }
}

/// @dev The PvP settlement's invariants, after every call of {PvPHandler}.
contract PvPSettlementInvariants is InvariantBase, NetworkFixture {
    PvPSettlement internal pvp;
    DepositToken internal eur;
    DepositToken internal usdA;
    DepositToken internal usdB;
    InterbankNetwork internal network;
    PvPHandler internal handler;
    uint256 internal supplyEur;
    uint256 internal supplyUsd;

    function setUp() public {
        vm.warp(1_800_000_000);
        uint64 kyc = uint64(block.timestamp + 3650 days);
        eur = deployToken("EUR", "EUR", type(uint128).max);
        usdA = deployToken("USDA", "USD", type(uint128).max);
        usdB = deployToken("USDB", "USD", type(uint128).max);
        pvp = new PvPSettlement();
        SettlementAsset asset;
        (asset, network) = deployNetwork(IInterbankNetwork.Mode.Net, 0);
        joinNetwork(network, asset, usdA, address(0xBA0A), 1e15, type(uint128).max);
        joinNetwork(network, asset, usdB, address(0xBA0B), 1e15, type(uint128).max);
        DepositToken[3] memory tokens = [eur, usdA, usdB];
        for (uint256 t = 0; t < 3; ++t) {
            onboard(tokens[t], address(pvp), kyc);
            onboard(tokens[t], PVP_SINK, kyc);
            for (uint256 i = 0; i < 5; ++i) {
                address a = i < 2 ? vm.addr(i == 0 ? DESK_KEY_0 : DESK_KEY_1) : clientAt(i - 2);
                onboard(tokens[t], a, kyc);
                mintTo(tokens[t], a, 1_000_000_00, keccak256(abi.encode(t, i)));
                vm.startPrank(a);
                tokens[t].approve(address(pvp), type(uint256).max);
                tokens[t].approve(address(network), type(uint256).max);
                vm.stopPrank();
            }
        }
        supplyEur = eur.totalSupply();
        supplyUsd = usdA.totalSupply() + usdB.totalSupply();
        handler = new PvPHandler(pvp, eur, usdA, usdB, network);
        bytes4[] memory s = new bytes4[](10);
        s[0] = PvPHandler.settle.selector;
        s[1] = PvPHandler.settleRouted.selector;
        s[2] = PvPHandler.replay.selector;
        s[3] = PvPHandler.cancelQuote.selector;
        s[4] = PvPHandler.propose.selector;
        s[5] = PvPHandler.accept.selector;
        s[6] = PvPHandler.cancel.selector;
        s[7] = PvPHandler.expire.selector;
        s[8] = PvPHandler.seize.selector;
        s[9] = PvPHandler.warp.selector;
        targetHandler(address(handler), s);
    }

    /// PvP holds no token after any call but the open proposals' locked amounts (zero without one):
    /// balance == outstanding == their sum, on each token; and it leaves no allowance to the network.
    function invariant_holdsOnlyOpenProposals() public view {
        DepositToken[3] memory tokens = [eur, usdA, usdB];
        for (uint256 t = 0; t < 3; ++t) {
            uint256 open = handler.openLocked(address(tokens[t]));
            assert(tokens[t].balanceOf(address(pvp)) == open);
            assert(pvp.outstanding(address(tokens[t])) == open);
        }
        assert(usdA.allowance(address(pvp), address(network)) == 0);
    }

    /// Both legs or neither: every party holds what the settled legs say; supplies move only by routed
    /// payments (burned at bank A == minted at bank B).
    function invariant_bothLegsOrNeither() public view {
        assert(handler.balancesAsBooked());
        assert(eur.totalSupply() == supplyEur);
        assert(usdA.totalSupply() + usdB.totalSupply() == supplyUsd);
    }

    /// Each quote (maker, nonce) settles or is cancelled at most once, and stays used.
    function invariant_quotesSettleOnce() public view {
        assert(handler.usedOnceAndRecorded());
    }

    /// Every proposal leaves Open once, as the contract records it.
    function invariant_proposalsEndOnce() public view {
        assert(pvp.proposalCount() == handler.proposalCount());
        for (uint256 i = 0; i < handler.proposalCount(); ++i) {
            PvPHandler.Proposal memory p = handler.proposal(i);
            assert(p.endings <= 1);
            assert(pvp.proposal(p.id).status == p.status);
        }
    }

    /// No action saw the contract do what it must not (or refuse what it must do).
    function invariant_noViolation() public view {
        if (handler.violations() != 0) revert(handler.firstViolation());
    }

    /// After each run: once every proposal expired and was closed, PvP holds nothing at all.
    function afterInvariant() public {
        handler.drain();
        DepositToken[3] memory tokens = [eur, usdA, usdB];
        for (uint256 t = 0; t < 3; ++t) {
            assert(tokens[t].balanceOf(address(pvp)) == 0 && pvp.outstanding(address(tokens[t])) == 0);
        }
        invariant_bothLegsOrNeither();
        invariant_proposalsEndOnce();
        invariant_noViolation();
    }
}
