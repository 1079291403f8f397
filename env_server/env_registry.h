#ifndef AGENTGYM_ENV_SERVER_ENV_REGISTRY_H_
#define AGENTGYM_ENV_SERVER_ENV_REGISTRY_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "env_server/environment.h"

namespace agentgym::env {

using EnvFactory =
    std::function<absl::StatusOr<std::unique_ptr<Environment>>(const EnvOptions&)>;

// Name → factory for every env linked into the binary. Envs add themselves at
// static-initialisation time with AG_REGISTER_ENV; the env libraries are linked
// whole-archive (see env_server/envs/CMakeLists.txt) so registrations survive.
// Thread-safe.
class EnvRegistry {
 public:
  static EnvRegistry& Global();

  // Returns false (and keeps the first) if `name` is already registered.
  bool Register(const std::string& name, EnvFactory factory);

  // NOT_FOUND naming the known envs when `name` is not registered; the
  // factory's own error (e.g. INVALID_ARGUMENT for a bad option) otherwise.
  absl::StatusOr<std::unique_ptr<Environment>> Create(const std::string& name,
                                                      const EnvOptions& options) const;

  std::vector<std::string> Names() const;

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, EnvFactory> factories_ ABSL_GUARDED_BY(mu_);
};

}  // namespace agentgym::env

#define AG_ENV_CONCAT_INNER_(a, b) a##b
#define AG_ENV_CONCAT_(a, b) AG_ENV_CONCAT_INNER_(a, b)

// AG_REGISTER_ENV("textcraft", [](const EnvOptions& o) { return TextCraft::Create(o); });
#define AG_REGISTER_ENV(name, factory)                                   \
  static const bool AG_ENV_CONCAT_(ag_env_registered_, __COUNTER__) = \
      ::agentgym::env::EnvRegistry::Global().Register(name, factory)

#endif  // AGENTGYM_ENV_SERVER_ENV_REGISTRY_H_
