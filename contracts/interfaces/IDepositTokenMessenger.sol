// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title IDepositTokenMessenger
 * @notice The bank's cross-chain burn-and-mint transfer of its deposit token ({DepositTokenMessenger}):
 * the message, its life, the routes, limits and attesters; the events and errors others decode, and
 * the entry points a relayer or another contract calls.
 */
interface IDepositTokenMessenger {
    /// @notice A transfer from one chain to another, as the source messenger emits it and the
    /// destination receives it: `abi.encode` of these ten fields (320 bytes); its id is the
    /// keccak-256 of that encoding.
    struct Message {
        uint32 version;
        uint256 sourceChainId;
        uint256 destinationChainId;
        address sourceMessenger;
        address destinationMessenger;
        uint64 nonce; // the source messenger's counter: unique per source messenger
        address sender; // whose tokens were burned at the source (and get any refund)
        address recipient; // who is minted at the destination
        uint256 amount; // minor units
        uint64 deadline; // unix seconds: received at most until then, refusable after
    }

    /// @notice Where a message stands at this messenger: `Sent` and `Refunded` at its source,
    /// `Received` (minted) and `Refused` at its destination. Each moves once, from `None` or `Sent`.
    enum MessageStatus {
        None,
        Sent,
        Refunded,
        Received,
        Refused
    }

    /// @notice What a rate limit counts: amounts sent to a chain, or received from it.
    enum Direction {
        Outbound,
        Inbound
    }

    /// @notice Why the destination refused a message.
    enum RefusalReason {
        Expired,
        RecipientNotActive
    }

    /// @notice A route to (and from) another chain: its messenger, the largest amount one message may
    /// carry, and whether it is paused.
    struct Route {
        address remoteMessenger;
        uint88 maxAmount;
        bool paused;
    }

    /// @notice `sender` sent `message` (with id `messageId`) to `destinationChainId`: its amount is burned here.
    event MessageSent(bytes32 indexed messageId, uint256 indexed destinationChainId, address indexed sender, bytes message);
    /// @notice The message `messageId` from `sourceChainId` was received: `amount` minted to `recipient`.
    event MessageReceived(bytes32 indexed messageId, uint256 indexed sourceChainId, address indexed recipient, uint256 amount);
    /// @notice The message `messageId` from `sourceChainId` was refused here (`reason`): it will never be
    /// minted here, and its source may refund it.
    event MessageRefused(bytes32 indexed messageId, uint256 indexed sourceChainId, RefusalReason reason);
    /// @notice The message `messageId` to `destinationChainId` was refunded: `amount` minted back to `sender`.
    event MessageRefunded(bytes32 indexed messageId, uint256 indexed destinationChainId, address indexed sender, uint256 amount);
    /// @notice The route to and from `chainId` goes to `remoteMessenger`, at most `maxAmount` per message.
    event RouteSet(uint256 indexed chainId, address remoteMessenger, uint256 maxAmount);
    /// @notice The route to and from `chainId` was removed.
    event RouteRemoved(uint256 indexed chainId);
    /// @notice The route to and from `chainId` is paused (`paused`) or not.
    event RoutePauseSet(uint256 indexed chainId, bool paused);
    /// @notice At most `capacity` per `period` seconds may go `direction` on the route of `chainId`
    /// (refilling linearly); capacity 0: no rate limit.
    event RateLimitSet(uint256 indexed chainId, Direction indexed direction, uint256 capacity, uint256 period);
    /// @notice The attesters are now `attesters`, `threshold` of whom must sign.
    event AttestersSet(address[] attesters, uint256 threshold);
    /// @notice Messages sent from now on may be received for `lifetime` seconds.
    event MessageLifetimeSet(uint64 lifetime);

