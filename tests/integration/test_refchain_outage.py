"""Four weft-node validators on loopback, one SIGKILLed and restarted: the survivors keep committing with at most one
round change per outage (the dead validator's turns are skipped after the first), and the restarted validator is
linked by every peer at once (an inbound handshake makes a node redial that peer), catches up, and proposes again."""
import signal
import time
import unittest

from nodelib import Network
from weftlib import scaled, wait_for

# The bounds this test holds (scaled for slow builds):
OUTAGE_S = 3.0  # how long the validator stays down; shorter than its bench (16 round timeouts = 4.8 s)
LINKED_S = 0.5  # from the restarted node's ready file to every peer's link to it (the redial backoff reaches 1 s)
CAUGHT_UP_S = 5.0  # from its ready file to the survivors' height at restart
BACK_S = 20.0  # until it proposes a committed block again (its bench, if it had one, ends after 4.8 s)


class ValidatorOutage(unittest.TestCase):
    def setUp(self):
        self.net = Network()
        self.net.start_all()

    def tearDown(self):
        self.net.cleanup()

    def health(self, i):
        return self.net.ask(i, "health")

    def test_sigkilled_validator_costs_one_round_change_and_rejoins_at_once(self):
        net = self.net
        victim = 1
        alive = [i for i in range(4) if i != victim]
        net.wait_height(range(4), 3)
        address = net.ask(0, "chain_info")["validators"][victim]
        changes = {i: self.health(i)["roundChanges"] for i in alive}

        net.stop(victim, signal.SIGKILL)
        killed = time.monotonic()
        killed_at = max(net.height(i) for i in alive)
        # One after another, each in a block of its own: eight heights, so the victim's turn comes at least twice.
        sent = [net.send(alive, "--resource", "store", "--method", "set", "k%d" % k, "during the outage")
                for k in range(8)]
        time.sleep(max(0.0, killed + scaled(OUTAGE_S) - time.monotonic()))
        top = max(net.height(i) for i in alive)
        # Commits continued, and only the victim's first turn cost a round change.
        self.assertGreaterEqual(sent[-1]["blockNumber"], killed_at + 8)
        for i in alive:
            self.assertLessEqual(self.health(i)["roundChanges"] - changes[i], 1, "node %d" % i)

        restarted = time.monotonic()
        net.start(victim)
        ready = time.monotonic()
        wait_for(lambda: all(self.health(i)["linkedPeers"] == 3 for i in alive), LINKED_S,
                 "every peer linked to the restarted validator")
        linked = time.monotonic()
        net.wait_height([victim], top, timeout=CAUGHT_UP_S)
        print("restart: ready after %.3f s, linked by every peer %.3f s later, caught up %.3f s after ready"
              % (ready - restarted, linked - ready, time.monotonic() - ready))

        seen = [top]

        def proposed_again():
            height = net.height(0)
            found = any(net.ask(0, "get_block", number=n)["proposer"] == address for n in range(seen[0] + 1, height + 1))
            seen[0] = height
            return found

        net.send(alive, "--resource", "store", "--method", "set", "after", "the restart")
        wait_for(proposed_again, BACK_S, "a block proposed by the restarted validator")
        for i in alive:
            self.assertLessEqual(self.health(i)["roundChanges"] - changes[i], 1, "node %d" % i)
        last = min(net.height(i) for i in range(4))
        net.assert_same_chain(range(4), last)
        for tx in sent:
            self.assertEqual(net.receipt_status(victim, tx["hash"]), 0)
        for i in range(4):
            self.assertEqual(net.stop(i), 0)


if __name__ == "__main__":
    unittest.main()
