#ifndef AGENTGYM_POLICY_TOKENIZER_FILE_UTIL_H_
#define AGENTGYM_POLICY_TOKENIZER_FILE_UTIL_H_

#include <string>

#include "absl/status/statusor.h"

namespace agentgym::policy {

// Reads a whole file; gzip-compressed files (by magic number, not name) are
// decompressed transparently, so large tokenizer.json files can ship as .gz.
// NOT_FOUND if it cannot be opened; DATA_LOSS for a corrupt gzip stream;
// RESOURCE_EXHAUSTED past `max_bytes` of (decompressed) content.
absl::StatusOr<std::string> ReadFileMaybeGzip(const std::string& path,
                                              size_t max_bytes = size_t{1} << 30);

}  // namespace agentgym::policy

#endif  // AGENTGYM_POLICY_TOKENIZER_FILE_UTIL_H_
