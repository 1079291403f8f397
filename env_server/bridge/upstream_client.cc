#include "env_server/bridge/upstream_client.h"

#include <algorithm>
#include <httplib.h>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace agentgym::env::bridge {
namespace {

using json = nlohmann::json;

std::string Quote(const std::string& s, size_t limit = 200) {
  return s.size() <= limit ? s : absl::StrCat(s.substr(0, limit), "... (", s.size(), " bytes)");
}

constexpr char kUnreachablePayload[] = "agentgym.bridge/upstream-unreachable";

}  // namespace

bool IsUnreachable(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable &&
         status.GetPayload(kUnreachablePayload).has_value();
}

absl::StatusOr<std::unique_ptr<UpstreamClient>> UpstreamClient::Create(
    const UpstreamConfig& config) {
  std::string rest = config.base_url.substr(std::string("http://").size());
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  std::string prefix;
  if (size_t slash = rest.find('/'); slash != std::string::npos) {
    prefix = rest.substr(slash);
    rest = rest.substr(0, slash);
  }
  size_t colon = rest.rfind(':');
  int port = 80;
  std::string host = rest;
  if (colon != std::string::npos) {
    host = rest.substr(0, colon);
    if (!absl::SimpleAtoi(rest.substr(colon + 1), &port) || port <= 0 || port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("bridge env '", config.name, "': bad port in base_url '", config.base_url, "'"));
    }
  }
  if (host.empty() || host.find('/') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bridge env '", config.name, "': base_url must be http://host:port[/prefix], got '", config.base_url, "'"));
  }
  std::unique_ptr<UpstreamClient> client(new UpstreamClient(config, host, port, prefix));
  for (const auto& rule : config.error_rules) {
    auto p = Pattern::Compile(rule.match);
    if (!p.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("bridge env '", config.name,
                                                     "': errors.rules: ", p.status().message()));
    }
    client->error_rules_.emplace_back(*std::move(p), rule.code);
  }
  return client;
}

UpstreamClient::UpstreamClient(const UpstreamConfig& config, std::string host, int port,
                               std::string prefix)
    : env_(config.name),
      base_url_(config.base_url),
      host_(std::move(host)),
      port_(port),
      prefix_(std::move(prefix)),
      pool_size_(config.pool_size),
      max_connections_(config.max_connections),
      connect_timeout_(config.connect_timeout),
      idle_timeout_(config.idle_timeout),
      error_field_(config.error_field),
      error_default_code_(config.error_default_code) {}

UpstreamClient::~UpstreamClient() = default;

absl::StatusOr<UpstreamClient::Lease> UpstreamClient::Acquire(absl::Time deadline, bool fresh) {
  absl::MutexLock lock(&mu_);
  auto available = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopped_ || !idle_.empty() || open_ < max_connections_;
  };
  if (!mu_.AwaitWithDeadline(absl::Condition(&available), deadline)) {
    return absl::DeadlineExceededError(absl::StrCat(
        "upstream '", env_, "' (", base_url_, "): all ", max_connections_,
        " connections (max_connections) stayed busy until the deadline"));
  }
  if (stopped_) return StoppedError();
  // Idle since before this, the oldest are closed: the upstream may be
  // dropping them now.
  const auto stale = std::chrono::steady_clock::now() - absl::ToChronoNanoseconds(idle_timeout_);
  auto first_fresh = std::find_if(idle_.begin(), idle_.end(),
                                  [stale](const IdleConnection& c) { return c.since > stale; });
  open_ -= static_cast<int>(first_fresh - idle_.begin());
  idle_.erase(idle_.begin(), first_fresh);
  Lease lease;
  if (!idle_.empty()) {
    lease = Lease{std::move(idle_.back().client), true};
    idle_.pop_back();
    if (fresh) {
      --open_;  // the stale idle connection is replaced by a new one
      lease = Lease{};
    }
  }
  if (lease.client == nullptr) {
    ++open_;
    lease.client = std::make_unique<httplib::Client>(host_, port_);
    lease.client->set_keep_alive(true);
    lease.client->set_tcp_nodelay(true);  // headers and body go out as separate writes
  }
  in_use_.insert(lease.client.get());
  return lease;
}

