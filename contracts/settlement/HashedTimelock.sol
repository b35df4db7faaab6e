// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {BankControlledPositions} from "./BankControlledPositions.sol";

/**
 * @title HashedTimelock
 * @notice Hashed time-locks of ERC-20 tokens (deposit tokens), the standard building block of atomic
 * settlement across two ledgers: the sender locks tokens for a recipient under a hashlock and a
 * deadline; anyone may claim them for the recipient with the preimage before the deadline, or
 * refund them to the sender from the deadline on. Each lock is settled exactly once (claimed,
 * refunded or seized) and its funds leave the contract exactly once.
 *
 * The hashlock is `sha256(preimage)` of a 32-byte preimage (not keccak-256), as the HTLCs of other
 * ledgers (Bitcoin, Lightning, most interledger protocols) use, so one secret can lock both legs of a
 * trade on different ledgers. Claiming reveals the preimage in the {Claimed} event: that is how the
 * other side learns it and claims its own leg. Only 32-byte preimages can claim here: a counter-leg on
 * another ledger must require a 32-byte preimage too, or its secret could open it and never this one.
 *
 * Two legs on two chains: the party that made the secret locks first with the later deadline; the
 * other party checks that lock, then locks its leg with the same hashlock and an earlier deadline.
 * The secret's owner claims the second leg (revealing the preimage), and the other party still has
 * until the first leg's deadline to claim it.
 *
 * The right and the payout are separate, so that a token's restriction during the window cannot
 * break atomicity: a claim with the right preimage before the deadline is *recorded* (state
 * `Claimed`) even if the token refuses the transfer now, and a refund from the deadline on likewise
 * (`Refunded`). Each tries to pay at once; what could not be paid stays owed ({outstanding}) and
 * anyone pays it later with {withdraw}, to the recipient of a claimed lock or the sender of a
 * refunded one. {Withdrawn} marks every payout (`paid` in the lock).
 *
 * The issuing bank's controls (see {BankControlledPositions}), who must be active (ERC-7943
 * `canSend`) for each action:
 *
 * | action                       | who acts                | who must be active                                          |
 * | ---------------------------- | ----------------------- | ----------------------------------------------------------- |
 * | lock                         | the sender              | the sender (the token's `transferFrom` checks)              |
 * | claim (records)              | anyone, with the preimage | no one: the claim is recorded whatever the token's state  |
 * | payout of a claim            | claim or withdraw       | the sender (else {PartyRestricted}); the token's rules pay the recipient |
 * | refund (records)             | anyone, from the deadline | no one                                                    |
 * | payout of a refund           | refund or withdraw      | no one here: the money goes back to its owner, under the token's receive check |
 * | seizeLock (legal exit)       | the token's legal role  | no party; `to` must be able to receive                      |
 * | replaceParty                 | the token's legal role  | the replacement                                             |
 * | rescueExcess                 | the token's legal role  | no party (only the balance above {outstanding})             |
 *
 * Claims, refunds and withdrawals are open to anyone (the preimage or the clock is the authority,
 * not the caller), so the caller's own status does not matter; what matters is whose money moves.
 *
 * @dev Not upgradeable and without an owner. A lock's tokens go to its recipient (claim), back to its
 * sender (refund), or, by the token's legal role, to the account a legal order names ({seizeLock});
 * a party may be moved to its replacement address after a lost-key recovery ({replaceParty}). A
 * token-level seizure (`forcedTransfer`/`seize`) of this contract's balance is not the way to act on
 * one lock: it takes from the pool and leaves other locks unfunded; use {seizeLock}. A deposit token
 * lets the contract hold and move its tokens only while the bank allowlists it (it is the
 * `transferFrom` spender and a holder), and every payout follows the token's rules at that time (a
 * frozen payee cannot be paid; a paused token moves nothing until unpaused). Tokens that deliver less
 * than the amount transferred (transfer fees) are refused. A payout attempted inside {claim} or
 * {refund} may also fail for lack of gas forwarded to the token: the claim or refund is then recorded
 * and {withdraw} pays it.
 */
