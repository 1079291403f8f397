#include "env_server/envs/searchqa/searchqa_env.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/status_macros.h"
#include "env_server/env_registry.h"
#include "env_server/envs/searchqa/action_text.h"
#include "env_server/envs/searchqa/answer_match.h"

namespace agentgym::env::searchqa {
namespace {

constexpr size_t kMaxQueryBytes = 1000;
constexpr size_t kMaxPassageChars = 1200;  // external passages can be long
constexpr const char* kActionFormat =
    "One action per turn: search[query] (top passages from the corpus), open[doc id] (read a "
    "document, e.g. open[d0042]), answer[text] (final answer; ends the episode). An optional "
    "\"Action:\" prefix is accepted.";

std::string Clip(std::string_view text, size_t limit) {
  if (text.size() <= limit) return std::string(text);
  size_t cut = limit;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut)) + " ...";
}

enum class Tool { kSearch, kOpen, kAnswer };

struct PlanStep {
  Tool tool;
  std::string argument;
};

std::string Format(const PlanStep& step) {
  switch (step.tool) {
    case Tool::kSearch: return absl::StrCat("search[", step.argument, "]");
    case Tool::kOpen: return absl::StrCat("open[", step.argument, "]");
    case Tool::kAnswer: return absl::StrCat("answer[", step.argument, "]");
  }
  return "";
}

// One question-answering episode. Holds the shared world alive; its own state
// is a turn counter, the oracle's position and the last search's passages
// (at most top_k, clipped), so its memory is bounded.
class SearchQaEpisode : public Episode {
 public:
  SearchQaEpisode(std::shared_ptr<const SearchQaWorld> world, const Question* question)
      : world_(std::move(world)), question_(question) {
    const KnowledgeBase& kb = *world_->kb;
    for (const Lookup& lookup : question_->lookups) {
      plan_.push_back({Tool::kSearch, lookup.query});
      bool found = false;
      for (const Bm25Hit& hit : kb.index().Search(lookup.query, world_->options.top_k)) {
        found = found || hit.doc == lookup.doc;
      }
      // When the search misses the page, an informed solver opens it by id.
      if (!found) plan_.push_back({Tool::kOpen, kb.docs()[lookup.doc].id});
    }
    plan_.push_back({Tool::kAnswer, question_->answer});
  }

  absl::StatusOr<StepOutcome> Step(std::string_view action) override {
    StepOutcome out;
    if (done_) {
      out.observation = "The episode is over: an answer was already given.";
      out.done = true;
      out.action_valid = false;
      out.score = score_;
      return out;
    }
    ++turns_;
    BracketAction parsed = ParseTagAction(action);
    if (!parsed.ok) parsed = ParseBracketAction(action);
    if (!parsed.ok) {
      Invalid(out, parsed.error);
    } else if (parsed.verb == "search") {
      if (absl::Status s = Search(parsed.argument, out); !s.ok()) {
        --turns_;  // the retriever failed, not the agent: the turn is not used
        return s;
      }
    } else if (parsed.verb == "open") {
      Open(parsed.argument, out);
    } else if (parsed.verb == "answer") {
      Answer(parsed.argument, out);
    } else {
      Invalid(out, absl::StrCat("Unknown action '", Clip(parsed.verb, 40),
                                "'. Use search[query], open[doc id] or answer[text]."));
    }
    if (out.action_valid && plan_pos_ < plan_.size() && parsed.verb == VerbOf(plan_[plan_pos_]) &&
        parsed.argument == plan_[plan_pos_].argument) {
      ++plan_pos_;
    }
    if (!out.done && turns_ >= world_->options.max_turns) {
      out.truncated = true;
      done_ = true;
      absl::StrAppend(&out.observation, "\nTurn limit (", world_->options.max_turns,
                      ") reached without an answer.");
    }
    out.score = score_;
    out.info["turn"] = turns_;
    return out;
  }

  std::optional<std::string> OracleAction() const override {
    if (done_ || plan_pos_ >= plan_.size()) return std::nullopt;
    return Format(plan_[plan_pos_]);
  }

  size_t ApproxBytes() const override {
    size_t bytes = plan_.capacity() * sizeof(PlanStep);
    for (const PlanStep& s : plan_) bytes += s.argument.capacity();
    for (const Passage& p : last_results_) {
      bytes += sizeof(p) + p.id.capacity() + p.title.capacity() + p.text.capacity();
    }
    return bytes;
  }

 private:
  // Search-R1 / AgentGym-RL tags: <search>q</search>, <answer>a</answer>.
  static BracketAction ParseTagAction(std::string_view text) {
    BracketAction out;
    text = TrimAscii(text);
    for (const char* verb : {"search", "answer", "open"}) {
      const std::string open = absl::StrCat("<", verb, ">");
      const std::string close = absl::StrCat("</", verb, ">");
      size_t a = text.find(open);
      size_t b = text.rfind(close);
      if (a != std::string_view::npos && b != std::string_view::npos && b >= a + open.size()) {
        out.ok = true;
        out.verb = verb;
        out.argument = std::string(TrimAscii(text.substr(a + open.size(), b - a - open.size())));
        return out;
      }
    }
    return out;
  }

