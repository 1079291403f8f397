// The agentgym-learner binary end to end on loopback: bad config exits 2
// naming the key; ingest -> one GRPO step -> checkpoint -> exit at
// --max-steps; --resume continues at the saved version, dedupes ids taken
// before the restart and keeps serving after a malformed trajectory;
// requests with invalid UTF-8 are logged once, not once each.
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agentgym/learner/v1/learner.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "learner/testing/synthetic.h"
#include "tests/common/test_process.h"

namespace agentgym::learner {
namespace {

namespace lpb = ::agentgym::learner::v1;
namespace fs = std::filesystem;
using ::testing::HasSubstr;
using trajectory::v1::Trajectory;

constexpr char kConfig[] = R"(
model: {preset: tiny, seed: 1}
algorithm: {name: grpo, group_size: 2}
learner: {groups_per_step: 2, checkpoint_every: 0, idle_broadcast_s: 0.2}
)";

std::string WriteConfig(const agentgym::testing::TempDir& dir, const std::string& text) {
  std::ofstream(dir.File("run.yaml")) << text;
  return dir.File("run.yaml");
}

std::vector<lpb::IngestAck> Send(lpb::Learner::Stub& stub, const std::vector<Trajectory>& ts) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto stream = stub.Ingest(&ctx);
  std::vector<lpb::IngestAck> acks;
  for (const auto& t : ts) {
    lpb::IngestRequest r;
    *r.mutable_trajectory() = t;
    if (!stream->Write(r)) break;
    lpb::IngestAck ack;
    if (!stream->Read(&ack)) break;
    acks.push_back(ack);
  }
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
  return acks;
}

std::vector<Trajectory> Groups(int first, int count, int64_t version) {
  std::vector<Trajectory> out;
  for (int g = first; g < first + count; ++g) {
    auto members = testing::MakeGroup("g" + std::to_string(g), 512, g + 1, {1.0, 0.0}, {}, version);
    out.insert(out.end(), members.begin(), members.end());
  }
  return out;
}

TEST(LearnerProcessTest, BadConfigExitsTwoNamingTheKey) {
  agentgym::testing::TempDir dir;
  const std::string config = WriteConfig(dir, "model: {preset: tiny}\nalgorithm: {name: grpo, clip_eps: -1}\n");
  auto r = agentgym::testing::RunCommand(AG_LEARNER_BIN, {"--config", config, "--run-dir", dir.File("run")});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 2) << r->output;
  EXPECT_THAT(r->output, HasSubstr("algorithm.clip_eps"));
}

// Protobuf refuses each such request with a log line of its own; the
// learner's handler (core/protobuf_log.h) writes one per kind and minute.
TEST(LearnerProcessTest, LogsRequestsWithInvalidUtf8OnceNotPerRequest) {
  agentgym::testing::TempDir dir;
  const std::string config = WriteConfig(dir, kConfig);
  auto learner = agentgym::testing::ServerProcess::Start(
      AG_LEARNER_BIN, {"--config", config, "--run-dir", dir.File("run")});
  ASSERT_TRUE(learner.ok()) << learner.status();
  auto stub = lpb::Learner::NewStub(
      grpc::CreateChannel((*learner)->target(), grpc::InsecureChannelCredentials()));
  constexpr int kRequests = 5;
  for (int i = 0; i < kRequests; ++i) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    auto stream = stub->Ingest(&ctx);
    lpb::IngestRequest r;
    r.mutable_trajectory()->set_trajectory_id(std::string("bad-\xff\xfe-id", 9));
    stream->Write(r);
    lpb::IngestAck ack;
    EXPECT_FALSE(stream->Read(&ack)) << "an unparsable request was acked";
    stream->WritesDone();
    stream->Finish();  // the learner ends a stream it cannot read as it ends any other
  }
  // The refusal is logged before the stream ends, so it is in the log now.
  const std::string log = (*learner)->Log();
  int lines = 0;
  for (size_t at = log.find("invalid UTF-8"); at != std::string::npos;
       at = log.find("invalid UTF-8", at + 1)) {
    ++lines;
  }
  EXPECT_EQ(lines, 1) << log;
}

