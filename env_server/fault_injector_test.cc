// Fault injection: each fault happens at about its configured rate (bounded
// samples, loose bounds: a failure means the rate is wrong, not unlucky),
// the draws are a function of the seed, and through the real server a step
// that failed or was dropped was never applied, so a retry applies it once.

#include "env_server/fault_injector.h"

#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "env_server/env_server.h"
#include "env_server/testing/counter_env.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"

namespace agentgym::env {
namespace {

double Rate(int hits, int n) { return static_cast<double>(hits) / n; }

double FaultCount(metrics::Registry &registry, const std::string &kind) {
  return registry
      .GetCounter("agentgym_env_faults_total",
                  "Faults injected by the env server", {{"kind", kind}})
      ->Value();
}

TEST(FaultInjectorTest, EachFaultHappensAtAboutItsRate) {
  metrics::Registry registry;
  FaultOptions o;
  o.step_failure_rate = 0.05;
  o.drop_connection_rate = 0.2;
  o.seed = 11;
  FaultInjector faults(o, &registry);
  constexpr int kDraws = 8000;
  int failed = 0, dropped = 0;
  for (int i = 0; i < kDraws; ++i) {
    failed += faults.FailStep() ? 1 : 0;
    dropped += faults.DropCall() ? 1 : 0;
  }
  // 5+ standard deviations either side.
  EXPECT_NEAR(Rate(failed, kDraws), 0.05, 0.015);
  EXPECT_NEAR(Rate(dropped, kDraws), 0.2, 0.025);
  EXPECT_EQ(FaultCount(registry, "step_failure"), failed);
  EXPECT_EQ(FaultCount(registry, "drop"), dropped);
  EXPECT_EQ(faults.ReplyDelay(), absl::ZeroDuration()) << "no delay configured";
}

TEST(FaultInjectorTest, DrawsAreAFunctionOfTheSeed) {
  metrics::Registry registry;
  FaultOptions o;
  o.step_failure_rate = 0.3;
  o.drop_connection_rate = 0.3;
  o.delay_min = absl::Milliseconds(5);
  o.delay_max = absl::Milliseconds(50);
  auto run = [&](uint64_t seed) {
    o.seed = seed;
    FaultInjector faults(o, &registry);
    std::vector<int64_t> seen;
    for (int i = 0; i < 300; ++i) {
      seen.push_back(faults.FailStep());
      seen.push_back(faults.DropCall());
      seen.push_back(absl::ToInt64Microseconds(faults.ReplyDelay()));
    }
    return seen;
  };
  EXPECT_EQ(run(7), run(7));
  EXPECT_NE(run(7), run(8));
}

TEST(FaultInjectorTest, DelaysAreUniformInTheirRange) {
  metrics::Registry registry;
  FaultOptions o;
  o.delay_min = absl::Milliseconds(5);
  o.delay_max = absl::Milliseconds(50);
  FaultInjector faults(o, &registry);
  absl::Duration lo = absl::InfiniteDuration(), hi = absl::ZeroDuration(), sum;
  constexpr int kDraws = 4000;
  for (int i = 0; i < kDraws; ++i) {
    absl::Duration d = faults.ReplyDelay();
    ASSERT_GE(d, o.delay_min);
    ASSERT_LE(d, o.delay_max);
    lo = std::min(lo, d);
    hi = std::max(hi, d);
    sum += d;
  }
  EXPECT_LT(lo, absl::Milliseconds(6));
  EXPECT_GT(hi, absl::Milliseconds(49));
  EXPECT_NEAR(absl::ToDoubleMilliseconds(sum / kDraws), 27.5, 1.5);
  EXPECT_EQ(FaultCount(registry, "delay"), kDraws);
}

TEST(FaultOptionsTest, RefusesBadSettings) {
  FaultOptions o;
  EXPECT_TRUE(o.Validate().ok());
  EXPECT_FALSE(o.enabled());
  o.step_failure_rate = 1.5;
  EXPECT_EQ(o.Validate().code(), absl::StatusCode::kInvalidArgument);
  o = FaultOptions();
  o.drop_connection_rate = -0.1;
  EXPECT_EQ(o.Validate().code(), absl::StatusCode::kInvalidArgument);
  o = FaultOptions();
  o.delay_min = absl::Milliseconds(10);
  o.delay_max = absl::Milliseconds(5);
  EXPECT_EQ(o.Validate().code(), absl::StatusCode::kInvalidArgument);
}

// The counter env behind a real server with faults on, called through a raw
// stub (no client retries) so every fault is seen.
class FaultyServerTest
    : public ::testing::TestWithParam<EnvServerOptions::GrpcApi> {
protected:
  void Start(const FaultOptions &faults) {
    EnvServerOptions options;
    options.grpc_api = GetParam();
    options.service.metrics = &metrics_;
    options.service.faults = faults;
    std::map<std::string, std::unique_ptr<Environment>> envs;
    envs.emplace("counter", testing::MakeCounterEnv());
    auto server = EnvServer::StartWithEnvs(options, std::move(envs));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = v1::Env::NewStub(grpc::CreateChannel(
        server_->address(), grpc::InsecureChannelCredentials()));
  }

  std::unique_ptr<grpc::ClientContext> Context() {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(20));
    return context;
  }

