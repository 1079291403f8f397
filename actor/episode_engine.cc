// EpisodeEngine: construction, the scheduler loop, fetching and starting
// groups, weight swaps and load reports. Episode turns live in
// engine_episodes.cc.
#include "actor/episode_engine.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "actor/engine_internal.h"
#include "core/det_random.h"
#include "core/logging.h"
#include "core/metrics.h"

namespace agentgym::actor {

absl::StatusOr<std::unique_ptr<EpisodeEngine>> EpisodeEngine::Create(EngineOptions options,
                                                                     policy::PolicyBundle* bundle,
                                                                     TaskSource* source, TrajectorySink* sink,
                                                                     EnvPool* pool, WeightSlot* slot,
                                                                     int64_t initial_version, EngineHooks hooks) {
  if (bundle == nullptr || !bundle->model || bundle->tokenizer == nullptr || bundle->chat == nullptr) {
    return absl::InvalidArgumentError("EpisodeEngine needs a loaded policy bundle");
  }
  if (source == nullptr || sink == nullptr || pool == nullptr) {
    return absl::InvalidArgumentError("EpisodeEngine needs a task source, a sink and an env pool");
  }
  if (options.concurrent_episodes < 1) return absl::InvalidArgumentError("actor.concurrent_episodes must be >= 1");
  if (options.max_new_tokens < 1) return absl::InvalidArgumentError("actor.max_new_tokens must be >= 1");
  if (options.group_retries < 0) return absl::InvalidArgumentError("actor.group_retries must be >= 0");
  if (options.max_unacked < 1) return absl::InvalidArgumentError("actor.max_unacked must be >= 1");
  if (options.group_size_hint < 1) return absl::InvalidArgumentError("algorithm.group_size must be >= 1");
  if (options.group_size_hint > options.concurrent_episodes) {
    return absl::InvalidArgumentError(absl::StrCat("algorithm.group_size ", options.group_size_hint,
                                                   " exceeds actor.concurrent_episodes ",
                                                   options.concurrent_episodes, ": a group could never start"));
  }
  policy::SamplingParams probe;
  probe.temperature = options.temperature;
  probe.top_k = options.top_k;
  probe.top_p = options.top_p;
  probe.max_new_tokens = options.max_new_tokens;
  if (absl::Status s = policy::ValidateSamplingParams(probe); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("actor sampling: ", s.message()));
  }
  const int64_t limit = bundle->config.max_position_embeddings;
  if (options.max_context < 0 || options.max_context > limit) {
    return absl::InvalidArgumentError(
        absl::StrCat("actor.max_context ", options.max_context, " outside [0, ", limit, "] (the model's limit)"));
  }
  auto engine = std::unique_ptr<EpisodeEngine>(
      new EpisodeEngine(std::move(options), bundle, source, sink, pool, slot, initial_version, std::move(hooks)));
  policy::GeneratorOptions gen;
  gen.max_batch_size = engine->options_.concurrent_episodes;
  gen.max_seq_len = engine->options_.max_context;
  absl::StatusOr<std::unique_ptr<policy::Generator>> g = policy::Generator::Create(bundle->model, gen);
  if (!g.ok()) return g.status();
  engine->generator_ = std::move(*g);
  return engine;
}

EpisodeEngine::EpisodeEngine(EngineOptions options, policy::PolicyBundle* bundle, TaskSource* source,
                             TrajectorySink* sink, EnvPool* pool, WeightSlot* slot, int64_t initial_version,
                             EngineHooks hooks)
    : options_(std::move(options)),
      bundle_(bundle),
      source_(source),
      sink_(sink),
      pool_(pool),
      slot_(slot),
      hooks_(std::move(hooks)),
      version_(initial_version) {
  // Each live episode has at most one Create or Step in flight, so pushes
  // from gRPC callbacks never wait on a full queue.
  events_owner_ = std::make_unique<BoundedQueue<EnvEvent>>(options_.concurrent_episodes + 64);
  events_ = events_owner_.get();
  const int per_request = options_.groups_per_request > 0
                              ? options_.groups_per_request
                              : (options_.concurrent_episodes + options_.group_size_hint - 1) /
                                    options_.group_size_hint;
  prefetch_groups_ = static_cast<size_t>(std::max(1, per_request));
  stats_.policy_version = initial_version;
}

EpisodeEngine::~EpisodeEngine() {
  {
    absl::MutexLock lock(&fetch_mu_);
    fetch_stop_ = true;
  }
  if (fetcher_.joinable()) fetcher_.join();
  // gRPC callbacks of Close calls reference close_mu_; every call has a deadline.
  absl::MutexLock lock(&close_mu_);
  auto none = [this]() ABSL_SHARED_LOCKS_REQUIRED(close_mu_) { return closes_pending_ == 0; };
  close_mu_.Await(absl::Condition(&none));
}

