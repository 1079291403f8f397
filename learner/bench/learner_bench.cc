// Learner throughput: training tokens/s of Trainer::Step (GRPO, clipped
// surrogate, one epoch, AdamW) on a preset's shape, and weight publication:
// SnapshotWeights time and GetWeights bytes/s over loopback gRPC.
//
//   learner_bench [--model tiny|qwen2.5-0.5b] [--batch 16] [--seq 128]
//                 [--steps 5] [--threads 1] [--pulls 3] [--actors 1 4]
//
// Prints one line per figure; docs/benchmarks.md quotes them with the
// machine they came from. Compare with learner_bench_torch.py.
#include <chrono>
#include <iostream>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "core/grpc_server.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "learner/learner_service.h"
#include "learner/testing/synthetic.h"
#include "learner/trainer.h"
#include "learner/weight_store.h"
#include "policy/torch_runtime.h"

namespace {

using namespace agentgym;          // NOLINT
using namespace agentgym::learner;  // NOLINT

double Since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"learner_bench"};
  std::string preset = "tiny";
  int batch = 16, seq = 128, steps = 5, threads = 1, pulls = 3;
  app.add_option("--model", preset);
  app.add_option("--batch", batch);
  app.add_option("--seq", seq);
  app.add_option("--steps", steps);
  app.add_option("--threads", threads);
  app.add_option("--pulls", pulls);
  std::vector<int> actor_counts = {1, 4};
  app.add_option("--actors", actor_counts, "simultaneous pulls, one channel each (default 1 4)");
  CLI11_PARSE(app, argc, argv);
  policy::TorchRuntimeOptions rt;
  rt.intra_op_threads = threads;
  if (auto s = policy::ConfigureTorchRuntime(rt); !s.ok()) return 1;
  auto config = policy::PresetConfig(preset);
  if (!config.ok()) {
    std::cerr << config.status() << "\n";
    return 2;
  }
  auto model = policy::CreateModel(*config, torch::kCPU, torch::kFloat32, 1);
  if (!model.ok()) return 1;

  // Groups of 8 with mixed rewards; each trajectory: a 16-token prompt then
  // one sampled turn filling the rest of `seq`.
  std::vector<trajectory::v1::Trajectory> trajectories;
  testing::Shape shape;
  shape.prompt = 16;
  shape.turns = 1;
  shape.agent_tokens = seq - 16;
  shape.end_with_env = false;
  for (int i = 0; i < batch; ++i) {
    trajectories.push_back(testing::MakeTrajectory("t" + std::to_string(i), config->vocab_size, i, shape,
                                                   i % 2, "g" + std::to_string(i / 8), 8, i % 8));
  }
  LearnerOptions o;
  o.model.preset = preset;
  o.algorithm.group_size = 8;
  o.algorithm.ppo_epochs = 1;
  o.train.groups_per_step = std::max(1, batch / 8);
  auto comm = MakeLocalCommunicator();
  auto trainer = Trainer::Create(*model, std::nullopt, o, comm.get());
  if (!trainer.ok()) {
    std::cerr << trainer.status() << "\n";
    return 1;
  }
  (void)(*trainer)->Step(trajectories, 0);  // warm-up
  const auto start = std::chrono::steady_clock::now();
  double fb = 0, opt = 0;
  for (int s = 1; s <= steps; ++s) {
    auto m = (*trainer)->Step(trajectories, s);
    if (!m.ok()) {
      std::cerr << m.status() << "\n";
      return 1;
    }
    fb += m->at("time_forward_backward_s");
    opt += m->at("time_optimizer_s");
  }
  const double seconds = Since(start);
  const double tokens = static_cast<double>(batch) * seq * steps;
  std::printf("train model=%s params=%lld batch=%d seq=%d threads=%d: %.0f tokens/s "
              "(%.3f s/step: forward+backward %.3f, optimizer %.3f)\n",
              preset.c_str(), static_cast<long long>(config->NumParameters()), batch, seq, threads,
              tokens / seconds, seconds / steps, fb / steps, opt / steps);

  // Publication: snapshot copy, then pulls over loopback.
  WeightStore store;
  auto snap_start = std::chrono::steady_clock::now();
  auto snapshot = SnapshotWeights((*trainer)->model(), 1);
  if (!snapshot.ok()) return 1;
  const double snap_s = Since(snap_start);
  const double bytes = static_cast<double>((*snapshot)->blob.size());
  store.Publish(*snapshot);
  std::printf("snapshot %.1f MB in %.3f s (%.0f MB/s)\n", bytes / 1e6, snap_s, bytes / 1e6 / snap_s);
  BufferOptions bo;
  bo.vocab_size = config->vocab_size;
  TrajectoryBuffer buffer(bo);
  LearnerService service({}, &buffer, &store, [] { return learner::v1::LearnerStatus(); });
  grpc::ServerBuilder builder;
  ApplyServerDefaults(builder);
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.SetMaxSendMessageSize(80 << 20);
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(80 << 20);
  // Each actor pulls over its own channel (as separate actor processes do);
  // with N at once the server streams N copies concurrently.
  auto pull_once = [&](int64_t* got, std::string* error) {
    auto stub = learner::v1::Learner::NewStub(grpc::CreateCustomChannel(
        "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials(), args));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(600));
    learner::v1::GetWeightsRequest req;
    auto reader = stub->GetWeights(&ctx, req);
    learner::v1::WeightsChunk chunk;
    while (reader->Read(&chunk)) *got += static_cast<int64_t>(chunk.data().size());
    auto status = reader->Finish();
    if (!status.ok()) *error = status.error_message();
  };
  for (int actors : actor_counts) {
    for (int p = 0; p < pulls; ++p) {
      std::vector<int64_t> got(actors, 0);
      std::vector<std::string> errors(actors);
      std::vector<std::thread> threads;
      const auto pull_start = std::chrono::steady_clock::now();
      for (int a = 0; a < actors; ++a) threads.emplace_back(pull_once, &got[a], &errors[a]);
      for (std::thread& t : threads) t.join();
      const double pull_s = Since(pull_start);
      int64_t total = 0;
      std::string status = "ok";
      for (int a = 0; a < actors; ++a) {
        total += got[a];
        if (!errors[a].empty()) status = errors[a];
      }
      std::printf("pull %d to %d actor(s): %s %.1f MB in %.3f s (%.0f MB/s total)\n", p, actors, status.c_str(),
                  total / 1e6, pull_s, total / 1e6 / pull_s);
    }
  }
  service.Shutdown();
  buffer.Close();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  return 0;
}
