#ifndef AGENTGYM_LEARNER_TRAJECTORY_CODEC_H_
#define AGENTGYM_LEARNER_TRAJECTORY_CODEC_H_

// A list of trajectories as bytes: each one's protobuf encoding behind its
// length (uint64, little-endian). Used for checkpointed buffers and for the
// batch rank 0 broadcasts to the other ranks. Pure functions.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agentgym/trajectory/v1/trajectory.pb.h"

namespace agentgym::learner {

void AppendTrajectories(const std::vector<trajectory::v1::Trajectory>& trajectories, std::string* out);
// DATA_LOSS for truncated or unparsable bytes.
absl::StatusOr<std::vector<trajectory::v1::Trajectory>> DecodeTrajectories(const std::string& data,
                                                                           size_t offset = 0);

}  // namespace agentgym::learner

#endif  // AGENTGYM_LEARNER_TRAJECTORY_CODEC_H_
