// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {DepositToken} from "../../../contracts/token/DepositToken.sol";
import {InterbankNetwork} from "../../../contracts/settlement/InterbankNetwork.sol";
import {SettlementAsset} from "../../../contracts/settlement/SettlementAsset.sol";
import {IInterbankNetwork} from "../../../contracts/interfaces/IInterbankNetwork.sol";
import {NetworkFixture} from "../utils/NetworkFixture.sol";
import {InvariantBase, HandlerBase} from "../utils/InvariantBase.sol";

uint256 constant BANKS = 3;
uint256 constant CLIENTS_PER_BANK = 2;
uint256 constant COLLATERAL = 50_000_00; // each bank's first collateral: payments of clients holding 1,000,000.00 hit it
uint16 constant HAIRCUT_BPS = 1000;

function bankOperator(uint256 b) pure returns (address) {
    return address(uint160(0xBA00 + b));
}

/// @dev Client `c` (of BANKS * CLIENTS_PER_BANK) banks at bank c / CLIENTS_PER_BANK.
function clientOf(uint256 c) pure returns (address) {
    return address(uint160(0xC100 + c));
}

/**
 * @dev Drives the real InterbankNetwork, with its SettlementAsset and three real member DepositTokens:
 * payments between clients of different banks (some beyond the payer bank's debit limit), replays of
 * used payment ids, cycles, early settlements, collateral posted and withdrawn (some beyond what is
 * free), haircut changes and suspensions. Each action checks the network's answer against the rules
 * computed here, and the ghost books follow every bank's position and collateral and every token's supply.
 */
