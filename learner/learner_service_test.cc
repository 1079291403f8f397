// The Learner service over loopback gRPC: ingest acks (malformed ones
// rejected with reasons while the stream keeps serving, resends deduped),
// and weight pulls that reassemble to the model's exact bytes.
#include "learner/learner_service.h"

#include <cstring>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/grpc_server.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "learner/testing/synthetic.h"
#include "policy/checkpoint.h"
#include "policy/test_util.h"

namespace agentgym::learner {
namespace {

namespace lpb = ::agentgym::learner::v1;
using ::testing::HasSubstr;
using testing::MakeGroup;

class LearnerServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = policy::CreateModel(policy::testing::SmallConfig(false, false), torch::kCPU, torch::kFloat32, 5);
    ASSERT_TRUE(m.ok());
    model_ = *m;
    BufferOptions b;
    b.capacity = 16;
    b.group_size = 2;
    b.vocab_size = 61;
    buffer_ = std::make_unique<TrajectoryBuffer>(b);
    auto snapshot = SnapshotWeights(model_, 0);
    ASSERT_TRUE(snapshot.ok()) << snapshot.status();
    weights_.Publish(*snapshot);
    LearnerServiceOptions so;
    so.default_chunk_bytes = 1000;  // many chunks
    service_ = std::make_unique<LearnerService>(so, buffer_.get(), &weights_, [] {
      lpb::LearnerStatus s;
      s.set_policy_version(0);
      return s;
    });
    grpc::ServerBuilder builder;
    ApplyServerDefaults(builder);
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = lpb::Learner::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(port_), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    service_->Shutdown();
    buffer_->Close();
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }

  policy::CausalLm model_{nullptr};
  std::unique_ptr<TrajectoryBuffer> buffer_;
  WeightStore weights_;
  std::unique_ptr<LearnerService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<lpb::Learner::Stub> stub_;
  int port_ = 0;
};

TEST_F(LearnerServiceTest, IngestRejectsMalformedAndKeepsServing) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto stream = stub_->Ingest(&ctx);
  auto group = MakeGroup("g", 61, 1, {1.0, 0.0});
  auto bad = group[0];
  bad.set_trajectory_id("bad");
  bad.set_group_id("other");  // a rejected member would drop its own group
  (*bad.mutable_loss_mask())[0] = 1;  // mask on the prompt
  std::vector<trajectory::v1::Trajectory> sends = {group[0], bad, group[0], group[1]};
  std::vector<lpb::IngestAck> acks;
  for (const auto& t : sends) {
    lpb::IngestRequest r;
    *r.mutable_trajectory() = t;
    ASSERT_TRUE(stream->Write(r));
    lpb::IngestAck ack;
    ASSERT_TRUE(stream->Read(&ack));
    acks.push_back(ack);
  }
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_EQ(acks[0].status(), lpb::ACK_STATUS_ACCEPTED);
  EXPECT_EQ(acks[1].status(), lpb::ACK_STATUS_REJECTED);
  EXPECT_THAT(acks[1].reason(), HasSubstr("prompt"));
  EXPECT_EQ(acks[2].status(), lpb::ACK_STATUS_ACCEPTED);
  EXPECT_TRUE(acks[2].duplicate());
  EXPECT_EQ(acks[3].status(), lpb::ACK_STATUS_ACCEPTED);
  auto batch = buffer_->TakeBatch(1, absl::Seconds(1));
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->trajectories.size(), 2u);  // the resend was not buffered twice
}

TEST_F(LearnerServiceTest, WeightsReassembleToTheModelBytes) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  lpb::GetWeightsRequest req;
  auto reader = stub_->GetWeights(&ctx, req);
  lpb::WeightsChunk chunk;
  ASSERT_TRUE(reader->Read(&chunk));
  ASSERT_TRUE(chunk.has_manifest());
  const lpb::WeightsManifest manifest = chunk.manifest();
  std::string blob;
  int chunks = 0;
  while (reader->Read(&chunk)) {
    ASSERT_FALSE(chunk.has_manifest());
    blob += chunk.data();
    ++chunks;
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_GT(chunks, 1);
  ASSERT_EQ(static_cast<int64_t>(blob.size()), manifest.total_bytes());
  auto named = policy::NamedWeights(model_);
  ASSERT_EQ(manifest.tensors_size(), static_cast<int>(named.size()));
  EXPECT_THAT(manifest.model_config_json(), HasSubstr("hidden_size"));
  for (const auto& e : manifest.tensors()) {
    EXPECT_EQ(e.offset() % kWeightAlignment, 0) << e.name();
    EXPECT_EQ(e.dtype(), "F32");
    auto t = named.at(e.name()).contiguous();
    ASSERT_EQ(e.length(), t.numel() * 4);
    EXPECT_EQ(std::memcmp(blob.data() + e.offset(), t.data_ptr(), e.length()), 0) << e.name();
  }
}

TEST_F(LearnerServiceTest, WeightErrors) {
  {
    grpc::ClientContext ctx;
    lpb::GetWeightsRequest req;
    req.set_version(7);
    auto reader = stub_->GetWeights(&ctx, req);
    lpb::WeightsChunk chunk;
    EXPECT_FALSE(reader->Read(&chunk));
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
  }
  {
    grpc::ClientContext ctx;
    lpb::GetWeightsRequest req;
    req.set_chunk_bytes(-5);
    auto reader = stub_->GetWeights(&ctx, req);
    lpb::WeightsChunk chunk;
    EXPECT_FALSE(reader->Read(&chunk));
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
}

TEST(WeightStoreTest, KeepsTheLatestVersions) {
  auto m = policy::CreateModel(policy::testing::SmallConfig(false, false), torch::kCPU, torch::kFloat32, 5);
  ASSERT_TRUE(m.ok());
  WeightStore store(2);
  EXPECT_EQ(store.Get(0).status().code(), absl::StatusCode::kFailedPrecondition);
  for (int v = 0; v < 3; ++v) store.Publish(*SnapshotWeights(*m, v));
  EXPECT_EQ((*store.Get(0))->version, 2);
  EXPECT_EQ((*store.Get(1))->version, 1);
  EXPECT_EQ(store.Get(5).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace agentgym::learner
