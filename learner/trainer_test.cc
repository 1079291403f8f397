// The trainer on fixed batches: a step lowers the loss for every algorithm,
// two Gloo ranks equal one rank on the union batch, and a resumed trainer
// reproduces the next steps exactly.
#include "learner/trainer.h"

#include <filesystem>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "learner/comm/gloo_communicator.h"
#include "learner/learner_checkpoint.h"
#include "learner/testing/synthetic.h"
#include "policy/checkpoint.h"
#include "policy/test_util.h"
#include "scheduler/testing/closed_port.h"

namespace agentgym::learner {
namespace {

using testing::MakeGroup;
using testing::Shape;
using trajectory::v1::Trajectory;

policy::CausalLm Model(bool value_head = false, uint64_t seed = 3) {
  auto m = policy::CreateModel(policy::testing::SmallConfig(/*tied=*/false, value_head), torch::kCPU,
                               torch::kFloat32, seed);
  EXPECT_TRUE(m.ok()) << m.status();
  return *m;
}

LearnerOptions Options(const std::string& algorithm, int group_size = 4) {
  LearnerOptions o;
  o.model.preset = "test";
  o.algorithm.name = algorithm;
  o.algorithm.group_size = group_size;
  o.train.groups_per_step = 2;
  o.train.buffer_capacity = 64;
  return o;
}

// Groups with mixed rewards and different lengths, scored by `model`.
std::vector<Trajectory> FixedBatch(policy::CausalLm& model, int groups, int group_size, uint64_t seed) {
  std::vector<Trajectory> out;
  for (int g = 0; g < groups; ++g) {
    std::vector<double> rewards;
    for (int i = 0; i < group_size; ++i) rewards.push_back((i + g) % 3 == 0 ? 1.0 : 0.0);
    Shape shape;
    shape.agent_tokens = 2 + g % 3;
    shape.turns = 1 + g % 2;
    auto members = MakeGroup("g" + std::to_string(g), 61, seed + g, rewards, shape);
    for (auto& t : members) {
      testing::ScoreWithModel(model, &t);
      out.push_back(std::move(t));
    }
  }
  return out;
}

class StepLowersLossTest : public ::testing::TestWithParam<std::string> {};

TEST_P(StepLowersLossTest, OnAFixedBatch) {
  const std::string algo = GetParam();
  LearnerOptions o = Options(algo);
  std::optional<policy::CausalLm> reference;
  if (algo == "reinforce_pp") {
    o.algorithm.kl_coef = 0.05;
    reference = Model();
  }
  if (algo == "grpo") o.algorithm.off_policy = "decoupled";
  auto model = Model(/*value_head=*/algo == "ppo");
  auto batch = FixedBatch(model, 2, 4, 10);
  auto comm = MakeLocalCommunicator();
  auto trainer = Trainer::Create(model, std::move(reference), o, comm.get());
  ASSERT_TRUE(trainer.ok()) << trainer.status();
  std::vector<double> losses;
  for (int step = 0; step < 6; ++step) {
    auto m = (*trainer)->Step(batch, step);
    ASSERT_TRUE(m.ok()) << m.status();
    ASSERT_TRUE(std::isfinite(m->at("loss")));
    // Later steps may clip every token's ratio (zero gradient); the first cannot.
    if (step == 0) EXPECT_GT(m->at("grad_norm"), 0.0);
    losses.push_back(m->at("loss"));
  }
  EXPECT_LT(losses.back(), losses.front() - 1e-3) << algo;
}

INSTANTIATE_TEST_SUITE_P(Algorithms, StepLowersLossTest,
                         ::testing::Values("grpo", "rloo", "reinforce_pp", "ppo"));

TEST(TrainerTest, ReportsBatchStatistics) {
  auto model = Model();
  auto batch = FixedBatch(model, 2, 4, 10);
  auto comm = MakeLocalCommunicator();
  auto trainer = Trainer::Create(model, std::nullopt, Options("grpo"), comm.get());
  ASSERT_TRUE(trainer.ok());
  auto m = (*trainer)->Step(batch, 0);
  ASSERT_TRUE(m.ok()) << m.status();
  double reward = 0, success = 0;
  for (const auto& t : batch) {
    reward += t.final_reward();
    success += t.success();
  }
  EXPECT_NEAR(m->at("reward_mean"), reward / batch.size(), 1e-6);
  EXPECT_NEAR(m->at("success_rate"), success / batch.size(), 1e-6);
  EXPECT_EQ(m->at("sequences"), 8);
  EXPECT_GT(m->at("entropy"), 0.0);
}

TEST(TrainerTest, CriticWarmupTrainsOnlyTheValueHeadAtFirst) {
  LearnerOptions o = Options("ppo");
  o.algorithm.critic_warmup_steps = 1;
  o.algorithm.entropy_coef = 0.01;
  auto model = Model(/*value_head=*/true);
  auto batch = FixedBatch(model, 2, 4, 10);
  auto comm = MakeLocalCommunicator();
  auto trainer = Trainer::Create(model, std::nullopt, o, comm.get());
  ASSERT_TRUE(trainer.ok()) << trainer.status();
  const torch::Tensor head = model->HeadWeight().detach().clone();
  const torch::Tensor value = model->value_head->weight.detach().clone();
  // Step 0 is warm-up: the LM head (reached only by the policy, entropy and
  // KL terms) stays put while the value head learns.
  ASSERT_TRUE((*trainer)->Step(batch, 0).ok());
  EXPECT_TRUE(torch::equal(model->HeadWeight(), head));
  EXPECT_FALSE(torch::equal(model->value_head->weight, value));
  // Step 1 trains the policy.
  ASSERT_TRUE((*trainer)->Step(batch, 1).ok());
  EXPECT_FALSE(torch::equal(model->HeadWeight(), head));
}

double MaxDiff(policy::CausalLm& a, policy::CausalLm& b) {
  auto pa = a->parameters();
  auto pb = b->parameters();
  double worst = 0;
  for (size_t i = 0; i < pa.size(); ++i) worst = std::max(worst, (pa[i] - pb[i]).abs().max().item<double>());
  return worst;
}

TEST(TrainerTest, TwoGlooRanksEqualOneRankOnTheUnionBatch) {
  LearnerOptions o = Options("grpo", 2);
  o.train.groups_per_step = 4;
  auto scorer = Model();
  auto batch = FixedBatch(scorer, 4, 2, 20);
  // One rank, whole batch, one forward per step.
  auto single_comm = MakeLocalCommunicator();
  auto single = Trainer::Create(Model(), std::nullopt, o, single_comm.get());
  ASSERT_TRUE(single.ok());
  std::vector<double> single_loss;
  for (int step = 0; step < 2; ++step) {
    auto m = (*single)->Step(batch, step);
    ASSERT_TRUE(m.ok()) << m.status();
    single_loss.push_back(m->at("loss"));
  }
  // Two ranks (threads with their own process groups), groups round-robin,
  // and small micro-batches so gradient accumulation is exercised too.
  GlooOptions g0;
  g0.rendezvous = "127.0.0.1:0";
  g0.world_size = 2;
  g0.store_timeout = absl::Seconds(20);
  g0.collective_timeout = absl::Seconds(20);
  auto c0 = GlooCommunicator::Create(g0);
  ASSERT_TRUE(c0.ok()) << c0.status();
  GlooOptions g1 = g0;
  g1.rank = 1;
  g1.rendezvous = (*c0)->store_address();
  std::vector<std::unique_ptr<Trainer>> trainers(2);
  std::vector<std::vector<double>> losses(2);
  std::vector<absl::Status> errors(2);
  LearnerOptions dp = o;
  dp.train.micro_batch_tokens = 24;
  auto run_rank = [&](int rank, Communicator* comm) {
    auto t = Trainer::Create(Model(), std::nullopt, dp, comm);
    if (!t.ok()) {
      errors[rank] = t.status();
      return;
    }
    trainers[rank] = *std::move(t);
    std::vector<Trajectory> slice;
    for (int group = rank; group < 4; group += 2) {
      slice.push_back(batch[2 * group]);
      slice.push_back(batch[2 * group + 1]);
    }
    for (int step = 0; step < 2; ++step) {
      auto m = trainers[rank]->Step(slice, step);
      if (!m.ok()) {
        errors[rank] = m.status();
        return;
      }
      losses[rank].push_back(m->at("loss"));
    }
  };
  std::unique_ptr<GlooCommunicator> comm1;
  std::thread rank1([&] {
    auto c1 = GlooCommunicator::Create(g1);
    if (!c1.ok()) {
      errors[1] = c1.status();
      return;
    }
    comm1 = *std::move(c1);
    if (absl::Status s = comm1->Join(); !s.ok()) {
      errors[1] = s;
      return;
    }
    run_rank(1, comm1.get());
  });
  ASSERT_TRUE((*c0)->Join().ok());
  run_rank(0, c0->get());
  rank1.join();
  ASSERT_TRUE(errors[0].ok()) << errors[0];
  ASSERT_TRUE(errors[1].ok()) << errors[1];
  for (int step = 0; step < 2; ++step) {
    EXPECT_NEAR(losses[0][step], single_loss[step], 1e-5);
    EXPECT_NEAR(losses[1][step], single_loss[step], 1e-5);
  }
  EXPECT_LT(MaxDiff(trainers[0]->model(), (*single)->model()), 1e-5);
  EXPECT_EQ(MaxDiff(trainers[0]->model(), trainers[1]->model()), 0.0);
}

TEST(TrainerTest, ResumedTrainerReproducesTheNextStepsExactly) {
  LearnerOptions o = Options("grpo");
  auto scorer = Model();
  std::vector<std::vector<Trajectory>> batches;
  for (int i = 0; i < 4; ++i) batches.push_back(FixedBatch(scorer, 2, 4, 100 + 10 * i));
  const std::string run_dir = policy::testing::TempDir("learner_resume");
  std::filesystem::remove_all(run_dir);
  auto comm = MakeLocalCommunicator();
  auto a = Trainer::Create(Model(), std::nullopt, o, comm.get());
  ASSERT_TRUE(a.ok());
  for (int step = 0; step < 2; ++step) ASSERT_TRUE((*a)->Step(batches[step], step).ok());
  CheckpointState state;
  state.step = 2;
  state.policy_version = 2;
  state.rng_state_hex = CaptureRngState();
  auto dir = WriteCheckpoint(run_dir, state, **a, "", /*keep=*/2);
  ASSERT_TRUE(dir.ok()) << dir.status();
  std::vector<double> expected;
  for (int step = 2; step < 4; ++step) expected.push_back((*a)->Step(batches[step], step)->at("loss"));

  auto latest = LatestCheckpoint(run_dir);
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(*latest, *dir);
  auto read = ReadCheckpointState(*latest);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->step, 2);
  auto loaded = policy::LoadPretrained(*latest, torch::kCPU);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  auto b = Trainer::Create(*loaded, std::nullopt, o, comm.get());
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE((*b)->LoadOptimizer(*latest + "/optimizer.pt").ok());
  for (int step = 2; step < 4; ++step) {
    auto m = (*b)->Step(batches[step], step);
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->at("loss"), expected[step - 2]) << "step " << step;
  }
  EXPECT_EQ(MaxDiff((*a)->model(), (*b)->model()), 0.0);
  std::filesystem::remove_all(run_dir);
}

TEST(GlooCommunicatorTest, RankThatCannotReachTheStoreFailsAfterItsTimeout) {
  testutil::ClosedPort closed;
  GlooOptions g;
  g.rendezvous = closed.address();
  g.rank = 1;
  g.world_size = 2;
  g.store_timeout = absl::Milliseconds(500);
  const absl::Time start = absl::Now();
  auto c = GlooCommunicator::Create(g);
  EXPECT_FALSE(c.ok());
  EXPECT_LT(absl::Now() - start, absl::Seconds(20));
}

}  // namespace
}  // namespace agentgym::learner
