#ifndef AGENTGYM_ACTOR_CHAT_ENDPOINT_CLIENT_H_
#define AGENTGYM_ACTOR_CHAT_ENDPOINT_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "policy/chat/chat_format.h"

namespace agentgym::actor {

// A client of an OpenAI-compatible chat-completions server (OpenAI, vLLM,
// SGLang, llama.cpp's server, ...): `POST <endpoint>/chat/completions` with
// the conversation so far, the assistant's text back. `agentgym eval
// --endpoint` uses it to score API models and external inference servers on
// our envs with our prompts.
//
// Errors: a connection failure, HTTP 429 or 5xx is retried with exponential
// backoff up to max_attempts, then UNAVAILABLE naming the endpoint; HTTP 401
// / 403 are UNAUTHENTICATED / PERMISSION_DENIED; a 400 that says the prompt
// is longer than the model's context is OUT_OF_RANGE (the episode ends as
// context_full); any other 4xx is INVALID_ARGUMENT; a reply without
// choices[0].message.content is INTERNAL. Every message carries a short
// excerpt of the server's body, never the API key.
//
// Thread-safe: each Complete() opens its own HTTP client.
struct ChatEndpointOptions {
  // The API base, e.g. http://127.0.0.1:8000/v1 (the "/chat/completions"
  // path is appended). Only http:// for now: the Debian cpp-httplib target is
  // built without TLS here (see docs/actor.md).
  std::string endpoint;
  std::string model_name;
  // Sent as "Authorization: Bearer <key>" when not empty.
  std::string api_key;
  // Each HTTP attempt's deadline (connect, write and read).
  absl::Duration timeout = absl::Seconds(120);
  int max_attempts = 4;
  absl::Duration initial_backoff = absl::Milliseconds(200);
};

struct ChatRequestParams {
  int max_tokens = 256;
  float temperature = 0.0f;  // 0: greedy
  float top_p = 1.0f;
  // Sent as "seed" (honoured by vLLM and OpenAI; ignored by servers that do
  // not know it).
  uint64_t seed = 0;
};

struct ChatReply {
  std::string content;
  std::string finish_reason;   // as the server said ("stop", "length", ...)
  int64_t completion_tokens = 0;  // usage.completion_tokens; 0 when not reported
};

class ChatEndpointClient {
 public:
  // INVALID_ARGUMENT for an endpoint that is not http://host[:port][/path],
  // an https:// endpoint, an empty model name or max_attempts < 1.
  static absl::StatusOr<std::unique_ptr<ChatEndpointClient>> Create(ChatEndpointOptions options);

  absl::StatusOr<ChatReply> Complete(const std::vector<policy::ChatMessage>& messages,
                                     const ChatRequestParams& params) const;

  const ChatEndpointOptions& options() const { return options_; }

 private:
  ChatEndpointClient(ChatEndpointOptions options, std::string host_port, std::string path)
      : options_(std::move(options)), host_port_(std::move(host_port)), path_(std::move(path)) {}

  ChatEndpointOptions options_;
  std::string host_port_;  // "http://host:port", as httplib::Client takes it
  std::string path_;       // "/v1/chat/completions"
};

}  // namespace agentgym::actor

#endif  // AGENTGYM_ACTOR_CHAT_ENDPOINT_CLIENT_H_
