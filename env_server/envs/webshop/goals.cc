#include "env_server/envs/webshop/goals.h"

#include <algorithm>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/det_random.h"

namespace agentgym::env::webshop {
namespace {

bool IsTestFingerprint(uint64_t fp) { return fp % 10 == 0; }

std::string JoinWithAnd(const std::vector<std::string>& items) {
  if (items.size() <= 1) return items.empty() ? "" : items[0];
  return absl::StrCat(absl::StrJoin(items.begin(), items.end() - 1, ", "), " and ",
                      items.back());
}

std::string RenderInstruction(const ProductTypeSpec& type, const Goal& goal, DetRng& rng) {
  const std::string_view name = type.name;
  const bool plural = name.back() == 's';
  const bool vowel = std::string_view("aeiou").find(name.front()) != std::string_view::npos;
  const std::string noun =
      plural ? std::string(name) : absl::StrCat(vowel ? "an " : "a ", std::string(name));
  const char* verb = plural ? "are" : "is";
  std::vector<std::string> attributes, options;
  for (int a : goal.attributes) attributes.push_back(type.attributes[a]);
  for (size_t d = 0; d < goal.options.size(); ++d) {
    options.push_back(absl::StrCat(type.options[d].dimension, " ",
                                   type.options[d].values[goal.options[d]]));
  }
  const std::string cap = absl::StrFormat("%d.%02d", goal.price_cap_cents / 100,
                                          goal.price_cap_cents % 100);
  const std::string attrs = JoinWithAnd(attributes);
  const std::string opts = JoinWithAnd(options);
  switch (rng.Uniform(3)) {
    case 0:
      return absl::StrCat("i am looking for ", noun, " that ", verb, " ", attrs, ", with ", opts,
                          ", and price lower than ", cap, " dollars");
    case 1:
      return absl::StrCat("i need ", noun, " that ", verb, " ", attrs, ". i want ", opts,
                          ", and it should cost less than ", cap, " dollars");
    default:
      return absl::StrCat("find me ", noun, " that ", verb, " ", attrs, ", in ", opts,
                          ", priced under ", cap, " dollars");
  }
}

bool HasAttribute(const Catalog& catalog, const Product& p, std::string_view phrase) {
  const ProductTypeSpec& type = catalog.TypeOf(p);
  for (int a : p.attributes) {
    if (type.attributes[a] == phrase) return true;
  }
  return false;
}

}  // namespace

uint64_t GoalFingerprint(const Goal& goal) {
  return DetRng::Hash(absl::StrCat(goal.category, "/", goal.type, "|",
                                   absl::StrJoin(goal.attributes, ","), "|",
                                   absl::StrJoin(goal.options, ","), "|", goal.price_cap_cents));
}

absl::StatusOr<GoalSet> BuildGoals(const Catalog& catalog, int category, int64_t train_count,
                                   int64_t test_count) {
  const std::vector<int>& products = catalog.OfCategory(category);
  GoalSet set;
  absl::flat_hash_set<uint64_t> seen;
  const uint64_t base = DetRng::Hash(absl::StrCat("webshop/goals/", category));
  const int64_t max_candidates = 100 * (train_count + test_count) + 1000;
  for (int64_t c = 0; c < max_candidates; ++c) {
    if (static_cast<int64_t>(set.train.size()) == train_count &&
        static_cast<int64_t>(set.test.size()) == test_count) {
      return set;
    }
    DetRng rng(DetRng::Mix(base, static_cast<uint64_t>(c)));
    Goal goal;
    goal.category = category;
    goal.target = products[rng.Uniform(products.size())];
    const Product& target = catalog.product(goal.target);
    const ProductTypeSpec& type = catalog.TypeOf(target);
    goal.type = target.type;
    std::vector<int> attributes = target.attributes;
    rng.Shuffle(attributes);
    attributes.resize(rng.UniformInt(1, std::min<int64_t>(3, attributes.size())));
    std::sort(attributes.begin(), attributes.end());
    goal.attributes = std::move(attributes);
    for (const std::vector<int>& offered : target.options) {
      goal.options.push_back(offered[rng.Uniform(offered.size())]);
    }
    // A cap 0-60% above the price, rounded up to whole ten dollars.
    const double headroom = 1.0 + 0.6 * rng.UniformDouble();
    const int64_t raw = static_cast<int64_t>(static_cast<double>(target.price_cents) * headroom);
    goal.price_cap_cents = (raw / 1000 + 1) * 1000;
    const uint64_t fingerprint = GoalFingerprint(goal);
    std::vector<Goal>& split = IsTestFingerprint(fingerprint) ? set.test : set.train;
    const int64_t wanted = IsTestFingerprint(fingerprint) ? test_count : train_count;
    if (static_cast<int64_t>(split.size()) == wanted || seen.contains(fingerprint)) continue;

    std::vector<std::string> words;
    for (int a : goal.attributes) words.push_back(type.attributes[a]);
    words.push_back(type.name);
    goal.query = absl::StrJoin(words, " ");
    bool findable = false;
    for (int p : catalog.Search(goal.query, kMaxResults)) {
      findable = findable || Satisfies(catalog, goal, p);
    }
    if (!findable) continue;
    goal.instruction = RenderInstruction(type, goal, rng);
    seen.insert(fingerprint);
    split.push_back(std::move(goal));
  }
  if (static_cast<int64_t>(set.train.size()) == train_count &&
      static_cast<int64_t>(set.test.size()) == test_count) {
    return set;
  }
  return absl::InternalError(absl::StrCat("webshop: category ", category, " yields only ",
                                          set.train.size(), " train and ", set.test.size(),
                                          " test goals"));
}

bool Satisfies(const Catalog& catalog, const Goal& goal, int product) {
  const Product& p = catalog.product(product);
  if (p.category != goal.category || p.type != goal.type) return false;
  if (p.price_cents > goal.price_cap_cents) return false;
  for (int a : goal.attributes) {
    if (!std::binary_search(p.attributes.begin(), p.attributes.end(), a)) return false;
  }
  for (size_t d = 0; d < goal.options.size(); ++d) {
    if (std::find(p.options[d].begin(), p.options[d].end(), goal.options[d]) ==
        p.options[d].end()) {
      return false;
    }
  }
  return true;
}

RewardBreakdown ScorePurchase(const Catalog& catalog, const Goal& goal, const Purchase& purchase) {
  RewardBreakdown r;
  const Product& bought = catalog.product(purchase.product);
  const ProductTypeSpec& bought_type = catalog.TypeOf(bought);
  const ProductTypeSpec& goal_type = CategorySpecs()[goal.category].types[goal.type];
  if (bought.category == goal.category) r.type_match = bought.type == goal.type ? 1.0 : 0.5;
  for (int a : goal.attributes) {
    r.attributes_matched += HasAttribute(catalog, bought, goal_type.attributes[a]) ? 1 : 0;
  }
  for (size_t d = 0; d < goal.options.size(); ++d) {
    const std::string_view dimension = goal_type.options[d].dimension;
    const std::string_view wanted = goal_type.options[d].values[goal.options[d]];
    for (size_t bd = 0; bd < bought_type.options.size() && bd < purchase.selected.size(); ++bd) {
      if (purchase.selected[bd] >= 0 && bought_type.options[bd].dimension == dimension &&
          bought_type.options[bd].values[purchase.selected[bd]] == wanted) {
        ++r.options_matched;
      }
    }
  }
  r.price_ok = bought.price_cents <= goal.price_cap_cents;
  const int total = static_cast<int>(goal.attributes.size() + goal.options.size()) + 1;
  r.reward = r.type_match * (r.attributes_matched + r.options_matched + (r.price_ok ? 1 : 0)) /
             static_cast<double>(total);
  r.success = r.type_match == 1.0 &&
              r.attributes_matched == static_cast<int>(goal.attributes.size()) &&
              r.options_matched == static_cast<int>(goal.options.size()) && r.price_ok;
  if (r.success) r.reward = 1.0;
  return r;
}

}  // namespace agentgym::env::webshop
