#include "actor/episode_engine.h"

#include <atomic>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "actor/testing/test_support.h"
#include "env_server/environment.h"
#include "env_server/testing/counter_env.h"
#include "policy/checkpoint.h"
#include "policy/scoring.h"

namespace agentgym::actor {
namespace {

using testing::CounterGroups;
using testing::CounterTexts;
using testing::FixedTaskSource;
using testing::MakeTestPolicy;
using testing::StartCounterServer;

struct Rig {
  std::unique_ptr<env::EnvServer> server;
  policy::PolicyBundle bundle;
  std::unique_ptr<EnvPool> pool;
  InProcessSink sink;

  explicit Rig(uint64_t seed = 1) {
    auto s = StartCounterServer();
    EXPECT_TRUE(s.ok()) << s.status();
    server = std::move(*s);
    bundle = MakeTestPolicy(CounterTexts(), seed);
    EnvPoolOptions po;
    po.timeout = absl::Seconds(10);
    pool = std::make_unique<EnvPool>(po);
  }
  std::string address() const { return server->address(); }
};

EngineOptions SmallOptions(int concurrent = 8) {
  EngineOptions o;
  o.actor_id = "test-actor";
  o.concurrent_episodes = concurrent;
  o.max_new_tokens = 8;
  o.temperature = 1.0f;
  return o;
}

std::vector<int32_t> Span(const tpb::Trajectory& t, int begin, int end) {
  return std::vector<int32_t>(t.token_ids().begin() + begin, t.token_ids().begin() + end);
}

std::vector<tpb::Trajectory> RunToEnd(Rig& rig, TaskSource& source, EngineOptions options,
                                      WeightSlot* slot = nullptr, EngineStats* stats = nullptr) {
  auto engine = EpisodeEngine::Create(options, &rig.bundle, &source, &rig.sink, rig.pool.get(), slot, 0);
  EXPECT_TRUE(engine.ok()) << engine.status();
  if (!engine.ok()) return {};
  absl::Status s = (*engine)->Run();
  EXPECT_TRUE(s.ok()) << s;
  if (stats != nullptr) *stats = (*engine)->stats();
  return rig.sink.Take();
}

TEST(EpisodeEngineTest, EpisodesCompleteWithExactTokensMasksAndReplayableActions) {
  Rig rig;
  FixedTaskSource source(CounterGroups(6, 1, rig.address()));
  EngineOptions o = SmallOptions(4);
  o.horizon = [](const std::string&) { return 4; };
  EngineStats stats;
  std::vector<tpb::Trajectory> out = RunToEnd(rig, source, o, nullptr, &stats);
  ASSERT_EQ(out.size(), 6u);
  EXPECT_EQ(stats.produced, 6);
  EXPECT_EQ(stats.sent, 6);
  EXPECT_EQ(stats.env_error, 0);
  EXPECT_EQ(source.finished().size(), 6u);
  const int32_t eot = rig.bundle.chat->end_of_turn_id();
  auto client = rig.pool->Client(rig.address());
  ASSERT_TRUE(client.ok());
  std::set<std::string> ids;
  int multi_turn = 0;
  for (const tpb::Trajectory& t : out) {
    ids.insert(t.trajectory_id());
    EXPECT_TRUE(absl::StartsWith(t.trajectory_id(), "test-actor/"));
    ASSERT_EQ(t.loss_mask().size(), static_cast<size_t>(t.token_ids_size()));
    ASSERT_EQ(t.behaviour_logprobs_size(), t.token_ids_size());
    ASSERT_GE(t.turns_size(), 1);
    EXPECT_LE(t.turns_size(), 4);
    EXPECT_EQ(t.max_turns(), 4);
    multi_turn += t.turns_size() > 1;
    // The prompt: system turn with the action format, user turn with the
    // instruction and first observation, then the generation header.
    auto prompt = rig.bundle.tokenizer->Decode(Span(t, 0, t.prompt_length()));
    ASSERT_TRUE(prompt.ok());
    EXPECT_NE(prompt->find("Action format: inc | dec"), std::string::npos) << *prompt;
    EXPECT_NE(prompt->find("reach "), std::string::npos);
    EXPECT_NE(prompt->find("value 0"), std::string::npos);
    EXPECT_TRUE(absl::EndsWith(*prompt, "<|im_start|>assistant\n")) << *prompt;
    EXPECT_EQ(t.turns(0).agent_begin(), t.prompt_length());
    // Masks are 1 exactly on the agent spans; spans tile the trajectory.
    std::vector<char> want_mask(t.token_ids_size(), 0);
    int at = t.prompt_length();
    for (const tpb::Turn& turn : t.turns()) {
      EXPECT_EQ(turn.agent_begin(), at);
      EXPECT_GT(turn.agent_end(), turn.agent_begin());
      EXPECT_EQ(turn.env_begin(), turn.agent_end());
      for (int i = turn.agent_begin(); i < turn.agent_end(); ++i) want_mask[i] = 1;
      at = turn.env_end();
      EXPECT_EQ(turn.policy_version(), 0);
    }
    EXPECT_EQ(at, t.token_ids_size());
    for (int i = 0; i < t.token_ids_size(); ++i) {
      EXPECT_EQ(t.loss_mask()[i], want_mask[i]) << i;
      if (!want_mask[i]) EXPECT_EQ(t.behaviour_logprobs(i), 0.0f);
      if (want_mask[i]) EXPECT_LE(t.behaviour_logprobs(i), 0.0f);
    }
    // Replay the decoded actions on a fresh session of the same task and
    // seed: the env must answer exactly what the trajectory recorded, and
    // each env span must be that observation as the next user turn.
    env::v1::CreateRequest create;
    create.set_env("counter");
    create.set_task_id(t.task_id());
    create.set_seed(t.seed());
    auto session = (*client)->Create(create);
    ASSERT_TRUE(session.ok()) << session.status();
    double reward = 0;
    for (int k = 0; k < t.turns_size(); ++k) {
      const tpb::Turn& turn = t.turns(k);
      const bool last = k + 1 == t.turns_size();
      // A turn cut at max_new_tokens is sent as it is (step_truncated_turns).
      const bool ended_turn = t.token_ids(turn.agent_end() - 1) == eot;
      auto action = rig.bundle.tokenizer->Decode(
          Span(t, turn.agent_begin(), turn.agent_end() - (ended_turn ? 1 : 0)));
      ASSERT_TRUE(action.ok());
      auto step = (*client)->Step(session->session_id(), SanitizeUtf8(*action));
      ASSERT_TRUE(step.ok()) << step.status();
      EXPECT_EQ(step->reward(), turn.reward());
      EXPECT_EQ(step->action_valid(), turn.action_valid());
      EXPECT_EQ(step->done(), turn.done());
      reward += step->reward();
      if (last) {
        EXPECT_EQ(turn.env_begin(), turn.env_end());
        EXPECT_EQ(step->success(), t.success());
        if (step->done()) {
          EXPECT_EQ(t.end_reason(), tpb::END_REASON_DONE);
        } else if (step->truncated()) {
          EXPECT_EQ(t.end_reason(), tpb::END_REASON_TRUNCATED);
        } else {
          EXPECT_EQ(t.end_reason(), tpb::END_REASON_HORIZON);
        }
      } else {
        auto next = rig.bundle.chat->AppendTurn({"user", step->observation()}, true);
        ASSERT_TRUE(next.ok());
        // The template closes a truncated turn before the observation.
        if (!ended_turn) next->ids.insert(next->ids.begin(), eot);
        EXPECT_EQ(Span(t, turn.env_begin(), turn.env_end()), next->ids);
      }
    }
    EXPECT_DOUBLE_EQ(t.final_reward(), reward);
    (void)(*client)->Close(session->session_id());
  }
  EXPECT_EQ(ids.size(), 6u);
  EXPECT_GT(multi_turn, 0) << "the test policy should produce multi-turn episodes";
}

// Turns cut at max_new_tokens: sent to the env and closed by the template
// (masked end of turn) by default; with step_truncated_turns off they end
// the episode as token_budget.
TEST(EpisodeEngineTest, TruncatedTurnsAreSteppedOrEndTheEpisode) {
  for (const bool step_truncated : {true, false}) {
    SCOPED_TRACE(step_truncated ? "step_truncated_turns" : "end at the budget");
    Rig rig;
    FixedTaskSource source(CounterGroups(8, 1, rig.address()));
    EngineOptions o = SmallOptions(8);
    o.max_new_tokens = 1;  // every turn that is not a bare end of turn is cut
    o.step_truncated_turns = step_truncated;
    o.horizon = [](const std::string&) { return 3; };
    const int32_t eot = rig.bundle.chat->end_of_turn_id();
    int cut_then_stepped = 0, budget_ends = 0;
    for (const tpb::Trajectory& t : RunToEnd(rig, source, o)) {
      for (int k = 0; k < t.turns_size(); ++k) {
        const tpb::Turn& turn = t.turns(k);
        if (t.token_ids(turn.agent_end() - 1) == eot) continue;
        if (k + 1 < t.turns_size()) {
          ++cut_then_stepped;
          EXPECT_EQ(t.token_ids(turn.env_begin()), eot);
          EXPECT_EQ(t.loss_mask()[turn.env_begin()], 0);
        }
      }
      budget_ends += t.end_reason() == tpb::END_REASON_TOKEN_BUDGET;
    }
    if (step_truncated) {
      EXPECT_GT(cut_then_stepped, 0);
      EXPECT_EQ(budget_ends, 0);
    } else {
      EXPECT_EQ(cut_then_stepped, 0);
      EXPECT_GT(budget_ends, 0);
    }
  }
}

// A model directory saying state_action_format: false (a policy trained
// from scratch) gets prompts without the action format; the option wins.
TEST(EpisodeEngineTest, ThePromptStatesTheActionFormatAsTheModelDirSays) {
  for (const std::optional<bool> option : {std::optional<bool>(), std::optional<bool>(true)}) {
    Rig rig;
    rig.bundle.state_action_format = false;
    FixedTaskSource source(CounterGroups(2, 1, rig.address()));
    EngineOptions o = SmallOptions(2);
    o.state_action_format = option;
    o.horizon = [](const std::string&) { return 1; };
    for (const tpb::Trajectory& t : RunToEnd(rig, source, o)) {
      auto prompt = rig.bundle.tokenizer->Decode(Span(t, 0, t.prompt_length()));
      ASSERT_TRUE(prompt.ok());
      EXPECT_EQ(prompt->find("Action format") != std::string::npos, option.value_or(false)) << *prompt;
      EXPECT_NE(prompt->find("value 0"), std::string::npos);
    }
  }
}

TEST(EpisodeEngineTest, BehaviourLogprobsEqualRescoring) {
  Rig rig;
  FixedTaskSource source(CounterGroups(4, 1, rig.address()));
  EngineOptions o = SmallOptions(4);
  o.temperature = 0.7f;
  o.top_k = 50;
  o.horizon = [](const std::string&) { return 3; };
  std::vector<tpb::Trajectory> out = RunToEnd(rig, source, o);
  ASSERT_EQ(out.size(), 4u);
  policy::ScoreOptions so;
  so.temperature = 0.7f;
  so.top_k = 50;
  so.compute_entropy = false;
  int checked = 0;
  for (const tpb::Trajectory& t : out) {
    std::vector<int64_t> ids(t.token_ids().begin(), t.token_ids().end());
    torch::Tensor tokens = torch::tensor(ids, torch::kLong).view({1, -1});
    torch::Tensor valid = torch::ones_like(tokens, torch::kBool);
    torch::NoGradGuard no_grad;
    auto scored = policy::ScoreTokens(rig.bundle.model, tokens, valid, so);
    ASSERT_TRUE(scored.ok()) << scored.status();
    auto lp = scored->logprobs[0];
    for (int i = 0; i < t.token_ids_size(); ++i) {
      if (t.loss_mask()[i] != 1) continue;
      EXPECT_NEAR(t.behaviour_logprobs(i), lp[i].item<float>(), 2e-4) << t.trajectory_id() << " token " << i;
      ++checked;
    }
  }
  EXPECT_GT(checked, 8);
}

TEST(EpisodeEngineTest, HorizonChangeReachesNewEpisodesOnly) {
  Rig rig;
  // Two groups first, then (after the gate) two more.
  FixedTaskSource source(CounterGroups(4, 1, rig.address()), /*gate_after=*/2);
  std::atomic<int> horizon{1};
  EngineOptions o = SmallOptions(2);
  o.horizon = [&](const std::string& env) { return env == "counter" ? horizon.load() : 0; };
  auto engine = EpisodeEngine::Create(o, &rig.bundle, &source, &rig.sink, rig.pool.get(), nullptr, 0);
  ASSERT_TRUE(engine.ok()) << engine.status();
  std::thread runner([&] { EXPECT_TRUE((*engine)->Run().ok()); });
  ASSERT_TRUE(rig.sink.WaitForCount(2, absl::Seconds(60)));
  horizon.store(3);
  source.gate().Notify();
  runner.join();
  std::vector<tpb::Trajectory> out = rig.sink.Take();
  ASSERT_EQ(out.size(), 4u);
  std::map<std::string, int> max_turns;
  for (const tpb::Trajectory& t : out) {
    max_turns[t.group_id()] = t.max_turns();
    EXPECT_LE(t.turns_size(), t.max_turns());
  }
  EXPECT_EQ(max_turns["g0"], 1);
  EXPECT_EQ(max_turns["g1"], 1);
  EXPECT_EQ(max_turns["g2"], 3);
  EXPECT_EQ(max_turns["g3"], 3);
}

TEST(EpisodeEngineTest, GroupsCarryIdsAndSharedPrefixMatchesUnshared) {
  std::map<std::pair<std::string, int>, std::vector<int32_t>> tokens[2];
  for (int shared = 0; shared < 2; ++shared) {
    Rig rig;
    FixedTaskSource source(CounterGroups(2, 4, rig.address()));
    EngineOptions o = SmallOptions(8);
    o.share_prefix = shared == 1;
    o.horizon = [](const std::string&) { return 3; };
    std::vector<tpb::Trajectory> out = RunToEnd(rig, source, o);
    ASSERT_EQ(out.size(), 8u);
    std::map<std::string, std::set<int>> members;
    std::set<uint64_t> seeds;
    for (const tpb::Trajectory& t : out) {
      EXPECT_EQ(t.group_size(), 4);
      EXPECT_EQ(t.group_attempt(), 0);
      members[t.group_id()].insert(t.group_index());
      seeds.insert(t.sampling().seed());
      tokens[shared][{t.group_id(), t.group_index()}] = {t.token_ids().begin(), t.token_ids().end()};
    }
    EXPECT_EQ(members["g0"], (std::set<int>{0, 1, 2, 3}));
    EXPECT_EQ(members["g1"], (std::set<int>{0, 1, 2, 3}));
    EXPECT_EQ(seeds.size(), 8u) << "each member samples with its own seed";
  }
  EXPECT_EQ(tokens[0], tokens[1]);
}

TEST(EpisodeEngineTest, WeightSwapMidEpisodeIsRecordedPerTurn) {
  // The update lands right after the first turn started (the horizon hook
  // runs when an episode's first turn is set up). Seeds are tried until an
  // episode has a second turn (a first turn may end on the token budget).
  std::vector<tpb::Trajectory> out;
  for (uint64_t seed = 7; seed < 40 && (out.empty() || out[0].turns_size() < 2); ++seed) {
    Rig rig;
    WeightSlot slot;
    WeightUpdate update;
    update.version = 7;
    for (auto& [name, t] : policy::NamedWeights(rig.bundle.model)) update.tensors[name] = t.detach().clone();
    update.tensors.at("lm_head.weight").add_(0.01);
    EngineOptions o = SmallOptions(1);
    o.horizon = [&](const std::string&) {
      slot.Offer(update);
      return 4;
    };
    FixedTaskSource source(CounterGroups(1, 1, rig.address(), seed));
    out = RunToEnd(rig, source, o, &slot);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(torch::equal(policy::NamedWeights(rig.bundle.model).at("lm_head.weight"),
                             update.tensors.at("lm_head.weight")));
  }
  ASSERT_GE(out[0].turns_size(), 2);
  EXPECT_EQ(out[0].turns(0).policy_version(), 0);
  for (int k = 1; k < out[0].turns_size(); ++k) EXPECT_EQ(out[0].turns(k).policy_version(), 7) << k;
}

// An address where no server listens any more.
std::string DeadAddress() {
  auto s = StartCounterServer();
  EXPECT_TRUE(s.ok());
  std::string address = (*s)->address();
  (*s)->Shutdown(absl::ZeroDuration());
  return address;
}

TEST(EpisodeEngineTest, EnvErrorRerunsGroupOnAnotherServer) {
  Rig rig;
  const std::string dead = DeadAddress();
  EnvPoolOptions po;
  po.timeout = absl::Milliseconds(500);
  rig.pool = std::make_unique<EnvPool>(po);
  // The env is known (from the live server); its tasks suggest the dead one.
  ASSERT_TRUE(rig.pool->Info("counter", rig.address()).ok());
  FixedTaskSource source(CounterGroups(1, 2, dead));
  EngineOptions o = SmallOptions(4);
  o.horizon = [](const std::string&) { return 2; };
  EngineStats stats;
  std::vector<tpb::Trajectory> out = RunToEnd(rig, source, o, nullptr, &stats);
  int env_errors = 0, good = 0;
  for (const tpb::Trajectory& t : out) {
    if (t.end_reason() == tpb::END_REASON_ENV_ERROR) {
      ++env_errors;
      EXPECT_EQ(t.group_attempt(), 0);
      EXPECT_NE(t.end_detail().find(dead), std::string::npos) << t.end_detail();
    } else {
      ++good;
      EXPECT_EQ(t.group_attempt(), 1);
      EXPECT_EQ(t.group_id(), "g0");
    }
  }
  EXPECT_EQ(env_errors, 1);
  EXPECT_EQ(good, 2);
  EXPECT_EQ(stats.groups_rerun, 1);
  EXPECT_EQ(stats.groups_completed, 1);
  EXPECT_EQ(stats.env_error, 1);
  EXPECT_EQ(stats.dropped, 1);
  EXPECT_EQ(stats.sent, 3);
  EXPECT_EQ(stats.produced, 4);
  EXPECT_EQ(source.finished(), std::vector<std::string>{"g0"});
  bool used_live = false;
  for (const EnvPool::Usage& u : rig.pool->usage()) used_live = used_live || (u.address == rig.address());
  EXPECT_TRUE(used_live);
}

TEST(EpisodeEngineTest, GroupIsDroppedAfterItsRetries) {
  Rig rig;
  const std::string dead = DeadAddress();
  EnvPoolOptions po;
  po.timeout = absl::Milliseconds(300);
  rig.pool = std::make_unique<EnvPool>(po);
  ASSERT_TRUE(rig.pool->Info("counter", rig.address()).ok());
  rig.server->Shutdown(absl::ZeroDuration());  // now every server is gone
  FixedTaskSource source(CounterGroups(1, 2, dead));
  EngineOptions o = SmallOptions(4);
  o.group_retries = 1;
  EngineStats stats;
  std::vector<tpb::Trajectory> out = RunToEnd(rig, source, o, nullptr, &stats);
  ASSERT_EQ(out.size(), 2u);  // the env_error member of each attempt
  EXPECT_EQ(out[0].end_reason(), tpb::END_REASON_ENV_ERROR);
  EXPECT_EQ(out[1].end_reason(), tpb::END_REASON_ENV_ERROR);
  EXPECT_EQ(stats.groups_dropped, 1);
  EXPECT_EQ(stats.groups_completed, 0);
  EXPECT_EQ(stats.dropped, 2);
  EXPECT_EQ(stats.env_error, 2);
  EXPECT_EQ(stats.produced, 4);
  EXPECT_EQ(source.finished(), std::vector<std::string>{"g0"});
}

// Group sizes 1 and 3: a stop leaves incomplete groups, whose members
// (finished or cancelled) are all counted dropped, so produced = sent +
// dropped, as the run's accounting identity needs.
class StopTest : public ::testing::TestWithParam<int> {};

TEST_P(StopTest, CancelsRunningEpisodesWithoutSendingThem) {
  Rig rig;
  FixedTaskSource source(CounterGroups(50, GetParam(), rig.address()));
  EngineOptions o = SmallOptions(4);
  o.horizon = [](const std::string&) { return 8; };
  auto engine = EpisodeEngine::Create(o, &rig.bundle, &source, &rig.sink, rig.pool.get(), nullptr, 0);
  ASSERT_TRUE(engine.ok());
  std::thread runner([&] { EXPECT_TRUE((*engine)->Run().ok()); });
  ASSERT_TRUE(rig.sink.WaitForCount(2, absl::Seconds(60)));
  (*engine)->Stop();
  runner.join();
  EngineStats st = (*engine)->stats();
  EXPECT_LT(st.sent, 50);
  EXPECT_EQ(st.sent, static_cast<int64_t>(rig.sink.Snapshot().size()));
  EXPECT_EQ(st.produced, st.sent + st.dropped);
  EXPECT_LE(st.cancelled, st.dropped);
  EXPECT_EQ(st.sent % GetParam(), 0);  // whole groups only
  for (const tpb::Trajectory& t : rig.sink.Snapshot()) EXPECT_NE(t.end_reason(), tpb::END_REASON_CANCELLED);
}

INSTANTIATE_TEST_SUITE_P(GroupSizes, StopTest, ::testing::Values(1, 3));

TEST(EpisodeEngineTest, BackpressureStartsNothingWhileSinkIsFull) {
  // A sink that never acks: at max_unacked the engine stops starting
  // episodes; Stop then ends the run.
  class NeverAcks : public TrajectorySink {
   public:
    absl::Status Send(tpb::Trajectory) override {
      absl::MutexLock lock(&mu_);
      ++n_;
      return absl::OkStatus();
    }
    int64_t Unacked() const override {
      absl::MutexLock lock(&mu_);
      return n_;
    }
    int64_t Acked() const override { return 0; }
    bool WaitFor(int64_t n) {
      absl::MutexLock lock(&mu_);
      auto c = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return n_ >= n; };
      return mu_.AwaitWithTimeout(absl::Condition(&c), absl::Seconds(60));
    }
    mutable absl::Mutex mu_;
    int64_t n_ ABSL_GUARDED_BY(mu_) = 0;
  } sink;
  Rig rig;
  FixedTaskSource source(CounterGroups(40, 1, rig.address()));
  EngineOptions o = SmallOptions(2);
  o.max_unacked = 3;
  o.horizon = [](const std::string&) { return 1; };
  o.load_interval = absl::Milliseconds(5);
  absl::Mutex mu;
  int reports = 0;
  EngineHooks hooks;
  hooks.on_load = [&](const EngineStats&) {
    absl::MutexLock lock(&mu);
    ++reports;
  };
  auto engine = EpisodeEngine::Create(o, &rig.bundle, &source, &sink, rig.pool.get(), nullptr, 0, hooks);
  ASSERT_TRUE(engine.ok());
  std::thread runner([&] { EXPECT_TRUE((*engine)->Run().ok()); });
  ASSERT_TRUE(sink.WaitFor(3));
  // Let the scheduler loop go round many more times: with 3 unacked it may
  // only finish the (at most 2) episodes that had already started.
  {
    absl::MutexLock lock(&mu);
    const int target = reports + 40;
    auto enough = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu) { return reports >= target; };
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(60)));
  }
  (*engine)->Stop();
  runner.join();
  EXPECT_LE(sink.Unacked(), 3 + 2);
  EXPECT_LT((*engine)->stats().produced, 40);
}

