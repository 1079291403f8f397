#ifndef AGENTGYM_CORE_PROTOBUF_LOG_H_
#define AGENTGYM_CORE_PROTOBUF_LOG_H_

// Protobuf writes a log line each time it refuses a message, e.g. "String
// field 'agentgym.env.v1.StepRequest.session_id' contains invalid UTF-8 data
// when parsing a protocol buffer" for every such request, so one client
// sending bad strings could flood a server's log. InstallProtobufLogHandler
// routes those lines through spdlog (logger "protobuf"), each kind at most
// once per interval, with the count of the ones left out since.

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace agentgym {

// Admits one line of each kind per interval. Thread-safe.
class RateLimitedLog {
 public:
  explicit RateLimitedLog(absl::Duration interval) : interval_(interval) {}
  // Whether a line of `kind` seen at `now` is to be written; if so,
  // *suppressed is how many of its kind were left out since the last one.
  bool Admit(const std::string& kind, absl::Time now, int64_t* suppressed);

 private:
  struct Kind {
    absl::Time last = absl::InfinitePast();
    int64_t suppressed = 0;
  };
  static constexpr size_t kMaxKinds = 256;  // beyond it, every new kind shares one entry
  const absl::Duration interval_;
  absl::Mutex mu_;
  std::map<std::string, Kind> kinds_ ABSL_GUARDED_BY(mu_);
};

// Installs the handler for the whole process (the last call wins). `sink`,
// for tests, receives each line written instead of spdlog.
void InstallProtobufLogHandler(absl::Duration interval = absl::Seconds(60),
                               std::function<void(const std::string&)> sink = nullptr);

}  // namespace agentgym

#endif  // AGENTGYM_CORE_PROTOBUF_LOG_H_
