#!/usr/bin/env python3
"""End-to-end checks of what the line-based differential session cannot cover:
long-running commands (watch, lock, elect) side by side with etcdctl, interoperation
of our lock with etcdctl's, TLS with client certificates, and etcppctl's own
extensions (put --ttl, ls, completion).

Usage: features.py --candidate build/bin/etcppctl [--server /usr/bin/etcd]
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from differential import Server  # noqa: E402

REFERENCE = "/usr/bin/etcdctl"
FAILURES = []


def check(name, condition, detail=""):
    print("%s %s %s" % ("ok  " if condition else "FAIL", name, detail if not condition else ""))
    if not condition:
        FAILURES.append(name)


class Ctl:
    def __init__(self, binary, endpoint):
        self.binary, self.endpoint = binary, endpoint

    def run(self, *args, stdin="", timeout=30):
        result = subprocess.run([self.binary, "--endpoints=" + self.endpoint] + list(args), input=stdin,
                                capture_output=True, text=True, timeout=timeout, env=dict(os.environ, ETCDCTL_API="3"))
        return result.stdout, result.stderr, result.returncode

    def start(self, *args, stdin=None):
        return subprocess.Popen([self.binary, "--endpoints=" + self.endpoint] + list(args), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, stdin=stdin, text=True, env=dict(os.environ, ETCDCTL_API="3"))


def interrupt(process):
    process.send_signal(signal.SIGINT)
    try:
        out, err = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    return out, err, process.returncode


def wait_for_line(process, timeout=10):
    """The first stdout line of a running process (the key a lock or election prints)."""
    deadline = time.time() + timeout
    line = ""
    os.set_blocking(process.stdout.fileno(), False)
    while time.time() < deadline and not line.endswith("\n"):
        chunk = process.stdout.readline()
        line += chunk or ""
        if not chunk:
            time.sleep(0.05)
    os.set_blocking(process.stdout.fileno(), True)
    return line


def test_put_ttl_and_ls(ours):
    out, _, rc = ours.run("put", "/ttl/key", "v", "--ttl", "30")
    check("put --ttl prints OK", rc == 0 and out == "OK\n", out)
    out, _, _ = ours.run("lease", "list")
    lease = re.search(r"\n([0-9a-f]{16})\n", out)
    check("put --ttl granted a lease", lease is not None, out)
    if lease:
        out, _, _ = ours.run("lease", "timetolive", lease.group(1), "--keys")
        check("the key is attached to the lease", "granted with TTL(30s)" in out and "[/ttl/key]" in out, out)
    for key in ("/a/b", "/a/c/d", "/e"):
        ours.run("put", key, "x")
    out, _, _ = ours.run("ls")
    check("ls lists the children of /", out == "/a/\n/e\n/ttl/\n", repr(out))
    out, _, _ = ours.run("ls", "/a", "--recursive")
    check("ls --recursive lists the tree", out == "/a/b\n/a/c/\n/a/c/d\n", repr(out))


def test_watch_matches_etcdctl(ours, reference):
    watchers = [ctl.start("watch", "w", "--prefix", "--prev-kv") for ctl in (ours, reference)]
    time.sleep(1.0)
    ours.run("put", "w1", "x")
    ours.run("put", "w1", "y")
    ours.run("del", "w1")
    time.sleep(1.0)
    (out_ours, _, _), (out_ref, _, _) = [interrupt(w) for w in watchers]
    check("watch prints what etcdctl prints", out_ours == out_ref and "DELETE" in out_ref,
          "\n--- etcppctl\n%s--- etcdctl\n%s" % (out_ours, out_ref))


def test_watch_exec_and_interactive_match_etcdctl(ours, reference):
    script = "echo event $ETCD_WATCH_EVENT_TYPE $ETCD_WATCH_KEY $ETCD_WATCH_VALUE"
    execs = [ctl.start("watch", "x", "--", "sh", "-c", script) for ctl in (ours, reference)]
    interactive = [ctl.start("watch", "-i", stdin=subprocess.PIPE) for ctl in (ours, reference)]
    for process in interactive:
        process.stdin.write("watch y\nwatch z --prefix\n")
        process.stdin.flush()
    time.sleep(1.0)
    for key in ("x", "y", "z1"):
        ours.run("put", key, "v-" + key)
    time.sleep(1.0)
    (exec_ours, _, _), (exec_ref, _, _) = [interrupt(p) for p in execs]
    check("watch -- command runs like etcdctl's", exec_ours == exec_ref and "event" in exec_ref,
          "\n--- etcppctl\n%s--- etcdctl\n%s" % (exec_ours, exec_ref))
    (int_ours, _, _), (int_ref, _, _) = [interrupt(p) for p in interactive]
    check("watch -i prints what etcdctl prints", int_ours == int_ref and "z1" in int_ref,
          "\n--- etcppctl\n%s--- etcdctl\n%s" % (int_ours, int_ref))


def test_lock_interoperates(ours, reference):
    holder = ours.start("lock", "L")
    key = wait_for_line(holder)
    check("lock prints its key", key.startswith("L/"), repr(key))
    waiter = reference.start("lock", "L")
    time.sleep(1.5)
    check("etcdctl waits for our lock", waiter.poll() is None and wait_for_line(waiter, 0.5) == "")
    _, _, rc = interrupt(holder)
    check("lock releases on SIGINT", rc == 0, str(rc))
    key2 = wait_for_line(waiter)
    check("etcdctl then gets the lock", key2.startswith("L/") and key2 != key, repr(key2))
    interrupt(waiter)


def test_elect(ours, reference):
    leader = ours.start("elect", "E", "proposal-a")
    key = wait_for_line(leader)
    check("elect prints the leader key", key.startswith("E/"), repr(key))
    observer = reference.start("elect", "-l", "E")
    seen = wait_for_line(observer)
    check("etcdctl observes our leader", seen == key, repr(seen))
    interrupt(observer)
    _, _, rc = interrupt(leader)
    check("elect resigns on SIGINT", rc == 0, str(rc))
    out, _, _ = ours.run("get", "E", "--prefix")
    check("the leader key is gone after resigning", out == "", repr(out))

    _, err, rc = ours.run("elect", "--ttl", "2", "--period", "2", "P", "p")
    check("elect --period of at least --ttl is refused", rc == 128 and err == "Error: --period must be shorter than --ttl\n",
          err)
    # --period 1 renews a 30 s lease every second; the default (a third of the TTL) would
    # renew it next only 10 s after the session began, so "remaining(29s)" or more 4 to 9 s
    # after the campaign shows a recent renewal.
    leader = ours.start("elect", "--ttl", "30", "--period", "1", "P", "p")
    key = wait_for_line(leader)
    started, renewed, out = time.time(), False, ""
    while not renewed and time.time() - started < 9 and key.startswith("P/"):
        time.sleep(0.25)
        out, _, _ = ours.run("lease", "timetolive", key.strip()[2:])
        remaining = re.search(r"remaining\((\d+)s\)", out)
        renewed = time.time() - started >= 4 and remaining is not None and int(remaining.group(1)) >= 29
    check("elect --period sets the session's keep-alive period", renewed, repr(key) + out)
    interrupt(leader)


def test_check_perf(ours, reference):
    for args in (["--load", "huge"], ["--prefix", "/perf-busy/"]):
        ours.run("put", "/perf-busy/k", "v")
        results = [ctl.run("check", "perf", *args)[1:] for ctl in (ours, reference)]
        check("check perf %s fails as etcdctl's" % " ".join(args), results[0] == results[1] and results[0][1] != 0,
              str(results))
    # The full 60 s run. Its verdict depends on the machine's load, so the lines are
    # checked for etcdctl's shape, not for PASS.
    out, err, rc = ours.run("check", "perf", "--auto-compact", timeout=150)
    lines = out.split("\n")  # text mode reads the bar's "\r" redraws as line ends too
    lines = lines[max(i for i, line in enumerate(lines) if " / 60 " in line) if " / 60 " in out else 0:]
    expected = [r"^ 60 / 60 B(o*m)! 100\.00%$", r"^Compacting with revision \d+$", r"^Compacted with revision \d+$",
                r"^(PASS: Throughput is|FAIL: Throughput too low:) \d+ writes/s$",
                r"^(PASS: Slowest request took|Slowest request took too long:) \d+\.\d{6}s$",
                r"^(PASS: Stddev is|Stddev too high:) \d+\.\d{6}s$", r"^(PASS|FAIL)$", r"^$"]
    check("check perf prints etcdctl's progress and verdict lines",
          len(lines) == len(expected) and all(re.match(e, l) for e, l in zip(expected, lines)) and
          rc == (0 if lines[-2] == "PASS" else 1), repr(out[-600:]) + err)
    left, _, _ = ours.run("get", "/etcdctl-check-perf/", "--prefix", "--keys-only")
    check("check perf deletes its keys", left == "", repr(left[:200]))


def test_make_mirror(candidate, server_binary, source):
    destination = Server(server_binary)
    try:
        destination.start()
        ours = Ctl(candidate, source.endpoint)
        ours.run("put", "m/before", "1")
        mirror = ours.start("make-mirror", "--prefix=m/", "--dest-prefix=copy/", destination.endpoint)
        time.sleep(1.0)
        ours.run("put", "m/after", "2")
        ours.run("del", "m/before")
        time.sleep(1.0)
        out, _, _ = Ctl(REFERENCE, destination.endpoint).run("get", "copy/", "--prefix")
        check("make-mirror copies and follows the prefix", out == "copy/after\n2\n", repr(out))
        mirror.kill()
        mirror.communicate()
    finally:
        destination.stop()


def test_completion(ours):
    out, _, rc = ours.run("completion", "bash")
    syntax = subprocess.run(["bash", "-n"], input=out, capture_output=True, text=True)
    check("completion bash is valid bash", rc == 0 and syntax.returncode == 0 and "complete -F" in out,
          syntax.stderr)


def make_certificates(directory):
    """A CA and one certificate for 127.0.0.1 (server and client use), signed by it."""
    def openssl(*args):
        subprocess.run(["openssl"] + list(args), cwd=directory, check=True, capture_output=True)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=etcpp-test-ca",
            "-keyout", "ca.key", "-out", "ca.crt")
    open(os.path.join(directory, "ext.cnf"), "w").write(
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "node.key", "-out", "node.csr")
    openssl("x509", "-req", "-in", "node.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1",
            "-extfile", "ext.cnf", "-out", "node.crt")
    return {name: os.path.join(directory, file) for name, file in
            (("ca", "ca.crt"), ("cert", "node.crt"), ("key", "node.key"))}


def test_tls(candidate, server_binary):
    directory = tempfile.mkdtemp(prefix="etcppctl-tls-")
    server = None
    try:
        tls = make_certificates(directory)
        server = Server(server_binary, tls)
        server.start()
        flags = ["--cacert", tls["ca"], "--cert", tls["cert"], "--key", tls["key"]]
        results = [subprocess.run([ctl, "--endpoints=" + server.endpoint] + flags + ["put", "tls", "yes"],
                                  capture_output=True, text=True, timeout=30) for ctl in (candidate, REFERENCE)]
        check("put over TLS with client certificates", [r.stdout for r in results] == ["OK\n", "OK\n"],
              str([(r.stdout, r.stderr) for r in results]))
        plain = subprocess.run([candidate, "--endpoints=" + server.endpoint, "--command-timeout=2s", "get", "tls"],
                               capture_output=True, text=True, timeout=30)
        check("plaintext to a TLS server fails", plain.returncode == 1, plain.stderr)
        insecure = subprocess.run([candidate, "--endpoints=https://" + server.endpoint, "--insecure-skip-tls-verify",
                                   "--cert", tls["cert"], "--key", tls["key"], "get", "tls", "--print-value-only"],
                                  capture_output=True, text=True, timeout=30)
        check("--insecure-skip-tls-verify accepts an unknown CA", insecure.stdout == "yes\n", insecure.stderr)
    finally:
        if server:
            server.stop()
        shutil.rmtree(directory, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--candidate", required=True)
    parser.add_argument("--server", default="/usr/bin/etcd")
    args = parser.parse_args()
    server = Server(args.server)
    try:
        server.start()
        ours, reference = Ctl(args.candidate, server.endpoint), Ctl(REFERENCE, server.endpoint)
        test_put_ttl_and_ls(ours)
        test_watch_matches_etcdctl(ours, reference)
        test_watch_exec_and_interactive_match_etcdctl(ours, reference)
        test_lock_interoperates(ours, reference)
        test_elect(ours, reference)
        test_completion(ours)
        test_check_perf(ours, reference)
        test_make_mirror(args.candidate, args.server, server)
    finally:
        server.stop()
    test_tls(args.candidate, args.server)
    print("%d failed" % len(FAILURES))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # unwind through the finally blocks
    sys.exit(main())
