#include "policy/tokenizer/file_util.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace agentgym::policy {

absl::StatusOr<std::string> ReadFileMaybeGzip(const std::string& path, size_t max_bytes) {
  // gzread passes plain files through unchanged, so one code path reads both.
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) {
    return absl::NotFoundError(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  std::string out;
  char buffer[1 << 16];
  while (true) {
    const int n = gzread(file, buffer, sizeof(buffer));
    if (n < 0) {
      int errnum = 0;
      const std::string message = gzerror(file, &errnum);
      gzclose(file);
      return absl::DataLossError(absl::StrCat("reading ", path, ": ", message));
    }
    if (n == 0) break;
    out.append(buffer, static_cast<size_t>(n));
    if (out.size() > max_bytes) {
      gzclose(file);
      return absl::ResourceExhaustedError(
          absl::StrCat(path, " is larger than ", max_bytes, " bytes"));
    }
  }
  // A truncated gzip stream reads as a short file; gzclose_r reports it.
  const int close_rc = gzclose(file);
  if (close_rc != Z_OK) {
    return absl::DataLossError(absl::StrCat("reading ", path, ": gzip stream is corrupt or truncated"));
  }
  return out;
}

}  // namespace agentgym::policy
