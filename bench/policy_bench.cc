// Decode throughput of the policy core (Generator with KV cache, continuous
// batching) on CPU or --device cuda, and KV cache versus full recompute.
// Prints markdown tables; docs/benchmarks.md ("## Policy") has the commands
// and figures. bench/policy_bench_torch.py runs the same model and loop in
// plain PyTorch eager for comparison.
//
//   policy_bench [--model tiny|qwen2.5-0.5b|...] [--batches 1,8,32,64]
//                [--prompt 16] [--new_tokens 64] [--context 512]
//                [--recompute_tokens 16] [--threads 1] [--device cpu]
//                [--dtype f32|bf16] [--no_decode] [--no_cache] [--malloc_defaults]
//   policy_bench --model M --score B,L [--score_chunk N]   (learner scoring path)
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "policy/generator.h"
#include "policy/model.h"
#include "policy/scoring.h"
#include "policy/torch_runtime.h"

namespace agentgym::policy {
namespace {

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

std::vector<int64_t> Prompt(int64_t len, int64_t vocab, int64_t salt) {
  std::vector<int64_t> p(len);
  for (int64_t i = 0; i < len; ++i) p[i] = (salt * 131 + i * 17) % vocab;
  return p;
}

void Sync(const torch::Device& d) {
  if (d.is_cuda()) torch::cuda::synchronize();
}

// Tokens/s of the decode phase at `batch` sequences: one Step prefills every
// prompt and samples the first token (not timed); the remaining new_tokens - 1
// Steps are timed, each a batched one-token forward plus sampling.
double DecodeTokensPerSecond(CausalLm m, int64_t batch, int64_t prompt_len, int64_t new_tokens) {
  auto gen = *Generator::Create(m, {.max_batch_size = batch});
  for (int64_t i = 0; i < batch; ++i) {
    (void)*gen->AddSequence(Prompt(prompt_len, m->config().vocab_size, i),
                            {.temperature = 1.0f, .max_new_tokens = new_tokens, .seed = static_cast<uint64_t>(i)});
  }
  (void)*gen->Step();
  Sync(m->device());
  const auto start = std::chrono::steady_clock::now();
  int64_t produced = 0;
  while (gen->NumRunning() > 0) produced += static_cast<int64_t>(gen->Step()->size());
  Sync(m->device());
  return produced / Seconds(start);
}

// Per-token latency (ms) of greedy decoding `n` tokens after `context` tokens
// of prompt: with the KV cache (Generator) versus a full forward over the
// whole context for every token.
std::pair<double, double> CacheVersusRecompute(CausalLm m, int64_t context, int64_t n) {
  const std::vector<int64_t> prompt = Prompt(context, m->config().vocab_size, 7);
  auto gen = *Generator::Create(m, {});
  const int64_t id = *gen->AddSequence(prompt, {.temperature = 0.0f, .max_new_tokens = n + 1});
  (void)*gen->Step();
  auto start = std::chrono::steady_clock::now();
  (void)gen->RunUntilAllStopped();
  Sync(m->device());
  const double cached_ms = 1000 * Seconds(start) / n;
  std::vector<int64_t> ctx = *gen->Tokens(id);
  torch::NoGradGuard no_grad;
  start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < n; ++i) {
    torch::Tensor ids = torch::tensor(std::vector<int64_t>(ctx.begin(), ctx.begin() + context + i), torch::kLong)
                            .view({1, -1});
    torch::Tensor valid = torch::ones_like(ids, torch::kBool);
    ForwardOutput out = m->ForwardUnchecked({ids, PositionsFromValid(valid), CausalMaskFromValid(valid), {}});
    (void)out.logits[0][-1].argmax().item<int64_t>();
  }
  return {cached_ms, 1000 * Seconds(start) / n};
}

// The learner's path: ScoreTokens forward + backward over [batch, len] tokens
// (temperature 1, entropies on). Returns ms; peak RSS is read by the caller.
double ScoreForwardBackwardMs(CausalLm m, int64_t batch, int64_t len, int64_t chunk) {
  torch::Tensor ids = torch::randint(0, m->config().vocab_size, {batch, len}, torch::kLong);
  torch::Tensor valid = torch::ones({batch, len}, torch::kBool);
  const auto start = std::chrono::steady_clock::now();
  ScoreOutput s = *ScoreTokens(m, ids, valid, {.chunk_tokens = chunk});
  (s.logprobs.sum() + 0.01 * s.entropies.sum()).backward();
  Sync(m->device());
  return 1000 * Seconds(start);
}

int64_t PeakRssMb() {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024;
}

struct Flags {
  std::string model = "tiny";
  std::vector<int64_t> batches = {1, 8, 32, 64};
  int64_t prompt = 16, new_tokens = 64, context = 512, recompute_tokens = 16;
  int threads = 1;
  std::string device = "cpu", dtype = "f32";
  bool decode = true, cache = true, retain_freed_memory = true;
  int64_t score_batch = 0, score_len = 0, score_chunk = 0;  // --score B,L [--score_chunk N]
};

bool ParseFlags(int argc, char** argv, Flags* f) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    auto num = [&](int64_t* out) { return absl::SimpleAtoi(next(), out) && *out > 0; };
    int64_t n = 0;
    if (a == "--model") f->model = next();
    else if (a == "--device") f->device = next();
    else if (a == "--dtype") f->dtype = next();
    else if (a == "--no_decode") f->decode = false;
    else if (a == "--no_cache") f->cache = false;
    else if (a == "--malloc_defaults") f->retain_freed_memory = false;
    else if (a == "--prompt") { if (!num(&f->prompt)) return false; }
    else if (a == "--new_tokens") { if (!num(&f->new_tokens) || f->new_tokens < 2) return false; }
    else if (a == "--context") { if (!num(&f->context)) return false; }
    else if (a == "--recompute_tokens") { if (!num(&f->recompute_tokens)) return false; }
    else if (a == "--threads") { if (!num(&n)) return false; f->threads = static_cast<int>(n); }
    else if (a == "--score_chunk") { if (!absl::SimpleAtoi(next(), &f->score_chunk) || f->score_chunk < 0) return false; }
    else if (a == "--score") {
      std::vector<std::string> bl = absl::StrSplit(next(), ',');
      if (bl.size() != 2 || !absl::SimpleAtoi(bl[0], &f->score_batch) || !absl::SimpleAtoi(bl[1], &f->score_len) ||
          f->score_batch <= 0 || f->score_len <= 1) {
        return false;
      }
    }
    else if (a == "--batches") {
      f->batches.clear();
      for (absl::string_view s : absl::StrSplit(next(), ',')) {
        if (!absl::SimpleAtoi(s, &n) || n <= 0) return false;
        f->batches.push_back(n);
      }
    } else {
      std::fprintf(stderr, "unknown flag %s\n", a.c_str());
      return false;
    }
  }
  return f->dtype == "f32" || f->dtype == "bf16";
}

