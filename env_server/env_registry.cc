#include "env_server/env_registry.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace agentgym::env {

const char* SplitName(Split split) { return split == Split::kTest ? "test" : "train"; }

EnvRegistry& EnvRegistry::Global() {
  static EnvRegistry* const registry = new EnvRegistry();
  return *registry;
}

bool EnvRegistry::Register(const std::string& name, EnvFactory factory) {
  absl::MutexLock lock(&mu_);
  return factories_.emplace(name, std::move(factory)).second;
}

absl::StatusOr<std::unique_ptr<Environment>> EnvRegistry::Create(
    const std::string& name, const EnvOptions& options) const {
  EnvFactory factory;
  {
    absl::MutexLock lock(&mu_);
    auto it = factories_.find(name);
    if (it == factories_.end()) {
      std::vector<std::string> known;
      for (const auto& [n, f] : factories_) known.push_back(n);
      return absl::NotFoundError(absl::StrCat("unknown env '", name, "' (known: ",
                                              absl::StrJoin(known, ", "), ")"));
    }
    factory = it->second;
  }
  return factory(options);
}

std::vector<std::string> EnvRegistry::Names() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> names;
  for (const auto& [n, f] : factories_) names.push_back(n);
  return names;
}

}  // namespace agentgym::env