void EpisodeEngine::Stop() { stop_requested_.store(true); }

EngineStats EpisodeEngine::stats() const {
  absl::MutexLock lock(&stats_mu_);
  return stats_;
}

bool EpisodeEngine::SourceDone() const {
  absl::MutexLock lock(&fetch_mu_);
  // Once max_episodes have started, groups fetched after all are not run.
  return !fetch_wanted_ || (fetched_.empty() && (source_exhausted_ || !fetch_fatal_.ok()));
}

void EpisodeEngine::FetchLoop() {
  auto log = GetLogger("actor");
  absl::Duration backoff = absl::Milliseconds(50);
  const absl::Duration max_backoff = absl::Seconds(2);
  absl::Duration empty_backoff = absl::Milliseconds(10);
  const absl::Duration max_empty_backoff = absl::Milliseconds(200);
  auto wait = [&](absl::Duration d) {
    absl::MutexLock lock(&fetch_mu_);
    auto stop = [this]() ABSL_SHARED_LOCKS_REQUIRED(fetch_mu_) { return fetch_stop_; };
    fetch_mu_.AwaitWithTimeout(absl::Condition(&stop), d);
  };
  int64_t failures = 0;
  while (true) {
    {
      absl::MutexLock lock(&fetch_mu_);
      auto want = [this]() ABSL_SHARED_LOCKS_REQUIRED(fetch_mu_) {
        return fetch_stop_ || (fetch_wanted_ && fetched_.size() < prefetch_groups_);
      };
      fetch_mu_.Await(absl::Condition(&want));
      if (fetch_stop_) return;
    }
    absl::StatusOr<std::vector<TaskGroupSpec>> got = source_->Fetch(static_cast<int>(prefetch_groups_));
    if (got.status().code() == absl::StatusCode::kOutOfRange) {
      absl::MutexLock lock(&fetch_mu_);
      source_exhausted_ = true;
      return;
    }
    if (!got.ok()) {
      if (failures++ % 20 == 0) log->warn("getting tasks failed (retrying): {}", got.status().ToString());
      wait(backoff);
      backoff = std::min(backoff * 2, max_backoff);
      continue;
    }
    if (got->empty()) {
      // Nothing to hand out now (the learner's window of groups ahead of
      // training is full, or the run is paused): ask again soon, since the
      // next training step frees room.
      wait(empty_backoff);
      empty_backoff = std::min(empty_backoff * 2, max_empty_backoff);
      continue;
    }
    empty_backoff = absl::Milliseconds(10);
    backoff = absl::Milliseconds(50);
    failures = 0;
    // Learn each env's action format before its episodes start (ListEnvs
    // blocks, so it happens here rather than on the scheduler thread).
    for (const TaskGroupSpec& g : *got) {
      if (g.members.empty()) continue;
      const EpisodeTask& t = g.members[0];
      while (true) {
        absl::StatusOr<env::v1::EnvInfo> info = pool_->Info(t.env, pool_->Pick(t.env, t.env_server_address));
        if (info.ok()) break;
        if (info.status().code() == absl::StatusCode::kNotFound) {
          absl::MutexLock lock(&fetch_mu_);
          fetch_fatal_ = info.status();
          return;
        }
        if (failures++ % 20 == 0) log->warn("asking env servers about {}: {}", t.env, info.status().ToString());
        wait(backoff);
        backoff = std::min(backoff * 2, max_backoff);
        absl::MutexLock lock(&fetch_mu_);
        if (fetch_stop_) return;
      }
    }
    absl::MutexLock lock(&fetch_mu_);
    for (TaskGroupSpec& g : *got) {
      if (!g.members.empty()) fetched_.push_back(std::move(g));
    }
  }
}

bool EpisodeEngine::WaitingForWeights() {
  if (!options_.latest_version || slot_ == nullptr || options_.latest_version() <= version_) {
    weights_awaited_since_ = absl::InfiniteFuture();
    return false;
  }
  const absl::Time now = absl::Now();
  if (weights_awaited_since_ == absl::InfiniteFuture()) weights_awaited_since_ = now;
  if (now - weights_awaited_since_ < options_.weight_wait) return true;
  // The new weights do not come (learner unreachable?): run on the old ones
  // rather than stand still; the learner judges their staleness.
  return false;
}

