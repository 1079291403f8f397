#include "env_server/bridge/bridge_config.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status_macros.h"

namespace agentgym::env::bridge {
namespace {

using json = nlohmann::json;

// Maps merge key by key; anything else replaces.
void DeepMerge(json& base, const json& over) {
  if (base.is_object() && over.is_object()) {
    for (const auto& [k, v] : over.items()) {
      if (base.contains(k) && base[k].is_object() && v.is_object()) {
        DeepMerge(base[k], v);
      } else {
        base[k] = v;
      }
    }
  } else {
    base = over;
  }
}

// Maps whose keys are the user's own (JSON fields sent upstream, alias
// words), not bridge settings.
bool IsFreeForm(const std::string& path) {
  return path == "create.body" || path == "reset.body" || path == "action.aliases";
}

void CheckListEntries(const json& list, const std::string& path,
                      const std::vector<std::string>& known, std::vector<std::string>* unknown) {
  if (!list.is_array()) return;  // the type is the Reader's to check
  for (size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_object()) continue;
    for (const auto& [k, v] : list[i].items()) {
      if (std::find(known.begin(), known.end(), k) == known.end()) {
        unknown->push_back(absl::StrCat(path, "[", i, "].", k, " (known: ",
                                        absl::StrJoin(known, ", "), ")"));
      }
    }
  }
}

// Every key of `over` must be a key of `schema` (the table's defaults), at
// every level, so that a typo such as `step.score_fiel` is an error instead
// of a setting silently ignored.
void CollectUnknownKeys(const json& over, const json& schema, const std::string& path,
                        std::vector<std::string>* unknown) {
  if (!over.is_object() || !schema.is_object()) return;
  for (const auto& [k, v] : over.items()) {
    const std::string at = path.empty() ? k : absl::StrCat(path, ".", k);
    if (path.empty() && k == "preset") continue;
    if (!schema.contains(k)) {
      std::vector<std::string> known;
      for (const auto& [sk, sv] : schema.items()) known.push_back(sk);
      if (path.empty()) known.push_back("preset");
      unknown->push_back(absl::StrCat(at, " (known", path.empty() ? "" : " in '" + path + "'",
                                      ": ", absl::StrJoin(known, ", "), ")"));
      continue;
    }
    if (IsFreeForm(at)) continue;
    if (at == "tasks") {
      CheckListEntries(v, at, {"type", "description", "train", "test", "recommended_max_turns"},
                       unknown);
    } else if (at == "errors.rules") {
      CheckListEntries(v, at, {"match", "code"}, unknown);
    } else {
      CollectUnknownKeys(v, schema[k], at, unknown);
    }
  }
}

absl::Status CheckKeys(const std::string& env, const std::string& what, const json& over,
                       const json& defaults) {
  std::vector<std::string> unknown;
  CollectUnknownKeys(over, defaults, "", &unknown);
  if (unknown.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("bridge env '", env, "': unknown key",
                                                 unknown.size() > 1 ? "s" : "", " in ", what,
                                                 ": ", absl::StrJoin(unknown, "; ")));
}

const json& KnownTable() {
  static const json* table = [] {
    return new json(YamlToJson(YAML::Load(KnownEnvsYaml())));
  }();
  return *table;
}

// Reads typed values from one env's merged JSON, remembering the first error.
class Reader {
 public:
  Reader(const std::string& env, const json& root) : env_(env), root_(root) {}