  static std::string VerbOf(const PlanStep& step) {
    switch (step.tool) {
      case Tool::kSearch: return "search";
      case Tool::kOpen: return "open";
      case Tool::kAnswer: return "answer";
    }
    return "";
  }

  static void Invalid(StepOutcome& out, std::string why) {
    out.action_valid = false;
    out.observation = absl::StrCat("Invalid action: ", why);
  }

  absl::Status Search(const std::string& query, StepOutcome& out) {
    if (query.empty()) {
      Invalid(out, "search[] needs a query, e.g. search[capital of Valdoria].");
      return absl::OkStatus();
    }
    if (query.size() > kMaxQueryBytes) {
      Invalid(out, absl::StrCat("The query is too long (", query.size(), " bytes; limit ",
                                kMaxQueryBytes, "). Use a few keywords."));
      return absl::OkStatus();
    }
    absl::StatusOr<std::vector<Passage>> results =
        world_->backend->Search(query, world_->options.top_k);
    if (!results.ok()) return results.status();
    last_results_.clear();
    std::string obs = absl::StrCat("Search results for \"", query, "\":");
    nlohmann::json ids = nlohmann::json::array();
    int rank = 0;
    for (Passage& p : *results) {
      p.text = Clip(p.text, kMaxPassageChars);
      p.title = Clip(p.title, 200);
      p.id = Clip(p.id, 64);
      absl::StrAppend(&obs, "\n[", ++rank, "] ", p.id, " | ", p.title, "\n", p.text);
      ids.push_back(p.id);
      last_results_.push_back(std::move(p));
    }
    if (rank == 0) obs = absl::StrCat("No documents match \"", query, "\". Try other keywords.");
    out.observation = std::move(obs);
    out.info["tool"] = "search";
    out.info["doc_ids"] = std::move(ids);
    return absl::OkStatus();
  }

  void Open(const std::string& id, StepOutcome& out) {
    const KnowledgeBase& kb = *world_->kb;
    if (world_->options.search_backend.empty()) {
      int doc = kb.FindDoc(id);
      if (doc >= 0) {
        const Document& d = kb.docs()[doc];
        out.observation = absl::StrCat("Document ", d.id, " | ", d.title, "\n", d.text);
        out.info["tool"] = "open";
        return;
      }
    }
    for (const Passage& p : last_results_) {
      if (p.id == id) {
        out.observation = absl::StrCat("Document ", p.id, " | ", p.title, "\n", p.text);
        out.info["tool"] = "open";
        return;
      }
    }
    Invalid(out, absl::StrCat("No document with id '", Clip(id, 64),
                              "'. Use an id from the search results, e.g. open[d0042]."));
  }

  void Answer(const std::string& text, StepOutcome& out) {
    if (text.empty()) {
      Invalid(out, "answer[] needs your answer inside the brackets.");
      return;
    }
    const bool exact = ExactMatch(text, question_->answer);
    const double f1 = exact ? 1.0 : TokenF1(text, question_->answer);
    done_ = true;
    score_ = f1;
    out.done = true;
    out.success = exact;
    out.reward = f1;
    out.info["tool"] = "answer";
    out.info["exact_match"] = exact;
    out.info["f1"] = f1;
    out.observation = exact ? absl::StrCat("Your answer \"", Clip(text, 200), "\" is correct.")
                            : absl::StrCat("Your answer \"", Clip(text, 200),
                                           "\" is not correct (token F1 ",
                                           absl::StrFormat("%.2f", f1), ").");
  }

  std::shared_ptr<const SearchQaWorld> world_;
  const Question* question_;  // owned by world_
  std::vector<PlanStep> plan_;
  size_t plan_pos_ = 0;
  std::vector<Passage> last_results_;
  int turns_ = 0;
  bool done_ = false;
  double score_ = 0.0;
};

absl::Status ParseInt(const EnvOptions& options, const std::string& key, int lo, int hi,
                      int* out) {
  auto it = options.find(key);
  if (it == options.end()) return absl::OkStatus();
  if (!absl::SimpleAtoi(it->second, out) || *out < lo || *out > hi) {
    return absl::InvalidArgumentError(absl::StrCat("searchqa.", key, " must be an integer in [",
                                                   lo, ", ", hi, "], got '", it->second, "'"));
  }
  return absl::OkStatus();
}

