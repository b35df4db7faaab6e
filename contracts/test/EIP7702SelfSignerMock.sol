// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/**
 * @title EIP7702SelfSignerMock
 * @notice Test only: code an externally owned account delegates to under EIP-7702 that keeps its key's
 * signatures valid for contracts: ERC-1271 accepts an ECDSA signature of the hash by the account itself
 * (`address(this)` is the delegating account when it runs as delegated code). Without such an
 * `isValidSignature`, a delegated account's permits and EIP-3009 authorizations are refused.
 */
contract EIP7702SelfSignerMock is IERC1271 {
    /// @notice ERC-1271: the magic value if `signature` is this account's own ECDSA signature of `hash`.
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        (address signer, ECDSA.RecoverError error,) = ECDSA.tryRecoverCalldata(hash, signature);
        return error == ECDSA.RecoverError.NoError && signer == address(this) ? this.isValidSignature.selector : bytes4(0);
    }
}
