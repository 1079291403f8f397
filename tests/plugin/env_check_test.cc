// The conformance checker against in-process servers: a correct one must pass
// every check, and each deliberately broken one must fail the check that
// covers its fault (and so the whole run).

#include "env_server/conformance/env_check.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gtest/gtest.h"
#include "tests/plugin/faulty_env_service.h"

namespace agentgym::env::conformance {
namespace {

using testing::Fault;
using testing::FaultyEnvServer;

CheckOptions OptionsFor(const std::string& address) {
  CheckOptions options;
  options.target = address;
  options.rpc_timeout = absl::Seconds(10);
  options.concurrent_sessions = 8;
  return options;
}

const CheckResult* Find(const std::vector<CheckResult>& results, const std::string& name) {
  for (const auto& r : results) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

TEST(EnvCheckTest, CorrectServerPassesEveryCheck) {
  auto server = FaultyEnvServer::Start(Fault::kNone, /*max_sessions=*/32);
  ASSERT_TRUE(server.ok()) << server.status();
  auto results = RunConformance(OptionsFor((*server)->address()));
  std::string report = FormatReport(results);
  EXPECT_TRUE(Passed(results, /*strict=*/true)) << report;
  for (const char* name : {"counter/episode", "counter/batch", "server/ttl", "server/max_sessions",
                           "counter/determinism", "counter/actions.non_utf8", "counter/turns",
                           "counter/batch.turns"}) {
    const CheckResult* r = Find(results, name);
    ASSERT_NE(r, nullptr) << name << "\n" << report;
    EXPECT_EQ(r->outcome, Outcome::kPass) << name << ": " << r->detail;
  }
  EXPECT_NE(report.find("conformance PASSED"), std::string::npos) << report;
}

TEST(EnvCheckTest, TheSummaryLineSaysWhatTheExitCodeSays) {
  std::vector<CheckResult> results = {{"a/one", Outcome::kPass, ""},
                                      {"a/two", Outcome::kSkip, "no oracle"}};
  const std::string lenient = FormatReport(results, /*strict=*/false);
  EXPECT_TRUE(Passed(results, /*strict=*/false));
  EXPECT_NE(lenient.find("conformance PASSED (1 checks passed, 0 failing, 1 skipped)"),
            std::string::npos) << lenient;
  const std::string strict = FormatReport(results, /*strict=*/true);
  EXPECT_FALSE(Passed(results, /*strict=*/true));
  EXPECT_EQ(strict.find("PASSED"), std::string::npos) << strict;
  EXPECT_NE(strict.find("conformance FAILED under --strict: 1 skipped"), std::string::npos)
      << strict;
  EXPECT_NE(FormatReport({}, /*strict=*/false).find("conformance FAILED: no checks ran"),
            std::string::npos);
}

// A loopback port that nothing listens on: bound, then released.
int UnusedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

TEST(EnvCheckTest, UnreachableServerFailsDiscovery) {
  CheckOptions options = OptionsFor("127.0.0.1:" + std::to_string(UnusedPort()));
  options.rpc_timeout = absl::Seconds(2);
  auto results = RunConformance(options);
  ASSERT_FALSE(results.empty());
  EXPECT_EQ(results[0].outcome, Outcome::kFail);
  EXPECT_FALSE(Passed(results, /*strict=*/false));
  EXPECT_NE(FormatReport(results).find("conformance FAILED"), std::string::npos);
  // It says plainly that nothing answers there, not "Deadline Exceeded".
  EXPECT_NE(results[0].detail.find("cannot connect to " + options.target +
                                   " (is a server running there?)"),
            std::string::npos)
      << results[0].detail;
}

struct FaultCase {
  Fault fault;
  const char* failing_check;
};

class BrokenServerTest : public ::testing::TestWithParam<FaultCase> {};

TEST_P(BrokenServerTest, FailsTheCheckThatCoversTheFault) {
  auto server = FaultyEnvServer::Start(GetParam().fault, /*max_sessions=*/32);
  ASSERT_TRUE(server.ok()) << server.status();
  CheckOptions options = OptionsFor((*server)->address());
  options.ttl_max_wait = absl::Seconds(4);
  auto results = RunConformance(options);
  EXPECT_FALSE(Passed(results, /*strict=*/false)) << FormatReport(results);
  const CheckResult* r = Find(results, GetParam().failing_check);
  ASSERT_NE(r, nullptr) << FormatReport(results);
  EXPECT_EQ(r->outcome, Outcome::kFail) << FormatReport(results);
  EXPECT_FALSE(r->detail.empty());
}

// The client itself answers FAILED_PRECONDITION when a reply's turn is not
// the one a step was sent as; the turns check must not take that for the
// server's refusal, and says which step was applied.
TEST(EnvCheckTest, AStepAppliedOutOfTurnIsNamedNotTakenForARefusal) {
  auto server = FaultyEnvServer::Start(Fault::kAppliesOutOfTurnSteps, /*max_sessions=*/32);
  ASSERT_TRUE(server.ok()) << server.status();
  CheckOptions options = OptionsFor((*server)->address());
  options.check_ttl = false;
  auto results = RunConformance(options);
  const CheckResult* r = Find(results, "counter/turns");
  ASSERT_NE(r, nullptr) << FormatReport(results);
  EXPECT_EQ(r->outcome, Outcome::kFail);
  EXPECT_NE(r->detail.find("Step sent as turn 2 to a session at turn 0: the server applied it"),
            std::string::npos)
      << r->detail;
}

INSTANTIATE_TEST_SUITE_P(
    Faults, BrokenServerTest,
    ::testing::Values(FaultCase{Fault::kUnknownSessionIsOk, "counter/bad_session_ids"},
                      FaultCase{Fault::kAcceptsNonUtf8, "counter/actions.non_utf8"},
                      FaultCase{Fault::kRejectsEmptyAction, "counter/actions.odd_text"},
                      FaultCase{Fault::kNondeterministic, "counter/determinism"},
                      FaultCase{Fault::kBatchOutOfOrder, "counter/batch"},
                      FaultCase{Fault::kNeverReclaims, "server/ttl"},
                      FaultCase{Fault::kStepsAfterEnd, "counter/episode"},
                      FaultCase{Fault::kCloseUnknownIsInternal, "counter/close"},
                      FaultCase{Fault::kNoSessionCap, "server/max_sessions"},
                      FaultCase{Fault::kIgnoresExpectedTurn, "counter/turns"},
                      FaultCase{Fault::kBatchIgnoresExpectedTurn, "counter/batch.turns"},
                      FaultCase{Fault::kAppliesOutOfTurnSteps, "counter/turns"}),
    [](const auto& info) { return std::string(testing::FaultName(info.param.fault)); });

}  // namespace
}  // namespace agentgym::env::conformance
