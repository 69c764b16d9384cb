"""XA transactions and HTLC swaps across a FISCO BCOS chain (2.x and 3.x) and an embedded reference chain: the same
tests as test_evm_xa_htlc.py, with the stubs deployed and driven by the FISCO BCOS adapter. The FISCO BCOS node is
bcoslib's, which checks each transaction's format, hash and signature as FISCO BCOS does and runs its contracts on a
real EVM node (anvil). A guomi chain refuses the built-in stubs and says why."""
import unittest

import test_evm_xa_htlc as base
from bcoslib import FiscoNode, bcos_chain
from weftlib import Router


class FiscoWorld:
    VERSION = 3
    DEFERRED_START = False  # FISCO BCOS's adapter starts a branch at startXATransaction
    node = None

    @classmethod
    def contract_chain(cls):
        cls.node = FiscoNode(version=cls.VERSION, evm=cls.anvil)
        return bcos_chain("contracts", "BCOS3" if cls.VERSION == 3 else "BCOS2.0", cls.node.url, [])

    @classmethod
    def stop_world(cls):
        super().stop_world()
        if cls.node:
            cls.node.stop()


class Bcos3Xa(FiscoWorld, base.EvmXa):
    pass


class Bcos2Xa(FiscoWorld, base.EvmXa):
    VERSION = 2


class Bcos3XaCrashRecovery(FiscoWorld, base.EvmXaCrashRecovery):
    pass


class Bcos3Htlc(FiscoWorld, base.EvmHtlc):
    pass


class GuomiStubs(unittest.TestCase):
    def test_a_guomi_chain_needs_its_own_artifacts(self):
        node = FiscoNode(version=3, sm=True)
        r = Router(chains=bcos_chain("gm", "GM_BCOS3", node.url, []), accounts=("alice",))
        try:
            r.start()
            status, env = r.request("POST", "/weft/chain/deployStubs", {"path": "payment.gm", "stubs": ["xa"]})
            self.assertNotEqual(env["errorCode"], 0, env)
            self.assertIn("SM3 selectors", env["message"])
            self.assertIn("artifacts", env["message"])
        finally:
            r.cleanup()
            node.stop()


if __name__ == "__main__":
    unittest.main()
