#include "env_server/bridge/bridge_env.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/logging.h"
#include "core/text.h"

namespace agentgym::env::bridge {
namespace {

using json = nlohmann::json;

const json* Field(const json& reply, const std::string& name) {
  if (name.empty()) return &reply;
  if (!reply.is_object() || !reply.contains(name)) return nullptr;
  return &reply[name];
}

std::string Text(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

absl::Status Missing(const std::string& env, const std::string& what, const std::string& field,
                     const json& reply) {
  std::string shown = reply.dump();
  if (shown.size() > 200) shown = shown.substr(0, 200) + "...";
  return absl::InternalError(absl::StrCat("upstream '", env, "': the ", what, " reply has no ",
                                          field.empty() ? "text" : "field '" + field + "'",
                                          " (check the bridge config): ", shown));
}

absl::StatusOr<double> Number(const std::string& env, const json& reply, const std::string& field) {
  const json* v = Field(reply, field);
  if (v == nullptr || !(v->is_number() || v->is_boolean())) {
    return Missing(env, "step", field, reply);
  }
  double d = v->is_boolean() ? (v->get<bool>() ? 1.0 : 0.0) : v->get<double>();
  if (!std::isfinite(d)) return absl::InternalError(absl::StrCat("upstream '", env, "': '", field, "' is not finite"));
  return d;
}

}  // namespace

std::string IdText(const json& id) { return Text(id); }

class BridgeEpisode final : public Episode {
 public:
  BridgeEpisode(const BridgeEnvironment* env, json id, uint64_t seq)
      : env_(env), id_(std::move(id)), seq_(seq) {}
  ~BridgeEpisode() override { env_->CloseUpstream(std::move(id_), seq_); }

  absl::StatusOr<StepOutcome> Step(std::string_view action) override {
    const UpstreamConfig& c = env_->config_;
    // Never step an env that may now be another session's.
    if (env_->Lost(seq_)) return env_->LostError(id_);
    ParsedAction parsed = env_->parser_->Parse(action);
    StepOutcome out;
    if (parsed.rejected) {  // answered in-game, as AgentGym's client does
      out.observation = parsed.message;
      out.action_valid = false;
    } else {
      json body = json::object();
      body[c.session_key] = id_;
      body[c.action_key] = parsed.action;
      auto reply = env_->client_->Post(c.step_path, body, c.request_timeout);
      if (!reply.ok()) return env_->Failed(reply.status(), id_, seq_);
      // A restart noticed while this step was in flight: its reply may come
      // from another session's env.
      if (env_->Lost(seq_)) return env_->LostError(id_);
      const json* obs = Field(*reply, c.observation_field);
      if (obs == nullptr) return Missing(c.name, "step", c.observation_field, *reply);
      out.observation = Text(*obs);
      if (env_->invalid_observation_ != nullptr &&
          env_->invalid_observation_->Matches(out.observation)) {
        out.action_valid = false;  // the upstream could not execute it
      }
      auto reward = Number(c.name, *reply, c.reward_field);
      auto done = Number(c.name, *reply, c.done_field);
      if (!reward.ok()) return reward.status();
      if (!done.ok()) return done.status();
      out.reward = *reward;
      out.done = *done != 0.0;
      if (!c.score_field.empty()) {
        auto score = Number(c.name, *reply, c.score_field);
        if (!score.ok()) return score.status();
        out.score = std::clamp(*score * c.score_scale, 0.0, 1.0);
      }
      if (!c.success_field.empty() && (out.done || !c.success_when_done)) {
        auto v = Number(c.name, *reply, c.success_field);
        if (!v.ok()) return v.status();
        out.success = c.success_test == UpstreamConfig::SuccessTest::kAbove
                          ? *v > c.success_value
                          : std::abs(*v - c.success_value) <=
                                1e-9 * std::max(1.0, std::abs(c.success_value));
        if (out.success && c.success_ends_episode) out.done = true;
      }
      if (c.score_field.empty()) out.score = out.success ? 1.0 : 0.0;
      json upstream = reply->is_object() ? *reply : json::object();
      upstream.erase(c.observation_field);
      out.info["upstream"] = std::move(upstream);
      out.info["sent_action"] = parsed.action;
    }
    ++turns_;
    if (c.max_turns > 0 && turns_ >= c.max_turns && !out.done) out.truncated = true;
    return out;
  }

