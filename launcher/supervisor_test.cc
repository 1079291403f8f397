#include "launcher/supervisor.h"

#include <signal.h>

#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/test_process.h"

namespace agentgym::launcher {
namespace {

using ::testing::HasSubstr;

SupervisorOptions FastOptions() {
  SupervisorOptions o;
  o.initial_backoff = absl::Milliseconds(10);
  o.max_backoff = absl::Milliseconds(80);
  o.crash_loop_count = 4;
  o.crash_loop_window = absl::Seconds(30);
  return o;
}

ChildSpec Shell(const std::string& name, const std::string& script, const std::string& log) {
  ChildSpec spec;
  spec.name = name;
  spec.binary = "/bin/sh";
  spec.args = {"-c", script};
  spec.log_path = log;
  return spec;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Polls until `done` or `timeout`; true when done.
template <typename F>
bool PollUntil(Supervisor& s, F done, absl::Duration timeout, std::vector<ChildExit>* exits) {
  const absl::Time end = absl::Now() + timeout;
  while (absl::Now() < end) {
    for (ChildExit& e : s.Poll()) exits->push_back(e);
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return false;
}

TEST(SupervisorTest, CrashingChildIsRestartedWithBackoffUntilCrashLoop) {
  testing::TempDir dir;
  auto s = Supervisor::Create(FastOptions());
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->Start(Shell("crasher", "echo started $$; echo oops >&2; exit 3",
                                dir.File("crasher.log")))
                  .ok());
  std::vector<ChildExit> exits;
  ASSERT_TRUE(PollUntil(**s, [&] { return !(*s)->failure().ok(); }, absl::Seconds(20), &exits));
  // 4 exits: the first three restarted with growing backoff, the fourth ends it.
  ASSERT_EQ(exits.size(), 4u);
  for (size_t i = 0; i < exits.size(); ++i) {
    EXPECT_EQ(exits[i].exit_code, 3);
    EXPECT_EQ(exits[i].will_restart, i < 3) << i;
  }
  EXPECT_EQ((*s)->starts("crasher"), 4);
  EXPECT_TRUE((*s)->Finished("crasher"));
  const std::string message = std::string((*s)->failure().message());
  EXPECT_THAT(message, HasSubstr("crasher crashed 4 times"));
  EXPECT_THAT(message, HasSubstr("exit code 3"));
  EXPECT_THAT(message, HasSubstr("oops"));  // its last log lines
  // Every start appended to the one log.
  const std::string log = ReadAll(dir.File("crasher.log"));
  size_t starts = 0;
  for (size_t p = 0; (p = log.find("started", p)) != std::string::npos; ++p) ++starts;
  EXPECT_EQ(starts, 4u);
}

TEST(SupervisorTest, BackoffDoublesBetweenRestarts) {
  testing::TempDir dir;
  SupervisorOptions o = FastOptions();
  o.initial_backoff = absl::Milliseconds(100);
  o.max_backoff = absl::Milliseconds(400);
  o.crash_loop_count = 100;
  auto s = Supervisor::Create(o);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->Start(Shell("c", "exit 1", dir.File("c.log"))).ok());
  std::vector<absl::Time> start_times = {absl::Now()};
  std::vector<ChildExit> exits;
  int seen = 1;
  ASSERT_TRUE(PollUntil(
      **s,
      [&] {
        if ((*s)->starts("c") > seen) {
          seen = (*s)->starts("c");
          start_times.push_back(absl::Now());
        }
        return seen >= 4;
      },
      absl::Seconds(20), &exits));
  // Gaps: >= 100 ms, >= 200 ms, >= 400 ms (capped).
  EXPECT_GE(start_times[1] - start_times[0], absl::Milliseconds(100));
  EXPECT_GE(start_times[2] - start_times[1], absl::Milliseconds(200));
  EXPECT_GE(start_times[3] - start_times[2], absl::Milliseconds(400));
  EXPECT_LT(start_times[3] - start_times[2], absl::Milliseconds(2000));
}

TEST(SupervisorTest, CleanExitIsFinalWhenAsked) {
  testing::TempDir dir;
  auto s = Supervisor::Create(FastOptions());
  ASSERT_TRUE(s.ok());
  ChildSpec spec = Shell("learner", "exit 0", dir.File("l.log"));
  spec.restart_on_clean_exit = false;
  ASSERT_TRUE((*s)->Start(spec).ok());
  std::vector<ChildExit> exits;
  ASSERT_TRUE(PollUntil(**s, [&] { return !exits.empty(); }, absl::Seconds(10), &exits));
  EXPECT_EQ(exits[0].exit_code, 0);
  EXPECT_FALSE(exits[0].will_restart);
  EXPECT_TRUE((*s)->Finished("learner"));
  EXPECT_TRUE((*s)->failure().ok());
}

TEST(SupervisorTest, RestartAddsRestartArgs) {
  testing::TempDir dir;
  auto s = Supervisor::Create(FastOptions());
  ASSERT_TRUE(s.ok());
  // Fails until started with the restart argument ($0 of `sh -c`), then serves.
  ChildSpec spec = Shell(
      "r", "echo args:$0; [ \"$0\" = resume ] && echo 'listening on r:1' && exec sleep 60; exit 1",
      dir.File("r.log"));
  spec.restart_args = {"resume"};
  ASSERT_TRUE((*s)->Start(spec).ok());
  std::vector<ChildExit> exits;
  ASSERT_TRUE(PollUntil(**s, [&] { return (*s)->starts("r") == 2; }, absl::Seconds(10), &exits));
  auto address = (*s)->WaitForListening("r", absl::Seconds(10));
  ASSERT_TRUE(address.ok()) << address.status();
  EXPECT_EQ(*address, "r:1");
  EXPECT_THAT(ReadAll(dir.File("r.log")), HasSubstr("args:resume"));
}

TEST(SupervisorTest, WaitForListeningReadsTheLineAndStopEndsTheChild) {
  testing::TempDir dir;
  auto s = Supervisor::Create(FastOptions());
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(
      (*s)->Start(Shell("server", "echo 'listening on 127.0.0.1:4242'; exec sleep 60",
                        dir.File("s.log")))
          .ok());
  auto address = (*s)->WaitForListening("server", absl::Seconds(10));
  ASSERT_TRUE(address.ok()) << address.status();
  EXPECT_EQ(*address, "127.0.0.1:4242");
  EXPECT_TRUE((*s)->Running("server"));
  (*s)->Stop("server", absl::Seconds(5));
  EXPECT_TRUE((*s)->Finished("server"));
  EXPECT_EQ((*s)->starts("server"), 1);  // a stop is not a crash: no restart
}

TEST(SupervisorTest, StopEscalatesToSigkillAfterGrace) {
  testing::TempDir dir;
  auto s = Supervisor::Create(FastOptions());
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->Start(Shell("stubborn",
                                "trap '' TERM; echo 'listening on x:1'; while :; do sleep 0.05; done",
                                dir.File("st.log")))
                  .ok());
  ASSERT_TRUE((*s)->WaitForListening("stubborn", absl::Seconds(10)).ok());
  const absl::Time t0 = absl::Now();
  (*s)->Stop("stubborn", absl::Milliseconds(300));
  EXPECT_TRUE((*s)->Finished("stubborn"));
  EXPECT_GE(absl::Now() - t0, absl::Milliseconds(300));
}

TEST(SupervisorTest, ChildThatExitsBeforeServingIsReported) {
  testing::TempDir dir;
  auto s = Supervisor::Create(FastOptions());
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->Start(Shell("bad", "echo 'bad flag --x' >&2; exit 2", dir.File("b.log"))).ok());
  auto address = (*s)->WaitForListening("bad", absl::Seconds(10));
  ASSERT_FALSE(address.ok());
  EXPECT_EQ(address.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(address.status().message()), HasSubstr("bad flag --x"));
}

