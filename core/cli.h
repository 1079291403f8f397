#ifndef AGENTGYM_CORE_CLI_H_
#define AGENTGYM_CORE_CLI_H_

// One exit-code rule for every agentgym binary:
//   0  success (and --help)
//   2  usage and configuration errors: bad flags, a bad or missing config
//      file, bad values (found before anything runs)
//   1  run-time failures: cannot listen, a peer that cannot be reached, a
//      check or episode that failed
// CLI11's own exit codes (105, 109, ...) never leak: every parse error is 2.

#include <optional>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"

namespace agentgym {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntime = 1;
inline constexpr int kExitUsage = 2;

// Parses the command line. nullopt: go on; else the code to exit with (the
// help or the error, naming the flag, has been printed as CLI11 prints it).
inline std::optional<int> ParseCommandLine(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  return std::nullopt;
}

// The exit code for a failure to start: what the user must fix in flags or
// config (INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION, OUT_OF_RANGE,
// ALREADY_EXISTS) is 2, the rest (UNAVAILABLE: cannot listen, ...) is 1.
inline int ExitCodeFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return kExitOk;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kAlreadyExists:
      return kExitUsage;
    default:
      return kExitRuntime;
  }
}

}  // namespace agentgym

// In main(): returns from it when the command line says to stop.
#define AG_PARSE_COMMAND_LINE(app, argc, argv)                               \
  if (auto ag_exit_code = ::agentgym::ParseCommandLine(app, argc, argv)) { \
    return *ag_exit_code;                                                    \
  }

#endif  // AGENTGYM_CORE_CLI_H_
