// The watch checker against Debian's real etcd (etcpp does not serve Watch yet): a
// writer makes puts, deletes and multi-key txns under a prefix while a watcher follows
// the prefix, cutting its stream after every response and resuming at the last revision
// it got + 1. Every revision must come exactly once, whole, in order.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "etcdserverpb/rpc.grpc.pb.h"
#include "tests/chaos/watch_checker.h"
#include "tests/e2e/harness.h"

namespace etcpp::chaos {
namespace {

using etcdserverpb::RequestOp;

// Writes `rounds` rounds of put, txn (two puts and a delete in one revision) and delete,
// returning the events they made, in revision order.
std::vector<WatchEvent> Write(etcdserverpb::KV::Stub& kv, int rounds) {
  std::vector<WatchEvent> history;
  for (int i = 0; i < rounds; ++i) {
    std::string v = std::to_string(i);
    grpc::ClientContext put_context;
    etcdserverpb::PutRequest put;
    put.set_key("w/a");
    put.set_value("a" + v);
    etcdserverpb::PutResponse put_response;
    EXPECT_TRUE(kv.Put(&put_context, put, &put_response).ok());
    history.push_back({WatchEvent::Type::kPut, "w/a", "a" + v, put_response.header().revision()});

    grpc::ClientContext txn_context;
    etcdserverpb::TxnRequest txn;
    for (const char* key : {"w/b", "w/c"}) {
      auto* p = txn.add_success()->mutable_request_put();
      p->set_key(key);
      p->set_value(std::string(key) + v);
    }
    txn.add_success()->mutable_request_delete_range()->set_key("w/a");
    etcdserverpb::TxnResponse txn_response;
    EXPECT_TRUE(kv.Txn(&txn_context, txn, &txn_response).ok());
    int64_t revision = txn_response.header().revision();
    history.push_back({WatchEvent::Type::kPut, "w/b", "w/b" + v, revision});
    history.push_back({WatchEvent::Type::kPut, "w/c", "w/c" + v, revision});
    history.push_back({WatchEvent::Type::kDelete, "w/a", "", revision});
  }
  return history;
}

// One Watch stream from `start`, read until `responses_max` event responses came or
// revision `last` was delivered (or 10 s passed), then cut.
WatchSession Follow(etcdserverpb::Watch::Stub& watch, int64_t start, int responses_max,
                    const std::atomic<int64_t>& last) {
  WatchSession session{start, {}};
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto stream = watch.Watch(&context);
  etcdserverpb::WatchRequest request;
  auto* create = request.mutable_create_request();
  create->set_key("w/");
  create->set_range_end("w0");
  create->set_start_revision(start);
  stream->Write(request);
  etcdserverpb::WatchResponse response;
  int64_t delivered = 0;
  while (static_cast<int>(session.responses.size()) < responses_max && stream->Read(&response)) {
    if (response.events_size() == 0) continue;  // the "created" answer
    WatchResponse got;
    for (const auto& e : response.events()) {
      bool put = e.type() == mvccpb::Event::PUT;
      got.events.push_back({put ? WatchEvent::Type::kPut : WatchEvent::Type::kDelete, e.kv().key(),
                            put ? e.kv().value() : "", e.kv().mod_revision()});
      delivered = e.kv().mod_revision();
    }
    session.responses.push_back(std::move(got));
    if (last.load() > 0 && delivered >= last.load()) break;
  }
  context.TryCancel();
  stream->Finish().ok();  // cancelled on purpose: its status says so
  return session;
}

TEST(WatchAgainstEtcd, ResumedStreamsDeliverEveryRevisionOnceWholeAndInOrder) {
  e2e::TempDir dir;
  e2e::Server etcd(e2e::Server::Kind::kEtcd, dir.path() + "/etcd");
  ASSERT_TRUE(etcd.Healthy()) << etcd.Log();
  auto channel = grpc::CreateChannel(etcd.endpoint(), grpc::InsecureChannelCredentials());
  auto kv = etcdserverpb::KV::NewStub(channel);
  auto watch = etcdserverpb::Watch::NewStub(channel);

  std::atomic<int64_t> last{0};  // the writer's last revision, once it is done
  std::vector<WatchEvent> history;
  std::thread writer([&] {
    history = Write(*kv, 150);
    last = history.back().revision;
  });
  std::vector<WatchSession> sessions;
  int64_t next = 1;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline && (last.load() == 0 || next <= last.load())) {
    sessions.push_back(Follow(*watch, next, 1, last));
    for (const auto& r : sessions.back().responses)
      if (!r.events.empty()) next = r.events.back().revision + 1;
  }
  writer.join();

  WatchCheckResult result = CheckWatch(history, sessions, true);
  EXPECT_TRUE(result.ok()) << result.Explain();
  EXPECT_EQ(result.events_checked, static_cast<int64_t>(history.size()));
  // How many depends on how etcd batches events into responses; more than one means
  // the resume was exercised.
  EXPECT_GT(sessions.size(), 1u) << "the watcher should have resumed";
  std::printf("%zu events over %zu watch sessions: %s", history.size(), sessions.size(),
              result.Explain().c_str());
}

}  // namespace
}  // namespace etcpp::chaos
