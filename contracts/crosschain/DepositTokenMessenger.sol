// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IDepositToken} from "../interfaces/IDepositToken.sol";
import {IDepositTokenMessenger} from "../interfaces/IDepositTokenMessenger.sol";

/**
 * @title DepositTokenMessenger
 * @notice The issuing bank's own burn-and-mint transfer of its deposit token between EVM chains, one
 * messenger per chain: a holder burns on the source chain, the bank's attesters attest, the
 * destination messenger mints. The bank's total liability (the token's supply on every chain plus
 * the messages burned and not yet minted or refunded) never changes, and no message is minted twice
 * or both minted and refunded.
 *
 * Each messenger holds the minter role on its chain's token with an allowance the bank sets (what it
 * may mint: messages in and refunds), and is allowlisted on it (it receives the holder's tokens before
 * burning them). The token's own rules apply: the sender must be able to send, the recipient (or, for
 * a refund, the sender) to receive, the token not paused for a mint.
 *
 * The protocol, for a message `m` with id `keccak256(m)` (`m` is the 320-byte {Message} encoding):
 *
 * 1. Send (source): {send} (after an approval) or {sendWithAuthorization} (one EIP-3009
 *    `receiveWithAuthorization` signature) takes the holder's tokens and burns them with the message
 *    id as burn reference, records the id as `Sent`, and emits {MessageSent} with `m`. The route to
 *    the destination chain must exist and not be paused; the amount within the route's maximum and
 *    its outbound rate limit. The message may be received until `deadline` = now + {messageLifetime}.
 * 2. Attest: the bank's attesters follow the source chain and each signs the EIP-712 struct
 *    `CrossChainTransfer` (the message's ten fields) in the DESTINATION messenger's domain (its
 *    name, version "1", the destination chain id and address). The attestation is
 *    `abi.encode(address[] signers, bytes[] signatures)`: at least {threshold} attesters, in strictly
 *    increasing address order (so no one counts twice); ECDSA or ERC-1271 (OpenZeppelin's SignatureChecker).
 * 3. Receive (destination): {receiveMessage}`(m, attestation)`, by anyone: `m` is for this chain and
 *    this messenger, from the route's messenger, in this version, not processed here, not past its
 *    deadline, within the route's maximum and inbound rate limit, attested: recorded `Received`, and
 *    the amount minted to the recipient with the message id as deposit reference.
 * 4. Or refuse (destination): when `m` cannot be received (its deadline passed, or its recipient is
 *    not active on the token: unlisted, expired, frozen), {refuse}`(m, attestation)` (the same
 *    attestation) records it `Refused` and emits {MessageRefused}. Anyone holding the attestation
 *    may submit it: a recipient who is not active at that moment gets no later receipt, the sender
 *    a refund. A message held up by a limit (above the route's maximum, over the rate limit, the
 *    messenger's minter allowance, the token paused) waits, and is refusable after its deadline.
 * 5. Refund (source): after seeing the `Refused` record (final on the destination chain), the
 *    attesters sign `CrossChainRefund(bytes32 messageId)` in the SOURCE messenger's domain;
 *    {refund}`(m, attestation)` mints the amount back to the sender (message id as deposit reference)
 *    if this messenger sent `m` and has not refunded it (`Sent` -> `Refunded`).
 *
 * Why a message is never both minted and refunded, nor minted or refunded twice: at the destination,
 * a message's status leaves `None` once, to `Received` (minted) or `Refused`, never back and never to
 * the other; so a refused message is never minted, and a minted one never refused. Honest attesters
 * sign a refund only for a message the destination recorded `Refused`, and the source refunds only a
 * message it recorded `Sent`, once (`Sent` -> `Refunded`). The two kinds of attestation are different
 * EIP-712 types in different domains (destination vs source messenger), so neither stands in for the
 * other, nor does a signature for one chain or messenger work on another. The message id is also the
 * token's once-only deposit reference (destination mint, source refund) and burn reference (send), a
 * second guard. The safety therefore rests on the threshold: fewer than {threshold} attesters cannot
 * mint or refund anything.
 *
 * Limits (the bank's risk controls, each a custom error): a route per remote chain (its messenger,
 * largest amount per message, pause), rate limits per route and direction (at most `capacity` per
 * `period` seconds, refilling linearly, as the token's minter rate limit and Paxos's RateLimit do), and a
 * global pause. Refusals and refunds count against no rate limit (a refund returns what was sent). A
 * paused route stops sends to, and receipts, refusals and refunds of messages to or from, its chain;
 * a route removed while messages are in flight leaves them stuck until it is set again.
 *
 * Roles: the admin (`DEFAULT_ADMIN_ROLE`) sets routes, rate limits, attesters and threshold and the
 * message lifetime; the {PAUSER_ROLE} pauses routes and the whole messenger.
 *
 * Storage: ERC-7201 namespace `deptoken.storage.DepositTokenMessenger` (the contract is not
 * upgradeable; the namespace keeps its layout apart from OpenZeppelin's own state, as the
 * interbank network does).
 */
