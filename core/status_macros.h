#ifndef AGENTGYM_CORE_STATUS_MACROS_H_
#define AGENTGYM_CORE_STATUS_MACROS_H_

// Abseil 20220623 ships no return-if-error macros; these follow Reverb's.

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define AG_STATUS_CONCAT_INNER_(x, y) x##y
#define AG_STATUS_CONCAT_(x, y) AG_STATUS_CONCAT_INNER_(x, y)

// Returns from the enclosing function when `expr` (an absl::Status) is not OK.
#define AG_RETURN_IF_ERROR(expr)                 \
  do {                                           \
    ::absl::Status ag_status_ = (expr);          \
    if (!ag_status_.ok()) return ag_status_;     \
  } while (false)

// AG_ASSIGN_OR_RETURN(auto x, MakeX()); returns the error status if MakeX fails.
#define AG_ASSIGN_OR_RETURN(lhs, rexpr) \
  AG_ASSIGN_OR_RETURN_IMPL_(AG_STATUS_CONCAT_(ag_statusor_, __LINE__), lhs, rexpr)

#define AG_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                              \
  if (!statusor.ok()) return statusor.status();         \
  lhs = std::move(statusor).value()

#endif  // AGENTGYM_CORE_STATUS_MACROS_H_
