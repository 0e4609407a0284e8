#!/usr/bin/env python3
"""Differential test: one scripted etcdctl session, run twice against a fresh server.

The session (see session.txt) runs once with the reference CLI (Debian's etcdctl) and
once with the candidate (etcppctl), each time against a newly started server on free
loopback ports with its own temporary data directory. The transcripts (stdout, stderr,
exit code of every command) are normalized where two fresh servers legitimately differ
(member, cluster and lease ids, ports, hashes, timings, log timestamps) and must then be
identical. The server binary and CLIs are parameters, so the same script can later run
against an etcpp server.

Script syntax, one command per line (shell quoting):
  # comment
  get foo -w json                 run with --endpoints=<server> prepended
  capture LEASE lease grant 100   run, and remember the id printed (16 hex digits or "ID":N)
  put k v --lease=${LEASE}        ${NAME} expands captured ids, ${ENDPOINT} and ${TMPDIR}
  ETCDCTL_FOO=1 get foo           leading NAME=value words set environment variables
  txn <<EOF                       the lines up to EOF are the command's stdin
  ...
  EOF
A line that mentions --endpoints gets no endpoint prepended.

--skip FILE names commands the server cannot serve yet (e.g. etcpp before its Lease
service): each line "reason | regex"; a session line the regex matches (re.search) is
not run in either session, and is listed as skipped with its reason.
"""
import argparse
import ctypes
import difflib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

COMMAND_TIMEOUT_S = 30
START_TIMEOUT_S = 20


