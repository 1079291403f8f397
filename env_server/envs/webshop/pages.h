#ifndef AGENTGYM_ENV_SERVER_ENVS_WEBSHOP_PAGES_H_
#define AGENTGYM_ENV_SERVER_ENVS_WEBSHOP_PAGES_H_

#include <string>
#include <string_view>
#include <vector>

#include "env_server/envs/webshop/catalog.h"

namespace agentgym::env::webshop {

// The shop's pages as text, in WebShop's text mode: every clickable element
// appears as [label] and is clicked with click[label] (case-insensitive).
struct PageView {
  std::string text;
  std::vector<std::string> clickables;  // lower case, as click[...] matches them
};

// Labels shared by several pages (lower case, as matched).
inline constexpr std::string_view kBackToSearch = "back to search";
inline constexpr std::string_view kNextPage = "next >";
inline constexpr std::string_view kPrevPage = "< prev";
inline constexpr std::string_view kBuyNow = "buy now";

enum class Detail { kDescription, kFeatures, kReviews };

PageView SearchPage(std::string_view instruction);
// `results` are product indices, `page` is 0-based.
PageView ResultsPage(const Catalog& catalog, std::string_view query,
                     const std::vector<int>& results, int page);
// `selected`: the picked value per option dimension (-1 where none).
PageView ItemPage(const Catalog& catalog, int product, const std::vector<int>& selected);
PageView DetailPage(const Catalog& catalog, int product, Detail detail);

// The lower-cased label for a detail button ("description", ...).
std::string_view DetailLabel(Detail detail);

}  // namespace agentgym::env::webshop

#endif  // AGENTGYM_ENV_SERVER_ENVS_WEBSHOP_PAGES_H_
