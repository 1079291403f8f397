// One WebShop session: the page the shopper is on, the last search and the
// options picked on the current product page.

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "env_server/envs/searchqa/action_text.h"
#include "env_server/envs/webshop/pages.h"
#include "env_server/envs/webshop/webshop_env.h"

namespace agentgym::env::webshop {
namespace {

using searchqa::BracketAction;
using searchqa::ParseBracketAction;

constexpr size_t kMaxQueryBytes = 500;
constexpr size_t kShownQueryBytes = 200;
constexpr size_t kMaxListedButtons = 14;

std::string Clip(std::string_view text, size_t limit) {
  if (text.size() <= limit) return std::string(text);
  size_t cut = limit;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return absl::StrCat(std::string(text.substr(0, cut)), "...");
}

enum class Page { kSearch, kResults, kItem, kDetail };

// Memory: at most kMaxResults result indices, a clipped query and one picked
// value per option dimension, whatever the agent sends (the goal and catalog
// are shared).
class WebShopEpisode : public Episode {
 public:
  WebShopEpisode(std::shared_ptr<const WebShopWorld> world, const Goal* goal)
      : world_(std::move(world)), catalog_(*world_->catalog), goal_(*goal) {}

  absl::StatusOr<StepOutcome> Step(std::string_view action) override {
    StepOutcome out;
    if (done_) {
      out.observation = "The session is over: you already bought a product.";
      out.action_valid = false;
      out.done = true;
      out.score = score_;
      return out;
    }
    ++turns_;
    BracketAction parsed = ParseBracketAction(action);
    if (!parsed.ok) {
      Invalid(out, absl::StrCat(parsed.error, " Use search[query] or click[button]."));
    } else if (parsed.verb == "search") {
      Search(parsed.argument, out);
    } else if (parsed.verb == "click") {
      Click(parsed.argument, out);
    } else {
      Invalid(out, absl::StrCat("Unknown action '", Clip(parsed.verb, 40),
                                "'. Use search[query] or click[button]."));
    }
    if (!out.done && turns_ >= world_->options.max_turns) {
      done_ = true;
      out.truncated = true;
      absl::StrAppend(&out.observation, "\nTurn limit (", world_->options.max_turns,
                      ") reached without a purchase.");
    }
    out.score = score_;
    out.info["turn"] = turns_;
    return out;
  }

  std::optional<std::string> OracleAction() const override {
    if (done_) return std::nullopt;
    switch (page_) {
      case Page::kSearch: return absl::StrCat("search[", goal_.query, "]");
      case Page::kDetail: return std::string("click[< Prev]");
      case Page::kResults: {
        for (size_t i = 0; i < results_.size(); ++i) {
          if (!Satisfies(catalog_, goal_, results_[i])) continue;
          const int page = static_cast<int>(i) / kResultsPerPage;
          if (page > results_page_) return std::string("click[Next >]");
          if (page < results_page_) return std::string("click[< Prev]");
          return absl::StrCat("click[", catalog_.product(results_[i]).id, "]");
        }
        return std::string("click[Back to Search]");
      }
      case Page::kItem: {
        if (!Satisfies(catalog_, goal_, item_)) return std::string("click[< Prev]");
        const ProductTypeSpec& type = catalog_.TypeOf(catalog_.product(item_));
        for (size_t d = 0; d < goal_.options.size(); ++d) {
          if (selected_[d] != goal_.options[d]) {
            return absl::StrCat("click[", type.options[d].values[goal_.options[d]], "]");
          }
        }
        return std::string("click[Buy Now]");
      }
    }
    return std::nullopt;
  }

  size_t ApproxBytes() const override {
    return (results_.capacity() + selected_.capacity()) * sizeof(int) + query_.capacity();
  }

 private:
  static void Invalid(StepOutcome& out, std::string why) {
    out.action_valid = false;
    out.observation = absl::StrCat("Invalid action: ", why);
  }

  PageView Current() const {
    switch (page_) {
      case Page::kSearch: return SearchPage(goal_.instruction);
      case Page::kResults: return ResultsPage(catalog_, query_, results_, results_page_);
      case Page::kItem: return ItemPage(catalog_, item_, selected_);
      case Page::kDetail: return DetailPage(catalog_, item_, detail_);
    }
    return {};
  }

  void Search(const std::string& query, StepOutcome& out) {
    if (page_ != Page::kSearch) {
      Invalid(out, "There is no search box on this page; click[Back to Search] first.");
      return;
    }
    if (query.empty()) {
      Invalid(out, "search[] needs a query, e.g. search[slim fit t-shirt].");
      return;
    }
    if (query.size() > kMaxQueryBytes) {
      Invalid(out, absl::StrCat("The query is too long (", query.size(), " bytes; limit ",
                                kMaxQueryBytes, ")."));
      return;
    }
    results_ = catalog_.Search(query, kMaxResults);
    query_ = Clip(query, kShownQueryBytes);
    results_page_ = 0;
    page_ = Page::kResults;
    out.observation = Current().text;
    out.info["results"] = static_cast<int>(results_.size());
  }

