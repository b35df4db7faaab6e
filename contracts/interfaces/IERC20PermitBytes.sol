// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";

/**
 * @title IERC20PermitBytes
 * @notice EIP-2612 permit (OpenZeppelin's {IERC20Permit}) with a `bytes signature` overload, which
 * carries ERC-1271 signatures of contract wallets of any length, and the errors of this project's
 * implementation ({ERC20PermitUpgradeable}).
 */
interface IERC20PermitBytes is IERC20Permit {
    /// @notice The permit's deadline has passed.
    error ERC2612ExpiredSignature(uint256 deadline);

    /// @notice The signature is not `owner`'s (neither an ECDSA signature nor accepted by ERC-1271).
    error ERC2612InvalidSignature(address owner);

    /// @notice {permit} with the signature as bytes, for ERC-1271 contract wallets whose signatures
    /// are not 65 bytes.
    function permit(address owner, address spender, uint256 value, uint256 deadline, bytes calldata signature)
        external;
}
