#ifndef AGENTGYM_LAUNCHER_BINARIES_H_
#define AGENTGYM_LAUNCHER_BINARIES_H_

#include <string>

#include "absl/status/statusor.h"

namespace agentgym::launcher {

// Where the component binaries are: `bin_dir` when given (also
// $AGENTGYM_BIN_DIR), else beside the running `agentgym`, else in the build
// tree next to it (../scheduler, ../env_server, ../actor, ../learner), else
// on $PATH. NOT_FOUND naming every place looked at.
absl::StatusOr<std::string> FindBinary(const std::string& name, const std::string& bin_dir);

}  // namespace agentgym::launcher

#endif  // AGENTGYM_LAUNCHER_BINARIES_H_
