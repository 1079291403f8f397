#ifndef AGENTGYM_ENV_SERVER_ENVS_SEARCHQA_KNOWLEDGE_BASE_H_
#define AGENTGYM_ENV_SERVER_ENVS_SEARCHQA_KNOWLEDGE_BASE_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "env_server/envs/searchqa/bm25.h"

namespace agentgym::env::searchqa {

enum class Kind { kPerson = 0, kCity, kCountry, kOrg, kWork };
constexpr int kNumKinds = 5;

// Relations between entities; each is stated in the subject's document only,
// so a chain of n relations needs n documents.
enum class Relation {
  kCreator,    // work -> person
  kBirthCity,  // person -> city
  kEmployer,   // person -> org
  kSpouse,     // person -> person
  kFounder,    // org -> person
  kHeadquarters,  // org -> city
  kCountry,    // city -> country
  kCapital,    // country -> city
};

// Facts whose value is text (a year, an occupation, ...).
enum class Attribute {
  kYear,        // birth / founding / release / independence year
  kOccupation,  // person
  kContinent,   // country
  kLanguage,    // country
  kSubtype,     // org kind ("university") or work kind ("novel")
};

struct Entity {
  Kind kind = Kind::kPerson;
  std::string name;
  std::string subtype;  // occupation, org kind or work kind
  int year = 0;
  int city = -1;     // person: birth city; org: headquarters
  int country = -1;  // city
  int capital = -1;  // country
  int person = -1;   // work: creator; org: founder
  int org = -1;      // person: employer
  int spouse = -1;   // person
  std::string continent;
  std::string language;
  int doc = -1;  // the entity's own document
  // Position in its kind's list; lower ranks are referenced more often, which
  // is what "popular" means here (NQ asks about head entities, PopQA tails).
  int rank = 0;
};

struct Document {
  std::string id;  // "d0001"
  std::string title;
  std::string text;
  std::vector<int> mentions;  // entity indices named in the text
};

struct KnowledgeBaseOptions {
  uint64_t seed = 20250917;
  Bm25Options bm25;
};

// The synthetic world: entities, one document per entity plus distractor
// documents that mention entities without stating their facts, and the BM25
// index over all documents.
//
// Immutable after Build; shared (via shared_ptr<const>) by the environment and
// every episode, so all reads are thread-safe.
class KnowledgeBase {
 public:
  static std::unique_ptr<KnowledgeBase> Build(const KnowledgeBaseOptions& options);

  const std::vector<Entity>& entities() const { return entities_; }
  const Entity& entity(int i) const { return entities_[i]; }
  const std::vector<int>& OfKind(Kind kind) const { return by_kind_[static_cast<int>(kind)]; }
  const std::vector<Document>& docs() const { return docs_; }
  const Bm25Index& index() const { return index_; }
  // Document index for an id like "d0042" (also accepts "42"); -1 if unknown.
  int FindDoc(std::string_view id) const;

  // The entity `relation` leads to from `subject`, or -1 when it has none.
  int Follow(int subject, Relation relation) const;
  // The text value of `attribute` for `subject`, or "" when it has none.
  std::string Value(int subject, Attribute attribute) const;

  size_t ApproxBytes() const;

 private:
  explicit KnowledgeBase(const KnowledgeBaseOptions& options) : index_(options.bm25) {}
  void Generate(uint64_t seed);
  void WriteDocuments(uint64_t seed);
  int AddDoc(std::string title, std::string text, std::vector<int> mentions);

  std::vector<Entity> entities_;
  std::array<std::vector<int>, kNumKinds> by_kind_;
  std::vector<Document> docs_;
  Bm25Index index_;
};

}  // namespace agentgym::env::searchqa

#endif  // AGENTGYM_ENV_SERVER_ENVS_SEARCHQA_KNOWLEDGE_BASE_H_
