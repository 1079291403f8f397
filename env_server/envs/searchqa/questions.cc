#include "env_server/envs/searchqa/questions.h"

#include <algorithm>
#include <functional>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/det_random.h"
#include "env_server/envs/searchqa/answer_match.h"

namespace agentgym::env::searchqa {
namespace {

constexpr int kPoolTarget = 1600;  // candidates kept per type before the split
constexpr int kAttempts = 40000;
constexpr int kMaxTest = 200;

const char* YearKeyword(Kind kind) {
  switch (kind) {
    case Kind::kPerson: return "born";
    case Kind::kWork: return "released";
    case Kind::kCountry: return "independent";
    default: return "founded";
  }
}

const char* RelationKeyword(Relation r) {
  switch (r) {
    case Relation::kCreator: return "";
    case Relation::kBirthCity: return "born city";
    case Relation::kEmployer: return "worked for";
    case Relation::kSpouse: return "married to";
    case Relation::kFounder: return "founded by";
    case Relation::kHeadquarters: return "headquartered in";
    case Relation::kCountry: return "city located in";
    case Relation::kCapital: return "capital";
  }
  return "";
}

// Generates candidate questions for one type and keeps the distinct ones.
class Builder {
 public:
  Builder(const KnowledgeBase& kb, uint64_t seed) : kb_(kb), rng_(seed) {
    mentioned_in_.resize(kb.entities().size());
    for (size_t d = 0; d < kb.docs().size(); ++d) {
      for (int e : kb.docs()[d].mentions) mentioned_in_[e].push_back(static_cast<int>(d));
    }
  }

  DetRng& rng() { return rng_; }
  const KnowledgeBase& kb() const { return kb_; }
  const Entity& E(int i) const { return kb_.entity(i); }
  const std::string& N(int i) const { return kb_.entity(i).name; }

  // Entities of `kind` by popularity: head = first third of the ranks.
  int Head(Kind kind) {
    const auto& v = kb_.OfKind(kind);
    return v[rng_.Uniform(std::max<size_t>(1, v.size() / 3))];
  }
  int Tail(Kind kind) {
    const auto& v = kb_.OfKind(kind);
    size_t start = v.size() / 3;
    return v[start + rng_.Uniform(v.size() - start)];
  }
  int Any(Kind kind) { return rng_.Pick(kb_.OfKind(kind)); }

  Lookup L(int subject, std::string_view keyword) const {
    std::string query = N(subject);
    if (!keyword.empty()) absl::StrAppend(&query, " ", std::string(keyword));
    return Lookup{std::move(query), E(subject).doc};
  }
  Lookup Year(int subject) const { return L(subject, YearKeyword(E(subject).kind)); }
  Lookup Rel(int subject, Relation r) const { return L(subject, RelationKeyword(r)); }

  std::string Role(int work) const {
    const std::string& k = E(work).subtype;
    if (k == "novel") return "author";
    if (k == "film") return "director";
    if (k == "album") return "performer";
    return "painter";
  }
  std::string Verb(int work) const {
    const std::string& k = E(work).subtype;
    if (k == "novel") return "wrote";
    if (k == "film") return "directed";
    if (k == "album") return "recorded";
    return "painted";
  }

  // True when some single document names `subject` and also contains the
  // answer: such a question can be answered from one passage.
  bool OnePassageAnswers(int subject, const std::string& answer) const {
    const std::string want = NormalizeAnswer(answer);
    for (int d : mentioned_in_[subject]) {
      const Document& doc = kb_.docs()[d];
      if (NormalizeAnswer(doc.title + " " + doc.text).find(want) != std::string::npos) return true;
    }
    return false;
  }

  void Run(const std::function<std::optional<Question>()>& make) {
    for (int i = 0; i < kAttempts && static_cast<int>(pool_.size()) < kPoolTarget; ++i) {
      std::optional<Question> q = make();
      if (q && seen_.insert(q->text).second) pool_.push_back(std::move(*q));
    }
  }

