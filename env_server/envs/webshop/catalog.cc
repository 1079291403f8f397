#include "env_server/envs/webshop/catalog.h"

#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/det_random.h"

namespace agentgym::env::webshop {
namespace {

constexpr const char* kIdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

constexpr const char* kGenericFeatures[] = {
    "Backed by a 30-day money-back guarantee",
    "Ships in recyclable packaging",
    "Designed and tested in our own studio",
    "Thousands of happy customers",
};

constexpr const char* kReviewTexts[] = {
    "Exactly as described, would buy again.",
    "Good value for the price.",
    "Arrived quickly and works well.",
    "Quality is fine, but the packaging was damaged.",
    "Not bad, though I expected a little more.",
    "My second one; still happy with it.",
};

std::vector<int> SampleSorted(DetRng& rng, int n, int k) {
  std::vector<int> all(n);
  for (int i = 0; i < n; ++i) all[i] = i;
  rng.Shuffle(all);
  all.resize(std::min(n, k));
  std::sort(all.begin(), all.end());
  return all;
}

std::string Capitalize(std::string_view text) {
  std::string out(text);
  if (!out.empty()) out[0] = absl::ascii_toupper(static_cast<unsigned char>(out[0]));
  return out;
}

}  // namespace

std::string FormatPrice(int64_t cents) {
  return absl::StrFormat("$%d.%02d", cents / 100, cents % 100);
}

std::string TitleCase(std::string_view text) {
  std::string out(text);
  bool start = true;
  for (char& c : out) {
    if (start) c = absl::ascii_toupper(static_cast<unsigned char>(c));
    start = c == ' ' || c == '-';
  }
  return out;
}

std::unique_ptr<Catalog> Catalog::Build(uint64_t seed, int products_per_type) {
  std::unique_ptr<Catalog> catalog(new Catalog());
  catalog->Generate(seed, products_per_type);
  return catalog;
}

const ProductTypeSpec& Catalog::TypeOf(const Product& p) const {
  return CategorySpecs()[p.category].types[p.type];
}

void Catalog::Generate(uint64_t seed, int products_per_type) {
  const auto& specs = CategorySpecs();
  by_category_.resize(specs.size());
  DetRng rng(DetRng::Mix(seed, DetRng::Hash("webshop/catalog")));
  for (int c = 0; c < static_cast<int>(specs.size()); ++c) {
    const CategorySpec& category = specs[c];
    for (int t = 0; t < static_cast<int>(category.types.size()); ++t) {
      const ProductTypeSpec& type = category.types[t];
      const int num_attributes = static_cast<int>(type.attributes.size());
      for (int n = 0; n < products_per_type; ++n) {
        Product p;
        do {
          p.id = "B0";
          for (int i = 0; i < 8; ++i) p.id += kIdAlphabet[rng.Uniform(36)];
        } while (by_id_.contains(p.id));
        p.category = c;
        p.type = t;
        p.brand = category.brands[rng.Uniform(category.brands.size())];
        p.attributes = SampleSorted(rng, num_attributes,
                                    static_cast<int>(rng.UniformInt(3, std::min(5, num_attributes))));
        for (const OptionSpec& dim : type.options) {
          const int values = static_cast<int>(dim.values.size());
          p.options.push_back(SampleSorted(rng, values, static_cast<int>(rng.UniformInt(2, values))));
        }
        const int64_t dollars = rng.UniformInt(static_cast<int64_t>(type.price_lo),
                                               static_cast<int64_t>(type.price_hi));
        p.price_cents = dollars * 100 + 99;
        p.rating = static_cast<double>(rng.UniformInt(30, 50)) / 10.0;
        // The title names the brand, up to two of the product's attributes and
        // its type; the rest of the attributes are only in the features, so a
        // shopper has to open the page to check them.
        std::vector<int> shown = p.attributes;
        rng.Shuffle(shown);
        shown.resize(std::min<size_t>(shown.size(), rng.UniformInt(0, 2)));
        std::sort(shown.begin(), shown.end());
        std::vector<std::string> title_words = {p.brand};
        for (int a : shown) title_words.push_back(TitleCase(type.attributes[a]));
        title_words.push_back(TitleCase(type.name));
        p.title = absl::StrJoin(title_words, " ");
        for (int a : p.attributes) p.features.push_back(Capitalize(type.attributes[a]));
        p.features.push_back(kGenericFeatures[rng.Uniform(std::size(kGenericFeatures))]);
        std::vector<std::string> offered;
        for (size_t d = 0; d < type.options.size(); ++d) {
          std::vector<std::string> values;
          for (int v : p.options[d]) values.push_back(type.options[d].values[v]);
          offered.push_back(absl::StrCat(type.options[d].dimension, " ",
                                         absl::StrJoin(values, ", ")));
        }
        p.description = absl::StrCat("The ", p.brand, " ", type.name, " is made for everyday use. ",
                                     "Available in ", absl::StrJoin(offered, "; "), ".");
        for (int r = 0; r < 2; ++r) {
          const int stars = static_cast<int>(
              std::clamp<int64_t>(std::lround(p.rating) + rng.UniformInt(-1, 0), 1, 5));
          p.reviews.push_back(absl::StrCat(stars, " out of 5 stars: ",
                                           kReviewTexts[rng.Uniform(std::size(kReviewTexts))]));
        }
        std::vector<std::string> attribute_text;
        for (int a : p.attributes) attribute_text.push_back(type.attributes[a]);
        const int32_t doc = index_.AddDocument(absl::StrCat(
            p.title, " ", type.name, " ", category.name, " ", absl::StrJoin(attribute_text, " "),
            " ", p.description));
        by_id_[p.id] = doc;
        by_category_[c].push_back(doc);
        products_.push_back(std::move(p));
      }
    }
  }
  index_.Finalize();
}

int Catalog::FindProduct(std::string_view id) const {
  auto it = by_id_.find(absl::AsciiStrToUpper(std::string(id)));
  return it == by_id_.end() ? -1 : it->second;
}

std::vector<int> Catalog::Search(std::string_view query, int k) const {
  std::vector<int> out;
  for (const searchqa::Bm25Hit& hit : index_.Search(query, k)) out.push_back(hit.doc);
  return out;
}

size_t Catalog::ApproxBytes() const {
  size_t bytes = index_.ApproxBytes() + by_id_.size() * 48;
  for (const Product& p : products_) {
    bytes += sizeof(Product) + p.title.capacity() + p.description.capacity() +
             p.attributes.capacity() * sizeof(int);
    for (const auto& f : p.features) bytes += sizeof(f) + f.capacity();
    for (const auto& r : p.reviews) bytes += sizeof(r) + r.capacity();
    for (const auto& o : p.options) bytes += sizeof(o) + o.capacity() * sizeof(int);
  }
  return bytes;
}

}  // namespace agentgym::env::webshop
