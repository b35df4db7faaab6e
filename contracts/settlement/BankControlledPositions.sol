// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IERC7943Fungible} from "../interfaces/IERC7943Fungible.sol";

/**
 * @title BankControlledPositions
 * @notice What the settlement contracts (escrow, PvP, hashed time-locks) share so that the issuing
 * bank's controls reach the *positions* they hold, not just their pooled balance:
 *
 * - the books: {outstanding} is the total this contract owes in each token (every open position's
 *   amount), so anyone can check it against the contract's balance;
 * - the bank's authority: a legal exit of one position (seize it to an account the bank names, or
 *   move a party of it to the replacement address after a lost-key recovery) is allowed to whoever
 *   holds the token's `LEGAL_ROLE`, the same role that seizes and recovers on the token itself;
 * - sanctions: money of a party that the token restricts (ERC-7943 `canSend` false: not allowlisted,
 *   allowlisting expired, or frozen) does not move through this contract to anyone else;
 * - mistakes: tokens sent here outside any position (what exceeds {outstanding}) can be rescued by
 *   the token's legal role, never a position's funds.
 *
 * A token-level seizure (`forcedTransfer`/`seize`) of a settlement contract's balance is not the way
 * to act on one position: it takes from the pool and leaves the books wrong. Use the contract's own
 * legal exit.
 *
 * @dev Tokens without ERC-7943 (plain ERC-20s, which the time-lock also accepts) have no sender
 * restrictions to apply, and no legal role: their positions have no legal exit.
 */
abstract contract BankControlledPositions is ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice The deposit token's role (`keccak256("LEGAL_ROLE")`) whose holders may act on positions in it.
    bytes32 public constant TOKEN_LEGAL_ROLE = keccak256("LEGAL_ROLE");

    mapping(address token => uint256) private _outstanding;

    /// @notice `amount` of `token` that belonged to no position went to `to`, on the order of `by`.
    event ExcessRescued(address indexed token, address indexed to, uint256 amount, address indexed by);

    /// @notice The caller does not hold `token`'s legal role.
    error NotTokenLegalRole(address token, address caller);

    /// @notice `token` restricts `party` (not allowlisted, allowlisting expired, or frozen): its money
    /// cannot move through this contract, nor can it act on a position.
    error PartyRestricted(address token, address party);

    /// @notice Only what exceeds the positions' total may be rescued.
    error RescueExceedsExcess(address token, uint256 amount, uint256 excess);

    /// @notice Legal orders are recorded by a non-zero reference.
    error InvalidLegalOrderRef();

    /// @notice The account cannot take over or receive a position: zero, this contract, or not active on the token.
    error InvalidBeneficiary(address account);

    /// @notice The total this contract owes in `token`: the sum of its open positions' amounts.
    /// @param token The token.
    function outstanding(address token) public view returns (uint256) {
        return _outstanding[token];
    }

    /// @notice Sends `amount` of `token` that belongs to no position (balance above {outstanding}) to
    /// `to`. Only `token`'s legal role; a position's funds can never be taken this way.
    /// @param token The token sent here by mistake.
    /// @param to Who receives it.
    /// @param amount How much, at most the excess.
    function rescueExcess(IERC20 token, address to, uint256 amount) external nonReentrant {
        _checkTokenLegalRole(address(token));
        uint256 balance = token.balanceOf(address(this));
        uint256 owed = _outstanding[address(token)];
        uint256 excess = balance > owed ? balance - owed : 0;
        if (amount > excess) revert RescueExceedsExcess(address(token), amount, excess);
        emit ExcessRescued(address(token), to, amount, msg.sender);
        token.safeTransfer(to, amount);
    }

    /// @dev A position of `amount` in `token` opened.
    function _owe(address token, uint256 amount) internal {
        _outstanding[token] += amount;
    }

    /// @dev A position of `amount` in `token` was paid out (or closed by a legal exit).
    function _settle(address token, uint256 amount) internal {
        _outstanding[token] -= amount;
    }

    /// @dev Reverts unless the caller holds `token`'s legal role.
    function _checkTokenLegalRole(address token) internal view {
        if (!IAccessControl(token).hasRole(TOKEN_LEGAL_ROLE, msg.sender)) revert NotTokenLegalRole(token, msg.sender);
    }

    /// @dev The checks of a legal exit: the caller holds `token`'s legal role, `legalOrderRef` is
    /// non-zero, and `to` can take the funds.
    function _checkLegalExit(address token, address to, bytes32 legalOrderRef) internal view {
        _checkTokenLegalRole(token);
        if (legalOrderRef == bytes32(0)) revert InvalidLegalOrderRef();
        if (to == address(0) || to == address(this)) revert InvalidBeneficiary(to);
    }

    /// @dev The checks of moving a position's party `lost` to `replacement` after a lost-key recovery:
    /// the caller holds `token`'s legal role, and `replacement` is active on `token`.
    function _checkReplacement(address token, address replacement) internal view {
        _checkTokenLegalRole(token);
        if (replacement == address(0) || replacement == address(this) || !_isActive(token, replacement)) {
            revert InvalidBeneficiary(replacement);
        }
    }

    /// @dev Reverts with {PartyRestricted} if `token` restricts `party`.
    function _requireActive(address token, address party) internal view {
        if (!_isActive(token, party)) revert PartyRestricted(token, party);
    }

    /// @dev Whether `token` lets `party` send (ERC-7943 `canSend`); true for tokens without ERC-7943.
    function _isActive(address token, address party) internal view returns (bool) {
        try IERC7943Fungible(token).canSend(party) returns (bool active) {
            return active;
        } catch {
            return true; // not an ERC-7943 token: no restriction to apply
        }
    }
}