    /// @notice An address given as a party or a messenger must not be zero.
    error InvalidAddress();
    /// @notice Amounts must be non-zero.
    error InvalidAmount();
    /// @notice No route to or from `chainId`.
    error UnknownRoute(uint256 chainId);
    /// @notice A route needs another chain than this one, a messenger and a non-zero maximum below 2^88.
    error InvalidRoute(uint256 chainId, address remoteMessenger, uint256 maxAmount);
    /// @notice The route to or from `chainId` is paused.
    error RouteIsPaused(uint256 chainId);
    /// @notice The route is not paused (unpause) or already paused (pause).
    error RoutePauseUnchanged(uint256 chainId, bool paused);
    /// @notice `amount` is above the route's per-message maximum.
    error AmountAboveMaximum(uint256 chainId, uint256 maximum, uint256 amount);
    /// @notice The route's rate limit leaves `available` to move `direction` now, below `amount`.
    error RateLimitExceeded(uint256 chainId, Direction direction, uint256 available, uint256 amount);
    /// @notice A rate limit needs a capacity below 2^128 and a period of 1 to 2^64 - 1 seconds (capacity 0,
    /// no limit, needs period 0).
    error InvalidRateLimit(uint256 capacity, uint256 period);
    /// @notice A message lifetime is 1 second to 2^32 - 1 seconds.
    error InvalidMessageLifetime(uint256 lifetime);
    /// @notice Attesters must be non-zero and in strictly increasing order, at most {MAX_ATTESTERS},
    /// with a threshold from 1 to their number.
    error InvalidAttesters(uint256 count, uint256 threshold);
    /// @notice No attesters are set: nothing can be attested.
    error NoAttesters();

    /// @notice A message is exactly 320 bytes (ten ABI words).
    error InvalidMessageLength(uint256 length);
    /// @notice The message's version is not this messenger's.
    error UnsupportedVersion(uint32 version);
    /// @notice The message is for another chain.
    error WrongDestinationChain(uint256 destinationChainId);
    /// @notice The message is for another messenger.
    error WrongDestinationMessenger(address destinationMessenger);
    /// @notice The message comes from a messenger that is not the route's.
    error UnknownSource(uint256 sourceChainId, address sourceMessenger);
    /// @notice The message was not sent by this messenger on this chain.
    error NotSentHere(bytes32 messageId);
    /// @notice The message's deadline passed: it can only be refused now.
    error MessageExpired(bytes32 messageId, uint64 deadline);
    /// @notice The message was received or refused here already.
    error MessageAlreadyProcessed(bytes32 messageId, MessageStatus status);
    /// @notice The message may not be refused: its deadline has not passed and its recipient is active.
    error MessageNotRefusable(bytes32 messageId);
    /// @notice Only a message sent here and not refunded may be refunded.
    error MessageNotRefundable(bytes32 messageId, MessageStatus status);

    /// @notice The attestation is not `abi.encode(address[] signers, bytes[] signatures)` with one
    /// signature per signer.
    error MalformedAttestation();
    /// @notice `signatures` signatures, fewer than the `threshold`.
    error AttestationBelowThreshold(uint256 signatures, uint256 threshold);
    /// @notice `signer` signed twice.
    error DuplicateSigner(address signer);
    /// @notice Signers must be in strictly increasing order: `signer` comes after a larger address.
    error SignersNotSorted(address signer);
    /// @notice `signer` is not an attester.
    error NotAnAttester(address signer);
    /// @notice `signer`'s signature is not valid (ECDSA or ERC-1271) over the attested digest.
    error InvalidAttesterSignature(address signer);

    /// @notice Sends `amount` of the caller's tokens (approved to this messenger) to `recipient` on
    /// `destinationChainId`: burns them here and emits the message; returns its id.
    function send(uint256 destinationChainId, address recipient, uint256 amount) external returns (bytes32 id);

    /// @notice Mints the message's amount to its recipient, under the attesters' signatures.
    function receiveMessage(bytes calldata message, bytes calldata attestation) external;

    /// @notice Records the attested message as refused here (expired, or its recipient not active).
    function refuse(bytes calldata message, bytes calldata attestation) external;

    /// @notice Mints a message sent here back to its sender, under the attesters' refund signatures.
    function refund(bytes calldata message, bytes calldata attestation) external;

    /// @notice Where the message with id `id` stands at this messenger.
    function messageStatus(bytes32 id) external view returns (MessageStatus);
}
