#include "learner/learner.h"

#include <chrono>
#include <filesystem>

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "core/grpc_server.h"
#include "core/logging.h"
#include "core/net_address.h"
#include "core/status_macros.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "learner/comm/gloo_communicator.h"
#include "learner/learner_checkpoint.h"
#include "learner/trajectory_codec.h"
#include "policy/checkpoint.h"
#include "policy/torch_runtime.h"
#include "scheduler/registry.h"

namespace agentgym::learner {

namespace cpb = ::agentgym::coordinator::v1;
namespace lpb = ::agentgym::learner::v1;
using trajectory::v1::Trajectory;

namespace {

// What rank 0 broadcasts each round to the other ranks.
constexpr char kIdle = 'I';
constexpr char kTrain = 'T';
constexpr char kStop = 'S';

double SecondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

std::shared_ptr<spdlog::logger> Log() { return GetLogger("learner"); }

// The learner's counts in the coordinator's terms (what it received it
// reports as produced; its buffer is in flight).
void FillRunAccounting(const lpb::LearnerAccounting& a, cpb::Accounting* out) {
  out->set_produced(a.received());
  out->set_trained(a.trained());
  out->set_stale(a.stale());
  out->set_rejected(a.rejected());
  out->set_env_error(a.env_error());
  out->set_dropped(a.dropped());
  out->set_in_flight(a.buffered());
}

}  // namespace

Learner::Learner(LearnerRunOptions options, metrics::Registry* registry)
    : run_(std::move(options)), registry_(registry), weights_(/*keep=*/2) {}

absl::StatusOr<std::unique_ptr<Learner>> Learner::Create(LearnerRunOptions options,
                                                         metrics::Registry* registry) {
  AG_RETURN_IF_ERROR(ValidateLearnerOptions(options.options));
  if (options.world_size < 1 || options.rank < 0 || options.rank >= options.world_size) {
    return absl::InvalidArgumentError(absl::StrCat("--rank ", options.rank, " must be in [0, --world-size ",
                                                   options.world_size, ")"));
  }
  if (options.run_dir.empty()) return absl::InvalidArgumentError("--run-dir is required");
  std::unique_ptr<Learner> learner(new Learner(std::move(options), registry));
  AG_RETURN_IF_ERROR(learner->Init());
  return learner;
}

Learner::~Learner() {
  coordinator_ptr_.store(nullptr);
  if (service_) service_->Shutdown();
  if (buffer_) buffer_->Close();
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  if (coordinator_) coordinator_->Close();
}

absl::Status Learner::LoadModel(std::optional<std::string> checkpoint_dir) {
  const auto& m = run_.options.model;
  AG_ASSIGN_OR_RETURN(torch::Device device, policy::ParseDevice(m.device));
  const torch::ScalarType dtype = m.dtype == "bfloat16" ? torch::kBFloat16 : torch::kFloat32;
  const bool value_head = run_.options.algorithm.UsesValueHead();
  auto from_dir = [&](const std::string& dir) -> absl::StatusOr<policy::CausalLm> {
    AG_ASSIGN_OR_RETURN(policy::ModelConfig config, policy::LoadModelConfig(dir + "/config.json"));
    config.value_head = value_head;
    return policy::LoadPretrained(dir, device, dtype, config);
  };
  auto initial = [&]() -> absl::StatusOr<policy::CausalLm> {
    if (!m.dir.empty()) return from_dir(m.dir);
    AG_ASSIGN_OR_RETURN(policy::ModelConfig config, policy::PresetConfig(m.preset));
    config.value_head = value_head;
    return policy::CreateModel(config, device, dtype, m.seed);
  };
  absl::StatusOr<policy::CausalLm> model = checkpoint_dir ? from_dir(*checkpoint_dir) : initial();
  if (!model.ok()) {
    return absl::Status(model.status().code(),
                        absl::StrCat("loading the model from ",
                                     checkpoint_dir ? *checkpoint_dir
                                                    : (m.dir.empty() ? "preset " + m.preset : m.dir),
                                     ": ", model.status().message()));
  }
  std::optional<policy::CausalLm> reference;
  if (run_.options.algorithm.UsesReference()) {
    AG_ASSIGN_OR_RETURN(reference, initial());
  }
  if (comm_ == nullptr) return absl::InternalError("communicator before the model");
  AG_ASSIGN_OR_RETURN(trainer_, Trainer::Create(*std::move(model), std::move(reference), run_.options,
                                                comm_.get()));
  return absl::OkStatus();
}

absl::Status Learner::Init() {
  const LearnerOptions& o = run_.options;
  policy::TorchRuntimeOptions runtime;
  runtime.intra_op_threads = o.model.intra_op_threads;
  AG_RETURN_IF_ERROR(policy::ConfigureTorchRuntime(runtime));
  model_dir_ = o.model.dir;
  std::error_code ec;
  std::filesystem::create_directories(run_.run_dir, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("--run-dir ", run_.run_dir, ": ", ec.message()));

  std::optional<std::string> checkpoint;
  std::optional<CheckpointState> resumed;
  if (run_.resume) {
    auto latest = LatestCheckpoint(run_.run_dir);
    if (latest.ok()) {
      checkpoint = *latest;
      AG_ASSIGN_OR_RETURN(resumed, ReadCheckpointState(*latest));
    } else if (latest.status().code() == absl::StatusCode::kNotFound) {
      Log()->warn("--resume: {}; starting from the initial weights", std::string(latest.status().message()));
    } else {
      return latest.status();
    }
  }

  // Rank 0 hosts the rendezvous store before anything blocks on it.
  std::string rendezvous = run_.rendezvous;
  GlooCommunicator* gloo = nullptr;
  if (run_.world_size == 1) {
    comm_ = MakeLocalCommunicator();
  } else if (run_.rank == 0) {
    if (rendezvous.empty()) {
      AG_ASSIGN_OR_RETURN(std::string host, AdvertisedHost());
      rendezvous = absl::StrCat(host, ":0");
    }
  }
  auto make_gloo = [&](const std::string& address) -> absl::Status {
    GlooOptions g;
    g.rendezvous = address;
    g.rank = run_.rank;
    g.world_size = run_.world_size;
    g.store_timeout = absl::Seconds(o.train.store_timeout_s);
    g.collective_timeout = absl::Seconds(o.train.collective_timeout_s);
    AG_ASSIGN_OR_RETURN(g.bind_host, AdvertisedHost());
    AG_ASSIGN_OR_RETURN(auto created, GlooCommunicator::Create(g));
    gloo = created.get();
    comm_ = std::move(created);
    return absl::OkStatus();
  };
  if (run_.world_size > 1 && run_.rank == 0) AG_RETURN_IF_ERROR(make_gloo(rendezvous));
  if (run_.world_size > 1 && run_.rank > 0 && !rendezvous.empty()) AG_RETURN_IF_ERROR(make_gloo(rendezvous));
  if (comm_ == nullptr) {
    // A follower without --rendezvous learns it from the coordinator first.
    AG_RETURN_IF_ERROR(StartServer());
    AG_RETURN_IF_ERROR(ConnectCoordinator(""));
    if (coordinator_ == nullptr) {
      return absl::InvalidArgumentError("rank > 0 needs --rendezvous or --coordinator");
    }
    const bool got = coordinator_->WaitFor(
        [](const cpb::Directives& d) { return !d.rendezvous_address().empty(); },
        absl::Seconds(o.train.store_timeout_s));
    if (!got) {
      return absl::DeadlineExceededError(absl::StrCat("rank ", run_.rank, ": the coordinator named no rendezvous "
                                                      "address within ", o.train.store_timeout_s, "s"));
    }
    AG_RETURN_IF_ERROR(make_gloo(coordinator_->directives().rendezvous_address()));
  }

  AG_RETURN_IF_ERROR(LoadModel(checkpoint));
  BufferOptions b;
  b.capacity = o.train.buffer_capacity;
  b.whole_groups = o.algorithm.UsesGroups();
  b.group_size = o.algorithm.group_size;
  b.group_timeout = absl::Seconds(o.train.group_timeout_s);
  b.max_staleness = o.train.max_staleness;
  b.vocab_size = trainer_->model()->config().vocab_size;
  b.on_ready_changed = [this](int64_t ready, int64_t in_training) { OnReadyChanged(ready, in_training); };
  if (resumed && !resumed->final) {
    // Versions published after the checkpoint are lost with their weights:
    // skip past them (at most checkpoint_every steps published one each
    // before the next checkpoint; without periodic checkpoints, far past).
    b.version_gap.base = resumed->policy_version;
    b.version_gap.size = o.train.checkpoint_every > 0 ? o.train.checkpoint_every : 1000000;
  }
  const int64_t resumed_version =
      !resumed ? 0 : resumed->final ? resumed->policy_version : b.version_gap.base + b.version_gap.size + 1;
  buffer_ = std::make_unique<TrajectoryBuffer>(b);
  if (resumed) {
    AG_RETURN_IF_ERROR(trainer_->LoadOptimizer(*checkpoint + "/optimizer.pt"));
    AG_RETURN_IF_ERROR(RestoreRngState(resumed->rng_state_hex));
    {
      absl::MutexLock lock(&mu_);
      step_ = resumed->step;
      version_ = resumed_version;
      tokens_trained_ = resumed->tokens_trained;
    }
    last_checkpoint_step_ = resumed->step;
    const size_t waiting = resumed->buffer.waiting.size();
    buffer_->Restore(std::move(resumed->buffer));
    buffer_->SetProgress(resumed_version, resumed->step);
    buffer_->SetCheckpointStep(resumed->step);
    Log()->info("resumed from {} at step {} (checkpoint version {}, now version {}; {} trajectories "
                "buffered)", *checkpoint, resumed->step, resumed->policy_version, resumed_version,
                waiting);
  }
  if (run_.rank == 0) AG_RETURN_IF_ERROR(Publish());
  if (server_ == nullptr) AG_RETURN_IF_ERROR(StartServer());
  if (coordinator_ == nullptr) {
    AG_RETURN_IF_ERROR(ConnectCoordinator(gloo && run_.rank == 0 ? gloo->store_address() : ""));
  }
  if (run_.on_listening) {
    AG_ASSIGN_OR_RETURN(HostPort hp, ParseHostPort(address_));
    AG_RETURN_IF_ERROR(run_.on_listening(address_, hp.port));
  }
  if (gloo != nullptr) AG_RETURN_IF_ERROR(gloo->Join());
  if (resumed && coordinator_ && run_.rank == 0 && !resumed->curriculum_json.empty()) {
    cpb::CurriculumState state;
    if (!google::protobuf::util::JsonStringToMessage(resumed->curriculum_json, &state).ok()) {
      return absl::DataLossError("checkpoint curriculum state does not parse");
    }
    auto restored = coordinator_->RestoreCurriculumState(state);
    if (!restored.ok()) {
      Log()->warn("could not restore the curriculum on the coordinator: {}", restored.status().ToString());
    }
  }
  if (run_.rank == 0) {
    AG_ASSIGN_OR_RETURN(jsonl_, metrics::JsonlWriter::Open(run_.run_dir + "/learner-metrics.jsonl"));
  }
  Log()->info("learner rank {}/{} ready: {} on {}, {} parameters, listening on {}", run_.rank,
              run_.world_size, o.algorithm.name, o.model.device,
              trainer_->model()->config().NumParameters(), address_);
  return absl::OkStatus();
}

absl::Status Learner::StartServer() {
  AG_ASSIGN_OR_RETURN(HostPort hp, ParseHostPort(run_.listen));
  LearnerServiceOptions so;
  so.default_chunk_bytes = run_.options.train.weight_chunk_bytes;
  so.serving = run_.rank == 0;
  so.rank = run_.rank;
  service_ = std::make_unique<LearnerService>(so, buffer_ ? buffer_.get() : nullptr, &weights_,
                                              [this] { return status(); }, registry_);
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MakeServerCredentials(run_.security, run_.listen);
  if (!credentials.ok()) return credentials.status();
  grpc::ServerBuilder builder;
  ApplyServerDefaults(builder);
  int port = 0;
  builder.AddListeningPort(run_.listen, *credentials, &port);
  builder.SetMaxReceiveMessageSize(256 << 20);
  builder.SetMaxSendMessageSize(80 << 20);
  builder.RegisterService(service_.get());
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat("learner cannot listen on ", run_.listen,
                                               " (address in use or not local?)"));
  }
  const bool v6 = hp.host.find(':') != std::string::npos;
  address_ = absl::StrCat(v6 ? "[" : "", hp.host, v6 ? "]" : "", ":", port);
  return absl::OkStatus();
}

