#!/usr/bin/env python3
"""snapshot save | status | restore against a real etcpp server, side by side with
Debian's etcdctl where both can act on the file:

- save: etcppctl and etcdctl both save from etcpp (etcdctl refuses a stream without
  etcd's sha256 trailer), and the files verify;
- status: etcppctl reads etcpp (LMDB) files; revision and key count are the server's;
- restore: the restored data dir starts as a new etcpp cluster holding the keys, with
  the member id the flags give;
- bad input: every restore error is etcdctl's, byte for byte (last stderr line and exit
  code); an etcd (bbolt) snapshot gets a clear refusal.

Usage: snapshot.py --candidate build/bin/etcppctl --etcpp build/bin/etcpp
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from differential import Server  # noqa: E402

REFERENCE = "/usr/bin/etcdctl"
FAILURES = []


def check(name, condition, detail=""):
    print("%s %s %s" % ("ok  " if condition else "FAIL", name, detail if not condition else ""))
    if not condition:
        FAILURES.append(name)


def run(ctl, *args, cwd=None, endpoint=None):
    flags = ["--endpoints=" + endpoint] if endpoint else []
    result = subprocess.run([ctl] + flags + list(args), capture_output=True, text=True, timeout=60, cwd=cwd,
                            env=dict(os.environ, ETCDCTL_API="3"))
    return result.stdout, result.stderr, result.returncode


def last_error(result):
    _, err, rc = result
    lines = err.strip().split("\n")
    return lines[-1], rc


def trailer_ok(path):
    data = open(path, "rb").read()
    return len(data) % 512 == 32 and hashlib.sha256(data[:-32]).digest() == data[-32:]


def restore_flags(peer):
    return ["--name", "diff", "--initial-cluster", "diff=" + peer, "--initial-cluster-token", "etcppctl-diff",
            "--initial-advertise-peer-urls", peer]


def test_save_status_restore(ctl, etcpp, work):
    server = Server(etcpp)
    restored = None
    try:
        server.start()
        for i in range(20):
            run(ctl, "put", "k%02d" % i, "v%d" % i, endpoint=server.endpoint)
        run(ctl, "put", "k00", "changed", endpoint=server.endpoint)
        run(ctl, "del", "k01", endpoint=server.endpoint)
        before, _, _ = run(REFERENCE, "get", "k", "--prefix", "-w", "json", endpoint=server.endpoint)
        revision = json.loads(before)["header"]["revision"]
        for name, tool in (("ours.db", ctl), ("theirs.db", REFERENCE)):
            out, err, rc = run(tool, "snapshot", "save", name, cwd=work, endpoint=server.endpoint)
            check("%s snapshot save from etcpp" % os.path.basename(tool), rc == 0 and out == "Snapshot saved at %s\n" % name,
                  out + err)
            check("%s has etcd's sha256 trailer" % name, rc == 0 and trailer_ok(os.path.join(work, name)))
        out, err, rc = run(ctl, "snapshot", "status", "ours.db", "-w", "json", cwd=work)
        status = json.loads(out) if rc == 0 else {}
        check("snapshot status reads an etcpp file", rc == 0 and status.get("revision") == int(revision), out + err)
        theirs, _, _ = run(ctl, "snapshot", "status", "theirs.db", "-w", "json", cwd=work)
        check("both tools saved the same state", theirs == out, theirs + " vs " + out)
        out, _, _ = run(ctl, "snapshot", "status", "ours.db", "-w", "table", cwd=work)
        # The HASH column is as wide as the hash's hex, as in etcdctl's table.
        row = "| %x | %8d | %10d |" % (status.get("hash", 0), status.get("revision", 0), status.get("totalKey", 0))
        check("snapshot status table is etcdctl's", re.match(r"\|\s+HASH\s+\| REVISION \| TOTAL KEYS \| TOTAL SIZE \|$",
                                                            out.split("\n")[1]) and out.split("\n")[3].startswith(row), out)

        peer = "http://127.0.0.1:%d" % server.peer_port
        data_dir = os.path.join(work, "restored")
        out, err, rc = run(ctl, "snapshot", "restore", "ours.db", "--data-dir", data_dir, *restore_flags(peer), cwd=work)
        check("snapshot restore", rc == 0 and '"msg":"restored snapshot"' in err, err)
        members_before, _, _ = run(REFERENCE, "member", "list", endpoint=server.endpoint)
        server.stop()
        # The same flags as the original member: the restored one gets the same member id.
        restored = Server(etcpp, ports=(server.client_port, server.peer_port), data_dir=data_dir)
        restored.start()
        after, _, _ = run(REFERENCE, "get", "k", "--prefix", "-w", "json", endpoint=restored.endpoint)
        strip = lambda text: [(kv["key"], kv["value"], kv["mod_revision"]) for kv in json.loads(text).get("kvs", [])]
        check("the restored member serves the snapshot's keys", strip(after) == strip(before), after)
        members_after, _, _ = run(REFERENCE, "member", "list", endpoint=restored.endpoint)
        check("the restored member has the id the flags give",
              members_after.split(",")[:3] == members_before.split(",")[:3], members_before + members_after)
        out, _, _ = run(REFERENCE, "put", "after", "restore", "-w", "json", endpoint=restored.endpoint)
        check("writes continue after the restored revision",
              json.loads(out)["header"]["revision"] == int(revision) + 1, out)
    finally:
        server.stop()
        if restored:
            restored.stop()


# Reads the first chunk of a Snapshot stream, checks the chunk size etcd uses, and
# cancels. Run by Debian's python3, which has python3-etcd3 and its gRPC stubs.
CANCEL_MID_STREAM = """
import sys, etcd3
from etcd3.etcdrpc import rpc_pb2
client = etcd3.client(port=int(sys.argv[1]))
stream = client.maintenancestub.Snapshot(rpc_pb2.SnapshotRequest(), 30)
first = next(stream)
stream.cancel()
print(len(first.blob), first.remaining_bytes > 0)
"""


def test_cancelled_stream(ctl, etcpp, work):
    server = Server(etcpp)
    try:
        server.start()
        value = "x" * 10000
        for i in range(200):  # about 2 MB: a stream of many chunks
            run(ctl, "put", "big%03d" % i, value, endpoint=server.endpoint)
        result = subprocess.run(["/usr/bin/python3", "-c", CANCEL_MID_STREAM, str(server.client_port)],
                                capture_output=True, text=True, timeout=60)
        check("a snapshot stream sends 32 KiB chunks and can be cancelled", result.stdout == "32768 True\n",
              result.stdout + result.stderr)
        out, err, rc = run(ctl, "put", "after-cancel", "1", endpoint=server.endpoint)
        check("the server serves on after a cancelled snapshot", rc == 0 and out == "OK\n", out + err)
        _, err, rc = run(ctl, "snapshot", "save", "big.db", cwd=work, endpoint=server.endpoint)
        check("a multi-chunk snapshot saves with its trailer", rc == 0 and trailer_ok(os.path.join(work, "big.db")), err)
        out, _, _ = run(ctl, "snapshot", "status", "big.db", "-w", "json", cwd=work)
        check("the multi-chunk snapshot holds every key", rc == 0 and json.loads(out)["revision"] == 202, out)
    finally:
        server.stop()


def test_restore_errors_match_etcdctl(ctl, work):
    good = open(os.path.join(work, "ours.db"), "rb").read()
    corrupt = bytearray(good)
    corrupt[len(corrupt) // 2] ^= 0xff
    files = {"corrupt.db": bytes(corrupt), "nohash.db": good[:-32], "tiny.db": good[:10], "empty-hash.db": good[-32:]}
    for name, data in files.items():
        open(os.path.join(work, name), "wb").write(data)
    os.makedirs(os.path.join(work, "existing"))
    cases = [
        [],
        ["missing.db"],
        ["corrupt.db"],
        ["nohash.db"],
        ["tiny.db"],
        ["empty-hash.db"],
        ["ours.db", "--data-dir", "existing"],
        ["ours.db", "--name", "nobody"],
        ["ours.db", "--initial-advertise-peer-urls", "http://127.0.0.1:1"],
        ["ours.db", "--initial-advertise-peer-urls", "http://127.0.0.1:1,http://127.0.0.1:2"],
        ["ours.db", "--initial-cluster", "default=http://localhost:2380,default=http://127.0.0.1:3"],
        ["ours.db", "--initial-cluster", "bad"],
        ["ours.db", "--initial-advertise-peer-urls", "http://127.0.0.1"],
        ["ours.db", "--initial-advertise-peer-urls", "http://127.0.0.1:1/path"],
    ]
    for i, case in enumerate(cases):
        results = []
        for tool in (REFERENCE, ctl):
            # A fresh data dir per run: etcdctl leaves a half-written one behind on failure.
            flags = [] if "--data-dir" in case else ["--data-dir", "out-%d-%s" % (i, os.path.basename(tool))]
            results.append(last_error(run(tool, "snapshot", "restore", *case, *flags, cwd=work)))
        check("restore %s fails as etcdctl's" % " ".join(case), results[0] == results[1] and results[0][1] != 0,
              str(results))
        ours_dir = os.path.join(work, "out-%d-etcppctl" % i)
        check("failed restore %s leaves no data dir" % " ".join(case), not os.path.exists(ours_dir))


def test_restore_refuses_etcd_snapshot(ctl, work):
    etcd = Server("/usr/bin/etcd")
    try:
        etcd.start()
        run(REFERENCE, "put", "a", "b", endpoint=etcd.endpoint)
        _, _, rc = run(REFERENCE, "snapshot", "save", "etcd.db", cwd=work, endpoint=etcd.endpoint)
    finally:
        etcd.stop()
    error = last_error(run(ctl, "snapshot", "restore", "etcd.db", "--data-dir", "from-etcd", cwd=work))
    check("an etcd (bbolt) snapshot is refused clearly", rc == 0 and error[1] == 1 and
          error[0].startswith("Error: etcd.db is an etcd (bbolt) snapshot; etcppctl restores etcpp snapshots only"),
          str(error))
    check("the refused restore leaves no data dir", not os.path.exists(os.path.join(work, "from-etcd")))
    out, _, rc = run(ctl, "snapshot", "status", "etcd.db", "-w", "json", cwd=work)
    reference, _, _ = run(REFERENCE, "snapshot", "status", "etcd.db", "-w", "json", cwd=work)
    check("snapshot status of an etcd file is still etcdctl's", rc == 0 and out == reference, out + reference)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--candidate", required=True)
    parser.add_argument("--etcpp", required=True)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="etcppctl-snapshot-")
    try:
        ctl = os.path.abspath(args.candidate)  # the tools run in `work`
        test_save_status_restore(ctl, os.path.abspath(args.etcpp), work)
        test_cancelled_stream(ctl, os.path.abspath(args.etcpp), work)
        test_restore_errors_match_etcdctl(ctl, work)
        test_restore_refuses_etcd_snapshot(ctl, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("%d failed" % len(FAILURES))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # unwind through the finally blocks
    sys.exit(main())
