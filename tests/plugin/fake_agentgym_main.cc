// A stand-alone AgentGym-compatible fake (see fake_agentgym_server.h) for the
// bridge's process-level conformance test. Prints "listening on HOST:PORT";
// every flavor is served under /<flavor>. Exits on SIGTERM / SIGINT.

#include <csignal>
#include <cstdio>

#include "tests/plugin/fake_agentgym_server.h"

int main() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  auto server = agentgym::testing::FakeAgentGymServer::Start();
  if (!server.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  std::printf("listening on 127.0.0.1:%d\n", (*server)->port());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&signals, &sig);
  (*server)->Stop();
  return 0;
}