absl::StatusOr<std::string> Learner::AdvertisedHost() const {
  if (!run_.advertise.empty()) {
    absl::StatusOr<HostPort> hp = ParseHostPort(run_.advertise, /*min_port=*/1);
    if (!hp.ok()) return absl::InvalidArgumentError(absl::StrCat("--advertise: ", hp.status().message()));
    return hp->host;
  }
  AG_ASSIGN_OR_RETURN(HostPort hp, ParseHostPort(run_.listen));
  return hp.host == "0.0.0.0" ? std::string("127.0.0.1") : hp.host;
}

absl::Status Learner::ConnectCoordinator(const std::string& rendezvous_address) {
  if (run_.coordinator.empty()) return absl::OkStatus();
  scheduler::CoordinatorClientOptions co;
  co.coordinator = run_.coordinator;
  co.security = run_.coordinator_security;
  co.registration.set_role(cpb::ROLE_LEARNER);
  AG_ASSIGN_OR_RETURN(HostPort hp, ParseHostPort(address_));
  // Actors dial this address: never the wildcard.
  if (!run_.advertise.empty()) {
    co.registration.set_address(run_.advertise);
  } else {
    co.registration.set_address(hp.host == "0.0.0.0" ? absl::StrCat("127.0.0.1:", hp.port) : address_);
  }
  co.registration.set_name(absl::StrCat("learner-rank-", run_.rank));
  auto* caps = co.registration.mutable_capabilities();
  caps->set_rank(run_.rank);
  caps->set_world_size(run_.world_size);
  caps->set_device(run_.options.model.device);
  caps->set_rendezvous_address(rendezvous_address);
  AG_ASSIGN_OR_RETURN(coordinator_, scheduler::CoordinatorClient::Connect(std::move(co)));
  if (run_.rank == 0) {
    coordinator_ptr_.store(coordinator_.get());
    // The window applies from now, before the first trained step.
    OnReadyChanged(buffer_ ? buffer_->ready() : 0, 0);
  }
  return absl::OkStatus();
}

