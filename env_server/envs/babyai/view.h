#ifndef AGENTGYM_ENV_SERVER_ENVS_BABYAI_VIEW_H_
#define AGENTGYM_ENV_SERVER_ENVS_BABYAI_VIEW_H_

// What the agent perceives: MiniGrid's 7x7 egocentric view (walls and closed
// doors block sight), its text rendering in AgentGym's BabyAI wording, and the
// high-level actions available from it, each expanded to a primitive plan.

#include <cstdint>
#include <string>
#include <vector>

#include "env_server/envs/babyai/world.h"

namespace agentgym::env::babyai {

inline constexpr int kViewSize = 7;

enum class Prim : uint8_t { kLeft, kRight, kForward, kPickup, kDrop, kToggle };

struct ActionChoice {
  std::string name;        // e.g. "pick up red ball 1"
  std::vector<Prim> plan;  // primitives it runs; empty = no state change
};

struct VisibleObject {
  int id = -1;
  std::string label;  // "red ball 1", "blue closed door 2"
  int front = 0;      // steps ahead of the agent
  int right = 0;      // steps to the right (negative: left)
};

// One snapshot of perception. Recomputed after every step; a value type.
struct View {
  std::vector<uint8_t> visible;  // per world cell (y * width + x)
  std::vector<VisibleObject> objects;  // nearest first, walls excluded
  std::string description;
  std::vector<ActionChoice> actions;   // AgentGym's order
  // Known-but-unavailable actions with a specific reason (AgentGym's
  // error_message), e.g. "drop" while empty-handed.
  std::vector<std::pair<std::string, std::string>> errors;

  const ActionChoice* Find(const std::string& name) const;
  const std::string* ErrorFor(const std::string& name) const;
  // "Available actions: [\"turn left\", ...]"
  std::string ActionsLine() const;
  // "You can take the following actions: turn left, turn right, ..."
  std::string ActionsSentence() const;
  size_t ApproxBytes() const;
};

View ComputeView(const World& world);

}  // namespace agentgym::env::babyai

#endif  // AGENTGYM_ENV_SERVER_ENVS_BABYAI_VIEW_H_
