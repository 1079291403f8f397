#include "policy/generator.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status_macros.h"
#include "policy/kv_cache.h"

namespace agentgym::policy {

const char* FinishReasonName(FinishReason r) {
  switch (r) {
    case FinishReason::kNone: return "none";
    case FinishReason::kStopToken: return "stop_token";
    case FinishReason::kStopString: return "stop_string";
    case FinishReason::kMaxNewTokens: return "max_new_tokens";
    case FinishReason::kMaxLength: return "max_length";
  }
  return "unknown";
}

struct Generator::Sequence {
  int64_t id = 0;
  std::vector<int64_t> tokens;  // Whole context; tokens[cached:] are pending.
  // Tokens whose keys/values are cached: in `kv`, or, while the sequence is a
  // row of the decode batch, partly there (kv.length <= cached).
  int64_t cached = 0;
  SequenceKv kv;
  SamplingParams params;
  at::Generator rng;
  TurnResult turn;
};

Generator::~Generator() = default;

Generator::Generator(CausalLm model, GeneratorOptions options)
    : model_(std::move(model)),
      options_(std::move(options)),
      cache_options_(torch::TensorOptions().dtype(model_->dtype()).device(model_->device())) {}

absl::StatusOr<std::unique_ptr<Generator>> Generator::Create(CausalLm model, GeneratorOptions options) {
  if (!model) return absl::InvalidArgumentError("Generator needs a model");
  if (options.max_batch_size <= 0) return absl::InvalidArgumentError("max_batch_size must be > 0");
  const int64_t limit = model->config().max_position_embeddings;
  if (options.max_seq_len <= 0) options.max_seq_len = limit;
  if (options.max_seq_len > limit) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_seq_len ", options.max_seq_len, " exceeds max_position_embeddings ", limit));
  }
  return std::unique_ptr<Generator>(new Generator(std::move(model), std::move(options)));
}

