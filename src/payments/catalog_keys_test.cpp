// Every message key payments hands to people exists in both languages.
#include <gtest/gtest.h>

#include "core/i18n/catalog.hpp"
#include "payments/service.hpp"

namespace ms::payments {
namespace {

TEST(PaymentCatalogKeys, EveryKeyHasTextInBothLanguages) {
  i18n::Catalog catalog;
  for (const char* key :
       {"payment.return.paid", "payment.return.wallet", "payment.return.pending", "payment.return.failed",
        "payment.return.unknown", "payment.precheckout.unknown", "payment.precheckout.expired",
        "payment.precheckout.already_paid", "payment.precheckout.amount_mismatch", "payment.precheckout.unavailable",
        "payment.state.created", "payment.state.pending", "payment.state.awaiting_review", "payment.state.paid",
        "payment.state.rejected", "payment.state.expired", "payment.state.refunded"}) {
    for (auto lang : {i18n::Lang::kFa, i18n::Lang::kEn}) {
      std::string text = catalog.render(lang, key);
      EXPECT_NE(text, key) << key << " is missing in " << i18n::to_string(lang);
      EXPECT_EQ(text.find('{'), std::string::npos) << text;
    }
  }
}

TEST(PaymentCatalogKeys, EveryStateAndRefusalNamesAKeyThatExists) {
  i18n::Catalog catalog;
  for (auto state : {domain::PaymentState::kCreated, domain::PaymentState::kPending, domain::PaymentState::kAwaitingReview,
                     domain::PaymentState::kPaid, domain::PaymentState::kRejected, domain::PaymentState::kExpired,
                     domain::PaymentState::kRefunded}) {
    EXPECT_TRUE(catalog.has(i18n::Lang::kFa, state_key(state))) << state_key(state);
  }
  EXPECT_EQ(precheckout_refusal_key(Error{ErrorCode::kInvalidArgument, "payment.precheckout.expired"}),
            "payment.precheckout.expired");
  // Anything that is not one of its keys (a message, a key with words after it) is "unavailable".
  EXPECT_EQ(precheckout_refusal_key(Error{ErrorCode::kUnavailable, "database is locked"}),
            "payment.precheckout.unavailable");
  EXPECT_EQ(precheckout_refusal_key(Error{ErrorCode::kInternal, "payment.precheckout.expired because"}),
            "payment.precheckout.unavailable");
}

}  // namespace
}  // namespace ms::payments