  // Creates a counter session (target 4), retrying dropped creates.
  std::string Create(int *drops) {
    for (int attempt = 0; attempt < 100; ++attempt) {
      v1::CreateRequest req;
      req.set_env("counter");
      req.set_task_id("count/train/3");
      v1::CreateResponse resp;
      auto context = Context();
      grpc::Status s = stub_->Create(context.get(), req, &resp);
      if (s.ok())
        return resp.session_id();
      EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE)
          << s.error_message();
      EXPECT_TRUE(absl::StrContains(s.error_message(), "dropped"))
          << s.error_message();
      ++*drops;
    }
    ADD_FAILURE() << "every create was dropped";
    return "";
  }

  metrics::Registry metrics_;
  std::unique_ptr<EnvServer> server_;
  std::unique_ptr<v1::Env::Stub> stub_;
};

// inc, inc, dec, dec, ...: the value stays in 0..2 (never the target 4), so
// the episode runs to the counter env's 8-turn limit.
const char *ActionAt(int turn) { return (turn - 1) % 4 < 2 ? "inc" : "dec"; }
int ValueAfter(int turn) {
  int v = 0;
  for (int t = 1; t <= turn; ++t)
    v += ActionAt(t)[0] == 'i' ? 1 : -1;
  return v;
}

TEST_P(FaultyServerTest,
       StepFailuresAndDropsHappenAtTheirRatesAndApplyNothing) {
  FaultOptions faults;
  faults.step_failure_rate = 0.2;
  faults.drop_connection_rate = 0.1;
  faults.seed = 5;
  Start(faults);
  int calls = 0, drops = 0, failures = 0, create_drops = 0;
  for (int episode = 0; episode < 40; ++episode) {
    const std::string id = Create(&create_drops);
    for (int turn = 1; turn <= 8; ++turn) {
      for (int attempt = 0;; ++attempt) {
        ASSERT_LT(attempt, 100) << "a step never got through";
        v1::StepRequest req;
        req.set_session_id(id);
        req.set_action(ActionAt(turn));
        req.set_expected_turn(turn);
        v1::StepResponse resp;
        auto context = Context();
        grpc::Status s = stub_->Step(context.get(), req, &resp);
        ++calls;
        if (s.ok()) {
          // Had a failed or dropped attempt been applied, this would be a
          // replay (or the value would be off).
          EXPECT_FALSE(resp.result().replayed());
          EXPECT_EQ(resp.result().turn(), turn);
          EXPECT_EQ(resp.result().observation(),
                    "value " + std::to_string(ValueAfter(turn)));
          break;
        }
        ASSERT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE)
            << s.error_message();
        if (absl::StrContains(s.error_message(), "dropped")) {
          ++drops;
        } else {
          ASSERT_TRUE(absl::StrContains(s.error_message(), "not applied"))
              << s.error_message();
          ++failures;
        }
      }
    }
  }
  ASSERT_GT(calls, 320);
  // Drops are drawn per call; step failures per call that was not dropped.
  EXPECT_NEAR(Rate(drops, calls), 0.1, 0.05) << drops << " of " << calls;
  EXPECT_NEAR(Rate(failures, calls - drops), 0.2, 0.07)
      << failures << " of " << calls - drops;
  EXPECT_EQ(FaultCount(metrics_, "step_failure"), failures);
  EXPECT_EQ(FaultCount(metrics_, "drop"), drops + create_drops);
}