// The env side of round-synchronous rollout: counts, as each Step arrives,
// the steps that overtake a live episode, i.e. an episode taking step k+1
// while another live one has taken only k (its reply of the round still
// out). Round-synchronous rollout never does this; a continuous engine with
// jittered env latency does all the time. Thread-safe.
class RoundLog {
 public:
  int Open() {
    absl::MutexLock lock(&mu_);
    steps_.push_back(0);
    live_.push_back(true);
    return static_cast<int>(steps_.size()) - 1;
  }
  void Step(int ep) {
    absl::MutexLock lock(&mu_);
    for (size_t b = 0; b < steps_.size(); ++b) {
      if (live_[b] && steps_[b] < steps_[ep]) ++overtaking_;
    }
    ++steps_[ep];
    ++total_;
  }
  void End(int ep) {
    absl::MutexLock lock(&mu_);
    live_[ep] = false;
  }
  int overtaking() const {
    absl::MutexLock lock(&mu_);
    return overtaking_;
  }
  int total_steps() const {
    absl::MutexLock lock(&mu_);
    return total_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<int> steps_ ABSL_GUARDED_BY(mu_);
  std::vector<bool> live_ ABSL_GUARDED_BY(mu_);  // until done, truncated or closed
  int overtaking_ ABSL_GUARDED_BY(mu_) = 0;
  int total_ ABSL_GUARDED_BY(mu_) = 0;
};

// The counter env, reporting its episodes' steps and ends to a RoundLog.
class LoggedCounterEnv : public env::Environment {
 public:
  explicit LoggedCounterEnv(RoundLog* log) : inner_(env::testing::MakeCounterEnv()), log_(log) {}
  const env::EnvDescription& Describe() const override { return inner_->Describe(); }
  absl::StatusOr<std::unique_ptr<env::Episode>> NewEpisode(const env::TaskKey& key, uint64_t seed,
                                                           env::EpisodeStart* start) const override {
    absl::StatusOr<std::unique_ptr<env::Episode>> ep = inner_->NewEpisode(key, seed, start);
    if (!ep.ok()) return ep.status();
    return std::unique_ptr<env::Episode>(new Logged(std::move(*ep), log_));
  }

