#include "policy/generator.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status_macros.h"

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
  int64_t cached = 0;
  // Per layer [kv_heads, capacity, head_dim]; the first `cached` rows are valid.
  std::vector<torch::Tensor> k, v;
  int64_t capacity = 0;
  SamplingParams params;
  at::Generator rng;
  TurnResult turn;
};

Generator::~Generator() = default;

Generator::Generator(CausalLm model, GeneratorOptions options)
    : model_(std::move(model)), options_(std::move(options)) {}

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
  if (seqs_.erase(seq_id) == 0) return absl::NotFoundError(absl::StrCat("no sequence ", seq_id));
  return absl::OkStatus();
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
      const std::string text = options_.decode(t.tokens);
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

void Generator::EnsureCapacity(Sequence& s, int64_t needed) {
  if (needed <= s.capacity) return;
  const ModelConfig& c = model_->config();
  const int64_t cap = std::min(std::max(needed, std::max<int64_t>(2 * s.capacity, 16)), options_.max_seq_len);
  auto opts = torch::TensorOptions().dtype(model_->dtype()).device(model_->device());
  const int64_t layers = c.num_hidden_layers;
  s.k.resize(layers);
  s.v.resize(layers);
  for (int64_t l = 0; l < layers; ++l) {
    torch::Tensor nk = torch::empty({c.num_key_value_heads, cap, c.HeadDim()}, opts);
    torch::Tensor nv = torch::empty_like(nk);
    if (s.cached > 0) {
      nk.narrow(1, 0, s.cached).copy_(s.k[l].narrow(1, 0, s.cached));
      nv.narrow(1, 0, s.cached).copy_(s.v[l].narrow(1, 0, s.cached));
    }
    s.k[l] = nk;
    s.v[l] = nv;
  }
  s.capacity = cap;
}

void Generator::RunGroup(const std::vector<Sequence*>& group, std::vector<StepEvent>* events) {
  const int64_t b = static_cast<int64_t>(group.size());
  const int64_t layers = model_->config().num_hidden_layers;
  int64_t t_max = 0, p_max = 0;
  for (Sequence* s : group) {
    t_max = std::max<int64_t>(t_max, s->tokens.size() - s->cached);
    p_max = std::max(p_max, s->cached);
  }
  // Build inputs on the CPU, then move once.
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
  ForwardInput in;
  const torch::Device dev = model_->device();
  in.input_ids = ids.to(dev);
  in.position_ids = pos.to(dev);
  in.mask = mask.to(dev);
  if (p_max > 0) {
    in.past.resize(layers);
    for (int64_t l = 0; l < layers; ++l) {
      if (b == 1) {
        in.past[l].k = group[0]->k[l].narrow(1, 0, p_max).unsqueeze(0);
        in.past[l].v = group[0]->v[l].narrow(1, 0, p_max).unsqueeze(0);
        continue;
      }
      const torch::Tensor& ref = group[0]->k[l];
      torch::Tensor pk = torch::zeros({b, ref.size(0), p_max, ref.size(2)}, ref.options());
      torch::Tensor pv = torch::zeros_like(pk);
      for (int64_t i = 0; i < b; ++i) {
        const int64_t c = group[i]->cached;
        if (c == 0) continue;
        pk[i].narrow(1, 0, c).copy_(group[i]->k[l].narrow(1, 0, c));
        pv[i].narrow(1, 0, c).copy_(group[i]->v[l].narrow(1, 0, c));
      }
      in.past[l].k = pk;
      in.past[l].v = pv;
    }
  }
  ForwardOutput out = model_->ForwardUnchecked(in);
  // Append the new keys/values and pick each row's last real logits.
  std::vector<int64_t> last(b);
  for (int64_t i = 0; i < b; ++i) {
    Sequence& s = *group[i];
    const int64_t n = s.tokens.size() - s.cached;
    EnsureCapacity(s, s.cached + n);
    for (int64_t l = 0; l < layers; ++l) {
      s.k[l].narrow(1, s.cached, n).copy_(out.present[l].k[i].narrow(1, 0, n));
      s.v[l].narrow(1, s.cached, n).copy_(out.present[l].v[i].narrow(1, 0, n));
    }
    s.cached += n;
    last[i] = n - 1;
  }
  torch::Tensor idx = torch::tensor(last, torch::kLong).to(dev).view({b, 1, 1}).expand({b, 1, out.logits.size(2)});
  torch::Tensor logits = out.logits.gather(1, idx).squeeze(1);
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
  int64_t taken = 0;
  for (auto& [id, s] : seqs_) {
    if (!s->turn.running) continue;
    if (taken++ >= options_.max_batch_size) break;
    (s->tokens.size() - s->cached == 1 ? decode : prefill).push_back(s.get());
  }
  std::vector<StepEvent> events;
  try {
    torch::NoGradGuard no_grad;
    if (!prefill.empty()) RunGroup(prefill, &events);
    if (!decode.empty()) RunGroup(decode, &events);
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
