#!/usr/bin/python3
"""python3-etcd3's lease and lock functions against a real etcpp.

Usage: python_lease_test.py ETCPP_BINARY. Starts one member on free loopback ports in a
temporary data dir, runs the library's lease calls (grant, attach, info, refresh, revoke)
and an uncontended lock, and stops the member whatever happens.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

import etcd3

ETCPP = sys.argv.pop(1) if len(sys.argv) > 1 else "build/bin/etcpp"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Etcd3Lease(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="etcpp-pylease-")
        cls.port = free_port()
        client = "http://127.0.0.1:%d" % cls.port
        peer = "http://127.0.0.1:%d" % free_port()
        cls.log = open(os.path.join(cls.dir, "etcpp.log"), "w")
        cls.server = subprocess.Popen(
            [ETCPP, "--data-dir", os.path.join(cls.dir, "data"),
             "--listen-client-urls", client, "--advertise-client-urls", client,
             "--initial-advertise-peer-urls", peer, "--initial-cluster", "default=" + peer],
            stdout=cls.log, stderr=cls.log)
        # Wait on /health first: a gRPC channel that fails its first connect backs off
        # for seconds before it tries again.
        deadline = time.time() + 20
        while True:
            try:
                with urllib.request.urlopen(client + "/health", timeout=1) as reply:
                    if b'"health":"true"' in reply.read():
                        break
            except OSError:
                pass
            if time.time() > deadline or cls.server.poll() is not None:
                cls.server.kill()
                raise RuntimeError("etcpp did not become healthy; see " + cls.log.name)
            time.sleep(0.05)
        cls.client = etcd3.client(host="127.0.0.1", port=cls.port, timeout=10)

    @classmethod
    def tearDownClass(cls):
        cls.server.send_signal(signal.SIGINT)
        try:
            cls.server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            cls.server.kill()
        cls.log.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_grant_attach_info_refresh_revoke(self):
        c = self.client
        lease = c.lease(60)
        self.assertEqual(lease.ttl, 60)
        c.put("/py/lease/a", "1", lease=lease)
        c.put("/py/lease/b", "2", lease=lease.id)
        self.assertEqual(lease.granted_ttl, 60)
        self.assertTrue(55 <= lease.remaining_ttl <= 60)
        self.assertEqual(sorted(lease.keys), [b"/py/lease/a", b"/py/lease/b"])
        self.assertEqual(c.get("/py/lease/a")[1].lease_id, lease.id)
        self.assertEqual(lease.refresh()[0].TTL, 60)
        lease.revoke()
        self.assertEqual(list(c.get_prefix("/py/lease/")), [])
        self.assertEqual(lease.remaining_ttl, -1)

    def test_chosen_id_and_errors(self):
        c = self.client
        lease = c.lease(30, lease_id=4242)
        self.assertEqual(lease.id, 4242)
        # The library turns FAILED_PRECONDITION into its own exception, without the text.
        with self.assertRaises(etcd3.exceptions.PreconditionFailedError):
            c.lease(30, lease_id=4242)
        with self.assertRaises(Exception) as caught:
            c.put("/py/nolease", "x", lease=999)
        self.assertIn("requested lease not found", str(caught.exception))
        lease.revoke()
        with self.assertRaises(Exception) as caught:
            c.revoke_lease(4242)
        self.assertIn("requested lease not found", str(caught.exception))

    def test_uncontended_lock(self):
        lock = self.client.lock("py-lock", ttl=10)
        self.assertTrue(lock.acquire(timeout=5))
        self.assertTrue(lock.is_acquired())
        self.assertEqual(self.client.get_lease_info(lock.lease.id).grantedTTL, 10)
        lock.release()
        self.assertFalse(lock.is_acquired())

    def test_lock_release_is_seen_by_the_watch_a_waiter_uses(self):
        # A contended acquire() cannot be driven with Debian's packages: python3-etcd3's
        # retry callback does not fit Debian's tenacity (TypeError, against etcd too).
        # What it would wait on is a watch of the holder's key; that part runs here.
        holder = self.client.lock("py-shared", ttl=10)
        self.assertTrue(holder.acquire(timeout=5))
        _, meta = self.client.get(holder.key)
        self.assertFalse(self.client.lock("py-shared", ttl=10).is_acquired())
        holder.release()
        event = self.client.watch_once(holder.key, timeout=10, start_revision=meta.mod_revision + 1)
        self.assertIsInstance(event, etcd3.events.DeleteEvent)
        self.assertTrue(self.client.lock("py-shared", ttl=10).acquire(timeout=5))

if __name__ == "__main__":
    unittest.main(verbosity=2)