def die_with_parent():
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A single-member cluster of `binary` (etcd's flags) on free loopback ports."""

    def __init__(self, binary, tls=None, ports=None, data_dir=None):
        self.binary = binary
        self.tls = tls  # None, or {"ca": path, "cert": path, "key": path}: TLS with client certificates
        self.dir = tempfile.mkdtemp(prefix="etcppctl-diff-")
        self.data_dir = data_dir or os.path.join(self.dir, "data")  # e.g. a restored snapshot
        # The same ports for both sessions give both servers the same member and cluster
        # ids (etcd derives them from the peer URLs), so even id widths match.
        self.client_port, self.peer_port = ports or (free_port(), free_port())
        self.endpoint = "127.0.0.1:%d" % self.client_port
        self.process = None

    def start(self):
        peer = "http://127.0.0.1:%d" % self.peer_port
        client = ("https://" if self.tls else "http://") + self.endpoint
        args = [self.binary, "--name", "diff", "--data-dir", self.data_dir,
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", "diff=" + peer, "--initial-cluster-token", "etcppctl-diff"]
        context = None
        if self.tls:
            args += ["--cert-file", self.tls["cert"], "--key-file", self.tls["key"],
                     "--trusted-ca-file", self.tls["ca"], "--client-cert-auth"]
            context = ssl.create_default_context(cafile=self.tls["ca"])
            context.load_cert_chain(self.tls["cert"], self.tls["key"])
        log = open(os.path.join(self.dir, "server.log"), "w")
        # Its own process group, so stopping it cannot miss a child; and it dies with us
        # (PR_SET_PDEATHSIG) should this script be killed before it can stop it.
        self.process = subprocess.Popen(args, stdout=log, stderr=log, start_new_session=True,
                                        preexec_fn=die_with_parent)
        deadline = time.time() + START_TIMEOUT_S
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("server exited early; see " + log.name)
            try:
                with urllib.request.urlopen(client + "/health", timeout=1, context=context) as r:
                    if b'"true"' in r.read():
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not become healthy in %ds" % START_TIMEOUT_S)

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def parse_script(path):
    """Yields (line, stdin) pairs."""
    lines = open(path).read().split("\n")
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if not line or line.startswith("#"):
            continue
        stdin = ""
        if line.endswith("<<EOF"):
            line = line[: -len("<<EOF")].strip()
            body = []
            while lines[i] != "EOF":
                body.append(lines[i])
                i += 1
            i += 1
            stdin = "\n".join(body) + "\n"
        yield line, stdin


class Normalizer:
    def __init__(self):
        self.replacements = []  # (literal, placeholder)

    def add_id(self, value, name):
        value = int(value)
        unsigned = value & 0xFFFFFFFFFFFFFFFF
        # etcdctl prints ids as %x, %016x and, in "Member %16x added", space-padded.
        for text in (str(value), "%x" % unsigned, "%016x" % unsigned, "%16x" % unsigned):
            self.replacements.append((text, "<%s>" % name))
        self.replacements.sort(key=lambda r: -len(r[0]))

    def apply(self, command, text):
        text = re.sub(r'"ts":("[^"]*"|[\d.]+)', '"ts":"<TS>"', text)
        text = re.sub(r'"took":[\d.]+', '"took":<SECONDS>', text)
        text = re.sub(r"client-[0-9a-f-]{36}", "client-<UUID>", text)
        text = re.sub(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} ", "<TIME> ", text, flags=re.M)
        text = re.sub(r"127\.0\.0\.1:\d{4,5}", "127.0.0.1:<PORT>", text)
        for literal, placeholder in self.replacements:
            text = re.sub(r"(?<![0-9a-f])%s(?![0-9a-f])" % re.escape(literal), placeholder, text)
        if command.startswith("snapshot"):  # backend files grow in steps that vary
            text = re.sub(r'"size":"[^"]*"', '"size":"<SIZE>"', text)
            text = re.sub(r'"totalSize":\d+', '"totalSize":<SIZE>', text)
            text = re.sub(r'"Size" : \d+', '"Size" : <SIZE>', text)
        if "snapshot status" in command:  # the file holds member ids and lease ids
            text = re.sub(r'"hash":\d+', '"hash":<HASH>', text)
            text = re.sub(r'"Hash" : \d+', '"Hash" : <HASH>', text)
            text = re.sub(r"^[0-9a-f]+, ", "<HASH>, ", text, flags=re.M)
        timed = False
        for pattern, repl in ((r"took = \S+", "took = <DURATION>"), (r'"took":"[^"]*"', '"took":"<DURATION>"'),
                              (r'"Took" : \S+', '"Took" : <DURATION>'), (r"\b[\d.]+(ns|µs|ms|s)\b", "<DURATION>")):
            if "health" in command:
                text, n = re.subn(pattern, repl, text)
                timed = timed or n > 0
        if "hashkv" in command:
            text = re.sub(r'"hash":\d+', '"hash":<HASH>', text)
            text = re.sub(r"(<PORT>,? +\|? *)\d+", r"\1<HASH>", text)
        if "status" in command:
            text = re.sub(r'"(dbSize|dbSizeInUse)":\d+', r'"\1":<SIZE>', text)
            text = re.sub(r'"DBSize" : \d+', '"DBSize" : <SIZE>', text)
            text = re.sub(r"\b\d+(\.\d)? (B|kB|MB)\b", "<SIZE>", text)
        if command.startswith("endpoint status"):
            # etcd proposes internal requests (cluster version, attributes) on its own
            # schedule, so two fresh servers' raft indexes differ by one now and then.
            text = re.sub(r'"(raftIndex|raftAppliedIndex)":\d+', r'"\1":<INDEX>', text)
            text = re.sub(r'"(RaftIndex|RaftAppliedIndex)" : \d+', r'"\1" : <INDEX>', text)
            text = re.sub(r"^(.*, (?:true|false), (?:true|false), \d+, )\d+, \d+, ",
                          r"\1<INDEX>, <INDEX>, ", text, flags=re.M)
            text = "".join(_table_indexes(line) for line in text.splitlines(True))
        if "timetolive" in command:
            text = re.sub(r"remaining\(\d+s\)", "remaining(<TTL>s)", text)
            text = re.sub(r'"ttl":\d+', '"ttl":<TTL>', text)
            text = re.sub(r'"TTL" : \d+', '"TTL" : <TTL>', text)
        if "member " in command:
            # Members are listed by id, and an added member's id is random.
            text = re.sub(r'ETCD_INITIAL_CLUSTER="([^"]*)"',
                          lambda m: 'ETCD_INITIAL_CLUSTER="%s"' % ",".join(sorted(m.group(1).split(","))), text)
            if command == "member list":
                head, out, tail = re.match(r"(.*?--- stdout\n)(.*?)(--- stderr.*)", text, re.S).groups()
                text = head + "".join(sorted(out.splitlines(True))) + tail
        if timed:  # a table's widths follow the timing's length
            text = re.sub(r"-{2,}", "-", text)
            text = re.sub(r" {2,}", " ", text)
        return text


def _table_indexes(line):
    """Blanks the RAFT INDEX and RAFT APPLIED INDEX cells of an endpoint status table row."""
    cells = line.split("|")
    if len(cells) != 12 or not cells[1].strip().startswith("127.0.0.1"):
        return line
    for i in (8, 9):
        cells[i] = " " * (len(cells[i]) - len(" <INDEX> ")) + " <INDEX> "
    return "|".join(cells)


def parse_skips(path):
    """[(compiled regex, reason)] from a --skip file."""
    skips = []
    for line in open(path).read().split("\n") if path else []:
        if line.strip() and not line.startswith("#"):
            reason, pattern = line.split(" | ", 1)
            skips.append((re.compile(pattern.strip()), reason.strip()))
    return skips


def skip_reason(skips, line):
    return next((reason for pattern, reason in skips if pattern.search(line)), None)


def run_session(ctl, server_binary, script, ports, skips=()):
    server = Server(server_binary, ports=ports)
    transcript = []
    try:
        server.start()
        normalizer = Normalizer()
        header = json.loads(subprocess.run(
            [ctl, "--endpoints=" + server.endpoint, "member", "list", "-w", "json"],
            capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, env=dict(os.environ, ETCDCTL_API="3")).stdout)
        normalizer.add_id(header["header"]["cluster_id"], "CLUSTER_ID")
        normalizer.add_id(header["header"]["member_id"], "MEMBER_ID")
        variables = {"ENDPOINT": server.endpoint, "TMPDIR": server.dir}
        normalizer.replacements.append((server.dir, "<TMPDIR>"))
        for line, stdin in parse_script(script):
            reason = skip_reason(skips, line)
            if reason:
                transcript.append("$ %s\n--- skipped: %s\n" % (line, reason))
                continue
            words = shlex.split(line)
            capture = None
            if words[0] == "capture":
                capture, words = words[1], words[2:]
            env = dict(os.environ, ETCDCTL_API="3")
            while words and re.match(r"^[A-Z_]+=", words[0]):
                name, value = words.pop(0).split("=", 1)
                env[name] = value
            words = [re.sub(r"\$\{(\w+)\}", lambda m: variables[m.group(1)], w) for w in words]
            if not any(w.startswith("--endpoints") for w in words):
                words = ["--endpoints=" + server.endpoint] + words
            result = subprocess.run([ctl] + words, input=stdin.encode(), capture_output=True,
                                    timeout=COMMAND_TIMEOUT_S, env=env)
            # Binary output (-w protobuf) is compared byte for byte through its escapes.
            result.stdout = result.stdout.decode(errors="backslashreplace")
            result.stderr = result.stderr.decode(errors="backslashreplace")
            if capture:
                # Random ids with leading zero digits print shorter (space-padded).
                hex_id = re.search(r"\b[0-9a-f]{12,16}\b", result.stdout)
                json_id = re.search(r'"ID":(\d+)', result.stdout)
                if hex_id:
                    variables[capture] = hex_id.group(0)
                    normalizer.add_id(int(hex_id.group(0), 16), capture)
                elif json_id:
                    variables[capture] = "%x" % int(json_id.group(1))
                    normalizer.add_id(int(json_id.group(1)), capture)
            entry = "$ %s\n--- stdout\n%s--- stderr\n%s--- exit %d\n" % (
                line, result.stdout, result.stderr, result.returncode)
            transcript.append(normalizer.apply(line, entry))
    finally:
        server.stop()
    return transcript


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default="/usr/bin/etcd")
    parser.add_argument("--reference", default="/usr/bin/etcdctl")
    parser.add_argument("--candidate", required=True)
    parser.add_argument("--script", required=True)
    parser.add_argument("--save", help="directory to write both transcripts to")
    parser.add_argument("--skip", help="file of commands the server cannot serve yet (reason | regex)")
    args = parser.parse_args()
    ports = (free_port(), free_port())
    skips = parse_skips(args.skip)
    expected = run_session(args.reference, args.server, args.script, ports, skips)
    actual = run_session(args.candidate, args.server, args.script, ports, skips)
    skipped = [entry.split("\n")[:2] for entry in expected if "\n--- skipped: " in entry]
    for command, reason in skipped:
        print("skipped %s (%s)" % (command[2:], reason[len("--- skipped: "):]))
    if args.save:
        os.makedirs(args.save, exist_ok=True)
        open(os.path.join(args.save, "reference.txt"), "w").write("".join(expected))
        open(os.path.join(args.save, "candidate.txt"), "w").write("".join(actual))
    differing = report(expected, actual)
    if differing and len(expected) == len(actual):
        # Two fresh etcd servers are not always alike (etcd schedules internal proposals
        # of its own); a command fails only when it differs in a second pair of sessions
        # too. The first round's differences stay printed above.
        print("%d commands differed; running both sessions again" % len(differing))
        again = report(run_session(args.reference, args.server, args.script, ports, skips),
                       run_session(args.candidate, args.server, args.script, ports, skips))
        differing = sorted(set(differing) & set(again))
    print("%d commands, %d skipped, %d differ" % (len(expected), len(skipped), len(differing)))
    return 1 if differing or len(expected) != len(actual) else 0


def report(expected, actual):
    """Prints the diff of each command whose transcripts differ; returns their indexes."""
    differing = [i for i, (a, b) in enumerate(zip(expected, actual)) if a != b]
    for i in differing:
        sys.stdout.writelines(difflib.unified_diff(expected[i].splitlines(True), actual[i].splitlines(True),
                                                   "reference", "candidate"))
    return differing

if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # unwind through the finally blocks
    sys.exit(main())
