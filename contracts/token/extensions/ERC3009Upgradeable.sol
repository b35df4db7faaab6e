// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {EIP712Upgradeable} from "@openzeppelin/contracts-upgradeable/utils/cryptography/EIP712Upgradeable.sol";
import {IERC3009Bytes} from "../../interfaces/IERC3009Bytes.sol";
import {ComplianceERC20Upgradeable} from "./ComplianceERC20Upgradeable.sol";

/**
 * @title ERC3009Upgradeable
 * @notice EIP-3009 transfers by signed authorization: the payer signs once (EIP-712), anyone submits
 * ({transferWithAuthorization}) or only the payee may ({receiveWithAuthorization}, the form a
 * contract such as an escrow uses, so that no one can front-run its call). Each authorization has a
 * random 32-byte nonce, usable once per payer, and a validity window (`validAfter`, `validBefore`,
 * unix seconds, both exclusive). An unused authorization can be cancelled by its signer.
 *
 * Signatures of contract wallets are checked with ERC-1271 ({SignatureChecker}); the `bytes`
 * overloads carry signatures of any length (as USDC's v2.2 does).
 *
 * @dev The transfer itself is an ordinary {_transfer}: the payer and payee must be allowlisted and
 * not frozen, the payer's frozen amount is respected, and nothing moves while paused. The submitter
 * of {transferWithAuthorization} moves no funds of its own and needs no allowlist entry.
 */
abstract contract ERC3009Upgradeable is ComplianceERC20Upgradeable, EIP712Upgradeable, IERC3009Bytes {
    bytes32 private constant TRANSFER_WITH_AUTHORIZATION_TYPEHASH = keccak256(
        "TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
    );
    bytes32 private constant RECEIVE_WITH_AUTHORIZATION_TYPEHASH = keccak256(
        "ReceiveWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
    );
    bytes32 private constant CANCEL_AUTHORIZATION_TYPEHASH =
        keccak256("CancelAuthorization(address authorizer,bytes32 nonce)");

    /// @custom:storage-location erc7201:deptoken.storage.ERC3009
    struct ERC3009Storage {
        mapping(address authorizer => mapping(bytes32 nonce => bool used)) used;
    }

    // keccak256(abi.encode(uint256(keccak256("deptoken.storage.ERC3009")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant ERC3009_STORAGE = 0x40efe4390af6158417085b501e2dc4d69964898c86fb38df1d795713053f8b00;

    /// @notice Whether `authorizer` has used or cancelled `nonce`.
    function authorizationState(address authorizer, bytes32 nonce) external view virtual returns (bool) {
        return _getERC3009Storage().used[authorizer][nonce];
    }

    /// @notice Moves `value` from `from` to `to` under `from`'s signed authorization; anyone may submit it.
    function transferWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external virtual {
        _transferWithAuthorization(
            TRANSFER_WITH_AUTHORIZATION_TYPEHASH, from, to, value, validAfter, validBefore, nonce, abi.encodePacked(r, s, v)
        );
    }

    /// @notice {transferWithAuthorization} with the signature as bytes (ERC-1271 contract wallets).
    function transferWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes calldata signature
    ) external virtual {
        _transferWithAuthorization(
            TRANSFER_WITH_AUTHORIZATION_TYPEHASH, from, to, value, validAfter, validBefore, nonce, signature
        );
    }

    /// @notice Moves `value` from `from` to the caller, `to`, under `from`'s signed authorization.
    function receiveWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external virtual {
        _receiveWithAuthorization(from, to, value, validAfter, validBefore, nonce, abi.encodePacked(r, s, v));
    }

    /// @notice {receiveWithAuthorization} with the signature as bytes (ERC-1271 contract wallets).
    function receiveWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes calldata signature
    ) external virtual {
        _receiveWithAuthorization(from, to, value, validAfter, validBefore, nonce, signature);
    }

    /// @notice Cancels `authorizer`'s unused authorization `nonce`, signed by `authorizer`.
    function cancelAuthorization(address authorizer, bytes32 nonce, uint8 v, bytes32 r, bytes32 s) external virtual {
        _cancelAuthorization(authorizer, nonce, abi.encodePacked(r, s, v));
    }

    /// @notice {cancelAuthorization} with the signature as bytes (ERC-1271 contract wallets).
    function cancelAuthorization(address authorizer, bytes32 nonce, bytes calldata signature) external virtual {
        _cancelAuthorization(authorizer, nonce, signature);
    }

    function _receiveWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes memory signature
    ) private {
        if (to != _msgSender()) revert ERC3009CallerNotPayee(_msgSender(), to);
        _transferWithAuthorization(
            RECEIVE_WITH_AUTHORIZATION_TYPEHASH, from, to, value, validAfter, validBefore, nonce, signature
        );
    }

    function _transferWithAuthorization(
        bytes32 typehash,
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes memory signature
    ) private {
        if (block.timestamp <= validAfter || block.timestamp >= validBefore) {
            revert ERC3009InvalidAuthorizationTime(validAfter, validBefore);
        }
        _checkSignature(from, keccak256(abi.encode(typehash, from, to, value, validAfter, validBefore, nonce)), signature);
        _useAuthorization(from, nonce);
        emit AuthorizationUsed(from, nonce);
        _transfer(from, to, value);
    }

    function _cancelAuthorization(address authorizer, bytes32 nonce, bytes memory signature) private {
        _checkSignature(authorizer, keccak256(abi.encode(CANCEL_AUTHORIZATION_TYPEHASH, authorizer, nonce)), signature);
        _useAuthorization(authorizer, nonce);
        emit AuthorizationCanceled(authorizer, nonce);
    }

    function _checkSignature(address authorizer, bytes32 structHash, bytes memory signature) private view {
        if (!SignatureChecker.isValidSignatureNow(authorizer, _hashTypedDataV4(structHash), signature)) {
            revert ERC3009InvalidSignature(authorizer);
        }
    }

    function _useAuthorization(address authorizer, bytes32 nonce) private {
        mapping(bytes32 => bool) storage used = _getERC3009Storage().used[authorizer];
        if (used[nonce]) revert ERC3009UsedAuthorization(authorizer, nonce);
        used[nonce] = true;
    }

    function _getERC3009Storage() private pure returns (ERC3009Storage storage $) {
        assembly ("memory-safe") {
            $.slot := ERC3009_STORAGE
        }
    }
}
