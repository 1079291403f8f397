#include "env_server/envs/searchqa/search_backend.h"

#include <chrono>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "nlohmann/json.hpp"

namespace agentgym::env::searchqa {
namespace {

// A retriever answer bigger than this breaks the contract (k passages).
constexpr size_t kMaxAnswerBytes = 8 << 20;

}  // namespace

absl::StatusOr<std::vector<Passage>> LocalSearchBackend::Search(std::string_view query,
                                                                int k) const {
  std::vector<Passage> out;
  for (const Bm25Hit& hit : kb_->index().Search(query, k)) {
    const Document& d = kb_->docs()[hit.doc];
    out.push_back(Passage{d.id, d.title, d.text});
  }
  return out;
}

absl::StatusOr<std::unique_ptr<HttpSearchBackend>> HttpSearchBackend::Create(std::string_view url,
                                                                             int timeout_ms) {
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return absl::InvalidArgumentError(
        absl::StrCat("search_backend must be http://host:port/path, got '", std::string(url),
                     "'"));
  }
  if (timeout_ms <= 0) return absl::InvalidArgumentError("search timeout must be > 0 ms");
  std::string_view rest = url.substr(kScheme.size());
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  size_t colon = authority.rfind(':');
  std::string host(authority.substr(0, colon));
  int port = 80;
  if (colon != std::string_view::npos &&
      (!absl::SimpleAtoi(std::string(authority.substr(colon + 1)), &port) || port <= 0 || port > 65535)) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad port in search_backend '", std::string(url), "'"));
  }
  if (host.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("no host in search_backend '", std::string(url), "'"));
  }
  return std::unique_ptr<HttpSearchBackend>(
      new HttpSearchBackend(std::move(host), port, std::move(path), timeout_ms));
}

absl::StatusOr<std::vector<Passage>> HttpSearchBackend::Search(std::string_view query,
                                                               int k) const {
  httplib::Client client(host_, port_);
  const auto timeout = std::chrono::milliseconds(timeout_ms_);
  // Connect, each read and each write are bounded by the timeout; the whole
  // answer is bounded by the same deadline (checked as the body arrives), so
  // a server that trickles bytes cannot hold an episode past it either.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  client.set_connection_timeout(timeout);
  client.set_read_timeout(timeout);
  client.set_write_timeout(timeout);
  client.set_keep_alive(false);
  nlohmann::json payload = {{"query", std::string(query)}, {"k", k}};
  httplib::Request request;
  request.method = "POST";
  request.path = path_;
  request.set_header("Content-Type", "application/json");
  // Invalid UTF-8 cannot reach here (the server checks actions), but dump
  // replaces rather than throws to be safe.
  request.body = payload.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string body;
  enum class Cancel { kNone, kDeadline, kTooLarge } cancel = Cancel::kNone;
  request.content_receiver = [&](const char* data, size_t size, uint64_t, uint64_t) {
    if (body.size() + size > kMaxAnswerBytes) {
      cancel = Cancel::kTooLarge;
      return false;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      cancel = Cancel::kDeadline;
      return false;
    }
    body.append(data, size);
    return true;
  };
  httplib::Result result = client.send(request);
  const std::string where = absl::StrCat("search backend ", host_, ":", port_, path_);
  if (!result) {
    const httplib::Error error = result.error();
    if (cancel == Cancel::kTooLarge) {
      return absl::InternalError(
          absl::StrCat(where, ": answer larger than ", kMaxAnswerBytes, " bytes"));
    }
    if (cancel == Cancel::kDeadline || error == httplib::Error::Read ||
        error == httplib::Error::Write || error == httplib::Error::ConnectionTimeout) {
      return absl::DeadlineExceededError(
          absl::StrCat(where, ": no answer within ", timeout_ms_, " ms (",
                       httplib::to_string(error), ")"));
    }
    return absl::UnavailableError(absl::StrCat(where, ": ", httplib::to_string(error)));
  }
  if (result->status != 200) {
    return absl::UnavailableError(absl::StrCat(where, " answered HTTP ", result->status));
  }
  nlohmann::json answer = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (answer.is_discarded() || !answer.is_object() || !answer.contains("results") ||
      !answer["results"].is_array()) {
    return absl::InternalError(absl::StrCat(where, " answered without a \"results\" array"));
  }
  std::vector<Passage> out;
  for (const nlohmann::json& item : answer["results"]) {
    if (static_cast<int>(out.size()) >= k) break;
    if (!item.is_object() || !item.contains("text") || !item["text"].is_string()) {
      return absl::InternalError(absl::StrCat(where, ": a result has no string \"text\""));
    }
    Passage p;
    p.text = item["text"].get<std::string>();
    if (item.contains("id") && item["id"].is_string()) p.id = item["id"].get<std::string>();
    if (item.contains("id") && item["id"].is_number_integer()) {
      p.id = std::to_string(item["id"].get<int64_t>());
    }
    if (item.contains("title") && item["title"].is_string()) {
      p.title = item["title"].get<std::string>();
    }
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace agentgym::env::searchqa
