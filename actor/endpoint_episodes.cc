#include "actor/endpoint_episodes.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "actor/prompts.h"
#include "actor/step_record.h"
#include "core/det_random.h"
#include "core/logging.h"
#include "nlohmann/json.hpp"

namespace agentgym::actor {
namespace {

struct Job {
  const TaskGroupSpec* group;
  int index;
};

// One episode against one env session. Returns the trajectory when it ended
// (done, truncated, horizon or context_full); nullopt when the env failed
// (*env_error says why); an error when the endpoint failed for good.
class EndpointEpisode {
 public:
  EndpointEpisode(const ChatEndpointClient& chat, EnvPool* pool, const EndpointEpisodeOptions& options,
                  const TaskGroupSpec& group, int index, int attempt)
      : chat_(chat), pool_(pool), o_(options), group_(group), task_(group.members[index]), index_(index),
        attempt_(attempt) {}

  absl::StatusOr<std::optional<tpb::Trajectory>> Run(std::string* env_error) {
    absl::StatusOr<env::EnvClient*> env = pool_->Client(task_.env_server_address);
    if (!env.ok()) {
      *env_error = env.status().ToString();
      return std::nullopt;
    }
    env::v1::CreateRequest create;
    create.set_env(task_.env);
    create.set_task_id(task_.task_id);
    create.set_seed(task_.seed);
    const absl::Time create_start = absl::Now();
    absl::StatusOr<env::v1::CreateResponse> created = (*env)->Create(create);
    t_.set_env_wait_seconds(absl::ToDoubleSeconds(absl::Now() - create_start));
    if (!created.ok()) {
      *env_error = absl::StrCat("Create on ", task_.env_server_address, ": ", created.status().ToString());
      return std::nullopt;
    }
    session_ = created->session_id();
    Fill(*created);

    std::optional<env::v1::EnvInfo> info = pool_->CachedInfo(task_.env);
    const std::string system =
        ComposeSystemPrompt(o_.system_prompt, o_.state_action_format, info.has_value() ? info->action_format() : "");
    if (!system.empty()) messages_.push_back({"system", system});
    messages_.push_back({"user", FirstUserMessage(created->instruction(), created->observation())});

    const uint64_t sample_seed = DetRng::Mix(DetRng::Mix(task_.seed, index_), static_cast<uint64_t>(attempt_));
    while (true) {
      ChatRequestParams params = o_.params;
      params.seed = DetRng::Mix(sample_seed, static_cast<uint64_t>(t_.turns_size()));
      const absl::Time gen_start = absl::Now();
      absl::StatusOr<ChatReply> reply = chat_.Complete(messages_, params);
      const double gen_seconds = absl::ToDoubleSeconds(absl::Now() - gen_start);
      t_.set_generate_seconds(t_.generate_seconds() + gen_seconds);
      if (!reply.ok()) {
        if (reply.status().code() == absl::StatusCode::kOutOfRange) {
          return Finish(*env, tpb::END_REASON_CONTEXT_FULL, std::string(reply.status().message()));
        }
        Close(*env);
        return reply.status();
      }
      messages_.push_back({"assistant", reply->content});
      tpb::Turn* turn = t_.add_turns();
      turn->set_generate_seconds(gen_seconds);
      const absl::Time step_start = absl::Now();
      absl::StatusOr<env::v1::StepResult> step = (*env)->Step(session_, reply->content);
      const double env_seconds = absl::ToDoubleSeconds(absl::Now() - step_start);
      turn->set_env_seconds(env_seconds);
      t_.set_env_wait_seconds(t_.env_wait_seconds() + env_seconds);
      if (!step.ok()) {
        *env_error = absl::StrCat("Step on ", task_.env_server_address, ": ", step.status().ToString());
        Close(*env);
        return std::nullopt;
      }
      RecordStepResult(*step, turn, &t_);
      if (step->done()) return Finish(*env, tpb::END_REASON_DONE, "");
      if (step->truncated()) return Finish(*env, tpb::END_REASON_TRUNCATED, "the env's own turn limit");
      if (t_.turns_size() >= t_.max_turns()) {
        return Finish(*env, tpb::END_REASON_HORIZON, absl::StrCat("horizon of ", t_.max_turns(), " turns"));
      }
      messages_.push_back({"user", step->observation()});
    }
  }

  const std::vector<policy::ChatMessage>& messages() const { return messages_; }

 private:
  void Fill(const env::v1::CreateResponse& created) {
    std::optional<env::v1::EnvInfo> info = pool_->CachedInfo(task_.env);
    const int32_t max_turns = o_.max_turns > 0                    ? o_.max_turns
                              : task_.max_turns > 0               ? task_.max_turns
                              : created.recommended_max_turns() > 0 ? created.recommended_max_turns()
                              : info.has_value() && info->recommended_max_turns() > 0 ? info->recommended_max_turns()
                                                                                       : 1;
    t_.set_env(task_.env);
    t_.set_task_id(task_.task_id.empty() ? created.task().task_id() : task_.task_id);
    t_.set_task_type(task_.task_type.empty() ? created.task().task_type() : task_.task_type);
    t_.set_seed(task_.seed);
    t_.set_group_id(group_.group_id);
    t_.set_group_size(static_cast<int32_t>(group_.members.size()));
    t_.set_group_index(index_);
    t_.set_group_attempt(attempt_);
    t_.set_max_turns(max_turns);
    t_.set_actor_id(absl::StrCat("endpoint:", chat_.options().model_name));
    tpb::SamplingParams* sp = t_.mutable_sampling();
    sp->set_temperature(o_.params.temperature);
    sp->set_top_p(o_.params.top_p);
    sp->set_max_new_tokens(o_.params.max_tokens);
  }