int Main(int argc, char** argv) {
  Flags f;
  if (!ParseFlags(argc, argv, &f)) {
    std::fprintf(stderr, "bad flags; see the header of bench/policy_bench.cc\n");
    return 2;
  }
  if (absl::Status s = ConfigureTorchRuntime({f.threads, f.retain_freed_memory}); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 2;
  }
  absl::StatusOr<torch::Device> dev = ParseDevice(f.device);
  absl::StatusOr<ModelConfig> config = PresetConfig(f.model);
  if (!dev.ok() || !config.ok()) {
    std::fprintf(stderr, "%s\n", (!dev.ok() ? dev.status() : config.status()).ToString().c_str());
    return 2;
  }
  const torch::ScalarType dtype = f.dtype == "bf16" ? torch::kBFloat16 : torch::kFloat32;
  const auto t0 = std::chrono::steady_clock::now();
  CausalLm m = *CreateModel(*config, *dev, dtype, /*seed=*/1);
  std::printf("model %s (%.2fM params, %s), random init in %.1f s; device %s; intra-op threads %d; BLAS %s; "
              "malloc retains freed memory: %s\n",
              f.model.c_str(), config->NumParameters() / 1e6, f.dtype.c_str(), Seconds(t0), f.device.c_str(),
              f.threads, LoadedBlasLibrary().c_str(), f.retain_freed_memory ? "yes" : "no");
  if (f.score_batch > 0) {  // Only this: peak RSS must belong to it alone.
    const int64_t before = PeakRssMb();
    const double ms = ScoreForwardBackwardMs(m, f.score_batch, f.score_len, f.score_chunk);
    std::printf("\n| impl | model | tokens | chunk | forward+backward ms | peak RSS MB (model only: %ld) |\n"
                "|---|---|---|---|---|---|\n| agentgym | %s | %ldx%ld | %ld | %.0f | %ld |\n",
                before, f.model.c_str(), f.score_batch, f.score_len, f.score_chunk, ms, PeakRssMb());
    return 0;
  }
  if (f.decode) {
    std::printf("\n| impl | model | batch | prompt | new tokens | decode tokens/s |\n|---|---|---|---|---|---|\n");
    for (int64_t batch : f.batches) {
      const double tps = DecodeTokensPerSecond(m, batch, f.prompt, f.new_tokens);
      std::printf("| agentgym | %s | %ld | %ld | %ld | %.1f |\n", f.model.c_str(), batch, f.prompt, f.new_tokens, tps);
      std::fflush(stdout);
    }
  }
  if (f.cache) {
    auto [cached, recompute] = CacheVersusRecompute(m, f.context, f.recompute_tokens);
    std::printf("\n| impl | model | context | tokens | KV cache ms/token | full recompute ms/token | speed-up |\n"
                "|---|---|---|---|---|---|---|\n");
    std::printf("| agentgym | %s | %ld | %ld | %.2f | %.2f | %.1fx |\n", f.model.c_str(), f.context,
                f.recompute_tokens, cached, recompute, recompute / cached);
  }
  return 0;
}

}  // namespace
}  // namespace agentgym::policy

int main(int argc, char** argv) { return agentgym::policy::Main(argc, argv); }