lpb::LearnerStatus Learner::status() const {
  lpb::LearnerStatus s;
  {
    absl::MutexLock lock(&mu_);
    s.set_step(step_);
    s.set_policy_version(version_);
    s.set_tokens_trained(tokens_trained_);
    s.set_trainer_idle_ratio(idle_ratio_);
    s.set_weight_sync_latency_ms(publish_ms_);
    for (const auto& [k, v] : last_metrics_) (*s.mutable_last_step_metrics())[k] = v;
  }
  s.set_world_size(run_.world_size);
  s.set_algorithm(run_.options.algorithm.name);
  s.set_buffer_capacity(run_.options.train.buffer_capacity);
  if (buffer_) {
    const Accounting a = buffer_->accounting();
    auto* acc = s.mutable_accounting();
    acc->set_received(a.received);
    acc->set_trained(a.trained);
    acc->set_stale(a.stale);
    acc->set_rejected(a.rejected);
    acc->set_env_error(a.env_error);
    acc->set_dropped(a.dropped);
    acc->set_buffered(a.buffered);
    acc->set_duplicates(a.duplicates);
  }
  return s;
}

absl::Status Learner::Publish() {
  const auto start = std::chrono::steady_clock::now();
  int64_t version;
  {
    absl::MutexLock lock(&mu_);
    version = version_;
  }
  AG_ASSIGN_OR_RETURN(auto snapshot, SnapshotWeights(trainer_->model(), version));
  weights_.Publish(std::move(snapshot));
  absl::MutexLock lock(&mu_);
  publish_ms_ = SecondsSince(start) * 1000.0;
  return absl::OkStatus();
}