  const json* Find(const std::string& path) const {
    const json* node = &root_;
    size_t from = 0;
    while (from <= path.size()) {
      size_t dot = path.find('.', from);
      std::string key = path.substr(from, dot == std::string::npos ? std::string::npos : dot - from);
      if (!node->is_object() || !node->contains(key)) return nullptr;
      node = &(*node)[key];
      if (dot == std::string::npos) break;
      from = dot + 1;
    }
    return node;
  }
  std::string Str(const std::string& path) {
    const json* n = Find(path);
    if (n == nullptr || n->is_null()) return "";
    if (n->is_string()) return n->get<std::string>();
    if (n->is_number() || n->is_boolean()) return n->dump();
    Error(path, "a string");
    return "";
  }
  double Num(const std::string& path) {
    const json* n = Find(path);
    if (n != nullptr && n->is_number()) return n->get<double>();
    Error(path, "a number");
    return 0;
  }
  // An integer in [lo, hi] (so that a cast to int cannot overflow).
  int64_t Int(const std::string& path, int64_t lo, int64_t hi) {
    const json* n = Find(path);
    if (n != nullptr && n->is_number_integer() && n->get<int64_t>() >= lo &&
        n->get<int64_t>() <= hi) {
      return n->get<int64_t>();
    }
    Error(path, absl::StrCat("an integer in ", lo, "..", hi));
    return lo;
  }
  bool Bool(const std::string& path) {
    const json* n = Find(path);
    if (n != nullptr && n->is_boolean()) return n->get<bool>();
    Error(path, "true or false");
    return false;
  }
  json Object(const std::string& path) {
    const json* n = Find(path);
    if (n != nullptr && n->is_object()) return *n;
    Error(path, "a map");
    return json::object();
  }
  std::vector<std::string> Strings(const std::string& path) {
    std::vector<std::string> out;
    const json* n = Find(path);
    if (n == nullptr || !n->is_array()) {
      Error(path, "a list of strings");
      return out;
    }
    for (const auto& v : *n) {
      if (!v.is_string()) Error(path, "a list of strings");
      else out.push_back(v.get<std::string>());
    }
    return out;
  }
  absl::StatusCode Code(const std::string& path) {
    std::string name = Str(path);
    for (int c = 0; c <= 16; ++c) {
      if (absl::StatusCodeToString(static_cast<absl::StatusCode>(c)) == name && c != 0) {
        return static_cast<absl::StatusCode>(c);
      }
    }
    Error(path, "a gRPC status code name such as INTERNAL or NOT_FOUND");
    return absl::StatusCode::kInternal;
  }
  void Error(const std::string& path, const std::string& want) {
    if (status_.ok()) {
      status_ = absl::InvalidArgumentError(
          absl::StrCat("bridge env '", env_, "': '", path, "' must be ", want));
    }
  }
  const absl::Status& status() const { return status_; }

 private:
  const std::string env_;
  const json& root_;
  absl::Status status_;
};

void ReadTasks(Reader& r, const json& tasks, UpstreamConfig& c) {
  if (!tasks.is_array() || tasks.empty()) {
    r.Error("tasks", "a non-empty list of {type, train: [start, count], test: [start, count]}");
    return;
  }
  for (const auto& t : tasks) {
    TaskRange range;
    auto bounds = [&](const char* key, int64_t* start, int64_t* count) {
      if (!t.contains(key)) return;
      const json& b = t[key];
      if (!b.is_array() || b.size() != 2 || !b[0].is_number_integer() ||
          !b[1].is_number_integer() || b[0].get<int64_t>() < 0 || b[1].get<int64_t>() < 0) {
        r.Error(absl::StrCat("tasks.", key), "[start, count] with integers >= 0");
        return;
      }
      *start = b[0].get<int64_t>();
      *count = b[1].get<int64_t>();
    };
    if (!t.is_object() || !t.contains("type") || !t["type"].is_string() ||
        t["type"].get<std::string>().empty()) {
      r.Error("tasks", "entries with a non-empty 'type'");
      return;
    }
    range.type = t["type"].get<std::string>();
    if (t.contains("description")) {
      if (!t["description"].is_string()) {
        r.Error("tasks.description", "a string");
        return;
      }
      range.description = t["description"].get<std::string>();
    }
    range.recommended_max_turns = c.recommended_max_turns;
    if (t.contains("recommended_max_turns")) {
      const json& turns = t["recommended_max_turns"];
      if (!turns.is_number_integer() || turns.get<int64_t>() < 0 ||
          turns.get<int64_t>() > 1000000) {
        r.Error("tasks.recommended_max_turns", "an integer in 0..1000000");
        return;
      }
      range.recommended_max_turns = static_cast<int32_t>(turns.get<int64_t>());
    }
    bounds("train", &range.train_start, &range.train_count);
    bounds("test", &range.test_start, &range.test_count);
    c.tasks.push_back(range);
  }
}

absl::StatusOr<ActionParserConfig::Pick> ParsePick(const std::string& s) {
  if (s == "first") return ActionParserConfig::Pick::kFirst;
  if (s == "last") return ActionParserConfig::Pick::kLast;
  if (s == "reject_multiple") return ActionParserConfig::Pick::kRejectMultiple;
  return absl::InvalidArgumentError("action.pick must be first, last or reject_multiple");
}

absl::StatusOr<ActionParserConfig::NoMatch> ParseNoMatch(const std::string& s) {
  if (s == "raw") return ActionParserConfig::NoMatch::kRaw;
  if (s == "empty") return ActionParserConfig::NoMatch::kEmpty;
  if (s == "reject") return ActionParserConfig::NoMatch::kReject;
  return absl::InvalidArgumentError("action.on_no_match must be raw, empty or reject");
}

}  // namespace

json YamlToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& kv : node) out[kv.first.as<std::string>()] = YamlToJson(kv.second);
      return out;
    }
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& v : node) out.push_back(YamlToJson(v));
      return out;
    }
    case YAML::NodeType::Scalar: {
      const std::string s = node.Scalar();
      if (node.Tag() == "!") return s;  // quoted: always a string
      if (s == "null" || s == "~" || s.empty()) return nullptr;
      if (s == "true") return true;
      if (s == "false") return false;
      int64_t i;
      if (absl::SimpleAtoi(s, &i)) return i;
      double d;
      if (absl::SimpleAtod(s, &d) && std::isfinite(d)) return d;
      return s;
    }
    default:
      return nullptr;
  }
}

absl::StatusOr<UpstreamConfig> ResolveUpstream(const std::string& name, const json& overrides) {
  const json& table = KnownTable();
  const json& known_envs = table["known_envs"];
  std::vector<std::string> known_names;
  for (const auto& [k, v] : known_envs.items()) known_names.push_back(k);
  const std::string known = absl::StrJoin(known_names, ", ");
  json merged = table["defaults"];
  // A known env's name picks its entry; any other name must say what it is,
  // so that a misspelt known env is an error rather than an env silently
  // built from the bare defaults.
  std::string preset;
  if (overrides.contains("preset")) {
    if (!overrides["preset"].is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "bridge env '", name, "': 'preset' must be a known env (", known, ") or none"));
    }
    preset = overrides["preset"].get<std::string>();
  } else if (known_envs.contains(name)) {
    preset = name;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "bridge env '", name, "' is not a known env (", known, "): name the one it runs with "
        "'preset: <env>', or say 'preset: none' to describe a custom server from the defaults"));
  }
  if (preset == "none") preset.clear();
  if (!preset.empty()) {
    if (!known_envs.contains(preset)) {
      return absl::InvalidArgumentError(absl::StrCat("bridge env '", name, "': unknown preset '",
                                                     preset, "' (known: ", known, ", none)"));
    }
    AG_RETURN_IF_ERROR(CheckKeys(name, absl::StrCat("the shipped entry '", preset, "'"),
                                 known_envs[preset], table["defaults"]));
    DeepMerge(merged, known_envs[preset]);
  }
  AG_RETURN_IF_ERROR(CheckKeys(name, "its config", overrides, table["defaults"]));
  DeepMerge(merged, overrides);
  UpstreamConfig c;
  c.name = name;
  c.preset = preset;
  Reader r(name, merged);
  c.base_url = r.Str("base_url");
  c.description = r.Str("description");
  c.action_format = r.Str("action_format");
  c.mirrors = r.Str("mirrors");
  c.recommended_max_turns = static_cast<int32_t>(r.Int("recommended_max_turns", 0, 1000000));
  c.session_key = r.Str("session_key");
  c.create_path = r.Str("create.path");
  c.create_body = r.Object("create.body");
  c.create_id_field = r.Str("create.id_field");
  c.create_task_key = r.Str("create.task_key");
  c.reset_path = r.Str("reset.path");
  c.reset_task_key = r.Str("reset.task_key");
  c.reset_body = r.Object("reset.body");
  c.reset_seed_key = r.Str("reset.seed_key");
  c.reset_observation_fields = r.Strings("reset.observation_fields");
  c.reset_fetch_observation = r.Bool("reset.fetch_observation");
  c.step_path = r.Str("step.path");
  c.action_key = r.Str("step.action_key");
  c.observation_field = r.Str("step.observation_field");
  c.reward_field = r.Str("step.reward_field");
  c.done_field = r.Str("step.done_field");
  c.score_field = r.Str("step.score_field");
  c.invalid_observation = r.Str("step.invalid_observation");
  c.observation_path = r.Str("observation_path");
  c.close_path = r.Str("close_path");
  c.score_scale = r.Num("score_scale");
  c.success_field = r.Str("success.field");
  const std::string success_test = r.Str("success.test");
  c.success_value = r.Num("success.value");
  c.success_when_done = r.Bool("success.when_done");
  c.success_ends_episode = r.Bool("success.ends_episode");
  c.max_turns = static_cast<int32_t>(r.Int("max_turns", 0, 1000000));
  c.error_field = r.Str("errors.field");
  c.error_default_code = r.Code("errors.default_code");
  if (const json* rules = r.Find("errors.rules"); rules != nullptr && rules->is_array()) {
    for (const auto& rule : *rules) {
      if (!rule.is_object() || !rule.contains("match") || !rule["match"].is_string()) {
        r.Error("errors.rules", "a list of {match: <regex>, code: <status>}");
        break;
      }
      Reader rr(name, rule);
      c.error_rules.push_back({rule["match"].get<std::string>(), rr.Code("code")});
      if (!rr.status().ok()) return rr.status();
    }
  }
  c.action.strip_suffixes = r.Strings("action.strip_suffixes");
  c.action.pattern = r.Str("action.pattern");
  c.action.delete_pattern = r.Str("action.delete_pattern");
  c.action.collapse_whitespace = r.Bool("action.collapse_whitespace");
  const json aliases = r.Object("action.aliases");
  for (const auto& [k, v] : aliases.items()) {
    if (!v.is_string()) r.Error("action.aliases", "a map of strings");
    else c.action.aliases[k] = v.get<std::string>();
  }
  auto pick = ParsePick(r.Str("action.pick"));
  auto no_match = ParseNoMatch(r.Str("action.on_no_match"));
  c.connect_timeout = absl::Milliseconds(r.Num("timeouts_ms.connect"));
  c.request_timeout = absl::Milliseconds(r.Num("timeouts_ms.request"));
  c.close_timeout = absl::Milliseconds(r.Num("timeouts_ms.close"));
  c.idle_timeout = absl::Milliseconds(r.Num("timeouts_ms.idle"));
  c.pool_size = static_cast<int>(r.Int("pool_size", 1, 4096));
  c.max_connections = static_cast<int>(r.Int("max_connections", 1, 4096));
  if (const json* tasks = r.Find("tasks"); tasks != nullptr) ReadTasks(r, *tasks, c);
  else r.Error("tasks", "set");
  if (!r.status().ok()) return r.status();
  if (!pick.ok()) return absl::InvalidArgumentError(absl::StrCat("bridge env '", name, "': ", pick.status().message()));
  if (!no_match.ok()) return absl::InvalidArgumentError(absl::StrCat("bridge env '", name, "': ", no_match.status().message()));
  c.action.pick = *pick;
  c.action.on_no_match = *no_match;
  if (success_test == "equals") {
    c.success_test = UpstreamConfig::SuccessTest::kEquals;
  } else if (success_test == "above") {
    c.success_test = UpstreamConfig::SuccessTest::kAbove;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "bridge env '", name, "': success.test must be equals or above (got '", success_test,
        "'); a threshold on partial credit is not a success test"));
  }
  if (!c.success_when_done && !c.success_ends_episode) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bridge env '", name, "': success.when_done: false needs success.ends_episode: true "
        "(a success must end the episode)"));
  }
  if (c.base_url.rfind("http://", 0) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bridge env '", name, "': base_url must be set to http://host:port (got '", c.base_url, "')"));
  }
  if (c.pool_size > c.max_connections) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bridge env '", name, "': pool_size (", c.pool_size, ") must not exceed max_connections (",
        c.max_connections, ")"));
  }
  for (absl::Duration t : {c.request_timeout, c.connect_timeout, c.close_timeout, c.idle_timeout}) {
    if (t <= absl::ZeroDuration() || t > absl::Hours(24)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "bridge env '", name, "': timeouts_ms.* must be > 0 and at most a day (86400000)"));
    }
  }
  if (c.session_key.empty() || c.step_path.empty() || c.reset_path.empty() ||
      c.create_path.empty() || c.action_key.empty() || c.observation_field.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bridge env '", name, "': session_key, create/reset/step paths, step.action_key and "
        "step.observation_field must not be empty"));
  }
  return c;
}

absl::StatusOr<std::vector<UpstreamConfig>> ParseBridgeConfig(const YAML::Node& envs) {
  if (!envs.IsMap() || envs.size() == 0) {
    return absl::InvalidArgumentError(
        "the bridge config needs 'envs:', a map of env name -> {base_url: ..., overrides}");
  }
  std::vector<UpstreamConfig> out;
  for (const auto& kv : envs) {
    json overrides = YamlToJson(kv.second);
    if (overrides.is_null()) overrides = json::object();
    if (!overrides.is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat("bridge env '", kv.first.as<std::string>(), "' must be a map"));
    }
    auto c = ResolveUpstream(kv.first.as<std::string>(), overrides);
    if (!c.ok()) return c.status();
    out.push_back(*std::move(c));
  }
  return out;
}

}  // namespace agentgym::env::bridge
