#ifndef AGENTGYM_ENV_SERVER_ENVS_WEBSHOP_CATALOG_H_
#define AGENTGYM_ENV_SERVER_ENVS_WEBSHOP_CATALOG_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "env_server/envs/searchqa/bm25.h"
#include "env_server/envs/webshop/catalog_data.h"

namespace agentgym::env::webshop {

struct Product {
  std::string id;  // ASIN-like, "B0" + 8 of [A-Z0-9]; what click[...] names
  int category = 0;  // index into CategorySpecs()
  int type = 0;      // index into the category's types
  std::string brand;
  std::string title;
  std::vector<int> attributes;            // sorted indices into the type's attributes
  std::vector<std::vector<int>> options;  // per dimension of the type: offered value indices
  int64_t price_cents = 0;
  double rating = 0.0;  // 3.0 .. 5.0
  std::string description;
  std::vector<std::string> features;
  std::vector<std::string> reviews;
};

// The generated shop: products for every (category, type), and a BM25 index
// over their text (title, type, attributes, description).
//
// Immutable after Build and shared (shared_ptr<const>) by the environment and
// every episode, so all reads are thread-safe.
class Catalog {
 public:
  // Deterministic in (seed, products_per_type).
  static std::unique_ptr<Catalog> Build(uint64_t seed, int products_per_type);

  const std::vector<Product>& products() const { return products_; }
  const Product& product(int i) const { return products_[i]; }
  // Product indices of one category, in catalog order.
  const std::vector<int>& OfCategory(int category) const { return by_category_[category]; }
  const ProductTypeSpec& TypeOf(const Product& p) const;
  // Index of the product with this id (case-insensitive), or -1.
  int FindProduct(std::string_view id) const;
  // Up to `k` product indices for a free-text query, best first.
  std::vector<int> Search(std::string_view query, int k) const;

  size_t ApproxBytes() const;

 private:
  Catalog() : index_(searchqa::Bm25Options{}) {}
  void Generate(uint64_t seed, int products_per_type);

  std::vector<Product> products_;
  std::vector<std::vector<int>> by_category_;
  absl::flat_hash_map<std::string, int> by_id_;  // upper-case id -> index
  searchqa::Bm25Index index_;
};

// "$23.99"
std::string FormatPrice(int64_t cents);
// "Sulfate Free Shampoo" from "sulfate free shampoo".
std::string TitleCase(std::string_view text);

}  // namespace agentgym::env::webshop

#endif  // AGENTGYM_ENV_SERVER_ENVS_WEBSHOP_CATALOG_H_