absl::Status Learner::Run(absl::Notification* stop) {
  absl::Status s = run_.rank == 0 ? RunRankZero(stop) : RunFollower();
  if (run_.rank == 0) {
    // Ingest closes first: the final checkpoint then holds every trajectory
    // acknowledged, and the final report counts exactly those (later
    // offers fail UNAVAILABLE; the actor keeps them unacknowledged).
    if (buffer_) buffer_->Close();
    int64_t step;
    {
      absl::MutexLock lock(&mu_);
      step = step_;
    }
    if (step != last_checkpoint_step_ && step > 0) {
      absl::Status c = Checkpoint(/*final=*/true);
      if (s.ok()) s = c;
    }
    ReportFinal();
  }
  return s;
}

void Learner::ReportFinal() {
  if (!coordinator_ || !last_report_) return;
  cpb::ReportProgressRequest r = *last_report_;
  FillRunAccounting(status().accounting(), r.mutable_accounting());
  (*r.mutable_queue_depths())["buffer"] = buffer_->buffered();
  auto reply = coordinator_->ReportProgress(std::move(r));
  if (!reply.ok()) Log()->warn("final ReportProgress: {}", reply.status().ToString());
}

absl::Status Learner::RunRankZero(absl::Notification* stop) {
  const auto& t = run_.options.train;
  auto done = [&] {
    absl::MutexLock lock(&mu_);
    return t.max_steps > 0 && step_ >= t.max_steps;
  };
  absl::Status result = absl::OkStatus();
  while (!stop->HasBeenNotified() && !done()) {
    const auto wait_start = std::chrono::steady_clock::now();
    std::optional<Batch> batch;
    while (!batch && !stop->HasBeenNotified()) {
      batch = buffer_->TakeBatch(run_.options.BatchUnits(), absl::Seconds(t.idle_broadcast_s));
      if (!batch && comm_->world_size() > 1) {
        std::string idle(1, kIdle);
        result = comm_->Broadcast(&idle, 0);
        if (!result.ok()) return result;
      }
    }
    if (!batch) break;
    const double wait_s = SecondsSince(wait_start);
    if (comm_->world_size() > 1) {
      std::string message(1, kTrain);
      AppendTrajectories(batch->trajectories, &message);
      AG_RETURN_IF_ERROR(comm_->Broadcast(&message, 0));
    }
    absl::Status trained = TrainBatch(batch->trajectories, wait_s, batch->staleness_counts);
    buffer_->CommitBatch(*batch, trained.ok());
    if (!trained.ok()) return trained;
    int64_t step;
    {
      absl::MutexLock lock(&mu_);
      step = step_;
    }
    if (t.checkpoint_every > 0 && step % t.checkpoint_every == 0) AG_RETURN_IF_ERROR(Checkpoint());
  }
  if (comm_->world_size() > 1) {
    std::string bye(1, kStop);
    AG_RETURN_IF_ERROR(comm_->Broadcast(&bye, 0));
  }
  return absl::OkStatus();
}