 private:
  class Logged : public env::Episode {
   public:
    Logged(std::unique_ptr<env::Episode> inner, RoundLog* log)
        : inner_(std::move(inner)), log_(log), id_(log->Open()) {}
    ~Logged() override { log_->End(id_); }  // the session was closed
    absl::StatusOr<env::StepOutcome> Step(std::string_view action) override {
      log_->Step(id_);
      absl::StatusOr<env::StepOutcome> out = inner_->Step(action);
      if (out.ok() && (out->done || out->truncated)) log_->End(id_);
      return out;
    }

   private:
    std::unique_ptr<env::Episode> inner_;
    RoundLog* const log_;
    const int id_;
  };
  std::unique_ptr<env::Environment> inner_;
  RoundLog* const log_;
};

TEST(EpisodeEngineTest, RoundSynchronousTurnsWaitForEveryEnvReplyOfTheRound) {
  RoundLog log;
  std::map<std::string, std::unique_ptr<env::Environment>> envs;
  envs["counter"] = std::make_unique<LoggedCounterEnv>(&log);
  env::EnvServerOptions so;
  so.grpc_api = env::EnvServerOptions::GrpcApi::kCallback;  // delayed replies overlap
  so.service.faults.delay_min = absl::Milliseconds(1);
  so.service.faults.delay_max = absl::Milliseconds(20);
  auto server = env::EnvServer::StartWithEnvs(so, std::move(envs));
  ASSERT_TRUE(server.ok()) << server.status();
  policy::PolicyBundle bundle = MakeTestPolicy(CounterTexts());
  EnvPool pool(EnvPoolOptions{});
  InProcessSink sink;
  FixedTaskSource source(CounterGroups(24, 1, (*server)->address()));
  EngineOptions o = SmallOptions(8);
  o.round_synchronous = true;
  o.horizon = [](const std::string&) { return 4; };
  auto engine = EpisodeEngine::Create(o, &bundle, &source, &sink, &pool, nullptr, 0);
  ASSERT_TRUE(engine.ok()) << engine.status();
  ASSERT_TRUE((*engine)->Run().ok());
  const EngineStats stats = (*engine)->stats();
  EXPECT_EQ(sink.Take().size(), 24u);
  EXPECT_EQ(stats.produced, 24);
  EXPECT_EQ(stats.sent, 24);
  EXPECT_EQ(stats.env_error, 0);
  EXPECT_GT(log.total_steps(), 24) << "multi-turn episodes, or the check below says nothing";
  EXPECT_EQ(log.overtaking(), 0);
}

}  // namespace
}  // namespace agentgym::actor
