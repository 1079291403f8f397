#ifndef AGENTGYM_ENV_SERVER_ENVS_WEBSHOP_CATALOG_DATA_H_
#define AGENTGYM_ENV_SERVER_ENVS_WEBSHOP_CATALOG_DATA_H_

#include <vector>

namespace agentgym::env::webshop {

// The hand-written vocabulary the catalog is generated from. Within one
// product type, attribute phrases never contradict each other (any subset may
// be sampled) and option values are distinct across that type's dimensions,
// so a clicked value names exactly one (dimension, value).

struct OptionSpec {
  const char* dimension;  // "color", "size", "flavor", ...
  std::vector<const char*> values;
};

struct ProductTypeSpec {
  const char* name;  // lower case, as instructions say it: "t-shirt"
  std::vector<const char*> attributes;
  std::vector<OptionSpec> options;
  double price_lo;
  double price_hi;
};

struct CategorySpec {
  const char* name;  // the task type: "beauty", ...
  const char* description;
  std::vector<const char*> brands;
  std::vector<ProductTypeSpec> types;
};

// The five WebShop categories, in task-type order: beauty, electronics,
// fashion, food, furniture.
const std::vector<CategorySpec>& CategorySpecs();

}  // namespace agentgym::env::webshop

#endif  // AGENTGYM_ENV_SERVER_ENVS_WEBSHOP_CATALOG_DATA_H_
