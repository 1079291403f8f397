#ifndef AGENTGYM_CORE_LOGGING_H_
#define AGENTGYM_CORE_LOGGING_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "spdlog/spdlog.h"

namespace agentgym {

// Returns the process-wide logger for `component` ("env_server", "policy", ...),
// creating it on first use. Loggers write to stderr with the component name, so
// interleaved output of several components stays readable. Thread-safe.
std::shared_ptr<spdlog::logger> GetLogger(const std::string& component);

// Sets the level of every logger, existing and future: trace|debug|info|warn|
// error|critical|off. Returns INVALID_ARGUMENT for an unknown level name.
absl::Status SetLogLevel(const std::string& level);

}  // namespace agentgym

#endif  // AGENTGYM_CORE_LOGGING_H_