 private:
  const BridgeEnvironment* env_;
  json id_;
  const uint64_t seq_;  // the session's number, for restart detection
  int turns_ = 0;
};

absl::StatusOr<std::unique_ptr<BridgeEnvironment>> BridgeEnvironment::Create(
    UpstreamConfig config) {
  auto parser = ActionParser::Create(config.action);
  if (!parser.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("bridge env '", config.name, "': ", parser.status().message()));
  }
  auto client = UpstreamClient::Create(config);
  if (!client.ok()) return client.status();
  std::unique_ptr<Pattern> invalid;
  if (!config.invalid_observation.empty()) {
    auto p = Pattern::Compile(config.invalid_observation);
    if (!p.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "bridge env '", config.name, "': step.invalid_observation: ", p.status().message()));
    }
    invalid = *std::move(p);
  }
  std::unique_ptr<BridgeEnvironment> env(
      new BridgeEnvironment(std::move(config), *std::move(parser), *std::move(client)));
  env->invalid_observation_ = std::move(invalid);
  return env;
}

BridgeEnvironment::BridgeEnvironment(UpstreamConfig config, std::unique_ptr<ActionParser> parser,
                                     std::unique_ptr<UpstreamClient> client)
    : config_(std::move(config)), parser_(std::move(parser)), client_(std::move(client)) {
  description_.name = config_.name;
  description_.description = config_.description.empty()
                                 ? absl::StrCat("AgentGym env server at ", config_.base_url)
                                 : config_.description;
  description_.action_format = config_.action_format;
  description_.mirrors = config_.mirrors;
  description_.recommended_max_turns = config_.recommended_max_turns;
  for (const auto& t : config_.tasks) {
    description_.task_types.push_back({t.type, t.description, t.train_count, t.test_count,
                                       t.recommended_max_turns});
  }
  closer_ = std::thread([this] { CloseLoop(); });
}

BridgeEnvironment::~BridgeEnvironment() {
  to_close_.Close();
  if (!closer_done_.WaitForNotificationWithTimeout(config_.close_timeout)) {
    client_->Stop();  // the closes still queued fail at once
  }
  closer_.join();
}

bool BridgeEnvironment::AbortIfBusy() {
  if (!client_->Busy()) return false;
  if (client_->Stopped()) {  // aborted already: later calls fail at once
    client_->Stop();
    return true;
  }
  GetLogger("bridge")->warn("env '{}': aborting the upstream calls still in flight ({})",
                            config_.name, config_.base_url);
  client_->Stop();
  return true;
}

void BridgeEnvironment::CloseUpstream(json id, uint64_t seq) const {
  if (id.is_null()) return;
  if (config_.close_path.empty() || Lost(seq)) {
    ForgetSession(id, seq);  // a lost session's id may be another's env now
    return;
  }
  if (!to_close_.TryPush(PendingClose{id, seq})) {
    ForgetSession(id, seq);
    GetLogger("bridge")->warn("env '{}': close queue full; an upstream env is left open",
                              config_.name);
  }
}

void BridgeEnvironment::CloseLoop() {
  int failed = 0;
  while (auto pending = to_close_.Pop()) {
    if (Lost(pending->seq)) {  // the upstream restarted since: not ours to close
      ForgetSession(pending->id, pending->seq);
      continue;
    }
    json body = json::object();
    body[config_.session_key] = pending->id;
    auto reply = client_->Post(config_.close_path, body, config_.close_timeout);
    if (!reply.ok()) {
      ++failed;
      Failed(reply.status(), pending->id, pending->seq);
      GetLogger("bridge")->debug("env '{}': close of upstream env {} failed: {}", config_.name,
                                 IdText(pending->id), std::string(reply.status().message()));
    }
    ForgetSession(pending->id, pending->seq);
  }
  if (failed > 0) {
    GetLogger("bridge")->warn("env '{}': {} upstream envs could not be closed (see debug log)",
                              config_.name, failed);
  }
  closer_done_.Notify();
}

uint64_t BridgeEnvironment::AddSession(const json& id) const {
  const std::string key = id.dump();
  absl::MutexLock lock(&sessions_mu_);
  const uint64_t seq = next_seq_++;
  auto it = live_ids_.find(key);
  if (it != live_ids_.end() && it->second >= lost_below_) {
    // The server handed out an id a live session holds: it restarted and
    // forgot its envs, so every session before this one is lost.
    lost_below_ = seq;
    GetLogger("bridge")->warn(
        "env '{}': the upstream {} handed out env id {} again, which an open session holds: "
        "it restarted; every session created before now is lost",
        config_.name, config_.base_url, TruncateForMessage(key, 64));
  }
  live_ids_[key] = seq;
  return seq;
}

