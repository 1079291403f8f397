// Every binary keeps the one exit-code rule (core/cli.h: 0 ok, 2 usage and
// configuration errors, 1 run-time failures) and names the flag or key it
// refuses: missing, empty and malformed config files, out-of-range and
// unparsable values, unknown flags and keys, an unwritable --port-file, a
// taken port and a peer that is not there.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "tests/common/test_process.h"

namespace agentgym::testing {
namespace {

// A loopback port held open (bound and listening) while it lives: "taken".
class TakenPort {
 public:
  TakenPort() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(fd_, 1);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~TakenPort() { close(fd_); }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A loopback port that nothing listens on: bound, then released.
std::string ClosedAddress() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return absl::StrCat("127.0.0.1:", ntohs(addr.sin_port));
}

struct Case {
  std::vector<std::string> args;
  int code;          // the exit code it must give
  std::string says;  // what the output must name (the flag, key or file)
};

class ExitCodesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Write("empty.yaml", "# nothing but a comment\n");
    Write("malformed.yaml", "envs: [textcraft\nlisten: {\n");
  }
  std::string Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_.File(name)) << text;
    return dir_.File(name);
  }
  std::string File(const std::string& name) const { return dir_.File(name); }

  void Sweep(const std::string& binary, const std::vector<Case>& cases) {
    for (const Case& c : cases) {
      SCOPED_TRACE(absl::StrCat(binary, " ", absl::StrJoin(c.args, " ")));
      RunOptions options;
      options.timeout = absl::Seconds(60);
      options.kill_if_serving = true;  // none of these may start serving
      auto run = RunCommand(binary, c.args, options);
      ASSERT_TRUE(run.ok()) << "it hung: " << run.status();
      EXPECT_FALSE(run->started_serving) << run->output;
      EXPECT_EQ(run->exit_code, c.code) << run->output;
      EXPECT_NE(run->output.find(c.says), std::string::npos)
          << "the message does not name '" << c.says << "':\n" << run->output;
    }
  }

  TempDir dir_;
};

TEST_F(ExitCodesTest, EnvServer) {
  TakenPort taken;
  Sweep(AG_ENV_SERVER_BINARY,
        {{{"--config", "/nonexistent/server.yaml"}, 2, "/nonexistent/server.yaml"},
         {{"--config", File("empty.yaml")}, 2, "empty"},
         {{"--config", File("malformed.yaml")}, 2, "malformed.yaml"},
         {{"--max-sessions", "0"}, 2, "--max-sessions"},
         {{"--max-sessions", "many"}, 2, "--max-sessions"},
         {{"--no-such-flag"}, 2, "--no-such-flag"},
         {{"--set", "max_sesions=5"}, 2, "max_sesions"},
         {{"--envs", "textcraft", "--listen", "127.0.0.1:0", "--port-file",
           "/nonexistent/dir/port"}, 2, "--port-file"},
         {{"--envs", "textcraft", "--listen", taken.address()}, 1, taken.address()}});
}

TEST_F(ExitCodesTest, Coordinator) {
  TakenPort taken;
  const std::string config = Write("run.yaml", "envs: [textcraft]\n");
  Sweep(AG_COORDINATOR_BINARY,
        {{{"--config", "/nonexistent/run.yaml"}, 2, "--config"},
         {{"--config", File("empty.yaml")}, 2, "empty"},
         {{"--config", File("malformed.yaml")}, 2, "malformed.yaml"},
         {{"--config", config, "--set", "coordinator.lease_ms=-5"}, 2, "coordinator.lease_ms"},
         {{"--config", config, "--set", "coordinator.max_components=0"}, 2,
          "coordinator.max_components"},
         {{"--config", config, "--set", "coordinator.lese_ms=5"}, 2, "lese_ms"},
         {{"--config", config, "--no-such-flag"}, 2, "--no-such-flag"},
         {{"--config", config, "--state-file", "/nonexistent/dir/state.json", "--listen",
           "127.0.0.1:0"}, 2, "/nonexistent/dir/state.json"},
         {{"--config", config, "--listen", taken.address()}, 1, taken.address()}});
}

TEST_F(ExitCodesTest, Ctl) {
  const std::string closed = ClosedAddress();
  Sweep(AG_CTL_BINARY,
        {{{"--timeout-ms", "0", "status"}, 2, "--timeout-ms"},
         {{"--timeout-ms", "soon", "status"}, 2, "--timeout-ms"},
         {{"frobnicate"}, 2, "frobnicate"},
         {{"--coordinator", closed, "--timeout-ms", "500", "status"}, 1, closed}});
}

TEST_F(ExitCodesTest, Bridge) {
  TakenPort taken;
  const std::string upstream = "textcraft=http://127.0.0.1:9";
  Sweep(AG_BRIDGE_BINARY,
        {{{"--config", "/nonexistent/bridge.yaml"}, 2, "/nonexistent/bridge.yaml"},
         {{"--config", File("empty.yaml")}, 2, "empty"},
         {{"--config", File("malformed.yaml")}, 2, "malformed.yaml"},
         {{"--upstream", upstream, "--max-sessions", "0"}, 2, "--max-sessions"},
         {{"--upstream", upstream, "--max-sessions", "x"}, 2, "--max-sessions"},
         {{"--upstream", upstream, "--bogus"}, 2, "--bogus"},
         {{"--upstream", upstream, "--listen", "127.0.0.1:0", "--port-file",
           "/nonexistent/dir/port"}, 2, "--port-file"},
         {{"--upstream", upstream, "--listen", taken.address()}, 1, taken.address()}});
}