absl::Status Learner::RunFollower() {
  while (true) {
    std::string message;
    AG_RETURN_IF_ERROR(comm_->Broadcast(&message, 0));
    if (message.empty()) return absl::DataLossError("empty broadcast from rank 0");
    if (message[0] == kStop) return absl::OkStatus();
    if (message[0] == kIdle) continue;
    AG_ASSIGN_OR_RETURN(auto all, DecodeTrajectories(message, 1));
    AG_RETURN_IF_ERROR(TrainBatch(all, 0.0, {}));
  }
}

absl::Status Learner::TrainBatch(const std::vector<Trajectory>& all, double wait_s,
                                 const std::map<int64_t, int64_t>& staleness) {
  const auto& o = run_.options;
  // Whole units (groups) go round-robin to the ranks.
  const size_t unit = o.algorithm.UsesGroups() ? static_cast<size_t>(o.algorithm.group_size) : 1;
  std::vector<Trajectory> slice;
  for (size_t i = 0; i * unit < all.size(); ++i) {
    if (static_cast<int>(i % comm_->world_size()) != comm_->rank()) continue;
    for (size_t k = i * unit; k < std::min(all.size(), (i + 1) * unit); ++k) slice.push_back(all[k]);
  }
  int64_t step;
  {
    absl::MutexLock lock(&mu_);
    step = step_;
  }
  const auto step_start = std::chrono::steady_clock::now();
  AG_ASSIGN_OR_RETURN(StepMetrics m, trainer_->Step(slice, step));
  {
    absl::MutexLock lock(&mu_);
    ++step_;
    ++version_;
    tokens_trained_ += static_cast<int64_t>(m["tokens"]);
  }
  if (comm_->rank() != 0) return absl::OkStatus();
  AG_RETURN_IF_ERROR(Publish());
  const double step_s = SecondsSince(step_start);
  {
    absl::MutexLock lock(&mu_);
    buffer_->SetProgress(version_, step_);
    idle_ratio_ = wait_s / std::max(1e-9, wait_s + step_s);
    m["time_wait_data_s"] = wait_s;
    m["time_publish_s"] = publish_ms_ / 1000.0;
    m["trainer_idle_ratio"] = idle_ratio_;
    last_metrics_ = m;
  }
  Report(all, m, staleness);
  return absl::OkStatus();
}