void BridgeEnvironment::ForgetSession(const json& id, uint64_t seq) const {
  absl::MutexLock lock(&sessions_mu_);
  auto it = live_ids_.find(id.dump());
  if (it != live_ids_.end() && it->second == seq) live_ids_.erase(it);
}

bool BridgeEnvironment::Lost(uint64_t seq) const {
  absl::MutexLock lock(&sessions_mu_);
  return seq < lost_below_;
}

void BridgeEnvironment::LoseAllSessions(const std::string& why) const {
  absl::MutexLock lock(&sessions_mu_);
  if (lost_below_ == next_seq_) return;  // nothing new to lose
  lost_below_ = next_seq_;
  GetLogger("bridge")->warn("env '{}': {}; every session created before now is lost",
                            config_.name, why);
}

absl::Status BridgeEnvironment::LostError(const json& id) const {
  return absl::NotFoundError(absl::StrCat(
      "upstream '", config_.name, "' (", config_.base_url,
      "): the upstream env server restarted; this session is lost (its upstream env ",
      TruncateForMessage(IdText(id), 64), " is gone or may belong to another session now)"));
}

absl::Status BridgeEnvironment::Failed(const absl::Status& status, const json& id,
                                       uint64_t seq) const {
  if (IsUnreachable(status)) {
    LoseAllSessions(absl::StrCat("the upstream ", config_.base_url, " cannot be reached"));
    return status;
  }
  if (status.code() == absl::StatusCode::kNotFound) {
    LoseAllSessions(absl::StrCat("the upstream ", config_.base_url, " does not know env id ",
                                 TruncateForMessage(IdText(id), 64)));
    return absl::NotFoundError(absl::StrCat(LostError(id).message(), "; upstream: ",
                                            status.message()));
  }
  return status;
}

absl::StatusOr<std::unique_ptr<Episode>> BridgeEnvironment::NewEpisode(
    const TaskKey& key, uint64_t seed, EpisodeStart* start) const {
  const UpstreamConfig& c = config_;
  int64_t index = key.index;
  for (const auto& t : c.tasks) {
    if (t.type == key.type) index += key.split == Split::kTrain ? t.train_start : t.test_start;
  }
  json create = c.create_body;
  if (!c.create_task_key.empty()) create[c.create_task_key] = index;
  auto created = client_->Post(c.create_path, create, c.request_timeout);
  if (!created.ok()) {
    if (IsUnreachable(created.status())) {
      LoseAllSessions(absl::StrCat("the upstream ", c.base_url, " cannot be reached"));
    }
    return created.status();
  }
  const json* id = Field(*created, c.create_id_field);
  if (id == nullptr || id->is_null() || id->is_object() || id->is_array()) {
    return Missing(c.name, "create", c.create_id_field, *created);
  }
  // From here on the upstream env exists: the episode (or this guard) closes it.
  const uint64_t seq = AddSession(*id);
  auto episode = std::make_unique<BridgeEpisode>(this, *id, seq);
  json reset = c.reset_body;
  reset[c.session_key] = *id;
  if (!c.reset_task_key.empty()) reset[c.reset_task_key] = index;
  if (!c.reset_seed_key.empty()) reset[c.reset_seed_key] = seed;
  auto reply = client_->Post(c.reset_path, reset, c.request_timeout);
  if (!reply.ok()) return Failed(reply.status(), *id, seq);
  std::string observation;
  if (c.reset_fetch_observation) {
    auto fetched = client_->Get(c.observation_path, c.session_key, IdText(*id), c.request_timeout);
    if (!fetched.ok()) return Failed(fetched.status(), *id, seq);
    const json* obs = fetched->is_string() ? &*fetched : Field(*fetched, c.observation_field);
    if (obs == nullptr) return Missing(c.name, "observation", c.observation_field, *fetched);
    observation = Text(*obs);
  } else if (c.reset_observation_fields.empty()) {
    if (!reply->is_string()) return Missing(c.name, "reset", "", *reply);
    observation = reply->get<std::string>();
  } else {
    std::vector<std::string> parts;
    for (const auto& f : c.reset_observation_fields) {
      const json* v = Field(*reply, f);
      if (v == nullptr) return Missing(c.name, "reset", f, *reply);
      parts.push_back(Text(*v));
    }
    observation = absl::StrJoin(parts, "\n");
  }
  if (Lost(seq)) return LostError(*id);  // its replies may be another env's
  start->instruction = observation;
  start->observation = std::move(observation);
  start->info = {{"upstream_id", *id}, {"upstream_index", index}};
  return episode;
}

}  // namespace agentgym::env::bridge
