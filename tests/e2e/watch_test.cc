// Debian's `etcdctl watch` against etcpp and against Debian's etcd, side by side: key,
// --prefix, ranges, --rev, --prev-kv, -w json, interactive -i, and the requests etcd
// refuses (an empty range, a compacted revision). Each session is one shell script: the
// watchers start at a fixed revision, so whether they attach before or after the writes
// (a loaded machine decides) they print the same events; the script waits until every
// watcher has printed its last expected event, then stops them. Where the output shows
// response boundaries (-w json, the gateway) the watcher starts after the writes: how
// history is batched into responses is then fixed, how live events are is not.
#include <gtest/gtest.h>

#include <regex>

#include "tests/e2e/harness.h"

namespace etcpp::e2e {
namespace {

// Runs `script` with $E set to etcdctl against `server`, in a scratch directory.
std::string RunScript(const Server& server, const std::string& script) {
  TempDir dir;
  CommandResult r =
      Run({"sh", "-c", "cd " + dir.path() + " && " + script}, "",
          {{"ETCDCTL_API", "3"}, {"E", "etcdctl --endpoints " + server.endpoint()}}, 120);
  std::string out = r.out + r.err + "[exit " + std::to_string(r.exit_code) + "]\n";
  return std::regex_replace(out, std::regex(server.endpoint()), "ENDPOINT");
}

// Polls (up to 60 s) until file $1 holds at least $2 lines matching $3.
constexpr const char* kWaitFor = R"sh(
wait_for() { i=0; while [ "$(grep -c "$3" "$1")" -lt "$2" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; }
)sh";

std::string Session(const Server& server) {
  std::string script = kWaitFor;
  script += R"sh(
$E put foo 0 >/dev/null
$E watch foo --rev 3 --prev-kv > key.out 2>&1 & k=$!
$E watch --prefix f --rev 3 > prefix.out 2>&1 & p=$!
$E watch --prefix '' --rev 1 > all.out 2>&1 & a=$!
mkfifo in
$E watch -i < in > interactive.out 2>&1 & i=$!
exec 3>in
echo 'watch --prefix b --rev 3 --prev-kv' >&3
$E put foo 1 >/dev/null
$E put fa 2 >/dev/null
$E put b 3 >/dev/null
printf '\nput foo 4\nput b 5\n\n\n' | $E txn >/dev/null
$E del '' --prefix >/dev/null
$E watch a c --rev 3 -w json > range.out 2>&1 & r=$!
wait_for key.out 1 DELETE; wait_for prefix.out 2 DELETE; wait_for range.out 1 '"type":1'
wait_for all.out 3 DELETE; wait_for interactive.out 1 DELETE
sleep 0.5
kill $k $p $r $a; exec 3>&-; wait $i
# etcdctl -i may or may not get to report the end of its input before it exits.
for f in key prefix range all interactive; do echo "== $f"; grep -v 'reading watch request line' $f.out; done
)sh";
  return RunScript(server, script);
}

std::string Refusals(const Server& server) {
  std::string script = R"sh(
$E put r 1 >/dev/null; $E put r 2 >/dev/null; $E put r 3 >/dev/null
$E compaction 3 >/dev/null
$E watch r --rev 2; echo "exit $?"
$E watch b a; echo "exit $?"
$E watch r --rev 3 > at.out 2>&1 & w=$!
i=0; while ! grep -qs PUT at.out && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
kill $w; cat at.out
)sh";
  return RunScript(server, script);
}

// The JSON gateway's streamed /v3/watch, from history (curl is stopped once the last
// event is in).
std::string Gateway(const Server& server) {
  std::string script = kWaitFor;
  script += R"sh(
$E put foo a >/dev/null
$E put foo b >/dev/null
$E del foo >/dev/null
curl -sN -X POST -d '{"create_request":{"key":"Zm9v","start_revision":"1","prev_kv":true}}' http://$EP/v3/watch > events.out & c=$!
curl -sN -X POST -d '{"create_request":{"key":"Zm9v","range_end":"YQ=="}}' http://$EP/v3/watch > empty.out & e=$!
wait_for events.out 1 '"DELETE"'; wait_for empty.out 1 'range is empty'
sleep 0.5
kill $c $e
cat events.out empty.out
)sh";
  return RunScript(server, "EP=" + server.endpoint() + "; " + script);
}

class WatchSideBySide : public ::testing::Test {
 protected:
  // `must_show`: text the session must print, so that two servers failing the same
  // way (no events at all) do not pass.
  void ExpectSame(std::string (*session)(const Server&),
                  const std::vector<std::string>& must_show) {
    auto run = RunSideBySide(session);
    ASSERT_EQ(run.failure, "");
    const std::string& actual = run.etcpp;
    EXPECT_EQ(actual, run.etcd) << "etcpp's log:\n" << run.etcpp_log;
    for (const auto& text : must_show)
      EXPECT_NE(actual.find(text), std::string::npos) << text << " in\n" << actual;
  }
};

TEST_F(WatchSideBySide, KeyPrefixRangeHistoryPrevKvJsonInteractive) {
  ExpectSame(Session, {"== interactive\nPUT\nb\n3\n", "\"type\":1", "DELETE\nfoo\n4\nfoo\n"});
}

TEST_F(WatchSideBySide, CompactedRevisionAndEmptyRangeAreRefusedAsEtcdDoes) {
  ExpectSame(Refusals,
             {"required revision has been compacted", "watcher range is empty", "PUT\nr\n3"});
}

TEST_F(WatchSideBySide, JsonGatewayStreamsWatchResponses) {
  ExpectSame(Gateway, {"\"created\":true", "\"type\":\"DELETE\"", "watcher range is empty"});
}

}  // namespace
}  // namespace etcpp::e2e
