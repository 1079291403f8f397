#ifndef AGENTGYM_TESTS_PLUGIN_FAKE_AGENTGYM_SERVER_H_
#define AGENTGYM_TESTS_PLUGIN_FAKE_AGENTGYM_SERVER_H_

// An AgentGym-compatible HTTP env server for the bridge's tests, with the
// per-env quirks of the real ones (agentenv-textcraft, -babyai, -sciworld,
// -webarena, -searchqa, -webshop): session key `id` or `env_idx`, task key
// `data_idx` / `idx` / `id` / `session_id`, create replying {"id": n},
// {"env_idx": n} or a bare n, reset replying an object or bare text, `score`
// on some, `terminated` or `state` instead of `done` / `observation`, and
// errors as HTTP 200 {"error": ...}. Each flavor is served under /<flavor>.
//
// The game: "pick N" finds the number (task index % 9) + 1; wrong picks say
// higher/lower; anything else is invalid; the env ends (done) after 10 steps.
// Rewards follow each real server: a win gives reward 1 (score 100 on
// sciworld), except on babyai, which gives BabyAI's 1 - 0.9 * steps / 10, a
// running-sum `score`, and done = false for a win rewarded 0.5 or less, as
// AgentGym's BabyAI server does. A pick one off the secret earns partial
// credit where the real env has some: sciworld score 30 (of 100), searchqa
// reward 0.2 (a format score), webshop reward 0.5 and done (a purchase that
// matches only in part).
// The action "slow" blocks its reply until ReleaseSlow() or Stop(), to stand
// in for a stuck upstream. The textcraft flavor words its answers as
// agentenv-textcraft does: "The id N is not valid." for an unknown env id and
// "Could not execute ..." for an action it cannot run. The others answer
// such an action as their real servers do: babyai with agentenv-babyai's
// "The action is not recognized. Please check valid actions." ("No change in
// state." for an empty one) and its "Available actions: [...]", sciworld with
// ScienceWorld's "No known action matches that input.", webshop with the
// unchanged page (WebShop performs nothing for it).
// Restart() forgets every env and counts ids from 0 again, as a restarted
// server process does.

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

namespace httplib {
class Server;
}

namespace agentgym::testing {

class FakeAgentGymServer {
 public:
  // Serves every flavor on 127.0.0.1 with a free port.
  static absl::StatusOr<std::unique_ptr<FakeAgentGymServer>> Start(int max_envs = 10000);
  // The same on a given port (e.g. one a stopped fake listened on).
  static absl::StatusOr<std::unique_ptr<FakeAgentGymServer>> StartOnPort(int port,
                                                                         int max_envs = 10000);
  // Forgets every env; ids start from 0 again.
  void Restart();
  // Step requests answered so far (any session, any flavor).
  int steps_served() const { return steps_served_.load(); }
  ~FakeAgentGymServer();

  int port() const { return port_; }
  // http://127.0.0.1:PORT/<flavor>, the bridge's base_url for that flavor.
  std::string BaseUrl(const std::string& flavor) const;
  void ReleaseSlow();
  int slow_waiting() const { return slow_waiting_.load(); }
  int open_envs();
  int closed_envs() const { return closed_.load(); }
  // The TCP connections that have carried requests so far.
  int connections_seen();
  void Stop();

 private:
  struct Game {
    int secret = 1;
    int steps = 0;
    bool done = false;
    double progress = 0;   // sciworld's partial score
    double score_sum = 0;  // babyai's running score
  };
  FakeAgentGymServer() = default;
  void Route(const std::string& flavor);

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  int max_envs_ = 10000;
  absl::Mutex release_mu_;
  absl::Mutex mu_;
  std::map<std::string, std::map<int, Game>> envs_ ABSL_GUARDED_BY(mu_);  // flavor -> id -> game
  int next_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<int> closed_{0};
  std::atomic<int> steps_served_{0};
  absl::Mutex seen_mu_;
  std::set<int> client_ports_ ABSL_GUARDED_BY(seen_mu_);  // all from 127.0.0.1
  std::atomic<int> slow_waiting_{0};
  absl::Notification release_slow_;
};

}  // namespace agentgym::testing

#endif  // AGENTGYM_TESTS_PLUGIN_FAKE_AGENTGYM_SERVER_H_
