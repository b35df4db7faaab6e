// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {DepositToken} from "../../../contracts/token/DepositToken.sol";
import {InterbankNetwork} from "../../../contracts/settlement/InterbankNetwork.sol";
import {SettlementAsset} from "../../../contracts/settlement/SettlementAsset.sol";
import {IInterbankNetwork} from "../../../contracts/interfaces/IInterbankNetwork.sol";
import {TokenFixture} from "./TokenFixture.sol";

/**
 * @dev An interbank network on real contracts, set up as the settlement deployer does
 * (src/deptoken/settlement/settlement_deployer.py): a central bank's settlement asset, the network
 * (admin and settlement operator fixed addresses), and each member bank joining with its deposit
 * token: the network admitted as a holder of the asset, the bank's minter admin granting the network
 * a minting allowance, its compliance allowlisting the network, its operator posting collateral.
 */
abstract contract NetworkFixture is TokenFixture {
    address internal constant CENTRAL_BANK = address(0xCB); // the asset's issuer, the network's admin
    address internal constant SETTLEMENT_OPERATOR = address(0x5E7);

    function deployNetwork(IInterbankNetwork.Mode mode, uint16 haircutBps)
        internal
        returns (SettlementAsset asset, InterbankNetwork network)
    {
        asset = new SettlementAsset("Tokenised USD reserves", "rUSD", 2, CENTRAL_BANK);
        network = new InterbankNetwork(asset, "USD", mode, haircutBps, CENTRAL_BANK, SETTLEMENT_OPERATOR);
        vm.prank(CENTRAL_BANK);
        asset.setHolder(address(network), true);
    }

    /// @dev `token`'s bank joins, run by `operator`, and posts `collateral` (minted to it by the central bank).
    function joinNetwork(
        InterbankNetwork network,
        SettlementAsset asset,
        DepositToken token,
        address operator,
        uint256 collateral,
        uint256 mintAllowance
    ) internal {
        vm.prank(CENTRAL_BANK);
        network.join(address(token), operator);
        vm.prank(MINTER_ADMIN);
        token.configureMinter(address(network), mintAllowance);
        onboard(token, address(network), uint64(block.timestamp + 3650 days));
        vm.startPrank(CENTRAL_BANK);
        asset.setHolder(operator, true);
        asset.mint(operator, collateral);
        vm.stopPrank();
        vm.startPrank(operator);
        asset.approve(address(network), collateral);
        network.postCollateral(address(token), collateral);
        vm.stopPrank();
    }
}