contract NetworkHandler is HandlerBase, NetworkFixture {
    InterbankNetwork public immutable network;
    SettlementAsset public immutable asset;
    bool public immutable net;
    DepositToken[BANKS] internal _tokens;

    int256[BANKS] public position;
    uint256[BANKS] public collateral;
    uint256[BANKS] public initialSupply;
    uint256[BANKS] public minted; // by the network at the payee's bank
    uint256[BANKS] public burned; // by the network at the payer's bank
    uint16[BANKS] public guaranteedHaircut; // the haircut in force at the bank's last debit increase or withdrawal
    uint256 public settledEarly;
    uint16 public haircut;
    bool[BANKS] public suspended;
    mapping(address account => uint256) public expected; // clients' balances at their own bank

    address[] internal _payers;
    bytes32[] internal _ids;
    uint256 internal _idCount;

    constructor(InterbankNetwork network_, SettlementAsset asset_, DepositToken[BANKS] memory tokens_) {
        (network, asset, _tokens) = (network_, asset_, tokens_);
        net = network_.mode() == IInterbankNetwork.Mode.Net;
        haircut = network_.haircutBps();
        for (uint256 b = 0; b < BANKS; ++b) {
            collateral[b] = network_.bank(address(tokens_[b])).collateral;
            initialSupply[b] = tokens_[b].totalSupply();
        }
        for (uint256 c = 0; c < BANKS * CLIENTS_PER_BANK; ++c) {
            expected[clientOf(c)] = tokens_[c / CLIENTS_PER_BANK].balanceOf(clientOf(c));
        }
    }

    function token(uint256 b) external view returns (DepositToken) {
        return _tokens[b];
    }

    function paymentCount() external view returns (uint256) {
        return _ids.length;
    }

    function payment(uint256 i) external view returns (address payer, bytes32 id) {
        return (_payers[i], _ids[i]);
    }

    // ------------------------------------------------------------------ payments

    struct Payment {
        uint256 from; // the payer's bank
        uint256 to; // the payee's bank
        address payer;
        address payee;
        uint256 amount;
        bytes32 id;
        bool allowed;
        uint256 supplyFrom;
        uint256 supplyTo;
    }

    function pay(uint256 payerSeed, uint256 payeeSeed, uint256 amount) external {
        Payment memory p;
        uint256 c = payerSeed % (BANKS * CLIENTS_PER_BANK);
        p.from = c / CLIENTS_PER_BANK;
        p.to = (p.from + 1 + payeeSeed % (BANKS - 1)) % BANKS;
        p.payer = clientOf(c);
        p.payee = clientOf(p.to * CLIENTS_PER_BANK + (payeeSeed / BANKS) % CLIENTS_PER_BANK);
        uint256 room = _headroom(p.from);
        uint256 balance = _tokens[p.from].balanceOf(p.payer);
        if (balance == 0) return;
        p.amount = _bound(amount, 1, _min(balance, room + room / 4 + 1)); // one in five or so beyond the limit
        p.id = keccak256(abi.encode("payment", ++_idCount));
        p.allowed = !suspended[p.from] && !suspended[p.to] && p.amount <= room;
        p.supplyFrom = _tokens[p.from].totalSupply();
        p.supplyTo = _tokens[p.to].totalSupply();
        vm.prank(p.payer);
        try network.pay(address(_tokens[p.from]), address(_tokens[p.to]), p.payee, p.amount, p.id) {
            _paid(p);
        } catch {
            _check(!p.allowed, "a payment within the limit reverted");
            _count("payRefused");
        }
    }

    function _paid(Payment memory p) private {
        _check(p.allowed, "a payment beyond the debit limit, or of a suspended bank, went through");
        _check(_tokens[p.from].totalSupply() == p.supplyFrom - p.amount && _tokens[p.to].totalSupply() == p.supplyTo + p.amount,
            "a payment's burn at the payer's bank is not its mint at the payee's");
        if (net) {
            position[p.from] -= int256(p.amount);
            position[p.to] += int256(p.amount);
        } else {
            collateral[p.from] -= p.amount;
            collateral[p.to] += p.amount;
        }
        guaranteedHaircut[p.from] = haircut;
        burned[p.from] += p.amount;
        minted[p.to] += p.amount;
        expected[p.payer] -= p.amount;
        expected[p.payee] += p.amount;
        _payers.push(p.payer);
        _ids.push(p.id);
        _count("pay");
    }

    /// @dev A used payment id, by the same payer: refused, whatever the amount and payee.
    function replay(uint256 index, uint256 payeeSeed) external {
        if (_ids.length == 0) return;
        uint256 i = index % _ids.length;
        address payer = _payers[i];
        uint256 c = uint160(payer) - 0xC100;
        uint256 from = c / CLIENTS_PER_BANK;
        uint256 to = (from + 1 + payeeSeed % (BANKS - 1)) % BANKS;
        if (_tokens[from].balanceOf(payer) == 0) return;
        vm.prank(payer);
        try network.pay(address(_tokens[from]), address(_tokens[to]), clientOf(to * CLIENTS_PER_BANK), 1, _ids[i]) {
            _violation("a payment id was used twice");
        } catch (bytes memory reason) {
            _check(bytes4(reason) == IInterbankNetwork.PaymentIdUsed.selector
                || bytes4(reason) == IInterbankNetwork.BankSuspended.selector
                || bytes4(reason) == IInterbankNetwork.DebitLimitExceeded.selector
                || bytes4(reason) == IInterbankNetwork.InsufficientCollateral.selector,
                "a replay failed for another reason");
        }
        _count("replay");
    }

    // ------------------------------------------------------------------ settlement and collateral

    function settleCycle() external {
        vm.prank(SETTLEMENT_OPERATOR);
        try network.settleCycle() {
            _check(net, "a gross network settled a cycle");
            for (uint256 b = 0; b < BANKS; ++b) {
                collateral[b] = uint256(int256(collateral[b]) + position[b]);
                position[b] = 0;
            }
            settledEarly = 0;
            _count("settleCycle");
        } catch {
            _check(!net, "a cycle failed to settle");
        }
    }

    function settleEarly(uint256 bankSeed, uint256 amount) external {
        uint256 b = bankSeed % BANKS;
        uint256 debit = position[b] < 0 ? uint256(-position[b]) : 0;
        if (net && debit == 0) return;
        amount = _bound(amount, 1, debit + 1); // the last value: one more than the debit
        bool allowed = net && amount <= debit;
        vm.prank(bankOperator(b));
        try network.settleEarly(address(_tokens[b]), amount) {
            _check(allowed, "an early settlement beyond the debit (or in gross mode) went through");
            collateral[b] -= amount;
            position[b] += int256(amount);
            settledEarly += amount;
            _count("settleEarly");
        } catch {
            _check(!allowed, "a valid early settlement reverted");
        }
    }

    function withdraw(uint256 bankSeed, uint256 amount) external {
        uint256 b = bankSeed % BANKS;
        uint256 free = _free(b);
        amount = _bound(amount, 1, free + free / 4 + 1);
        bool allowed = amount <= free;
        vm.prank(bankOperator(b));
        try network.withdrawCollateral(address(_tokens[b]), amount, bankOperator(b)) {
            _check(allowed, "a withdrawal of collateral a debit needs went through");
            collateral[b] -= amount;
            guaranteedHaircut[b] = haircut;
            _count("withdraw");
        } catch {
            _check(!allowed, "a withdrawal of free collateral reverted");
            _count("withdrawRefused");
        }
    }

    function post(uint256 bankSeed, uint256 amount) external {
        uint256 b = bankSeed % BANKS;
        amount = _bound(amount, 1, COLLATERAL);
        vm.prank(CENTRAL_BANK);
        asset.mint(bankOperator(b), amount);
        vm.startPrank(bankOperator(b));
        asset.approve(address(network), amount);
        network.postCollateral(address(_tokens[b]), amount);
        vm.stopPrank();
        collateral[b] += amount;
        _count("post");
    }

    // ------------------------------------------------------------------ administration

    function setHaircut(uint256 bps) external {
        uint16 h = uint16(_bound(bps, 0, 5000));
        vm.prank(CENTRAL_BANK);
        network.setHaircut(h);
        haircut = h;
    }

    function setBankActive(uint256 bankSeed, uint256 odds) external {
        uint256 b = bankSeed % BANKS;
        bool active = odds % 3 != 0; // suspended one time in three
        vm.prank(CENTRAL_BANK);
        network.setBankActive(address(_tokens[b]), active);
        suspended[b] = !active;
    }

    /// @dev At the end of a run (not fuzzed): the cycle closes (net mode) and every bank's operator
    /// withdraws all its collateral, suspended or not. Reverts (failing the run) if one cannot.
    function drain() external {
        if (net) {
            vm.prank(SETTLEMENT_OPERATOR);
            network.settleCycle();
            for (uint256 b = 0; b < BANKS; ++b) {
                collateral[b] = uint256(int256(collateral[b]) + position[b]);
                position[b] = 0;
            }
            settledEarly = 0;
        }
        for (uint256 b = 0; b < BANKS; ++b) {
            if (collateral[b] == 0) continue;
            vm.prank(bankOperator(b));
            network.withdrawCollateral(address(_tokens[b]), collateral[b], bankOperator(b));
            collateral[b] = 0;
        }
    }

    // ------------------------------------------------------------------ the rules, computed here

    function _headroom(uint256 b) private view returns (uint256) {
        if (!net) return collateral[b];
        int256 room = int256(collateral[b] * (10_000 - haircut) / 10_000) + position[b];
        return room > 0 ? uint256(room) : 0;
    }

    function _free(uint256 b) private view returns (uint256) {
        uint256 debit = position[b] < 0 ? uint256(-position[b]) : 0;
        uint256 needed = (debit * 10_000 + (10_000 - haircut) - 1) / (10_000 - haircut);
        return collateral[b] > needed ? collateral[b] - needed : 0;
    }

    function _min(uint256 a, uint256 b) private pure returns (uint256) {
        return a < b ? a : b;
    }
}

