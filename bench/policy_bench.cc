// Decode throughput of the policy core on CPU (or --device cuda). Prints a
// table; see docs/benchmarks.md ("## Policy") for how numbers were taken.
//
//   policy_bench [--threads N] [--device cpu] [--new_tokens 64] [--qwen]
//                [--context 512]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "policy/generator.h"
#include "policy/model.h"
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

// Tokens/s of the decode phase (after one prefill step) at `batch` sequences.
double DecodeTokensPerSecond(CausalLm m, int64_t batch, int64_t prompt_len, int64_t new_tokens) {
  auto gen = *Generator::Create(m, {.max_batch_size = batch});
  for (int64_t i = 0; i < batch; ++i) {
    (void)*gen->AddSequence(Prompt(prompt_len, m->config().vocab_size, i),
                            {.temperature = 1.0f, .max_new_tokens = new_tokens, .seed = static_cast<uint64_t>(i)});
  }
  (void)*gen->Step();  // Prefill (and first token), not timed.
  const auto start = std::chrono::steady_clock::now();
  int64_t produced = 0;
  while (gen->NumRunning() > 0) produced += static_cast<int64_t>(gen->Step()->size());
  return produced / Seconds(start);
}

// Per-token latency (ms) of decoding `n` tokens after `context` tokens, with
// the KV cache versus a full forward over the whole context every token.
std::pair<double, double> CacheVersusRecompute(CausalLm m, int64_t context, int64_t n) {
  const std::vector<int64_t> prompt = Prompt(context, m->config().vocab_size, 7);
  auto gen = *Generator::Create(m, {});
  const int64_t id = *gen->AddSequence(prompt, {.temperature = 0.0f, .max_new_tokens = n + 1});
  (void)*gen->Step();
  auto start = std::chrono::steady_clock::now();
  (void)gen->RunUntilAllStopped();
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

int Main(int argc, char** argv) {
  int threads = 1;
  int64_t new_tokens = 64, context = 512;
  bool qwen = false;
  std::string device = "cpu";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--threads") threads = std::atoi(next().c_str());
    else if (a == "--new_tokens") new_tokens = std::atoll(next().c_str());
    else if (a == "--context") context = std::atoll(next().c_str());
    else if (a == "--device") device = next();
    else if (a == "--qwen") qwen = true;
    else { std::fprintf(stderr, "unknown flag %s\n", a.c_str()); return 2; }
  }
  if (absl::Status s = ConfigureTorchRuntime({threads}); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 2;
  }
  absl::StatusOr<torch::Device> dev = ParseDevice(device);
  if (!dev.ok()) {
    std::fprintf(stderr, "%s\n", dev.status().ToString().c_str());
    return 2;
  }
  std::printf("BLAS: %s, intra-op threads: %d, device: %s\n", LoadedBlasLibrary().c_str(), threads, device.c_str());
  CausalLm tiny = *CreateModel(TinyConfig(), *dev, torch::kFloat32, 1);
  std::printf("\n| model | params | batch | prompt | new tokens | decode tokens/s |\n|---|---|---|---|---|---|\n");
  for (int64_t batch : {1, 8, 32, 64}) {
    const double tps = DecodeTokensPerSecond(tiny, batch, 16, new_tokens);
    std::printf("| tiny | %.2fM | %ld | 16 | %ld | %.0f |\n", TinyConfig().NumParameters() / 1e6, batch, new_tokens, tps);
    std::fflush(stdout);
  }
  auto [cached, recompute] = CacheVersusRecompute(tiny, context, 32);
  std::printf("\n| model | context | KV cache ms/token | full recompute ms/token | speed-up |\n|---|---|---|---|---|\n");
  std::printf("| tiny | %ld | %.2f | %.2f | %.1fx |\n", context, cached, recompute, recompute / cached);
  std::fflush(stdout);
  if (qwen) {
    const auto t0 = std::chrono::steady_clock::now();
    CausalLm big = *CreateModel(Qwen25Config0_5B(), *dev, torch::kFloat32, 1);
    std::printf("\n(qwen2.5-0.5b random init took %.1f s)\n", Seconds(t0));
    std::printf("\n| model | params | batch | prompt | new tokens | decode tokens/s |\n|---|---|---|---|---|---|\n");
    for (int64_t batch : {1, 8}) {
      const double tps = DecodeTokensPerSecond(big, batch, 16, 8);
      std::printf("| qwen2.5-0.5b | %.0fM | %ld | 16 | 8 | %.1f |\n", Qwen25Config0_5B().NumParameters() / 1e6, batch, tps);
      std::fflush(stdout);
    }
  }
  return 0;
}

}  // namespace
}  // namespace agentgym::policy

int main(int argc, char** argv) { return agentgym::policy::Main(argc, argv); }
