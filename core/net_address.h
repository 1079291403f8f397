#ifndef AGENTGYM_CORE_NET_ADDRESS_H_
#define AGENTGYM_CORE_NET_ADDRESS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace agentgym {

struct HostPort {
  std::string host;  // without IPv6 brackets
  int port = 0;
};

// Splits "host:port" (also "[::1]:port"). INVALID_ARGUMENT, naming the
// address, unless there is a host and the port is a decimal number in
// [min_port, 65535] (0 means "pick a free port" where a server listens; gRPC
// would silently wrap 99999 to 34463, so every listener checks here first).
absl::StatusOr<HostPort> ParseHostPort(absl::string_view address, int min_port = 0);

// Writes "<port>\n" to `path` for whoever waits for a server to start (a
// --port-file): to a temporary name first, then renamed, so a reader never
// sees a partial file. INVALID_ARGUMENT naming the path when it cannot.
absl::Status WritePortFile(const std::string& path, int port);
// Whether WritePortFile(path, ...) can succeed, checked before a server
// starts serving so that an unwritable --port-file is refused up front:
// creates and removes `path`.tmp. INVALID_ARGUMENT naming the path and why.
absl::Status CheckPortFileWritable(const std::string& path);

}  // namespace agentgym

#endif  // AGENTGYM_CORE_NET_ADDRESS_H_
