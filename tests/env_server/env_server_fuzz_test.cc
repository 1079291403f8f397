// Hostile input against the real `agentgym-env-server` binary: random bytes
// and 10 MB actions, bad env / task / session ids, undecodable request
// frames, 10,000 sessions against the 4,096 cap, and many threads of junk at
// once. Every request gets a clean gRPC status with a bounded message, and the
// server keeps serving (checked with health probes and a full episode).

#include <atomic>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "core/grpc_status.h"
#include "core/text.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/test_process.h"
#include "tests/env_server/env_test_util.h"

namespace agentgym::testing {
namespace {

namespace v1 = env::v1;
using ::testing::HasSubstr;

constexpr size_t kMaxMessageBytes = 1000;  // errors quote input, but never much of it

std::string RandomBytes(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// Printable ASCII, multi-byte characters and control characters: valid UTF-8.
std::string RandomText(std::mt19937_64& rng, size_t n) {
  static const char* kPieces[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\n", "\t",
                                  "Action: ", "craft", "get", "go to", " using ", ","};
  std::string s;
  while (s.size() < n) {
    if (rng() % 3 == 0) {
      s += kPieces[rng() % std::size(kPieces)];
    } else {
      s += static_cast<char>(rng() % 2 ? ' ' + rng() % 95 : rng() % 32);
    }
  }
  return s;
}

// A status the contract allows for a bad request: a known code and a short
// message that says something.
void ExpectCleanError(const absl::Status& status, absl::StatusCode code, const std::string& what) {
  EXPECT_EQ(status.code(), code) << what << ": " << status;
  EXPECT_FALSE(status.message().empty()) << what;
  EXPECT_LT(status.message().size(), kMaxMessageBytes) << what;
}

class EnvServerFuzzTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = ServerProcess::Start(AG_ENV_SERVER_BIN, {"--envs", "textcraft,babyai"});
    EXPECT_TRUE(server.ok()) << server.status();
    if (server.ok()) server_ = server->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    ASSERT_TRUE(server_->Running()) << server_->Log();
    client_ = MakeClient(server_->target());
  }
  // After every test: alive, healthy, and able to finish a real episode.
  void TearDown() override {
    if (server_ == nullptr) return;
    ASSERT_TRUE(server_->Running()) << "the server died:\n" << server_->Log();
    auto serving = IsServing(server_->target());
    ASSERT_TRUE(serving.ok()) << serving.status();
    EXPECT_TRUE(*serving);
    auto played = PlayScripted(*client_, "textcraft", "depth2", env::Split::kTrain, 99);
    ASSERT_TRUE(played.ok()) << played.status();
    EXPECT_TRUE(played->success);
  }

  std::string NewSession(const std::string& env_name, uint64_t seed = 1) {
    v1::CreateRequest req;
    req.set_env(env_name);
    req.set_seed(seed);
    req.mutable_sample();
    auto resp = client_->Create(req);
    EXPECT_TRUE(resp.ok()) << resp.status();
    return resp.ok() ? resp->session_id() : "";
  }