TEST(SupervisorTest, MissingBinaryIsNotFound) {
  testing::TempDir dir;
  auto s = Supervisor::Create(FastOptions());
  ASSERT_TRUE(s.ok());
  ChildSpec spec;
  spec.name = "ghost";
  spec.binary = dir.File("no-such-binary");
  spec.log_path = dir.File("g.log");
  absl::Status started = (*s)->Start(spec);
  EXPECT_EQ(started.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(started.message()), HasSubstr("no-such-binary"));
  EXPECT_EQ((*s)->Start(Shell("x", "exit 0", dir.File("x.log"))).code(), absl::StatusCode::kOk);
  EXPECT_EQ((*s)->Start(Shell("x", "exit 0", dir.File("x.log"))).code(),
            absl::StatusCode::kAlreadyExists);
}

TEST(SupervisorTest, KilledChildIsRestartedAndEnvIsPassed) {
  testing::TempDir dir;
  auto s = Supervisor::Create(FastOptions());
  ASSERT_TRUE(s.ok());
  ChildSpec spec = Shell("actor", "echo \"listening on $AG_TEST_VALUE\"; exec sleep 60",
                         dir.File("a.log"));
  spec.env = {{"AG_TEST_VALUE", "here:1"}};
  ASSERT_TRUE((*s)->Start(spec).ok());
  auto address = (*s)->WaitForListening("actor", absl::Seconds(10));
  ASSERT_TRUE(address.ok()) << address.status();
  EXPECT_EQ(*address, "here:1");
  kill((*s)->pid("actor"), SIGKILL);
  std::vector<ChildExit> exits;
  ASSERT_TRUE(PollUntil(**s, [&] { return (*s)->starts("actor") == 2 && (*s)->Running("actor"); },
                        absl::Seconds(10), &exits));
  ASSERT_EQ(exits.size(), 1u);
  EXPECT_EQ(exits[0].term_signal, SIGKILL);
  EXPECT_TRUE(exits[0].will_restart);
  EXPECT_TRUE((*s)->failure().ok());
}

}  // namespace
}  // namespace agentgym::launcher