void Learner::Report(const std::vector<Trajectory>& batch, const StepMetrics& m,
                     const std::map<int64_t, int64_t>& staleness) {
  const lpb::LearnerStatus s = status();
  const auto& a = s.accounting();
  Log()->info(
      "step {} v{} loss {:.4f} pg {:.4f} kl {:.4f} ent {:.3f} clip {:.3f} gnorm {:.3f} adv {:.3f}/{:.3f} "
      "reward {:.3f} success {:.3f} mixed {:.2f} | wait {:.2f}s fb {:.2f}s opt {:.3f}s pub {:.3f}s | "
      "buffered {} trained {} stale {} rejected {} dropped {}",
      s.step(), s.policy_version(), m.at("loss"), m.at("pg_loss"), m.at("kl"), m.at("entropy"),
      m.at("clip_frac"), m.at("grad_norm"), m.at("adv_mean"), m.at("adv_std"), m.at("reward_mean"),
      m.at("success_rate"), m.at("mixed_group_frac"), m.at("time_wait_data_s"),
      m.at("time_forward_backward_s"), m.at("time_optimizer_s"), m.at("time_publish_s"), a.buffered(),
      a.trained(), a.stale(), a.rejected(), a.dropped());
  // Equal rewards in every group give group-relative algorithms no gradient
  // at all (see LEARNING-FACTS): say so loudly rather than train silently.
  unmixed_steps_ = m.at("mixed_group_frac") > 0 ? 0 : unmixed_steps_ + 1;
  if (run_.options.algorithm.UsesGroups() && unmixed_steps_ > 0 && unmixed_steps_ % 20 == 0) {
    Log()->warn("no group has had mixed rewards for {} steps: {} gets no gradient (all members "
                "of every group scored the same; check the env, the horizon and the entropy)",
                unmixed_steps_, run_.options.algorithm.name);
  }
  if (jsonl_) {
    nlohmann::json extra = nlohmann::json::object();
    for (const auto& [k, v] : m) extra[k] = v;
    extra["policy_version"] = s.policy_version();
    extra["tokens_trained"] = s.tokens_trained();
    extra["accounting"] = {{"received", a.received()}, {"trained", a.trained()},
                           {"stale", a.stale()},       {"rejected", a.rejected()},
                           {"env_error", a.env_error()}, {"dropped", a.dropped()},
                           {"buffered", a.buffered()}, {"duplicates", a.duplicates()}};
    nlohmann::json lag = nlohmann::json::object();
    for (const auto& [k, v] : staleness) lag[std::to_string(k)] = v;
    extra["staleness"] = lag;
    absl::Status w = jsonl_->Write(s.step(), *registry_, extra);
    if (!w.ok()) Log()->warn("metrics jsonl: {}", w.ToString());
  }
  if (!coordinator_) return;
  cpb::ReportProgressRequest r;
  r.set_step(s.step());
  r.set_policy_version(s.policy_version());
  std::map<std::string, cpb::EnvStats> envs;
  for (const auto& t : batch) {
    auto& e = envs[t.env()];
    e.set_env(t.env());
    e.set_episodes(e.episodes() + 1);
    e.set_successes(e.successes() + (t.success() ? 1 : 0));
    e.set_reward_sum(e.reward_sum() + t.final_reward());
  }
  for (auto& [name, e] : envs) *r.add_env_stats() = e;
  FillRunAccounting(a, r.mutable_accounting());
  r.set_tokens_trained(s.tokens_trained());
  for (const auto& [k, v] : staleness) (*r.mutable_staleness_counts())[k] = v;
  r.set_trainer_idle_ratio(s.trainer_idle_ratio());
  r.set_weight_sync_latency_ms(s.weight_sync_latency_ms());
  (*r.mutable_queue_depths())["buffer"] = buffer_->buffered();
  const auto& o = run_.options;
  const int64_t group = o.algorithm.group_size;
  r.set_max_groups_ahead(MaxGroupsAhead());
  // Groups of one are never "mixed": the fraction means something only to
  // group-relative algorithms, and only they are guarded by it.
  if (o.algorithm.UsesGroups()) r.set_mixed_group_fraction(m.at("mixed_group_frac"));
  r.set_policy_entropy(m.at("entropy"));
  r.set_buffered_groups((buffer_->ready() + (o.train.max_staleness == 0 ? static_cast<int64_t>(batch.size()) : 0)) / group);
  last_report_ = r;
  auto reply = coordinator_->ReportProgress(std::move(r));
  if (!reply.ok()) Log()->warn("ReportProgress: {}", reply.status().ToString());
}

