// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title IDepositTokenAdmin
 * @notice The deposit token's issuer administration (identity, legal orders, rescue, minters): its
 * initialization parameters, the issuer's identity views, events and errors, declared once for the
 * token ({IDepositToken}) and its administration module ({DepositTokenAdmin}).
 */
interface IDepositTokenAdmin {
    /// @notice Everything a deployment configures, passed once to `initialize`.
    struct InitParams {
        string name;
        string symbol;
        string currency; // ISO 4217 code, e.g. "USD"
        uint8 decimals; // USE_CURRENCY_DECIMALS: the currency's minor units
        string issuerName;
        string issuerLei; // ISO 17442, 20 characters, or empty
        string issuerBic; // ISO 9362, 8 or 11 characters, or empty
        uint48 adminTransferDelay; // seconds a new default admin waits before accepting
        address admin;
        address minterAdmin; // zero: role not granted
        address compliance; // zero: role not granted
        address legal; // zero: role not granted
        address pauser; // zero: role not granted
        address upgrader; // zero: role not granted
    }

    /// @notice The issuing bank's identity changed.
    event IssuerUpdated(string name, string lei, string bic);

    /// @notice `amount` of `from`'s tokens went to `to` under the legal order `legalOrderRef`.
    event Seized(address indexed from, address indexed to, uint256 amount, bytes32 indexed legalOrderRef);

    /// @notice Foreign tokens sent to this contract by mistake were returned.
    event TokensRescued(address indexed token, address indexed to, uint256 amount);

    /// @notice A seizure needs a legal order reference: zero is refused.
    error InvalidLegalOrderRef();

    /// @notice The issuer needs a name and an LEI (20 characters) or a BIC (8 or 11), or both.
    error InvalidIssuer();

    /// @notice The account does not hold the minter role.
    error NotAMinter(address account);

    /// @notice This token cannot be rescued from itself.
    error CannotRescueOwnToken();

    /// @notice The currency code is not three upper-case letters A-Z (as {Iso4217}'s, raised there).
    error InvalidCurrencyCode(string code);

    /// @notice The foreign token's transfer failed in {rescueERC20} (as {SafeERC20}'s, raised there).
    error SafeERC20FailedOperation(address token);

    /// @notice The administration module runs only inside the token (by delegatecall).
    error NotDelegated();

    /// @notice The ISO 4217 code of the currency this token is a deposit in.
    function currency() external view returns (string memory);

    /// @notice The issuing bank: legal name, LEI (ISO 17442) and BIC (ISO 9362); either code may be empty.
    function issuer() external view returns (string memory name_, string memory lei, string memory bic);
}