TEST(LearnerProcessTest, TrainsCheckpointsAndResumes) {
  agentgym::testing::TempDir dir;
  const std::string config = WriteConfig(dir, kConfig);
  const std::string run_dir = dir.File("run");
  {
    auto learner = agentgym::testing::ServerProcess::Start(
        AG_LEARNER_BIN, {"--config", config, "--run-dir", run_dir, "--max-steps", "1"});
    ASSERT_TRUE(learner.ok()) << learner.status();
    auto stub = lpb::Learner::NewStub(
        grpc::CreateChannel((*learner)->target(), grpc::InsecureChannelCredentials()));
    {  // version 0 is served before any training
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      lpb::GetWeightsRequest req;
      auto reader = stub->GetWeights(&ctx, req);
      lpb::WeightsChunk chunk;
      ASSERT_TRUE(reader->Read(&chunk));
      EXPECT_EQ(chunk.manifest().version(), 0);
      int64_t bytes = 0;
      while (reader->Read(&chunk)) bytes += chunk.data().size();
      EXPECT_TRUE(reader->Finish().ok());
      EXPECT_GT(bytes, 0);
    }
    auto acks = Send(*stub, Groups(0, 2, 0));
    ASSERT_EQ(acks.size(), 4u);
    for (const auto& a : acks) EXPECT_EQ(a.status(), lpb::ACK_STATUS_ACCEPTED) << a.reason();
    // One step, a final checkpoint, and exit 0 at --max-steps.
    auto status = (*learner)->Signal(0, absl::Seconds(120));
    ASSERT_TRUE(status.ok()) << status.status() << (*learner)->Log();
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << (*learner)->Log();
  }
  const fs::path ckpt = fs::path(run_dir) / "checkpoints" / "step-000001";
  for (const char* f : {"config.json", "model.safetensors", "optimizer.pt", "state.json", "buffer.bin"}) {
    EXPECT_TRUE(fs::exists(ckpt / f)) << f;
  }
  std::ifstream metrics(run_dir + "/learner-metrics.jsonl");
  std::string line;
  ASSERT_TRUE(std::getline(metrics, line));
  EXPECT_THAT(line, HasSubstr("\"pg_loss\""));
  EXPECT_THAT(line, HasSubstr("\"mixed_group_frac\":1.0"));

  auto learner = agentgym::testing::ServerProcess::Start(
      AG_LEARNER_BIN, {"--config", config, "--run-dir", run_dir, "--resume", "--max-steps", "2"});
  ASSERT_TRUE(learner.ok()) << learner.status();
  auto stub = lpb::Learner::NewStub(grpc::CreateChannel((*learner)->target(), grpc::InsecureChannelCredentials()));
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    lpb::GetVersionResponse v;
    ASSERT_TRUE(stub->GetVersion(&ctx, {}, &v).ok());
    EXPECT_EQ(v.policy_version(), 1);
    EXPECT_EQ(v.step(), 1);
  }
  auto old = Groups(0, 1, 0);
  auto bad = Groups(9, 1, 1)[0];
  bad.set_trajectory_id("bad");
  bad.set_final_reward(std::nan(""));
  std::vector<Trajectory> sends = {old[0], bad};
  for (auto& t : Groups(2, 2, 1)) sends.push_back(t);
  auto acks = Send(*stub, sends);
  ASSERT_EQ(acks.size(), 6u);
  EXPECT_TRUE(acks[0].duplicate());  // taken before the restart: not trained again
  EXPECT_EQ(acks[1].status(), lpb::ACK_STATUS_REJECTED);
  EXPECT_THAT(acks[1].reason(), HasSubstr("final_reward"));
  for (int i = 2; i < 6; ++i) EXPECT_EQ(acks[i].status(), lpb::ACK_STATUS_ACCEPTED);
  EXPECT_EQ(acks[2].policy_version(), 1);
  auto status = (*learner)->Signal(0, absl::Seconds(120));
  ASSERT_TRUE(status.ok()) << status.status() << (*learner)->Log();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << (*learner)->Log();
  std::ifstream state((fs::path(run_dir) / "checkpoints" / "step-000002" / "state.json").string());
  std::string text((std::istreambuf_iterator<char>(state)), std::istreambuf_iterator<char>());
  EXPECT_THAT(text, HasSubstr("\"trained\":8"));
  EXPECT_THAT(text, HasSubstr("\"rejected\":1"));
}

}  // namespace
}  // namespace agentgym::learner
