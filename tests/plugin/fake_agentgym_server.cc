#include "tests/plugin/fake_agentgym_server.h"

#include <sys/socket.h>

#include <httplib.h>

#include <algorithm>
#include <cstdlib>
#include <regex>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace agentgym::testing {
namespace {

using json = nlohmann::json;

constexpr int kMaxSteps = 10;  // an env ends (done) after this many steps

// One AgentGym env server's wire quirks.
struct Flavor {
  std::string session_key = "id";
  std::string task_key = "data_idx";
  bool task_in_create = false;
  std::string create_id_field = "id";  // "" = a bare id
  std::string observation_field = "observation";
  std::string done_field = "done";
  double score_max = 0;  // 0 = no score field
  bool reset_is_text = false;
  bool sciworld_reset = false;  // {task_description, observation}
  // How each server rewards (see fake_agentgym_server.h): BabyAI's
  // 1 - 0.9 * steps / max_steps on success with a running-sum score; partial
  // credit for a pick one off the secret (a score, or a reward that may end
  // the episode).
  bool babyai_reward = false;
  double partial_score = 0;   // sciworld: progress score (of score_max)
  double partial_reward = 0;  // webshop, searchqa: reward for a near miss
  bool partial_ends = false;  // webshop: a near miss is a purchase, so done
};

const std::map<std::string, Flavor>& Flavors() {
  static const auto* flavors = new std::map<std::string, Flavor>{
      {"textcraft", Flavor{}},
      {"babyai", Flavor{.score_max = 1, .babyai_reward = true}},
      {"sciworld", Flavor{.score_max = 100, .sciworld_reset = true, .partial_score = 30}},
      {"webarena", Flavor{.session_key = "env_idx", .task_key = "idx",
                          .create_id_field = "env_idx", .done_field = "terminated"}},
      {"searchqa", Flavor{.session_key = "env_idx", .task_key = "id", .task_in_create = true,
                          .create_id_field = "", .reset_is_text = true, .partial_reward = 0.2}},
      {"webshop", Flavor{.session_key = "env_idx", .task_key = "session_id",
                         .create_id_field = "", .observation_field = "state",
                         .partial_reward = 0.5, .partial_ends = true}},
  };
  return *flavors;
}

constexpr char kPage[] = "Pick a number from 1 to 9 with: pick N.";  // every game's first page

// What each server answers an action it cannot execute with, in its words
// (see fake_agentgym_server.h).
std::string Unexecuted(const std::string& flavor, const std::string& action) {
  if (flavor == "textcraft") return "Could not execute " + action.substr(0, 40);
  if (flavor == "babyai") {  // agentenv_babyai: the reason, then the actions
    const char* why = action.empty() ? "No change in state."
                                     : "The action is not recognized. Please check valid actions.";
    return std::string(why) +
           "\nAvailable actions: [\"pick 1\", \"pick 2\", \"pick 3\", \"pick 4\", \"pick 5\", "
           "\"pick 6\", \"pick 7\", \"pick 8\", \"pick 9\"]";
  }
  if (flavor == "sciworld") return "No known action matches that input.";  // ScienceWorld's parser
  if (flavor == "webshop") return kPage;  // WebShop does nothing and shows the same page
  return "Invalid action: '" + action.substr(0, 40) + "'.";
}

void Reply(httplib::Response& res, const json& body) {
  res.set_content(body.dump(), "application/json");
}

}  // namespace

absl::StatusOr<std::unique_ptr<FakeAgentGymServer>> FakeAgentGymServer::Start(int max_envs) {
  return StartOnPort(/*port=*/0, max_envs);
}

void FakeAgentGymServer::Restart() {
  absl::MutexLock lock(&mu_);
  envs_.clear();
  next_id_ = 0;
}

