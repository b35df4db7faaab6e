// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/**
 * @title SettlementAsset
 * @notice Settlement money between banks: the tokenised reserves a central bank (or a settlement bank)
 * issues to the banks it admits, in which an {InterbankNetwork}'s banks post collateral and settle.
 * The devnet's stand-in; in production the network names whatever ERC-20 the banks settle in.
 *
 * Only holders the central bank admits ({setHolder}: banks, and the networks they settle through)
 * send and receive it; the central bank mints against reserves a bank holds with it ({mint}) and
 * burns what is returned to it ({burn}).
 */
contract SettlementAsset is ERC20, AccessControl {
    /// @notice The role that admits holders, mints and burns.
    bytes32 public constant CENTRAL_BANK_ROLE = keccak256("CENTRAL_BANK_ROLE");

    uint8 private immutable _decimals;
    mapping(address account => bool) private _holders;

    /// @notice `account` may (`allowed`) or may not hold the asset.
    event HolderSet(address indexed account, bool allowed);

    /// @notice `account` is not an admitted holder.
    error NotAHolder(address account);

    constructor(string memory name_, string memory symbol_, uint8 decimals_, address centralBank) ERC20(name_, symbol_) {
        _decimals = decimals_;
        _grantRole(DEFAULT_ADMIN_ROLE, centralBank);
        _grantRole(CENTRAL_BANK_ROLE, centralBank);
        _holders[centralBank] = true;
        emit HolderSet(centralBank, true);
    }

    /// @inheritdoc ERC20
    function decimals() public view override returns (uint8) {
        return _decimals;
    }

    /// @notice Whether `account` may hold the asset.
    function isHolder(address account) external view returns (bool) {
        return _holders[account];
    }

    /// @notice Admits (`allowed`) or removes `account` as a holder; a removed holder's balance stays, immobile.
    function setHolder(address account, bool allowed) external onlyRole(CENTRAL_BANK_ROLE) {
        _holders[account] = allowed;
        emit HolderSet(account, allowed);
    }

    /// @notice Issues `amount` to `to` (an admitted holder), against reserves it holds at the central bank.
    function mint(address to, uint256 amount) external onlyRole(CENTRAL_BANK_ROLE) {
        _mint(to, amount);
    }

    /// @notice Burns `amount` of the central bank's own balance (reserves returned to it).
    function burn(uint256 amount) external onlyRole(CENTRAL_BANK_ROLE) {
        _burn(_msgSender(), amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0) && !_holders[from]) revert NotAHolder(from);
        if (to != address(0) && !_holders[to]) revert NotAHolder(to);
        super._update(from, to, value);
    }
}
