#ifndef AGENTGYM_CORE_CONFIG_H_
#define AGENTGYM_CORE_CONFIG_H_

#include <cmath>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "yaml-cpp/yaml.h"

namespace agentgym {

// A run's configuration: one YAML document plus `a.b.c=value` overrides from
// the command line. Keys are dotted paths into nested maps. Not thread-safe for
// writes; const access is safe once loading is done.
class Config {
 public:
  Config() : root_(YAML::NodeType::Map) {}

  // INVALID_ARGUMENT on a YAML syntax error (with line and column) or an
  // empty file (no settings: a wrong path or a truncated write); NOT_FOUND
  // when the file cannot be read.
  static absl::StatusOr<Config> FromFile(const std::string& path);
  static absl::StatusOr<Config> FromString(const std::string& yaml);

  // `override` is `dotted.key=value`; the value is parsed as YAML, so
  // `a.b=3`, `a.b=[1,2]` and `a.b=text` all work. Intermediate maps are
  // created. INVALID_ARGUMENT when there is no '=' or the key is empty.
  absl::Status ApplyOverride(const std::string& override);
  absl::Status ApplyOverrides(const std::vector<std::string>& overrides);

  // The node at `path`, or an undefined node when absent.
  YAML::Node Find(const std::string& path) const;
  bool Has(const std::string& path) const;

  // Typed reads. INVALID_ARGUMENT names the key and the expected type when
  // the value does not convert; NOT_FOUND when absent (Get only).
  template <typename T>
  absl::StatusOr<T> Get(const std::string& path) const;
  template <typename T>
  absl::StatusOr<T> GetOr(const std::string& path, T fallback) const;

  // INVALID_ARGUMENT naming every key of the mapping at `path` ("" = the top
  // level) that is not in `known`, so a typo is an error rather than a
  // setting silently ignored. Fine when `path` is absent; an error when it is
  // not a mapping.
  absl::Status ExpectOnlyKeys(const std::string& path, const std::vector<std::string>& known) const;
  // The same check on a node found some other way (a list item, a map entry
  // whose key holds dots); `name` says where it is in the message, e.g. "envs[2]".
  static absl::Status ExpectOnlyKeysOf(const YAML::Node& node, const std::string& name,
                                       const std::vector<std::string>& known);

  const YAML::Node& root() const { return root_; }
  std::string ToYaml() const;

 private:
  explicit Config(YAML::Node root) : root_(std::move(root)) {}
  static absl::Status TypeError(const std::string& path, const char* type);

  YAML::Node root_;
};

namespace config_internal {

// How a type reads in an error message ("wanted an integer").
template <typename T>
const char* TypeName() {
  if constexpr (std::is_same_v<T, bool>) {
    return "true or false";
  } else if constexpr (std::is_integral_v<T>) {
    return "an integer";
  } else if constexpr (std::is_floating_point_v<T>) {
    return "a number";
  } else if constexpr (std::is_same_v<T, std::string>) {
    return "a string";
  } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    return "a list of strings";
  } else {
    return typeid(T).name();
  }
}

}  // namespace config_internal

template <typename T>
absl::StatusOr<T> Config::Get(const std::string& path) const {
  YAML::Node node = Find(path);
  if (!node.IsDefined() || node.IsNull()) {
    return absl::NotFoundError("config key '" + path + "' is not set");
  }
  try {
    T value = node.as<T>();
    if constexpr (std::is_floating_point_v<T>) {
      // YAML spells infinity and NaN (.inf, .nan); no setting means either.
      if (!std::isfinite(value)) return TypeError(path, "a finite number");
    }
    return value;
  } catch (const YAML::Exception&) {
    return TypeError(path, config_internal::TypeName<T>());
  }
}

template <typename T>
absl::StatusOr<T> Config::GetOr(const std::string& path, T fallback) const {
  if (!Has(path)) return fallback;
  return Get<T>(path);
}

}  // namespace agentgym

#endif  // AGENTGYM_CORE_CONFIG_H_
