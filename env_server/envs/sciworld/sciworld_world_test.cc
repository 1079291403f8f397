#include "env_server/envs/sciworld/sciworld_world.h"

#include <string>

#include "gtest/gtest.h"

namespace agentgym::env::sciworld {
namespace {

class WorldTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kitchen_ = world_.AddRoom("kitchen");
    hall_ = world_.AddRoom("hallway");
    world_.Link(kitchen_, hall_);
    world_.set_agent_room(kitchen_);
    Object stove;
    stove.name = "stove";
    stove.parent = kitchen_;
    stove.container = stove.surface = stove.stove = true;
    stove_ = world_.Add(stove);
    Object freezer;
    freezer.name = "freezer";
    freezer.parent = kitchen_;
    freezer.container = freezer.openable = freezer.freezer = true;
    freezer.open = false;
    freezer_ = world_.Add(freezer);
    thermometer_ = Thing("thermometer", kitchen_, false);
    world_.mutable_object(thermometer_).thermometer = true;
  }

  int Thing(const std::string& name, int parent, bool conductive) {
    Object o;
    o.name = name;
    o.parent = parent;
    o.movable = true;
    o.conductive = conductive;
    return world_.Add(o);
  }

  ActionResult Do(const std::string& command) { return world_.Execute(NormalizeCommand(command)); }

  World world_;
  int kitchen_, hall_, stove_, freezer_, thermometer_;
};

TEST_F(WorldTest, NormalizeStripsPrefixCaseAndSpaces) {
  EXPECT_EQ(NormalizeCommand("  Action:  Look   Around. "), "look around");
  EXPECT_EQ(NormalizeCommand("ACTION: go to the Kitchen"), "go to the kitchen");
  EXPECT_EQ(NormalizeCommand(""), "");
}

TEST_F(WorldTest, StoveMeltsThenBoilsAndThermometerReadsIt) {
  Object ice;
  ice.name = "ice";
  ice.parent = freezer_;
  ice.movable = ice.has_substance = true;
  ice.substance = {0, 100, "ice", "water", "steam"};
  ice.temperature = -10;
  int id = world_.Add(ice);
  EXPECT_FALSE(Do("pick up ice").valid);  // hidden in the closed freezer
  ASSERT_TRUE(Do("open freezer").valid);
  ASSERT_TRUE(Do("put ice on stove").valid);
  EXPECT_EQ(world_.object(id).phase, Phase::kSolid);
  ASSERT_TRUE(Do("activate stove").valid);
  EXPECT_EQ(world_.object(id).name, "water");  // -10 + 5 (relax) + 30 (stove)
  ActionResult r = Do("use thermometer on water");
  EXPECT_EQ(r.measured, id);
  EXPECT_NE(r.observation.find("degrees celsius"), std::string::npos);
  for (int i = 0; i < 5; ++i) Do("wait");
  EXPECT_EQ(world_.object(id).phase, Phase::kGas);
  EXPECT_EQ(world_.object(id).name, "steam");
}

TEST_F(WorldTest, ThermometerReportsThePhaseBeforeTheTick) {
  // A measurement reads the substance as it was when measured: one that melts
  // during the tick of that very action was measured solid (so the measure
  // task's "measure the melted substance" sub-goal needs another reading).
  Object wax;
  wax.name = "wax";
  wax.parent = stove_;
  wax.movable = wax.has_substance = true;
  wax.substance = {60, 1e9, "wax", "liquid wax", ""};
  int id = world_.Add(wax);
  ASSERT_TRUE(Do("activate stove").valid);
  ActionResult r;
  int readings = 0;
  while (world_.object(id).phase == Phase::kSolid && readings < 50) {
    r = Do("use thermometer on " + world_.object(id).name);
    ASSERT_TRUE(r.valid) << r.observation;
    ASSERT_EQ(r.measured, id);
    ++readings;
  }
  ASSERT_GT(readings, 0);  // still solid after the stove's first tick
  ASSERT_EQ(world_.object(id).phase, Phase::kLiquid);
  EXPECT_EQ(r.measured_phase, Phase::kSolid);  // it melted in that reading's tick
  r = Do("use thermometer on liquid wax");
  ASSERT_TRUE(r.valid) << r.observation;
  EXPECT_EQ(r.measured_phase, Phase::kLiquid);
}

TEST_F(WorldTest, FreezerCoolsAndFreezes) {
  Object water;
  water.name = "water";
  water.parent = kitchen_;
  water.movable = water.has_substance = true;
  water.substance = {0, 100, "ice", "water", "steam"};
  int id = world_.Add(water);
  Do("open freezer");
  ASSERT_TRUE(Do("put water in freezer").valid);
  for (int i = 0; i < 3; ++i) Do("wait");
  EXPECT_EQ(world_.object(id).name, "ice");
  EXPECT_LT(world_.object(id).temperature, 0);
}

