#ifndef AGENTGYM_POLICY_TOKENIZER_BPE_MODEL_H_
#define AGENTGYM_POLICY_TOKENIZER_BPE_MODEL_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace agentgym::policy {

// A byte-level BPE model: turns one pre-tokenized piece (raw bytes) into ids by
// applying merges lowest rank first (leftmost on ties), exactly as Hugging
// Face's `tokenizers` BPE does without dropout.
//
// Works in id space: every byte starts as the id of its byte-level character
// and a merge maps an id pair to (rank, merged id), so no strings are built
// while merging. Results are cached per piece.
//
// Thread-safety: Tokenize may be called concurrently; the cache has its own
// lock. Immutable otherwise.
class BpeModel {
 public:
  struct Options {
    // The vocabulary in byte-level spelling.
    std::vector<std::pair<std::string, int32_t>> vocab;
    // Merges in rank order (rank = index), each a pair of byte-level tokens.
    std::vector<std::pair<std::string, std::string>> merges;
    // Llama-3 style: a piece that is itself in the vocabulary is one token,
    // whatever the merges would produce.
    bool ignore_merges = false;
    // Pieces up to this many bytes are cached; 0 disables the cache.
    size_t max_cached_piece_bytes = 256;
    size_t max_cache_entries = 1 << 17;
  };

  // INVALID_ARGUMENT when a merge names a token missing from the vocabulary,
  // when a byte has no byte-level token, or when ids collide.
  static absl::StatusOr<std::unique_ptr<BpeModel>> Create(Options options);

  // Appends the ids of `piece` (raw bytes, non-empty) to `ids`.
  void Tokenize(std::string_view piece, std::vector<int32_t>* ids) const;

  // The id of a byte-level spelling; -1 when absent.
  int32_t TokenToId(std::string_view token) const;
  // The raw bytes of `id`, or nullptr when the vocabulary has no such id.
  const std::string* IdToBytes(int32_t id) const;
  // One past the largest vocabulary id.
  int32_t IdLimit() const { return static_cast<int32_t>(id_to_bytes_.size()); }
  size_t vocab_size() const { return token_to_id_.size(); }

 private:
  struct MergeTarget {
    int32_t rank;
    int32_t id;
  };

  BpeModel() = default;
  void MergePiece(std::string_view piece, std::vector<int32_t>* out) const;

  absl::flat_hash_map<std::string, int32_t> token_to_id_;
  std::vector<std::string> id_to_bytes_;
  std::vector<bool> has_id_;
  absl::flat_hash_map<uint64_t, MergeTarget> merges_;
  std::array<int32_t, 256> byte_ids_{};
  bool ignore_merges_ = false;
  size_t max_cached_piece_bytes_ = 0;
  size_t max_cache_entries_ = 0;

  mutable absl::Mutex cache_mu_;
  mutable absl::flat_hash_map<std::string, std::vector<int32_t>> cache_
      ABSL_GUARDED_BY(cache_mu_);
};

}  // namespace agentgym::policy

#endif  // AGENTGYM_POLICY_TOKENIZER_BPE_MODEL_H_
