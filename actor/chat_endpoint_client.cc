#include "actor/chat_endpoint_client.h"

#include <algorithm>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "nlohmann/json.hpp"

namespace agentgym::actor {
namespace {

// The start of a server's reply body, for error messages (bodies can be
// whole HTML pages).
std::string Excerpt(const std::string& body) {
  constexpr size_t kMax = 200;
  std::string out = body.substr(0, kMax);
  std::replace(out.begin(), out.end(), '\n', ' ');
  return body.size() > kMax ? absl::StrCat(out, "...") : out;
}

// Whether a 400 says that the prompt does not fit the model's context (the
// wording of vLLM, OpenAI and llama.cpp's server).
bool SaysContextFull(const std::string& body) {
  const std::string lower = absl::AsciiStrToLower(body);
  return absl::StrContains(lower, "context length") || absl::StrContains(lower, "context_length") ||
         absl::StrContains(lower, "maximum context") || absl::StrContains(lower, "context window") ||
         absl::StrContains(lower, "exceeds the available context");
}

bool Retryable(int http_status) { return http_status == 429 || http_status >= 500; }

}  // namespace

absl::StatusOr<std::unique_ptr<ChatEndpointClient>> ChatEndpointClient::Create(ChatEndpointOptions options) {
  const std::string& url = options.endpoint;
  if (absl::StartsWith(url, "https://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("endpoint ", url, ": https is not supported yet; use an http:// endpoint (e.g. a local "
                     "inference server, or a TLS-terminating proxy in front of a remote one)"));
  }
  if (!absl::StartsWith(url, "http://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("endpoint \"", url, "\" is not an http:// URL (e.g. http://127.0.0.1:8000/v1)"));
  }
  const std::string rest = url.substr(7);
  const size_t slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  std::string path = slash == std::string::npos ? "" : rest.substr(slash);
  while (!path.empty() && path.back() == '/') path.pop_back();
  if (authority.empty()) return absl::InvalidArgumentError(absl::StrCat("endpoint \"", url, "\" names no host"));
  const size_t colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']', colon) == std::string::npos) {
    int port = 0;
    if (!absl::SimpleAtoi(authority.substr(colon + 1), &port) || port <= 0 || port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat("endpoint \"", url, "\" has a bad port"));
    }
  }
  if (options.model_name.empty()) {
    return absl::InvalidArgumentError("an endpoint needs a model name (--model-name)");
  }
  if (options.max_attempts < 1) return absl::InvalidArgumentError("max_attempts must be >= 1");
  std::string host_port = absl::StrCat("http://", authority);
  return std::unique_ptr<ChatEndpointClient>(
      new ChatEndpointClient(std::move(options), std::move(host_port), absl::StrCat(path, "/chat/completions")));
}

absl::StatusOr<ChatReply> ChatEndpointClient::Complete(const std::vector<policy::ChatMessage>& messages,
                                                       const ChatRequestParams& params) const {
  nlohmann::json msgs = nlohmann::json::array();
  for (const policy::ChatMessage& m : messages) msgs.push_back({{"role", m.role}, {"content", m.content}});
  nlohmann::json req = {{"model", options_.model_name}, {"messages", msgs},       {"max_tokens", params.max_tokens},
                        {"temperature", params.temperature}, {"top_p", params.top_p}, {"n", 1},
                        {"seed", params.seed}, {"stream", false}};
  const std::string body = req.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  httplib::Headers headers;
  if (!options_.api_key.empty()) headers.emplace("Authorization", absl::StrCat("Bearer ", options_.api_key));

  const std::string where = absl::StrCat(options_.endpoint, " (model ", options_.model_name, ")");
  absl::Duration backoff = options_.initial_backoff;
  std::string last_error;
  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    if (attempt > 1) {
      std::this_thread::sleep_for(absl::ToChronoMilliseconds(backoff));
      backoff = std::min(backoff * 2, absl::Seconds(10));
    }
    httplib::Client client(host_port_);
    const int64_t timeout_ms = absl::ToInt64Milliseconds(options_.timeout);
    client.set_connection_timeout(std::chrono::milliseconds(timeout_ms));
    client.set_read_timeout(std::chrono::milliseconds(timeout_ms));
    client.set_write_timeout(std::chrono::milliseconds(timeout_ms));
    httplib::Result res = client.Post(path_, headers, body, "application/json");
    if (!res) {
      last_error = httplib::to_string(res.error());
      continue;
    }
    const int status = res->status;
    if (status == 200) {
      nlohmann::json reply = nlohmann::json::parse(res->body, nullptr, /*allow_exceptions=*/false);
      if (reply.is_discarded() || !reply.is_object() || !reply.contains("choices") || !reply["choices"].is_array() ||
          reply["choices"].empty() || !reply["choices"][0].is_object()) {
        return absl::InternalError(absl::StrCat(where, " replied without choices[0]: ", Excerpt(res->body)));
      }
      const nlohmann::json& choice = reply["choices"][0];
      const nlohmann::json* content = nullptr;
      if (choice.contains("message") && choice["message"].is_object() && choice["message"].contains("content")) {
        content = &choice["message"]["content"];
      }
      if (content == nullptr || !(content->is_string() || content->is_null())) {
        return absl::InternalError(
            absl::StrCat(where, " replied without choices[0].message.content: ", Excerpt(res->body)));
      }
      ChatReply out;
      if (content->is_string()) out.content = content->get<std::string>();
      if (choice.contains("finish_reason") && choice["finish_reason"].is_string()) {
        out.finish_reason = choice["finish_reason"].get<std::string>();
      }
      if (reply.contains("usage") && reply["usage"].is_object() &&
          reply["usage"].contains("completion_tokens") && reply["usage"]["completion_tokens"].is_number_integer()) {
        out.completion_tokens = reply["usage"]["completion_tokens"].get<int64_t>();
      }
      return out;
    }
    const std::string detail = absl::StrCat(where, ": HTTP ", status, ": ", Excerpt(res->body));
    if (Retryable(status)) {
      last_error = absl::StrCat("HTTP ", status, ": ", Excerpt(res->body));
      continue;
    }
    if (status == 401) return absl::UnauthenticatedError(detail);
    if (status == 403) return absl::PermissionDeniedError(detail);
    if (status == 400 && SaysContextFull(res->body)) return absl::OutOfRangeError(detail);
    return absl::InvalidArgumentError(detail);
  }
  return absl::UnavailableError(absl::StrCat(where, ": ", last_error, " (after ", options_.max_attempts,
                                             " attempts; is the server running there?)"));
}

}  // namespace agentgym::actor
