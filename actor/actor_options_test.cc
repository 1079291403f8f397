#include "actor/actor_options.h"

#include <gtest/gtest.h>

namespace agentgym::actor {
namespace {

TEST(ActorOptionsTest, ReadsSectionsWithDefaults) {
  auto config = Config::FromString(
      "model: {dir: /m, intra_op_threads: 2, preset: tiny}\n"
      "actor: {concurrent_episodes: 16, max_new_tokens: 12, temperature: 0.5, system_prompt: hi}\n"
      "algorithm: {name: grpo, group_size: 4}\n");
  ASSERT_TRUE(config.ok());
  auto c = ActorConfigFromConfig(*config);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->model_dir, "/m");
  EXPECT_EQ(c->intra_op_threads, 2);
  EXPECT_EQ(c->device, "cpu");
  EXPECT_EQ(c->group_size, 4);
  EXPECT_EQ(c->engine.group_size_hint, 4);
  EXPECT_EQ(c->engine.concurrent_episodes, 16);
  EXPECT_EQ(c->engine.max_new_tokens, 12);
  EXPECT_FLOAT_EQ(c->engine.temperature, 0.5f);
  EXPECT_EQ(c->engine.top_k, 0);
  EXPECT_EQ(c->engine.group_retries, 2);
  EXPECT_EQ(c->engine.max_unacked, 1024);
  EXPECT_EQ(c->env_timeout_ms, 30000);
  ASSERT_TRUE(c->engine.system_prompt.has_value());
  EXPECT_EQ(*c->engine.system_prompt, "hi");
}

TEST(ActorOptionsTest, UnknownActorKeyIsAnErrorNamingItsPath) {
  auto config = Config::FromString("actor: {concurent_episodes: 16}\n");
  ASSERT_TRUE(config.ok());
  auto c = ActorConfigFromConfig(*config);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("'actor'"), std::string::npos) << c.status();
  EXPECT_NE(c.status().message().find("concurent_episodes"), std::string::npos) << c.status();
}

TEST(ActorOptionsTest, BadValuesAreErrors) {
  for (const char* yaml : {"actor: {concurrent_episodes: 0}", "actor: {top_p: 0}", "actor: {max_new_tokens: x}",
                           "algorithm: {group_size: 0}", "actor: {concurrent_episodes: 2}\nalgorithm: {group_size: 4}"}) {
    auto config = Config::FromString(yaml);
    ASSERT_TRUE(config.ok()) << yaml;
    EXPECT_EQ(ActorConfigFromConfig(*config).status().code(), absl::StatusCode::kInvalidArgument) << yaml;
  }
}

}  // namespace
}  // namespace agentgym::actor
