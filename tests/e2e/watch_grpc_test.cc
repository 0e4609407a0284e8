// The Watch stream's control protocol over gRPC, etcd and etcpp side by side: user
// watch ids and the duplicate-id refusal, automatic ids, progress requests, cancel of a
// known and an unknown id, and fragments of a revision larger than --max-request-bytes
// plus etcd's 512 KiB gRPC allowance.
// Each server's responses are printed field by field (ids of cluster and member
// normalised: both get the same name and peer URL) and the transcripts compared.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "etcdserverpb/rpc.grpc.pb.h"
#include "tests/e2e/harness.h"

namespace etcpp::e2e {
namespace {

std::string Describe(const etcdserverpb::WatchResponse& r) {
  std::string out =
      "id=" + std::to_string(r.watch_id()) + " rev=" + std::to_string(r.header().revision());
  if (r.created()) out += " created";
  if (r.canceled()) out += " canceled";
  if (r.fragment()) out += " fragment";
  if (r.compact_revision() != 0) out += " compact=" + std::to_string(r.compact_revision());
  if (!r.cancel_reason().empty()) out += " reason=\"" + r.cancel_reason() + "\"";
  for (const auto& e : r.events())
    out += " " + e.kv().key() + "@" + std::to_string(e.kv().mod_revision());
  return out + "\n";
}

class Session {
 public:
  explicit Session(const Server& server)
      : channel_(grpc::CreateChannel(server.endpoint(), grpc::InsecureChannelCredentials())),
        kv_(etcdserverpb::KV::NewStub(channel_)),
        watch_(etcdserverpb::Watch::NewStub(channel_)) {
    context_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    stream_ = watch_->Watch(&context_);
  }
  ~Session() {
    context_.TryCancel();
    (void)stream_->Finish();
  }
  void Create(const std::string& key, int64_t id, const std::string& end = "", int64_t start = 0,
              bool fragment = false, bool prev_kv = false) {
    etcdserverpb::WatchRequest request;
    auto* create = request.mutable_create_request();
    create->set_key(key);
    create->set_range_end(end);
    create->set_watch_id(id);
    create->set_start_revision(start);
    create->set_fragment(fragment);
    create->set_prev_kv(prev_kv);
    stream_->Write(request);
  }
  void Cancel(int64_t id) {
    etcdserverpb::WatchRequest request;
    request.mutable_cancel_request()->set_watch_id(id);
    stream_->Write(request);
  }
  void Progress() {
    etcdserverpb::WatchRequest request;
    request.mutable_progress_request();
    stream_->Write(request);
  }
  // Reads `n` responses into the transcript.
  void Read(int n) {
    etcdserverpb::WatchResponse response;
    for (int i = 0; i < n && stream_->Read(&response); ++i) transcript += Describe(response);
  }
  // Reads until a response with events and without `fragment` came.
  void ReadToLastFragment() {
    etcdserverpb::WatchResponse response;
    while (stream_->Read(&response)) {
      transcript += Describe(response);
      if (response.events_size() > 0 && !response.fragment()) return;
    }
  }
  void Put(const std::string& key, const std::string& value) {
    grpc::ClientContext context;
    etcdserverpb::PutRequest put;
    put.set_key(key);
    put.set_value(value);
    etcdserverpb::PutResponse response;
    EXPECT_TRUE(kv_->Put(&context, put, &response).ok());
  }
  int64_t DeleteRange(const std::string& key, const std::string& end) {
    grpc::ClientContext context;
    etcdserverpb::DeleteRangeRequest request;
    request.set_key(key);
    request.set_range_end(end);
    etcdserverpb::DeleteRangeResponse response;
    EXPECT_TRUE(kv_->DeleteRange(&context, request, &response).ok());
    return response.header().revision();
  }

  std::string transcript;

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<etcdserverpb::KV::Stub> kv_;
  std::unique_ptr<etcdserverpb::Watch::Stub> watch_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>>
      stream_;
};

std::string Transcript(const Server& server) {
  Session s(server);
  s.Create("a", 5);
  s.Create("b", 5);  // duplicate id
  s.Create("c", 0);  // automatic: 0
  s.Create("d", 0);  // automatic: 1
  s.Progress();
  s.Cancel(5);
  s.Cancel(99);  // unknown: no answer
  s.Read(6);
  s.Put("c", "1");
  s.Read(1);
  // One revision whose response (the deletes' previous values) is over the limit,
  // although every request is under it.
  for (const char* key : {"f/1", "f/2", "f/3", "f/4"}) s.Put(key, std::string(1000000, 'x'));
  int64_t rev = s.DeleteRange("f/", "f0");
  s.Create("f/", 0, "f0", rev, true, true);
  s.ReadToLastFragment();
  return s.transcript;
}

TEST(WatchGrpcSideBySide, IdsProgressCancelAndFragments) {
  auto run = RunSideBySide(Transcript);
  ASSERT_EQ(run.failure, "");
  const std::string& actual = run.etcpp;
  EXPECT_EQ(actual, run.etcd) << "etcpp's log:\n" << run.etcpp_log;
  EXPECT_NE(actual.find("duplicate watch ID"), std::string::npos) << actual;
  EXPECT_NE(actual.find(" fragment f/"), std::string::npos) << actual;
}

}  // namespace
}  // namespace etcpp::e2e
