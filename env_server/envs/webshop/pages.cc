#include "env_server/envs/webshop/pages.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "env_server/envs/webshop/goals.h"

namespace agentgym::env::webshop {
namespace {

// Appends "[label]" to the text and the label to the clickables.
void Button(PageView& view, std::string_view label) {
  absl::StrAppend(&view.text, "[", std::string(label), "]");
  view.clickables.push_back(absl::AsciiStrToLower(std::string(label)));
}

void Header(PageView& view, bool prev) {
  Button(view, "Back to Search");
  if (prev) {
    view.text += "\n";
    Button(view, "< Prev");
  }
  view.text += "\n";
}

}  // namespace

std::string_view DetailLabel(Detail detail) {
  switch (detail) {
    case Detail::kDescription: return "description";
    case Detail::kFeatures: return "features";
    case Detail::kReviews: return "reviews";
  }
  return "";
}

PageView SearchPage(std::string_view instruction) {
  PageView view;
  absl::StrAppend(&view.text, "WebShop\nInstruction:\n", std::string(instruction),
                  "\n[Search]  (type search[your query])");
  return view;
}

PageView ResultsPage(const Catalog& catalog, std::string_view query,
                     const std::vector<int>& results, int page) {
  PageView view;
  Header(view, /*prev=*/false);
  const int total = static_cast<int>(results.size());
  const int pages = std::max(1, (total + kResultsPerPage - 1) / kResultsPerPage);
  absl::StrAppend(&view.text, "Search: \"", std::string(query), "\"\nPage ", page + 1, " of ", pages,
                  " (Total results: ", total, ")\n");
  if (page > 0) {
    Button(view, "< Prev");
    view.text += "\n";
  }
  if (page + 1 < pages) {
    Button(view, "Next >");
    view.text += "\n";
  }
  if (total == 0) view.text += "No products match. Go back and try other words.\n";
  const int end = std::min(total, (page + 1) * kResultsPerPage);
  for (int i = page * kResultsPerPage; i < end; ++i) {
    const Product& p = catalog.product(results[i]);
    Button(view, p.id);
    absl::StrAppend(&view.text, "\n", p.title, "\n", FormatPrice(p.price_cents), "\n");
  }
  return view;
}

PageView ItemPage(const Catalog& catalog, int product, const std::vector<int>& selected) {
  const Product& p = catalog.product(product);
  const ProductTypeSpec& type = catalog.TypeOf(p);
  PageView view;
  Header(view, /*prev=*/true);
  std::vector<std::string> picked;
  for (size_t d = 0; d < type.options.size(); ++d) {
    absl::StrAppend(&view.text, type.options[d].dimension, ":");
    for (int v : p.options[d]) {
      view.text += " ";
      Button(view, type.options[d].values[v]);
    }
    view.text += "\n";
    if (d < selected.size() && selected[d] >= 0) {
      picked.push_back(absl::StrCat(type.options[d].dimension, " ",
                                    type.options[d].values[selected[d]]));
    }
  }
  absl::StrAppend(&view.text, "Selected: ", picked.empty() ? "nothing" : absl::StrJoin(picked, ", "),
                  "\n", p.title, "\nPrice: ", FormatPrice(p.price_cents), "\nRating: ",
                  absl::StrFormat("%.1f", p.rating), " out of 5\n");
  Button(view, "Description");
  view.text += " ";
  Button(view, "Features");
  view.text += " ";
  Button(view, "Reviews");
  view.text += " ";
  Button(view, "Buy Now");
  return view;
}

PageView DetailPage(const Catalog& catalog, int product, Detail detail) {
  const Product& p = catalog.product(product);
  PageView view;
  Header(view, /*prev=*/true);
  switch (detail) {
    case Detail::kDescription:
      absl::StrAppend(&view.text, "Description:\n", p.description);
      break;
    case Detail::kFeatures:
      view.text += "Features:";
      for (const std::string& f : p.features) absl::StrAppend(&view.text, "\n- ", f);
      break;
    case Detail::kReviews:
      view.text += "Reviews:";
      for (const std::string& r : p.reviews) absl::StrAppend(&view.text, "\n- ", r);
      break;
  }
  return view;
}

}  // namespace agentgym::env::webshop
