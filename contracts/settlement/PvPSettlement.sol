// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IInterbankNetwork} from "../interfaces/IInterbankNetwork.sol";
import {BankControlledPositions} from "./BankControlledPositions.sol";

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
 * The quote's `rate` is informational: it is signed (so it cannot be altered) and reported in the
 * {Settled} event, but the contract neither checks nor uses it. The two amounts rule: exactly
 * `makerAmount` and `takerAmount` move. The library checks the amounts against the rate before it
 * settles; a taker settling otherwise must check them itself.
 *
 * Across banks, a routed quote ({RoutedQuote}, {settleThroughNetwork}): a desk that holds the currency
 * it sells at one bank and is paid at another (no address is a client of two banks) signs where it
 * pays from (`maker`, its account at the `makerToken`'s bank), where it is paid (`receiver`, its
 * account at the `takerToken`'s bank) and the interbank `network` its payment may come through. The
 * taker pays from its own bank's token (`fromToken`): through the network ({IInterbankNetwork-pay},
 * this contract the payer, under a payment id derived from the quote, {routedPaymentId}) when that
 * is another bank than the receiver's, or with a plain transfer when it is the same; the maker's
 * amount goes to the `payee` the taker names. All in one transaction, or nothing.
 *
 * Two steps, for counterparties that act at different times: the proposer locks what it gives in
 * this contract ({propose}); the counterparty accepts before the expiry ({accept}, or with the
 * expected terms {accept(uint256,bytes32)} so that it settles only the proposal it read), which pays
 * the proposer and releases the locked amount to the counterparty in one transaction; until then the
 * proposer may take it back ({cancel}), and after the expiry anyone may return it ({expire}). This
 * contract holds exactly the locked amounts of open proposals ({outstanding} per token).
 *
 * The bank's controls over proposals (the deposit token's legal role, `LEGAL_ROLE`, of the token a
 * proposal locks, its `giveToken`): a legal exit ({seizeProposal}) moves exactly one open proposal's
 * locked amount to the account the bank names and closes it `Seized`; after a lost-key recovery
 * ({DepositToken-recoverAccount}) the bank moves the lost address's side of an open proposal to the
 * replacement ({replaceParty}). A token-level seizure (`forcedTransfer`/`seize`) of this contract's
 * balance is not the way: it takes from the pool of every proposal and leaves the books wrong
 * (balance below {outstanding}). Tokens sent here outside {propose} can be rescued by the token's
 * legal role ({rescueExcess}: only the balance above {outstanding}).
 *
 * Sanctions (a party the token restricts: ERC-7943 `canSend` false, i.e. not allowlisted, allowlisting
 * expired, or frozen). Money of a restricted party does not move through this contract to anyone
 * else; money going back to its owner is left to the token's own receive check. Who must be active:
 *
 * | action            | who must be active (on which token)                                              |
 * | ----------------- | -------------------------------------------------------------------------------- |
 * | {settle}          | maker and taker on both tokens (the tokens' `transferFrom` checks each leg)      |
 * | routed quotes     | {settleThroughNetwork}: maker and payee on makerToken, taker on fromToken,       |
 * |                   | receiver on takerToken (the tokens); across banks the network checks its banks   |
 * | {propose}         | proposer on giveToken (the token's `transferFrom`)                               |
 * | {accept}          | proposer on giveToken (checked here: its locked money goes to the counterparty); |
 * |                   | counterparty on wantToken and giveToken, proposer on wantToken (the tokens)      |
 * | {cancel}/{expire} | proposer on giveToken, as the receiver of its own money (the token)              |
 * | {seizeProposal}   | nobody of the parties; `to` must be able to receive (the token)                  |
 * | {replaceParty}    | the replacement on both tokens (checked here)                                    |
 *
 * So a sanction takes two steps to resolve: the restriction freezes the proposal (a restricted
 * proposer's proposal can be neither accepted nor, while it cannot receive, cancelled or expired),
 * then the bank either lifts the restriction, or exits the proposal ({seizeProposal}), or, after a
 * lost-key recovery, moves it to the replacement address ({replaceParty}).
 *
 * @dev Deposit tokens let only allowlisted, unfrozen accounts send, receive and spend: this contract
 * is the spender of both legs of a settlement (and the holder of locked amounts), so each token's
 * compliance role must allowlist this contract's address, and each party must be allowlisted on
 * both tokens and have approved this contract for what it pays. A paused token, a frozen party or
 * amount, a short balance or allowance make the whole transaction revert with the token's error.
 * No owner. Tokens that charge a fee on transfer are not supported.
 */
contract PvPSettlement is EIP712, BankControlledPositions {
    using SafeERC20 for IERC20;

    /// @notice An FX quote signed by its maker (EIP-712), settled at most once by its taker. Its `rate`
    /// is informational (signed, reported in {Settled}, never checked or used here): the amounts rule.
    struct Quote {
        address maker; // pays makerAmount of makerToken, receives takerAmount of takerToken
        address taker; // the only account that may settle the quote
        address makerToken;
        uint256 makerAmount; // minor units of makerToken
        address takerToken;
        uint256 takerAmount; // minor units of takerToken
        // The quoted rate, makerAmount / takerAmount in whole currency units, 18 decimals. Informational:
        // signed and reported in {Settled}, never checked or used by the contract; the amounts rule.
        uint256 rate;
        uint256 expiry; // unix seconds: settleable while block.timestamp <= expiry
        bytes32 nonce; // random; each (maker, nonce) settles or is cancelled once
    }

    /// @notice An FX quote across banks, signed by its maker (EIP-712), settled at most once (per
    /// maker and nonce, shared with {Quote}s) by its taker with {settleThroughNetwork}. Its `rate` is
    /// informational, as a {Quote}'s.
    struct RoutedQuote {
        address maker; // pays makerAmount of makerToken (the desk's account at makerToken's bank)
        address receiver; // receives takerAmount of takerToken (the desk's account at takerToken's bank)
        address taker; // the only account that may settle the quote
        address makerToken;
        uint256 makerAmount; // minor units of makerToken
        address takerToken; // the receiver's bank's token; the taker pays in the same currency
        uint256 takerAmount; // minor units of takerToken
        uint256 rate; // makerAmount / takerAmount in whole currency units, 18 decimals; informational
        uint256 expiry; // unix seconds: settleable while block.timestamp <= expiry
        bytes32 nonce; // random; each (maker, nonce) settles or is cancelled once
        address network; // the interbank network the taker's payment goes through (takerToken a member)
    }

    /// @notice Where a two-step proposal stands; every proposal leaves `Open` exactly once.
    enum Status {
        None,
        Open,
        Accepted,
        Cancelled,
        Expired,
        Seized // closed by the legal exit {seizeProposal}
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

    bytes32 private constant ROUTED_QUOTE_TYPEHASH = keccak256(
        "RoutedQuote(address maker,address receiver,address taker,address makerToken,uint256 makerAmount,"
        "address takerToken,uint256 takerAmount,uint256 rate,uint256 expiry,bytes32 nonce,address network)"
    );

    mapping(address maker => mapping(bytes32 nonce => bool)) private _quoteUsed;
    mapping(uint256 id => Proposal) private _proposals;
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

    /// @notice The routed quote `quote` (digest `quoteHash`) of `maker` was settled by `quote.taker`:
    /// `quote.makerAmount` of `quote.makerToken` went from the maker to `payee`, and `quote.takerAmount`
    /// from the taker's `fromToken` to `quote.receiver` at `quote.takerToken`'s bank: through
    /// `quote.network` under `paymentId` (its {IInterbankNetwork-InterbankPayment} event carries the
    /// same id) when the tokens differ, as a plain transfer when they are the same.
    event SettledThroughNetwork(
        bytes32 indexed quoteHash,
        address indexed maker,
        bytes32 indexed paymentId,
        address fromToken,
        address payee,
        RoutedQuote quote
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

    /// @notice The legal role of the proposal's giveToken (`by`) seized proposal `id` under legal order
    /// `legalOrderRef`: its locked `amount` went to `to`.
    event ProposalSeized(
        uint256 indexed id, address indexed to, uint256 amount, bytes32 legalOrderRef, address indexed by
    );

    /// @notice After a lost-key recovery, `replacement` took the place of `lost` in open proposal `id`.
    event PartyReplaced(uint256 indexed id, address indexed lost, address indexed replacement);

    /// @notice Only the quote's taker may settle it.
    error NotTaker(address caller, address taker);

    /// @notice The quote expired at `expiry`.
    error QuoteExpired(uint256 expiry);

    /// @notice The maker's `nonce` was settled or cancelled already.
    error QuoteAlreadyUsed(address maker, bytes32 nonce);

    /// @notice The signature is not the maker's over this quote (ECDSA or ERC-1271).
    error InvalidQuoteSignature(address maker);

    /// @notice The maker signed for payment through `signed`, not through the `given` network.
    error NetworkMismatch(address signed, address given);

    /// @notice `token` is not a member bank's token of `network`.
    error NotANetworkMember(address network, address token);

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

    /// @notice The proposal's terms ({proposalHash}) are `expected`, not the `given` ones the caller read.
    error ProposalTermsMismatch(uint256 id, bytes32 expected, bytes32 given);

    /// @notice `account` is neither the proposer nor the counterparty of proposal `id`.
    error NotAParty(uint256 id, address account);

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

    /**
     * @notice Settles the maker's signed routed quote `q` across banks: `q.makerAmount` of
     * `q.makerToken` from the maker to `payee`, and `q.takerAmount` from the caller's `fromToken` to
     * the maker's `q.receiver` at `q.takerToken`'s bank, atomically. When `fromToken` is another bank's
     * token this contract takes the caller's tokens, approves `network` for exactly that amount and
     * pays through it ({IInterbankNetwork-pay}, under {routedPaymentId}); when it is `q.takerToken`,
     * the caller pays the receiver with a plain transfer.
     * @dev Caller must be `q.taker`; the quote unexpired, its nonce unused (shared with {settle}), the
     * signature the maker's (ECDSA or ERC-1271); `payee` and `q.receiver` neither zero nor this contract
     * ({InvalidBeneficiary}); `network` the one the maker signed ({NetworkMismatch})
     * and both `fromToken` and `q.takerToken` its members ({NotANetworkMember}). The maker must have
     * approved this contract on makerToken, the taker on fromToken; this contract must be allowlisted
     * on makerToken and fromToken. The network's and the tokens' refusals (a suspended bank, the payer
     * bank's debit limit, a restricted party, a paused token) revert the whole transaction unchanged.
     * @param q The routed quote as the maker signed it.
     * @param signature The maker's signature over {hashRoutedQuote}(q).
     * @param network The interbank network the taker pays through: `q.network`.
     * @param fromToken The taker's own bank's token, in `q.takerToken`'s currency.
     * @param payee Who receives the maker's amount (a client of makerToken's bank; may be the taker).
     */
    function settleThroughNetwork(
        RoutedQuote calldata q,
        bytes calldata signature,
        address network,
        address fromToken,
        address payee
    ) external nonReentrant {
        if (msg.sender != q.taker) revert NotTaker(msg.sender, q.taker);
        if (block.timestamp > q.expiry) revert QuoteExpired(q.expiry);
        if (network != q.network) revert NetworkMismatch(q.network, network);
        _checkExchange(q.maker, q.makerToken, q.makerAmount, q.takerToken, q.takerAmount);
        if (payee == address(0) || payee == address(this)) revert InvalidBeneficiary(payee);
        if (q.receiver == address(0) || q.receiver == address(this)) revert InvalidBeneficiary(q.receiver);
        _requireMember(network, fromToken);
        _requireMember(network, q.takerToken);
        if (_quoteUsed[q.maker][q.nonce]) revert QuoteAlreadyUsed(q.maker, q.nonce);
        bytes32 quoteHash = hashRoutedQuote(q);
        if (!SignatureChecker.isValidSignatureNowCalldata(q.maker, quoteHash, signature)) {
            revert InvalidQuoteSignature(q.maker);
        }
        _quoteUsed[q.maker][q.nonce] = true;
        bytes32 paymentId = routedPaymentId(quoteHash);
        emit SettledThroughNetwork(quoteHash, q.maker, paymentId, fromToken, payee, q);
        IERC20(q.makerToken).safeTransferFrom(q.maker, payee, q.makerAmount);
        if (fromToken == q.takerToken) {
            IERC20(fromToken).safeTransferFrom(msg.sender, q.receiver, q.takerAmount);
        } else {
            IERC20(fromToken).safeTransferFrom(msg.sender, address(this), q.takerAmount);
            IERC20(fromToken).forceApprove(network, q.takerAmount);
            IInterbankNetwork(network).pay(fromToken, q.takerToken, q.receiver, q.takerAmount, paymentId);
        }
    }

    /// @notice The EIP-712 digest of routed quote `q` under this contract's domain: what the maker signs.
    /// @param q The routed quote.
    function hashRoutedQuote(RoutedQuote calldata q) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(ROUTED_QUOTE_TYPEHASH, q)));
    }

    /// @notice The interbank payment id of the routed quote with digest `quoteHash`:
    /// `keccak256(abi.encode(quoteHash, "fx"))` (usable once in the network, as the quote is).
    /// @param quoteHash The quote's {hashRoutedQuote}.
    function routedPaymentId(bytes32 quoteHash) public pure returns (bytes32) {
        return keccak256(abi.encode(quoteHash, "fx"));
    }

    /// @notice Revokes the caller's outstanding quote(s) with `nonce` (as maker): they can no longer
    /// be settled. A contract wallet calls this itself.
    /// @param nonce The quote's nonce.
    function cancelQuote(bytes32 nonce) external {
        if (_quoteUsed[msg.sender][nonce]) revert QuoteAlreadyUsed(msg.sender, nonce);
        _quoteUsed[msg.sender][nonce] = true;
        emit QuoteCancelled(msg.sender, nonce);
    }

    /// @notice Whether `maker`'s `nonce` was settled or cancelled.
    /// @param maker The quote's maker.
    /// @param nonce The quote's nonce.
    function quoteUsed(address maker, bytes32 nonce) external view returns (bool) {
        return _quoteUsed[maker][nonce];
    }

    /// @notice The EIP-712 digest of `q` under this contract's domain: what the maker signs.
    /// @param q The quote.
    function hashQuote(Quote calldata q) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(QUOTE_TYPEHASH, q)));
    }

    // ------------------------------------------------------------------ proposals (two steps)

    /**
     * @notice Proposes to give `giveAmount` of `giveToken` to `counterparty` against `wantAmount` of
     * `wantToken`, acceptable until `expiry`. Locks `giveAmount` here (the caller must have approved
     * this contract for it) so that the counterparty can rely on it.
     * @param counterparty The only account that may accept.
     * @param giveToken The token the caller gives (locked here).
     * @param giveAmount Minor units of giveToken.
     * @param wantToken The token the caller wants.
     * @param wantAmount Minor units of wantToken.
     * @param expiry Unix seconds: acceptable while block.timestamp <= expiry.
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
        _owe(giveToken, giveAmount);
        emit Proposed(id, msg.sender, counterparty, giveToken, giveAmount, wantToken, wantAmount, expiry);
        IERC20(giveToken).safeTransferFrom(msg.sender, address(this), giveAmount);
    }

    /**
     * @notice Accepts proposal `id` (its counterparty, until its expiry): pays `wantAmount` to the
     * proposer (the caller must have approved this contract) and receives the locked `giveAmount`.
     * @dev The proposer must be active on giveToken ({PartyRestricted} otherwise): its locked money
     * moves to the counterparty. The tokens check the counterparty (sends wantToken, receives
     * giveToken) and the proposer receiving wantToken.
     * @param id The proposal.
     */
    function accept(uint256 id) external nonReentrant {
        _accept(_openProposal(id), id);
    }

    /**
     * @notice {accept}, only if the proposal's terms are still `termsHash` ({proposalHash} of the
     * proposal the counterparty read): it cannot accept other terms than those it read.
     * @param id The proposal.
     * @param termsHash The expected {proposalHash}; {ProposalTermsMismatch} otherwise.
     */
    function accept(uint256 id, bytes32 termsHash) external nonReentrant {
        Proposal storage p = _openProposal(id);
        bytes32 expected = _termsHash(p);
        if (termsHash != expected) revert ProposalTermsMismatch(id, expected, termsHash);
        _accept(p, id);
    }

    /// @notice Cancels the caller's open proposal `id` and returns its locked amount to it (the token
    /// checks that the proposer can receive).
    /// @param id The proposal.
    function cancel(uint256 id) external nonReentrant {
        Proposal storage p = _openProposal(id);
        if (msg.sender != p.proposer) revert NotProposer(msg.sender, p.proposer);
        p.status = Status.Cancelled;
        (IERC20 giveToken, uint256 giveAmount) = _release(p);
        emit ProposalCancelled(id, msg.sender);
        giveToken.safeTransfer(msg.sender, giveAmount);
    }

    /// @notice Closes open proposal `id` after its expiry and returns its locked amount to the
    /// proposer (the token checks that it can receive). Anyone may call it.
    /// @param id The proposal.
    function expire(uint256 id) external nonReentrant {
        Proposal storage p = _openProposal(id);
        if (block.timestamp <= p.expiry) revert ProposalNotExpired(id, p.expiry);
        p.status = Status.Expired;
        address proposer = p.proposer;
        (IERC20 giveToken, uint256 giveAmount) = _release(p);
        emit ProposalExpired(id, proposer);
        giveToken.safeTransfer(proposer, giveAmount);
    }

    /**
     * @notice Legal exit: moves open proposal `id`'s locked amount to `to` under legal order
     * `legalOrderRef` and closes it `Seized`, whoever of its parties is restricted, expired or not.
     * Only the legal role of the proposal's giveToken (the token this contract holds for it).
     * @param id The proposal.
     * @param to Who receives the locked amount (the token checks that it can receive).
     * @param legalOrderRef The legal order's reference (non-zero).
     */
    function seizeProposal(uint256 id, address to, bytes32 legalOrderRef) external nonReentrant {
        Proposal storage p = _openProposal(id);
        _checkLegalExit(p.giveToken, to, legalOrderRef);
        p.status = Status.Seized;
        (IERC20 giveToken, uint256 giveAmount) = _release(p);
        emit ProposalSeized(id, to, giveAmount, legalOrderRef, msg.sender);
        giveToken.safeTransfer(to, giveAmount);
    }

    /**
     * @notice After a lost-key recovery, puts `replacement` in the place of `lost` (the proposer or
     * the counterparty) of open proposal `id`. Only the legal role of the proposal's giveToken.
     * @dev `replacement` must be active on both tokens ({InvalidBeneficiary}) and not the other party
     * ({InvalidCounterparty}). The proposal's terms, and so its {proposalHash}, change.
     * @param id The proposal.
     * @param lost The party's lost address.
     * @param replacement Its replacement address.
     */
    function replaceParty(uint256 id, address lost, address replacement) external {
        Proposal storage p = _openProposal(id);
        address giveToken = p.giveToken;
        _checkReplacement(giveToken, replacement);
        if (replacement == lost || !_isActive(p.wantToken, replacement)) revert InvalidBeneficiary(replacement);
        address proposer = p.proposer;
        address counterparty = p.counterparty;
        if (lost == proposer) {
            if (replacement == counterparty) revert InvalidCounterparty(replacement);
            p.proposer = replacement;
        } else if (lost == counterparty) {
            if (replacement == proposer) revert InvalidCounterparty(replacement);
            p.counterparty = replacement;
        } else {
            revert NotAParty(id, lost);
        }
        emit PartyReplaced(id, lost, replacement);
    }

    /// @notice Proposal `id` (all zero, status None, if there is none).
    /// @param id The proposal.
    function proposal(uint256 id) external view returns (Proposal memory) {
        return _proposals[id];
    }

    /// @notice The keccak-256 of proposal `id`'s ABI-encoded terms (proposer, counterparty, giveToken,
    /// giveAmount, wantToken, wantAmount, expiry): what {accept(uint256,bytes32)} expects.
    /// @param id The proposal (reverts {UnknownProposal} if there is none).
    function proposalHash(uint256 id) external view returns (bytes32) {
        Proposal storage p = _proposals[id];
        if (p.status == Status.None) revert UnknownProposal(id);
        return _termsHash(p);
    }

    /// @notice The number of proposals made; ids run from 1 to this.
    function proposalCount() external view returns (uint256) {
        return _proposalCount;
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

    /// @dev Reverts with {NotANetworkMember} unless `network` records a bank for `token`.
    function _requireMember(address network, address token) private view {
        if (IInterbankNetwork(network).bank(token).operator == address(0)) revert NotANetworkMember(network, token);
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
        _settle(address(token), amount);
    }

    /// @dev Both {accept} functions, on open proposal `p` (`id`).
    function _accept(Proposal storage p, uint256 id) private {
        if (msg.sender != p.counterparty) revert NotCounterparty(msg.sender, p.counterparty);
        if (block.timestamp > p.expiry) revert ProposalPastExpiry(id, p.expiry);
        address proposer = p.proposer;
        _requireActive(p.giveToken, proposer);
        p.status = Status.Accepted;
        (IERC20 giveToken, uint256 giveAmount) = _release(p);
        emit ProposalAccepted(id, proposer, msg.sender);
        IERC20(p.wantToken).safeTransferFrom(msg.sender, proposer, p.wantAmount);
        giveToken.safeTransfer(msg.sender, giveAmount);
    }

    function _termsHash(Proposal storage p) private view returns (bytes32) {
        return keccak256(
            abi.encode(p.proposer, p.counterparty, p.giveToken, p.giveAmount, p.wantToken, p.wantAmount, p.expiry)
        );
    }
}