TEST_F(WorldTest, BulbLightsOnlyThroughConductors) {
  Object battery;
  battery.name = "battery";
  battery.parent = kitchen_;
  battery.movable = battery.battery = battery.conductive = true;
  world_.Add(battery);
  Object bulb;
  bulb.name = "light bulb";
  bulb.parent = kitchen_;
  bulb.movable = bulb.bulb = bulb.conductive = true;
  int bulb_id = world_.Add(bulb);
  Thing("red wire", kitchen_, true);
  Thing("black wire", kitchen_, true);
  int nail = Thing("iron nail", kitchen_, true);
  int spoon = Thing("wooden spoon", kitchen_, false);
  for (const char* c : {"connect battery to red wire", "connect red wire to light bulb",
                        "connect light bulb to black wire", "connect black wire to iron nail"}) {
    ASSERT_TRUE(Do(c).valid) << c;
  }
  EXPECT_FALSE(world_.BulbLit(bulb_id));  // open circuit
  ASSERT_TRUE(Do("connect iron nail to battery").valid);
  EXPECT_TRUE(world_.BulbLit(bulb_id));
  EXPECT_NE(Do("examine light bulb").observation.find("which is on"), std::string::npos);
  EXPECT_FALSE(Do("connect battery to wooden spoon").valid);  // both terminals in use
  ASSERT_TRUE(Do("disconnect iron nail").valid);
  ASSERT_TRUE(Do("connect black wire to wooden spoon").valid);
  ASSERT_TRUE(Do("connect wooden spoon to battery").valid);
  EXPECT_TRUE(world_.OnOneLoop({bulb_id, spoon}));
  EXPECT_FALSE(world_.BulbLit(bulb_id));
  EXPECT_FALSE(world_.OnOneLoop({bulb_id, nail}));
}

TEST_F(WorldTest, MixFollowsRecipesExactly) {
  world_.AddRecipe({{"water", "sodium chloride"}, "salt water", true});
  Object bowl;
  bowl.name = "glass bowl";
  bowl.parent = kitchen_;
  bowl.movable = bowl.container = true;
  int bowl_id = world_.Add(bowl);
  Thing("sodium chloride", kitchen_, false);
  Thing("water", kitchen_, false);
  Thing("sugar", kitchen_, false);
  Do("put sodium chloride in glass bowl");
  Do("put sugar in glass bowl");
  Do("put water in glass bowl");
  ActionResult r = Do("mix glass bowl");
  EXPECT_FALSE(r.mixed);  // sugar is extra
  Do("pick up sugar");
  r = Do("mix glass bowl");
  EXPECT_TRUE(r.mixed);
  int salt_water = world_.FindByName("salt water");
  ASSERT_GE(salt_water, 0);
  EXPECT_EQ(world_.object(salt_water).parent, bowl_id);
  EXPECT_EQ(world_.FindByName("sodium chloride"), -1);
}

TEST_F(WorldTest, InvalidCommandsExplainAndDoNotTick) {
  Object choc;
  choc.name = "chocolate";
  choc.parent = stove_;
  choc.movable = choc.has_substance = true;
  choc.substance = {34, 1e9, "chocolate", "liquid chocolate", ""};
  int id = world_.Add(choc);
  world_.mutable_object(stove_).active = true;
  for (const char* bad : {"", "dance", "go to mars", "pick up stove", "put chocolate",
                          "use chocolate on stove", "focus on unicorn", "open stove",
                          "connect stove to thermometer", "read thermometer", "go to kitchen"}) {
    ActionResult r = Do(bad);
    EXPECT_FALSE(r.valid) << bad;
    EXPECT_FALSE(r.observation.empty()) << bad;
  }
  EXPECT_DOUBLE_EQ(world_.object(id).temperature, 20.0);  // no tick happened
  Thing("red box", kitchen_, false);
  Thing("blue box", kitchen_, false);
  ActionResult amb = Do("examine box");
  EXPECT_FALSE(amb.valid);
  EXPECT_NE(amb.observation.find("ambiguous"), std::string::npos);
  EXPECT_TRUE(Do("examine red box").valid);
}

TEST_F(WorldTest, RoomsNeedAdjacencyAndHideOtherRooms) {
  int pot = Thing("metal pot", hall_, true);
  EXPECT_FALSE(world_.Visible(pot));
  EXPECT_FALSE(Do("pick up metal pot").valid);
  ASSERT_TRUE(Do("go to hallway").valid);
  EXPECT_TRUE(Do("pick up pot").valid);
  EXPECT_EQ(world_.object(pot).parent, world_.inventory());
  EXPECT_NE(Do("inventory").observation.find("metal pot"), std::string::npos);
  EXPECT_NE(Do("look around").observation.find("From here you can go to: kitchen"),
            std::string::npos);
}

}  // namespace
}  // namespace agentgym::env::sciworld