void UpstreamClient::Release(Lease& lease, bool keep) {
  absl::MutexLock lock(&mu_);
  in_use_.erase(lease.client.get());
  if (keep && !stopped_ && static_cast<int>(idle_.size()) < pool_size_) {
    idle_.push_back({std::move(lease.client), std::chrono::steady_clock::now()});
  } else {
    // Dropped: its state is unknown after a failure, or pool_size are kept
    // already (it was one of the extra connections of a busy spell).
    --open_;
    // Destroyed here, under mu_ and out of in_use_, so Stop() never touches it.
    lease.client.reset();
  }
}

absl::Status UpstreamClient::StoppedError() const {
  return absl::UnavailableError(absl::StrCat("upstream '", env_, "' (", base_url_,
                                             "): the bridge is shutting down"));
}

UpstreamClient::PoolStats UpstreamClient::Stats() {
  absl::MutexLock lock(&mu_);
  return PoolStats{open_, static_cast<int>(idle_.size()), static_cast<int>(in_use_.size())};
}

bool UpstreamClient::Stopped() {
  absl::MutexLock lock(&mu_);
  return stopped_;
}

bool UpstreamClient::Busy() {
  absl::MutexLock lock(&mu_);
  return !in_use_.empty();
}

void UpstreamClient::Stop() {
  absl::MutexLock lock(&mu_);
  stopped_ = true;
  open_ -= static_cast<int>(idle_.size());
  idle_.clear();
  // httplib's stop() shuts down the socket of a request in progress, but is a
  // no-op on a client whose request has not opened its socket yet (it waits
  // for a connect in progress), so it is repeated until every lease is back.
  const absl::Time give_up = absl::Now() + connect_timeout_ + absl::Seconds(1);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return in_use_.empty(); };
  while (!in_use_.empty() && absl::Now() < give_up) {
    for (httplib::Client* client : in_use_) client->stop();
    mu_.AwaitWithDeadline(absl::Condition(&idle),
                          std::min(give_up, absl::Now() + absl::Milliseconds(20)));
  }
}

