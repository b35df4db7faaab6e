// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {EIP712Upgradeable} from "@openzeppelin/contracts-upgradeable/utils/cryptography/EIP712Upgradeable.sol";
import {NoncesUpgradeable} from "@openzeppelin/contracts-upgradeable/utils/NoncesUpgradeable.sol";
import {IERC20PermitBytes} from "../../interfaces/IERC20PermitBytes.sol";
import {ComplianceERC20Upgradeable} from "./ComplianceERC20Upgradeable.sol";

/**
 * @title ERC20PermitUpgradeable
 * @notice EIP-2612 permit: an allowance set by the owner's EIP-712 signature instead of a transaction.
 * Signatures of contract wallets are checked with ERC-1271 ({SignatureChecker}); the `bytes` overload
 * of {permit} carries signatures of any length (e.g. a multisig's).
 * @dev As with {approve}, setting an allowance is not restricted; using it is ({transferFrom}: owner,
 * receiver and spender must be allowlisted and not frozen). Nonces are sequential per owner
 * ({NoncesUpgradeable}, ERC-7201 storage); the EIP-712 domain is set up by the inheriting contract.
 */
abstract contract ERC20PermitUpgradeable is
    ComplianceERC20Upgradeable,
    EIP712Upgradeable,
    NoncesUpgradeable,
    IERC20PermitBytes
{
    bytes32 private constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    /// @notice Sets `spender`'s allowance over `owner`'s tokens to `value`, signed by `owner` (EIP-2612).
    function permit(address owner, address spender, uint256 value, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        virtual
    {
        _permit(owner, spender, value, deadline, abi.encodePacked(r, s, v));
    }

    /// @notice {permit} with the signature as bytes, for ERC-1271 contract wallets whose signatures
    /// are not 65 bytes.
    function permit(address owner, address spender, uint256 value, uint256 deadline, bytes calldata signature)
        external
        virtual
    {
        _permit(owner, spender, value, deadline, signature);
    }

    /// @notice The next permit nonce of `owner`.
    function nonces(address owner) public view virtual override(IERC20Permit, NoncesUpgradeable) returns (uint256) {
        return super.nonces(owner);
    }

    /// @notice The EIP-712 domain separator of this token's signatures.
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view virtual returns (bytes32) {
        return _domainSeparatorV4();
    }

    function _permit(address owner, address spender, uint256 value, uint256 deadline, bytes memory signature)
        private
    {
        if (block.timestamp > deadline) revert ERC2612ExpiredSignature(deadline);
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(PERMIT_TYPEHASH, owner, spender, value, _useNonce(owner), deadline))
        );
        if (!SignatureChecker.isValidSignatureNow(owner, digest, signature)) revert ERC2612InvalidSignature(owner);
        _approve(owner, spender, value);
    }
}
