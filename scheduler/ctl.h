#ifndef AGENTGYM_SCHEDULER_CTL_H_
#define AGENTGYM_SCHEDULER_CTL_H_

#include <ostream>
#include <string>
#include <vector>

#include "agentgym/coordinator/v1/coordinator.pb.h"

namespace agentgym::scheduler {

// Exit codes of agentgym-ctl, the rule of every agentgym binary (core/cli.h):
// 0 ok, 2 usage and bad values, 1 run-time failures.
inline constexpr int kCtlOk = 0;
inline constexpr int kCtlRequestFailed = 2;  // the coordinator refused a bad value or name
inline constexpr int kCtlUnreachable = 1;    // no coordinator answered, or it went away
inline constexpr int kCtlUsage = 2;          // bad command line

// `agentgym-ctl status | watch | components | set-horizon | pause | resume`
// as a function, so tests can run it in-process. `args` excludes argv[0].
// Writes results to `out` and errors to `err`; returns an exit code above.
int RunCtl(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// Human-readable renderings (aligned tables), shared by status and watch.
std::string FormatStatus(const coordinator::v1::RunStatus& status);
std::string FormatComponents(const coordinator::v1::RunStatus& status);
// Columns padded to the widest cell, two spaces apart.
std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows);

}  // namespace agentgym::scheduler

#endif  // AGENTGYM_SCHEDULER_CTL_H_