  QuestionSet Split(std::string type, std::string description) {
    QuestionSet set;
    set.type = std::move(type);
    set.description = std::move(description);
    // Candidates come out in random order already; the first sixth is test.
    const size_t test = std::min<size_t>(kMaxTest, pool_.size() / 6);
    set.test.assign(pool_.begin(), pool_.begin() + test);
    set.train.assign(pool_.begin() + test, pool_.end());
    for (const Question& q : pool_) {
      set.max_hops = std::max(set.max_hops, static_cast<int>(q.lookups.size()));
    }
    return set;
  }

 private:
  const KnowledgeBase& kb_;
  DetRng rng_;
  std::vector<std::vector<int>> mentioned_in_;
  absl::flat_hash_set<std::string> seen_;
  std::vector<Question> pool_;
};

using Q = std::optional<Question>;

Q Make(std::string text, std::string answer, std::vector<Lookup> lookups) {
  return Question{std::move(text), std::move(answer), std::move(lookups)};
}

QuestionSet Nq(const KnowledgeBase& kb, uint64_t seed) {
  Builder b(kb, seed);
  b.Run([&]() -> Q {
    switch (b.rng().Uniform(7)) {
      case 0: {
        int w = b.Head(Kind::kWork);
        return Make(absl::StrCat("who ", b.Verb(w), " ", b.N(w)), b.N(b.E(w).person),
                    {b.L(w, "")});
      }
      case 1: {
        int w = b.Head(Kind::kWork);
        return Make(absl::StrCat("when did ", b.N(w), " come out"), b.kb().Value(w, Attribute::kYear),
                    {b.Year(w)});
      }
      case 2: {
        int o = b.Head(Kind::kOrg);
        return Make(absl::StrCat("who founded ", b.N(o)), b.N(b.E(o).person),
                    {b.Rel(o, Relation::kFounder)});
      }
      case 3: {
        int o = b.Head(Kind::kOrg);
        return Make(absl::StrCat("where is ", b.N(o), " headquartered"), b.N(b.E(o).city),
                    {b.Rel(o, Relation::kHeadquarters)});
      }
      case 4: {
        int c = b.Head(Kind::kCountry);
        return Make(absl::StrCat("what is the capital city of ", b.N(c)), b.N(b.E(c).capital),
                    {b.Rel(c, Relation::kCapital)});
      }
      case 5: {
        int p = b.Head(Kind::kPerson);
        return Make(absl::StrCat("where was ", b.N(p), " born"), b.N(b.E(p).city),
                    {b.Rel(p, Relation::kBirthCity)});
      }
      default: {
        int p = b.Head(Kind::kPerson);
        return Make(absl::StrCat("when was ", b.N(p), " born"), b.kb().Value(p, Attribute::kYear),
                    {b.Year(p)});
      }
    }
  });
  return b.Split("nq", "Natural Questions style: short lowercase single-hop queries about "
                       "popular entities");
}

QuestionSet TriviaQa(const KnowledgeBase& kb, uint64_t seed) {
  // (occupation, city, year) and (org kind, year, founder) must pick out one
  // entity for the trivia clues to have a single answer.
  absl::flat_hash_map<std::string, int> person_clues, org_clues;
  auto person_key = [&](int p) {
    const Entity& e = kb.entity(p);
    return absl::StrCat(e.subtype, "|", e.city, "|", e.year);
  };
  auto org_key = [&](int o) {
    const Entity& e = kb.entity(o);
    return absl::StrCat(e.subtype, "|", e.person, "|", e.year);
  };
  for (int p : kb.OfKind(Kind::kPerson)) ++person_clues[person_key(p)];
  for (int o : kb.OfKind(Kind::kOrg)) ++org_clues[org_key(o)];
  Builder b(kb, seed);
  b.Run([&]() -> Q {
    switch (b.rng().Uniform(5)) {
      case 0: {
        int p = b.Any(Kind::kPerson);
        if (person_clues[person_key(p)] != 1) return std::nullopt;
        const Entity& e = b.E(p);
        return Make(absl::StrCat("Which ", e.subtype, " was born in ", b.N(e.city), " in ", e.year,
                                 "?"),
                    e.name, {b.L(p, absl::StrCat(e.subtype, " born ", b.N(e.city)))});
      }
      case 1: {
        int w = b.Any(Kind::kWork);
        const Entity& c = b.E(b.E(w).person);
        return Make(absl::StrCat("The ", b.E(w).subtype, " '", b.N(w),
                                 "' was the work of which ", c.subtype, "?"),
                    c.name, {b.L(w, "")});
      }
      case 2: {
        int c = b.Any(Kind::kCity);
        return Make(absl::StrCat(b.N(c), ", founded in ", b.E(c).year,
                                 ", is a city in which country?"),
                    b.N(b.E(c).country), {b.Rel(c, Relation::kCountry)});
      }
      case 3: {
        int o = b.Any(Kind::kOrg);
        if (org_clues[org_key(o)] != 1) return std::nullopt;
        const Entity& e = b.E(o);
        return Make(absl::StrCat("Which ", e.subtype, " was founded in ", e.year, " by ",
                                 b.N(e.person), "?"),
                    e.name, {b.L(e.person, absl::StrCat("founded ", e.subtype, " ", e.year))});
      }
      default: {
        int c = b.Any(Kind::kCountry);
        return Make(absl::StrCat("In which year did ", b.N(c), " become independent?"),
                    b.kb().Value(c, Attribute::kYear), {b.Year(c)});
      }
    }
  });
  return b.Split("triviaqa", "TriviaQA style: quiz questions whose clues identify one entity");
}

QuestionSet PopQa(const KnowledgeBase& kb, uint64_t seed) {
  Builder b(kb, seed);
  b.Run([&]() -> Q {
    switch (b.rng().Uniform(6)) {
      case 0: {
        int p = b.Tail(Kind::kPerson);
        return Make(absl::StrCat("What is ", b.N(p), "'s occupation?"), b.E(p).subtype,
                    {b.L(p, "")});
      }
      case 1: {
        int p = b.Tail(Kind::kPerson);
        return Make(absl::StrCat("In what city was ", b.N(p), " born?"), b.N(b.E(p).city),
                    {b.Rel(p, Relation::kBirthCity)});
      }
      case 2: {
        int c = b.Tail(Kind::kCity);
        return Make(absl::StrCat("In what country is ", b.N(c), "?"), b.N(b.E(c).country),
                    {b.Rel(c, Relation::kCountry)});
      }
      case 3: {
        int w = b.Tail(Kind::kWork);
        return Make(absl::StrCat("Who was the ", b.Role(w), " of ", b.N(w), "?"),
                    b.N(b.E(w).person), {b.L(w, "")});
      }
      case 4: {
        int o = b.Tail(Kind::kOrg);
        return Make(absl::StrCat("Who was the founder of ", b.N(o), "?"), b.N(b.E(o).person),
                    {b.Rel(o, Relation::kFounder)});
      }
      default: {
        int c = b.Tail(Kind::kCountry);
        return Make(absl::StrCat("What is the official language of ", b.N(c), "?"),
                    b.E(c).language, {b.L(c, "official language")});
      }
    }
  });
  return b.Split("popqa", "PopQA style: templated single-hop questions about long-tail entities");
}

// "Who/which came first" between two entities of a kind with distinct years.
Q Earlier(Builder& b, Kind kind, const std::string& lead) {
  int x = b.Any(kind);
  int y = b.Any(kind);
  if (x == y || b.E(x).year == b.E(y).year) return std::nullopt;
  int first = b.E(x).year < b.E(y).year ? x : y;
  return Make(absl::StrCat(lead, ", ", b.N(x), " or ", b.N(y), "?"), b.N(first),
              {b.Year(x), b.Year(y)});
}

QuestionSet HotpotQa(const KnowledgeBase& kb, uint64_t seed) {
  Builder b(kb, seed);
  b.Run([&]() -> Q {
    switch (b.rng().Uniform(7)) {
      case 0: {
        int o = b.Any(Kind::kOrg);
        int f = b.E(o).person;
        return Make(absl::StrCat("In which year was the founder of ", b.N(o), " born?"),
                    b.kb().Value(f, Attribute::kYear), {b.Rel(o, Relation::kFounder), b.Year(f)});
      }
      case 1: {
        int w = b.Any(Kind::kWork);
        int p = b.E(w).person;
        return Make(absl::StrCat("In which city was the ", b.Role(w), " of ", b.N(w), " born?"),
                    b.N(b.E(p).city), {b.L(w, ""), b.Rel(p, Relation::kBirthCity)});
      }
      case 2: {
        int w = b.Any(Kind::kWork);
        int p = b.E(w).person;
        if (b.E(p).org < 0) return std::nullopt;
        return Make(absl::StrCat("The ", b.Role(w), " of ", b.N(w),
                                 " has worked for which organisation?"),
                    b.N(b.E(p).org), {b.L(w, ""), b.Rel(p, Relation::kEmployer)});
      }
      case 3: {
        int o = b.Any(Kind::kOrg);
        int c = b.E(o).city;
        return Make(absl::StrCat("In which country is ", b.N(o), " headquartered?"),
                    b.N(b.E(c).country),
                    {b.Rel(o, Relation::kHeadquarters), b.Rel(c, Relation::kCountry)});
      }
      case 4: return Earlier(b, Kind::kPerson, "Who was born first");
      case 5: return Earlier(b, Kind::kOrg, "Which was founded earlier");
      default: return Earlier(b, Kind::kWork, "Which was released first");
    }
  });
  return b.Split("hotpotqa", "HotpotQA style: two-hop bridge and comparison questions");
}

QuestionSet TwoWiki(const KnowledgeBase& kb, uint64_t seed) {
  Builder b(kb, seed);
  auto film = [&]() -> int {
    for (;;) {
      int w = b.Any(Kind::kWork);
      if (b.E(w).subtype == "film") return w;
    }
  };
  b.Run([&]() -> Q {
    switch (b.rng().Uniform(6)) {
      case 0: {
        int x = b.Any(Kind::kPerson);
        int y = b.Any(Kind::kPerson);
        // Half the pairs share a country so "yes" is as common as "no".
        if (b.rng().Bernoulli(0.5)) {
          for (int tries = 0; tries < 50; ++tries) {
            int z = b.Any(Kind::kPerson);
            if (z != x && b.E(b.E(z).city).country == b.E(b.E(x).city).country) {
              y = z;
              break;
            }
          }
        }
        if (x == y) return std::nullopt;
        int cx = b.E(x).city, cy = b.E(y).city;
        bool same = b.E(cx).country == b.E(cy).country;
        return Make(absl::StrCat("Are ", b.N(x), " and ", b.N(y), " from the same country?"),
                    same ? "yes" : "no",
                    {b.Rel(x, Relation::kBirthCity), b.Rel(cx, Relation::kCountry),
                     b.Rel(y, Relation::kBirthCity), b.Rel(cy, Relation::kCountry)});
      }
      case 1: {
        int x = film(), y = film();
        if (x == y || b.E(x).year == b.E(y).year) return std::nullopt;
        return Make(absl::StrCat("Which film came out first, ", b.N(x), " or ", b.N(y), "?"),
                    b.N(b.E(x).year < b.E(y).year ? x : y), {b.Year(x), b.Year(y)});
      }
      case 2: {
        int x = b.Any(Kind::kPerson);
        int y = b.Any(Kind::kPerson);
        if (x == y) return std::nullopt;
        return Make(absl::StrCat("Do ", b.N(x), " and ", b.N(y), " have the same occupation?"),
                    b.E(x).subtype == b.E(y).subtype ? "yes" : "no", {b.L(x, ""), b.L(y, "")});
      }
      case 3: {
        int f = film();
        int d = b.E(f).person;
        return Make(absl::StrCat("Where was the director of film ", b.N(f), " born?"),
                    b.N(b.E(d).city), {b.L(f, ""), b.Rel(d, Relation::kBirthCity)});
      }
      case 4: {
        int w = b.Any(Kind::kWork);
        int p = b.E(w).person;
        if (b.E(p).spouse < 0) return std::nullopt;
        return Make(absl::StrCat("Who is the spouse of the ", b.Role(w), " of ", b.N(w), "?"),
                    b.N(b.E(p).spouse), {b.L(w, ""), b.Rel(p, Relation::kSpouse)});
      }
      default: {
        int f = film();
        int d = b.E(f).person;
        int c = b.E(d).city;
        return Make(absl::StrCat("Which country was the director of film ", b.N(f), " born in?"),
                    b.N(b.E(c).country),
                    {b.L(f, ""), b.Rel(d, Relation::kBirthCity), b.Rel(c, Relation::kCountry)});
      }
    }
  });
  return b.Split("2wiki", "2WikiMultihopQA style: comparison and compositional questions");
}

// MuSiQue: a random walk of 1-3 relations from a start entity, ended by an
// attribute or by naming the entity reached: 2-4 hops in all.
QuestionSet Musique(const KnowledgeBase& kb, uint64_t seed) {
  Builder b(kb, seed);
  auto relations_of = [](Kind kind) -> std::vector<Relation> {
    switch (kind) {
      case Kind::kWork: return {Relation::kCreator};
      case Kind::kPerson: return {Relation::kBirthCity, Relation::kEmployer, Relation::kSpouse};
      case Kind::kOrg: return {Relation::kFounder, Relation::kHeadquarters};
      case Kind::kCity: return {Relation::kCountry};
      case Kind::kCountry: return {Relation::kCapital};
    }
    return {};
  };
  auto describe = [&](Relation r, const std::string& inner, int subject) -> std::string {
    switch (r) {
      case Relation::kCreator: return absl::StrCat("the ", b.Role(subject), " of ", inner);
      case Relation::kBirthCity: return "the birthplace of " + inner;
      case Relation::kEmployer: return "the employer of " + inner;
      case Relation::kSpouse: return "the spouse of " + inner;
      case Relation::kFounder: return "the founder of " + inner;
      case Relation::kHeadquarters: return "the city where " + inner + " is headquartered";
      case Relation::kCountry: return "the country containing " + inner;
      case Relation::kCapital: return "the capital of " + inner;
    }
    return inner;
  };
  b.Run([&]() -> Q {
    static const Kind kStarts[] = {Kind::kWork, Kind::kPerson, Kind::kOrg, Kind::kCity};
    int at = b.Any(kStarts[b.rng().Uniform(4)]);
    const int hops = static_cast<int>(b.rng().UniformInt(2, 4));
    const bool attribute_end = b.rng().Bernoulli(0.6);
    const int walk = attribute_end ? hops - 1 : hops;
    std::string desc = b.N(at);
    std::vector<Lookup> lookups;
    std::vector<int> visited = {at};
    for (int i = 0; i < walk; ++i) {
      std::vector<Relation> rels = relations_of(b.E(at).kind);
      Relation r = b.rng().Pick(rels);
      int next = kb.Follow(at, r);
      if (next < 0 || std::find(visited.begin(), visited.end(), next) != visited.end()) {
        return std::nullopt;
      }
      lookups.push_back(b.Rel(at, r));
      desc = describe(r, desc, at);
      at = next;
      visited.push_back(at);
    }
    if (!attribute_end) {
      // The last hop names the entity; its own page is not needed.
      const char* lead = b.E(at).kind == Kind::kPerson ? "Who is " : "What is the name of ";
      return Make(absl::StrCat(lead, desc, "?"), b.N(at), std::move(lookups));
    }
    const Entity& e = b.E(at);
    switch (e.kind) {
      case Kind::kPerson:
        lookups.push_back(b.Year(at));
        return Make(absl::StrCat("In what year was ", desc, " born?"), std::to_string(e.year),
                    std::move(lookups));
      case Kind::kCountry:
        lookups.push_back(b.L(at, "continent"));
        return Make(absl::StrCat("On which continent is ", desc, "?"), e.continent,
                    std::move(lookups));
      default:
        if (e.kind == Kind::kWork) return std::nullopt;
        lookups.push_back(b.Year(at));
        return Make(absl::StrCat("In what year was ", desc, " founded?"), std::to_string(e.year),
                    std::move(lookups));
    }
  });
  return b.Split("musique", "MuSiQue style: compositional questions of 2-4 hops");
}

QuestionSet Bamboogle(const KnowledgeBase& kb, uint64_t seed) {
  Builder b(kb, seed);
  b.Run([&]() -> Q {
    Q q;
    int subject = -1;
    switch (b.rng().Uniform(5)) {
      case 0: {
        int p = b.Any(Kind::kPerson);
        int c = b.E(p).city;
        int k = b.E(c).country;
        subject = p;
        q = Make(absl::StrCat("What is the official language of the country where ", b.N(p),
                              " was born?"),
                 b.E(k).language,
                 {b.Rel(p, Relation::kBirthCity), b.Rel(c, Relation::kCountry),
                  b.L(k, "official language")});
        break;
      }
      case 1: {
        int p = b.Any(Kind::kPerson);
        int c = b.E(p).city;
        subject = p;
        q = Make(absl::StrCat("In what year was the hometown of ", b.N(p), " founded?"),
                 std::to_string(b.E(c).year), {b.Rel(p, Relation::kBirthCity), b.Year(c)});
        break;
      }
      case 2: {
        int p = b.Any(Kind::kPerson);
        int o = b.E(p).org;
        if (o < 0) return std::nullopt;
        subject = p;
        q = Make(absl::StrCat("Who founded the organisation that ", b.N(p), " has worked for?"),
                 b.N(b.E(o).person), {b.Rel(p, Relation::kEmployer), b.Rel(o, Relation::kFounder)});
        break;
      }
      case 3: {
        int w = b.Any(Kind::kWork);
        int p = b.E(w).person;
        int o = b.E(p).org;
        if (o < 0) return std::nullopt;
        subject = w;
        q = Make(absl::StrCat("What year was the employer of the ", b.Role(w), " of ", b.N(w),
                              " founded?"),
                 std::to_string(b.E(o).year),
                 {b.L(w, ""), b.Rel(p, Relation::kEmployer), b.Year(o)});
        break;
      }
      default: {
        int o = b.Any(Kind::kOrg);
        int f = b.E(o).person;
        if (b.E(f).spouse < 0) return std::nullopt;
        subject = o;
        q = Make(absl::StrCat("Who is married to the founder of ", b.N(o), "?"),
                 b.N(b.E(f).spouse), {b.Rel(o, Relation::kFounder), b.Rel(f, Relation::kSpouse)});
      }
    }
    if (b.OnePassageAnswers(subject, q->answer)) return std::nullopt;
    return q;
  });
  return b.Split("bamboogle",
                 "Bamboogle style: compositional questions no single passage answers");
}

}  // namespace

std::vector<QuestionSet> BuildQuestionSets(const KnowledgeBase& kb, uint64_t seed) {
  std::vector<QuestionSet> sets;
  using Fn = QuestionSet (*)(const KnowledgeBase&, uint64_t);
  const std::pair<const char*, Fn> kTypes[] = {
      {"nq", Nq},           {"triviaqa", TriviaQa}, {"popqa", PopQa},        {"hotpotqa", HotpotQa},
      {"2wiki", TwoWiki},   {"musique", Musique},   {"bamboogle", Bamboogle}};
  for (const auto& [name, fn] : kTypes) sets.push_back(fn(kb, DetRng::Mix(seed, DetRng::Hash(name))));
  return sets;
}

}  // namespace agentgym::env::searchqa