absl::Status ParseDouble(const EnvOptions& options, const std::string& key, double lo, double hi,
                         double* out) {
  auto it = options.find(key);
  if (it == options.end()) return absl::OkStatus();
  if (!absl::SimpleAtod(it->second, out) || !(*out >= lo && *out <= hi)) {
    return absl::InvalidArgumentError(absl::StrCat("searchqa.", key, " must be a number in [", lo,
                                                   ", ", hi, "], got '", it->second, "'"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SearchQaOptions> ParseSearchQaOptions(const EnvOptions& options) {
  static const char* kKnown[] = {"top_k", "max_turns", "kb_seed", "k1", "b", "search_backend",
                                 "search_timeout_ms"};
  for (const auto& [key, value] : options) {
    if (std::find(std::begin(kKnown), std::end(kKnown), key) == std::end(kKnown)) {
      return absl::InvalidArgumentError(absl::StrCat("unknown searchqa option '", key,
                                                     "'; known: ", absl::StrJoin(kKnown, ", ")));
    }
  }
  SearchQaOptions o;
  AG_RETURN_IF_ERROR(ParseInt(options, "top_k", 1, 50, &o.top_k));
  AG_RETURN_IF_ERROR(ParseInt(options, "max_turns", 1, 1000, &o.max_turns));
  AG_RETURN_IF_ERROR(ParseInt(options, "search_timeout_ms", 1, 600000, &o.search_timeout_ms));
  AG_RETURN_IF_ERROR(ParseDouble(options, "k1", 0.0, 10.0, &o.bm25.k1));
  AG_RETURN_IF_ERROR(ParseDouble(options, "b", 0.0, 1.0, &o.bm25.b));
  if (auto it = options.find("kb_seed"); it != options.end()) {
    if (!absl::SimpleAtoi(it->second, &o.kb_seed)) {
      return absl::InvalidArgumentError(
          absl::StrCat("searchqa.kb_seed must be an unsigned integer, got '", it->second, "'"));
    }
  }
  if (auto it = options.find("search_backend"); it != options.end()) o.search_backend = it->second;
  return o;
}

SearchQaEnv::SearchQaEnv(std::shared_ptr<const SearchQaWorld> world) : world_(std::move(world)) {
  description_.name = "searchqa";
  description_.description =
      "Deep-search question answering: multi-hop questions over a synthetic corpus of a few "
      "thousand documents, answered with search/open tools and graded by exact match / F1.";
  description_.action_format = kActionFormat;
  description_.mirrors = "AgentGym-RL SearchQA (deep search: NQ, TriviaQA, PopQA, HotpotQA, "
                         "2Wiki, MuSiQue, Bamboogle)";
  for (const QuestionSet& set : world_->sets) {
    TaskTypeInfo info;
    info.name = set.type;
    info.description = set.description;
    info.train_count = static_cast<int64_t>(set.train.size());
    info.test_count = static_cast<int64_t>(set.test.size());
    // The oracle needs at most 2 turns per hop (search, open) plus the answer.
    info.recommended_max_turns = 2 * set.max_hops + 4;
    description_.recommended_max_turns =
        std::max(description_.recommended_max_turns, info.recommended_max_turns);
    description_.task_types.push_back(std::move(info));
  }
}

absl::StatusOr<std::unique_ptr<Environment>> SearchQaEnv::Create(const EnvOptions& options) {
  AG_ASSIGN_OR_RETURN(SearchQaOptions parsed, ParseSearchQaOptions(options));
  auto world = std::make_shared<SearchQaWorld>();
  world->options = parsed;
  KnowledgeBaseOptions kb_options;
  kb_options.seed = parsed.kb_seed;
  kb_options.bm25 = parsed.bm25;
  world->kb = KnowledgeBase::Build(kb_options);
  world->sets = BuildQuestionSets(*world->kb, parsed.kb_seed);
  if (parsed.search_backend.empty()) {
    world->backend = std::make_shared<LocalSearchBackend>(world->kb);
  } else {
    AG_ASSIGN_OR_RETURN(auto http, HttpSearchBackend::Create(parsed.search_backend,
                                                             parsed.search_timeout_ms));
    world->backend = std::move(http);
  }
  return std::unique_ptr<Environment>(new SearchQaEnv(std::move(world)));
}

bool SearchQaEnv::StepsMayBlock() const { return !world_->options.search_backend.empty(); }

absl::StatusOr<std::unique_ptr<Episode>> SearchQaEnv::NewEpisode(const TaskKey& key, uint64_t seed,
                                                                 EpisodeStart* start) const {
  for (const QuestionSet& set : world_->sets) {
    if (set.type != key.type) continue;
    const std::vector<Question>& split = key.split == Split::kTrain ? set.train : set.test;
    if (key.index < 0 || key.index >= static_cast<int64_t>(split.size())) {
      return absl::InvalidArgumentError(absl::StrCat("task index ", key.index, " out of range"));
    }
    const Question& q = split[key.index];
    start->instruction = absl::StrCat(
        "Answer the question by searching a document corpus. ", kActionFormat,
        "\nQuestion: ", q.text);
    start->observation = absl::StrCat(
        "Question: ", q.text,
        "\nNo searches yet. Use search[query], open[doc id] and answer[text].");
    start->info["hops"] = static_cast<int>(q.lookups.size());
    return std::unique_ptr<Episode>(new SearchQaEpisode(world_, &q));
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown searchqa task type '", key.type, "'"));
}

AG_REGISTER_ENV("searchqa", [](const EnvOptions& options) { return SearchQaEnv::Create(options); });

}  // namespace agentgym::env::searchqa
