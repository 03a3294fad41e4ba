// The domain names message keys; the i18n catalog must hold each in both languages, or an
// owner would see a raw key. This is where both libraries meet, so the check lives here.
#include <gtest/gtest.h>

#include "core/i18n/catalog.hpp"
#include "domain/package.hpp"
#include "domain/rules.hpp"

namespace ms {
namespace {

void expect_both_languages(const i18n::Catalog& catalog, const std::string& key) {
  for (auto lang : {i18n::Lang::kFa, i18n::Lang::kEn}) {
    std::string text = catalog.render(lang, key, {{"package", "Starter"}, {"limit", "100"}, {"current", "100"}});
    EXPECT_NE(text, key) << key << " is missing in " << i18n::to_string(lang);
    EXPECT_EQ(text.find('{'), std::string::npos) << key << " leaves a placeholder: " << text;
  }
}

TEST(CatalogKeys, EveryLimitViolationHasTextInBothLanguages) {
  i18n::Catalog catalog;
  const auto packages = domain::default_packages();
  for (auto kind : domain::all_values<domain::LimitKind>()) {
    auto violation = domain::find_limit_violation(packages.front(), kind, 1'000'000);
    ASSERT_TRUE(violation.has_value()) << domain::to_string(kind);
    expect_both_languages(catalog, violation->message_key());
  }
}

TEST(CatalogKeys, EveryDiscountRejectionHasTextInBothLanguages) {
  i18n::Catalog catalog;
  for (auto rejection : domain::all_values<domain::DiscountRejection>())
    expect_both_languages(catalog, "discount." + std::string(domain::to_string(rejection)));
}

}  // namespace
}  // namespace ms
