// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/**
 * @title PvPSettlement
 * @notice Payment-versus-payment (PvP) settlement of foreign exchange between two banks' deposit
 * tokens: both legs move in one transaction, or neither does.
 *
 * One step, a signed quote: a liquidity provider (a bank's FX desk, the *maker*) signs an EIP-712
 * {Quote} (pair, amounts, rate, expiry, random nonce, the one *taker* it is for); the taker settles
 * it with {settle}. The maker's amount goes from the maker to the taker and the taker's amount from
 * the taker to the maker, both straight from party to party with `transferFrom`: this contract never
 * holds the funds of a settlement. Desks that sign with a contract wallet are accepted (ERC-1271).
 *
 * Two steps, for counterparties that act at different times: the proposer locks what it gives in
 * this contract ({propose}); the counterparty accepts before the expiry ({accept}), which pays the
 * proposer and releases the locked amount to the counterparty in one transaction; until then the
 * proposer may take it back ({cancel}), and after the expiry anyone may return it ({expire}). This
 * contract holds exactly the locked amounts of open proposals ({lockedBalance}).
 *
 * @dev Deposit tokens let only allowlisted, unfrozen accounts send, receive and spend: this contract
 * is the spender of both legs of a settlement (and the holder of locked amounts), so each token's
 * compliance role must allowlist this contract's address, and each party must be allowlisted on
 * both tokens and have approved this contract for what it pays. A paused token, a frozen party or
 * amount, a short balance or allowance make the whole transaction revert with the token's error.
 *
 * No owner, no rescue function: tokens sent here outside {propose} belong to no proposal and stay
 * (a deposit token's bank can move them with its legal role, `forcedTransfer`). A refund ({cancel},
 * {expire}) to a proposer who is frozen or no longer allowlisted reverts until its bank lifts the
 * restriction. Tokens that charge a fee on transfer are not supported.
 */
contract PvPSettlement is EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice An FX quote signed by its maker (EIP-712), settled at most once by its taker.
    struct Quote {
        address maker; // pays makerAmount of makerToken, receives takerAmount of takerToken
        address taker; // the only account that may settle the quote
        address makerToken;
        uint256 makerAmount; // minor units of makerToken
        address takerToken;
        uint256 takerAmount; // minor units of takerToken
        uint256 rate; // the quoted rate, makerAmount / takerAmount in whole currency units, 18 decimals
        uint256 expiry; // unix seconds: settleable while block.timestamp <= expiry
        bytes32 nonce; // random; each (maker, nonce) settles or is cancelled once
    }

    /// @notice Where a two-step proposal stands; every proposal leaves `Open` exactly once.
    enum Status {
        None,
        Open,
        Accepted,
        Cancelled,
        Expired
    }

    /// @notice A two-step exchange: `giveAmount` of `giveToken`, locked here, against `wantAmount`
    /// of `wantToken` from `counterparty`.
    struct Proposal {
        address proposer; // slot 0, with expiry and status
        uint64 expiry; // unix seconds: acceptable while block.timestamp <= expiry
        Status status;
        address counterparty; // slot 1
        address giveToken; // slot 2
        uint256 giveAmount; // slot 3
        address wantToken; // slot 4
        uint256 wantAmount; // slot 5
    }

    bytes32 private constant QUOTE_TYPEHASH = keccak256(
        "Quote(address maker,address taker,address makerToken,uint256 makerAmount,address takerToken,"
        "uint256 takerAmount,uint256 rate,uint256 expiry,bytes32 nonce)"
    );

    mapping(address maker => mapping(bytes32 nonce => bool)) private _quoteUsed;
    mapping(uint256 id => Proposal) private _proposals;
    mapping(address token => uint256) private _locked;
    uint256 private _proposalCount;

    /// @notice The quote `quoteHash` of `maker` was settled by `taker`: `makerAmount` of
    /// `makerToken` went to the taker and `takerAmount` of `takerToken` to the maker, at `rate`.
    event Settled(
        bytes32 indexed quoteHash,
        address indexed maker,
        address indexed taker,
        bytes32 nonce,
        address makerToken,
        uint256 makerAmount,
        address takerToken,
        uint256 takerAmount,
        uint256 rate
    );

    /// @notice `maker` revoked its quote(s) with `nonce`: they can no longer be settled.
    event QuoteCancelled(address indexed maker, bytes32 indexed nonce);

    /// @notice `proposer` locked `giveAmount` of `giveToken` for `counterparty`, against
    /// `wantAmount` of `wantToken`, acceptable until `expiry`.
    event Proposed(
        uint256 indexed id,
        address indexed proposer,
        address indexed counterparty,
        address giveToken,
        uint256 giveAmount,
        address wantToken,
        uint256 wantAmount,
        uint64 expiry
    );

    /// @notice The counterparty accepted proposal `id`: both legs moved.
    event ProposalAccepted(uint256 indexed id, address indexed proposer, address indexed counterparty);

    /// @notice The proposer cancelled proposal `id` and took back its locked amount.
    event ProposalCancelled(uint256 indexed id, address indexed proposer);

    /// @notice Proposal `id` expired unaccepted; its locked amount went back to the proposer.
    event ProposalExpired(uint256 indexed id, address indexed proposer);

    /// @notice Only the quote's taker may settle it.
    error NotTaker(address caller, address taker);

    /// @notice The quote expired at `expiry`.
    error QuoteExpired(uint256 expiry);

    /// @notice The maker's `nonce` was settled or cancelled already.
    error QuoteAlreadyUsed(address maker, bytes32 nonce);

    /// @notice The signature is not the maker's over this quote (ECDSA or ERC-1271).
    error InvalidQuoteSignature(address maker);

    /// @notice Both amounts of an exchange must be non-zero.
    error ZeroAmount();

    /// @notice A token must be a contract address, and the two legs must use different tokens.
    error InvalidToken(address token);

    /// @notice The other party must be a different, non-zero address.
    error InvalidCounterparty(address counterparty);

    /// @notice A proposal's expiry must lie in the future.
    error InvalidExpiry(uint64 expiry);

    /// @notice No proposal has this id.
    error UnknownProposal(uint256 id);

    /// @notice The proposal was already accepted, cancelled or expired.
    error ProposalNotOpen(uint256 id, Status status);

    /// @notice Only the proposal's counterparty may accept it.
    error NotCounterparty(address caller, address counterparty);

    /// @notice Only the proposer may cancel its proposal.
    error NotProposer(address caller, address proposer);

    /// @notice The proposal expired at `expiry` and can no longer be accepted.
    error ProposalPastExpiry(uint256 id, uint64 expiry);

    /// @notice The proposal is acceptable until `expiry`; it cannot be expired before.
    error ProposalNotExpired(uint256 id, uint64 expiry);

    constructor() EIP712("DepositToken PvP Settlement", "1") {}

    // ------------------------------------------------------------------ signed quotes (one step)

    /**
     * @notice Settles the maker's signed quote `q`: `q.makerAmount` of `q.makerToken` from the maker
     * to the caller and `q.takerAmount` of `q.takerToken` from the caller to the maker, atomically.
     * @dev Caller must be `q.taker`; the quote unexpired, its nonce unused, the signature the maker's
     * (ECDSA, or ERC-1271 for a contract wallet). Both parties must have approved this contract on
     * the token they pay, and this contract must be allowlisted on both tokens.
     * @param q The quote as the maker signed it.
     * @param signature The maker's signature over {hashQuote}(q).
     */
    function settle(Quote calldata q, bytes calldata signature) external nonReentrant {
        if (msg.sender != q.taker) revert NotTaker(msg.sender, q.taker);
        if (block.timestamp > q.expiry) revert QuoteExpired(q.expiry);
        _checkExchange(q.maker, q.makerToken, q.makerAmount, q.takerToken, q.takerAmount);
        if (_quoteUsed[q.maker][q.nonce]) revert QuoteAlreadyUsed(q.maker, q.nonce);
        bytes32 quoteHash = hashQuote(q);
        if (!SignatureChecker.isValidSignatureNowCalldata(q.maker, quoteHash, signature)) {
            revert InvalidQuoteSignature(q.maker);
        }
        _quoteUsed[q.maker][q.nonce] = true;
        emit Settled(
            quoteHash, q.maker, msg.sender, q.nonce, q.makerToken, q.makerAmount, q.takerToken, q.takerAmount, q.rate
        );
        IERC20(q.makerToken).safeTransferFrom(q.maker, msg.sender, q.makerAmount);
        IERC20(q.takerToken).safeTransferFrom(msg.sender, q.maker, q.takerAmount);
    }

    /// @notice Revokes the caller's outstanding quote(s) with `nonce` (as maker): they can no longer
    /// be settled. A contract wallet calls this itself.
    function cancelQuote(bytes32 nonce) external {
        if (_quoteUsed[msg.sender][nonce]) revert QuoteAlreadyUsed(msg.sender, nonce);
        _quoteUsed[msg.sender][nonce] = true;
        emit QuoteCancelled(msg.sender, nonce);
    }

    /// @notice Whether `maker`'s `nonce` was settled or cancelled.
    function quoteUsed(address maker, bytes32 nonce) external view returns (bool) {
        return _quoteUsed[maker][nonce];
    }

    /// @notice The EIP-712 digest of `q` under this contract's domain: what the maker signs.
    function hashQuote(Quote calldata q) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(QUOTE_TYPEHASH, q)));
    }

    // ------------------------------------------------------------------ proposals (two steps)

    /**
     * @notice Proposes to give `giveAmount` of `giveToken` to `counterparty` against `wantAmount` of
     * `wantToken`, acceptable until `expiry`. Locks `giveAmount` here (the caller must have approved
     * this contract for it) so that the counterparty can rely on it.
     * @return id The proposal's id (sequential, from 1).
     */
    function propose(
        address counterparty,
        address giveToken,
        uint256 giveAmount,
        address wantToken,
        uint256 wantAmount,
        uint64 expiry
    ) external nonReentrant returns (uint256 id) {
        _checkExchange(counterparty, giveToken, giveAmount, wantToken, wantAmount);
        if (expiry <= block.timestamp) revert InvalidExpiry(expiry);
        id = ++_proposalCount;
        _proposals[id] = Proposal({
            proposer: msg.sender,
            expiry: expiry,
            status: Status.Open,
            counterparty: counterparty,
            giveToken: giveToken,
            giveAmount: giveAmount,
            wantToken: wantToken,
            wantAmount: wantAmount
        });
        _locked[giveToken] += giveAmount;
        emit Proposed(id, msg.sender, counterparty, giveToken, giveAmount, wantToken, wantAmount, expiry);
        IERC20(giveToken).safeTransferFrom(msg.sender, address(this), giveAmount);
    }

    /// @notice Accepts proposal `id` (its counterparty, until its expiry): pays `wantAmount` to the
    /// proposer (the caller must have approved this contract) and receives the locked `giveAmount`.
    function accept(uint256 id) external nonReentrant {
        Proposal storage p = _openProposal(id);
        if (msg.sender != p.counterparty) revert NotCounterparty(msg.sender, p.counterparty);
        if (block.timestamp > p.expiry) revert ProposalPastExpiry(id, p.expiry);
        p.status = Status.Accepted;
        address proposer = p.proposer;
        (IERC20 giveToken, uint256 giveAmount) = _release(p);
        emit ProposalAccepted(id, proposer, msg.sender);
        IERC20(p.wantToken).safeTransferFrom(msg.sender, proposer, p.wantAmount);
        giveToken.safeTransfer(msg.sender, giveAmount);
    }

    /// @notice Cancels the caller's open proposal `id` and returns its locked amount to it.
    function cancel(uint256 id) external nonReentrant {
        Proposal storage p = _openProposal(id);
        if (msg.sender != p.proposer) revert NotProposer(msg.sender, p.proposer);
        p.status = Status.Cancelled;
        (IERC20 giveToken, uint256 giveAmount) = _release(p);
        emit ProposalCancelled(id, msg.sender);
        giveToken.safeTransfer(msg.sender, giveAmount);
    }

    /// @notice Closes open proposal `id` after its expiry and returns its locked amount to the
    /// proposer. Anyone may call it.
    function expire(uint256 id) external nonReentrant {
        Proposal storage p = _openProposal(id);
        if (block.timestamp <= p.expiry) revert ProposalNotExpired(id, p.expiry);
        p.status = Status.Expired;
        address proposer = p.proposer;
        (IERC20 giveToken, uint256 giveAmount) = _release(p);
        emit ProposalExpired(id, proposer);
        giveToken.safeTransfer(proposer, giveAmount);
    }

    /// @notice Proposal `id` (all zero, status None, if there is none).
    function proposal(uint256 id) external view returns (Proposal memory) {
        return _proposals[id];
    }

    /// @notice The number of proposals made; ids run from 1 to this.
    function proposalCount() external view returns (uint256) {
        return _proposalCount;
    }

    /// @notice How much of `token` open proposals lock in this contract.
    function lockedBalance(address token) external view returns (uint256) {
        return _locked[token];
    }

    // ------------------------------------------------------------------ internal

    /// @dev The checks shared by quotes and proposals: a distinct non-zero other party, two distinct
    /// tokens with code, two non-zero amounts.
    function _checkExchange(address other, address tokenA, uint256 amountA, address tokenB, uint256 amountB)
        private
        view
    {
        if (other == address(0) || other == msg.sender) revert InvalidCounterparty(other);
        if (tokenA.code.length == 0) revert InvalidToken(tokenA);
        if (tokenB.code.length == 0 || tokenB == tokenA) revert InvalidToken(tokenB);
        if (amountA == 0 || amountB == 0) revert ZeroAmount();
    }

    function _openProposal(uint256 id) private view returns (Proposal storage p) {
        p = _proposals[id];
        Status status = p.status;
        if (status == Status.None) revert UnknownProposal(id);
        if (status != Status.Open) revert ProposalNotOpen(id, status);
    }

    /// @dev Takes a closing proposal's locked amount off the books; returns what to pay out.
    function _release(Proposal storage p) private returns (IERC20 token, uint256 amount) {
        token = IERC20(p.giveToken);
        amount = p.giveAmount;
        _locked[address(token)] -= amount;
    }
}
