// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/**
 * @title HashedTimelock
 * @notice Hashed time-locks of ERC-20 tokens (deposit tokens), the standard building block of atomic
 * settlement across two ledgers: the sender locks tokens for a recipient under a hashlock and a
 * deadline; anyone may claim them for the recipient with the preimage before the deadline, or
 * refund them to the sender from the deadline on. Each lock ends exactly once.
 *
 * The hashlock is `sha256(preimage)` of a 32-byte preimage (not keccak-256), as the HTLCs of other
 * ledgers (Bitcoin, Lightning, most interledger protocols) use, so one secret can lock both legs of a
 * trade on different ledgers. Claiming reveals the preimage in the {Claimed} event: that is how the
 * other side learns it and claims its own leg.
 *
 * Two legs on two chains: the party that made the secret locks first with the later deadline; the
 * other party checks that lock, then locks its leg with the same hashlock and an earlier deadline.
 * The secret's owner claims the second leg (revealing the preimage), and the other party still has
 * until the first leg's deadline to claim it.
 *
 * @dev Not upgradeable and without an owner: no one but the lock's recipient (by claim) or sender
 * (by refund) ever receives its tokens. A deposit token lets the contract hold and move its tokens
 * only while the bank allowlists it (it is the `transferFrom` spender and a holder), and a claim or
 * refund follows the token's rules at that time (a frozen recipient cannot be paid; a paused token
 * moves nothing until unpaused; the bank's legal orders apply to the contract's holdings as to any
 * holder's). Tokens that deliver less than the amount transferred (transfer fees) are refused.
 */
