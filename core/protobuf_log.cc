#include "core/protobuf_log.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/logging.h"
#include "google/protobuf/stubs/logging.h"

namespace agentgym {

bool RateLimitedLog::Admit(const std::string& kind, absl::Time now, int64_t* suppressed) {
  absl::MutexLock lock(&mu_);
  auto it = kinds_.find(kind);
  if (it == kinds_.end()) {
    it = kinds_.size() < kMaxKinds ? kinds_.emplace(kind, Kind{}).first
                                   : kinds_.emplace("(other)", Kind{}).first;
  }
  Kind& k = it->second;
  if (now - k.last < interval_) {
    ++k.suppressed;
    return false;
  }
  *suppressed = k.suppressed;
  k.suppressed = 0;
  k.last = now;
  return true;
}

namespace {

struct Handler {
  RateLimitedLog limiter;
  std::function<void(const std::string&)> sink;
};

// Replaced only by InstallProtobufLogHandler; the previous one is kept alive
// (leaked) since protobuf may be calling it on another thread.
Handler* current = nullptr;

void OnProtobufLog(google::protobuf::LogLevel level, const char* file, int line,
                   const std::string& message) {
  Handler* h = current;
  if (h == nullptr) return;
  int64_t suppressed = 0;
  if (!h->limiter.Admit(message, absl::Now(), &suppressed)) return;
  std::string text = suppressed > 0
                         ? absl::StrCat(message, " (", suppressed,
                                        " more like this since the last one)")
                         : message;
  if (h->sink) {
    h->sink(text);
    return;
  }
  auto logger = GetLogger("protobuf");
  if (level >= google::protobuf::LOGLEVEL_ERROR) {
    logger->error("{} ({}:{})", text, file, line);
  } else {
    logger->warn("{} ({}:{})", text, file, line);
  }
}

}  // namespace

void InstallProtobufLogHandler(absl::Duration interval,
                               std::function<void(const std::string&)> sink) {
  current = new Handler{RateLimitedLog(interval), std::move(sink)};
  google::protobuf::SetLogHandler(&OnProtobufLog);
}

}  // namespace agentgym