absl::StatusOr<json> UpstreamClient::Send(bool post, const std::string& target,
                                          const std::string& body, absl::Duration timeout) {
  const absl::Time start = absl::Now();
  // A keep-alive connection the server closed while it sat idle fails at once
  // with Read/Write before the request reached the server: that one attempt
  // is repeated on a fresh connection (as HTTP clients such as Go's do).
  for (int attempt = 0;; ++attempt) {
    auto lease = Acquire(start + timeout, /*fresh=*/attempt > 0);
    if (!lease.ok()) return lease.status();
    httplib::Client* client = lease->client.get();
    const absl::Duration left = std::max(timeout - (absl::Now() - start), absl::Milliseconds(1));
    auto as_timeval = [](absl::Duration d, time_t* sec, time_t* usec) {
      int64_t us = absl::ToInt64Microseconds(d);
      *sec = us / 1000000;
      *usec = us % 1000000;
    };
    time_t sec, usec;
    as_timeval(std::min(connect_timeout_, left), &sec, &usec);
    client->set_connection_timeout(sec, usec);
    as_timeval(left, &sec, &usec);
    client->set_read_timeout(sec, usec);
    client->set_write_timeout(sec, usec);
    httplib::Result res = post ? client->Post(target.c_str(), body, "application/json")
                               : client->Get(target.c_str());
    const std::string what = absl::StrCat("upstream '", env_, "' ", post ? "POST " : "GET ",
                                          Quote(target, 120), " (", base_url_, ")");
    if (!res) {
      httplib::Error error = res.error();
      Release(*lease, /*keep=*/false);  // the connection's state is unknown: drop it
      {
        absl::MutexLock lock(&mu_);
        if (stopped_) return StoppedError();  // aborted by Stop()
      }
      if (lease->reused && attempt == 0 &&
          (error == httplib::Error::Read || error == httplib::Error::Write) &&
          absl::Now() - start < absl::Milliseconds(100) && absl::Now() - start < timeout / 2) {
        continue;
      }
      if (error == httplib::Error::Connection || error == httplib::Error::ConnectionTimeout) {
        absl::Status unreachable = absl::UnavailableError(
            absl::StrCat(what, ": cannot connect (", httplib::to_string(error), ")"));
        unreachable.SetPayload(kUnreachablePayload, absl::Cord("1"));
        return unreachable;
      }
      if (absl::Now() - start >= timeout - absl::Milliseconds(5)) {
        return absl::DeadlineExceededError(
            absl::StrCat(what, ": no reply within ", absl::FormatDuration(timeout)));
      }
      if (error == httplib::Error::Write) {
        return absl::UnavailableError(absl::StrCat(what, ": the request could not be sent"));
      }
      return absl::InternalError(absl::StrCat(
          what, ": the connection failed mid-reply (", httplib::to_string(error), ", after ",
          absl::FormatDuration(absl::Trunc(absl::Now() - start, absl::Milliseconds(1))),
          lease->reused ? " on a reused connection" : " on a new connection",
          attempt > 0 ? ", a retry" : "", "); the upstream may have applied the request"));
    }
    const int status = res->status;
    std::string reply = std::move(res->body);
    Release(*lease, /*keep=*/true);
    if (status == 503) return absl::UnavailableError(absl::StrCat(what, ": HTTP 503 (busy)"));
    if (status == 429) return absl::ResourceExhaustedError(absl::StrCat(what, ": HTTP 429"));
    if (status == 404 || status == 405) {
      return absl::InternalError(absl::StrCat(what, ": HTTP ", status,
                                              " (check the endpoint paths in the bridge config)"));
    }
    if (status == 400 || status == 422) {
      return absl::InternalError(absl::StrCat(
          what, ": HTTP ", status, " (the server rejected the request's fields; check "
          "session_key, task_key and action_key in the bridge config): ", Quote(reply)));
    }
    if (status != 200) {
      return absl::InternalError(absl::StrCat(what, ": HTTP ", status, ": ", Quote(reply)));
    }
    json parsed = json::parse(reply, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) {
      return absl::InternalError(absl::StrCat(what, ": the reply is not JSON: ", Quote(reply)));
    }
    if (auto s = ErrorFromBody(parsed, what); !s.ok()) return s;
    return parsed;
  }
}

absl::Status UpstreamClient::ErrorFromBody(const json& reply, const std::string& what) const {
  if (error_field_.empty() || !reply.is_object() || !reply.contains(error_field_) ||
      reply[error_field_].is_null()) {
    return absl::OkStatus();
  }
  const json& e = reply[error_field_];
  std::string text = e.is_string() ? e.get<std::string>() : e.dump();
  absl::StatusCode code = error_default_code_;
  for (const auto& [pattern, rule_code] : error_rules_) {
    if (pattern->Matches(text)) {
      code = rule_code;
      break;
    }
  }
  return absl::Status(code, absl::StrCat(what, ": the env server reported: ", Quote(text, 500)));
}

absl::StatusOr<json> UpstreamClient::Post(const std::string& path, const json& body,
                                          absl::Duration timeout) {
  return Send(/*post=*/true, prefix_ + path, body.dump(-1, ' ', false, json::error_handler_t::replace),
              timeout);
}

absl::StatusOr<json> UpstreamClient::Get(const std::string& path, const std::string& key,
                                         const std::string& value, absl::Duration timeout) {
  std::string target = absl::StrCat(prefix_, path, "?", httplib::detail::encode_query_param(key), "=",
                                    httplib::detail::encode_query_param(value));
  return Send(/*post=*/false, target, "", timeout);
}

}  // namespace agentgym::env::bridge
