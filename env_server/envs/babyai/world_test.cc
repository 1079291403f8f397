// Unit tests of the babyai building blocks on hand-drawn maps: the view and
// its text, doors and keys, the verifier and location words, the oracle.
#include <string>

#include "env_server/envs/babyai/mission.h"
#include "env_server/envs/babyai/oracle.h"
#include "env_server/envs/babyai/view.h"
#include "env_server/envs/babyai/world.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace agentgym::env::babyai {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

World Parse(const char* map) {
  auto world = World::FromAscii(map);
  EXPECT_TRUE(world.ok()) << world.status();
  return world.ok() ? *std::move(world) : World(1, 1);
}

bool Offers(const View& view, const std::string& name) { return view.Find(name) != nullptr; }

// Two rooms split by a wall with one door (drawn as `door`), a ball behind it.
std::string TwoRooms(const char* door) {
  return std::string(
             "####################\n"
             "##........##......##\n"
             "##>.......") + door + "..ra..##\n" +
         "##........##......##\n"
         "####################\n";
}

TEST(WorldTest, FromAsciiRejectsBadMaps) {
  EXPECT_FALSE(World::FromAscii("").ok());
  EXPECT_FALSE(World::FromAscii("###\n").ok());
  EXPECT_FALSE(World::FromAscii("####\n....\n").ok());  // no agent
  EXPECT_FALSE(World::FromAscii("##zz\n>.##\n").ok());  // bad cell
  EXPECT_TRUE(World::FromAscii("####\n>.##\n").ok());
}

TEST(ViewTest, DescribesObjectsAheadInAgentGymWording) {
  World w = Parse(
      "##############\n"
      "##..........##\n"
      "##....ga....##\n"
      "##..........##\n"
      "##....^.....##\n"
      "##############\n");
  View v = ComputeView(w);
  EXPECT_THAT(v.description, HasSubstr("There is a green ball 1 right in front of you 2 steps away."));
  EXPECT_THAT(v.description, HasSubstr("You are facing a wall 4 steps away."));
  EXPECT_THAT(v.description, HasSubstr("You are not carrying anything."));
  EXPECT_TRUE(Offers(v, "go to green ball 1"));
  EXPECT_TRUE(Offers(v, "pick up green ball 1"));
  EXPECT_FALSE(Offers(v, "drop"));
  EXPECT_EQ(*v.ErrorFor("drop"), "You cannot drop the object, as you are not carrying anything.");
  EXPECT_EQ(v.Find("go to green ball 1")->plan.size(), 1u);  // one step forward
  EXPECT_EQ(v.actions.back().name, "check available actions");
}

TEST(ViewTest, SeesNothingBehindOrBeyondSevenByseven) {
  World w = Parse(
      "########################\n"
      "##....................##\n"
      "##ra..>.............bx##\n"
      "##....................##\n"
      "########################\n");
  View v = ComputeView(w);  // ball 2 behind, box 7 ahead: both out of view
  EXPECT_THAT(v.description, HasSubstr("You cannot see any objects within sight."));
  EXPECT_FALSE(Offers(v, "go to red ball 1"));
  EXPECT_FALSE(Offers(v, "go to blue box 1"));
}

TEST(ViewTest, ClosedDoorsAndWallsBlockSightOpenDoorsDoNot) {
  World closed = Parse(TwoRooms("bc").c_str());
  View vc = ComputeView(closed);
  EXPECT_THAT(vc.description, HasSubstr("blue closed door 1"));
  EXPECT_THAT(vc.description, Not(HasSubstr("red ball")));
  EXPECT_TRUE(Offers(vc, "toggle and go through blue closed door 1"));
  EXPECT_EQ(*vc.ErrorFor("go through blue closed door 1"),
            "You cannot go through blue closed door 1, as it is closed. You should toggle it first.");

  World open = Parse(TwoRooms("bo").c_str());
  View vo = ComputeView(open);
  EXPECT_THAT(vo.description, HasSubstr("red ball 1"));
  EXPECT_TRUE(Offers(vo, "go through blue open door 1"));
}

TEST(ViewTest, SameNamedObjectsAreNumberedNearestFirst) {
  World w = Parse(
      "##############\n"
      "##..ra......##\n"
      "##..........##\n"
      "##..ra......##\n"
      "##..^.......##\n"
      "##############\n");
  View v = ComputeView(w);
  EXPECT_THAT(v.description, HasSubstr("red ball 1 right in front of you 1 steps away"));
  EXPECT_THAT(v.description, HasSubstr("red ball 2 right in front of you 3 steps away"));
  // The far one is blocked by the near one along the only straight line but
  // reachable around it.
  EXPECT_GT(v.Find("go to red ball 2")->plan.size(), 3u);
}

