// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IDepositTokenAdmin} from "../../interfaces/IDepositTokenAdmin.sol";

/**
 * @title IssuerIdentityUpgradeable
 * @notice The token's currency (ISO 4217 code) and the issuing bank's identity: legal name, LEI
 * (ISO 17442) and BIC (ISO 9362).
 * @dev Storage at the namespace the token has used since 1.0.0 (`deptoken.storage.DepositToken`).
 * The views are the token's; {_setIssuer} runs in the {DepositTokenAdmin} module.
 */
abstract contract IssuerIdentityUpgradeable is IDepositTokenAdmin {
    /// @custom:storage-location erc7201:deptoken.storage.DepositToken
    struct DepositTokenStorage {
        string currency;
        string issuerName;
        string issuerLei;
        string issuerBic;
    }

    // keccak256(abi.encode(uint256(keccak256("deptoken.storage.DepositToken")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant DEPOSIT_TOKEN_STORAGE =
        0xabce0e022df480aaeb41456156357f5c232291e3f2e7c21c6186a6c631588000;

    /// @notice The ISO 4217 code of the currency this token is a deposit in.
    function currency() external view returns (string memory) {
        return _getDepositTokenStorage().currency;
    }

    /// @notice The issuing bank: legal name, LEI (ISO 17442) and BIC (ISO 9362); either code may be empty.
    function issuer() external view returns (string memory name_, string memory lei, string memory bic) {
        DepositTokenStorage storage $ = _getDepositTokenStorage();
        return ($.issuerName, $.issuerLei, $.issuerBic);
    }

    /// @dev Whether a currency was set: by every version's `initialize`, so whether the token was initialized.
    function _hasCurrency() internal view returns (bool) {
        return bytes(_getDepositTokenStorage().currency).length != 0;
    }

    function _setCurrency(string memory code) internal {
        _getDepositTokenStorage().currency = code;
    }

    function _setIssuer(string memory name_, string memory lei, string memory bic) internal {
        uint256 leiLength = bytes(lei).length;
        uint256 bicLength = bytes(bic).length;
        if (
            bytes(name_).length == 0 || (leiLength == 0 && bicLength == 0) || (leiLength != 0 && leiLength != 20)
                || (bicLength != 0 && bicLength != 8 && bicLength != 11)
        ) revert InvalidIssuer();
        DepositTokenStorage storage $ = _getDepositTokenStorage();
        $.issuerName = name_;
        $.issuerLei = lei;
        $.issuerBic = bic;
        emit IssuerUpdated(name_, lei, bic);
    }

    function _getDepositTokenStorage() private pure returns (DepositTokenStorage storage $) {
        assembly ("memory-safe") {
            $.slot := DEPOSIT_TOKEN_STORAGE
        }
    }
}