absl::StatusOr<std::unique_ptr<FakeAgentGymServer>> FakeAgentGymServer::StartOnPort(
    int port, int max_envs) {
  std::unique_ptr<FakeAgentGymServer> s(new FakeAgentGymServer());
  s->max_envs_ = max_envs;
  s->server_ = std::make_unique<httplib::Server>();
  s->server_->set_tcp_nodelay(true);
  // Each keep-alive connection holds a handler thread while it idles; AgentGym's
  // servers (uvicorn) are asynchronous, so give the fake threads to match.
  s->server_->new_task_queue = [] { return new httplib::ThreadPool(64); };
  for (const auto& [name, flavor] : Flavors()) s->Route(name);
  s->server_->set_pre_routing_handler(
      [raw = s.get()](const httplib::Request& req, httplib::Response&) {
        absl::MutexLock lock(&raw->seen_mu_);
        raw->client_ports_.insert(req.remote_port);
        return httplib::Server::HandlerResponse::Unhandled;
      });
  // Debian's compiled cpp-httplib listens with a backlog of 5, so a burst of
  // new connections (16 sessions created at once) overflows it and the
  // kernel drops some after they sent their request: "Read" failures after
  // ~1 s that a real AgentGym server (uvicorn: backlog 2048) never gives.
  // The listening socket passes through the socket-options hook before its
  // listen(); a second listen() on it raises the backlog.
  int listen_fd = -1;
  s->server_->set_socket_options([&listen_fd](int fd) {
    httplib::default_socket_options(fd);
    listen_fd = fd;
  });
  if (port == 0) {
    s->port_ = s->server_->bind_to_any_port("127.0.0.1");
  } else {
    s->port_ = s->server_->bind_to_port("127.0.0.1", port) ? port : -1;
  }
  if (s->port_ <= 0) return absl::UnavailableError("fake AgentGym server: cannot bind");
  if (listen_fd < 0 || ::listen(listen_fd, SOMAXCONN) != 0) {
    return absl::InternalError("fake AgentGym server: cannot raise the listen backlog");
  }
  s->server_->set_socket_options(httplib::default_socket_options);
  s->thread_ = std::thread([srv = s->server_.get()] { srv->listen_after_bind(); });
  // stop() is a no-op until the accept loop runs, so wait for it (bounded).
  absl::Notification tick;
  for (int i = 0; i < 2000 && !s->server_->is_running(); ++i) {
    tick.WaitForNotificationWithTimeout(absl::Milliseconds(5));
  }
  if (!s->server_->is_running()) return absl::InternalError("fake AgentGym server did not start");
  return s;
}

int FakeAgentGymServer::connections_seen() {
  absl::MutexLock lock(&seen_mu_);
  return static_cast<int>(client_ports_.size());
}