  static ServerProcess* server_;
  std::unique_ptr<env::EnvClient> client_;
};

ServerProcess* EnvServerFuzzTest::server_ = nullptr;

TEST_F(EnvServerFuzzTest, RandomBytesInActionsGetObservationsOrInvalidArgument) {
  std::mt19937_64 rng(20240917);
  for (const char* env_name : {"textcraft", "babyai"}) {
    std::string id = NewSession(env_name);
    int answered = 0, rejected = 0, text_sent = 0, text_answered = 0;
    for (int i = 0; i < 600; ++i) {
      const size_t len = rng() % 3 == 0 ? rng() % 4096 : rng() % 64;
      const bool text = i % 2 == 0;
      std::string action = text ? RandomText(rng, len) : RandomBytes(rng, len);
      text_sent += text ? 1 : 0;
      auto r = client_->Step(id, action);
      if (r.ok()) {
        ++answered;
        text_answered += text ? 1 : 0;
        EXPECT_FALSE(r->observation().empty());
        EXPECT_TRUE(IsValidUtf8(r->observation())) << "the env echoed bytes that are not UTF-8";
        if (r->done() || r->truncated()) {
          v1::ResetRequest reset;
          reset.set_session_id(id);
          ASSERT_TRUE(client_->Reset(reset).ok());
        }
      } else if (r.status().code() == absl::StatusCode::kFailedPrecondition) {
        ADD_FAILURE() << "stepped an ended episode: " << r.status();
      } else {
        ++rejected;
        ExpectCleanError(r.status(), absl::StatusCode::kInvalidArgument, "random bytes");
        EXPECT_THAT(std::string(r.status().message()), HasSubstr("UTF-8"));
        EXPECT_FALSE(IsValidUtf8(action)) << "valid UTF-8 was rejected: " << r.status();
      }
    }
    EXPECT_EQ(text_answered, text_sent) << env_name;  // all text is answered in-game
    EXPECT_EQ(answered + rejected, 600) << env_name;
    EXPECT_GT(rejected, 100) << env_name;  // most random byte strings are not UTF-8
    EXPECT_TRUE(client_->Close(id).ok());
  }
}

TEST_F(EnvServerFuzzTest, TenMegabyteActionsAreInvalidArgumentAndLeaveTheSessionAlone) {
  std::string id = NewSession("textcraft");
  const std::string huge(10 << 20, 'a');
  auto r = client_->Step(id, huge);
  ExpectCleanError(r.status(), absl::StatusCode::kInvalidArgument, "10 MB action");
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("limit"));
  std::mt19937_64 rng(5);
  auto binary = client_->Step(id, RandomBytes(rng, 10 << 20));
  ExpectCleanError(binary.status(), absl::StatusCode::kInvalidArgument, "10 MB of bytes");

  // Inside a batch the oversized item fails alone.
  v1::BatchStepRequest batch;
  batch.add_items()->set_session_id(id);
  batch.mutable_items(0)->set_action(huge);
  batch.add_items()->set_session_id(id);
  batch.mutable_items(1)->set_action("inventory");
  auto b = client_->BatchStep(batch);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->items(0).error().code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(b->items(1).error().code(), 0);
  EXPECT_EQ(b->items(1).result().turn(), 1) << "rejected actions must not spend turns";

  // Just under the limit is accepted as text (and refused in-game).
  auto at_limit = client_->Step(id, std::string(64 * 1024, 'x'));
  ASSERT_TRUE(at_limit.ok()) << at_limit.status();
  EXPECT_FALSE(at_limit->action_valid());
  EXPECT_EQ(at_limit->turn(), 2);
  EXPECT_TRUE(client_->Close(id).ok());
}

