// A stop signal is seen by the watcher whichever thread it is delivered
// to, including a thread started before InstallStopSignals that does not
// block it (as OpenBLAS's pool does): the process is not killed.
#include "core/stop_signals.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

namespace agentgym {
namespace {

TEST(StopSignalsTest, SignalToAThreadThatDoesNotBlockItIsRecordedNotFatal) {
  std::atomic<bool> done{false};
  // Started before Install: SIGTERM stays unblocked in it.
  std::thread early([&] {
    while (!done.load()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  });
  InstallStopSignals();
  EXPECT_EQ(WaitForStopSignal(absl::Milliseconds(10)), 0);
  ASSERT_EQ(pthread_kill(early.native_handle(), SIGTERM), 0);
  int sig = 0;
  for (int i = 0; i < 100 && sig == 0; ++i) sig = WaitForStopSignal(absl::Milliseconds(20));
  EXPECT_EQ(sig, SIGTERM);
  // And one sent to the process (pending on the blocked main thread).
  ASSERT_EQ(kill(getpid(), SIGINT), 0);
  EXPECT_EQ(WaitForStopSignal(absl::Seconds(2)), SIGINT);
  done.store(true);
  early.join();
}

}  // namespace
}  // namespace agentgym
