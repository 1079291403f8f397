#ifndef AGENTGYM_ENV_SERVER_ENVS_BABYAI_MISSION_H_
#define AGENTGYM_ENV_SERVER_ENVS_BABYAI_MISSION_H_

// BabyAI instructions (GoTo, Pickup, Open, PutNext) over object descriptions
// with optional colour and location words, their surface text, and the
// verifier that says when one is achieved.

#include <optional>
#include <string>
#include <vector>

#include "env_server/envs/babyai/view.h"
#include "env_server/envs/babyai/world.h"

namespace agentgym::env::babyai {

enum class Loc : uint8_t { kNone, kFront, kBehind, kLeft, kRight };

// Describes a set of objects, like BabyAI's ObjDesc. The matching ids are
// fixed when the mission is created (locations are relative to the agent's
// starting pose and only cover its starting room, as in BabyAI).
struct ObjDesc {
  Kind kind = Kind::kBall;
  std::optional<Color> color;
  Loc loc = Loc::kNone;
  std::vector<int> ids;

  // Fills `ids` from `world`; returns false if nothing matches.
  bool Resolve(const World& world);
  // "the red ball on your left", or "a ball" when several match.
  std::string Surface() const;
  bool Contains(int id) const;
};

// Whether object `id` satisfies `loc` for the agent's current pose and room.
bool MatchesLoc(const World& world, int id, Loc loc);

enum class InstrKind : uint8_t { kGoTo, kPickup, kOpen, kPutNext };

struct Mission {
  InstrKind kind = InstrKind::kGoTo;
  ObjDesc target;  // PutNext: the object to move
  ObjDesc fixed;   // PutNext only: what to put it next to

  std::string Text() const;
  bool Achieved(const World& world) const;
  // Sub-goal progress in [0, 1) before success: 0.5 while holding the object
  // to move (PutNext) or the key of the locked door to open (Open).
  double Progress(const World& world) const;
};

// Runs `plan` primitive by primitive, stopping at the first primitive that
// changes nothing (AgentGym stops a high-level action the same way) or as
// soon as `mission` is achieved. Returns whether it was achieved.
bool RunPlan(World* world, const Mission& mission, const std::vector<Prim>& plan);

}  // namespace agentgym::env::babyai

#endif  // AGENTGYM_ENV_SERVER_ENVS_BABYAI_MISSION_H_
