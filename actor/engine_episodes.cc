// EpisodeEngine: one episode's life (create, prompt, turns, env steps, end)
// and group outcomes.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "actor/engine_internal.h"
#include "actor/episode_engine.h"
#include "actor/prompts.h"
#include "actor/step_record.h"
#include "core/logging.h"

namespace agentgym::actor {
namespace {

absl::Status WithContext(const absl::Status& s, const std::string& what) {
  return absl::Status(s.code(), absl::StrCat(what, ": ", s.message()));
}

void AppendTokens(tpb::Trajectory* t, const std::vector<int32_t>& ids) {
  for (int32_t id : ids) {
    t->add_token_ids(id);
    t->mutable_loss_mask()->push_back('\0');
    t->add_behaviour_logprobs(0.0f);
  }
}

// UTF-8 sequence length from its lead byte; 0 for a byte that cannot lead.
int LeadLength(unsigned char c) {
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return 2;
  if (c >= 0xE0 && c <= 0xEF) return 3;
  if (c >= 0xF0 && c <= 0xF4) return 4;
  return 0;
}

}  // namespace

std::string SanitizeUtf8(const std::string& text) {
  // Hand-written (a dozen lines) rather than pulling ICU into the actor for
  // one conversion; follows RFC 3629 like core's IsValidUtf8.
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const int n = LeadLength(c);
    bool ok = n > 0 && i + n <= text.size();
    for (int k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
    if (ok && n >= 3) {
      const unsigned char c1 = static_cast<unsigned char>(text[i + 1]);
      if (c == 0xE0 && c1 < 0xA0) ok = false;   // overlong
      if (c == 0xED && c1 >= 0xA0) ok = false;  // surrogates
      if (c == 0xF0 && c1 < 0x90) ok = false;   // overlong
      if (c == 0xF4 && c1 >= 0x90) ok = false;  // above U+10FFFF
    }
    if (ok) {
      out.append(text, i, n);
      i += n;
    } else {
      out.append("\xEF\xBF\xBD");
      ++i;
    }
  }
  return out;
}

policy::SamplingParams EpisodeEngine::ParamsFor(const Episode& ep) const {
  policy::SamplingParams p;
  p.temperature = options_.temperature;
  p.top_k = options_.top_k;
  p.top_p = options_.top_p;
  p.max_new_tokens = options_.max_new_tokens;
  p.stop_token_ids = {bundle_->chat->end_of_turn_id()};
  p.seed = ep.sample_seed;
  return p;
}

std::string EpisodeEngine::SystemPrompt(const std::string& env) const {
  std::optional<env::v1::EnvInfo> info = pool_->CachedInfo(env);
  return ComposeSystemPrompt(options_.system_prompt.value_or(bundle_->system_prompt),
                             options_.state_action_format.value_or(bundle_->state_action_format),
                             info.has_value() ? info->action_format() : "");
}

void EpisodeEngine::HandleEvent(EnvEvent event) {
  auto it = episodes_.find(event.episode);
  if (it == episodes_.end()) return;  // cannot happen: kept while a call is pending
  Episode& ep = *it->second;
  ep.call_pending = false;
  if (event.kind == EnvEvent::Kind::kCreated) {
    OnCreated(ep, std::move(event.created));
  } else {
    OnStepped(ep, std::move(event.stepped), event.latency);
  }
  MaybeErase(event.episode);
}

void EpisodeEngine::OnCreated(Episode& ep, absl::StatusOr<env::v1::CreateResponse> created) {
  if (created.ok()) ep.session_id = created->session_id();
  if (ep.state == Episode::State::kFinished) {  // aborted or cancelled meanwhile
    CloseSession(ep);
    return;
  }
  if (!created.ok()) {
    EndEpisode(ep, tpb::END_REASON_ENV_ERROR,
               WithContext(created.status(), absl::StrCat("Create on ", ep.server)).ToString());
    return;
  }
  ep.state = Episode::State::kCreated;
  ep.instruction = created->instruction();
  ep.first_observation = created->observation();
  ep.recommended_max_turns = created->recommended_max_turns();
  if (ep.task.task_id.empty()) ep.task.task_id = created->task().task_id();
  if (ep.task.task_type.empty()) ep.task.task_type = created->task().task_type();
  GroupRun& g = *groups_.at(ep.group);
  for (uint64_t uid : g.members) {
    if (episodes_.at(uid)->state == Episode::State::kCreating) return;  // wait for the rest
  }
  StartGeneration(g);
}

void EpisodeEngine::StartGeneration(GroupRun& g) {
  if (g.generation_started || g.aborted) return;
  g.generation_started = true;
  std::vector<Episode*> members;
  for (uint64_t uid : g.members) {
    Episode& ep = *episodes_.at(uid);
    if (ep.state == Episode::State::kCreated) members.push_back(&ep);
  }
  if (members.empty()) return;
  absl::Status s = StartSequences(g, members);
  if (!s.ok()) {
    for (Episode* ep : members) {
      if (ep->state == Episode::State::kFinished) continue;
      const tpb::EndReason reason = s.code() == absl::StatusCode::kOutOfRange ? tpb::END_REASON_CONTEXT_FULL
                                    : s.code() == absl::StatusCode::kInternal ? tpb::END_REASON_CANCELLED
                                                                               : tpb::END_REASON_ENV_ERROR;
      if (s.code() == absl::StatusCode::kInternal && fatal_.ok()) fatal_ = s;
      EndEpisode(*ep, reason, s.ToString());
    }
  }
}

absl::Status EpisodeEngine::StartSequences(GroupRun& g, const std::vector<Episode*>& members) {
  // The prompt is rendered once when every member saw the same first
  // observation (same task and seed), and then prefilled once.
  bool shared = options_.share_prefix && members.size() > 1;
  for (Episode* ep : members) {
    shared = shared && ep->instruction == members[0]->instruction &&
             ep->first_observation == members[0]->first_observation;
  }
  std::vector<std::vector<int32_t>> prompts;
  for (size_t i = 0; i < members.size(); ++i) {
    if (shared && i > 0) {
      prompts.push_back(prompts[0]);
      continue;
    }
    Episode& ep = *members[i];
    std::vector<policy::ChatMessage> messages;
    const std::string system = SystemPrompt(ep.task.env);
    if (!system.empty()) messages.push_back({"system", system});
    messages.push_back({"user", FirstUserMessage(ep.instruction, ep.first_observation)});
    absl::StatusOr<policy::TokenizedChat> chat = bundle_->chat->Render(messages, /*add_generation_prompt=*/true);
    if (!chat.ok()) return absl::InvalidArgumentError(absl::StrCat("rendering the prompt: ", chat.status().message()));
    prompts.push_back(std::move(chat->ids));
  }
  const std::string actor = options_.actor_id;
  for (size_t i = 0; i < members.size(); ++i) {
    Episode& ep = *members[i];
    const int32_t horizon = options_.horizon ? options_.horizon(ep.task.env) : 0;
    std::optional<env::v1::EnvInfo> info = pool_->CachedInfo(ep.task.env);
    ep.max_turns = horizon > 0                       ? horizon
                   : ep.task.max_turns > 0           ? ep.task.max_turns
                   : ep.recommended_max_turns > 0    ? ep.recommended_max_turns
                   : info.has_value() && info->recommended_max_turns() > 0 ? info->recommended_max_turns()
                                                                            : 1;
    tpb::Trajectory& t = ep.traj;
    AppendTokens(&t, prompts[i]);
    t.set_prompt_length(static_cast<int32_t>(prompts[i].size()));
  }
  std::vector<int64_t> prompt(prompts[0].begin(), prompts[0].end());
  std::vector<int64_t> ids;
  if (shared) {
    const absl::Time prefill_start = absl::Now();
    absl::StatusOr<int64_t> leader = generator_->AddSequence(prompt, ParamsFor(*members[0]));
    if (!leader.ok()) return leader.status();
    ids.push_back(*leader);
    if (absl::Status s = generator_->Prefill(*leader); !s.ok()) return s;
    std::vector<policy::SamplingParams> params;
    for (size_t i = 1; i < members.size(); ++i) params.push_back(ParamsFor(*members[i]));
    absl::StatusOr<std::vector<int64_t>> forks = generator_->Fork(*leader, params);
    if (!forks.ok()) return forks.status();
    ids.insert(ids.end(), forks->begin(), forks->end());
    absl::MutexLock lock(&stats_mu_);
    stats_.generate_seconds += absl::ToDoubleSeconds(absl::Now() - prefill_start);
  } else {
    for (size_t i = 0; i < members.size(); ++i) {
      std::vector<int64_t> p(prompts[i].begin(), prompts[i].end());
      absl::StatusOr<int64_t> id = generator_->AddSequence(p, ParamsFor(*members[i]));
      if (!id.ok()) return id.status();
      ids.push_back(*id);
    }
  }
  const absl::Time now = absl::Now();
  for (size_t i = 0; i < members.size(); ++i) {
    members[i]->seq_id = ids[i];
    seq_to_episode_[ids[i]] = members[i]->uid;
    members[i]->state = Episode::State::kGenerating;
    members[i]->turn_version = version_;
    members[i]->turn_start = now;
  }
  return absl::OkStatus();
}

void EpisodeEngine::OnTurnFinished(Episode& ep) {
  absl::StatusOr<policy::TurnResult> r = generator_->Result(ep.seq_id);
  if (!r.ok()) {
    EndEpisode(ep, tpb::END_REASON_CANCELLED, r.status().ToString());
    return;
  }
  tpb::Trajectory& t = ep.traj;
  tpb::Turn* turn = t.add_turns();
  turn->set_agent_begin(t.token_ids_size());
  for (size_t i = 0; i < r->tokens.size(); ++i) {
    t.add_token_ids(static_cast<int32_t>(r->tokens[i]));
    t.mutable_loss_mask()->push_back('\1');
    t.add_behaviour_logprobs(r->logprobs[i]);
  }
  turn->set_agent_end(t.token_ids_size());
  turn->set_env_begin(t.token_ids_size());
  turn->set_env_end(t.token_ids_size());
  turn->set_policy_version(ep.turn_version);
  const absl::Duration gen = absl::Now() - ep.turn_start;
  turn->set_generate_seconds(absl::ToDoubleSeconds(gen));
  ep.generate_time += gen;
  {
    absl::MutexLock lock(&stats_mu_);
    ++stats_.turns;
  }
  const int32_t eot = bundle_->chat->end_of_turn_id();
  const bool ended_turn =
      r->finish_reason == policy::FinishReason::kStopToken && !r->tokens.empty() && r->tokens.back() == eot;
  const bool truncated = r->finish_reason == policy::FinishReason::kMaxNewTokens;
  if (!ended_turn && !(truncated && options_.step_truncated_turns)) {
    const bool full = r->finish_reason == policy::FinishReason::kMaxLength;
    EndEpisode(ep, full ? tpb::END_REASON_CONTEXT_FULL : tpb::END_REASON_TOKEN_BUDGET,
               full ? "the agent turn filled the context"
                    : absl::StrCat("agent turn reached max_new_tokens ", options_.max_new_tokens,
                                   " without an end of turn"));
    return;
  }
  ep.close_turn = !ended_turn;
  std::vector<int32_t> action_ids(r->tokens.begin(), r->tokens.end() - (ended_turn ? 1 : 0));
  absl::StatusOr<std::string> text = bundle_->tokenizer->Decode(action_ids);
  if (!text.ok()) {
    EndEpisode(ep, tpb::END_REASON_CANCELLED, absl::StrCat("decoding the action: ", text.status().message()));
    return;
  }
  if (ep.client == nullptr) {
    EndEpisode(ep, tpb::END_REASON_ENV_ERROR, "no env client");
    return;
  }
  ep.state = Episode::State::kStepping;
  ep.call_pending = true;
  ep.env_start = absl::Now();
  BoundedQueue<EnvEvent>* queue = events_;
  EnvPool* pool = pool_;
  const uint64_t uid = ep.uid;
  const std::string server = ep.server;
  const absl::Time sent = ep.env_start;
  ep.client->StepAsync(ep.session_id, SanitizeUtf8(*text),
                       [queue, pool, uid, server, sent](absl::StatusOr<env::v1::StepResult> result) {
                         pool->ReportCall(server, result.status());
                         EnvEvent e;
                         e.kind = EnvEvent::Kind::kStepped;
                         e.episode = uid;
                         e.latency = absl::Now() - sent;
                         e.stepped = std::move(result);
                         queue->Push(std::move(e));
                       });
}

void EpisodeEngine::OnStepped(Episode& ep, absl::StatusOr<env::v1::StepResult> result, absl::Duration latency) {
  if (ep.state == Episode::State::kFinished) return;  // aborted or cancelled meanwhile
  ep.env_time += latency;
  tpb::Trajectory& t = ep.traj;
  tpb::Turn* turn = t.mutable_turns(t.turns_size() - 1);
  turn->set_env_seconds(absl::ToDoubleSeconds(latency));
  if (!result.ok()) {
    EndEpisode(ep, tpb::END_REASON_ENV_ERROR,
               WithContext(result.status(), absl::StrCat("Step on ", ep.server)).ToString());
    return;
  }
  RecordStepResult(*result, turn, &t);
  if (result->done()) return EndEpisode(ep, tpb::END_REASON_DONE, "");
  if (result->truncated()) return EndEpisode(ep, tpb::END_REASON_TRUNCATED, "the env's own turn limit");
  if (t.turns_size() >= ep.max_turns) {
    return EndEpisode(ep, tpb::END_REASON_HORIZON, absl::StrCat("horizon of ", ep.max_turns, " turns"));
  }
  absl::StatusOr<policy::TokenizedChat> next =
      bundle_->chat->AppendTurn({"user", result->observation()}, /*add_generation_prompt=*/true);
  if (!next.ok()) {
    return EndEpisode(ep, tpb::END_REASON_ENV_ERROR,
                      absl::StrCat("rendering the observation: ", next.status().message()));
  }
  // A truncated agent turn is closed by the template, as if the policy had
  // ended it: AppendTurn continues a context that ends with end of turn.
  if (ep.close_turn) next->ids.insert(next->ids.begin(), bundle_->chat->end_of_turn_id());
  ep.close_turn = false;
  std::vector<int64_t> ids(next->ids.begin(), next->ids.end());
  absl::Status s = generator_->Extend(ep.seq_id, ids);
  if (s.code() == absl::StatusCode::kOutOfRange) return EndEpisode(ep, tpb::END_REASON_CONTEXT_FULL, s.ToString());
  if (!s.ok()) return EndEpisode(ep, tpb::END_REASON_CANCELLED, s.ToString());
  turn->set_env_begin(t.token_ids_size());
  AppendTokens(&t, next->ids);
  turn->set_env_end(t.token_ids_size());
  ep.state = Episode::State::kGenerating;
  ep.turn_version = version_;
  ep.turn_start = absl::Now();
}

void EpisodeEngine::CloseSession(Episode& ep) {
  if (ep.session_id.empty() || ep.client == nullptr) return;
  {
    absl::MutexLock lock(&close_mu_);
    ++closes_pending_;
  }
  ep.client->CloseAsync(ep.session_id, [this](absl::Status) {
    absl::MutexLock lock(&close_mu_);
    --closes_pending_;
  });
  ep.session_id.clear();
}

void EpisodeEngine::EndEpisode(Episode& ep, tpb::EndReason reason, const std::string& detail) {
  if (ep.state == Episode::State::kFinished) return;
  const Episode::State was = ep.state;
  ep.state = Episode::State::kFinished;
  if (ep.seq_id >= 0) {
    absl::StatusOr<std::vector<int64_t>> ctx = generator_->Tokens(ep.seq_id);
    if (ctx.ok() && static_cast<int>(ctx->size()) != ep.traj.token_ids_size() &&
        reason != tpb::END_REASON_CANCELLED) {
      GetLogger("actor")->error("episode {}: trajectory has {} tokens, generator {}", ep.uid,
                                ep.traj.token_ids_size(), ctx->size());
    }
    (void)generator_->Remove(ep.seq_id);
    seq_to_episode_.erase(ep.seq_id);
    ep.seq_id = -1;
  }
  if (was != Episode::State::kCreating || !ep.call_pending) CloseSession(ep);
  GroupRun& g = *groups_.at(ep.group);
  tpb::Trajectory& t = ep.traj;
  t.set_end_reason(reason);
  t.set_end_detail(detail);
  t.set_env(ep.task.env);
  t.set_task_id(ep.task.task_id);
  t.set_task_type(ep.task.task_type);
  t.set_seed(ep.task.seed);
  t.set_group_id(g.spec.group_id);
  t.set_group_size(static_cast<int32_t>(g.members.size()));
  t.set_group_index(ep.index);
  t.set_group_attempt(g.attempt);
  t.set_max_turns(ep.max_turns);
  t.set_actor_id(options_.actor_id);
  tpb::SamplingParams* sp = t.mutable_sampling();
  sp->set_temperature(options_.temperature);
  sp->set_top_k(options_.top_k);
  sp->set_top_p(options_.top_p);
  sp->set_max_new_tokens(options_.max_new_tokens);
  sp->set_seed(ep.sample_seed);
  t.set_generate_seconds(absl::ToDoubleSeconds(ep.generate_time));
  t.set_env_wait_seconds(absl::ToDoubleSeconds(ep.env_time));
  t.set_created_unix_ms(absl::ToUnixMillis(absl::Now()));
  const bool env_error = reason == tpb::END_REASON_ENV_ERROR;
  pool_->CountEpisode(ep.server, env_error);
  {
    absl::MutexLock lock(&stats_mu_);
    ++stats_.produced;
    if (env_error) ++stats_.env_error;
    if (reason == tpb::END_REASON_CANCELLED && stopping_) ++stats_.cancelled;
  }
  // Ids only for what may be sent: cancelled and discarded attempts never are.
  if (reason != tpb::END_REASON_CANCELLED || (!stopping_ && !ep.discard)) {
    t.set_trajectory_id(absl::StrCat(options_.actor_id, "/", next_trajectory_++));
  }
  ended_.push_back(ep.uid);
  g.results[ep.index] = std::move(t);
  g.has_result[ep.index] = true;
  ++g.finished;
  if (env_error && !g.aborted && !stopping_) {
    // The group will be rerun (or dropped): stop its other members now.
    g.aborted = true;
    for (uint64_t uid : g.members) {
      Episode& other = *episodes_.at(uid);
      if (other.state == Episode::State::kFinished) continue;
      other.discard = true;
      EndEpisode(other, tpb::END_REASON_CANCELLED, "another member of the group failed");
    }
  }
  if (g.finished == static_cast<int>(g.members.size())) CompleteGroup(g);
}

void EpisodeEngine::CompleteGroup(GroupRun& g) {
  if (g.completed) return;
  g.completed = true;
  auto log = GetLogger("actor");
  int64_t sent = 0, dropped = 0;
  auto send = [&](tpb::Trajectory& t) {
    absl::Status s = sink_->Send(std::move(t));
    if (!s.ok()) {
      log->error("trajectory not taken by the sink: {}", s.ToString());
      ++dropped;
    } else {
      ++sent;
    }
  };
  bool finished = false;
  if (stopping_) {
    // Shutdown: finished whole groups still go out; the rest is cancelled.
    bool whole = !g.aborted;
    for (const tpb::Trajectory& t : g.results) whole = whole && t.end_reason() != tpb::END_REASON_CANCELLED;
    if (whole) {
      for (tpb::Trajectory& t : g.results) send(t);
      finished = true;
    } else {
      // Every member counted as produced (finished or cancelled) is
      // dropped with its incomplete group, so the run's accounting adds up.
      dropped += static_cast<int64_t>(g.results.size());
    }
  } else if (!g.aborted) {
    for (tpb::Trajectory& t : g.results) send(t);
    finished = true;
  } else {
    for (tpb::Trajectory& t : g.results) {
      if (t.end_reason() == tpb::END_REASON_ENV_ERROR) {
        send(t);
      } else {
        ++dropped;
      }
    }
    if (g.attempt < options_.group_retries) {
      reruns_.push_back({g.spec, g.attempt + 1});
      log->info("group {} attempt {} hit an env error; rerunning it", g.spec.group_id, g.attempt);
      absl::MutexLock lock(&stats_mu_);
      ++stats_.groups_rerun;
    } else {
      log->warn("group {} dropped after {} attempts with env errors", g.spec.group_id, g.attempt + 1);
      finished = true;
      absl::MutexLock lock(&stats_mu_);
      ++stats_.groups_dropped;
    }
  }
  {
    absl::MutexLock lock(&stats_mu_);
    stats_.sent += sent;
    stats_.dropped += dropped;
    if (finished && !g.aborted) ++stats_.groups_completed;
  }
  if (finished && !g.spec.group_id.empty()) source_->GroupFinished(g.spec.group_id);
  // Episodes are erased by MaybeErase once their calls are answered; the
  // group record goes when its last episode does.
}

void EpisodeEngine::MaybeErase(uint64_t uid) {
  auto it = episodes_.find(uid);
  if (it == episodes_.end()) return;
  Episode& ep = *it->second;
  if (ep.state != Episode::State::kFinished || ep.call_pending) return;
  const uint64_t key = ep.group;
  episodes_.erase(it);
  auto g = groups_.find(key);
  if (g == groups_.end()) return;
  for (uint64_t m : g->second->members) {
    if (episodes_.count(m) > 0) return;
  }
  groups_.erase(g);
}

void EpisodeEngine::Sweep() {
  std::vector<uint64_t> ended;
  ended.swap(ended_);
  for (uint64_t uid : ended) MaybeErase(uid);
}

void EpisodeEngine::CancelAll() {
  std::vector<uint64_t> uids;
  for (const auto& [uid, ep] : episodes_) uids.push_back(uid);
  for (uint64_t uid : uids) {
    auto it = episodes_.find(uid);
    if (it == episodes_.end()) continue;
    EndEpisode(*it->second, tpb::END_REASON_CANCELLED, "actor shutting down");
  }
  Sweep();
}

}  // namespace agentgym::actor
