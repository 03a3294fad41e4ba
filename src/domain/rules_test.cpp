#include "domain/rules.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "domain/state_table_testing.hpp"

namespace ms::domain {
namespace {

const std::string kSecret35 = "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw-";  // 35 chars, the usual length

// ---- bot tokens ----

TEST(BotToken, AcceptsWellFormed) {
  EXPECT_TRUE(validate_bot_token("123456789:" + kSecret35));
  EXPECT_TRUE(validate_bot_token("1:" + std::string(30, 'a')));
  EXPECT_TRUE(validate_bot_token("7000000001:" + std::string(30, '_')));
}

TEST(BotToken, RefusesMalformedWithoutEchoingIt) {
  const std::vector<std::string> bad = {
      "",
      "123456789" + kSecret35,                 // no colon
      ":" + kSecret35,                         // no id
      "0123:" + kSecret35,                     // leading zero
      "12a4:" + kSecret35,                     // non-digit id
      "123456789:" + std::string(29, 'a'),     // secret too short
      "123456789:" + kSecret35 + "!",          // bad character
      "123456789:" + kSecret35 + ":x",         // second colon
      "123456789:" + std::string(200, 'a'),    // too long overall
      std::string(21, '1') + ":" + kSecret35,  // id too long
      " 123456789:" + kSecret35,               // stray space
  };
  for (const auto& token : bad) {
    auto r = validate_bot_token(token);
    ASSERT_FALSE(r) << token;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(r.error().message.find(kSecret35.substr(0, 10)), std::string::npos);
  }
}

TEST(BotToken, IdAndMask) {
  EXPECT_EQ(bot_id_from_token("123456789:" + kSecret35), 123456789);
  EXPECT_EQ(bot_id_from_token("bad"), std::nullopt);
  // 20 digits overflow int64: well-formed text but no usable id.
  EXPECT_EQ(bot_id_from_token("99999999999999999999:" + kSecret35), std::nullopt);
  EXPECT_EQ(mask_bot_token("123456789:" + kSecret35), "123456789:***");
  EXPECT_EQ(mask_bot_token("garbage:" + kSecret35), "***");
}

// ---- panel usernames ----

TEST(PanelUsername, Validity) {
  EXPECT_TRUE(is_valid_panel_username("abc"));
  EXPECT_TRUE(is_valid_panel_username("a_b_1"));
  EXPECT_TRUE(is_valid_panel_username(std::string(32, 'z')));
  EXPECT_FALSE(is_valid_panel_username("ab"));
  EXPECT_FALSE(is_valid_panel_username(std::string(33, 'z')));
  EXPECT_FALSE(is_valid_panel_username("_abc"));
  EXPECT_FALSE(is_valid_panel_username("abc_"));
  EXPECT_FALSE(is_valid_panel_username("Abc"));
  EXPECT_FALSE(is_valid_panel_username("a-bc"));
  EXPECT_FALSE(is_valid_panel_username("ab c"));
}

TEST(PanelUsername, DeterministicAndReadable) {
  auto name = panel_username(1, 100, 1000);
  ASSERT_TRUE(name);
  EXPECT_EQ(*name, "t1_2s_rs");
  EXPECT_EQ(*panel_username(1, 100, 1000), *name);  // a retry computes the same name
  EXPECT_EQ(*panel_username(35, 36, 1), "tz_10_1");
}

TEST(PanelUsername, AlwaysValidEvenForHugeIds) {
  const std::int64_t max = INT64_MAX;
  for (auto [t, u, o] : std::vector<std::tuple<std::int64_t, std::int64_t, std::int64_t>>{
           {1, 1, 1}, {max, max, max}, {max, 1, 1}, {1, max, max}, {123456, 8'000'000'000, 99'999'999}}) {
    auto name = panel_username(t, u, o);
    ASSERT_TRUE(name);
    EXPECT_TRUE(is_valid_panel_username(*name)) << *name;
  }
  EXPECT_EQ(*panel_username(max, max, 1), "t1y2p0ij32e8e7_1y2p0ij32e8e7_1");   // 30 chars: fits
  EXPECT_EQ(*panel_username(max, max, max), "t1y2p0ij32e8e7_o1y2p0ij32e8e7");  // short form
}

TEST(PanelUsername, DistinctOrdersGiveDistinctNames) {
  // A name must identify its (tenant, order) pair, whichever form (long or short) it took.
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> owner;
  const std::int64_t big = 5'000'000'000'000LL;  // forces the short form when combined
  const std::vector<std::int64_t> ids = {1, 2, 35, 36, 37, 1296, big, INT64_MAX};
  int short_forms = 0;
  for (std::int64_t tenant : ids) {
    for (std::int64_t order : ids) {
      for (std::int64_t user : ids) {
        auto name = panel_username(tenant, user, order);
        ASSERT_TRUE(name);
        if (std::count(name->begin(), name->end(), '_') == 1) ++short_forms;
        auto [it, inserted] = owner.emplace(*name, std::make_pair(tenant, order));
        if (!inserted) {
          EXPECT_EQ(it->second, std::make_pair(tenant, order)) << *name;
        }
      }
    }
  }
  EXPECT_GT(short_forms, 0);
}

TEST(PanelUsername, RefusesNonPositiveIds) {
  EXPECT_FALSE(panel_username(0, 1, 1));
  EXPECT_FALSE(panel_username(1, -1, 1));
  EXPECT_EQ(panel_username(1, 1, 0).error().code, ErrorCode::kInvalidArgument);
}

// ---- card-to-card amounts ----

TEST(CardAmount, AddsSuffixFromRandom) {
  const Money base{1'200'000, Currency::kIrr};  // 120,000 Toman
  auto a = unique_card_amount(base, 0, {});
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, (Money{1'200'010, Currency::kIrr}));  // +1 Toman
  auto b = unique_card_amount(base, 41, {});
  ASSERT_TRUE(b);
  EXPECT_EQ(b->minor, 1'200'420);
  auto wrap = unique_card_amount(base, 999 + 4, {});
  ASSERT_TRUE(wrap);
  EXPECT_EQ(wrap->minor, 1'200'050);
}

TEST(CardAmount, SkipsAmountsInUse) {
  const Money base{1'000'000, Currency::kIrr};
  std::vector<std::int64_t> in_use = {1'000'010, 1'000'020};
  auto a = unique_card_amount(base, 0, in_use);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->minor, 1'000'030);
  // Probing wraps from the top suffix back to the first free one.
  in_use.push_back(1'009'990);
  auto b = unique_card_amount(base, 998, in_use);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->minor, 1'000'030);
}

TEST(CardAmount, ManyOrdersNeverShareAnAmount) {
  const Money base{500'000, Currency::kIrr};
  CardAmountRule rule{10, 50};
  std::vector<std::int64_t> in_use;
  for (int i = 0; i < 50; ++i) {
    auto a = unique_card_amount(base, 7, in_use, rule);  // same random each time: probing must differ
    ASSERT_TRUE(a) << i;
    EXPECT_GT(a->minor, base.minor);
    EXPECT_LE(a->minor, base.minor + 500);
    for (auto used : in_use) EXPECT_NE(used, a->minor);
    in_use.push_back(a->minor);
  }
  auto full = unique_card_amount(base, 7, in_use, rule);
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, ErrorCode::kUnavailable);
}

TEST(CardAmount, RefusesBadInput) {
  EXPECT_EQ(unique_card_amount(Money{-1, Currency::kIrr}, 0, {}).error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(unique_card_amount(Money{100, Currency::kIrr}, 0, {}, CardAmountRule{0, 10}));
  EXPECT_FALSE(unique_card_amount(Money{100, Currency::kIrr}, 0, {}, CardAmountRule{10, 0}));
  EXPECT_FALSE(unique_card_amount(Money{INT64_MAX - 5, Currency::kIrr}, 0, {}));
}

// ---- discounts ----

TEST(Discount, PercentRoundsDiscountDown) {
  const Discount ten{DiscountKind::kPercent, 10, {}};
  EXPECT_EQ(apply_discount(Money{1'000'000, Currency::kIrr}, ten)->minor, 900'000);
  // 10% of 999 is 99.9 -> 99 off -> pays 900.
  EXPECT_EQ(apply_discount(Money{999, Currency::kUsd}, ten)->minor, 900);
  const Discount third{DiscountKind::kPercent, 33, {}};
  EXPECT_EQ(apply_discount(Money{101, Currency::kUsd}, third)->minor, 101 - 33);
  EXPECT_EQ(apply_discount(Money{5000, Currency::kUsd}, Discount{DiscountKind::kPercent, 0, {}})->minor, 5000);
  EXPECT_EQ(apply_discount(Money{5000, Currency::kUsd}, Discount{DiscountKind::kPercent, 100, {}})->minor, 0);
  // No overflow near the top of the range.
  EXPECT_EQ(apply_discount(Money{INT64_MAX, Currency::kIrr}, Discount{DiscountKind::kPercent, 100, {}})->minor, 0);
  EXPECT_EQ(apply_discount(Money{7, Currency::kUsd}, ten)->currency, Currency::kUsd);
}

TEST(Discount, FixedNeverBelowZero) {
  const Discount off{DiscountKind::kFixed, 0, Money{200'000, Currency::kIrr}};
  EXPECT_EQ(apply_discount(Money{1'000'000, Currency::kIrr}, off)->minor, 800'000);
  EXPECT_EQ(apply_discount(Money{150'000, Currency::kIrr}, off)->minor, 0);
  EXPECT_EQ(apply_discount(Money{200'000, Currency::kIrr}, off)->minor, 0);
}

TEST(Discount, RefusesBadInput) {
  EXPECT_FALSE(apply_discount(Money{100, Currency::kUsd}, Discount{DiscountKind::kPercent, 101, {}}));
  EXPECT_FALSE(apply_discount(Money{100, Currency::kUsd}, Discount{DiscountKind::kPercent, -1, {}}));
  EXPECT_FALSE(apply_discount(Money{-1, Currency::kUsd}, Discount{DiscountKind::kPercent, 5, {}}));
  EXPECT_FALSE(
      apply_discount(Money{100, Currency::kIrr}, Discount{DiscountKind::kFixed, 0, Money{-5, Currency::kIrr}}));
  auto cur = apply_discount(Money{100, Currency::kIrr}, Discount{DiscountKind::kFixed, 0, Money{5, Currency::kUsd}});
  ASSERT_FALSE(cur);
  EXPECT_EQ(cur.error().message, "discount: fixed amount is in USD but the price is in IRR");
}

TEST(Discount, CodeUsability) {
  testing::expect_names_round_trip<DiscountRejection>(4);
  DiscountCode code;
  code.code = "NOWRUZ";
  code.discount = Discount{DiscountKind::kPercent, 20, {}};
  code.max_uses = 2;
  code.used_count = 1;
  code.expires_at = 1000;
  EXPECT_EQ(discount_rejection(code, 5, 999), std::nullopt);
  EXPECT_EQ(discount_rejection(code, std::nullopt, 999), std::nullopt);
  EXPECT_EQ(discount_rejection(code, 5, 1000), DiscountRejection::kExpired);
  code.used_count = 2;
  EXPECT_EQ(discount_rejection(code, 5, 10), DiscountRejection::kUsedUp);
  code.used_count = 0;
  code.plan_id = 7;
  EXPECT_EQ(discount_rejection(code, 5, 10), DiscountRejection::kWrongPlan);
  EXPECT_EQ(discount_rejection(code, std::nullopt, 10), DiscountRejection::kWrongPlan);
  EXPECT_EQ(discount_rejection(code, 7, 10), std::nullopt);
  code.active = false;
  EXPECT_EQ(discount_rejection(code, 7, 10), DiscountRejection::kInactive);
  code.active = true;
  code.max_uses.reset();
  code.expires_at.reset();
  code.used_count = 1'000'000;
  EXPECT_EQ(discount_rejection(code, 7, 1'000'000'000), std::nullopt);
}

// ---- wallet ----

TEST(Wallet, CreditsAndDebits) {
  const Money balance{500'000, Currency::kIrr};
  EXPECT_EQ(*apply_wallet_delta(balance, Money{200'000, Currency::kIrr}), (Money{700'000, Currency::kIrr}));
  EXPECT_EQ(*apply_wallet_delta(balance, Money{-500'000, Currency::kIrr}), (Money{0, Currency::kIrr}));
}

TEST(Wallet, NeverNegativeNorMixedNorOverflowing) {
  const Money balance{500'000, Currency::kIrr};
  auto over = apply_wallet_delta(balance, Money{-500'001, Currency::kIrr});
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, ErrorCode::kConflict);
  EXPECT_EQ(apply_wallet_delta(balance, Money{1, Currency::kUsd}).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(apply_wallet_delta(Money{INT64_MAX, Currency::kIrr}, Money{1, Currency::kIrr}).error().code,
            ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace ms::domain