void EpisodeEngine::StartPending() {
  if (WaitingForWeights()) return;
  // Round-synchronous: a new batch only once the last one has ended whole.
  if (options_.round_synchronous && !episodes_.empty()) return;
  while (true) {
    if (sink_->Unacked() >= options_.max_unacked) return;  // backpressure
    StartSpec next;
    const int room = options_.concurrent_episodes - static_cast<int>(episodes_.size());
    if (!reruns_.empty()) {
      if (static_cast<int>(reruns_.front().spec.members.size()) > room) return;
      next = std::move(reruns_.front());
      reruns_.pop_front();
    } else {
      if (options_.max_episodes > 0 && started_ >= options_.max_episodes) {
        absl::MutexLock lock(&fetch_mu_);
        fetch_wanted_ = false;
        return;
      }
      absl::MutexLock lock(&fetch_mu_);
      if (fetched_.empty() || static_cast<int>(fetched_.front().members.size()) > room) return;
      next.spec = std::move(fetched_.front());
      fetched_.pop_front();
      started_ += static_cast<int64_t>(next.spec.members.size());
    }
    StartGroup(std::move(next));
  }
}

void EpisodeEngine::StartGroup(StartSpec start) {
  auto g = std::make_unique<GroupRun>();
  g->key = next_group_key_++;
  g->spec = std::move(start.spec);
  g->attempt = start.attempt;
  const size_t n = g->spec.members.size();
  g->results.resize(n);
  g->has_result.assign(n, false);
  // One server for the whole group, so its members' creates go in one batch.
  const EpisodeTask& first = g->spec.members[0];
  const std::string server = pool_->Pick(first.env, first.env_server_address);
  absl::StatusOr<env::EnvClient*> client = pool_->Client(server);
  env::v1::BatchCreateRequest batch;
  std::vector<uint64_t> uids;
  for (size_t i = 0; i < n; ++i) {
    auto ep = std::make_unique<Episode>();
    ep->uid = next_uid_++;
    ep->group = g->key;
    ep->index = static_cast<int>(i);
    ep->task = g->spec.members[i];
    ep->sample_seed = DetRng::Mix(DetRng::Mix(ep->task.seed, i), static_cast<uint64_t>(g->attempt));
    ep->server = server;
    ep->client = client.ok() ? *client : nullptr;
    g->members.push_back(ep->uid);
    uids.push_back(ep->uid);
    env::v1::CreateRequest* item = batch.add_items();
    item->set_env(ep->task.env);
    item->set_task_id(ep->task.task_id);
    item->set_seed(ep->task.seed);
    ep->call_pending = true;
    episodes_[ep->uid] = std::move(ep);
  }
  groups_[g->key] = std::move(g);
  {
    absl::MutexLock lock(&stats_mu_);
    stats_.running = static_cast<int64_t>(episodes_.size());
  }
  if (!client.ok()) {
    for (uint64_t uid : uids) {
      EnvEvent e;
      e.kind = EnvEvent::Kind::kCreated;
      e.episode = uid;
      e.created = absl::UnavailableError(absl::StrCat("no env server for ", first.env, ": ", client.status().message()));
      events_->Push(std::move(e));
    }
    return;
  }
  const absl::Time sent = absl::Now();
  BoundedQueue<EnvEvent>* queue = events_;
  EnvPool* pool = pool_;
  (*client)->BatchCreateAsync(std::move(batch), [queue, pool, server, uids, sent](
                                                    absl::StatusOr<env::v1::BatchCreateResponse> resp) {
    pool->ReportCall(server, resp.status());
    for (size_t i = 0; i < uids.size(); ++i) {
      EnvEvent e;
      e.kind = EnvEvent::Kind::kCreated;
      e.episode = uids[i];
      e.latency = absl::Now() - sent;
      if (!resp.ok()) {
        e.created = resp.status();
      } else if (static_cast<int>(i) >= resp->items_size()) {
        e.created = absl::DataLossError("BatchCreate answered fewer items than asked");
      } else if (resp->items(i).has_error() && resp->items(i).error().code() != 0) {
        e.created = absl::Status(static_cast<absl::StatusCode>(resp->items(i).error().code()),
                                 resp->items(i).error().message());
      } else {
        e.created = resp->items(i).created();
      }
      queue->Push(std::move(e));
    }
  });
}

bool EpisodeEngine::ShouldStep() {
  const bool running = generator_->NumRunning() > 0;
  if (!options_.round_synchronous) return running;
  if (round_open_ && running) return true;
  round_open_ = false;
  if (!running) return false;
  // The next round starts once no live episode waits on its env (a Create
  // or a Step): then every one of them is waiting to generate.
  for (const auto& [uid, ep] : episodes_) {
    if (ep->state == Episode::State::kCreating || ep->state == Episode::State::kStepping) return false;
  }
  round_open_ = true;
  return true;
}

void EpisodeEngine::ApplyPendingWeights() {
  if (slot_ == nullptr) return;
  std::optional<WeightUpdate> update = slot_->Take();
  if (!update.has_value()) return;
  auto log = GetLogger("actor");
  if (update->version <= version_) return;
  absl::Status s = ApplyWeights(*update, bundle_->model);
  if (!s.ok()) {
    log->error("weights of version {} not applied (keeping version {}): {}", update->version, version_,
               s.ToString());
    return;
  }
  version_ = update->version;
  log->info("now generating with policy version {}", version_);
  absl::MutexLock lock(&stats_mu_);
  ++stats_.weight_swaps;
  stats_.policy_version = version_;
}

