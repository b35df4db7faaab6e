// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title Iso4217
 * @notice Minor units (decimal places) of ISO 4217 currency codes.
 * @dev Codes not listed have 2 minor units, as most currencies (and market codes such as CNH) do.
 * The off-chain tooling validates codes against the full ISO 4217 list before deploying.
 */
library Iso4217 {
    /// @notice The currency code is not three upper-case letters A-Z.
    error InvalidCurrencyCode(string code);

    /// @notice `code` as bytes3, reverting unless it is three upper-case letters.
    function parse(string memory code) internal pure returns (bytes3) {
        bytes memory b = bytes(code);
        if (b.length != 3) revert InvalidCurrencyCode(code);
        for (uint256 i = 0; i < 3; ++i) {
            if (b[i] < "A" || b[i] > "Z") revert InvalidCurrencyCode(code);
        }
        return bytes3(b);
    }

    /// @notice The number of minor units of `code`.
    function minorUnits(bytes3 code) internal pure returns (uint8) {
        if (
            code == "BIF" || code == "CLP" || code == "DJF" || code == "GNF" || code == "ISK" || code == "JPY"
                || code == "KMF" || code == "KRW" || code == "PYG" || code == "RWF" || code == "UGX" || code == "UYI"
                || code == "VND" || code == "VUV" || code == "XAF" || code == "XOF" || code == "XPF"
        ) return 0;
        if (
            code == "BHD" || code == "IQD" || code == "JOD" || code == "KWD" || code == "LYD" || code == "OMR"
                || code == "TND"
        ) return 3;
        if (code == "CLF" || code == "UYW") return 4;
        return 2;
    }
}
