"""DepositTokenAdmin: the module each token implementation deploys for its rarely called paths. It runs
only by delegatecall from the token (in the proxy's storage); called directly it refuses."""

from __future__ import annotations

from ape import project
from eth_utils import keccak, to_checksum_address

from helpers import ZERO_REF, init_params, ref, reverts

IMPLEMENTATION_SLOT = 0x360894A13BA1A3210667C828492DB98DCA3E2076CC3735A920A3CA505D382BBC


def module_of(chain, token):
    """The module the token's implementation created (its first CREATE: nonce 1)."""
    implementation = bytes(chain.provider.get_storage(token.address, IMPLEMENTATION_SLOT))[-20:]
    address = keccak(b"\xd6\x94" + implementation + b"\x01")[-20:]
    return project.DepositTokenAdmin.at(to_checksum_address(address))


def test_module_refuses_direct_calls(chain, token, admin, legal, alice, bob):
    module = module_of(chain, token)
    assert len(chain.provider.get_code(module.address)) > 1000
    with reverts(module.NotDelegated):
        module.seize(alice, bob, 1, ref("direct"), sender=legal)
    with reverts(module.NotDelegated):
        module.initialize(init_params(admin), sender=admin)
    with reverts(module.NotDelegated):
        module.configureMinter(alice, 10**30, sender=alice)
    # the token itself is untouched by those attempts, and its own paths still run the module
    assert not token.hasRole(token.MINTER_ROLE(), alice)
    with reverts(token.InvalidLegalOrderRef):
        token.seize(alice, bob, 1, ZERO_REF, sender=legal)