TEST_F(ExitCodesTest, EnvCheck) {
  const std::string closed = ClosedAddress();
  Sweep(AG_ENV_CHECK_BINARY,
        {{{}, 2, "--target"},
         {{"--target", closed, "--concurrency", "0"}, 2, "--concurrency"},
         {{"--target", closed, "--rpc-timeout-s", "nan"}, 2, "--rpc-timeout-s"},
         {{"--target", closed, "--bogus"}, 2, "--bogus"},
         {{"--target", closed, "--rpc-timeout-s", "1", "--skip-ttl"}, 1,
          "cannot connect to " + closed}});
}

TEST_F(ExitCodesTest, EnvPlay) {
  const std::string closed = ClosedAddress();
  Sweep(AG_ENV_PLAY_BINARY,
        {{{"--target", closed}, 2, "--env"},
         {{"--env", "babyai", "--timeout-s", "-1"}, 2, "--timeout-s"},
         {{"--env", "babyai", "--max-turns", "x"}, 2, "--max-turns"},
         {{"--target", closed, "--env", "babyai", "--timeout-s", "1"}, 1,
          "cannot connect to " + closed},
         {{"--target", closed, "--env", "nosuch", "--scripted"}, 1, "no scripted oracle"}});
}

TEST_F(ExitCodesTest, Actor) {
  // Every case stops before the actor loads a model or dials the
  // coordinator (actor_integration_test covers a coordinator not there).
  const std::string closed = ClosedAddress();
  const std::string config = Write("actor.yaml", "actor: {concurrent_episodes: 4}\n");
  Sweep(AG_ACTOR_BINARY,
        {{{"--coordinator", closed}, 2, "--config"},
         {{"--config", "/nonexistent/run.yaml", "--coordinator", closed}, 2,
          "/nonexistent/run.yaml"},
         {{"--config", File("empty.yaml"), "--coordinator", closed}, 2, "empty"},
         {{"--config", File("malformed.yaml"), "--coordinator", closed}, 2, "malformed.yaml"},
         {{"--config", config}, 2, "--coordinator"},
         {{"--config", config, "--coordinator", closed, "--set", "actor.top_p=2"}, 2,
          "actor.top_p"},
         {{"--config", config, "--coordinator", closed, "--set", "actor.top_q=1"}, 2, "top_q"},
         {{"--config", config, "--coordinator", closed, "--max-episodes", "-1"}, 2,
          "--max-episodes"},
         {{"--config", config, "--coordinator", closed, "--max-episodes", "many"}, 2,
          "--max-episodes"},
         {{"--config", config, "--coordinator", closed, "--bogus"}, 2, "--bogus"},
         {{"--config", config, "--coordinator", closed}, 2, "model.dir"}});
}

TEST_F(ExitCodesTest, Learner) {
  TakenPort taken;
  const std::string config =
      Write("learner.yaml", "model: {preset: tiny}\nalgorithm: {name: grpo, group_size: 2}\n");
  const std::string run_dir = File("learner-run");
  // A directory where the port file should go: the check before serving
  // passes (it writes <path>.tmp), the write once serving (a rename onto the
  // directory) fails.
  const std::string port_dir = File("port-dir");
  std::filesystem::create_directory(port_dir);
  const std::vector<std::string> base = {"--config", config, "--run-dir", run_dir};
  auto with = [&](std::vector<std::string> more) {
    std::vector<std::string> args = base;
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  Sweep(AG_LEARNER_BINARY,
        {{{"--config", config}, 2, "--run-dir"},
         {{"--config", "/nonexistent/run.yaml", "--run-dir", run_dir}, 2, "--config"},
         {{"--config", File("empty.yaml"), "--run-dir", run_dir}, 2, "empty"},
         {{"--config", File("malformed.yaml"), "--run-dir", run_dir}, 2, "malformed.yaml"},
         {with({"--set", "algorithm.clip_eps=-1"}), 2, "algorithm.clip_eps"},
         {with({"--set", "learner.grups_per_step=2"}), 2, "grups_per_step"},
         {with({"--rank", "1"}), 2, "--rank"},
         {with({"--max-steps", "many"}), 2, "--max-steps"},
         {with({"--listen", "127.0.0.1:port"}), 2, "--listen"},
         {with({"--bogus"}), 2, "--bogus"},
         {with({"--listen", "127.0.0.1:0", "--port-file", "/nonexistent/dir/port"}), 2,
          "--port-file"},
         {with({"--listen", "127.0.0.1:0", "--port-file", port_dir}), 1, "--port-file"},
         {with({"--listen", taken.address()}), 1, taken.address()}});
}

}  // namespace
}  // namespace agentgym::testing
