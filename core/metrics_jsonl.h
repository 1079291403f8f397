#ifndef AGENTGYM_CORE_METRICS_JSONL_H_
#define AGENTGYM_CORE_METRICS_JSONL_H_

#include <cstdint>
#include <fstream>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "nlohmann/json.hpp"

namespace agentgym::metrics {

// Appends one JSON object per line to a file: a step's metrics, so a run can be
// plotted or diffed with nothing but `jq`. Each line is
//   {"step": N, "unix_ms": T, "metrics": {<Registry::Snapshot()>}, ...extra}
// and is flushed as it is written, so a crash loses at most the line being
// written. Thread-safe; owns the file.
class JsonlWriter {
 public:
  // Opens `path` for appending (creating it); a resumed run keeps its earlier
  // lines. INVALID_ARGUMENT for an empty path, NOT_FOUND / PERMISSION_DENIED
  // style failures come back as UNAVAILABLE naming the path.
  static absl::StatusOr<std::unique_ptr<JsonlWriter>> Open(const std::string& path,
                                                           Clock* clock = Clock::Real());

  JsonlWriter(const JsonlWriter&) = delete;
  JsonlWriter& operator=(const JsonlWriter&) = delete;

  // Writes the registry's snapshot for `step`; `extra` (an object, or null)
  // is merged into the line's top level. DATA_LOSS when the write fails.
  absl::Status Write(int64_t step, const Registry& registry,
                     const nlohmann::json& extra = nullptr);
  // Writes an arbitrary object as one line (events such as stage changes).
  absl::Status WriteObject(const nlohmann::json& object);

  const std::string& path() const { return path_; }
  int64_t lines_written() const;

 private:
  JsonlWriter(std::string path, std::ofstream out, Clock* clock)
      : path_(std::move(path)), clock_(clock), out_(std::move(out)) {}

  const std::string path_;
  Clock* const clock_;
  mutable absl::Mutex mu_;
  std::ofstream out_ ABSL_GUARDED_BY(mu_);
  int64_t lines_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace agentgym::metrics

#endif  // AGENTGYM_CORE_METRICS_JSONL_H_
