#include "api/gateway.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>

#include <nlohmann/json.hpp>

#include "api/errors.h"
#include "server/member.h"
#include "v3electionpb/v3election.grpc.pb.h"
#include "v3lockpb/v3lock.grpc.pb.h"
#include "server/convert.h"
#include "server/version.h"

namespace etcpp::api {
namespace {

namespace http = boost::beast::http;
using google::protobuf::Message;

// grpc-gateway's mapping of gRPC codes to HTTP statuses.
http::status HttpStatusOf(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return http::status::ok;
    case grpc::StatusCode::CANCELLED: return static_cast<http::status>(499);
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE: return http::status::bad_request;
    case grpc::StatusCode::DEADLINE_EXCEEDED: return http::status::gateway_timeout;
    case grpc::StatusCode::NOT_FOUND: return http::status::not_found;
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::ABORTED: return http::status::conflict;
    case grpc::StatusCode::PERMISSION_DENIED: return http::status::forbidden;
    case grpc::StatusCode::UNAUTHENTICATED: return http::status::unauthorized;
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return http::status::too_many_requests;
    case grpc::StatusCode::UNIMPLEMENTED: return http::status::not_implemented;
    case grpc::StatusCode::UNAVAILABLE: return http::status::service_unavailable;
    default: return http::status::internal_server_error;
  }
}

HttpResponse Json(const HttpRequest& request, http::status status, std::string body) {
  HttpResponse response{status, request.version()};
  response.set(http::field::content_type, "application/json");
  response.body() = std::move(body);
  return response;
}

HttpResponse Version(const HttpRequest& request) {
  nlohmann::ordered_json body = {{"etcdserver", server::kEtcdVersion},
                                 {"etcdcluster", server::kEtcdClusterVersion}};
  return Json(request, http::status::ok, body.dump());
}

// Go's http.Error, headers in its order; `allow` for a 405.
HttpResponse PlainText(const HttpRequest& request, http::status status, std::string body,
                       const char* allow = nullptr) {
  HttpResponse response{status, request.version()};
  if (allow) response.set(http::field::allow, allow);
  response.set(http::field::content_type, "text/plain; charset=utf-8");
  response.set("X-Content-Type-Options", "nosniff");
  response.body() = std::move(body) + "\n";
  return response;
}

HttpResponse Error(const HttpRequest& request, const grpc::Status& status) {
  // grpc-gateway's field order, kept (nlohmann::json would sort the keys).
  nlohmann::ordered_json body = {{"error", status.error_message()},
                                 {"message", status.error_message()},
                                 {"code", static_cast<int>(status.error_code())}};
  return Json(request, HttpStatusOf(status.error_code()), body.dump());
}

// Reads the JSON body into `message`; false (with the response set) when malformed.
bool Parse(const HttpRequest& request, Message* message, HttpResponse* bad) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  std::string body = request.body().empty() ? "{}" : request.body();
  auto status = google::protobuf::util::JsonStringToMessage(body, message, options);
  if (status.ok()) return true;
  *bad = Error(request, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(status.message())));
  return false;
}

std::string ToJson(const Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;  // etcd's gateway uses OrigName
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

// Calls an asynchronous server method and waits for its answer. The wait holds one
// HTTP I/O thread; the gateway is for tools and scripts, gRPC for load.
template <typename Request, typename Response>
HttpResponse Call(const HttpRequest& http_request,
                  void (server::EtcdServer::*method)(Request, server::Done<Response>),
                  server::EtcdServer* server) {
  Request request;
  HttpResponse bad;
  if (!Parse(http_request, &request, &bad)) return bad;
  std::promise<base::Result<Response>> answer;
  (server->*method)(std::move(request), [&answer](base::Result<Response> result) {
    answer.set_value(std::move(result));
  });
  base::Result<Response> result = answer.get_future().get();
  if (!result.ok()) return Error(http_request, ToGrpcStatus(result.status()));
  return Json(http_request, http::status::ok, ToJson(*result));
}

// A call to a service of the API layer through the in-process channel.
template <typename Stub, typename Request, typename Response>
HttpResponse CallLocal(const HttpRequest& http_request, Stub* stub,
                       grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*)) {
  Request request;
  HttpResponse bad;
  if (!Parse(http_request, &request, &bad)) return bad;
  grpc::ClientContext context;
  Response response;
  grpc::Status status = (stub->*method)(&context, request, &response);
  if (!status.ok()) return Error(http_request, status);
  return Json(http_request, http::status::ok, ToJson(response));
}

