#include "env_server/envs/searchqa/knowledge_base.h"

#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/det_random.h"

namespace agentgym::env::searchqa {
namespace {

constexpr int kPeople = 1000;
constexpr int kCities = 260;
constexpr int kCountries = 32;
constexpr int kOrgs = 200;
constexpr int kWorks = 720;

const std::vector<std::string> kFirstA = {"Al", "Bri", "Ca", "Do", "El", "Fa", "Gre", "Ha", "I",
                                          "Jo", "Ka", "Le", "Ma", "Ne", "O", "Pe", "Ro", "Sa",
                                          "Te", "Vi", "Wy", "Ze", "Ly", "Mi"};
const std::vector<std::string> kFirstB = {"ra", "len", "mir", "dan", "sa", "vin", "na", "rek",
                                          "lia", "tor", "ne", "bel", "ric", "mon", "ta", "lo"};
const std::vector<std::string> kLastA = {"Ash", "Bel", "Cor", "Dun", "Ev", "Fen", "Gar", "Hol",
                                         "Ives", "Jar", "Kel", "Lor", "Mor", "Nor", "Or", "Pell",
                                         "Quen", "Rad", "Sel", "Thorn", "Ul", "Var", "Wex", "Yar"};
const std::vector<std::string> kLastB = {"ford", "wick", "mont", "ley", "ridge", "stone", "well",
                                         "ton", "by", "croft", "hart", "man", "sley", "dale"};
const std::vector<std::string> kPlaceA = {"Bre", "Cal", "Dra", "Esk", "Fal", "Gol", "Hel", "Ith",
                                          "Kor", "Lun", "Mar", "Nev", "Ost", "Pra", "Quar", "Riv",
                                          "Sol", "Tam", "Ulm", "Vel", "Wen", "Xan", "Yss", "Zor"};
const std::vector<std::string> kPlaceB = {"haven", "mere", "gard", "holm", "port", "vale",
                                          "burg", "field", "moor", "wick", "stad", "brook"};
const std::vector<std::string> kCountryB = {"ia", "land", "ovia", "esh", "ara", "istan", "onia",
                                            "eria"};
const std::vector<std::string> kOrgA = {"Kestrel", "Harbor", "Summit", "Cobalt", "Meridian",
                                        "Aurora", "Granite", "Beacon", "Silverline", "Northwind",
                                        "Crescent", "Ember", "Falcon", "Juniper", "Lantern",
                                        "Monarch", "Onyx", "Pinnacle", "Quill", "Redwood",
                                        "Sable", "Tidewater", "Vanguard", "Willow"};
const std::vector<std::string> kOrgB = {"Dynamics", "Institute", "Press", "Records", "Studios",
                                        "University", "Foundation", "Works", "Gazette",
                                        "Laboratories", "Orchestra", "Holdings"};
const std::vector<std::string> kAdj = {"Silent", "Crimson", "Hollow", "Distant", "Golden",
                                       "Broken", "Quiet", "Burning", "Frozen", "Hidden", "Last",
                                       "Wandering", "Shattered", "Velvet", "Iron", "Pale",
                                       "Restless", "Sunken", "Endless", "Secret", "Winter",
                                       "Amber", "Lonely", "Electric"};
const std::vector<std::string> kNoun = {"Harbor", "Garden", "Mirror", "River", "Lantern", "Crown",
                                        "Orchard", "Bridge", "Tide", "Meadow", "Tower", "Voyage",
                                        "Letter", "Forest", "Compass", "Season", "Island",
                                        "Archive", "Signal", "Shore", "Citadel", "Canvas",
                                        "Horizon", "Ember", "Labyrinth", "Echo", "Feather",
                                        "Window", "Kingdom", "Lighthouse"};
// Occupations that create works, paired with the kind of work and the verb.
struct Craft {
  const char* occupation;
  const char* work;
  const char* verb;
};
const std::vector<Craft> kCrafts = {{"novelist", "novel", "written"},
                                    {"film director", "film", "directed"},
                                    {"musician", "album", "recorded"},
                                    {"painter", "painting", "painted"}};
const std::vector<std::string> kOtherJobs = {"physicist", "chemist", "architect", "politician",
                                             "footballer", "journalist", "engineer", "economist"};
const std::vector<std::string> kContinents = {"Europe", "Asia", "Africa", "South America",
                                              "Oceania", "North America"};
const std::vector<std::string> kFillers = {
    "Critics have written about this at length.",
    "Several archives hold records about it.",
    "It is frequently mentioned in regional histories.",
    "Details about it appear in many encyclopedias.",
    "It has been the subject of a number of documentaries.",
    "Local guides often recommend learning more about it."};

// Skewed pick in [0, n): low indices are chosen far more often, giving a
// long-tailed popularity like real knowledge graphs.
int SkewedPick(DetRng& rng, int n) {
  double u = rng.UniformDouble();
  return std::min(n - 1, static_cast<int>(n * u * u * u));
}

}  // namespace

std::unique_ptr<KnowledgeBase> KnowledgeBase::Build(const KnowledgeBaseOptions& options) {
  std::unique_ptr<KnowledgeBase> kb(new KnowledgeBase(options));
  kb->Generate(options.seed);
  kb->WriteDocuments(options.seed);
  kb->index_.Finalize();
  return kb;
}

void KnowledgeBase::Generate(uint64_t seed) {
  DetRng rng(DetRng::Mix(seed, 1));
  absl::flat_hash_set<std::string> used;
  // Every name is unique across all kinds so a name identifies one entity.
  auto unique_name = [&](auto make) {
    for (;;) {
      std::string name = make();
      if (used.insert(name).second) return name;
    }
  };
  auto add = [&](Kind kind, std::string name) {
    Entity e;
    e.kind = kind;
    e.name = std::move(name);
    e.rank = static_cast<int>(by_kind_[static_cast<int>(kind)].size());
    by_kind_[static_cast<int>(kind)].push_back(static_cast<int>(entities_.size()));
    entities_.push_back(std::move(e));
    return static_cast<int>(entities_.size()) - 1;
  };

  for (int i = 0; i < kCountries; ++i) {
    int c = add(Kind::kCountry, unique_name([&] {
                  return rng.Pick(kPlaceA) + rng.Pick(kCountryB);
                }));
    entities_[c].continent = rng.Pick(kContinents);
    std::string stem = entities_[c].name;
    entities_[c].language = stem.substr(0, std::min<size_t>(stem.size(), 4)) + "ic";
    entities_[c].year = static_cast<int>(rng.UniformInt(1780, 1990));
  }
  const auto& countries = OfKind(Kind::kCountry);
  for (int i = 0; i < kCities; ++i) {
    int c = add(Kind::kCity, unique_name([&] {
                  return rng.Pick(kPlaceA) + rng.Pick(kFirstB) + rng.Pick(kPlaceB);
                }));
    entities_[c].country = countries[i < kCountries ? i : SkewedPick(rng, kCountries)];
    entities_[c].year = static_cast<int>(rng.UniformInt(700, 1850));
    if (i < kCountries) entities_[entities_[c].country].capital = c;
  }
  const auto& cities = OfKind(Kind::kCity);
  for (int i = 0; i < kPeople; ++i) {
    int p = add(Kind::kPerson, unique_name([&] {
                  return rng.Pick(kFirstA) + rng.Pick(kFirstB) + " " + rng.Pick(kLastA) +
                         rng.Pick(kLastB);
                }));
    Entity& e = entities_[p];
    e.subtype = rng.Bernoulli(0.6) ? kCrafts[rng.Uniform(kCrafts.size())].occupation
                                   : rng.Pick(kOtherJobs);
    e.year = static_cast<int>(rng.UniformInt(1890, 1995));
    e.city = cities[SkewedPick(rng, kCities)];
  }
  const auto& people = OfKind(Kind::kPerson);
  for (int i = 0; i < kOrgs; ++i) {
    int o = add(Kind::kOrg, unique_name([&] { return rng.Pick(kOrgA) + " " + rng.Pick(kOrgB); }));
    Entity& e = entities_[o];
    std::string last = e.name.substr(e.name.rfind(' ') + 1);
    static const std::vector<std::pair<std::string, std::string>> kKinds = {
        {"Dynamics", "company"},       {"Institute", "research institute"},
        {"Press", "publisher"},        {"Records", "record label"},
        {"Studios", "film studio"},    {"University", "university"},
        {"Foundation", "foundation"},  {"Works", "company"},
        {"Gazette", "newspaper"},      {"Laboratories", "laboratory"},
        {"Orchestra", "orchestra"},    {"Holdings", "company"}};
    for (const auto& [suffix, kind] : kKinds) {
      if (suffix == last) e.subtype = kind;
    }
    e.year = static_cast<int>(rng.UniformInt(1820, 2010));
    e.city = cities[SkewedPick(rng, kCities)];
    e.person = people[SkewedPick(rng, kPeople)];
  }
  const auto& orgs = OfKind(Kind::kOrg);
  for (int i = 0; i < kPeople; ++i) {
    Entity& e = entities_[people[i]];
    if (rng.Bernoulli(0.7)) e.org = orgs[SkewedPick(rng, kOrgs)];
  }
  // Spouses pair up people, symmetrically.
  for (int i = 0; i + 1 < kPeople; i += 2) {
    if (!rng.Bernoulli(0.35)) continue;
    int a = people[i];
    int b = people[i + 1 + rng.Uniform(std::min(20, kPeople - i - 1))];
    if (entities_[a].spouse >= 0 || entities_[b].spouse >= 0 || a == b) continue;
    entities_[a].spouse = b;
    entities_[b].spouse = a;
  }
  // Works go to creators whose occupation fits them.
  std::vector<std::vector<int>> creators(kCrafts.size());
  for (int p : people) {
    for (size_t c = 0; c < kCrafts.size(); ++c) {
      if (entities_[p].subtype == kCrafts[c].occupation) creators[c].push_back(p);
    }
  }
  for (int i = 0; i < kWorks; ++i) {
    int w = add(Kind::kWork, unique_name([&] {
                  return rng.Bernoulli(0.5)
                             ? "The " + rng.Pick(kAdj) + " " + rng.Pick(kNoun)
                             : rng.Pick(kNoun) + " of the " + rng.Pick(kAdj) + " " +
                                   rng.Pick(kNoun);
                }));
    size_t craft = rng.Uniform(kCrafts.size());
    const std::vector<int>& pool = creators[craft];
    Entity& e = entities_[w];
    e.subtype = kCrafts[craft].work;
    e.person = pool[SkewedPick(rng, static_cast<int>(pool.size()))];
    int born = entities_[e.person].year;
    e.year = static_cast<int>(rng.UniformInt(born + 20, std::min(2024, born + 70)));
  }
}

int KnowledgeBase::AddDoc(std::string title, std::string text, std::vector<int> mentions) {
  Document d;
  d.id = absl::StrFormat("d%04d", docs_.size());
  d.title = std::move(title);
  d.text = std::move(text);
  d.mentions = std::move(mentions);
  index_.AddDocument(d.title + " " + d.text);
  docs_.push_back(std::move(d));
  return static_cast<int>(docs_.size()) - 1;
}

void KnowledgeBase::WriteDocuments(uint64_t seed) {
  DetRng rng(DetRng::Mix(seed, 2));
  auto name = [&](int i) -> const std::string& { return entities_[i].name; };
  for (size_t i = 0; i < entities_.size(); ++i) {
    Entity& e = entities_[i];
    const int self = static_cast<int>(i);
    std::string text;
    std::vector<int> mentions = {self};
    switch (e.kind) {
      case Kind::kPerson: {
        text = absl::StrCat(e.name, " is a ", e.subtype, " born in ", e.year, ". ", e.name,
                            " was born in the city of ", name(e.city), ". ");
        mentions.push_back(e.city);
        if (e.org >= 0) {
          absl::StrAppend(&text, e.name, " has worked for ", name(e.org), ". ");
          mentions.push_back(e.org);
        }
        if (e.spouse >= 0) {
          absl::StrAppend(&text, e.name, " is married to ", name(e.spouse), ". ");
          mentions.push_back(e.spouse);
        }
        break;
      }
      case Kind::kCity:
        text = absl::StrCat(e.name, " is a city located in ", name(e.country), ". ", e.name,
                            " was founded in ", e.year, ". ");
        mentions.push_back(e.country);
        break;
      case Kind::kCountry:
        text = absl::StrCat(e.name, " is a country in ", e.continent, ". The capital of ", e.name,
                            " is ", name(e.capital), ". The official language of ", e.name,
                            " is ", e.language, ". ", e.name, " became independent in ", e.year,
                            ". ");
        mentions.push_back(e.capital);
        break;
      case Kind::kOrg:
        text = absl::StrCat(e.name, " is a ", e.subtype, " founded in ", e.year, " by ",
                            name(e.person), ". ", e.name, " is headquartered in ", name(e.city),
                            ". ");
        mentions.push_back(e.person);
        mentions.push_back(e.city);
        break;
      case Kind::kWork: {
        const char* verb = "made";
        for (const Craft& c : kCrafts) {
          if (e.subtype == c.work) verb = c.verb;
        }
        text = absl::StrCat(e.name, " is a ", e.subtype, " released in ", e.year, ". ", e.name,
                            " was ", verb, " by ", name(e.person), ". ");
        mentions.push_back(e.person);
        break;
      }
    }
    text += rng.Pick(kFillers);
    e.doc = AddDoc(e.name, std::move(text), std::move(mentions));
  }

  // Distractors: documents that name entities next to plausible but wrong
  // values (other years, other cities), so retrieval has to rank the
  // entity's own page above pages that merely mention it.
  const auto& people = OfKind(Kind::kPerson);
  const auto& cities = OfKind(Kind::kCity);
  const auto& orgs = OfKind(Kind::kOrg);
  const auto& works = OfKind(Kind::kWork);
  const int distractors = static_cast<int>(entities_.size() / 3);
  for (int i = 0; i < distractors; ++i) {
    const int year = static_cast<int>(rng.UniformInt(1900, 2023));
    switch (rng.Uniform(5)) {
      case 0: {
        int c = cities[SkewedPick(rng, static_cast<int>(cities.size()))];
        AddDoc(absl::StrCat(name(c), " Marathon"),
               absl::StrCat("The ", name(c), " Marathon has been run through the streets of ",
                            name(c), " every spring since ", year,
                            ". Thousands of runners take part each year."),
               {c});
        break;
      }
      case 1: {
        int p = people[SkewedPick(rng, static_cast<int>(people.size()))];
        int o = orgs[rng.Uniform(orgs.size())];
        AddDoc(absl::StrCat(name(p), " Prize"),
               absl::StrCat("The ", name(p), " Prize is an award named in honour of ", name(p),
                            ". It has been presented by ", name(o), " since ", year, "."),
               {p, o});
        break;
      }
      case 2: {
        int w = works[SkewedPick(rng, static_cast<int>(works.size()))];
        AddDoc(absl::StrCat(name(w), " (documentary)"),
               absl::StrCat("A documentary about the making of ", name(w), " was first shown in ",
                            year, ". It features interviews with people who knew the ",
                            entities_[w].subtype, "."),
               {w});
        break;
      }
      case 3: {
        int o = orgs[SkewedPick(rng, static_cast<int>(orgs.size()))];
        int c = cities[rng.Uniform(cities.size())];
        AddDoc(absl::StrCat(name(o), " annual report ", year),
               absl::StrCat("In ", year, ", ", name(o), " opened a regional office in ", name(c),
                            ". The annual report lists its projects for the year."),
               {o, c});
        break;
      }
      default: {
        int p = people[SkewedPick(rng, static_cast<int>(people.size()))];
        int c = cities[rng.Uniform(cities.size())];
        AddDoc(absl::StrCat("Statue of ", name(p)),
               absl::StrCat("A bronze statue of ", name(p), " was unveiled in ", name(c), " in ",
                            year, ". The statue stands near the old market."),
               {p, c});
      }
    }
  }
}

int KnowledgeBase::FindDoc(std::string_view id) const {
  if (!id.empty() && (id[0] == 'd' || id[0] == 'D')) id.remove_prefix(1);
  if (id.empty() || id.size() > 9) return -1;
  int value = 0;
  for (char c : id) {
    if (c < '0' || c > '9') return -1;
    value = value * 10 + (c - '0');
  }
  return value < static_cast<int>(docs_.size()) ? value : -1;
}

int KnowledgeBase::Follow(int subject, Relation relation) const {
  const Entity& e = entities_[subject];
  switch (relation) {
    case Relation::kCreator: return e.kind == Kind::kWork ? e.person : -1;
    case Relation::kBirthCity: return e.kind == Kind::kPerson ? e.city : -1;
    case Relation::kEmployer: return e.kind == Kind::kPerson ? e.org : -1;
    case Relation::kSpouse: return e.kind == Kind::kPerson ? e.spouse : -1;
    case Relation::kFounder: return e.kind == Kind::kOrg ? e.person : -1;
    case Relation::kHeadquarters: return e.kind == Kind::kOrg ? e.city : -1;
    case Relation::kCountry: return e.kind == Kind::kCity ? e.country : -1;
    case Relation::kCapital: return e.kind == Kind::kCountry ? e.capital : -1;
  }
  return -1;
}

std::string KnowledgeBase::Value(int subject, Attribute attribute) const {
  const Entity& e = entities_[subject];
  switch (attribute) {
    case Attribute::kYear: return std::to_string(e.year);
    case Attribute::kOccupation: return e.kind == Kind::kPerson ? e.subtype : "";
    case Attribute::kContinent: return e.continent;
    case Attribute::kLanguage: return e.language;
    case Attribute::kSubtype: return e.subtype;
  }
  return "";
}

size_t KnowledgeBase::ApproxBytes() const {
  size_t bytes = index_.ApproxBytes() + entities_.capacity() * sizeof(Entity);
  for (const Document& d : docs_) {
    bytes += sizeof(d) + d.id.capacity() + d.title.capacity() + d.text.capacity() +
             d.mentions.capacity() * sizeof(int);
  }
  return bytes;
}

}  // namespace agentgym::env::searchqa