contract DepositTokenMessenger is IDepositTokenMessenger, AccessControl, Pausable, EIP712 {
    using SafeERC20 for IERC20;

    /// @notice The role that pauses routes and the whole messenger.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    /// @notice The message version this messenger sends and receives.
    uint32 public constant VERSION = 1;
    /// @notice The length of an encoded {Message}: ten ABI words.
    uint256 public constant MESSAGE_LENGTH = 320;
    /// @notice The most attesters a messenger takes (bounds the signature loop).
    uint256 public constant MAX_ATTESTERS = 32;
    /// @notice The EIP-712 struct the attesters sign for a message to be received (destination's domain).
    bytes32 public constant TRANSFER_TYPEHASH = keccak256(
        "CrossChainTransfer(uint32 version,uint256 sourceChainId,uint256 destinationChainId,address sourceMessenger,"
        "address destinationMessenger,uint64 nonce,address sender,address recipient,uint256 amount,uint64 deadline)"
    );
    /// @notice The EIP-712 struct the attesters sign for a refused message to be refunded (source's domain).
    bytes32 public constant REFUND_TYPEHASH = keccak256("CrossChainRefund(bytes32 messageId)");
    /// @notice The EIP-712 struct whose hash is the EIP-3009 nonce a holder signs for
    /// {sendWithAuthorization}: it binds the destination chain, the recipient and the holder's salt.
    bytes32 public constant SEND_TYPEHASH =
        keccak256("CrossChainSend(address messenger,uint256 destinationChainId,address recipient,bytes32 salt)");

    /// @dev A route's rate limit in one direction: up to `capacity` per `period` seconds, refilling
    /// linearly; `remaining` was left at `updatedAt`. Capacity 0: no rate limit. What a message changes
    /// (`remaining`, `updatedAt`) shares one word, so a message writes one word, whenever it comes.
    struct RateLimit {
        uint128 capacity;
        uint64 period;
        uint128 remaining;
        uint64 updatedAt;
    }

    /// @dev What every send reads in one word: the next nonce, the message lifetime and the threshold.
    struct Params {
        uint64 nextNonce;
        uint64 messageLifetime;
        uint8 threshold;
    }

    /// @custom:storage-location erc7201:deptoken.storage.DepositTokenMessenger
    struct MessengerStorage {
        mapping(uint256 chainId => Route) routes;
        mapping(uint256 chainId => mapping(Direction => RateLimit)) rateLimits;
        mapping(bytes32 messageId => MessageStatus) status;
        mapping(address attester => bool) isAttester;
        address[] attesters;
        Params params;
    }

    // keccak256(abi.encode(uint256(keccak256("deptoken.storage.DepositTokenMessenger")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant MESSENGER_STORAGE = 0xc34ad8ece73dc6e38462575b99ca7fc69fd1d3bb1f209c3c7c936523acbe8400;

    IDepositToken private immutable _token;

    /// @param token_ The deposit token on this chain (this messenger then needs its minter role with an
    /// allowance, and an allowlist entry).
    /// @param admin Sets routes, limits, attesters and the message lifetime.
    /// @param pauser Pauses routes and the messenger.
    /// @param messageLifetime_ Seconds a message may be received after it is sent.
    constructor(IDepositToken token_, address admin, address pauser, uint64 messageLifetime_)
        EIP712("DepositTokenMessenger", "1")
    {
        if (address(token_) == address(0) || admin == address(0) || pauser == address(0)) revert InvalidAddress();
        _token = token_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PAUSER_ROLE, pauser);
        _setMessageLifetime(messageLifetime_);
    }

    // ------------------------------------------------------------------ views

    /// @notice The deposit token this messenger burns and mints.
    function token() external view returns (address) {
        return address(_token);
    }

    /// @notice The nonce of the next message sent.
    function nextNonce() external view returns (uint64) {
        return _storage().params.nextNonce;
    }

    /// @notice Seconds a message may be received after it is sent.
    function messageLifetime() external view returns (uint64) {
        return _storage().params.messageLifetime;
    }

    /// @notice How many attesters must sign.
    function threshold() external view returns (uint256) {
        return _storage().params.threshold;
    }

    /// @notice The attesters, in increasing address order.
    function attesters() external view returns (address[] memory) {
        return _storage().attesters;
    }

    /// @notice Whether `account` is an attester.
    function isAttester(address account) external view returns (bool) {
        return _storage().isAttester[account];
    }

    /// @notice The route to and from `chainId` (all zero: none).
    function route(uint256 chainId) external view returns (Route memory) {
        return _storage().routes[chainId];
    }

    /// @notice The rate limit of the route of `chainId` in `direction`: at most `capacity` per `period`
    /// seconds, of which `available` may move now (all zero: no rate limit).
    function rateLimit(uint256 chainId, Direction direction)
        external
        view
        returns (uint256 capacity, uint256 period, uint256 available)
    {
        RateLimit memory limit = _storage().rateLimits[chainId][direction];
        return (limit.capacity, limit.period, _available(limit));
    }

    /// @inheritdoc IDepositTokenMessenger
    function messageStatus(bytes32 id) external view returns (MessageStatus) {
        return _storage().status[id];
    }

    /// @notice The id of `message` (its keccak-256); reverts unless it is 320 bytes.
    function messageId(bytes calldata message) external pure returns (bytes32) {
        _checkLength(message);
        return keccak256(message);
    }

    /// @notice The fields of `message`; reverts unless it is a well-formed 320-byte encoding.
    function decodeMessage(bytes calldata message) external pure returns (Message memory) {
        _checkLength(message);
        return abi.decode(message, (Message));
    }

    /// @notice The EIP-712 digest the attesters sign for `message` to be received here.
    function transferDigest(bytes calldata message) public view returns (bytes32) {
        _checkLength(message);
        return _hashTypedDataV4(keccak256(abi.encodePacked(TRANSFER_TYPEHASH, message)));
    }

    /// @notice The EIP-712 digest the attesters sign for the message with id `id`, sent here, to be refunded.
    function refundDigest(bytes32 id) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(REFUND_TYPEHASH, id)));
    }

    /// @notice The EIP-3009 nonce a holder signs for {sendWithAuthorization} to `recipient` on
    /// `destinationChainId` with `salt` (any value, once per holder).
    function sendNonce(uint256 destinationChainId, address recipient, bytes32 salt) public view returns (bytes32) {
        return keccak256(abi.encode(SEND_TYPEHASH, address(this), destinationChainId, recipient, salt));
    }

    // ------------------------------------------------------------------ configuration (admin)

    /// @notice Routes messages to and from `chainId` through `remoteMessenger`, at most `maxAmount` per
    /// message (overwrites the route's messenger and maximum; keeps its pause and rate limits).
    function setRoute(uint256 chainId, address remoteMessenger, uint256 maxAmount) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (chainId == block.chainid || chainId == 0 || remoteMessenger == address(0) || maxAmount == 0
                || maxAmount > type(uint88).max) {
            revert InvalidRoute(chainId, remoteMessenger, maxAmount);
        }
        Route storage r = _storage().routes[chainId];
        (r.remoteMessenger, r.maxAmount) = (remoteMessenger, uint88(maxAmount));
        emit RouteSet(chainId, remoteMessenger, maxAmount);
    }

    /// @notice Removes the route of `chainId` and its rate limits. Messages in flight on it can then be
    /// neither received, refused nor refunded until it is set again.
    function removeRoute(uint256 chainId) external onlyRole(DEFAULT_ADMIN_ROLE) {
        MessengerStorage storage $ = _storage();
        if ($.routes[chainId].remoteMessenger == address(0)) revert UnknownRoute(chainId);
        delete $.routes[chainId];
        delete $.rateLimits[chainId][Direction.Outbound];
        delete $.rateLimits[chainId][Direction.Inbound];
        emit RouteRemoved(chainId);
    }

    /// @notice Limits what moves `direction` on the route of `chainId` to `capacity` per `period`
    /// seconds, refilling linearly (full now); capacity 0 and period 0 lift the limit.
    function setRateLimit(uint256 chainId, Direction direction, uint256 capacity, uint256 period)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        MessengerStorage storage $ = _storage();
        if ($.routes[chainId].remoteMessenger == address(0)) revert UnknownRoute(chainId);
        if (capacity == 0 ? period != 0 : (capacity > type(uint128).max || period == 0 || period > type(uint64).max)) {
            revert InvalidRateLimit(capacity, period);
        }
        $.rateLimits[chainId][direction] =
            RateLimit(uint128(capacity), uint64(period), uint128(capacity), uint64(block.timestamp));
        emit RateLimitSet(chainId, direction, capacity, period);
    }

    /// @notice Replaces the attesters by `attesters_` (non-zero, strictly increasing, at most
    /// {MAX_ATTESTERS}), `threshold_` of whom must sign (1 to their number). Attestations signed by
    /// attesters removed here no longer count.
    function setAttesters(address[] calldata attesters_, uint256 threshold_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        uint256 n = attesters_.length;
        if (n > MAX_ATTESTERS || threshold_ == 0 || threshold_ > n) revert InvalidAttesters(n, threshold_);
        MessengerStorage storage $ = _storage();
        address[] storage current = $.attesters;
        for (uint256 i = current.length; i > 0; --i) {
            delete $.isAttester[current[i - 1]];
            current.pop();
        }
        address previous = address(0);
        for (uint256 i = 0; i < n; ++i) {
            address attester = attesters_[i];
            if (attester <= previous) revert InvalidAttesters(n, threshold_); // zero, unsorted or repeated
            $.isAttester[attester] = true;
            current.push(attester);
            previous = attester;
        }
        $.params.threshold = uint8(threshold_); // <= MAX_ATTESTERS
        emit AttestersSet(attesters_, threshold_);
    }

    /// @notice Messages sent from now on may be received for `lifetime` seconds (1 to 2^32 - 1).
    function setMessageLifetime(uint64 lifetime) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setMessageLifetime(lifetime);
    }

    // ------------------------------------------------------------------ pauses (pauser)

    /// @notice Pauses the route of `chainId`: no sends to it, no receipts, refusals or refunds on it.
    function pauseRoute(uint256 chainId) external onlyRole(PAUSER_ROLE) {
        _setRoutePaused(chainId, true);
    }

    /// @notice Resumes the route of `chainId`.
    function unpauseRoute(uint256 chainId) external onlyRole(PAUSER_ROLE) {
        _setRoutePaused(chainId, false);
    }

    /// @notice Stops every send, receipt, refusal and refund.
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @notice Resumes the messenger.
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    // ------------------------------------------------------------------ messages

    /// @inheritdoc IDepositTokenMessenger
    function send(uint256 destinationChainId, address recipient, uint256 amount)
        external
        whenNotPaused
        returns (bytes32 id)
    {
        // msg.sender, not _msgSender(): no forwarder here, and slither's arbitrary-send-erc20 check sees it is the sender
        id = _record(destinationChainId, msg.sender, recipient, amount);
        IERC20(address(_token)).safeTransferFrom(msg.sender, address(this), amount);
        _token.burn(amount, id);
    }

    /// @notice As {send} for `from`, who signed an EIP-3009 `receiveWithAuthorization` on the token
    /// (payee this messenger, value `amount`, nonce {sendNonce}(`destinationChainId`, `recipient`,
    /// `salt`)): anyone may submit it. Returns the message id.
    function sendWithAuthorization(
        uint256 destinationChainId,
        address recipient,
        uint256 amount,
        address from,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 salt,
        bytes calldata signature
    ) external whenNotPaused returns (bytes32 id) {
        id = _record(destinationChainId, from, recipient, amount);
        _receive(from, amount, validAfter, validBefore, sendNonce(destinationChainId, recipient, salt), signature);
        _token.burn(amount, id);
    }

    /// @inheritdoc IDepositTokenMessenger
    /// @dev Reverts unless `message` is for this chain and messenger, from the route's messenger, not
    /// received or refused here, not past its deadline, within the route's maximum and inbound rate
    /// limit, and `attestation` carries {threshold} attesters' signatures of {transferDigest}. A message
    /// that cannot be received before its deadline (a limit, the token's rules) is refused after it.
    function receiveMessage(bytes calldata message, bytes calldata attestation) external whenNotPaused {
        (Message memory m, bytes32 id, uint256 maxAmount) = _inbound(message);
        if (block.timestamp > m.deadline) revert MessageExpired(id, m.deadline);
        if (m.amount > maxAmount) revert AmountAboveMaximum(m.sourceChainId, maxAmount, m.amount);
        _verify(transferDigest(message), attestation);
        _consume(m.sourceChainId, Direction.Inbound, m.amount);
        _storage().status[id] = MessageStatus.Received;
        emit MessageReceived(id, m.sourceChainId, m.recipient, m.amount);
        _token.mint(m.recipient, m.amount, id);
    }

    /// @inheritdoc IDepositTokenMessenger
    /// @dev Anyone may submit it with the message's attestation (the attesters saw it sent), once the
    /// message cannot be received: its deadline passed, or its recipient cannot receive the token now.
    /// Only a message neither received nor refused here can be refused.
    function refuse(bytes calldata message, bytes calldata attestation) external whenNotPaused {
        (Message memory m, bytes32 id,) = _inbound(message);
        RefusalReason reason = RefusalReason.Expired;
        if (block.timestamp <= m.deadline) {
            if (_token.canReceive(m.recipient)) revert MessageNotRefusable(id);
            reason = RefusalReason.RecipientNotActive;
        }
        _verify(transferDigest(message), attestation);
        _storage().status[id] = MessageStatus.Refused;
        emit MessageRefused(id, m.sourceChainId, reason);
    }

    /// @inheritdoc IDepositTokenMessenger
    /// @dev Reverts unless this messenger sent `message` and has not refunded it, its route is not
    /// paused, and `attestation` carries {threshold} attesters' signatures of {refundDigest}. The token's
    /// rules apply to the mint: a sender who cannot receive now (unlisted, frozen) gets the refund once
    /// the bank has restored the account (the message stays `Sent` until then).
    function refund(bytes calldata message, bytes calldata attestation) external whenNotPaused {
        Message memory m = _decode(message);
        bytes32 id = keccak256(message);
        if (m.sourceChainId != block.chainid || m.sourceMessenger != address(this)) revert NotSentHere(id);
        MessengerStorage storage $ = _storage();
        MessageStatus status = $.status[id];
        if (status != MessageStatus.Sent) revert MessageNotRefundable(id, status);
        if ($.routes[m.destinationChainId].paused) revert RouteIsPaused(m.destinationChainId);
        _verify(refundDigest(id), attestation);
        $.status[id] = MessageStatus.Refunded;
        emit MessageRefunded(id, m.destinationChainId, m.sender, m.amount);
        _token.mint(m.sender, m.amount, id);
    }

    // ------------------------------------------------------------------ internals

    function _storage() private pure returns (MessengerStorage storage $) {
        assembly ("memory-safe") {
            $.slot := MESSENGER_STORAGE
        }
    }

    function _setMessageLifetime(uint64 lifetime) private {
        if (lifetime == 0 || lifetime > type(uint32).max) revert InvalidMessageLifetime(lifetime);
        _storage().params.messageLifetime = lifetime;
        emit MessageLifetimeSet(lifetime);
    }

    function _setRoutePaused(uint256 chainId, bool paused_) private {
        Route storage r = _storage().routes[chainId];
        if (r.remoteMessenger == address(0)) revert UnknownRoute(chainId);
        if (r.paused == paused_) revert RoutePauseUnchanged(chainId, paused_);
        r.paused = paused_;
        emit RoutePauseSet(chainId, paused_);
    }

    /// @dev The route of `chainId`, which must exist and not be paused.
    function _openRoute(uint256 chainId) private view returns (Route memory r) {
        r = _storage().routes[chainId];
        if (r.remoteMessenger == address(0)) revert UnknownRoute(chainId);
        if (r.paused) revert RouteIsPaused(chainId);
    }

    /// @dev The checks and books of a send, before any token moves: builds the message, records it
    /// `Sent`, takes the outbound rate limit and emits {MessageSent}; returns the message id.
    function _record(uint256 destinationChainId, address sender, address recipient, uint256 amount)
        private
        returns (bytes32 id)
    {
        Route memory r = _openRoute(destinationChainId);
        if (recipient == address(0)) revert InvalidAddress();
        if (amount == 0) revert InvalidAmount();
        if (amount > r.maxAmount) revert AmountAboveMaximum(destinationChainId, r.maxAmount, amount);
        _consume(destinationChainId, Direction.Outbound, amount);
        MessengerStorage storage $ = _storage();
        Params memory params = $.params;
        bytes memory message = abi.encode(
            Message({
                version: VERSION,
                sourceChainId: block.chainid,
                destinationChainId: destinationChainId,
                sourceMessenger: address(this),
                destinationMessenger: r.remoteMessenger,
                nonce: params.nextNonce,
                sender: sender,
                recipient: recipient,
                amount: amount,
                deadline: uint64(block.timestamp) + params.messageLifetime // lifetime < 2^32
            })
        );
        id = keccak256(message);
        $.params.nextNonce = params.nextNonce + 1;
        $.status[id] = MessageStatus.Sent;
        emit MessageSent(id, destinationChainId, sender, message);
    }

    /// @dev `amount` of the token from `from` to here, under `from`'s EIP-3009 signature over `nonce`.
    function _receive(
        address from,
        uint256 amount,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes calldata signature
    ) private {
        _token.receiveWithAuthorization(from, address(this), amount, validAfter, validBefore, nonce, signature);
    }

    function _checkLength(bytes calldata message) private pure {
        if (message.length != MESSAGE_LENGTH) revert InvalidMessageLength(message.length);
    }

    /// @dev The fields of a 320-byte message. The ABI decoder reverts on a field out of its type's range
    /// (e.g. dirty high bits of an address), so every accepted message has one encoding, and one id.
    function _decode(bytes calldata message) private pure returns (Message memory m) {
        _checkLength(message);
        m = abi.decode(message, (Message));
    }

    /// @dev A message for this messenger on this chain, from its route's messenger (route open), in this
    /// version, and not yet received or refused here; with its id and the route's per-message maximum
    /// (which only a receipt checks: a message above it waits for its deadline and is refused).
    function _inbound(bytes calldata message) private view returns (Message memory m, bytes32 id, uint256 maxAmount) {
        m = _decode(message);
        id = keccak256(message);
        if (m.version != VERSION) revert UnsupportedVersion(m.version);
        if (m.destinationChainId != block.chainid) revert WrongDestinationChain(m.destinationChainId);
        if (m.destinationMessenger != address(this)) revert WrongDestinationMessenger(m.destinationMessenger);
        Route memory r = _openRoute(m.sourceChainId);
        if (m.sourceMessenger != r.remoteMessenger) revert UnknownSource(m.sourceChainId, m.sourceMessenger);
        MessageStatus status = _storage().status[id];
        if (status != MessageStatus.None) revert MessageAlreadyProcessed(id, status);
        maxAmount = r.maxAmount;
    }

    /// @dev Reverts unless `attestation` is `abi.encode(address[] signers, bytes[] signatures)` with at
    /// least {threshold} signers, each an attester, in strictly increasing order, each signature valid
    /// over `digest` (ECDSA, or ERC-1271 for a contract).
    function _verify(bytes32 digest, bytes calldata attestation) private view {
        MessengerStorage storage $ = _storage();
        uint256 k = $.params.threshold;
        if (k == 0) revert NoAttesters();
        (address[] memory signers, bytes[] memory signatures) = abi.decode(attestation, (address[], bytes[]));
        uint256 n = signers.length;
        if (n != signatures.length) revert MalformedAttestation();
        if (n < k) revert AttestationBelowThreshold(n, k);
        address previous = address(0);
        for (uint256 i = 0; i < n; ++i) {
            address signer = signers[i];
            if (i > 0 && signer <= previous) {
                if (signer == previous) revert DuplicateSigner(signer);
                revert SignersNotSorted(signer);
            }
            if (!$.isAttester[signer]) revert NotAnAttester(signer);
            if (!SignatureChecker.isValidSignatureNow(signer, digest, signatures[i])) {
                revert InvalidAttesterSignature(signer);
            }
            previous = signer;
        }
    }

    /// @dev What `limit` leaves to move now: the remainder refilled by `capacity / period` per second
    /// since it was last used, at most `capacity`. No limit (capacity 0): 0, unused.
    function _available(RateLimit memory limit) private view returns (uint256) {
        if (limit.capacity == 0) return 0;
        uint256 refill = (block.timestamp - limit.updatedAt) * limit.capacity / limit.period;
        uint256 available = limit.remaining + refill;
        return available < limit.capacity ? available : limit.capacity;
    }

    /// @dev Takes `amount` from the rate limit of the route of `chainId` in `direction`, if it has one.
    function _consume(uint256 chainId, Direction direction, uint256 amount) private {
        RateLimit storage limit = _storage().rateLimits[chainId][direction];
        if (limit.capacity == 0) return;
        uint256 available = _available(limit);
        if (available < amount) revert RateLimitExceeded(chainId, direction, available, amount);
        (limit.remaining, limit.updatedAt) = (uint128(available - amount), uint64(block.timestamp)); // <= capacity
    }
}
