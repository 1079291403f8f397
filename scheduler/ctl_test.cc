#include "scheduler/ctl.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "scheduler/coordinator_server.h"

namespace agentgym::scheduler {
namespace {

struct Result {
  int code;
  std::string out, err;
};

Result Ctl(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  int code = RunCtl(args, out, err);
  return {code, out.str(), err.str()};
}

CoordinatorServerOptions Options() {
  CoordinatorServerOptions o;
  o.listen = "127.0.0.1:0";
  o.service.envs = {{"textcraft", 1.0, {{"t-0", "depth1"}, {"t-1", "depth1"}}},
                    {"babyai", 2.0, {{"b-0", "GoTo"}}}};
  o.service.curriculum.default_track = {{10, 20, 30}, {0, 100, 200}};
  o.service.curriculum.per_env["babyai"] = {{6, 13, 20}, {0, 100, 200}};
  return o;
}

// agentgym-ctl's code path against an in-process coordinator.
class CtlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = CoordinatorServer::Start(Options(), Clock::Real(), &metrics_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    address_ = server_->address();
    pb::RegisterRequest env;
    env.set_role(pb::ROLE_ENV_SERVER);
    env.set_address("127.0.0.1:5001");
    env.set_name("envs-1");
    env.mutable_capabilities()->add_envs("textcraft");
    pb::RegisterResponse resp;
    grpc::ServerContext ctx;
    ASSERT_TRUE(server_->service().Register(&ctx, &env, &resp).ok());
    env_id_ = resp.component_id();
  }
  std::vector<std::string> With(std::vector<std::string> args) {
    args.insert(args.begin(), {"--coordinator", address_});
    return args;
  }