TEST_P(FaultyServerTest, BatchStepItemsFailOneByOne) {
  FaultOptions faults;
  faults.step_failure_rate = 0.25;
  faults.seed = 9;
  Start(faults);
  int no_drops = 0;
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i)
    ids.push_back(Create(&no_drops));
  std::vector<int> turn(ids.size(), 0);
  int items = 0, failed = 0;
  for (int round = 0; round < 200 && items < 1000; ++round) {
    v1::BatchStepRequest req;
    std::vector<size_t> sent;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (turn[i] >= 8)
        continue; // the episode is over
      auto *item = req.add_items();
      item->set_session_id(ids[i]);
      item->set_action(ActionAt(turn[i] + 1));
      item->set_expected_turn(turn[i] + 1);
      sent.push_back(i);
    }
    if (sent.empty()) { // every episode ended: start them again
      for (auto &id : ids)
        id = Create(&no_drops);
      std::fill(turn.begin(), turn.end(), 0);
      continue;
    }
    v1::BatchStepResponse resp;
    auto context = Context();
    grpc::Status s = stub_->BatchStep(context.get(), req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(resp.items_size(), static_cast<int>(sent.size()));
    for (size_t k = 0; k < sent.size(); ++k) {
      const auto &item = resp.items(static_cast<int>(k));
      ++items;
      if (item.has_error() && item.error().code() != 0) {
        EXPECT_EQ(item.error().code(),
                  static_cast<int>(absl::StatusCode::kUnavailable));
        ++failed;
        continue; // resent next round with the same expected_turn
      }
      const size_t i = sent[k];
      ++turn[i];
      EXPECT_FALSE(item.result().replayed());
      EXPECT_EQ(item.result().turn(), turn[i]);
      EXPECT_EQ(item.result().observation(),
                "value " + std::to_string(ValueAfter(turn[i])));
    }
  }
  ASSERT_GE(items, 1000);
  EXPECT_NEAR(Rate(failed, items), 0.25, 0.07) << failed << " of " << items;
  EXPECT_EQ(no_drops, 0);
}

TEST_P(FaultyServerTest, DelaysRepliesWithoutSerialisingThem) {
  FaultOptions faults;
  faults.delay_min = absl::Milliseconds(300);
  faults.delay_max = absl::Milliseconds(300);
  Start(faults);
  constexpr int kCalls = 16;
  std::vector<std::string> ids;
  {
    v1::BatchCreateRequest req; // one delayed call for all the sessions
    for (int i = 0; i < kCalls; ++i) {
      auto *item = req.add_items();
      item->set_env("counter");
      item->set_task_id("count/train/3");
    }
    v1::BatchCreateResponse resp;
    auto context = Context();
    ASSERT_TRUE(stub_->BatchCreate(context.get(), req, &resp).ok());
    for (const auto &item : resp.items())
      ids.push_back(item.created().session_id());
  }
  // Concurrent steps, each on its own session: every reply waits 300 ms,
  // and all of them together take far less than 16 x 300 ms.
  const absl::Time start = absl::Now();
  std::vector<std::future<grpc::Status>> replies;
  for (int i = 0; i < kCalls; ++i) {
    replies.push_back(std::async(std::launch::async, [&, i] {
      v1::StepRequest req;
      req.set_session_id(ids[i]);
      req.set_action("inc");
      v1::StepResponse resp;
      auto context = Context();
      return stub_->Step(context.get(), req, &resp);
    }));
  }
  for (auto &r : replies)
    EXPECT_TRUE(r.get().ok());
  const absl::Duration took = absl::Now() - start;
  EXPECT_GE(took, absl::Milliseconds(300));
  EXPECT_LT(took, absl::Milliseconds(300) * kCalls / 2)
      << "delayed replies queued up";
  EXPECT_EQ(FaultCount(metrics_, "delay"),
            1 + kCalls); // the create and the steps
}

INSTANTIATE_TEST_SUITE_P(BothApis, FaultyServerTest,
                         ::testing::Values(EnvServerOptions::GrpcApi::kCallback,
                                           EnvServerOptions::GrpcApi::kSync),
                         [](const auto &info) {
                           return info.param == EnvServerOptions::GrpcApi::kSync
                                      ? "Sync"
                                      : "Callback";
                         });

} // namespace
} // namespace agentgym::env
