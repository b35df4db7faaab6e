// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC3009, IERC3009Cancel} from "@openzeppelin/contracts/interfaces/draft-IERC3009.sol";

/**
 * @title IERC3009Bytes
 * @notice EIP-3009 (transfer with authorization, OpenZeppelin's {IERC3009} and {IERC3009Cancel}) with
 * the `bytes signature` overloads USDC v2.2 added, which also carry ERC-1271 signatures of contract
 * wallets, and the errors of this project's implementation ({ERC3009Upgradeable}).
 */
interface IERC3009Bytes is IERC3009, IERC3009Cancel {
    /// @notice The signature is not the authorizer's (neither ECDSA nor accepted by ERC-1271).
    error ERC3009InvalidSignature(address authorizer);

    /// @notice The authorization is not valid now: valid only after `validAfter` and before `validBefore`.
    error ERC3009InvalidAuthorizationTime(uint256 validAfter, uint256 validBefore);

    /// @notice The authorizer has already used or cancelled this nonce.
    error ERC3009UsedAuthorization(address authorizer, bytes32 nonce);

    /// @notice {receiveWithAuthorization} must be called by the payee.
    error ERC3009CallerNotPayee(address caller, address payee);

    /// @notice Moves `value` from `from` to `to` under `from`'s signed authorization; anyone may submit it.
    function transferWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes calldata signature
    ) external;

    /// @notice Moves `value` from `from` to the caller, `to`, under `from`'s signed authorization.
    function receiveWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes calldata signature
    ) external;

    /// @notice Cancels `authorizer`'s unused authorization `nonce`, signed by `authorizer`.
    function cancelAuthorization(address authorizer, bytes32 nonce, bytes calldata signature) external;
}
