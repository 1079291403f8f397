#include "env_server/envs/babyai/mission.h"

#include <algorithm>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace agentgym::env::babyai {

bool MatchesLoc(const World& w, int id, Loc loc) {
  if (loc == Loc::kNone) return true;
  const Object& o = w.object(id);
  int room = w.RoomOf(w.agent_x(), w.agent_y());
  if (o.x < 0 || room < 0 || !w.rooms()[room].Contains(o.x, o.y)) return false;
  const int d = w.agent_dir(), r = (d + 1) & 3;
  const int vx = o.x - w.agent_x(), vy = o.y - w.agent_y();
  const int ahead = vx * kDx[d] + vy * kDy[d];
  const int right = vx * kDx[r] + vy * kDy[r];
  switch (loc) {
    case Loc::kFront: return ahead > 0;
    case Loc::kBehind: return ahead < 0;
    case Loc::kLeft: return right < 0;
    case Loc::kRight: return right > 0;
    case Loc::kNone: return true;
  }
  return false;
}

bool ObjDesc::Resolve(const World& w) {
  ids.clear();
  for (int id = 0; id < static_cast<int>(w.objects().size()); ++id) {
    const Object& o = w.object(id);
    if (o.kind != kind || (color && o.color != *color)) continue;
    if (!MatchesLoc(w, id, loc)) continue;
    ids.push_back(id);
  }
  return !ids.empty();
}

std::string ObjDesc::Surface() const {
  std::string s = KindName(kind);
  if (color) s = absl::StrCat(ColorName(*color), " ", s);
  switch (loc) {
    case Loc::kFront: s += " in front of you"; break;
    case Loc::kBehind: s += " behind you"; break;
    case Loc::kLeft: s += " on your left"; break;
    case Loc::kRight: s += " on your right"; break;
    case Loc::kNone: break;
  }
  return absl::StrCat(ids.size() > 1 ? "a " : "the ", s);
}

bool ObjDesc::Contains(int id) const {
  return id >= 0 && std::find(ids.begin(), ids.end(), id) != ids.end();
}

std::string Mission::Text() const {
  switch (kind) {
    case InstrKind::kGoTo: return absl::StrCat("go to ", target.Surface());
    case InstrKind::kPickup: return absl::StrCat("pick up ", target.Surface());
    case InstrKind::kOpen: return absl::StrCat("open ", target.Surface());
    case InstrKind::kPutNext:
      return absl::StrCat("put ", target.Surface(), " next to ", fixed.Surface());
  }
  return "";
}

bool Mission::Achieved(const World& w) const {
  switch (kind) {
    case InstrKind::kGoTo: return target.Contains(w.ObjectAt(w.FrontX(), w.FrontY()));
    case InstrKind::kPickup: return target.Contains(w.carrying());
    case InstrKind::kOpen:
      for (int id : target.ids) {
        if (w.object(id).door == DoorState::kOpen) return true;
      }
      return false;
    case InstrKind::kPutNext:
      for (int a : target.ids) {
        const Object& oa = w.object(a);
        if (oa.x < 0) continue;
        for (int b : fixed.ids) {
          const Object& ob = w.object(b);
          if (ob.x >= 0 && std::abs(oa.x - ob.x) + std::abs(oa.y - ob.y) == 1) return true;
        }
      }
      return false;
  }
  return false;
}

double Mission::Progress(const World& w) const {
  const int held = w.carrying();
  if (held < 0) return 0.0;
  if (kind == InstrKind::kPutNext && target.Contains(held)) return 0.5;
  if (kind == InstrKind::kOpen && w.object(held).kind == Kind::kKey) {
    for (int id : target.ids) {
      const Object& door = w.object(id);
      if (door.door == DoorState::kLocked && door.color == w.object(held).color) return 0.5;
    }
  }
  return 0.0;
}

bool RunPlan(World* w, const Mission& m, const std::vector<Prim>& plan) {
  for (Prim p : plan) {
    bool changed = false;
    switch (p) {
      case Prim::kLeft: changed = w->TurnLeft(); break;
      case Prim::kRight: changed = w->TurnRight(); break;
      case Prim::kForward: changed = w->Forward(); break;
      case Prim::kPickup: changed = w->Pickup(); break;
      case Prim::kDrop: changed = w->Drop(); break;
      case Prim::kToggle: changed = w->Toggle(); break;
    }
    if (m.Achieved(*w)) return true;
    if (!changed) break;
  }
  return m.Achieved(*w);
}

}  // namespace agentgym::env::babyai
