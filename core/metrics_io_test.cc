#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "core/clock.h"
#include "core/metrics.h"
#include "core/metrics_http_server.h"
#include "core/metrics_jsonl.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"

namespace agentgym::metrics {
namespace {

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  std::string path = std::string(dir ? dir : "/tmp") + "/" + name + "." +
                     std::to_string(::getpid());
  std::remove(path.c_str());
  return path;
}

TEST(JsonlWriterTest, WritesOneParsableLinePerStep) {
  std::string path = TempPath("metrics_jsonl_test.jsonl");
  FakeClock clock(absl::FromUnixMillis(1'700'000'000'000));
  Registry registry;
  registry.GetGauge("horizon", "turns", {{"env", "babyai"}})->Set(6);
  auto writer = JsonlWriter::Open(path, &clock);
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_TRUE((*writer)->Write(1, registry).ok());
  registry.GetGauge("horizon", "turns", {{"env", "babyai"}})->Set(13);
  clock.Advance(absl::Seconds(2));
  ASSERT_TRUE((*writer)->Write(2, registry, {{"stage", 1}}).ok());
  EXPECT_EQ((*writer)->lines_written(), 2);

  std::ifstream in(path);
  std::string line;
  std::vector<nlohmann::json> lines;
  while (std::getline(in, line)) lines.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["step"], 1);
  EXPECT_EQ(lines[0]["metrics"]["horizon{env=\"babyai\"}"], 6.0);
  EXPECT_EQ(lines[1]["metrics"]["horizon{env=\"babyai\"}"], 13.0);
  EXPECT_EQ(lines[1]["stage"], 1);
  EXPECT_EQ(lines[1]["unix_ms"].get<int64_t>() - lines[0]["unix_ms"].get<int64_t>(), 2000);
  std::remove(path.c_str());
}

TEST(JsonlWriterTest, FailsClearlyOnUnwritablePath) {
  auto writer = JsonlWriter::Open("/nonexistent-dir/x/metrics.jsonl");
  ASSERT_FALSE(writer.ok());
  EXPECT_NE(writer.status().message().find("/nonexistent-dir/x/metrics.jsonl"),
            std::string::npos);
  EXPECT_EQ(JsonlWriter::Open("").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(MetricsHttpServerTest, ServesPrometheusTextOnAnyPort) {
  Registry registry;
  registry.GetCounter("trajectories_total", "Trajectories")->Increment(7);
  auto server = MetricsHttpServer::Start("127.0.0.1:0", &registry);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->port(), 0);

  httplib::Client client("127.0.0.1", (*server)->port());
  client.set_connection_timeout(5);
  client.set_read_timeout(5);
  auto res = client.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->body.find("trajectories_total 7"), std::string::npos);
  EXPECT_NE(res->get_header_value("Content-Type").find("text/plain"), std::string::npos);
  auto missing = client.Get("/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  (*server)->Stop();
  (*server)->Stop();  // idempotent
}

TEST(MetricsHttpServerTest, RejectsBadAddresses) {
  Registry registry;
  EXPECT_EQ(MetricsHttpServer::Start("no-port", &registry).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MetricsHttpServer::Start("127.0.0.1:99999", &registry).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MetricsHttpServer::Start("127.0.0.1:0", nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace agentgym::metrics