absl::Status Generator::CheckTokens(const std::vector<int64_t>& tokens) const {
  const int64_t vocab = model_->config().vocab_size;
  for (int64_t t : tokens) {
    if (t < 0 || t >= vocab) {
      return absl::InvalidArgumentError(absl::StrCat("token id ", t, " outside vocabulary [0, ", vocab, ")"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> Generator::AddSequence(const std::vector<int64_t>& prompt, const SamplingParams& params) {
  if (prompt.empty()) return absl::InvalidArgumentError("prompt is empty");
  AG_RETURN_IF_ERROR(CheckTokens(prompt));
  AG_RETURN_IF_ERROR(ValidateSamplingParams(params));
  if (!params.stop_strings.empty() && !options_.decode) {
    return absl::InvalidArgumentError("stop_strings need GeneratorOptions::decode");
  }
  if (static_cast<int64_t>(prompt.size()) >= options_.max_seq_len) {
    return absl::OutOfRangeError(
        absl::StrCat("prompt of ", prompt.size(), " tokens leaves no room under max_seq_len ", options_.max_seq_len));
  }
  auto s = std::make_unique<Sequence>();
  s->id = next_id_++;
  s->tokens = prompt;
  s->params = params;
  s->rng = MakeGenerator(params.seed);
  s->turn.running = true;
  FinishIfDone(*s);  // max_new_tokens == 0.
  const int64_t id = s->id;
  seqs_[id] = std::move(s);
  return id;
}

absl::Status Generator::Extend(int64_t seq_id, const std::vector<int64_t>& tokens,
                               const std::optional<SamplingParams>& params) {
  auto it = seqs_.find(seq_id);
  if (it == seqs_.end()) return absl::NotFoundError(absl::StrCat("no sequence ", seq_id));
  Sequence& s = *it->second;
  if (s.turn.running) return absl::FailedPreconditionError(absl::StrCat("sequence ", seq_id, " is still running"));
  AG_RETURN_IF_ERROR(CheckTokens(tokens));
  if (params.has_value()) {
    AG_RETURN_IF_ERROR(ValidateSamplingParams(*params));
    if (!params->stop_strings.empty() && !options_.decode) {
      return absl::InvalidArgumentError("stop_strings need GeneratorOptions::decode");
    }
  }
  if (static_cast<int64_t>(s.tokens.size() + tokens.size()) >= options_.max_seq_len) {
    return absl::OutOfRangeError(absl::StrCat("sequence ", seq_id, " would reach max_seq_len ",
                                              options_.max_seq_len, " with ", tokens.size(), " more tokens"));
  }
  s.tokens.insert(s.tokens.end(), tokens.begin(), tokens.end());
  if (params.has_value()) s.params = *params;
  s.turn = TurnResult();
  s.turn.running = true;
  FinishIfDone(s);
  return absl::OkStatus();
}

absl::Status Generator::Remove(int64_t seq_id) {
  if (seqs_.count(seq_id) == 0) return absl::NotFoundError(absl::StrCat("no sequence ", seq_id));
  if (std::find(batch_ids_.begin(), batch_ids_.end(), seq_id) != batch_ids_.end()) {
    try {
      FlushBatch();
    } catch (const c10::Error& e) {
      return absl::InternalError(absl::StrCat("removing sequence ", seq_id, ": ", e.what_without_backtrace()));
    }
  }
  seqs_.erase(seq_id);
  return absl::OkStatus();
}

absl::Status Generator::CheckParams(const SamplingParams& params) const {
  AG_RETURN_IF_ERROR(ValidateSamplingParams(params));
  if (!params.stop_strings.empty() && !options_.decode) {
    return absl::InvalidArgumentError("stop_strings need GeneratorOptions::decode");
  }
  return absl::OkStatus();
}

void Generator::PrefillAllButLast(Sequence& s) {
  const int64_t p = s.cached;
  const int64_t n = static_cast<int64_t>(s.tokens.size()) - p - 1;
  if (n <= 0) return;
  torch::Tensor ids = torch::tensor(std::vector<int64_t>(s.tokens.begin() + p, s.tokens.end() - 1), torch::kLong);
  torch::Tensor pos = torch::arange(p, p + n, torch::kLong);
  // Query t sees the p cached keys and the new keys up to itself.
  torch::Tensor mask = torch::ones({n, p + n}, torch::kBool);
  mask.narrow(1, p, n).copy_(torch::ones({n, n}, torch::kBool).tril());
  const torch::Device dev = model_->device();
  ForwardInput in;
  in.input_ids = ids.view({1, n}).to(dev);
  in.position_ids = pos.view({1, n}).to(dev);
  in.mask = mask.unsqueeze(0).to(dev);
  in.cache_length = p;
  in.skip_logits = true;
  s.kv.Reserve(p + n, options_.max_seq_len, model_->config(), cache_options_);
  std::vector<LayerKv> cache = s.kv.AsBatchOfOne();
  in.cache = &cache;
  model_->ForwardUnchecked(in);
  s.cached += n;
  s.kv.length = s.cached;
}

absl::Status Generator::Prefill(int64_t seq_id) {
  auto it = seqs_.find(seq_id);
  if (it == seqs_.end()) return absl::NotFoundError(absl::StrCat("no sequence ", seq_id));
  Sequence& s = *it->second;
  if (!s.turn.tokens.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("sequence ", seq_id, " already sampled in this turn"));
  }
  try {
    torch::NoGradGuard no_grad;
    if (std::find(batch_ids_.begin(), batch_ids_.end(), seq_id) != batch_ids_.end()) FlushBatch();
    PrefillAllButLast(s);
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("prefilling sequence ", seq_id, ": ", e.what_without_backtrace()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int64_t>> Generator::Fork(int64_t seq_id, const std::vector<SamplingParams>& params) {
  auto it = seqs_.find(seq_id);
  if (it == seqs_.end()) return absl::NotFoundError(absl::StrCat("no sequence ", seq_id));
  const Sequence& src = *it->second;
  if (!src.turn.tokens.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("sequence ", seq_id, " already sampled in this turn"));
  }
  for (const SamplingParams& p : params) AG_RETURN_IF_ERROR(CheckParams(p));
  std::vector<std::unique_ptr<Sequence>> copies;
  try {
    torch::NoGradGuard no_grad;
    // The source's own cache is stale while it is a row of the decode batch.
    if (std::find(batch_ids_.begin(), batch_ids_.end(), seq_id) != batch_ids_.end()) FlushBatch();
    for (const SamplingParams& p : params) {
      auto s = std::make_unique<Sequence>();
      s->tokens = src.tokens;
      s->cached = src.cached;
      s->kv.length = src.kv.length;
      s->kv.capacity = src.kv.capacity;
      for (const torch::Tensor& k : src.kv.k) s->kv.k.push_back(k.clone());
      for (const torch::Tensor& v : src.kv.v) s->kv.v.push_back(v.clone());
      s->params = p;
      s->rng = MakeGenerator(p.seed);
      s->turn.running = true;
      copies.push_back(std::move(s));
    }
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("forking sequence ", seq_id, ": ", e.what_without_backtrace()));
  }
  std::vector<int64_t> ids;
  for (auto& s : copies) {
    s->id = next_id_++;
    FinishIfDone(*s);  // max_new_tokens == 0.
    ids.push_back(s->id);
    seqs_[s->id] = std::move(s);
  }
  return ids;
}

absl::StatusOr<TurnResult> Generator::Result(int64_t seq_id) const {
  auto it = seqs_.find(seq_id);
  if (it == seqs_.end()) return absl::NotFoundError(absl::StrCat("no sequence ", seq_id));
  return it->second->turn;
}

absl::StatusOr<std::vector<int64_t>> Generator::Tokens(int64_t seq_id) const {
  auto it = seqs_.find(seq_id);
  if (it == seqs_.end()) return absl::NotFoundError(absl::StrCat("no sequence ", seq_id));
  return it->second->tokens;
}

int64_t Generator::NumRunning() const {
  int64_t n = 0;
  for (const auto& [id, s] : seqs_) n += s->turn.running ? 1 : 0;
  return n;
}

int64_t Generator::CachedTokens() const {
  int64_t n = 0;
  for (const auto& [id, s] : seqs_) n += s->cached;
  return n;
}

void Generator::FinishIfDone(Sequence& s) {
  TurnResult& t = s.turn;
  if (!t.running) return;
  const SamplingParams& p = s.params;
  if (!t.tokens.empty()) {
    const int64_t last = t.tokens.back();
    if (std::find(p.stop_token_ids.begin(), p.stop_token_ids.end(), last) != p.stop_token_ids.end()) {
      t.finish_reason = FinishReason::kStopToken;
    } else if (!p.stop_strings.empty()) {
      // Only a match ending in the newest token is new (earlier ones would have
      // stopped the turn), and every token decodes to at least one byte, so the
      // last (longest stop + 1) tokens cover it: O(1) per step, not O(turn).
      size_t longest = 0;
      for (const std::string& stop : p.stop_strings) longest = std::max(longest, stop.size());
      const size_t window = std::min(t.tokens.size(), longest + 1);
      const std::string text = options_.decode(std::vector<int64_t>(t.tokens.end() - window, t.tokens.end()));
      for (const std::string& stop : p.stop_strings) {
        if (text.find(stop) != std::string::npos) t.finish_reason = FinishReason::kStopString;
      }
    }
  }
  if (t.finish_reason == FinishReason::kNone) {
    if (static_cast<int64_t>(t.tokens.size()) >= p.max_new_tokens) {
      t.finish_reason = FinishReason::kMaxNewTokens;
    } else if (static_cast<int64_t>(s.tokens.size()) >= options_.max_seq_len) {
      t.finish_reason = FinishReason::kMaxLength;
    }
  }
  t.running = t.finish_reason == FinishReason::kNone;
}

void Generator::FlushBatch() {
  if (batch_ == nullptr) return;
  batch_->WriteBack();
  batch_.reset();
  batch_ids_.clear();
}

void Generator::RunPrefill(const std::vector<Sequence*>& group, std::vector<StepEvent>* events) {
  const int64_t b = static_cast<int64_t>(group.size());
  const ModelConfig& config = model_->config();
  int64_t t_max = 0, p_max = 0;
  for (Sequence* s : group) {
    t_max = std::max<int64_t>(t_max, s->tokens.size() - s->cached);
    p_max = std::max(p_max, s->cached);
  }
  // Inputs on the CPU, moved once. Rows are padded on the right.
  torch::Tensor ids = torch::zeros({b, t_max}, torch::kLong);
  torch::Tensor pos = torch::zeros({b, t_max}, torch::kLong);
  torch::Tensor mask = torch::zeros({b, t_max, p_max + t_max}, torch::kBool);
  auto ids_a = ids.accessor<int64_t, 2>();
  auto pos_a = pos.accessor<int64_t, 2>();
  auto mask_a = mask.accessor<bool, 3>();
  for (int64_t i = 0; i < b; ++i) {
    const Sequence& s = *group[i];
    const int64_t n = s.tokens.size() - s.cached;
    for (int64_t t = 0; t < t_max; ++t) {
      ids_a[i][t] = t < n ? s.tokens[s.cached + t] : 0;
      pos_a[i][t] = s.cached + t;
      for (int64_t j = 0; j < s.cached; ++j) mask_a[i][t][j] = true;
      // Padded query rows (t >= n) see only padding keys at or before them.
      for (int64_t j = 0; j <= t; ++j) mask_a[i][t][p_max + j] = true;
    }
  }
  const torch::Device dev = model_->device();
  ForwardInput in;
  in.input_ids = ids.to(dev);
  in.position_ids = pos.to(dev);
  in.mask = mask.to(dev);
  in.cache_length = p_max;
  std::vector<LayerKv> cache;
  if (b == 1) {
    // Straight into the sequence's own storage: no copies.
    group[0]->kv.Reserve(p_max + t_max, options_.max_seq_len, config, cache_options_);
    cache = group[0]->kv.AsBatchOfOne();
  } else {
    cache.resize(config.num_hidden_layers);
    for (int64_t l = 0; l < config.num_hidden_layers; ++l) {
      torch::Tensor k = torch::zeros({b, config.num_key_value_heads, p_max + t_max, config.HeadDim()}, cache_options_);
      torch::Tensor v = torch::zeros_like(k);
      for (int64_t i = 0; i < b; ++i) {
        const int64_t c = group[i]->cached;
        if (c == 0) continue;
        k[i].narrow(1, 0, c).copy_(group[i]->kv.k[l].narrow(1, 0, c));
        v[i].narrow(1, 0, c).copy_(group[i]->kv.v[l].narrow(1, 0, c));
      }
      cache[l] = {k, v};
    }
  }
  in.cache = &cache;
  ForwardOutput out = model_->ForwardUnchecked(in);
  std::vector<int64_t> last(b);
  for (int64_t i = 0; i < b; ++i) {
    Sequence& s = *group[i];
    const int64_t n = s.tokens.size() - s.cached;
    if (b > 1) {
      s.kv.Reserve(s.cached + n, options_.max_seq_len, config, cache_options_);
      for (int64_t l = 0; l < config.num_hidden_layers; ++l) {
        s.kv.k[l].narrow(1, s.cached, n).copy_(out.present[l].k[i].narrow(1, 0, n));
        s.kv.v[l].narrow(1, s.cached, n).copy_(out.present[l].v[i].narrow(1, 0, n));
      }
    }
    s.cached += n;
    s.kv.length = s.cached;
    last[i] = n - 1;
  }
  torch::Tensor idx = torch::tensor(last, torch::kLong).to(dev).view({b, 1, 1}).expand({b, 1, out.logits.size(2)});
  SampleAndRecord(group, out.logits.gather(1, idx).squeeze(1), events);
}

void Generator::RunDecode(const std::vector<Sequence*>& group, std::vector<StepEvent>* events) {
  const int64_t b = static_cast<int64_t>(group.size());
  if (batch_ == nullptr) {
    std::vector<SequenceKv*> rows;
    for (Sequence* s : group) {
      rows.push_back(&s->kv);
      batch_ids_.push_back(s->id);
    }
    batch_ = std::make_unique<DecodeBatch>(std::move(rows), model_->config(), cache_options_, options_.max_seq_len);
  }
  std::vector<int64_t> ids(b), pos(b);
  for (int64_t i = 0; i < b; ++i) {
    ids[i] = group[i]->tokens.back();
    pos[i] = group[i]->cached;
  }
  const torch::Device dev = model_->device();
  ForwardInput in;
  in.input_ids = torch::tensor(ids, torch::kLong).view({b, 1}).to(dev);
  in.position_ids = torch::tensor(pos, torch::kLong).view({b, 1}).to(dev);
  in.mask = batch_->PrepareStep();
  in.cache = batch_->buffers();
  in.cache_length = batch_->length();
  ForwardOutput out = model_->ForwardUnchecked(in);
  batch_->FinishStep();
  for (Sequence* s : group) ++s->cached;
  SampleAndRecord(group, out.logits.select(1, 0), events);
}

void Generator::SampleAndRecord(const std::vector<Sequence*>& group, const torch::Tensor& logits,
                                std::vector<StepEvent>* events) {
  const int64_t b = static_cast<int64_t>(group.size());
  std::vector<const SamplingParams*> params(b);
  std::vector<at::Generator*> rngs(b);
  for (int64_t i = 0; i < b; ++i) {
    params[i] = &group[i]->params;
    rngs[i] = &group[i]->rng;
  }
  SampleResult r = SampleRows(logits, params, rngs);
  auto tok_a = r.tokens.accessor<int64_t, 1>();
  auto lp_a = r.logprobs.accessor<float, 1>();
  for (int64_t i = 0; i < b; ++i) {
    Sequence& s = *group[i];
    s.tokens.push_back(tok_a[i]);
    s.turn.tokens.push_back(tok_a[i]);
    s.turn.logprobs.push_back(lp_a[i]);
    FinishIfDone(s);
    events->push_back({s.id, tok_a[i], lp_a[i], s.turn.finish_reason});
  }
}

absl::StatusOr<std::vector<StepEvent>> Generator::Step() {
  std::vector<Sequence*> decode, prefill;
  std::vector<int64_t> decode_ids;
  int64_t taken = 0;
  for (auto& [id, s] : seqs_) {
    if (!s->turn.running) continue;
    if (taken++ >= options_.max_batch_size) break;
    if (s->tokens.size() - s->cached == 1) {
      decode.push_back(s.get());
      decode_ids.push_back(id);
    } else {
      prefill.push_back(s.get());
    }
  }
  std::vector<StepEvent> events;
  try {
    torch::NoGradGuard no_grad;
    if (batch_ != nullptr && decode_ids != batch_ids_) FlushBatch();
    if (!prefill.empty()) RunPrefill(prefill, &events);
    if (!decode.empty()) RunDecode(decode, &events);
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("generation step: ", e.what_without_backtrace()));
  }
  return events;
}

absl::Status Generator::RunUntilAllStopped() {
  while (NumRunning() > 0) {
    AG_ASSIGN_OR_RETURN(std::vector<StepEvent> events, Step());
    (void)events;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<TurnResult>> GenerateBatch(CausalLm model, const std::vector<std::vector<int64_t>>& prompts,
                                                      const std::vector<SamplingParams>& params,
                                                      GeneratorOptions options) {
  if (params.size() != prompts.size() && params.size() != 1) {
    return absl::InvalidArgumentError("give one SamplingParams, or one per prompt");
  }
  AG_ASSIGN_OR_RETURN(std::unique_ptr<Generator> gen, Generator::Create(std::move(model), std::move(options)));
  std::vector<int64_t> ids;
  for (size_t i = 0; i < prompts.size(); ++i) {
    AG_ASSIGN_OR_RETURN(int64_t id, gen->AddSequence(prompts[i], params.size() == 1 ? params[0] : params[i]));
    ids.push_back(id);
  }
  AG_RETURN_IF_ERROR(gen->RunUntilAllStopped());
  std::vector<TurnResult> results;
  for (int64_t id : ids) {
    AG_ASSIGN_OR_RETURN(TurnResult r, gen->Result(id));
    results.push_back(std::move(r));
  }
  return results;
}

}  // namespace agentgym::policy
