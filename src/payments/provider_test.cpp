#include "payments/provider.hpp"

#include <gtest/gtest.h>

namespace ms::payments {
namespace {

TEST(Decimal, FormatsEachCurrencysMinorUnits) {
  EXPECT_EQ(to_decimal({1050, Currency::kUsd}), "10.50");
  EXPECT_EQ(to_decimal({5, Currency::kUsd}), "0.05");
  EXPECT_EQ(to_decimal({600000, Currency::kIrr}), "600000");
  EXPECT_EQ(to_decimal({1500000, Currency::kUsdt}), "1.500000");
  EXPECT_EQ(to_decimal({-7, Currency::kUsd}), "-0.07");
}

TEST(Decimal, ParsesExactlyOrRefuses) {
  EXPECT_EQ(from_decimal("10.5", Currency::kUsd)->minor, 1050);
  EXPECT_EQ(from_decimal("10", Currency::kUsd)->minor, 1000);
  EXPECT_EQ(from_decimal("10.500", Currency::kUsd)->minor, 1050);
  EXPECT_FALSE(from_decimal("10.505", Currency::kUsd));
  EXPECT_FALSE(from_decimal("1e3", Currency::kUsd));
  EXPECT_FALSE(from_decimal("", Currency::kUsd));
  EXPECT_FALSE(from_decimal("12.", Currency::kUsd));
  EXPECT_FALSE(from_decimal("99999999999999999999", Currency::kUsd));
  EXPECT_EQ(from_json_amount(nlohmann::json::parse("14.8106"), Currency::kUsdt)->minor, 14810600);
  EXPECT_EQ(from_json_amount(nlohmann::json(1), Currency::kUsd)->minor, 100);
  EXPECT_EQ(from_json_amount(nlohmann::json("2.25"), Currency::kUsd)->minor, 225);
  EXPECT_FALSE(from_json_amount(nlohmann::json::object(), Currency::kUsd));
}

TEST(ExchangeRate, ConvertsBothWaysRoundingUp) {
  const ExchangeRate usd_irr{Currency::kUsd, Currency::kIrr, 600'000};  // $1 = 600,000 Rial
  EXPECT_EQ(convert({1050, Currency::kUsd}, Currency::kIrr, usd_irr)->minor, 6'300'000);
  EXPECT_EQ(convert({6'300'000, Currency::kIrr}, Currency::kUsd, usd_irr)->minor, 1050);
  // 1 Rial is a tiny fraction of a cent: the buyer pays a whole cent, never zero.
  EXPECT_EQ(convert({1, Currency::kIrr}, Currency::kUsd, usd_irr)->minor, 1);
  EXPECT_EQ(convert({6'000'001, Currency::kIrr}, Currency::kUsd, usd_irr)->minor, 1001);
  EXPECT_EQ(convert({42, Currency::kIrr}, Currency::kIrr, usd_irr)->minor, 42);
  EXPECT_FALSE(convert({1, Currency::kXtr}, Currency::kIrr, usd_irr));
  EXPECT_FALSE(convert({1, Currency::kUsd}, Currency::kIrr, ExchangeRate{Currency::kUsd, Currency::kIrr, 0}));
  EXPECT_FALSE(convert({INT64_MAX, Currency::kUsd}, Currency::kIrr, usd_irr));
}

TEST(PayerActionJson, RoundTrips) {
  PayerAction a;
  a.kind = PayerAction::Kind::kCardTransfer;
  a.amount = {1'230'050, Currency::kIrr};
  a.card_number = "6037990000000000";
  a.card_holder = "Owner";
  auto b = PayerAction::from_json(a.to_json());
  EXPECT_EQ(b.kind, a.kind);
  EXPECT_EQ(b.amount, a.amount);
  EXPECT_EQ(b.card_number, a.card_number);
  EXPECT_EQ(b.card_holder, a.card_holder);
}

}  // namespace
}  // namespace ms::payments
