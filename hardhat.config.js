// Hardhat is used here only as a second local node (`npx hardhat node --hostname 127.0.0.1`), so that
// the ape scripts can be shown to work on a chain other than Anvil. Contracts are compiled by ape.
module.exports = {
  networks: {
    hardhat: {
      chainId: 31337,
      hardfork: "prague", // the EVM version the contracts are compiled for (ape-config.yaml)
    },
  },
};
