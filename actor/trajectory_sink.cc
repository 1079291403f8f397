#include "actor/trajectory_sink.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"

namespace agentgym::actor {

absl::Status InProcessSink::Send(tpb::Trajectory trajectory) {
  absl::MutexLock lock(&mu_);
  items_.push_back(std::move(trajectory));
  ++total_;
  return absl::OkStatus();
}

int64_t InProcessSink::Acked() const {
  absl::MutexLock lock(&mu_);
  return total_;
}

std::vector<tpb::Trajectory> InProcessSink::Take() {
  absl::MutexLock lock(&mu_);
  std::vector<tpb::Trajectory> out;
  out.swap(items_);
  return out;
}

std::vector<tpb::Trajectory> InProcessSink::Snapshot() const {
  absl::MutexLock lock(&mu_);
  return items_;
}

bool InProcessSink::WaitForCount(size_t n, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto enough = [this, n]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return items_.size() >= n; };
  return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
}

absl::StatusOr<std::unique_ptr<JsonlFileSink>> JsonlFileSink::Open(const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("trajectory output path is empty");
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) {
    const int err = errno;
    const std::string msg = absl::StrCat("cannot open ", path, " for writing: ", std::strerror(err));
    return err == ENOENT ? absl::NotFoundError(msg) : absl::PermissionDeniedError(msg);
  }
  return std::unique_ptr<JsonlFileSink>(new JsonlFileSink(path, f));
}

JsonlFileSink::~JsonlFileSink() {
  absl::MutexLock lock(&mu_);
  if (file_ != nullptr) std::fclose(file_);
}

absl::Status JsonlFileSink::Send(tpb::Trajectory trajectory) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string line;
  auto st = google::protobuf::util::MessageToJsonString(trajectory, &line, options);
  if (!st.ok()) return absl::InternalError(absl::StrCat("trajectory to JSON: ", st.ToString()));
  line.push_back('\n');
  absl::MutexLock lock(&mu_);
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0) {
    return absl::DataLossError(absl::StrCat("writing ", path_, ": ", std::strerror(errno)));
  }
  ++written_;
  return absl::OkStatus();
}

int64_t JsonlFileSink::Acked() const {
  absl::MutexLock lock(&mu_);
  return written_;
}

absl::Status TeeSink::Send(tpb::Trajectory trajectory) {
  absl::Status first;
  for (size_t i = 0; i < sinks_.size(); ++i) {
    absl::Status s = i + 1 == sinks_.size() ? sinks_[i]->Send(std::move(trajectory)) : sinks_[i]->Send(trajectory);
    if (first.ok() && !s.ok()) first = s;
  }
  return first;
}

absl::StatusOr<tpb::Trajectory> TrajectoryFromJson(const std::string& line) {
  tpb::Trajectory t;
  auto st = google::protobuf::util::JsonStringToMessage(line, &t);
  if (!st.ok()) return absl::InvalidArgumentError(absl::StrCat("not a trajectory: ", st.ToString()));
  return t;
}

}  // namespace agentgym::actor