// A server-streamed answer as grpc-gateway writes each message: {"result": ...} and a
// newline.
HttpResponse StreamMessage(HttpResponse response) {
  if (response.result() == http::status::ok) response.body() = "{\"result\":" + response.body() + "}\n";
  return response;
}

HttpResponse Health(const HttpRequest& request, server::EtcdServer* server) {
  // etcd's order: no leader first, then the first alarm raised.
  std::string reason;
  if (server->leader() == 0) {
    reason = "RAFT NO LEADER";
  } else if (auto alarms = server->Alarms(); !alarms.empty()) {
    reason = "ALARM " + etcdserverpb::AlarmType_Name(alarms.front().alarm());
  }
  bool healthy = reason.empty();
  nlohmann::json body = {{"health", healthy ? "true" : "false"}, {"reason", reason}};
  return Json(request, healthy ? http::status::ok : http::status::service_unavailable, body.dump());
}

HttpResponse Probe(const HttpRequest& request, bool ok) {
  HttpResponse response{ok ? http::status::ok : http::status::service_unavailable, request.version()};
  response.set(http::field::content_type, "text/plain; charset=utf-8");
  response.body() = ok ? "ok\n" : "not ok\n";
  return response;
}

// /v3/watch: the stream's watchers live until the client goes away.
void ServeWatch(server::EtcdServer* server, const etcdserverpb::WatchRequest& request,
                const HttpStreamSend& send, const std::function<bool()>& open) {
  std::mutex mu;
  std::condition_variable ready_cv;
  bool ready = false;
  auto stream = server->NewWatchStream([&] {
    std::lock_guard lock(mu);
    ready = true;
    ready_cv.notify_one();
  });
  if (request.has_create_request()) {
    mvcc::WatchRequest watch = server::FromWire(request.create_request());
    stream->Watch(std::move(watch));
  }
  while (open()) {
    {
      std::unique_lock lock(mu);
      // Wakes at least twice a second to notice a client that hung up.
      ready_cv.wait_for(lock, std::chrono::milliseconds(500), [&] { return ready; });
      ready = false;
    }
    while (auto response = stream->Take()) {
      if (!send("{\"result\":" + ToJson(server->WatchResponseToWire(std::move(*response))) + "}\n")) return;
    }
  }
}

}  // namespace

HttpStreamHandler MakeStreamingGateway(server::EtcdServer* server) {
  return [server](const HttpRequest& http_request) -> HttpStream {
    if (http_request.method() != http::verb::post || http_request.target() != "/v3/watch") return nullptr;
    etcdserverpb::WatchRequest request;
    // etcd's gateway skips fields it does not know in a watch request.
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = true;
    const std::string& body = http_request.body();
    auto parsed = google::protobuf::util::JsonStringToMessage(body.empty() ? "{}" : body, &request, options);
    if (!parsed.ok()) {
      // etcd's gateway answers the error object of its other routes (its text is Go's).
      nlohmann::json error = {{"error", std::string(parsed.message())},
                              {"message", std::string(parsed.message())},
                              {"code", static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT)}};
      return [error = error.dump()](const HttpStreamSend& send, const std::function<bool()>&) {
        send(error + "\n");
      };
    }
    return [server, request](const HttpStreamSend& send, const std::function<bool()>& open) {
      ServeWatch(server, request, send, open);
    };
  };
}

