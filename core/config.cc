#include "core/config.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace agentgym {
namespace {

std::vector<std::string> SplitPath(const std::string& path) {
  return absl::StrSplit(path, '.', absl::SkipEmpty());
}

absl::StatusOr<YAML::Node> Parse(const std::string& text, const std::string& origin) {
  try {
    YAML::Node node = YAML::Load(text);
    if (!node.IsDefined() || node.IsNull()) return YAML::Node(YAML::NodeType::Map);
    if (!node.IsMap()) {
      return absl::InvalidArgumentError(
          absl::StrCat(origin, ": the top level must be a mapping of keys"));
    }
    return node;
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(origin, ": ", e.what()));
  }
}

}  // namespace

absl::StatusOr<Config> Config::FromFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read config file '", path, "'"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  // A config file given on purpose holds settings: an empty one (or one of
  // comments only) is a mistake such as a wrong path or a truncated write,
  // not "all defaults".
  try {
    const YAML::Node top = YAML::Load(buffer.str());
    if (!top.IsDefined() || top.IsNull()) {
      return absl::InvalidArgumentError(
          absl::StrCat("config file '", path, "' is empty: it holds no settings"));
    }
  } catch (const YAML::Exception&) {
    // Reported with its position by Parse below.
  }
  auto node = Parse(buffer.str(), path);
  if (!node.ok()) return node.status();
  return Config(*std::move(node));
}

absl::StatusOr<Config> Config::FromString(const std::string& yaml) {
  auto node = Parse(yaml, "<config>");
  if (!node.ok()) return node.status();
  return Config(*std::move(node));
}

absl::Status Config::ApplyOverride(const std::string& override) {
  size_t eq = override.find('=');
  if (eq == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("override '", override, "' must look like key.path=value"));
  }
  std::vector<std::string> keys = SplitPath(override.substr(0, eq));
  if (keys.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("override '", override, "' has no key"));
  }
  YAML::Node value;
  try {
    value = YAML::Load(override.substr(eq + 1));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("override '", override, "': bad value: ", e.what()));
  }
  // Walk with reset() (rebinds the handle) rather than `=`, which in yaml-cpp
  // overwrites the node the handle refers to.
  YAML::Node node;
  node.reset(root_);
  for (size_t i = 0; i + 1 < keys.size(); ++i) {
    YAML::Node child = node[keys[i]];
    if (child.IsDefined() && !child.IsNull() && !child.IsMap()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "override '", override, "': '", keys[i], "' is not a mapping"));
    }
    if (!child.IsDefined() || child.IsNull()) {
      node[keys[i]] = YAML::Node(YAML::NodeType::Map);
      child.reset(node[keys[i]]);
    }
    node.reset(child);
  }
  node[keys.back()] = value;
  return absl::OkStatus();
}

absl::Status Config::ApplyOverrides(const std::vector<std::string>& overrides) {
  for (const auto& o : overrides) {
    if (auto s = ApplyOverride(o); !s.ok()) return s;
  }
  return absl::OkStatus();
}

YAML::Node Config::Find(const std::string& path) const {
  // yaml-cpp gotcha: `node = child` overwrites the referenced node's contents,
  // so walk with reset(), which only rebinds the handle; and index a const
  // node, which never inserts.
  YAML::Node node;
  node.reset(root_);
  for (const auto& key : SplitPath(path)) {
    if (!node.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    const YAML::Node& current = node;
    YAML::Node next = current[key];
    if (!next.IsDefined()) return YAML::Node(YAML::NodeType::Undefined);
    node.reset(next);
  }
  return node;
}

bool Config::Has(const std::string& path) const {
  YAML::Node node = Find(path);
  return node.IsDefined() && !node.IsNull();
}

absl::Status Config::ExpectOnlyKeys(const std::string& path,
                                    const std::vector<std::string>& known) const {
  return ExpectOnlyKeysOf(path.empty() ? root_ : Find(path), path, known);
}

absl::Status Config::ExpectOnlyKeysOf(const YAML::Node& node, const std::string& name,
                                      const std::vector<std::string>& known) {
  if (!node.IsDefined() || node.IsNull()) return absl::OkStatus();
  const std::string where = name.empty() ? "the top level" : absl::StrCat("'", name, "'");
  if (!node.IsMap()) return absl::InvalidArgumentError(absl::StrCat("config ", where, " must be a mapping"));
  std::vector<std::string> unknown;
  for (const auto& entry : node) {
    const std::string key = entry.first.as<std::string>("");
    if (std::find(known.begin(), known.end(), key) == known.end()) unknown.push_back(key);
  }
  if (unknown.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("unknown config key", unknown.size() > 1 ? "s" : "",
                                                 " in ", where, ": ", absl::StrJoin(unknown, ", "),
                                                 " (known: ", absl::StrJoin(known, ", "), ")"));
}

absl::Status Config::TypeError(const std::string& path, const char* type) {
  return absl::InvalidArgumentError(
      absl::StrCat("config key '", path, "' has the wrong type (wanted ", type, ")"));
}

std::string Config::ToYaml() const {
  YAML::Emitter out;
  out << root_;
  return out.c_str();
}

}  // namespace agentgym
