#include <gtest/gtest.h>

#include "domain/master_entities.hpp"
#include "domain/payment.hpp"
#include "domain/state_table_testing.hpp"
#include "domain/tenant_entities.hpp"

namespace ms::domain {
namespace {

TEST(Entities, EnumNamesRoundTrip) {
  testing::expect_names_round_trip<PaymentMethod>(8);
  testing::expect_names_round_trip<PaymentPurpose>(3);
  testing::expect_names_round_trip<TicketStatus>(3);
  testing::expect_names_round_trip<TicketAuthor>(2);
  testing::expect_names_round_trip<ActorType>(4);
  testing::expect_names_round_trip<JobState>(5);
  testing::expect_names_round_trip<PanelType>(3);
  testing::expect_names_round_trip<ServiceStatus>(7);
  testing::expect_names_round_trip<OrderKind>(3);
  testing::expect_names_round_trip<LedgerReason>(8);
  testing::expect_names_round_trip<DiscountKind>(2);
  testing::expect_names_round_trip<BroadcastState>(6);
}

TEST(Entities, StoredNamesAreStable) {
  // These strings are in databases; changing one breaks stored rows.
  EXPECT_EQ(to_string(PaymentMethod::kCardToCard), "card_to_card");
  EXPECT_EQ(to_string(PaymentMethod::kTelegramStars), "telegram_stars");
  EXPECT_EQ(to_string(PaymentPurpose::kWalletTopUp), "wallet_top_up");
  EXPECT_EQ(to_string(ServiceStatus::kOnHold), "on_hold");
  EXPECT_EQ(to_string(LedgerReason::kProvisioningRefund), "provisioning_refund");
  EXPECT_EQ(to_string(PanelType::kPasarGuard), "pasarguard");
  EXPECT_EQ(to_string(ActorType::kApiKey), "api_key");
  EXPECT_EQ(parse<JobState>("dead"), JobState::kDead);
  EXPECT_EQ(parse<ServiceStatus>("Active"), std::nullopt);  // names are case-sensitive
}

TEST(Entities, NewRecordsStartInTheirFirstState) {
  EXPECT_EQ(Order{}.state, OrderState::kCreated);
  EXPECT_EQ(Payment{}.state, PaymentState::kCreated);
  EXPECT_EQ(BotInstance{}.state, BotState::kCreated);
  EXPECT_EQ(Service{}.status, ServiceStatus::kReserved);
  EXPECT_EQ(Job{}.state, JobState::kQueued);
  EXPECT_EQ(EndUser{}.wallet_balance, (Money{0, Currency::kIrr}));
  EXPECT_EQ(Broadcast{}.state, BroadcastState::kDraft);
}

TEST(Lease, HeldUntilExpiryExclusive) {
  Lease lease{"bot_instance:42", "replica-a", 1000, 7};
  EXPECT_TRUE(lease_held_by(lease, "replica-a", 999));
  EXPECT_FALSE(lease_held_by(lease, "replica-a", 1000));
  EXPECT_FALSE(lease_held_by(lease, "replica-b", 999));
  EXPECT_FALSE(lease_held_by(lease, "", 999));
  EXPECT_FALSE(lease_expired(lease, 999));
  EXPECT_TRUE(lease_expired(lease, 1000));
  lease.holder.clear();
  EXPECT_TRUE(lease_expired(lease, 0));
  EXPECT_FALSE(lease_held_by(lease, "", 0));
}

TEST(ApiKey, RevokedIsInactive) {
  ApiKey key;
  EXPECT_TRUE(api_key_active(key));
  key.revoked_at = 5;
  EXPECT_FALSE(api_key_active(key));
}

}  // namespace
}  // namespace ms::domain