  void Click(const std::string& argument, StepOutcome& out) {
    std::string label = absl::AsciiStrToLower(argument);
    if (label == "next") label = kNextPage;
    if (label == "prev" || label == "previous") label = kPrevPage;
    const PageView view = Current();
    if (std::find(view.clickables.begin(), view.clickables.end(), label) ==
        view.clickables.end()) {
      std::vector<std::string> listed;
      for (const std::string& c : view.clickables) {
        if (listed.size() == kMaxListedButtons) {
          listed.push_back("...");
          break;
        }
        listed.push_back(absl::StrCat("[", c, "]"));
      }
      Invalid(out, page_ == Page::kSearch
                       ? std::string("There is nothing to click on the search page; use "
                                     "search[query].")
                       : absl::StrCat("There is no [", Clip(argument, 60),
                                      "] on this page. You can click: ",
                                      absl::StrJoin(listed, " ")));
      return;
    }
    std::string note;
    if (label == kBackToSearch) {
      page_ = Page::kSearch;
    } else if (page_ == Page::kResults) {
      if (label == kNextPage) {
        ++results_page_;
      } else if (label == kPrevPage) {
        --results_page_;
      } else {
        item_ = catalog_.FindProduct(label);
        selected_.assign(catalog_.TypeOf(catalog_.product(item_)).options.size(), -1);
        page_ = Page::kItem;
      }
    } else if (page_ == Page::kDetail) {
      page_ = Page::kItem;  // "< prev" is the only other button
    } else if (label == kPrevPage) {
      page_ = Page::kResults;
    } else if (label == kBuyNow) {
      Buy(out);
      return;
    } else if (std::optional<Detail> detail = DetailOf(label)) {
      detail_ = *detail;
      page_ = Page::kDetail;
    } else {
      note = SelectOption(label);
    }
    out.observation = absl::StrCat(note, Current().text);
  }

  static std::optional<Detail> DetailOf(std::string_view label) {
    for (Detail d : {Detail::kDescription, Detail::kFeatures, Detail::kReviews}) {
      if (label == DetailLabel(d)) return d;
    }
    return std::nullopt;
  }

  // `label` is one of the item's option values (the page offered it).
  std::string SelectOption(std::string_view label) {
    const Product& p = catalog_.product(item_);
    const ProductTypeSpec& type = catalog_.TypeOf(p);
    for (size_t d = 0; d < type.options.size(); ++d) {
      for (int v : p.options[d]) {
        if (absl::AsciiStrToLower(type.options[d].values[v]) == label) {
          selected_[d] = v;
          return absl::StrCat("You have selected ", type.options[d].dimension, " ",
                              type.options[d].values[v], ".\n");
        }
      }
    }
    return "";
  }

  void Buy(StepOutcome& out) {
    const Product& p = catalog_.product(item_);
    const ProductTypeSpec& type = catalog_.TypeOf(p);
    const RewardBreakdown r = ScorePurchase(catalog_, goal_, Purchase{item_, selected_});
    std::vector<std::string> picked;
    for (size_t d = 0; d < selected_.size(); ++d) {
      if (selected_[d] >= 0) {
        picked.push_back(absl::StrCat(type.options[d].dimension, " ",
                                      type.options[d].values[selected_[d]]));
      }
    }
    done_ = true;
    score_ = r.reward;
    out.done = true;
    out.reward = r.reward;
    out.success = r.success;
    out.observation = absl::StrCat(
        "Thank you for shopping with us! You bought [", p.id, "] ", p.title, " (",
        picked.empty() ? "no options selected" : absl::StrJoin(picked, ", "), ") for ",
        FormatPrice(p.price_cents), ".\nYour score (min 0.0, max 1.0): ",
        absl::StrFormat("%.2f", r.reward));
    out.info["product"] = p.id;
    out.info["type_match"] = r.type_match;
    out.info["attributes_matched"] = r.attributes_matched;
    out.info["attributes_wanted"] = static_cast<int>(goal_.attributes.size());
    out.info["options_matched"] = r.options_matched;
    out.info["options_wanted"] = static_cast<int>(goal_.options.size());
    out.info["price_ok"] = r.price_ok;
  }

  std::shared_ptr<const WebShopWorld> world_;
  const Catalog& catalog_;  // owned by world_
  const Goal& goal_;        // owned by world_
  Page page_ = Page::kSearch;
  std::string query_;
  std::vector<int> results_;
  int results_page_ = 0;
  int item_ = -1;
  std::vector<int> selected_;
  Detail detail_ = Detail::kDescription;
  int turns_ = 0;
  bool done_ = false;
  double score_ = 0.0;
};

}  // namespace

std::unique_ptr<Episode> NewWebShopEpisode(std::shared_ptr<const WebShopWorld> world,
                                           const Goal* goal) {
  return std::make_unique<WebShopEpisode>(std::move(world), goal);
}

}  // namespace agentgym::env::webshop