contract HashedTimelock is BankControlledPositions {
    using SafeERC20 for IERC20;

    /// @notice The state of a lock: `None` (unknown id), `Locked`, then `Claimed`, `Refunded` or `Seized`
    /// (a legal exit by the token's legal role).
    enum State {
        None,
        Locked,
        Claimed,
        Refunded,
        Seized
    }

    /// @notice One lock. Laid out in five words: token, deadline, state and paid share the first (read
    /// by every claim, refund and withdrawal), then recipient, sender, amount and hashlock.
    struct Lock {
        address token;
        uint64 deadline; // unix seconds: claimable before, refundable from it on
        State state;
        bool paid; // its funds have left the contract (paid out, or seized)
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
    /// The payout follows in {Withdrawn}, at once or later.
    event Claimed(bytes32 indexed lockId, bytes32 preimage);

    /// @notice The lock was refunded to its sender after the deadline. The payout follows in
    /// {Withdrawn}, at once or later.
    event Refunded(bytes32 indexed lockId);

    /// @notice The claimed or refunded lock's `amount` was paid to `to` (its recipient or sender).
    event Withdrawn(bytes32 indexed lockId, address indexed to, uint256 amount);

    /// @notice The token's legal role `by` seized the lock's `amount` to `to` under legal order `legalOrderRef`.
    event LockSeized(bytes32 indexed lockId, address indexed to, uint256 amount, bytes32 legalOrderRef, address indexed by);

    /// @notice The token's legal role moved the lock's party `lost` (its sender or recipient) to `replacement`.
    event PartyReplaced(bytes32 indexed lockId, address indexed lost, address indexed replacement);

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

    /// @notice The lock is already settled (`state`: Claimed, Refunded or Seized).
    error LockSettled(bytes32 lockId, State state);

    /// @notice The lock can no longer be claimed: its deadline has come.
    error LockExpired(bytes32 lockId, uint64 deadline);

    /// @notice The lock cannot be refunded before its deadline.
    error LockNotExpired(bytes32 lockId, uint64 deadline);

    /// @notice sha256 of the given preimage is not the lock's hashlock.
    error WrongPreimage(bytes32 lockId);

    /// @notice The lock's funds have already left the contract (paid out or seized).
    error LockPaid(bytes32 lockId);

    /// @notice Nothing to withdraw: the lock is still `Locked` (claim or refund it first).
    error LockNotSettled(bytes32 lockId);

    /// @notice `account` is neither the lock's sender nor its recipient.
    error NotAParty(bytes32 lockId, address account);

    /**
     * @notice Locks `amount` of `token` from the caller for `recipient` under `hashlock` until
     * `deadline` (unix seconds, after now and at most {MAX_LOCK_DURATION} ahead), and returns the id
     * of the lock. The caller must have approved this contract for `amount` on `token`.
     * @dev The id is the keccak-256 of the chain id, this contract, a counter and the lock's terms:
     * unique across locks, contracts and chains. Checks, then effects, then the token transfer.
     * @param token The ERC-20 locked.
     * @param recipient Who is paid on a claim.
     * @param amount In the token's smallest unit.
     * @param hashlock sha256 of the 32-byte preimage.
     * @param deadline Unix seconds: claimable before, refundable from it on.
     * @return lockId The new lock's id.
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
            paid: false,
            recipient: recipient,
            sender: msg.sender,
            amount: amount,
            hashlock: hashlock
        });
        _owe(address(token), amount);
        emit Locked(lockId, msg.sender, recipient, address(token), amount, hashlock, deadline);

        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != amount) revert AmountNotReceived(amount, received);
    }

    /**
     * @notice Claims lock `lockId` for its recipient, given the `preimage` whose sha256 is its
     * hashlock, before its deadline. Anyone may submit it; the preimage becomes public in {Claimed}.
     * The claim is recorded whatever the token's state; the recipient is paid at once if the sender is
     * active and the token allows the transfer now, else later by {withdraw}.
     * @param lockId The lock.
     * @param preimage The secret: sha256(preimage) is the lock's hashlock.
     */
    function claim(bytes32 lockId, bytes32 preimage) external nonReentrant {
        Lock storage l = _activeLock(lockId);
        uint64 deadline = l.deadline;
        if (block.timestamp >= deadline) revert LockExpired(lockId, deadline);
        if (sha256(abi.encodePacked(preimage)) != l.hashlock) revert WrongPreimage(lockId);

        l.state = State.Claimed;
        emit Claimed(lockId, preimage);
        if (_isActive(l.token, l.sender)) _tryPay(lockId, l, l.recipient);
    }

    /**
     * @notice Refunds lock `lockId` to its sender, from its deadline on. Anyone may submit it. The
     * refund is recorded whatever the token's state; the sender is paid at once if the token allows
     * the transfer now, else later by {withdraw}.
     * @param lockId The lock.
     */
    function refund(bytes32 lockId) external nonReentrant {
        Lock storage l = _activeLock(lockId);
        uint64 deadline = l.deadline;
        if (block.timestamp < deadline) revert LockNotExpired(lockId, deadline);

        l.state = State.Refunded;
        emit Refunded(lockId);
        _tryPay(lockId, l, l.sender);
    }

    /**
     * @notice Pays a claimed lock to its recipient, or a refunded lock to its sender, when that payout
     * could not happen at the claim or refund. Anyone may submit it. The payout of a claim requires the
     * sender to be active ({PartyRestricted}); every payout follows the token's transfer rules.
     * @param lockId The lock, `Claimed` or `Refunded` and not yet paid.
     */
    function withdraw(bytes32 lockId) external nonReentrant {
        Lock storage l = _locks[lockId];
        State state = l.state;
        if (state == State.None) revert UnknownLock(lockId);
        if (state == State.Locked) revert LockNotSettled(lockId);
        if (l.paid) revert LockPaid(lockId);
        address token = l.token;
        address to;
        if (state == State.Claimed) {
            _requireActive(token, l.sender);
            to = l.recipient;
        } else {
            to = l.sender;
        }
        uint256 amount = l.amount;

        l.paid = true;
        _settle(token, amount);
        emit Withdrawn(lockId, to, amount);
        IERC20(token).safeTransfer(to, amount);
    }

    /**
     * @notice Legal exit: sends lock `lockId`'s amount to `to` under the legal order `legalOrderRef`
     * and closes the lock as `Seized`. Only the lock token's legal role (`LEGAL_ROLE` on the token),
     * for a lock whose funds are still here (`Locked`, or `Claimed`/`Refunded` and not yet paid).
     * @param lockId The lock.
     * @param to Who receives the funds (must be able to receive on the token).
     * @param legalOrderRef The legal order's reference (non-zero).
     */
    function seizeLock(bytes32 lockId, address to, bytes32 legalOrderRef) external nonReentrant {
        Lock storage l = _unpaidLock(lockId);
        address token = l.token;
        _checkLegalExit(token, to, legalOrderRef);
        uint256 amount = l.amount;

        l.state = State.Seized;
        l.paid = true;
        _settle(token, amount);
        emit LockSeized(lockId, to, amount, legalOrderRef, msg.sender);
        IERC20(token).safeTransfer(to, amount);
    }

    /**
     * @notice After a lost-key recovery on the token, moves the party `lost` (the lock's sender or
     * recipient) of lock `lockId` to `replacement`. Only the lock token's legal role, for a lock whose
     * funds are still here. `replacement` must be active on the token and not already a party.
     * @param lockId The lock.
     * @param lost The recovered (lost) address: the lock's sender or recipient.
     * @param replacement The client's new address.
     */
    function replaceParty(bytes32 lockId, address lost, address replacement) external {
        Lock storage l = _unpaidLock(lockId);
        _checkReplacement(l.token, replacement);
        address sender = l.sender;
        address recipient = l.recipient;
        if (lost != sender && lost != recipient) revert NotAParty(lockId, lost);
        if (replacement == sender || replacement == recipient) revert InvalidBeneficiary(replacement);

        if (lost == sender) l.sender = replacement;
        if (lost == recipient) l.recipient = replacement;
        emit PartyReplaced(lockId, lost, replacement);
    }

    /// @notice Lock `lockId` (all fields zero and state `None` if there is none).
    /// @param lockId The lock.
    /// @return The lock as recorded.
    function getLock(bytes32 lockId) external view returns (Lock memory) {
        return _locks[lockId];
    }

    /// @notice How many locks this contract has made (the counter in the next lock id).
    /// @return The count.
    function lockCount() external view returns (uint256) {
        return _lockCount;
    }

    /// @dev Pays the settled lock `l` to `to` now if the token allows it; else it stays owed for {withdraw}.
    function _tryPay(bytes32 lockId, Lock storage l, address to) private {
        address token = l.token;
        uint256 amount = l.amount;
        // The transfer comes before the books here because it may fail and leave the payout owed;
        // every entry point is nonReentrant.
        if (IERC20(token).trySafeTransfer(to, amount)) {
            l.paid = true;
            _settle(token, amount);
            emit Withdrawn(lockId, to, amount);
        }
    }

    /// @dev The lock `lockId`, which must exist and still be `Locked`.
    function _activeLock(bytes32 lockId) private view returns (Lock storage l) {
        l = _locks[lockId];
        State state = l.state;
        if (state == State.None) revert UnknownLock(lockId);
        if (state != State.Locked) revert LockSettled(lockId, state);
    }

    /// @dev The lock `lockId`, which must exist and still hold its funds here.
    function _unpaidLock(bytes32 lockId) private view returns (Lock storage l) {
        l = _locks[lockId];
        if (l.state == State.None) revert UnknownLock(lockId);
        if (l.paid) revert LockPaid(lockId);
    }
}