TEST(DoorTest, LockedDoorOpensOnlyWithSameColourKey) {
  World w = Parse(
      "####################\n"
      "##..gk............##\n"
      "##>.yk....yl......##\n"
      "##................##\n"
      "####################\n");
  View v = ComputeView(w);
  EXPECT_FALSE(Offers(v, "toggle and go through yellow locked door 1"));
  EXPECT_EQ(*v.ErrorFor("toggle and go through yellow locked door 1"),
            "You cannot toggle and go through yellow locked door 1, as you are not carrying a key.");
  // Wrong key: pick up the green key, still refused.
  World wrong = w;
  ASSERT_TRUE(wrong.TurnLeft() && wrong.Forward() && wrong.TurnRight() && wrong.Pickup());
  EXPECT_THAT(ComputeView(wrong).description, HasSubstr("You are carrying a green key."));
  EXPECT_THAT(*ComputeView(wrong).ErrorFor("toggle and go through yellow locked door 1"),
              HasSubstr("does not match the color of door"));
  // Right key: pick up the yellow key, walk up and unlock.
  ASSERT_TRUE(w.Pickup());
  View with_key = ComputeView(w);
  const ActionChoice* go = with_key.Find("toggle and go through yellow locked door 1");
  ASSERT_NE(go, nullptr);
  Mission none;  // an Open mission for a door that is not there never triggers
  none.kind = InstrKind::kOpen;
  RunPlan(&w, none, go->plan);
  EXPECT_EQ(w.agent_x(), 5);  // stands in the doorway
  EXPECT_EQ(w.object(w.ObjectAt(5, 2)).door, DoorState::kOpen);
}

TEST(DoorTest, DropAndPickupFollowMiniGridRules) {
  World w = Parse(
      "############\n"
      "##>...ra..##\n"
      "############\n");
  EXPECT_FALSE(w.Pickup());  // nothing in front
  EXPECT_FALSE(w.Drop());    // holding nothing
  ASSERT_TRUE(w.Forward());
  EXPECT_FALSE(w.Forward()) << "the ball is in the way";
  ASSERT_TRUE(w.Pickup());
  EXPECT_EQ(w.ObjectAt(3, 1), -1);
  EXPECT_TRUE(w.Forward());
  EXPECT_TRUE(w.TurnLeft());
  EXPECT_FALSE(w.Drop()) << "cannot drop onto a wall";
  EXPECT_TRUE(w.TurnRight() && w.Drop());
  EXPECT_EQ(w.ObjectAt(4, 1), 0);
}

TEST(MissionTest, LocationWordsAreRelativeToTheStartingPose) {
  World w = Parse(
      "##############\n"
      "##..yk......##\n"
      "##....>.....##\n"
      "##........yk##\n"
      "##############\n");
  ObjDesc key;
  key.kind = Kind::kKey;
  key.loc = Loc::kFront;  // facing east: only the key at x=5
  ASSERT_TRUE(key.Resolve(w));
  EXPECT_EQ(key.ids.size(), 1u);
  EXPECT_EQ(key.Surface(), "the key in front of you");
  key.loc = Loc::kLeft;  // north is on the left when facing east
  ASSERT_TRUE(key.Resolve(w));
  EXPECT_EQ(w.object(key.ids[0]).y, 1);
  EXPECT_EQ(key.Surface(), "the key on your left");
  key.loc = Loc::kNone;
  key.color = Color::kYellow;
  ASSERT_TRUE(key.Resolve(w));
  EXPECT_EQ(key.Surface(), "a yellow key");
}

TEST(MissionTest, PutNextSucceedsOnlyWhenPlacedBeside) {
  World w = Parse(
      "##############\n"
      "##>.ra......##\n"
      "##........bx##\n"
      "##############\n");
  Mission m;
  m.kind = InstrKind::kPutNext;
  m.target.kind = Kind::kBall;
  m.fixed.kind = Kind::kBox;
  ASSERT_TRUE(m.target.Resolve(w) && m.fixed.Resolve(w));
  EXPECT_EQ(m.Text(), "put the ball next to the box");
  EXPECT_FALSE(m.Achieved(w));
  EXPECT_EQ(SimulateOracle(w, m, 0), -1);
  int turns = SimulateOracle(w, m, 30);
  EXPECT_GT(turns, 0);
  EXPECT_LE(turns, 10);
}

TEST(OracleTest, FetchesTheKeyForALockedDoorOnTheWay) {
  World w = Parse(
      "########################\n"
      "##>.........##........##\n"
      "##..........pl......ga##\n"
      "##....pk....##........##\n"
      "########################\n");
  Mission m;
  m.kind = InstrKind::kPickup;
  m.target.kind = Kind::kBall;
  ASSERT_TRUE(m.target.Resolve(w));
  View v = ComputeView(w);
  EXPECT_EQ(OracleAction(w, m, v), "pick up purple key 1");
  EXPECT_GT(SimulateOracle(w, m, 20), 0);
}

TEST(OracleTest, ClearsAnObjectBlockingTheOnlyWay) {
  World w = Parse(
      "##################\n"
      "##>.........##ga##\n"
      "##........rxgo..##\n"
      "##..........##..##\n"
      "##################\n");
  Mission m;
  m.kind = InstrKind::kGoTo;
  m.target.kind = Kind::kBall;
  ASSERT_TRUE(m.target.Resolve(w));
  EXPECT_GT(SimulateOracle(w, m, 30), 0);
}

}  // namespace
}  // namespace agentgym::env::babyai
