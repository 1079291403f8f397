#include "core/config.h"

#include "gtest/gtest.h"

namespace agentgym {
namespace {

TEST(ConfigTest, ReadsNestedKeys) {
  auto config = Config::FromString("model:\n  layers: 2\n  name: tiny\n");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(*config->Get<int>("model.layers"), 2);
  EXPECT_EQ(*config->Get<std::string>("model.name"), "tiny");
  EXPECT_FALSE(config->Has("model.heads"));
  EXPECT_EQ(config->Get<int>("model.heads").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(*config->GetOr<int>("model.heads", 4), 4);
}

TEST(ConfigTest, OverrideReplacesAndCreatesKeys) {
  auto config = Config::FromString("model:\n  layers: 2\n");
  ASSERT_TRUE(config.ok());
  ASSERT_TRUE(config->ApplyOverrides({"model.layers=4", "learner.lr=0.001",
                                      "envs=[textcraft, babyai]"}).ok());
  EXPECT_EQ(*config->Get<int>("model.layers"), 4);
  EXPECT_DOUBLE_EQ(*config->Get<double>("learner.lr"), 0.001);
  EXPECT_EQ(config->Get<std::vector<std::string>>("envs")->size(), 2u);
}

TEST(ConfigTest, LookupsDoNotMutateTheTree) {
  auto config = Config::FromString("a:\n  b: 1\n  c: 2\n");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(*config->Get<int>("a.b"), 1);
  EXPECT_EQ(*config->Get<int>("a.c"), 2);
  EXPECT_FALSE(config->Has("a.d"));
  EXPECT_EQ(*config->Get<int>("a.b"), 1);
  EXPECT_EQ(config->root()["a"].size(), 2u);
}

TEST(ConfigTest, BadInputGivesClearErrors) {
  EXPECT_EQ(Config::FromString("a: [1, 2").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Config::FromString("- 1\n- 2\n").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Config::FromFile("/nonexistent/agentgym.yaml").status().code(),
            absl::StatusCode::kNotFound);
  Config config;
  EXPECT_EQ(config.ApplyOverride("no-equals-sign").code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(config.ApplyOverride("a=1").ok());
  EXPECT_EQ(config.ApplyOverride("a.b=2").code(), absl::StatusCode::kInvalidArgument);
  auto wrong_type = Config::FromString("n: abc\n")->Get<int>("n");
  EXPECT_EQ(wrong_type.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(wrong_type.status().message().find("'n'"), std::string::npos);
  EXPECT_NE(wrong_type.status().message().find("an integer"), std::string::npos)
      << wrong_type.status();
  auto not_a_string = Config::FromString("s: {a: 1}\n")->Get<std::string>("s");
  EXPECT_NE(not_a_string.status().message().find("a string"), std::string::npos)
      << not_a_string.status();
}

}  // namespace
}  // namespace agentgym

namespace agentgym {
namespace {

TEST(ConfigTest, UnknownKeysAreNamedWithTheKnownOnes) {
  auto config = Config::FromString("server:\n  max_sesions: 5\n  listen: x\nother: 1\n");
  ASSERT_TRUE(config.ok());
  EXPECT_TRUE(config->ExpectOnlyKeys("server", {"listen", "max_sessions"}).code() ==
              absl::StatusCode::kInvalidArgument);
  std::string message(config->ExpectOnlyKeys("server", {"listen", "max_sessions"}).message());
  EXPECT_NE(message.find("max_sesions"), std::string::npos) << message;
  EXPECT_NE(message.find("max_sessions"), std::string::npos) << message;
  EXPECT_TRUE(config->ExpectOnlyKeys("server", {"listen", "max_sesions"}).ok());
  EXPECT_FALSE(config->ExpectOnlyKeys("", {"server"}).ok());  // "other"
  EXPECT_TRUE(config->ExpectOnlyKeys("", {"server", "other"}).ok());
  EXPECT_TRUE(config->ExpectOnlyKeys("absent", {}).ok());
  EXPECT_FALSE(config->ExpectOnlyKeys("other", {}).ok());  // not a mapping
}

TEST(ConfigTest, UnknownKeysOfAListItemAreNamedByWhere) {
  auto config = Config::FromString("envs:\n  - {name: a, wieght: 2}\n");
  ASSERT_TRUE(config.ok());
  absl::Status s = Config::ExpectOnlyKeysOf(config->Find("envs")[0], "envs[0]", {"name", "weight"});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("'envs[0]': wieght"), std::string::npos) << s.message();
  EXPECT_TRUE(Config::ExpectOnlyKeysOf(config->Find("envs")[0], "envs[0]", {"name", "wieght"}).ok());
}

TEST(ConfigTest, NonFiniteNumbersAreRejected) {
  auto config = Config::FromString("a: .nan\nb: .inf\nc: -.inf\nd: 2.5\n");
  ASSERT_TRUE(config.ok());
  for (const char* key : {"a", "b", "c"}) {
    auto value = config->Get<double>(key);
    EXPECT_EQ(value.status().code(), absl::StatusCode::kInvalidArgument) << key;
    if (!value.ok()) {
      EXPECT_NE(value.status().message().find("finite"), std::string::npos);
    }
  }
  EXPECT_EQ(*config->Get<double>("d"), 2.5);
}

}  // namespace
}  // namespace agentgym
