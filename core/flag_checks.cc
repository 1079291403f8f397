#include "core/flag_checks.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace agentgym {

absl::Status CheckAtLeast(absl::string_view flag, int64_t value, int64_t min) {
  if (value >= min) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(flag, " must be at least ", min, "; got ", value));
}

absl::Status CheckInRange(absl::string_view flag, int64_t value, int64_t min, int64_t max) {
  if (value >= min && value <= max) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(flag, " must be in ", min, "..", max, "; got ", value));
}

absl::Status CheckPositive(absl::string_view flag, double value, double max) {
  if (std::isfinite(value) && value > 0 && value <= max) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(flag, " must be a number > 0 and at most ", max, "; got ", value));
}

}  // namespace agentgym
