#ifndef AGENTGYM_CORE_FLAG_CHECKS_H_
#define AGENTGYM_CORE_FLAG_CHECKS_H_

// Range checks of command-line values, done after parsing. CLI11's own
// validators print their range in full ("0.000000 to 1797693134862315...")
// and let NaN through, so binaries check numbers here instead and report
// INVALID_ARGUMENT naming the flag, the range and the value.

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace agentgym {

// OK when min <= value (<= max).
absl::Status CheckAtLeast(absl::string_view flag, int64_t value, int64_t min);
absl::Status CheckInRange(absl::string_view flag, int64_t value, int64_t min, int64_t max);
// OK when value is finite and 0 < value <= max (a duration in seconds, say).
absl::Status CheckPositive(absl::string_view flag, double value, double max);

}  // namespace agentgym

#endif  // AGENTGYM_CORE_FLAG_CHECKS_H_