/// @dev The interbank network's invariants, after every call of {NetworkHandler}; one contract per mode.
abstract contract InterbankNetworkInvariants is InvariantBase, NetworkFixture {
    InterbankNetwork internal network;
    SettlementAsset internal asset;
    NetworkHandler internal handler;
    DepositToken[BANKS] internal tokens;
    uint256 internal totalSupply;

    function mode() internal pure virtual returns (IInterbankNetwork.Mode);

    function setUp() public {
        vm.warp(1_800_000_000);
        uint64 kyc = uint64(block.timestamp + 3650 days);
        (asset, network) = deployNetwork(mode(), HAIRCUT_BPS);
        for (uint256 b = 0; b < BANKS; ++b) {
            tokens[b] = deployToken(string.concat("USD", string(abi.encodePacked(bytes1(uint8(65 + b))))), "USD", type(uint128).max);
            joinNetwork(network, asset, tokens[b], bankOperator(b), COLLATERAL, type(uint128).max);
            for (uint256 i = 0; i < CLIENTS_PER_BANK; ++i) {
                address client = clientOf(b * CLIENTS_PER_BANK + i);
                onboard(tokens[b], client, kyc);
                mintTo(tokens[b], client, 1_000_000_00, bytes32(b * CLIENTS_PER_BANK + i + 1));
                vm.prank(client);
                tokens[b].approve(address(network), type(uint256).max);
            }
            totalSupply += tokens[b].totalSupply();
        }
        handler = new NetworkHandler(network, asset, tokens);
        bytes4[] memory s = new bytes4[](9);
        s[0] = NetworkHandler.pay.selector;
        s[1] = NetworkHandler.replay.selector;
        s[2] = NetworkHandler.settleCycle.selector;
        s[3] = NetworkHandler.settleEarly.selector;
        s[4] = NetworkHandler.withdraw.selector;
        s[5] = NetworkHandler.post.selector;
        s[6] = NetworkHandler.setHaircut.selector;
        s[7] = NetworkHandler.setBankActive.selector;
        s[8] = NetworkHandler.pay.selector; // payments twice as often
        targetHandler(address(handler), s);
    }

    /// The positions sum to what was settled early this cycle (zero after each cycle; always zero in
    /// gross mode), and are what the ghost books say.
    function invariant_positionsSumToZero() public view {
        int256 sum;
        for (uint256 b = 0; b < BANKS; ++b) {
            IInterbankNetwork.Bank memory bank = network.bank(address(tokens[b]));
            assert(bank.position == handler.position(b));
            sum += bank.position;
        }
        assert(sum == int256(network.settledEarly()));
        assert(network.settledEarly() == handler.settledEarly());
        if (mode() == IInterbankNetwork.Mode.Gross) assert(sum == 0 && handler.settledEarly() == 0);
    }

    /// Collateral covers every net debit: a debit never exceeds the collateral (so a cycle cannot fail),
    /// and stays within the collateral less the haircut in force when the bank last added to its debit
    /// or withdrew (a later rise of the haircut calls in no debit: it stops new ones, headroom 0).
    function invariant_collateralCoversDebits() public view {
        uint256 held;
        for (uint256 b = 0; b < BANKS; ++b) {
            IInterbankNetwork.Bank memory bank = network.bank(address(tokens[b]));
            assert(bank.collateral == handler.collateral(b));
            uint256 debit = bank.position < 0 ? uint256(-bank.position) : 0;
            assert(debit <= bank.collateral);
            assert(debit * 10_000 <= bank.collateral * (10_000 - handler.guaranteedHaircut(b)));
            held += bank.collateral;
        }
        // every unit of the settlement asset here is a bank's collateral or settled early this cycle
        assert(asset.balanceOf(address(network)) == held + network.settledEarly());
    }

    /// Supplies change only by paid amounts: what the network burned at payers' banks it minted at
    /// payees' banks; it keeps no deposit token; clients hold what the payments say.
    function invariant_suppliesMoveOnlyByPayments() public view {
        uint256 sum;
        uint256 burnedTotal;
        uint256 mintedTotal;
        for (uint256 b = 0; b < BANKS; ++b) {
            uint256 supply = tokens[b].totalSupply();
            assert(supply == handler.initialSupply(b) + handler.minted(b) - handler.burned(b));
            assert(tokens[b].balanceOf(address(network)) == 0);
            sum += supply;
            burnedTotal += handler.burned(b);
            mintedTotal += handler.minted(b);
            for (uint256 i = 0; i < CLIENTS_PER_BANK; ++i) {
                address client = clientOf(b * CLIENTS_PER_BANK + i);
                assert(tokens[b].balanceOf(client) == handler.expected(client));
            }
        }
        assert(burnedTotal == mintedTotal);
        assert(sum == totalSupply);
    }

    /// Every payment id a payer used stays used (replays are refused: {invariant_noViolation}).
    function invariant_paymentIdsOnce() public view {
        for (uint256 i = 0; i < handler.paymentCount(); ++i) {
            (address payer, bytes32 id) = handler.payment(i);
            assert(network.isPaymentIdUsed(payer, id));
        }
    }

    /// No action saw the network do what it must not (or refuse what it must do).
    function invariant_noViolation() public view {
        if (handler.violations() != 0) revert(handler.firstViolation());
    }

    /// After each run: a cycle closes whatever the positions (no debit exceeds its collateral), and
    /// then every bank can take all its collateral out: the network is left holding no settlement asset.
    function afterInvariant() public {
        handler.drain();
        assert(asset.balanceOf(address(network)) == 0);
        invariant_positionsSumToZero();
        invariant_collateralCoversDebits();
        invariant_noViolation();
    }
}

contract InterbankNetworkNetInvariants is InterbankNetworkInvariants {
    function mode() internal pure override returns (IInterbankNetwork.Mode) {
        return IInterbankNetwork.Mode.Net;
    }
}

contract InterbankNetworkGrossInvariants is InterbankNetworkInvariants {
    function mode() internal pure override returns (IInterbankNetwork.Mode) {
        return IInterbankNetwork.Mode.Gross;
    }
}
