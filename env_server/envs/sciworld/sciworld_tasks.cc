#include "env_server/envs/sciworld/sciworld_tasks.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/det_random.h"
#include "env_server/envs/sciworld/sciworld_task_rules.h"

namespace agentgym::env::sciworld {
namespace {

// ---- Catalogs: the things the lab can hold. ----

struct Thing {
  const char* name;
  bool conductive;
};
constexpr Thing kThings[] = {
    {"iron nail", true},     {"aluminum foil", true}, {"steel fork", true},
    {"copper pipe", true},   {"brass key", true},     {"tin can", true},
    {"silver spoon", true},  {"plastic cup", false},  {"wooden spoon", false},
    {"rubber band", false},  {"glass jar", false},    {"ceramic mug", false},
    {"cotton ball", false},  {"pencil eraser", false}, {"wooden block", false},
};
constexpr int kNumThings = sizeof(kThings) / sizeof(kThings[0]);

struct Animal {
  const char* name;
  double lifespan_years;  // typical; neighbours differ by 2x or more
};
constexpr Animal kAnimals[] = {{"mayfly", 0.003}, {"butterfly", 0.1}, {"mouse", 2},
                               {"rabbit", 9},     {"horse", 30},      {"elephant", 70},
                               {"giant tortoise", 150}};
constexpr int kNumAnimals = 7;
constexpr const char* kPlants[] = {"sunflower", "fern", "rose", "cactus", "tomato plant",
                                   "bean plant"};
constexpr int kNumPlants = 6;

struct MeltingSubstance {
  const char* solid;
  const char* liquid;
  const char* gas;
  double melt, boil;
};
constexpr MeltingSubstance kKnownSubstances[] = {
    {"ice", "water", "steam", 0, 100},
    {"chocolate", "liquid chocolate", "", 34, 1e9},
    {"butter", "melted butter", "", 32, 1e9},
    {"wax", "liquid wax", "", 58, 1e9},
    {"tin", "liquid tin", "", 232, 2602},
    {"lead", "liquid lead", "", 327, 1749},
};
constexpr int kNumKnown = 6;
constexpr double kUnknownMelts[] = {45, 85, 125, 165, 205, 245};
constexpr int kNumSubstances = kNumKnown + 26 * 6;
constexpr int kOffsets[] = {-60, -40, -25, -15, 15, 25, 40, 60};
constexpr const char* kColors[] = {"red", "green", "blue", "orange", "yellow", "purple"};

struct Recipe {
  const char* product;
  std::vector<std::string> ingredients;
};
const std::vector<Recipe>& Recipes() {
  static const auto* const kRecipes = new std::vector<Recipe>{
      {"salt water", {"sodium chloride", "water"}},
      {"sugar water", {"sugar", "water"}},
      {"soapy water", {"soap", "water"}},
      {"sodium acetate", {"sodium bicarbonate", "acetic acid"}},
      {"lemonade", {"lemon juice", "sugar", "water"}},
      {"violet paint", {"red paint", "blue paint"}},
      {"green paint", {"blue paint", "yellow paint"}},
      {"orange paint", {"red paint", "yellow paint"}},
      {"brown paint", {"violet paint", "yellow paint"}},  // two steps
      {"mixed nuts", {"peanuts", "almonds", "cashews"}},
  };
  return *kRecipes;
}
constexpr const char* kBaseIngredients[] = {
    "sodium chloride", "water",     "sugar",      "soap",        "sodium bicarbonate",
    "acetic acid",     "lemon juice", "red paint", "blue paint", "yellow paint",
    "peanuts",         "almonds",   "cashews"};

// The base-ingredient steps of a product: intermediate recipes first.
std::vector<ChemStep> StepsFor(const std::string& product) {
  std::vector<ChemStep> steps;
  for (const Recipe& r : Recipes()) {
    if (product != r.product) continue;
    for (const std::string& ing : r.ingredients) {
      std::vector<ChemStep> sub = StepsFor(ing);
      steps.insert(steps.end(), sub.begin(), sub.end());
    }
    steps.push_back({r.ingredients, r.product});
  }
  return steps;
}
std::vector<std::string> BaseIngredients(const std::string& product) {
  std::vector<std::string> base;
  for (const ChemStep& step : StepsFor(product)) {
    for (const std::string& ing : step.ingredients) {
      if (StepsFor(ing).empty()) base.push_back(ing);
    }
  }
  return base;
}

const std::vector<std::vector<int>>& Combos(int n, int k) {
  static const auto* const kCache = [] {
    auto* all = new std::vector<std::vector<std::vector<int>>>(64);
    for (int nn = 1; nn <= 7; ++nn) {
      for (int mask = 0; mask < (1 << nn); ++mask) {
        std::vector<int> c;
        for (int i = 0; i < nn; ++i) {
          if (mask & (1 << i)) c.push_back(i);
        }
        (*all)[nn * 8 + static_cast<int>(c.size())].push_back(c);
      }
      for (auto& list : *all) std::sort(list.begin(), list.end());
    }
    return all;
  }();
  return (*kCache)[n * 8 + k];
}

// Mixed-radix digits of a spec code, least significant first.
std::vector<uint32_t> Digits(uint32_t code, std::initializer_list<uint32_t> radices) {
  std::vector<uint32_t> d;
  for (uint32_t r : radices) {
    d.push_back(code % r);
    code /= r;
  }
  d.push_back(code);  // overflow digit: must be 0 for a valid code
  return d;
}

std::pair<int, int> BoxPair(uint32_t p) {
  int first = static_cast<int>(p / 5), second = static_cast<int>(p % 5);
  return {first, second >= first ? second + 1 : second};
}

uint32_t SpecSpace(TaskType type) {
  switch (type) {
    case TaskType::kMeasure: return kNumSubstances * 8 * 30 * 3;
    case TaskType::kConductivity: return (kNumThings + 52) * 30 * 5;
    case TaskType::kFind: return 4 * 6 * 4 * 35 * 15;
    case TaskType::kChemMix: return 10 * 2 * 125;
    case TaskType::kLifespan: return 3 * 70;
  }
  return 0;
}

std::vector<uint32_t> SpecDigits(TaskType type, uint32_t spec) {
  switch (type) {
    case TaskType::kMeasure: return Digits(spec, {kNumSubstances, 8, 30, 3});
    case TaskType::kConductivity: return Digits(spec, {kNumThings + 52, 30, 5});
    case TaskType::kFind: return Digits(spec, {4, 6, 4, 35, 15});
    case TaskType::kChemMix: return Digits(spec, {10, 2, 5, 5, 5});
    case TaskType::kLifespan: return Digits(spec, {3, 70});
  }
  return {};
}

// ---- The shared lab. ----

struct Lab {
  int hallway, kitchen, workshop, greenhouse, outside, living_room;
  int stove, freezer, cupboard, table, workbench, couch, bookshelf;
  int thermometer, battery, bulb;
  std::vector<int> wires;
  std::vector<int> spots;  // places a loose object may be left
};

int AddThing(World* w, const std::string& name, int parent, bool conductive = false) {
  Object o;
  o.name = name;
  o.parent = parent;
  o.movable = true;
  o.conductive = conductive;
  return w->Add(std::move(o));
}

int AddFixture(World* w, const std::string& name, int parent, bool surface, bool openable) {
  Object o;
  o.name = name;
  o.parent = parent;
  o.container = true;
  o.surface = surface;
  o.openable = openable;
  o.open = !openable;
  return w->Add(std::move(o));
}

// The room's usual surface for loose objects ("located around the X").
int SpotIn(const Lab& lab, int room) {
  if (room == lab.kitchen) return lab.table;
  if (room == lab.workshop) return lab.workbench;
  if (room == lab.living_room) return lab.couch;
  return room;
}

Lab BuildLab(World* w, DetRng& rng) {
  Lab lab;
  lab.hallway = w->AddRoom("hallway");
  lab.kitchen = w->AddRoom("kitchen");
  lab.workshop = w->AddRoom("workshop");
  lab.greenhouse = w->AddRoom("greenhouse");
  lab.outside = w->AddRoom("outside");
  lab.living_room = w->AddRoom("living room");
  for (int r : {lab.kitchen, lab.workshop, lab.greenhouse, lab.living_room}) w->Link(lab.hallway, r);
  w->Link(lab.kitchen, lab.outside);
  w->Link(lab.greenhouse, lab.outside);

  lab.stove = AddFixture(w, "stove", lab.kitchen, /*surface=*/true, /*openable=*/false);
  w->mutable_object(lab.stove).stove = true;
  lab.freezer = AddFixture(w, "freezer", lab.kitchen, false, true);
  w->mutable_object(lab.freezer).freezer = true;
  w->mutable_object(lab.freezer).temperature = -18;
  lab.cupboard = AddFixture(w, "cupboard", lab.kitchen, false, true);
  lab.table = AddFixture(w, "table", lab.kitchen, true, false);
  lab.workbench = AddFixture(w, "workbench", lab.workshop, true, false);
  lab.couch = AddFixture(w, "couch", lab.living_room, true, false);
  lab.bookshelf = AddFixture(w, "bookshelf", lab.living_room, false, false);
  Object book;
  book.name = "science book";
  book.parent = lab.bookshelf;
  book.movable = true;
  book.readable =
      "Metals conduct electricity; wood, plastic, rubber, glass and ceramics do not. A substance "
      "melts when it is heated to its melting point.";
  w->Add(std::move(book));

  lab.thermometer = AddThing(w, "thermometer", lab.table);
  w->mutable_object(lab.thermometer).thermometer = true;
  lab.battery = AddThing(w, "battery", lab.workbench, true);
  w->mutable_object(lab.battery).battery = true;
  lab.bulb = AddThing(w, "light bulb", lab.workbench, true);
  w->mutable_object(lab.bulb).bulb = true;
  for (const char* color : {"red wire", "black wire", "blue wire"}) {
    lab.wires.push_back(AddThing(w, color, lab.workbench, true));
  }
  lab.spots = {lab.table, lab.workbench, lab.couch, lab.hallway, lab.living_room, lab.greenhouse};
  w->set_agent_room(static_cast<int>(
      rng.Pick(std::vector<int>{lab.hallway, lab.kitchen, lab.workshop, lab.living_room})));
  return lab;
}

void AddAnimals(World* w, const Lab& lab, const std::vector<int>& which, std::vector<int>* ids) {
  for (int a : which) {
    Object o;
    o.name = kAnimals[a].name;
    o.parent = lab.outside;
    o.movable = true;
    o.animal = true;
    int id = w->Add(std::move(o));
    if (ids) ids->push_back(id);
  }
}

void AddPlants(World* w, const Lab& lab, const std::vector<int>& which) {
  for (int p : which) {
    Object o;
    o.name = kPlants[p];
    o.parent = lab.greenhouse;
    o.movable = true;
    o.plant = true;
    w->Add(std::move(o));
  }
}

// Loose non-living things, skipping `exclude` (a kThings index or -1).
void AddDistractors(World* w, const Lab& lab, DetRng& rng, int count, int exclude) {
  std::vector<int> pool;
  for (int i = 0; i < kNumThings; ++i) {
    if (i != exclude) pool.push_back(i);
  }
  rng.Shuffle(pool);
  for (int i = 0; i < count; ++i) {
    AddThing(w, kThings[pool[i]].name, rng.Pick(lab.spots), kThings[pool[i]].conductive);
  }
}

int AddBox(World* w, const std::string& color, int parent) {
  return AddFixture(w, color + " box", parent, false, false);
}

const char* RoomName(const World& w, int room) { return w.object(room).name.c_str(); }

}  // namespace

const char* TaskTypeName(TaskType type) {
  static const char* kNames[] = {"measure", "test_conductivity", "find", "chem_mix", "lifespan"};
  return kNames[static_cast<int>(type)];
}

bool TaskCatalog::ValidSpec(TaskType type, uint32_t spec) {
  std::vector<uint32_t> d = SpecDigits(type, spec);
  if (d.back() != 0) return false;
  if (type == TaskType::kMeasure) return d[0] != 0 || d[3] == 0;  // ice lives in the freezer
  if (type == TaskType::kChemMix) {
    size_t used = BaseIngredients(Recipes()[d[0]].product).size();
    for (size_t slot = used; slot < 3; ++slot) {
      if (d[2 + slot] != 0) return false;
    }
  }
  return true;
}

std::string TaskCatalog::SpecKey(TaskType type, uint32_t spec) {
  std::vector<uint32_t> d = SpecDigits(type, spec);
  d.pop_back();
  return absl::StrCat(TaskTypeName(type), "/", absl::StrJoin(d, "."));
}

TaskCatalog::TaskCatalog() {
  for (TaskType type : kAllTaskTypes) {
    int t = static_cast<int>(type);
    for (uint32_t spec = 0; spec < SpecSpace(type); ++spec) {
      if (!ValidSpec(type, spec)) continue;
      bool test = DetRng::Hash(SpecKey(type, spec)) % 5 == 0;
      specs_[t][test ? 1 : 0].push_back(spec);
    }
    DetRng rng(DetRng::Hash(absl::StrCat("sciworld/order/", TaskTypeName(type))));
    rng.Shuffle(specs_[t][0]);
    rng.Shuffle(specs_[t][1]);
  }
}

const std::vector<uint32_t>& TaskCatalog::Specs(TaskType type, bool test) const {
  return specs_[static_cast<int>(type)][test ? 1 : 0];
}

std::unique_ptr<SciTask> BuildTask(TaskType type, uint32_t spec, uint64_t seed, World* w) {
  std::vector<uint32_t> d = SpecDigits(type, spec);
  DetRng rng(DetRng::Mix(DetRng::Hash(TaskCatalog::SpecKey(type, spec)), seed));
  Lab lab = BuildLab(w, rng);
  std::vector<int> rooms3 = {lab.kitchen, lab.workshop, lab.living_room};
  std::vector<int> rooms5 = {lab.kitchen, lab.workshop, lab.living_room, lab.hallway, lab.greenhouse};
  std::vector<int> box_rooms = {lab.kitchen, lab.workshop, lab.living_room, lab.hallway};

  switch (type) {
    case TaskType::kMeasure: {
      Object o;
      o.movable = o.has_substance = o.mass_noun = true;
      int room = rooms3[d[3]];
      if (d[0] < kNumKnown) {
        const MeltingSubstance& m = kKnownSubstances[d[0]];
        o.substance = {m.melt, m.boil, m.solid, m.liquid, m.gas};
      } else {
        char letter = static_cast<char>('a' + (d[0] - kNumKnown) / 6);
        std::string solid = std::string("unknown substance ") + letter;
        o.substance = {kUnknownMelts[(d[0] - kNumKnown) % 6], 1e9, solid, "liquid " + solid, ""};
        o.mass_noun = false;
      }
      o.parent = d[0] == 0 ? lab.freezer : SpotIn(lab, room);
      o.temperature = d[0] == 0 ? -10 : World::kRoomTemperature;
      double initial = o.temperature;
      std::string name = o.substance.solid;
      int threshold = static_cast<int>(o.substance.melt) + kOffsets[d[1]];
      int substance = w->Add(std::move(o));
      auto [hi, lo] = BoxPair(d[2]);
      int hi_box = AddBox(w, kColors[hi], lab.kitchen);
      int lo_box = AddBox(w, kColors[lo], lab.kitchen);
      bool above = w->object(substance).substance.melt > threshold;
      AddAnimals(w, lab, Combos(kNumAnimals, 3)[rng.Uniform(35)], nullptr);
      AddPlants(w, lab, Combos(kNumPlants, 2)[rng.Uniform(15)]);
      AddDistractors(w, lab, rng, 4, -1);
      std::string instruction = absl::StrCat(
          "Your task is to measure the melting point of ", name, ", which is located around the ",
          d[0] == 0 ? "kitchen" : RoomName(*w, room), ". First, focus on the thermometer. Next, focus on the ",
          name, ". If the melting point of ", name, " is above ", threshold,
          " degrees celsius, focus on the ", kColors[hi], " box. If the melting point of ", name,
          " is below ", threshold, " degrees celsius, focus on the ", kColors[lo],
          " box. The boxes are located around the kitchen.");
      return MakeMeasureTask(instruction, {lab.thermometer, substance, above ? hi_box : lo_box,
                                           above ? lo_box : hi_box, lab.stove, lab.kitchen, initial});
    }
    case TaskType::kConductivity: {
      int room = rooms5[d[2]];
      std::string name;
      bool conductive;
      int exclude = -1;
      if (d[0] < static_cast<uint32_t>(kNumThings)) {
        name = kThings[d[0]].name;
        conductive = kThings[d[0]].conductive;
        exclude = static_cast<int>(d[0]);
      } else {
        name = std::string("unknown substance ") + static_cast<char>('a' + (d[0] - kNumThings) / 2);
        conductive = (d[0] - kNumThings) % 2 == 0;
      }
      int target = AddThing(w, name, SpotIn(lab, room), conductive);
      auto [yes, no] = BoxPair(d[1]);
      int yes_box = AddBox(w, kColors[yes], lab.workshop);
      int no_box = AddBox(w, kColors[no], lab.workshop);
      AddAnimals(w, lab, Combos(kNumAnimals, 3)[rng.Uniform(35)], nullptr);
      AddPlants(w, lab, Combos(kNumPlants, 2)[rng.Uniform(15)]);
      AddDistractors(w, lab, rng, 4, exclude);
      std::string instruction = absl::StrCat(
          "Your task is to determine if the ", name, " is electrically conductive. The ", name,
          " is located around the ", RoomName(*w, room), ". First, focus on the ", name,
          ". If it is electrically conductive, place it in the ", kColors[yes],
          " box. If it is electrically nonconductive, place it in the ", kColors[no],
          " box. The boxes are located around the workshop.");
      return MakeConductivityTask(instruction, {target, lab.battery, lab.bulb,
                                                conductive ? yes_box : no_box,
                                                conductive ? no_box : yes_box, lab.workshop, lab.wires});
    }
    case TaskType::kFind: {
      static const char* kCategoryNames[] = {"living thing", "non-living thing", "plant", "animal"};
      int box_room = box_rooms[d[2]];
      int box = AddBox(w, kColors[d[1]], box_room);
      AddAnimals(w, lab, Combos(kNumAnimals, 3)[d[3]], nullptr);
      AddPlants(w, lab, Combos(kNumPlants, 2)[d[4]]);
      AddDistractors(w, lab, rng, 4, -1);
      const char* what = kCategoryNames[d[0]];
      std::string instruction = absl::StrCat(
          "Your task is to find a(n) ", what, ". First, focus on the thing. Then, move it to the ",
          kColors[d[1]], " box in the ", RoomName(*w, box_room), ".");
      return MakeFindTask(instruction, {static_cast<Category>(d[0]), box, box_room});
    }
    case TaskType::kChemMix: {
      const Recipe& recipe = Recipes()[d[0]];
      int bowl_parent = d[1] == 0 ? lab.table : lab.cupboard;
      Object bowl;
      bowl.name = "glass bowl";
      bowl.parent = bowl_parent;
      bowl.movable = bowl.container = true;
      int bowl_id = w->Add(std::move(bowl));
      std::vector<int> places = {lab.table, lab.cupboard, lab.workbench, lab.bookshelf, lab.hallway};
      std::vector<std::string> base = BaseIngredients(recipe.product);
      auto add_ingredient = [&](const std::string& name, int parent) {
        Object o;
        o.name = name;
        o.parent = parent;
        o.movable = o.mass_noun = true;
        if (name == "water") {
          o.has_substance = true;
          o.substance = {0, 100, "ice", "water", "steam"};
        }
        w->Add(std::move(o));
      };
      for (size_t i = 0; i < base.size(); ++i) add_ingredient(base[i], places[d[2 + i]]);
      std::vector<std::string> others;
      for (const char* ing : kBaseIngredients) {
        if (std::find(base.begin(), base.end(), ing) == base.end()) others.push_back(ing);
      }
      rng.Shuffle(others);
      for (int i = 0; i < 2; ++i) add_ingredient(others[i], rng.Pick(places));
      for (const Recipe& r : Recipes()) w->AddRecipe({r.ingredients, r.product});
      std::vector<ChemStep> steps = StepsFor(recipe.product);
      std::string text = absl::StrCat("To make ", recipe.product, ", mix ",
                                       absl::StrJoin(recipe.ingredients, " and "), ".");
      if (steps.size() > 1) {
        absl::StrAppend(&text, " To make ", steps[0].product, ", mix ",
                        absl::StrJoin(steps[0].ingredients, " and "), ".");
      }
      Object paper;
      paper.name = "recipe";
      paper.parent = lab.table;
      paper.movable = true;
      paper.readable = text;
      w->Add(std::move(paper));
      AddAnimals(w, lab, Combos(kNumAnimals, 3)[rng.Uniform(35)], nullptr);
      AddPlants(w, lab, Combos(kNumPlants, 2)[rng.Uniform(15)]);
      AddDistractors(w, lab, rng, 3, -1);
      std::string instruction = absl::StrCat(
          "Your task is to use chemistry to create the substance '", recipe.product,
          "'. A recipe and some of the ingredients might be found near the kitchen. When you are "
          "done, focus on the ", recipe.product, ".");
      return MakeChemMixTask(instruction, {steps, bowl_id});
    }
    case TaskType::kLifespan: {
      std::vector<int> which = d[1] < 35 ? Combos(kNumAnimals, 3)[d[1]] : Combos(kNumAnimals, 4)[d[1] - 35];
      std::vector<int> ids;
      AddAnimals(w, lab, which, &ids);  // `which` is ascending in lifespan
      AddPlants(w, lab, Combos(kNumPlants, 2)[rng.Uniform(15)]);
      AddDistractors(w, lab, rng, 4, -1);
      std::string goal;
      std::vector<int> answers;
      if (d[0] == 0) {
        goal = "Your task is to find the animal with the longest life span, then focus on it.";
        answers = {ids.back()};
      } else if (d[0] == 1) {
        goal = "Your task is to find the animal with the shortest life span, then focus on it.";
        answers = {ids.front()};
      } else {
        goal = "Your task is to find the animal with the longest life span, then focus on it. "
               "Then, focus on the animal with the shortest life span.";
        answers = {ids.back(), ids.front()};
      }
      return MakeLifespanTask(goal + " The animals are in the 'outside' location.",
                              {answers, lab.outside});
    }
  }
  return nullptr;
}

}  // namespace agentgym::env::sciworld
