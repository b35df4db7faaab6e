// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {DepositToken} from "../../../contracts/token/DepositToken.sol";
import {DepositTokenProxy} from "../../../contracts/token/DepositTokenProxy.sol";
import {IDepositTokenAdmin} from "../../../contracts/interfaces/IDepositTokenAdmin.sol";
import {Cheats} from "./Cheats.sol";

/**
 * @dev The real DepositToken behind its ERC-1967 proxy, as the deploy script makes it, with one
 * holder of each role (fixed addresses, so that properties can name them). Tests inherit it and call
 * {deployToken} from `setUp`.
 */
abstract contract TokenFixture is Cheats {
    address internal constant ADMIN = address(0xA11CE);
    address internal constant MINTER_ADMIN = address(0xA2);
    address internal constant MINTER = address(0xA3);
    address internal constant COMPLIANCE = address(0xA4);
    address internal constant LEGAL = address(0xA5);
    address internal constant PAUSER = address(0xA6);
    address internal constant UPGRADER = address(0xA7);

    /// @dev Deploys a token (2 decimals) and gives MINTER a minting allowance of `minterAllowance`.
    function deployToken(string memory symbol, string memory currency, uint256 minterAllowance)
        internal
        returns (DepositToken token)
    {
        DepositToken implementation = new DepositToken();
        IDepositTokenAdmin.InitParams memory p = IDepositTokenAdmin.InitParams({
            name: string.concat("Deposit ", symbol),
            symbol: symbol,
            currency: currency,
            decimals: 2,
            issuerName: "Example Bank",
            issuerLei: "",
            issuerBic: "EXMPUS33",
            adminTransferDelay: 1 days,
            admin: ADMIN,
            minterAdmin: MINTER_ADMIN,
            compliance: COMPLIANCE,
            legal: LEGAL,
            pauser: PAUSER,
            upgrader: UPGRADER
        });
        token = DepositToken(
            address(new DepositTokenProxy(address(implementation), abi.encodeCall(DepositToken.initialize, (p))))
        );
        vm.prank(MINTER_ADMIN);
        token.configureMinter(MINTER, minterAllowance);
    }

    /// @dev Allowlists `account` until `kycExpiry` (compliance).
    function onboard(DepositToken token, address account, uint64 kycExpiry) internal {
        vm.prank(COMPLIANCE);
        token.allowlist(account, kycExpiry);
    }

    /// @dev Mints `amount` to `to` under `depositRef` (the minter).
    function mintTo(DepositToken token, address to, uint256 amount, bytes32 depositRef) internal {
        vm.prank(MINTER);
        token.mint(to, amount, depositRef);
    }
}
