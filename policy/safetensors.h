#ifndef AGENTGYM_POLICY_SAFETENSORS_H_
#define AGENTGYM_POLICY_SAFETENSORS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "absl/status/statusor.h"

namespace agentgym::policy {

struct TensorInfo {
  std::string name;
  torch::ScalarType dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // Byte offsets into the data section.
  uint64_t end = 0;
};

// One .safetensors file, memory-mapped read-only (copy-on-write pages, so a
// caller that writes into a returned tensor never touches the file). Tensors
// returned by Get() share the mapping and keep it alive. The header is fully
// validated at Open() (JSON, dtypes F32/F16/BF16/I64/I32/U8/BOOL, shapes,
// offsets inside the file, sizes matching shape × dtype), so Get() never reads
// out of bounds. Thread-safe after Open (read-only).
class SafetensorsFile {
 public:
  // NOT_FOUND if the file cannot be opened; DATA_LOSS for a malformed file,
  // with a message naming the file and, where relevant, the tensor.
  static absl::StatusOr<std::unique_ptr<SafetensorsFile>> Open(const std::string& path);
  // Parses an in-memory image (used by Open and by the fuzz test).
  static absl::StatusOr<std::unique_ptr<SafetensorsFile>> FromBuffer(std::shared_ptr<void> owner,
                                                                     const uint8_t* data, size_t size,
                                                                     const std::string& label);

  const std::string& path() const { return path_; }
  const std::map<std::string, TensorInfo>& tensors() const { return infos_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool Contains(const std::string& name) const { return infos_.count(name) > 0; }
  // NOT_FOUND naming the tensor and file when absent. CPU tensor, zero-copy
  // unless the data is misaligned for its dtype (then copied).
  absl::StatusOr<torch::Tensor> Get(const std::string& name) const;

 private:
  SafetensorsFile() = default;
  std::string path_;
  std::shared_ptr<void> owner_;  // Keeps the mapping alive; shared with tensors.
  const uint8_t* data_ = nullptr;  // Start of the data section.
  std::map<std::string, TensorInfo> infos_;
  std::map<std::string, std::string> metadata_;
};

// Writes tensors (any device; contiguous copies are made) to `path` atomically
// (temp file + rename). Header is padded to 8 bytes so tensors map aligned.
absl::Status WriteSafetensors(const std::string& path,
                              const std::map<std::string, torch::Tensor>& tensors,
                              const std::map<std::string, std::string>& metadata = {});

// A set of tensors from one file or from shards listed in
// model.safetensors.index.json. Read-only after Open; thread-safe.
class TensorStore {
 public:
  // `path` is a .safetensors file, an index .json file, or a directory holding
  // model.safetensors.index.json or model.safetensors.
  static absl::StatusOr<std::unique_ptr<TensorStore>> Open(const std::string& path);
  std::vector<std::string> Names() const;
  bool Contains(const std::string& name) const { return where_.count(name) > 0; }
  absl::StatusOr<TensorInfo> Info(const std::string& name) const;
  absl::StatusOr<torch::Tensor> Get(const std::string& name) const;

 private:
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, const SafetensorsFile*> where_;
  std::string label_;
};

// Writes `tensors` as shards of at most `max_shard_bytes` (a tensor larger than
// the limit gets its own shard) named model-0000i-of-0000N.safetensors plus
// model.safetensors.index.json in `dir`; a single model.safetensors (no index)
// when everything fits in one shard.
absl::Status WriteShardedSafetensors(const std::string& dir,
                                     const std::map<std::string, torch::Tensor>& tensors,
                                     uint64_t max_shard_bytes);

// "F32" <-> torch dtype. INVALID_ARGUMENT for dtypes we do not handle.
absl::StatusOr<torch::ScalarType> DtypeFromSafetensors(const std::string& name);
absl::StatusOr<std::string> DtypeToSafetensors(torch::ScalarType dtype);

}  // namespace agentgym::policy

#endif  // AGENTGYM_POLICY_SAFETENSORS_H_