TEST_F(EnvServerFuzzTest, BadEnvTaskAndSessionIdsAreNotFoundWithAMessage) {
  const std::string long_id(1 << 20, 'z');
  for (const std::string& env_name : {std::string(""), std::string("nope"), std::string("TEXTCRAFT"),
                                      std::string("textcraft "), long_id,
                                      std::string("\xe2\x82\xac")}) {
    v1::CreateRequest req;
    req.set_env(env_name);
    req.mutable_sample();
    ExpectCleanError(client_->Create(req).status(), absl::StatusCode::kNotFound, "env id");
    v1::ListTasksRequest list;
    list.set_env(env_name);
    ExpectCleanError(client_->ListTasks(list).status(), absl::StatusCode::kNotFound, "env id");
  }
  for (const std::string& task_id :
       {std::string(""), std::string("depth1"), std::string("depth1/train"),
        std::string("depth9/train/0"), std::string("depth1/valid/0"), std::string("depth1/train/-1"),
        std::string("depth1/train/+1"), std::string("depth1/train/01"),
        std::string("depth1/train/ 1"), std::string("depth1/train/99999999999999999999999"),
        std::string("depth1/train/1000000"), std::string("depth1/train/0/extra"),
        std::string("../../etc/passwd"), long_id}) {
    v1::CreateRequest req;
    req.set_env("textcraft");
    req.set_task_id(task_id);
    ExpectCleanError(client_->Create(req).status(), absl::StatusCode::kNotFound,
                     "task id '" + task_id.substr(0, 40) + "'");
  }
  {
    v1::CreateRequest req;
    req.set_env("babyai");
    req.mutable_sample()->set_task_type("GoTo-but-wrong");
    ExpectCleanError(client_->Create(req).status(), absl::StatusCode::kNotFound, "task type");
    req.mutable_sample()->set_task_type("");
    req.mutable_sample()->set_split(static_cast<v1::Split>(99));
    ExpectCleanError(client_->Create(req).status(), absl::StatusCode::kInvalidArgument, "split");
    req.mutable_sample()->set_split(v1::SPLIT_TEST);
    req.set_idle_ttl_ms(-1);
    ExpectCleanError(client_->Create(req).status(), absl::StatusCode::kInvalidArgument, "ttl");
  }
  {
    v1::ListTasksRequest list;
    list.set_env("babyai");
    list.set_page_size(-1);
    ExpectCleanError(client_->ListTasks(list).status(), absl::StatusCode::kInvalidArgument,
                     "page size");
    list.set_page_size(10);
    list.set_page_token("not-a-token");
    ExpectCleanError(client_->ListTasks(list).status(), absl::StatusCode::kInvalidArgument,
                     "page token");
    list.set_page_token("");
    list.set_task_type("nope");
    ExpectCleanError(client_->ListTasks(list).status(), absl::StatusCode::kNotFound, "type");
  }
  std::string closed = NewSession("babyai");
  ASSERT_TRUE(client_->Close(closed).ok());
  for (const std::string& session : {std::string(""), std::string("s-"), closed,
                                     closed + "x", std::string("s-0000000000000000"), long_id}) {
    ExpectCleanError(client_->Step(session, "turn left").status(), absl::StatusCode::kNotFound,
                     "step session");
    v1::ResetRequest reset;
    reset.set_session_id(session);
    ExpectCleanError(client_->Reset(reset).status(), absl::StatusCode::kNotFound, "reset");
    ExpectCleanError(client_->Close(session), absl::StatusCode::kNotFound, "close");
  }
  // An ended episode (solved or out of turns) refuses steps until Reset.
  v1::CreateRequest req;
  req.set_env("babyai");
  req.set_task_id("one_room/train/0");
  auto session = client_->Create(req);
  ASSERT_TRUE(session.ok()) << session.status();
  absl::StatusOr<v1::StepResult> last;
  for (int t = 0; t < 100; ++t) {
    last = client_->Step(session->session_id(), "turn left");
    ASSERT_TRUE(last.ok()) << last.status();
    if (last->done() || last->truncated()) break;
  }
  ASSERT_TRUE(last->done() || last->truncated());
  ExpectCleanError(client_->Step(session->session_id(), "turn left").status(),
                   absl::StatusCode::kFailedPrecondition, "ended episode");
  v1::ResetRequest reset;
  reset.set_session_id(session->session_id());
  ASSERT_TRUE(client_->Reset(reset).ok());
  EXPECT_TRUE(client_->Step(session->session_id(), "turn left").ok());
  EXPECT_TRUE(client_->Close(session->session_id()).ok());
}

// Sends `payload` as the raw request message of `method`.
grpc::Status RawCall(const std::string& target, const std::string& method,
                     const std::string& payload) {
  auto channel = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::Slice slice(payload);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::ClientContext context;
  SetDeadline(context, absl::Seconds(20));
  absl::Notification done;
  grpc::Status status;
  stub.UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();  // bounded by the call's deadline
  return status;
}

TEST_F(EnvServerFuzzTest, UndecodableRequestFramesAreRejected) {
  const std::string target = server_->target();
  // A StepRequest whose session_id (field 1) is not UTF-8: proto3 refuses to
  // parse it, and the server says so (the default callback API parses
  // requests itself; see EnvCallbackService).
  const std::string bad_utf8_id("\x0a\x02\xff\xfe\x12\x01x", 7);
  grpc::Status s = RawCall(target, "/agentgym.env.v1.Env/Step", bad_utf8_id);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_code();
  EXPECT_THAT(s.error_message(), HasSubstr("not a valid agentgym.env.v1.StepRequest"));
  // A length prefix that runs past the end of the message.
  s = RawCall(target, "/agentgym.env.v1.Env/Create", std::string("\x0a\x7f" "textcraft", 11));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_code();
  EXPECT_THAT(s.error_message(), HasSubstr("CreateRequest"));
  // An unknown method.
  s = RawCall(target, "/agentgym.env.v1.Env/Explode", "");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED);

  // Random frames at every method: any status is fine (random bytes may even
  // parse as a message), as long as the call completes and the server lives.
  const std::vector<std::string> methods = {"ListEnvs", "ListTasks", "Create", "Step", "Reset",
                                            "Close", "BatchCreate", "BatchStep", "BatchClose"};
  std::mt19937_64 rng(77);
  std::set<grpc::StatusCode> seen;
  for (int i = 0; i < 300; ++i) {
    const std::string method = "/agentgym.env.v1.Env/" + methods[i % methods.size()];
    grpc::Status r = RawCall(target, method, RandomBytes(rng, rng() % 200));
    EXPECT_NE(r.error_code(), grpc::StatusCode::UNAVAILABLE) << method << ": " << r.error_message();
    EXPECT_NE(r.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << method;
    seen.insert(r.error_code());
  }
  EXPECT_TRUE(seen.count(grpc::StatusCode::INVALID_ARGUMENT)) << "no frame was undecodable?";
  EXPECT_FALSE(seen.count(grpc::StatusCode::INTERNAL));
  EXPECT_FALSE(seen.count(grpc::StatusCode::UNKNOWN));
  ASSERT_TRUE(server_->Running()) << server_->Log();
}

