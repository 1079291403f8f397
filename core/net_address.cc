#include "core/net_address.h"

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace agentgym {

absl::StatusOr<HostPort> ParseHostPort(absl::string_view address, int min_port) {
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("address '", address, "' must look like host:port"));
  }
  absl::string_view host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const absl::string_view digits = address.substr(colon + 1);
  int port = -1;
  const bool all_digits =
      !digits.empty() && digits.size() <= 5 &&
      std::all_of(digits.begin(), digits.end(), [](char c) { return absl::ascii_isdigit(c); });
  if (host.empty() || !all_digits || !absl::SimpleAtoi(digits, &port) || port < min_port ||
      port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("address '", address, "' has a bad port (want ",
                                                   min_port, "..65535)"));
  }
  return HostPort{std::string(host), port};
}

absl::Status WritePortFile(const std::string& path, int port) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << port << "\n";
    out.close();
    if (!out) {
      std::remove(tmp.c_str());
      return absl::InvalidArgumentError(absl::StrCat("cannot write the port file ", path));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return absl::InvalidArgumentError(absl::StrCat("cannot write the port file ", path));
  }
  return absl::OkStatus();
}

absl::Status CheckPortFileWritable(const std::string& path) {
  const std::string tmp = path + ".tmp";
  errno = 0;
  std::ofstream out(tmp);
  if (!out) {
    return absl::InvalidArgumentError(absl::StrCat("--port-file: cannot write the port file ", path,
                                                   " (", std::strerror(errno), ")"));
  }
  out.close();
  std::remove(tmp.c_str());
  return absl::OkStatus();
}

}  // namespace agentgym