int64_t Learner::MaxGroupsAhead() const {
  // With `max_staleness` batches ahead of training (at least one, the batch
  // generated while this one trains), a group is trained at most
  // max_staleness steps after the version that generated it was published.
  // (Actors always ask for groups of algorithm.group_size.)
  const auto& o = run_.options;
  return std::max<int64_t>(1, o.train.max_staleness) * o.BatchTrajectories() / o.algorithm.group_size;
}

void Learner::OnReadyChanged(int64_t ready_trajectories, int64_t in_training) {
  // Complete groups only: a partial one's missing members are still held
  // by an actor (counted there) or will never come (it expires). Strictly
  // on-policy (max_staleness 0), no group may be handed out before the
  // version the batch in training produces is published (CommitBatch
  // follows the publication), so that batch counts as ahead until then.
  const auto& o = run_.options;
  const int64_t groups =
      (ready_trajectories + (o.train.max_staleness == 0 ? in_training : 0)) / o.algorithm.group_size;
  scheduler::CoordinatorClient* coordinator = coordinator_ptr_.load();
  if (coordinator == nullptr || groups == reported_ready_groups_.exchange(groups)) return;
  cpb::ComponentLoad load;
  (*load.mutable_queue_depths())[scheduler::kReadyGroupsDepth] = groups;
  (*load.mutable_queue_depths())[scheduler::kMaxGroupsAheadDepth] = MaxGroupsAhead();
  coordinator->SetLoad(std::move(load));
  coordinator->BeatSoon();  // coalesces: one beat carries the latest count
}

absl::Status Learner::Checkpoint(bool final) {
  CheckpointState state;
  state.final = final;
  {
    absl::MutexLock lock(&mu_);
    state.step = step_;
    state.policy_version = version_;
    state.tokens_trained = tokens_trained_;
  }
  state.rng_state_hex = CaptureRngState();
  state.buffer = buffer_->Export();
  if (coordinator_) {
    auto curriculum = coordinator_->GetCurriculumState();
    if (curriculum.ok()) {
      (void)google::protobuf::util::MessageToJsonString(*curriculum, &state.curriculum_json);
    } else {
      Log()->warn("checkpoint without curriculum state: {}", curriculum.status().ToString());
    }
  }
  const auto start = std::chrono::steady_clock::now();
  AG_ASSIGN_OR_RETURN(std::string dir,
                      WriteCheckpoint(run_.run_dir, state, *trainer_, model_dir_, run_.options.train.keep_checkpoints));
  last_checkpoint_step_ = state.step;
  buffer_->SetCheckpointStep(state.step);
  Log()->info("checkpoint {} ({} buffered trajectories) in {:.2f}s", dir, state.buffer.waiting.size(),
              SecondsSince(start));
  return absl::OkStatus();
}

}  // namespace agentgym::learner