  metrics::Registry metrics_;
  std::unique_ptr<CoordinatorServer> server_;
  std::string address_;
  std::string env_id_;
};

TEST_F(CtlTest, StatusPrintsAlignedTables) {
  Result r = Ctl(With({"status"}));
  ASSERT_EQ(r.code, kCtlOk) << r.err;
  EXPECT_NE(r.out.find("step 0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("HORIZON    MODE   STAGE  MAX_TURNS  SCHEDULE  SINCE_STEP  PINNED"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("(default)  fixed  1/3    10         10,20,30  0           no"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("babyai     fixed  1/3    6          6,13,20"), std::string::npos);
  EXPECT_NE(r.out.find("env_server 1 up"), std::string::npos) << r.out;
}

TEST_F(CtlTest, ComponentsAndJson) {
  Result r = Ctl(With({"components"}));
  ASSERT_EQ(r.code, kCtlOk) << r.err;
  EXPECT_NE(r.out.find("ID"), std::string::npos);
  EXPECT_NE(r.out.find(env_id_), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("envs=textcraft"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("up"), std::string::npos);

  Result j = Ctl(With({"--json", "status"}));
  ASSERT_EQ(j.code, kCtlOk) << j.err;
  auto json = nlohmann::json::parse(j.out);
  EXPECT_EQ(json["components"][0]["component_id"], env_id_);
  EXPECT_EQ(json["components"][0]["health"], "HEALTH_UP");
  EXPECT_EQ(json["horizon"]["tracks"].size(), 2u);
}

TEST_F(CtlTest, SetHorizonPauseAndResume) {
  Result r = Ctl(With({"set-horizon", "--env", "babyai", "9"}));
  ASSERT_EQ(r.code, kCtlOk) << r.err;
  EXPECT_EQ(r.out, "track babyai: max turns 6 -> 9 (stage 1, manual)\n");
  r = Ctl(With({"status"}));
  EXPECT_NE(r.out.find("babyai     fixed  1/3    9          6,13,20   0           yes"),
            std::string::npos)
      << r.out;
  r = Ctl(With({"set-horizon", "--release"}));
  ASSERT_EQ(r.code, kCtlOk) << r.err;
  EXPECT_NE(r.out.find("track babyai: max turns 9 -> 6 (stage 1, release)"), std::string::npos)
      << r.out;

  r = Ctl(With({"pause", "--reason", "maintenance"}));
  ASSERT_EQ(r.code, kCtlOk);
  EXPECT_EQ(r.out, "run paused\n");
  EXPECT_NE(Ctl(With({"status"})).out.find("PAUSED"), std::string::npos);
  EXPECT_EQ(Ctl(With({"pause"})).out, "run was already paused\n");
  EXPECT_EQ(Ctl(With({"resume"})).out, "run resumed\n");
  EXPECT_EQ(Ctl(With({"--json", "resume"})).out, "{\"paused\":false,\"was_paused\":false}\n");
}

TEST_F(CtlTest, BadRequestsPrintTheCoordinatorsReason) {
  Result r = Ctl(With({"set-horizon", "--max-turns=-3"}));
  EXPECT_EQ(r.code, kCtlRequestFailed);
  EXPECT_NE(r.err.find("INVALID_ARGUMENT"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("got -3"), std::string::npos) << r.err;
  r = Ctl(With({"set-horizon", "--env", "nethack", "5"}));
  EXPECT_EQ(r.code, kCtlRequestFailed);
  EXPECT_NE(r.err.find("no horizon track for env 'nethack'"), std::string::npos) << r.err;
  r = Ctl(With({"set-horizon", "--stage", "9"}));
  EXPECT_EQ(r.code, kCtlRequestFailed);
  EXPECT_NE(r.err.find("OUT_OF_RANGE"), std::string::npos) << r.err;
  r = Ctl(With({"set-horizon"}));
  EXPECT_EQ(r.code, kCtlUsage);
  EXPECT_EQ(Ctl(With({"frobnicate"})).code, kCtlUsage);
}

TEST_F(CtlTest, WatchStreamsUpdates) {
  Result r = Ctl(With({"watch", "--count", "2", "--interval-ms", "20"}));
  ASSERT_EQ(r.code, kCtlOk) << r.err;
  size_t first = r.out.find("---- ");
  ASSERT_NE(first, std::string::npos);
  EXPECT_NE(r.out.find("---- ", first + 1), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("HORIZON"), std::string::npos);
}

TEST(CtlUnreachableTest, SaysItCannotReachTheCoordinator) {
  Result r = Ctl({"--coordinator", "127.0.0.1:1", "--timeout-ms", "2000", "status"});
  EXPECT_EQ(r.code, kCtlUnreachable);
  EXPECT_NE(r.err.find("cannot reach the coordinator at 127.0.0.1:1"), std::string::npos)
      << r.err;
  r = Ctl({"--coordinator", "127.0.0.1:1", "--timeout-ms", "500", "watch"});
  EXPECT_EQ(r.code, kCtlUnreachable);
}

// The real binaries: agentgym-coordinator on a free port, agentgym-ctl talking
// to it.
std::pair<int, std::string> RunCommand(const std::string& command) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return {-1, ""};
  std::string output;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof(buffer), pipe)) output.append(buffer, n);
  int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

TEST(CtlBinaryTest, CtlTalksToARealCoordinatorProcess) {
  std::string config = absl::StrCat("/tmp/ctl_test_config.", ::getpid(), ".yaml");
  {
    std::ofstream out(config);
    out << "envs:\n  - {name: textcraft, weight: 1, tasks: [a, b, c]}\n"
           "curriculum: {horizons: [8, 12, 15], stage_steps: 80}\n";
  }
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    execl(AG_COORDINATOR_BIN, "agentgym-coordinator", "--config", config.c_str(), "--listen",
          "127.0.0.1:0", "--log-level", "warn", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  FILE* child_out = fdopen(fds[0], "r");
  char line[256] = {0};
  // The coordinator prints its address once it serves, or exits (EOF).
  ASSERT_NE(fgets(line, sizeof(line), child_out), nullptr);
  std::string text(line);
  ASSERT_EQ(text.rfind("listening on ", 0), 0u) << text;
  std::string address = text.substr(13, text.find('\n') - 13);

  auto [code, out] = RunCommand(absl::StrCat(AG_CTL_BIN, " --coordinator ", address, " status"));
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("8,12,15"), std::string::npos) << out;
  std::tie(code, out) =
      RunCommand(absl::StrCat(AG_CTL_BIN, " --coordinator ", address, " set-horizon 0"));
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("must be in 1.."), std::string::npos) << out;
  std::tie(code, out) = RunCommand(
      absl::StrCat(AG_CTL_BIN, " --coordinator 127.0.0.1:1 --timeout-ms 1000 components"));
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("cannot reach the coordinator"), std::string::npos) << out;

  kill(pid, SIGTERM);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  fclose(child_out);
  std::remove(config.c_str());
}

}  // namespace
}  // namespace agentgym::scheduler