TEST_F(EnvServerFuzzTest, OversizedBatchesAreInvalidArgument) {
  auto envs = client_->ListEnvs();
  ASSERT_TRUE(envs.ok());
  const int limit = static_cast<int>(envs->max_batch_items());
  v1::BatchStepRequest step;
  for (int i = 0; i <= limit; ++i) step.add_items()->set_session_id("s-nope");
  auto r = client_->BatchStep(step);
  ExpectCleanError(r.status(), absl::StatusCode::kInvalidArgument, "batch size");
  EXPECT_THAT(std::string(r.status().message()), HasSubstr(std::to_string(limit)));
  v1::BatchCloseRequest close;
  for (int i = 0; i <= limit; ++i) close.add_session_ids("s-nope");
  ExpectCleanError(client_->BatchClose(close).status(), absl::StatusCode::kInvalidArgument,
                   "batch close size");
}

// Many client threads mixing good and bad calls against shared sessions: every
// answer has a code the contract names, never UNKNOWN, INTERNAL or
// UNAVAILABLE, and nothing deadlocks (every call has a deadline).
TEST_F(EnvServerFuzzTest, ConcurrentMixedTrafficGetsOnlyContractCodes) {
  constexpr int kThreads = 6;
  constexpr int kOpsPerThread = 400;
  std::atomic<int> bad_codes{0};
  std::atomic<int> ok_calls{0};
  std::vector<std::thread> threads;
  absl::Mutex mu;
  std::vector<std::string> shared_ids;  // ABSL_GUARDED_BY(mu)
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(1000 + t);
      auto client = MakeClient(server_->target());
      auto pick = [&]() -> std::string {
        absl::MutexLock lock(&mu);
        if (shared_ids.empty() || rng() % 8 == 0) return "s-bogus";
        return shared_ids[rng() % shared_ids.size()];
      };
      auto check = [&](const absl::Status& s) {
        static const std::set<absl::StatusCode> kAllowed = {
            absl::StatusCode::kOk, absl::StatusCode::kNotFound,
            absl::StatusCode::kInvalidArgument, absl::StatusCode::kFailedPrecondition,
            absl::StatusCode::kResourceExhausted};
        if (!kAllowed.count(s.code())) {
          ++bad_codes;
          ADD_FAILURE() << s;
        }
        if (s.ok()) ++ok_calls;
      };
      for (int i = 0; i < kOpsPerThread; ++i) {
        switch (rng() % 6) {
          case 0: {
            v1::CreateRequest req;
            req.set_env(rng() % 2 ? "textcraft" : (rng() % 5 ? "babyai" : "nope"));
            req.set_seed(rng());
            req.mutable_sample();
            auto r = client->Create(req);
            check(r.status());
            if (r.ok()) {
              absl::MutexLock lock(&mu);
              shared_ids.push_back(r->session_id());
            }
            break;
          }
          case 1:
          case 2: {
            std::string action = rng() % 3 ? RandomText(rng, rng() % 40) : RandomBytes(rng, 20);
            check(client->Step(pick(), action).status());
            break;
          }
          case 3: {
            v1::BatchStepRequest req;
            const int n = 1 + static_cast<int>(rng() % 32);
            for (int k = 0; k < n; ++k) {
              auto* item = req.add_items();
              item->set_session_id(pick());
              item->set_action(rng() % 2 ? "inventory" : "check available actions");
            }
            auto r = client->BatchStep(req);
            check(r.status());
            if (r.ok()) {
              for (const auto& item : r->items()) {
                check(absl::Status(static_cast<absl::StatusCode>(item.error().code()), "item"));
              }
            }
            break;
          }
          case 4: {
            v1::ResetRequest req;
            req.set_session_id(pick());
            check(client->Reset(req).status());
            break;
          }
          default:
            if (rng() % 4 == 0) check(client->Close(pick()));
            break;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad_codes.load(), 0);
  EXPECT_GT(ok_calls.load(), kThreads * kOpsPerThread / 4);
  v1::BatchCloseRequest close;
  for (const auto& id : shared_ids) close.add_session_ids(id);
  ASSERT_TRUE(client_->BatchClose(close).ok());
}

// 10,000 sessions against the default cap of 4,096: exactly the cap is
// created, the rest get RESOURCE_EXHAUSTED, the open sessions keep working,
// and closing frees capacity again. A server of its own, so the cap is full.
TEST(EnvServerCapTest, TenThousandSessionsPastTheCapAreResourceExhausted) {
  auto server = ServerProcess::Start(AG_ENV_SERVER_BIN, {"--envs", "textcraft,babyai"});
  ASSERT_TRUE(server.ok()) << server.status();
  auto client = MakeClient((*server)->target(), absl::Seconds(60));
  auto envs = client->ListEnvs();
  ASSERT_TRUE(envs.ok());
  const int64_t cap = envs->max_sessions();
  ASSERT_EQ(cap, 4096);

  constexpr int kSessions = 10000;
  std::vector<std::string> created;
  int exhausted = 0;
  // 8,000 through the batched path, 2,000 as unary calls from 4 threads.
  for (int batch = 0; batch < 8; ++batch) {
    v1::BatchCreateRequest req;
    for (int i = 0; i < 1000; ++i) {
      auto* item = req.add_items();
      item->set_env(i % 2 ? "textcraft" : "babyai");
      item->set_seed(batch * 1000 + i);
      item->mutable_sample();
    }
    auto resp = client->BatchCreate(req);
    ASSERT_TRUE(resp.ok()) << resp.status();
    for (const auto& item : resp->items()) {
      if (item.error().code() == 0) {
        created.push_back(item.created().session_id());
      } else {
        EXPECT_EQ(item.error().code(), static_cast<int>(absl::StatusCode::kResourceExhausted));
        EXPECT_THAT(item.error().message(), HasSubstr("maximum"));
        ++exhausted;
      }
    }
  }
  std::atomic<int> unary_exhausted{0}, unary_created{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto c = MakeClient((*server)->target());
      for (int i = 0; i < 500; ++i) {
        v1::CreateRequest req;
        req.set_env("textcraft");
        req.set_seed(t * 500 + i);
        req.mutable_sample();
        auto r = c->Create(req);
        if (r.ok()) {
          ++unary_created;
        } else {
          EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted) << r.status();
          ++unary_exhausted;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(static_cast<int64_t>(created.size()) + unary_created.load(), cap);
  EXPECT_EQ(exhausted + unary_exhausted.load(), kSessions - cap);

  // The open sessions still step, and the server still answers discovery.
  v1::BatchStepRequest step;
  for (int i = 0; i < 500; ++i) {
    auto* item = step.add_items();
    item->set_session_id(created[i * 7 % created.size()]);
    item->set_action("inventory");
  }
  auto stepped = client->BatchStep(step);
  ASSERT_TRUE(stepped.ok()) << stepped.status();
  for (const auto& item : stepped->items()) EXPECT_EQ(item.error().code(), 0);
  EXPECT_TRUE(client->ListEnvs().ok());

  // Closing frees capacity.
  v1::BatchCloseRequest close;
  for (const auto& id : created) close.add_session_ids(id);
  auto closed = client->BatchClose(close);
  ASSERT_TRUE(closed.ok()) << closed.status();
  for (const auto& e : closed->errors()) EXPECT_EQ(e.code(), 0);
  auto played = PlayScripted(*client, "babyai", "goto", env::Split::kTest, 3);
  ASSERT_TRUE(played.ok()) << played.status();
  EXPECT_TRUE(played->success);
  EXPECT_TRUE((*server)->Running());
}

}  // namespace
}  // namespace agentgym::testing
