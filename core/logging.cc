#include "core/logging.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "spdlog/sinks/stdout_color_sinks.h"

namespace agentgym {
namespace {

// AGENTGYM_LOG_LEVEL lets a user turn on debug logs without touching configs.
void ApplyEnvLevelOnce() {
  static const bool applied = [] {
    if (const char* level = std::getenv("AGENTGYM_LOG_LEVEL")) {
      (void)SetLogLevel(level);
    }
    return true;
  }();
  (void)applied;
}

}  // namespace

std::shared_ptr<spdlog::logger> GetLogger(const std::string& component) {
  ApplyEnvLevelOnce();
  if (auto existing = spdlog::get(component)) return existing;
  try {
    auto logger = spdlog::stderr_color_mt(component);
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%L%$ [%n] %v");
    logger->set_level(spdlog::get_level());
    return logger;
  } catch (const spdlog::spdlog_ex&) {
    // Another thread registered it between get() and creation.
    return spdlog::get(component);
  }
}

absl::Status SetLogLevel(const std::string& level) {
  auto parsed = spdlog::level::from_str(level);
  // from_str maps unknown names to "off"; only accept "off" when asked for.
  if (parsed == spdlog::level::off && level != "off") {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown log level '", level,
        "' (expected trace|debug|info|warn|error|critical|off)"));
  }
  spdlog::set_level(parsed);
  return absl::OkStatus();
}

}  // namespace agentgym
