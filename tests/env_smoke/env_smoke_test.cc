// A random agent against every built-in env through the real gRPC service:
// thousands of random and malformed actions per env (random valid UTF-8,
// huge and oversize strings, invalid UTF-8, near misses of real commands,
// words from the current screen), across many interleaved sessions with
// resets. Every call must get OK (or INVALID_ARGUMENT for what the contract
// rejects before the env sees it) with a well-formed result; afterwards every
// session is reclaimed, by Close or by the idle TTL, and the server still
// serves.

#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/clock.h"
#include "core/det_random.h"
#include "core/metrics.h"
#include "env_server/client/env_client.h"
#include "env_server/env_server.h"
#include "gtest/gtest.h"
#include "tests/env_smoke/junk_actions.h"

namespace agentgym::testing {
namespace {

namespace v1 = env::v1;

constexpr int64_t kMaxActionBytes = 64 * 1024;  // the server default
constexpr int kStepsPerEnv = 3000;
constexpr int kSessionsPerEnv = 8;
constexpr absl::Duration kTtl = absl::Minutes(5);

// Real commands of each env, the seeds of the near misses (the envs' own
// unit tests prove the oracles; here the commands only need to be plausible).
const std::map<std::string, std::vector<std::string>>& Vocabulary() {
  static const auto* vocab = new std::map<std::string, std::vector<std::string>>{
      {"babyai",
       {"turn left", "turn right", "move forward", "go to red ball 1", "pick up red ball 1",
        "drop", "toggle", "go through red open door 1", "check available actions"}},
      {"maze",
       {"move up", "move down", "move left", "move right", "north", "go east", "up", "left",
        "Action: down", "pos 1 2 goal 3 0"}},
      {"sciworld",
       {"look around", "inventory", "go to kitchen", "pick up thermometer", "open freezer",
        "activate stove", "use thermometer on ice", "put ice in metal pot", "mix beaker",
        "connect battery to red wire", "focus on apple", "wait", "examine stove"}},
      {"searchqa",
       {"search[capital of Valdoria]", "open[d0042]", "answer[Paris]", "<search>founded</search>",
        "<answer>1901</answer>"}},
      {"textcraft",
       {"get 2 oak logs", "craft 4 oak planks using 1 oak log", "inventory",
        "craft 1 stick using 2 planks"}},
      {"webshop",
       {"search[slim fit t-shirt]", "click[Next >]", "click[< Prev]", "click[Back to Search]",
        "click[Buy Now]", "click[Features]", "click[large]", "click[B0AB12CD34]"}},
      {"wordle", {"guess crane", "slate", "guess aaaaa", "guess hello world"}},
  };
  return *vocab;
}

class EnvSmokeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env::EnvServerOptions options;
    options.listen = "127.0.0.1:0";
    options.service.max_action_bytes = kMaxActionBytes;
    options.service.sessions.clock = &clock_;
    options.service.sessions.default_idle_ttl = kTtl;
    options.service.metrics = &metrics_;
    options.reap_interval = absl::Hours(1);  // the test reaps by hand
    auto server = env::EnvServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    env::EnvClientOptions client;
    client.target = absl::StrCat("127.0.0.1:", server_->port());
    client.timeout = absl::Seconds(30);
    client.max_attempts = 1;
    auto created = env::EnvClient::Create(client);
    ASSERT_TRUE(created.ok()) << created.status();
    client_ = *std::move(created);
  }

  FakeClock clock_;
  metrics::Registry metrics_;
  std::unique_ptr<env::EnvServer> server_;
  std::unique_ptr<env::EnvClient> client_;
};

struct Session {
  std::string id;
  std::string observation;
};

absl::StatusOr<Session> Open(env::EnvClient& client, const v1::EnvInfo& info, DetRng& rng) {
  v1::CreateRequest req;
  req.set_env(info.name());
  const v1::TaskType& type = info.task_types(rng.Uniform(info.task_types_size()));
  const bool test = type.test_count() > 0 && rng.Bernoulli(0.3);
  req.mutable_sample()->set_split(test ? v1::SPLIT_TEST : v1::SPLIT_TRAIN);
  req.mutable_sample()->set_task_type(type.name());
  req.set_seed(rng.NextU64());
  auto resp = client.Create(req);
  if (!resp.ok()) return resp.status();
  return Session{resp->session_id(), resp->observation()};
}

