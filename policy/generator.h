#ifndef AGENTGYM_POLICY_GENERATOR_H_
#define AGENTGYM_POLICY_GENERATOR_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "absl/status/statusor.h"
#include "policy/model.h"
#include "policy/sampling.h"

namespace agentgym::policy {

class DecodeBatch;

enum class FinishReason { kNone, kStopToken, kStopString, kMaxNewTokens, kMaxLength };
const char* FinishReasonName(FinishReason r);

struct GeneratorOptions {
  // At most this many sequences go through one forward pass; the rest wait.
  int64_t max_batch_size = 64;
  // Context limit per sequence; 0 = the model's max_position_embeddings.
  int64_t max_seq_len = 0;
  // Turns token ids into text for stop strings (called on the last few tokens
  // of a turn; each token must decode to at least one byte, as BPE and word
  // tokens do). Required only when some sequence has stop_strings.
  std::function<std::string(const std::vector<int64_t>&)> decode;
};

// What a sequence produced in its current turn (since AddSequence or the last
// Extend).
struct TurnResult {
  std::vector<int64_t> tokens;
  std::vector<float> logprobs;  // Under the sampling distribution used (see sampling.h).
  FinishReason finish_reason = FinishReason::kNone;
  bool running = false;
};

// One token produced by Step().
struct StepEvent {
  int64_t seq_id = 0;
  int64_t token = 0;
  float logprob = 0.0f;
  FinishReason finish_reason = FinishReason::kNone;  // kNone while still running.
};

// Continuous-batching generator with a per-sequence KV cache.
//
// A sequence is added with a prompt and runs (one token per Step) until a stop
// token, a stop string, its max_new_tokens or the context limit; it then stays,
// with its KV cache, until Extend() appends tokens (e.g. an env observation)
// and starts a new turn without recomputing the prefix, or Remove() frees it.
// Sequences join and leave between Steps. Each Step runs at most two forward
// passes: one for sequences with several pending tokens (a prompt or an
// extension), padded with masks so rows never see each other, and one for
// sequences decoding a single token. The decode pass keeps its batched KV
// buffers (a DecodeBatch) from Step to Step while its set of sequences stays
// the same, writing each new key in place; when the set changes the batch is
// written back to the sequences and rebuilt. The sampled token of a turn
// (e.g. the stop token) is part of the context and is fed with the next Extend.
//
// Not thread-safe: one owner thread drives it (the actor's scheduler). The
// model is shared with the caller (CausalLm is a shared handle); swapping its
// weights between Steps keeps existing caches (they were computed with the
// old weights). After a Step returns an error, discard the Generator.
class Generator {
 public:
  static absl::StatusOr<std::unique_ptr<Generator>> Create(CausalLm model, GeneratorOptions options);
  ~Generator();  // Out of line: Sequence is complete only in generator.cc.

  // INVALID_ARGUMENT for an empty prompt, ids out of vocab, bad params or
  // stop strings without a decode callback; OUT_OF_RANGE when the prompt fills
  // the context. Returns the new sequence id.
  absl::StatusOr<int64_t> AddSequence(const std::vector<int64_t>& prompt, const SamplingParams& params);
  // Appends `tokens` to a stopped sequence and starts a new turn (with new
  // params if given; the sequence keeps its random stream). NOT_FOUND for an
  // unknown id, FAILED_PRECONDITION while it is running, OUT_OF_RANGE when the
  // context would be full.
  absl::Status Extend(int64_t seq_id, const std::vector<int64_t>& tokens,
                      const std::optional<SamplingParams>& params = std::nullopt);
  // Frees a sequence (running or not). NOT_FOUND for an unknown id.
  absl::Status Remove(int64_t seq_id);

  // Prefix sharing, e.g. for the members of a task group, which share one
  // prompt: Prefill(id) computes now (one forward pass, outside Step) the
  // keys/values of every pending token of `seq_id` except the last, and
  // Fork(id, params) then adds one sequence per entry of `params` with a copy
  // of that context and cache, each with its own params and random stream
  // (params.seed). Each copy (and the original) decodes only the last pending
  // token in the next Step, so the prompt is computed once for the whole
  // group; a copy samples the same tokens as an unshared sequence with the
  // same prompt and seed (up to floating-point rounding of the prefix).
  // Both need a sequence at the start of a turn (nothing sampled yet since
  // AddSequence / Extend): FAILED_PRECONDITION otherwise; NOT_FOUND for an
  // unknown id; INVALID_ARGUMENT for bad params; INTERNAL when LibTorch
  // fails. Fork does not need Prefill (it then copies an uncomputed prompt).
  absl::Status Prefill(int64_t seq_id);
  absl::StatusOr<std::vector<int64_t>> Fork(int64_t seq_id, const std::vector<SamplingParams>& params);

  // Advances every running sequence (up to max_batch_size of them, lowest ids
  // first) by one token. Empty when nothing runs.
  absl::StatusOr<std::vector<StepEvent>> Step();
  absl::Status RunUntilAllStopped();

  absl::StatusOr<TurnResult> Result(int64_t seq_id) const;
  // Full context: prompt, generated tokens and extensions.
  absl::StatusOr<std::vector<int64_t>> Tokens(int64_t seq_id) const;
  int64_t NumRunning() const;
  int64_t NumSequences() const { return static_cast<int64_t>(seqs_.size()); }
  // Tokens of context held in KV caches, summed over sequences.
  int64_t CachedTokens() const;

 private:
  struct Sequence;
  Generator(CausalLm model, GeneratorOptions options);
  absl::Status CheckTokens(const std::vector<int64_t>& tokens) const;
  // These throw c10::Error; Step() and Remove() catch it.
  void RunPrefill(const std::vector<Sequence*>& group, std::vector<StepEvent>* events);
  void RunDecode(const std::vector<Sequence*>& group, std::vector<StepEvent>* events);
  void SampleAndRecord(const std::vector<Sequence*>& group, const torch::Tensor& logits,
                       std::vector<StepEvent>* events);
  // Writes the decode batch back into its sequences' own caches and drops it.
  void FlushBatch();
  void FinishIfDone(Sequence& s);
  // Throws c10::Error; Prefill() catches it.
  void PrefillAllButLast(Sequence& s);
  absl::Status CheckParams(const SamplingParams& params) const;

  CausalLm model_;
  GeneratorOptions options_;
  torch::TensorOptions cache_options_;
  int64_t next_id_ = 0;
  std::map<int64_t, std::unique_ptr<Sequence>> seqs_;
  std::unique_ptr<DecodeBatch> batch_;
  std::vector<int64_t> batch_ids_;  // Sequence ids of batch_'s rows, in order.
};

// Convenience: generates one turn for each prompt with a fresh Generator.
absl::StatusOr<std::vector<TurnResult>> GenerateBatch(CausalLm model, const std::vector<std::vector<int64_t>>& prompts,
                                                      const std::vector<SamplingParams>& params,
                                                      GeneratorOptions options = {});

}  // namespace agentgym::policy

#endif  // AGENTGYM_POLICY_GENERATOR_H_
