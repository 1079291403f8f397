#ifndef AGENTGYM_LEARNER_LEARNER_CHECKPOINT_H_
#define AGENTGYM_LEARNER_LEARNER_CHECKPOINT_H_

// Learner checkpoints under <run_dir>/checkpoints/:
//   step-NNNNNN/   a loadable HF model dir (config.json, safetensors, and the
//                  tokenizer / agentgym.json files copied from model.dir),
//                  optimizer.pt (torch::save of the AdamW state),
//                  buffer.bin (trajectories buffered but not yet trained,
//                  length-prefixed protobuf), state.json (step, version,
//                  tokens, CPU RNG state, every trajectory id taken with its
//                  ack status, accounting, curriculum state JSON).
//   latest         the name of the newest complete step dir.
// Written to a temp dir, fsynced, renamed into place, then `latest` is
// replaced atomically (temp + rename), so a crash at any point leaves the
// previous checkpoint intact. Older step dirs beyond `keep` are removed.
// Functions are not thread-safe against each other on the same run dir.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "learner/trainer.h"
#include "learner/trajectory_buffer.h"

namespace agentgym::learner {

struct CheckpointState {
  int64_t step = 0;
  int64_t policy_version = 0;
  // Written as the learner stopped: no version was published after it, so a
  // resume continues the versions without a gap (see VersionGap).
  bool final = false;
  int64_t tokens_trained = 0;
  std::string rng_state_hex;  // LibTorch's default CPU generator
  std::string curriculum_json;  // coordinator CurriculumState as JSON; "" when none
  TrajectoryBuffer::State buffer;
};

// Returns the step dir written.
absl::StatusOr<std::string> WriteCheckpoint(const std::string& run_dir, const CheckpointState& state,
                                            Trainer& trainer, const std::string& model_dir,
                                            int keep);

// The newest complete checkpoint dir; NOT_FOUND when there is none.
absl::StatusOr<std::string> LatestCheckpoint(const std::string& run_dir);

// Reads state.json and buffer.bin of a step dir (the model and optimizer are
// loaded by the caller: policy::LoadPretrained(dir), Trainer::LoadOptimizer).
// DATA_LOSS for a corrupt file.
absl::StatusOr<CheckpointState> ReadCheckpointState(const std::string& dir);

std::string CaptureRngState();
absl::Status RestoreRngState(const std::string& hex);

}  // namespace agentgym::learner

#endif  // AGENTGYM_LEARNER_LEARNER_CHECKPOINT_H_