  absl::StatusOr<std::optional<tpb::Trajectory>> Finish(env::EnvClient* env, tpb::EndReason reason,
                                                         std::string detail) {
    Close(env);
    t_.set_end_reason(reason);
    t_.set_end_detail(std::move(detail));
    t_.set_created_unix_ms(absl::ToUnixMillis(absl::Now()));
    return std::optional<tpb::Trajectory>(std::move(t_));
  }

  void Close(env::EnvClient* env) {
    if (session_.empty()) return;
    (void)env->Close(session_);  // best effort: the server expires idle sessions
    session_.clear();
  }

  const ChatEndpointClient& chat_;
  EnvPool* pool_;
  const EndpointEpisodeOptions& o_;
  const TaskGroupSpec& group_;
  const EpisodeTask& task_;
  const int index_;
  const int attempt_;
  std::string session_;
  std::vector<policy::ChatMessage> messages_;
  tpb::Trajectory t_;
};

std::string TranscriptLine(const tpb::Trajectory& t, const std::vector<policy::ChatMessage>& messages) {
  nlohmann::json msgs = nlohmann::json::array();
  for (const policy::ChatMessage& m : messages) msgs.push_back({{"role", m.role}, {"content", m.content}});
  nlohmann::json j = {{"env", t.env()},
                      {"task_id", t.task_id()},
                      {"task_type", t.task_type()},
                      {"seed", t.seed()},
                      {"group_index", t.group_index()},
                      {"success", t.success()},
                      {"score", t.score()},
                      {"reward", t.final_reward()},
                      {"turns", t.turns_size()},
                      {"end_reason", tpb::EndReason_Name(t.end_reason())},
                      {"end_detail", t.end_detail()},
                      {"messages", msgs}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

absl::StatusOr<EndpointRunResult> RunEndpointEpisodes(const ChatEndpointClient& client, EnvPool* pool,
                                                      const std::vector<TaskGroupSpec>& groups,
                                                      const EndpointEpisodeOptions& options) {
  auto log = GetLogger("actor");
  if (options.concurrency < 1) return absl::InvalidArgumentError("concurrency must be >= 1");
  std::FILE* transcript = nullptr;
  if (!options.transcript_out.empty()) {
    transcript = std::fopen(options.transcript_out.c_str(), "w");
    if (transcript == nullptr) {
      return absl::PermissionDeniedError(absl::StrCat("cannot write ", options.transcript_out));
    }
  }
  std::vector<Job> jobs;
  for (const TaskGroupSpec& g : groups) {
    for (int i = 0; i < static_cast<int>(g.members.size()); ++i) jobs.push_back({&g, i});
  }

  absl::Mutex mu;
  EndpointRunResult result;
  absl::Status failure;  // the first endpoint failure; the others stop at their next job
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  std::vector<const TaskGroupSpec*> dropped;
  auto work = [&] {
    while (!stop.load()) {
      const size_t j = next.fetch_add(1);
      if (j >= jobs.size()) return;
      const Job& job = jobs[j];
      for (int attempt = 0;; ++attempt) {
        EndpointEpisode episode(client, pool, options, *job.group, job.index, attempt);
        std::string env_error;
        absl::StatusOr<std::optional<tpb::Trajectory>> ran = episode.Run(&env_error);
        absl::MutexLock lock(&mu);
        if (!ran.ok()) {
          if (failure.ok()) failure = ran.status();
          stop.store(true);
          return;
        }
        if (ran->has_value()) {
          if (transcript != nullptr) {
            const std::string line = TranscriptLine(**ran, episode.messages());
            std::fprintf(transcript, "%s\n", line.c_str());
            std::fflush(transcript);
          }
          result.trajectories.push_back(std::move(**ran));
          break;
        }
        ++result.env_errors;
        log->warn("endpoint eval: {} task {} attempt {}: {}", job.group->members[job.index].env,
                  job.group->members[job.index].task_id, attempt, env_error);
        if (attempt >= options.episode_retries) {
          if (std::find(dropped.begin(), dropped.end(), job.group) == dropped.end()) dropped.push_back(job.group);
          break;
        }
      }
    }
  };
  const int workers = std::max(1, std::min(options.concurrency, static_cast<int>(jobs.size())));
  std::vector<std::thread> threads;
  threads.reserve(workers);
  for (int i = 0; i < workers; ++i) threads.emplace_back(work);
  for (std::thread& t : threads) t.join();
  if (transcript != nullptr) std::fclose(transcript);
  if (!failure.ok()) return failure;
  result.dropped_tasks = static_cast<int64_t>(dropped.size());
  return result;
}

}  // namespace agentgym::actor
