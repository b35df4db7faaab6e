// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @notice Test only: an all-of-n contract wallet. A valid signature is the owners' 65-byte ECDSA
/// signatures of the hash, concatenated in owner order (65 bytes with one owner, 130 with two).
contract ERC1271MultisigMock is IERC1271 {
    address[] private _owners;

    constructor(address[] memory owners_) {
        _owners = owners_;
    }

    /// @notice ERC-1271: the magic value if every owner signed `hash`, in order.
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        uint256 n = _owners.length;
        if (n == 0 || signature.length != 65 * n) return 0xffffffff;
        for (uint256 i = 0; i < n; ++i) {
            (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(hash, signature[65 * i:65 * (i + 1)]);
            if (err != ECDSA.RecoverError.NoError || signer != _owners[i]) return 0xffffffff;
        }
        return IERC1271.isValidSignature.selector;
    }
}