contract HashedTimelock is ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice The state of a lock: `None` (unknown id), `Locked`, then `Claimed` or `Refunded`.
    enum State {
        None,
        Locked,
        Claimed,
        Refunded
    }

    /// @notice One lock. Laid out in five words: token, deadline and state share the first (read by
    /// every claim and refund), then recipient, sender, amount and hashlock.
    struct Lock {
        address token;
        uint64 deadline; // unix seconds: claimable before, refundable from it on
        State state;
        address recipient;
        address sender;
        uint256 amount; // in the token's smallest unit
        bytes32 hashlock; // sha256(preimage)
    }

    /// @notice The longest a lock may run (a deadline given in milliseconds would lock for millennia).
    uint256 public constant MAX_LOCK_DURATION = 365 days;

    mapping(bytes32 lockId => Lock) private _locks;
    uint256 private _lockCount;

    /// @notice `sender` locked `amount` of `token` for `recipient` until `deadline` under `hashlock`.
    event Locked(
        bytes32 indexed lockId,
        address indexed sender,
        address indexed recipient,
        address token,
        uint256 amount,
        bytes32 hashlock,
        uint64 deadline
    );

    /// @notice The lock was claimed for its recipient with `preimage` (sha256(preimage) is its hashlock).
    event Claimed(bytes32 indexed lockId, bytes32 preimage);

    /// @notice The lock's tokens went back to its sender after the deadline.
    event Refunded(bytes32 indexed lockId);

    /// @notice `token` is not a contract.
    error InvalidToken(address token);

    /// @notice The recipient is the zero address or this contract.
    error InvalidRecipient(address recipient);

    /// @notice A lock of zero tokens.
    error ZeroAmount();

    /// @notice A zero hashlock (no preimage could ever match it).
    error InvalidHashlock();

    /// @notice The deadline is not after the current block's `timestamp`.
    error DeadlineNotInFuture(uint64 deadline, uint256 timestamp);

    /// @notice The deadline is later than `latest` (now + {MAX_LOCK_DURATION}).
    error DeadlineTooFar(uint64 deadline, uint256 latest);

    /// @notice The token delivered `received` instead of `expected` (a fee-on-transfer token).
    error AmountNotReceived(uint256 expected, uint256 received);

    /// @notice No lock has this id.
    error UnknownLock(bytes32 lockId);

    /// @notice The lock already ended (`state`: Claimed or Refunded).
    error LockSettled(bytes32 lockId, State state);

    /// @notice The lock can no longer be claimed: its deadline has come.
    error LockExpired(bytes32 lockId, uint64 deadline);

    /// @notice The lock cannot be refunded before its deadline.
    error LockNotExpired(bytes32 lockId, uint64 deadline);

    /// @notice sha256 of the given preimage is not the lock's hashlock.
    error WrongPreimage(bytes32 lockId);

    /**
     * @notice Locks `amount` of `token` from the caller for `recipient` under `hashlock` until
     * `deadline` (unix seconds, after now and at most {MAX_LOCK_DURATION} ahead), and returns the id
     * of the lock. The caller must have approved this contract for `amount` on `token`.
     * @dev The id is the keccak-256 of the chain id, this contract, a counter and the lock's terms:
     * unique across locks, contracts and chains. Checks, then effects, then the token transfer.
     */
    function lock(IERC20 token, address recipient, uint256 amount, bytes32 hashlock, uint64 deadline)
        external
        nonReentrant
        returns (bytes32 lockId)
    {
        if (address(token).code.length == 0) revert InvalidToken(address(token));
        if (recipient == address(0) || recipient == address(this)) revert InvalidRecipient(recipient);
        if (amount == 0) revert ZeroAmount();
        if (hashlock == bytes32(0)) revert InvalidHashlock();
        if (deadline <= block.timestamp) revert DeadlineNotInFuture(deadline, block.timestamp);
        if (deadline > block.timestamp + MAX_LOCK_DURATION) {
            revert DeadlineTooFar(deadline, block.timestamp + MAX_LOCK_DURATION);
        }

        uint256 nonce = _lockCount++;
        lockId = keccak256(
            abi.encode(block.chainid, address(this), nonce, msg.sender, recipient, token, amount, hashlock, deadline)
        );
        _locks[lockId] = Lock({
            token: address(token),
            deadline: deadline,
            state: State.Locked,
            recipient: recipient,
            sender: msg.sender,
            amount: amount,
            hashlock: hashlock
        });
        emit Locked(lockId, msg.sender, recipient, address(token), amount, hashlock, deadline);

        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != amount) revert AmountNotReceived(amount, received);
    }

    /**
     * @notice Pays lock `lockId` to its recipient, given the `preimage` whose sha256 is its hashlock,
     * before its deadline. Anyone may submit it; the preimage becomes public in {Claimed}.
     */
    function claim(bytes32 lockId, bytes32 preimage) external nonReentrant {
        Lock storage l = _activeLock(lockId);
        uint64 deadline = l.deadline;
        if (block.timestamp >= deadline) revert LockExpired(lockId, deadline);
        if (sha256(abi.encodePacked(preimage)) != l.hashlock) revert WrongPreimage(lockId);

        l.state = State.Claimed;
        emit Claimed(lockId, preimage);
        IERC20(l.token).safeTransfer(l.recipient, l.amount);
    }

    /// @notice Returns lock `lockId`'s tokens to its sender, from its deadline on. Anyone may submit it.
    function refund(bytes32 lockId) external nonReentrant {
        Lock storage l = _activeLock(lockId);
        uint64 deadline = l.deadline;
        if (block.timestamp < deadline) revert LockNotExpired(lockId, deadline);

        l.state = State.Refunded;
        emit Refunded(lockId);
        IERC20(l.token).safeTransfer(l.sender, l.amount);
    }

    /// @notice Lock `lockId` (all fields zero and state `None` if there is none).
    function getLock(bytes32 lockId) external view returns (Lock memory) {
        return _locks[lockId];
    }

    /// @notice How many locks this contract has made (the counter in the next lock id).
    function lockCount() external view returns (uint256) {
        return _lockCount;
    }

    /// @dev The lock `lockId`, which must exist and still be `Locked`.
    function _activeLock(bytes32 lockId) private view returns (Lock storage l) {
        l = _locks[lockId];
        State state = l.state;
        if (state == State.None) revert UnknownLock(lockId);
        if (state != State.Locked) revert LockSettled(lockId, state);
    }
}
