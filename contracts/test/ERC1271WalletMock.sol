// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/**
 * @title ERC1271WalletMock
 * @notice Test only: a minimal smart-contract wallet. It accepts (ERC-1271) a signature made by its
 * `owner`'s key over the hash it is asked about, and its owner makes it call other contracts
 * ({execute}), e.g. to approve a token spender or to transfer what it holds.
 * @dev Hands the hash to ECDSA as it is (no re-hashing or wrapping): an EIP-712 signature by the
 * owner over a digest is this wallet's signature over that digest. {setAccepting} turns every
 * answer into a refusal, to test a wallet that declines.
 */
contract ERC1271WalletMock is IERC1271 {
    /// @notice The key that signs for this wallet and may make it call other contracts.
    address public immutable owner;

    /// @notice Whether the wallet accepts its owner's signatures (true unless the owner turned it off).
    bool public accepting = true;

    /// @notice The wallet called `target` with `data`.
    event Executed(address indexed target, bytes data);

    /// @notice The wallet now accepts (or refuses) its owner's signatures.
    event AcceptingSet(bool accepting);

    /// @notice Only the owner may do this.
    error NotOwner(address caller);

    /// @param owner_ The address whose ECDSA signatures the wallet accepts.
    constructor(address owner_) {
        owner = owner_;
    }

    /// @notice ERC-1271: the magic value if `signature` is the owner's ECDSA signature of `hash`.
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        (address signer, ECDSA.RecoverError error,) = ECDSA.tryRecoverCalldata(hash, signature);
        if (accepting && error == ECDSA.RecoverError.NoError && signer == owner) return IERC1271.isValidSignature.selector;
        return 0xffffffff;
    }

    /// @notice Calls `target` with `data` (no value); reverts with the callee's error. Owner only.
    function execute(address target, bytes calldata data) external returns (bytes memory) {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        emit Executed(target, data);
        return Address.functionCall(target, data);
    }

    /// @notice Makes the wallet accept (true) or refuse (false) its owner's signatures. Owner only.
    function setAccepting(bool accepting_) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        accepting = accepting_;
        emit AcceptingSet(accepting_);
    }
}
