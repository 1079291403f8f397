#ifndef AGENTGYM_ENV_SERVER_ENVS_BABYAI_ORACLE_H_
#define AGENTGYM_ENV_SERVER_ENVS_BABYAI_ORACLE_H_

// A scripted solver that reads the hidden full state: Dijkstra over
// (cell, direction) with doors toggled, blocking objects cleared and keys
// fetched for locked doors, answering with one of the actions the agent is
// offered in `view` (a high-level "go to"/"pick up"/door action whenever the
// next waypoint is in sight, a primitive otherwise). Stateless, so it works
// from any state an episode reaches.

#include <string>

#include "env_server/envs/babyai/mission.h"
#include "env_server/envs/babyai/view.h"
#include "env_server/envs/babyai/world.h"

namespace agentgym::env::babyai {

// The next action; always one of view.actions' names.
std::string OracleAction(const World& world, const Mission& mission, const View& view);

// Plays the oracle on a copy of `world` for at most `max_turns` turns; the
// turns it needed to achieve `mission`, or -1.
int SimulateOracle(World world, const Mission& mission, int max_turns);

}  // namespace agentgym::env::babyai

#endif  // AGENTGYM_ENV_SERVER_ENVS_BABYAI_ORACLE_H_
