#include "env_server/bridge/bridge_env.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/logging.h"

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
  BridgeEpisode(const BridgeEnvironment* env, json id) : env_(env), id_(std::move(id)) {}
  ~BridgeEpisode() override { env_->CloseUpstream(std::move(id_)); }

  absl::StatusOr<StepOutcome> Step(std::string_view action) override {
    const UpstreamConfig& c = env_->config_;
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
      if (!reply.ok()) return reply.status();
      const json* obs = Field(*reply, c.observation_field);
      if (obs == nullptr) return Missing(c.name, "step", c.observation_field, *reply);
      out.observation = Text(*obs);
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
  return std::unique_ptr<BridgeEnvironment>(
      new BridgeEnvironment(std::move(config), *std::move(parser), *std::move(client)));
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

void BridgeEnvironment::CloseUpstream(json id) const {
  if (config_.close_path.empty() || id.is_null()) return;
  if (!to_close_.TryPush(std::move(id))) {
    GetLogger("bridge")->warn("env '{}': close queue full; an upstream env is left open",
                              config_.name);
  }
}

void BridgeEnvironment::CloseLoop() {
  int failed = 0;
  while (auto id = to_close_.Pop()) {
    json body = json::object();
    body[config_.session_key] = *id;
    auto reply = client_->Post(config_.close_path, body, config_.close_timeout);
    if (!reply.ok()) {
      ++failed;
      GetLogger("bridge")->debug("env '{}': close of upstream env {} failed: {}", config_.name,
                                 IdText(*id), std::string(reply.status().message()));
    }
  }
  if (failed > 0) {
    GetLogger("bridge")->warn("env '{}': {} upstream envs could not be closed (see debug log)",
                              config_.name, failed);
  }
  closer_done_.Notify();
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
  if (!created.ok()) return created.status();
  const json* id = Field(*created, c.create_id_field);
  if (id == nullptr || id->is_null() || id->is_object() || id->is_array()) {
    return Missing(c.name, "create", c.create_id_field, *created);
  }
  // From here on the upstream env exists: the episode (or this guard) closes it.
  auto episode = std::make_unique<BridgeEpisode>(this, *id);
  json reset = c.reset_body;
  reset[c.session_key] = *id;
  if (!c.reset_task_key.empty()) reset[c.reset_task_key] = index;
  if (!c.reset_seed_key.empty()) reset[c.reset_seed_key] = seed;
  auto reply = client_->Post(c.reset_path, reset, c.request_timeout);
  if (!reply.ok()) return reply.status();
  std::string observation;
  if (c.reset_fetch_observation) {
    auto fetched = client_->Get(c.observation_path, c.session_key, IdText(*id), c.request_timeout);
    if (!fetched.ok()) return fetched.status();
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
  start->instruction = observation;
  start->observation = std::move(observation);
  start->info = {{"upstream_id", *id}, {"upstream_index", index}};
  return episode;
}

}  // namespace agentgym::env::bridge