void EpisodeEngine::ReportLoad(bool force) {
  const absl::Time now = absl::Now();
  if (!force && now - last_report_ < options_.load_interval) return;
  EngineStats snapshot;
  {
    absl::MutexLock lock(&stats_mu_);
    const absl::Duration window = now - last_report_;
    stats_.idle_ratio = window > absl::ZeroDuration() ? std::min(1.0, absl::FDivDuration(idle_since_report_, window)) : 0.0;
    const absl::Duration total = now - started_at_;
    stats_.total_idle_ratio = total > absl::ZeroDuration() ? std::min(1.0, absl::FDivDuration(idle_total_, total)) : 0.0;
    stats_.acked = sink_->Acked();
    stats_.unacked = sink_->Unacked();
    stats_.running = static_cast<int64_t>(episodes_.size());
    snapshot = stats_;
  }
  idle_since_report_ = absl::ZeroDuration();
  last_report_ = now;
  if (hooks_.on_load) hooks_.on_load(snapshot);
}

absl::Status EpisodeEngine::Run() {
  auto log = GetLogger("actor");
  started_at_ = last_report_ = absl::Now();
  fetcher_ = std::thread([this] { FetchLoop(); });
  absl::Time stop_deadline = absl::InfiniteFuture();
  while (true) {
    ApplyPendingWeights();
    // In an open round, replies wait: an episode stepped in this round must
    // not start its next turn until the round is over.
    if (!(options_.round_synchronous && round_open_)) {
      while (std::optional<EnvEvent> e = events_->Pop(absl::ZeroDuration())) HandleEvent(std::move(*e));
    }
    if (fatal_.ok()) {
      absl::MutexLock lock(&fetch_mu_);
      if (!fetch_fatal_.ok()) fatal_ = fetch_fatal_;
    }
    if ((stop_requested_.load() || !fatal_.ok()) && !stopping_) {
      stopping_ = true;
      stop_deadline = absl::Now() + options_.shutdown_grace;
      CancelAll();
    }
    Sweep();
    if (!stopping_) StartPending();
    if (episodes_.empty() && (stopping_ || (reruns_.empty() && SourceDone()))) break;
    if (stopping_ && absl::Now() > stop_deadline) {
      log->warn("{} episodes still wait on env replies after the shutdown grace", episodes_.size());
      break;
    }
    if (ShouldStep()) {
      const absl::Time step_start = absl::Now();
      absl::StatusOr<std::vector<policy::StepEvent>> step = generator_->Step();
      const absl::Duration step_time = absl::Now() - step_start;
      if (!step.ok()) {
        fatal_ = step.status();
        log->error("generation failed: {}", fatal_.ToString());
        continue;  // cancels everything next round
      }
      int64_t sampled = 0;
      for (const policy::StepEvent& ev : *step) {
        ++sampled;
        if (ev.finish_reason == policy::FinishReason::kNone) continue;
        auto it = seq_to_episode_.find(ev.seq_id);
        if (it == seq_to_episode_.end()) continue;
        auto ep = episodes_.find(it->second);
        if (ep != episodes_.end()) OnTurnFinished(*ep->second);
      }
      absl::MutexLock lock(&stats_mu_);
      stats_.tokens_sampled += sampled;
      stats_.generate_seconds += absl::ToDoubleSeconds(step_time);
    } else {
      // Nothing to generate: wait for an env reply (or for new work).
      const absl::Time t0 = absl::Now();
      std::optional<EnvEvent> e = events_->Pop(absl::Milliseconds(5));
      const absl::Duration idle = absl::Now() - t0;
      idle_total_ += idle;
      idle_since_report_ += idle;
      if (e.has_value()) HandleEvent(std::move(*e));
    }
    ReportLoad(false);
  }
  ReportLoad(true);
  {
    absl::MutexLock lock(&fetch_mu_);
    fetch_stop_ = true;
  }
  if (fetcher_.joinable()) fetcher_.join();
  {
    absl::MutexLock lock(&close_mu_);
    auto none = [this]() ABSL_SHARED_LOCKS_REQUIRED(close_mu_) { return closes_pending_ == 0; };
    close_mu_.AwaitWithTimeout(absl::Condition(&none), options_.shutdown_grace);
  }
  // Episodes whose env call did not come back within the grace still hold
  // gRPC callbacks into events_; they complete within the env deadline.
  while (true) {
    Sweep();
    if (episodes_.empty()) break;
    std::optional<EnvEvent> e = events_->Pop(absl::Seconds(1));
    if (!e.has_value()) continue;
    HandleEvent(std::move(*e));
  }
  return fatal_;
}

}  // namespace agentgym::actor
