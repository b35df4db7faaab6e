// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";

/**
 * @dev ERC-7802: crosschain minting and burning of a token by a bridge it authorised, so that standard
 * cross-chain tooling recognises the token. Its interface id is 0x33331994.
 */
interface IERC7802 is IERC165 {
    /// @notice `sender` (the bridge) minted `amount` to `to`.
    event CrosschainMint(address indexed to, uint256 amount, address indexed sender);

    /// @notice `sender` (the bridge) burned `amount` of `from`'s tokens.
    event CrosschainBurn(address indexed from, uint256 amount, address indexed sender);

    /// @notice Mints `_amount` to `_to` for a transfer from another chain.
    function crosschainMint(address _to, uint256 _amount) external;

    /// @notice Burns `_amount` of `_from`'s tokens for a transfer to another chain.
    function crosschainBurn(address _from, uint256 _amount) external;
}
