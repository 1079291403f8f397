#include "core/metrics_jsonl.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace agentgym::metrics {

absl::StatusOr<std::unique_ptr<JsonlWriter>> JsonlWriter::Open(const std::string& path,
                                                               Clock* clock) {
  if (path.empty()) return absl::InvalidArgumentError("metrics JSONL path is empty");
  std::ofstream out(path, std::ios::out | std::ios::app);
  if (!out) {
    return absl::UnavailableError(
        absl::StrCat("cannot open metrics JSONL file '", path, "' for appending"));
  }
  return std::unique_ptr<JsonlWriter>(new JsonlWriter(path, std::move(out), clock));
}

absl::Status JsonlWriter::Write(int64_t step, const Registry& registry,
                                const nlohmann::json& extra) {
  nlohmann::json line = nlohmann::json::object();
  line["step"] = step;
  line["unix_ms"] = absl::ToUnixMillis(clock_->Now());
  line["metrics"] = registry.Snapshot();
  if (extra.is_object()) {
    for (auto it = extra.begin(); it != extra.end(); ++it) line[it.key()] = it.value();
  }
  return WriteObject(line);
}

absl::Status JsonlWriter::WriteObject(const nlohmann::json& object) {
  // dump() with `replace` never throws on invalid UTF-8 in label values.
  std::string text = object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  absl::MutexLock lock(&mu_);
  out_ << text << '\n';
  out_.flush();
  if (!out_) {
    return absl::DataLossError(absl::StrCat("write to metrics JSONL file '", path_, "' failed"));
  }
  ++lines_;
  return absl::OkStatus();
}

int64_t JsonlWriter::lines_written() const {
  absl::MutexLock lock(&mu_);
  return lines_;
}

}  // namespace agentgym::metrics
