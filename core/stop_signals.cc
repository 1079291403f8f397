#include "core/stop_signals.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>

namespace agentgym {
namespace {

std::atomic<int> g_received{0};

void RecordSignal(int sig) { g_received.store(sig); }  // async-signal-safe

sigset_t StopSet() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

void InstallStopSignals() {
  struct sigaction action {};
  action.sa_handler = RecordSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  const sigset_t set = StopSet();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForStopSignal(absl::Duration timeout) {
  if (int sig = g_received.exchange(0); sig != 0) return sig;
  const sigset_t set = StopSet();
  const timespec ts = absl::ToTimespec(timeout);
  const int sig = sigtimedwait(&set, nullptr, &ts);
  if (sig > 0) return sig;
  return g_received.exchange(0);
}

}  // namespace agentgym
