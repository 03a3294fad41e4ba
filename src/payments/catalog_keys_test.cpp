// Every message key payments hands to people exists in both languages.
#include <gtest/gtest.h>

#include "core/i18n/catalog.hpp"

namespace ms::payments {
namespace {

TEST(PaymentCatalogKeys, EveryKeyHasTextInBothLanguages) {
  i18n::Catalog catalog;
  for (const char* key :
       {"payment.return.paid", "payment.return.wallet", "payment.return.pending", "payment.return.failed",
        "payment.return.unknown", "payment.precheckout.unknown", "payment.precheckout.expired",
        "payment.precheckout.already_paid", "payment.precheckout.amount_mismatch", "payment.precheckout.unavailable"}) {
    for (auto lang : {i18n::Lang::kFa, i18n::Lang::kEn}) {
      std::string text = catalog.render(lang, key);
      EXPECT_NE(text, key) << key << " is missing in " << i18n::to_string(lang);
      EXPECT_EQ(text.find('{'), std::string::npos) << text;
    }
  }
}

}  // namespace
}  // namespace ms::payments