HttpHandler MakeGateway(server::EtcdServer* server, std::shared_ptr<grpc::Channel> local) {
  using S = server::EtcdServer;
  using Route = std::function<HttpResponse(const HttpRequest&)>;
  auto routes = std::make_shared<std::map<std::string, Route>>(std::map<std::string, Route>{
      {"/v3/kv/range", [server](const HttpRequest& r) { return Call(r, &S::Range, server); }},
      {"/v3/kv/put", [server](const HttpRequest& r) { return Call(r, &S::Put, server); }},
      {"/v3/kv/deleterange", [server](const HttpRequest& r) { return Call(r, &S::DeleteRange, server); }},
      {"/v3/kv/txn", [server](const HttpRequest& r) { return Call(r, &S::Txn, server); }},
      {"/v3/kv/compaction", [server](const HttpRequest& r) { return Call(r, &S::Compact, server); }},
      {"/v3/maintenance/status",
       [server](const HttpRequest& r) { return Json(r, http::status::ok, ToJson(server->Status())); }},
      // Lease; grpc-gateway also binds the older /v3/kv/lease/* paths.
      {"/v3/lease/grant", [server](const HttpRequest& r) { return Call(r, &S::LeaseGrant, server); }},
      {"/v3/lease/revoke", [server](const HttpRequest& r) { return Call(r, &S::LeaseRevoke, server); }},
      {"/v3/kv/lease/revoke", [server](const HttpRequest& r) { return Call(r, &S::LeaseRevoke, server); }},
      {"/v3/lease/timetolive",
       [server](const HttpRequest& r) { return Call(r, &S::LeaseTimeToLive, server); }},
      {"/v3/kv/lease/timetolive",
       [server](const HttpRequest& r) { return Call(r, &S::LeaseTimeToLive, server); }},
      {"/v3/lease/leases", [server](const HttpRequest& r) { return Call(r, &S::LeaseLeases, server); }},
      {"/v3/kv/lease/leases", [server](const HttpRequest& r) { return Call(r, &S::LeaseLeases, server); }},
      {"/v3/lease/keepalive",
       [server](const HttpRequest& r) { return StreamMessage(Call(r, &S::LeaseKeepAlive, server)); }},
  });
  if (local) {
    // Election and Lock (Observe, a stream without end, is served over gRPC only).
    using E = v3electionpb::Election::Stub;
    using L = v3lockpb::Lock::Stub;
    std::shared_ptr<E> election = v3electionpb::Election::NewStub(local);
    std::shared_ptr<L> lock = v3lockpb::Lock::NewStub(local);
    routes->insert({
        {"/v3/election/campaign", [election](const HttpRequest& r) { return CallLocal(r, election.get(), &E::Campaign); }},
        {"/v3/election/proclaim", [election](const HttpRequest& r) { return CallLocal(r, election.get(), &E::Proclaim); }},
        {"/v3/election/leader", [election](const HttpRequest& r) { return CallLocal(r, election.get(), &E::Leader); }},
        {"/v3/election/resign", [election](const HttpRequest& r) { return CallLocal(r, election.get(), &E::Resign); }},
        {"/v3/lock/lock", [lock](const HttpRequest& r) { return CallLocal(r, lock.get(), &L::Lock); }},
        {"/v3/lock/unlock", [lock](const HttpRequest& r) { return CallLocal(r, lock.get(), &L::Unlock); }},
    });
  }
  return [server, routes](const HttpRequest& request) -> HttpResponse {
    std::string target(request.target());
    if (request.method() == http::verb::get) {
      if (target == "/health") return Health(request, server);
      if (target == "/livez") return Probe(request, true);
      if (target == "/metrics") {
        HttpResponse response{http::status::ok, request.version()};
        response.set(http::field::content_type, "text/plain; version=0.0.4");
        response.body() = server->MetricsText();
        return response;
      }
      if (target == "/readyz") return Probe(request, server->leader() != 0);
      if (target == "/version") return Version(request);
    }
    if (request.method() == http::verb::post) {
      if (auto it = routes->find(target); it != routes->end()) return it->second(request);
    }
    return Error(request, grpc::Status(grpc::StatusCode::NOT_FOUND, "Not Found"));
  };
}

HttpHandler MakePeerHttp(server::EtcdServer* server) {
  return [server](const HttpRequest& request) -> HttpResponse {
    std::string target(request.target());
    if (target == "/members") {
      if (request.method() != http::verb::get) {
        return PlainText(request, http::status::method_not_allowed, "Method Not Allowed", "GET");
      }
      auto members = server->Members();
      std::sort(members.begin(), members.end(), [](const auto& a, const auto& b) { return a.id() < b.id(); });
      // etcd's membership JSON: the id as a number; empty fields left out.
      nlohmann::ordered_json body = nlohmann::ordered_json::array();
      for (const auto& m : members) {
        nlohmann::ordered_json member = {{"id", m.id()}, {"peerURLs", std::vector<std::string>(m.peer_urls().begin(), m.peer_urls().end())}};
        if (m.is_learner()) member["isLearner"] = true;
        if (!m.name().empty()) member["name"] = m.name();
        if (m.client_urls_size() > 0) member["clientURLs"] = std::vector<std::string>(m.client_urls().begin(), m.client_urls().end());
        body.push_back(std::move(member));
      }
      HttpResponse response = Json(request, http::status::ok, body.dump() + "\n");
      response.set("X-Etcd-Cluster-Id", server::IdHex(server->Header().cluster_id()));
      return response;
    }
    if (target == "/version" && request.method() == http::verb::get) return Version(request);
    return PlainText(request, http::status::not_found, "404 page not found");
  };
}

}  // namespace etcpp::api
