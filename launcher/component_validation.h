#ifndef AGENTGYM_LAUNCHER_COMPONENT_VALIDATION_H_
#define AGENTGYM_LAUNCHER_COMPONENT_VALIDATION_H_

#include "absl/status/status.h"
#include "core/config.h"

namespace agentgym::launcher {

// Runs the config through the readers of the components that read it (the
// coordinator's `coordinator`/`envs`/`curriculum`, the learner's
// `model`/`algorithm`/`learner`, the actor's `actor`), so `agentgym train`
// refuses at once, naming the key, what a child would refuse at its start.
absl::Status ValidateComponentSections(const Config& component_config);

}  // namespace agentgym::launcher

#endif  // AGENTGYM_LAUNCHER_COMPONENT_VALIDATION_H_
