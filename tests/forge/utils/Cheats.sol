// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/**
 * @dev The cheat codes the forge and halmos tests use, declared here: forge-std is not available
 * offline (the npm package of that name is an unofficial 2022 copy). The addresses are Foundry's and
 * halmos's own: `address(uint160(uint256(keccak256("hevm cheat code"))))` and
 * `address(uint160(uint256(keccak256("svm cheat code"))))`. Add a function here when a test needs it;
 * halmos implements a subset of forge's (no expectRevert: assert on a low-level call's result).
 */
interface Vm {
    function assume(bool condition) external pure;
    function prank(address msgSender) external;
    function startPrank(address msgSender) external;
    function stopPrank() external;
    function warp(uint256 newTimestamp) external;
    function roll(uint256 newHeight) external;
    function deal(address account, uint256 newBalance) external;
    function store(address target, bytes32 slot, bytes32 value) external;
    function load(address target, bytes32 slot) external view returns (bytes32 data);
    function etch(address target, bytes calldata newRuntimeBytecode) external;
    function label(address account, string calldata newLabel) external;
    function addr(uint256 privateKey) external pure returns (address keyAddr);
    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);
    function expectRevert(bytes4 revertData) external;
    function expectRevert(bytes calldata revertData) external;
    function expectRevert() external;
}

/// @dev halmos's symbolic values (its cheat code contract): only halmos implements these.
interface SVM {
    function createUint(uint256 bitSize, string calldata name) external pure returns (uint256 value);
    function createUint256(string calldata name) external pure returns (uint256 value);
    function createBytes32(string calldata name) external pure returns (bytes32 value);
    function createAddress(string calldata name) external pure returns (address value);
    function createBool(string calldata name) external pure returns (bool value);
    function createBytes(uint256 byteSize, string calldata name) external pure returns (bytes memory value);
    function createBytes4(string calldata name) external pure returns (bytes4 value);
    function createCalldata(string calldata contractName) external pure returns (bytes memory data);
    function enableSymbolicStorage(address target) external;
}

/// @dev The cheat code contracts at their fixed addresses, for tests to inherit.
abstract contract Cheats {
    Vm internal constant vm = Vm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D);
    SVM internal constant svm = SVM(0xF3993A62377BCd56AE39D773740A5390411E8BC9);
}