void FakeAgentGymServer::Route(const std::string& name) {
  const Flavor f = Flavors().at(name);
  const std::string p = "/" + name;
  // agentenv-textcraft's words for an id it does not know; the others' vary.
  auto unknown = [name](const json& body, const std::string& key) {
    if (name == "textcraft" && body.is_object() && body.contains(key)) {
      return json{{"error", "The id " + body[key].dump() + " is not valid."}};
    }
    return json{{"error", "env not found"}};
  };
  auto game_of = [this, name](const json& id, Game** game) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!id.is_number_integer()) return false;
    auto& envs = envs_[name];
    auto it = envs.find(id.get<int>());
    if (it == envs.end()) return false;
    *game = &it->second;
    return true;
  };
  server_->Post(p + "/create", [=](const httplib::Request& req, httplib::Response& res) {
    json body = json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
    absl::MutexLock lock(&mu_);
    if (static_cast<int>(envs_[name].size()) >= max_envs_) return Reply(res, {{"error", "too many envs"}});
    int id = next_id_++;
    Game& g = envs_[name][id];
    if (f.task_in_create && body.contains(f.task_key)) g.secret = body[f.task_key].get<int>() % 9 + 1;
    if (f.create_id_field.empty()) return Reply(res, id);
    json out = {{f.create_id_field, id}};
    if (name == "textcraft") out["observation"] = "created";
    Reply(res, out);
  });
  server_->Post(p + "/reset", [=](const httplib::Request& req, httplib::Response& res) {
    json body = json::parse(req.body, nullptr, false);
    absl::MutexLock lock(&mu_);
    Game* g = nullptr;
    if (body.is_discarded() || !body.contains(f.session_key) || !game_of(body[f.session_key], &g)) {
      return Reply(res, unknown(body, f.session_key));
    }
    int secret = g->secret;
    if (body.contains(f.task_key) && body[f.task_key].is_number_integer()) {
      secret = body[f.task_key].get<int>() % 9 + 1;
    } else if (!f.task_in_create) {
      res.status = 422;  // FastAPI's answer to a missing field
      return Reply(res, {{"detail", "field required: " + f.task_key}});
    }
    *g = Game{};
    g->secret = secret;
    const std::string text = kPage;
    if (f.reset_is_text) return Reply(res, text);
    if (f.sciworld_reset) return Reply(res, {{"task_description", "Task: find the number."}, {"observation", text}});
    Reply(res, {{f.observation_field, text}, {"reward", 0}, {f.done_field, false}});
  });
  server_->Post(p + "/step", [=](const httplib::Request& req, httplib::Response& res) {
    json body = json::parse(req.body, nullptr, false);
    std::string action = !body.is_discarded() && body.contains("action") && body["action"].is_string()
                             ? body["action"].get<std::string>() : "";
    if (action == "slow") {
      ++slow_waiting_;
      release_slow_.WaitForNotification();  // Stop() releases it too
      --slow_waiting_;
    }
    if (action == "crash") return Reply(res, {{"error", "Traceback: ValueError: simulator crashed"}});
    if (action == "http500") {
      res.status = 500;
      return Reply(res, "Internal Server Error");
    }
    absl::MutexLock lock(&mu_);
    ++steps_served_;
    Game* g = nullptr;
    if (body.is_discarded() || !body.contains(f.session_key) || !game_of(body[f.session_key], &g)) {
      return Reply(res, unknown(body, f.session_key));
    }
    std::string obs;
    double reward = 0;
    bool won = false;
    bool near_miss = false;
    std::smatch m;
    ++g->steps;
    if (std::regex_match(action, m, std::regex("pick ([0-9]{1,3})"))) {
      int n = std::stoi(m[1]);
      if (n == g->secret) {
        obs = "Correct!";
        won = true;
        g->done = true;
      } else {
        near_miss = std::abs(n - g->secret) == 1;
        obs = n < g->secret ? "Go higher." : "Go lower.";
      }
    } else {
      obs = Unexecuted(name, action);
    }
    if (won) {
      // BabyAI (minigrid): 1 - 0.9 * step_count / max_steps, only on success.
      reward = f.babyai_reward ? 1 - 0.9 * g->steps / kMaxSteps : 1;
    } else if (near_miss && f.partial_reward > 0) {
      reward = f.partial_reward;
      if (f.partial_ends) g->done = true;
    }
    if (near_miss) g->progress = std::max(g->progress, f.partial_score);
    if (g->steps >= kMaxSteps) g->done = true;
    g->score_sum += reward;
    bool done = g->done;
    // AgentGym's BabyAI server reports done only when the reward is above 0.5
    // (agentenv_babyai/environment.py, BabyAI.update), so a late success
    // comes back with done = false.
    if (f.babyai_reward && won && reward <= 0.5) done = false;
    json out = {{f.observation_field, obs}, {"reward", reward}, {f.done_field, done}};
    if (f.babyai_reward) {
      out["score"] = g->score_sum;  // a running sum of the rewards, as upstream
    } else if (f.score_max > 0) {
      out["score"] = won ? f.score_max : g->progress;
    }
    Reply(res, out);
  });
  server_->Get(p + "/observation", [=](const httplib::Request& req, httplib::Response& res) {
    absl::MutexLock lock(&mu_);
    Game* g = nullptr;
    if (!req.has_param(f.session_key.c_str()) ||
        !game_of(json(std::atoi(req.get_param_value(f.session_key.c_str()).c_str())), &g)) {
      return Reply(res, {{"error", "env not found"}});
    }
    Reply(res, kPage);
  });
  server_->Post(p + "/close", [=](const httplib::Request& req, httplib::Response& res) {
    json body = json::parse(req.body, nullptr, false);
    absl::MutexLock lock(&mu_);
    if (body.is_discarded() || !body.contains(f.session_key) || !body[f.session_key].is_number_integer() ||
        envs_[name].erase(body[f.session_key].get<int>()) == 0) {
      return Reply(res, unknown(body, f.session_key));
    }
    ++closed_;
    Reply(res, {{"closed", true}});
  });
}

std::string FakeAgentGymServer::BaseUrl(const std::string& flavor) const {
  return absl::StrCat("http://127.0.0.1:", port_, "/", flavor);
}

int FakeAgentGymServer::open_envs() {
  absl::MutexLock lock(&mu_);
  int n = 0;
  for (const auto& [name, envs] : envs_) n += static_cast<int>(envs.size());
  return n;
}

void FakeAgentGymServer::ReleaseSlow() {
  absl::MutexLock lock(&release_mu_);
  if (!release_slow_.HasBeenNotified()) release_slow_.Notify();
}

void FakeAgentGymServer::Stop() {
  ReleaseSlow();
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

FakeAgentGymServer::~FakeAgentGymServer() { Stop(); }

}  // namespace agentgym::testing
