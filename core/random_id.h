#ifndef AGENTGYM_CORE_RANDOM_ID_H_
#define AGENTGYM_CORE_RANDOM_ID_H_

#include <string>

namespace agentgym {

// A 128-bit random id as 32 lowercase hex characters, optionally prefixed
// ("s-1f0c..."). Unguessable enough that ids never collide across restarts.
// Thread-safe.
std::string RandomId(const std::string& prefix = "");

}  // namespace agentgym

#endif  // AGENTGYM_CORE_RANDOM_ID_H_
