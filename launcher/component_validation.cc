#include "launcher/component_validation.h"

#include "actor/actor_options.h"
#include "learner/learner_options.h"
#include "scheduler/coordinator_options.h"

namespace agentgym::launcher {

absl::Status ValidateComponentSections(const Config& config) {
  if (auto coordinator = scheduler::CoordinatorOptionsFromConfig(config); !coordinator.ok()) {
    return coordinator.status();
  }
  if (auto learner = learner::LearnerOptionsFromConfig(config); !learner.ok()) {
    return learner.status();
  }
  if (auto actor = actor::ActorConfigFromConfig(config); !actor.ok()) return actor.status();
  return absl::OkStatus();
}

}  // namespace agentgym::launcher
