#ifndef AGENTGYM_ENV_SERVER_ENVS_SEARCHQA_SEARCH_BACKEND_H_
#define AGENTGYM_ENV_SERVER_ENVS_SEARCHQA_SEARCH_BACKEND_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "env_server/envs/searchqa/knowledge_base.h"

namespace agentgym::env::searchqa {

struct Passage {
  std::string id;
  std::string title;
  std::string text;
};

// Where `search[query]` goes. Implementations are immutable after creation and
// Search is const and thread-safe: one backend serves every episode.
class SearchBackend {
 public:
  virtual ~SearchBackend() = default;
  // The top `k` passages. Errors: UNAVAILABLE (cannot reach the retriever),
  // DEADLINE_EXCEEDED (it did not answer in time), INTERNAL (it answered
  // something that breaks the contract).
  virtual absl::StatusOr<std::vector<Passage>> Search(std::string_view query, int k) const = 0;
};

// BM25 over the knowledge base's own corpus. Holds the knowledge base alive.
class LocalSearchBackend : public SearchBackend {
 public:
  explicit LocalSearchBackend(std::shared_ptr<const KnowledgeBase> kb) : kb_(std::move(kb)) {}
  absl::StatusOr<std::vector<Passage>> Search(std::string_view query, int k) const override;

 private:
  std::shared_ptr<const KnowledgeBase> kb_;
};

// An external retriever over HTTP. Contract (docs/envs/searchqa.md):
//   POST <path>  {"query": "...", "k": 3}
//   200          {"results": [{"id": "...", "title": "...", "text": "..."}, ...]}
// One short-lived connection per call (httplib clients are not thread-safe).
// Every call ends within about `timeout_ms`: connect, each read and write, and
// the whole answer share that deadline, so an unreachable, silent or trickling
// retriever is an error status, never a hang. (Host names resolve through the
// system resolver first, which the deadline does not cover: use an IP address
// where that matters.)
class HttpSearchBackend : public SearchBackend {
 public:
  // `url` is http://host:port/path (https is not supported: INVALID_ARGUMENT).
  static absl::StatusOr<std::unique_ptr<HttpSearchBackend>> Create(std::string_view url,
                                                                   int timeout_ms);
  absl::StatusOr<std::vector<Passage>> Search(std::string_view query, int k) const override;

 private:
  HttpSearchBackend(std::string host, int port, std::string path, int timeout_ms)
      : host_(std::move(host)), port_(port), path_(std::move(path)), timeout_ms_(timeout_ms) {}
  std::string host_;
  int port_;
  std::string path_;
  int timeout_ms_;
};

}  // namespace agentgym::env::searchqa

#endif  // AGENTGYM_ENV_SERVER_ENVS_SEARCHQA_SEARCH_BACKEND_H_
