#include "learner/trajectory_codec.h"

#include <cstdint>
#include <cstring>

namespace agentgym::learner {

using trajectory::v1::Trajectory;

void AppendTrajectories(const std::vector<Trajectory>& trajectories, std::string* out) {
  for (const auto& t : trajectories) {
    const std::string bytes = t.SerializeAsString();
    const uint64_t n = bytes.size();
    out->append(reinterpret_cast<const char*>(&n), sizeof(n));
    out->append(bytes);
  }
}

absl::StatusOr<std::vector<Trajectory>> DecodeTrajectories(const std::string& data, size_t offset) {
  std::vector<Trajectory> out;
  size_t pos = offset;
  while (pos < data.size()) {
    uint64_t n = 0;
    if (data.size() - pos < sizeof(n)) return absl::DataLossError("trajectory list: truncated length");
    std::memcpy(&n, data.data() + pos, sizeof(n));
    pos += sizeof(n);
    if (data.size() - pos < n) return absl::DataLossError("trajectory list: truncated trajectory");
    Trajectory t;
    if (!t.ParseFromArray(data.data() + pos, static_cast<int>(n))) {
      return absl::DataLossError("trajectory list: a trajectory does not parse");
    }
    pos += n;
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace agentgym::learner