TEST_F(EnvSmokeTest, RandomAgentNeverBreaksAnEnvAndSessionsAreReclaimed) {
  auto listed = client_->ListEnvs();
  ASSERT_TRUE(listed.ok()) << listed.status();
  std::vector<std::string> names;
  for (const v1::EnvInfo& info : listed->envs()) names.push_back(info.name());
  // Every env this test knows is served (a new env must be added here too).
  for (const auto& [name, words] : Vocabulary()) {
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  }
  for (const v1::EnvInfo& info : listed->envs()) {
    SCOPED_TRACE(info.name());
    auto vocab = Vocabulary().find(info.name());
    ASSERT_NE(vocab, Vocabulary().end()) << "no smoke vocabulary for env " << info.name();
    DetRng rng(DetRng::Hash(info.name()));
    JunkActions junk(rng.NextU64(), kMaxActionBytes, vocab->second);
    std::vector<Session> sessions;
    for (int s = 0; s < kSessionsPerEnv; ++s) {
      auto session = Open(*client_, info, rng);
      ASSERT_TRUE(session.ok()) << session.status();
      sessions.push_back(*std::move(session));
    }
    EXPECT_EQ(server_->service().sessions().size(), kSessionsPerEnv);
    int ended = 0, invalid_in_game = 0, rejected = 0;
    size_t longest_observation = 0;
    for (int step = 0; step < kStepsPerEnv; ++step) {
      Session& session = sessions[rng.Uniform(sessions.size())];
      const JunkAction action = junk.Next(session.observation);
      auto result = client_->Step(session.id, action.text);
      if (action.server_rejects) {
        ASSERT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument)
            << result.status() << " for a " << action.text.size() << "-byte action";
        ++rejected;
        continue;
      }
      ASSERT_TRUE(result.ok()) << result.status() << "\naction (" << action.text.size()
                               << " bytes): " << action.text.substr(0, 200);
      EXPECT_FALSE(result->observation().empty()) << action.text.substr(0, 200);
      EXPECT_GE(result->score(), 0.0);
      EXPECT_LE(result->score(), 1.0);
      EXPECT_TRUE(std::isfinite(result->reward()));
      EXPECT_GE(result->turn(), 1);
      invalid_in_game += result->action_valid() ? 0 : 1;
      longest_observation = std::max(longest_observation, result->observation().size());
      session.observation = result->observation();
      if (result->done() || result->truncated()) {
        ++ended;
        // A finished session refuses steps until it is reset.
        auto again = client_->Step(session.id, "look");
        EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
        v1::ResetRequest reset;
        reset.set_session_id(session.id);
        reset.set_has_seed(true);
        reset.set_seed(rng.NextU64());
        auto restarted = client_->Reset(reset);
        ASSERT_TRUE(restarted.ok()) << restarted.status();
        session.observation = restarted->observation();
      }
    }
    // The random agent mostly talks nonsense, and the envs say so in-game.
    EXPECT_GT(invalid_in_game, kStepsPerEnv / 10);
    EXPECT_GT(rejected, 0);
    std::cout << info.name() << ": " << kStepsPerEnv << " steps, " << invalid_in_game
              << " invalid in-game, " << rejected << " rejected by the server, " << ended
              << " episodes ended, longest observation " << longest_observation << " bytes\n";
    // Half the sessions are closed, the rest abandoned: the idle TTL reclaims
    // those.
    for (size_t s = 0; s < sessions.size(); s += 2) {
      EXPECT_TRUE(client_->Close(sessions[s].id).ok());
    }
    EXPECT_EQ(server_->service().sessions().size(), kSessionsPerEnv / 2);
    clock_.Advance(kTtl + absl::Seconds(1));
    EXPECT_EQ(server_->service().EvictIdle(), kSessionsPerEnv / 2);
    EXPECT_EQ(server_->service().sessions().size(), 0);
    for (const Session& session : sessions) {
      EXPECT_EQ(client_->Step(session.id, "look").status().code(), absl::StatusCode::kNotFound);
    }
  }
  // Still serving: a fresh session of every env works.
  for (const v1::EnvInfo& info : listed->envs()) {
    DetRng rng(7);
    auto session = Open(*client_, info, rng);
    ASSERT_TRUE(session.ok()) << info.name() << ": " << session.status();
    EXPECT_TRUE(client_->Step(session->id, "look").ok());
    EXPECT_TRUE(client_->Close(session->id).ok());
  }
  EXPECT_EQ(server_->service().sessions().size(), 0);
}

TEST(JunkActionsTest, GeneratesEveryKindAndKeepsItsUtf8Promise) {
  JunkActions junk(1, 1000, {"search[x]", "move up"});
  std::map<JunkKind, int> seen;
  for (int i = 0; i < 5000; ++i) {
    JunkAction a = junk.Next("[Back to Search]\n[B0AB12CD34]\nSome Product\n$9.99");
    ++seen[a.kind];
    if (a.kind == JunkKind::kInvalidUtf8) {
      EXPECT_FALSE(JunkActions::IsValidUtf8(a.text));
    } else {
      EXPECT_TRUE(JunkActions::IsValidUtf8(a.text)) << static_cast<int>(a.kind);
    }
    EXPECT_EQ(a.server_rejects, a.kind == JunkKind::kOversize || a.kind == JunkKind::kInvalidUtf8);
    if (a.kind == JunkKind::kOversize) {
      EXPECT_GT(a.text.size(), 1000u);
    }
    if (a.kind == JunkKind::kHuge) {
      EXPECT_LE(a.text.size(), 1000u);
    }
  }
  EXPECT_EQ(seen.size(), 7u);
  EXPECT_FALSE(JunkActions::IsValidUtf8("\xc3"));
  EXPECT_FALSE(JunkActions::IsValidUtf8("\xed\xa0\x80"));  // a surrogate
  EXPECT_TRUE(JunkActions::IsValidUtf8("\xf0\x9f\x98\x80 ok"));
}

}  // namespace
}  // namespace agentgym::testing
