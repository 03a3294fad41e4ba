#include "core/i18n/catalog.hpp"

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/i18n/bidi.hpp"
#include "core/i18n/default_messages.hpp"

namespace ms::i18n {
namespace {

std::set<std::string> placeholders(std::string_view text) {
  std::set<std::string> names;
  for (std::size_t open = text.find('{'); open != std::string_view::npos; open = text.find('{', open + 1)) {
    const std::size_t close = text.find('}', open);
    if (close == std::string_view::npos) break;
    names.emplace(text.substr(open + 1, close - open - 1));
  }
  return names;
}

TEST(DefaultMessagesTest, EveryKeyIsCompleteInBothLanguages) {
  std::set<std::string_view> keys;
  ASSERT_GE(default_messages().size(), 30u);
  for (const DefaultMessage& m : default_messages()) {
    EXPECT_TRUE(keys.insert(m.key).second) << "duplicate key " << m.key;
    EXPECT_FALSE(m.fa.empty()) << m.key;
    EXPECT_FALSE(m.en.empty()) << m.key;
    EXPECT_TRUE(contains_rtl(m.fa)) << m.key << " fa is not Persian";
    EXPECT_FALSE(contains_rtl(m.en)) << m.key << " en contains RTL text";
    EXPECT_EQ(placeholders(m.fa), placeholders(m.en)) << m.key;
  }
}

TEST(DefaultMessagesTest, CoversTheBasics) {
  const Catalog catalog;
  for (const char* key : {"common.yes", "common.no", "common.back", "common.cancel", "menu.main", "welcome",
                          "error.invalid_input", "error.not_found", "error.limit_reached", "error.service_paused"}) {
    EXPECT_TRUE(catalog.has(Lang::kFa, key)) << key;
    EXPECT_TRUE(catalog.has(Lang::kEn, key)) << key;
  }
}

TEST(CatalogTest, RendersDefaultsWithArguments) {
  const Catalog catalog;
  EXPECT_EQ(catalog.render(Lang::kEn, "error.limit_reached", {{"limit", "50"}}),
            "Upgrade your plan to sell to more than 50 users.");
  EXPECT_EQ(catalog.render(Lang::kFa, "error.limit_reached", {{"limit", "۵۰"}}),
            "برای فروش به بیش از ۵۰ کاربر، بستهٔ خود را ارتقا دهید.");
  EXPECT_EQ(catalog.render(Lang::kEn, "welcome", {{"name", "Sara"}, {"shop", "FastNet"}}),
            "Hi Sara, welcome to FastNet!");
  EXPECT_EQ(catalog.render(Lang::kFa, "common.yes"), "بله");
  EXPECT_EQ(catalog.render(Lang::kEn, "common.yes"), "Yes");
}

TEST(CatalogTest, MissingArgumentStaysVisible) {
  const Catalog catalog;
  EXPECT_EQ(catalog.render(Lang::kEn, "welcome", {{"name", "Sara"}}), "Hi Sara, welcome to {shop}!");
  EXPECT_EQ(catalog.render(Lang::kEn, "error.limit_reached"), "Upgrade your plan to sell to more than {limit} users.");
}

TEST(CatalogTest, FallsBackToEnglishThenToTheKey) {
  Catalog catalog;
  catalog.set_override(Lang::kEn, "promo.spring", "Spring sale: {percent}% off");
  EXPECT_FALSE(catalog.has(Lang::kFa, "promo.spring"));
  EXPECT_EQ(catalog.render(Lang::kFa, "promo.spring", {{"percent", "20"}}), "Spring sale: 20% off");
  EXPECT_EQ(catalog.render(Lang::kFa, "no.such.key"), "no.such.key");
  EXPECT_EQ(catalog.render(Lang::kEn, "no.such.key"), "no.such.key");
  EXPECT_EQ(catalog.render(Lang::kEn, ""), "");
}

TEST(CatalogTest, OverridesWinPerLanguage) {
  Catalog catalog;
  catalog.set_override(Lang::kFa, "welcome", "{name} جان، به فروشگاه ما خوش آمدی!");
  EXPECT_EQ(catalog.render(Lang::kFa, "welcome", {{"name", "سارا"}}), "سارا جان، به فروشگاه ما خوش آمدی!");
  EXPECT_EQ(catalog.render(Lang::kEn, "welcome", {{"name", "Sara"}, {"shop", "X"}}), "Hi Sara, welcome to X!");

  // An English override does not replace an existing Persian default.
  catalog.set_override(Lang::kEn, "common.yes", "Yep");
  EXPECT_EQ(catalog.render(Lang::kEn, "common.yes"), "Yep");
  EXPECT_EQ(catalog.render(Lang::kFa, "common.yes"), "بله");
  EXPECT_EQ(catalog.override_count(Lang::kEn), 1u);
  EXPECT_EQ(catalog.override_count(Lang::kFa), 1u);

  EXPECT_TRUE(catalog.clear_override(Lang::kEn, "common.yes"));
  EXPECT_FALSE(catalog.clear_override(Lang::kEn, "common.yes"));
  EXPECT_EQ(catalog.render(Lang::kEn, "common.yes"), "Yes");
  EXPECT_EQ(catalog.lookup(Lang::kFa, "welcome"), "{name} جان، به فروشگاه ما خوش آمدی!");
  EXPECT_EQ(catalog.lookup(Lang::kFa, "nothing"), std::nullopt);
}

TEST(CatalogTest, OwnersDoNotSeeEachOthersOverrides) {
  Catalog a;
  const Catalog b;
  a.set_override(Lang::kEn, "menu.buy", "Get a VPN");
  EXPECT_EQ(a.render(Lang::kEn, "menu.buy"), "Get a VPN");
  EXPECT_EQ(b.render(Lang::kEn, "menu.buy"), "Buy a service");
}

TEST(FormatTemplateTest, Syntax) {
  const Args args{{"a", "1"}, {"b", "2"}, {"user.name", "Ali"}};
  EXPECT_EQ(format_template("", args), "");
  EXPECT_EQ(format_template("no placeholders", args), "no placeholders");
  EXPECT_EQ(format_template("{a}{b}", args), "12");
  EXPECT_EQ(format_template("{user.name}!", args), "Ali!");
  EXPECT_EQ(format_template("{{a}} = {a}", args), "{a} = 1");
  EXPECT_EQ(format_template("a}}b", args), "a}b");
  EXPECT_EQ(format_template("{ a }", args), "{ a }");
  EXPECT_EQ(format_template("{}", args), "{}");
  EXPECT_EQ(format_template("{a", args), "{a");
  EXPECT_EQ(format_template("}", args), "}");
  EXPECT_EQ(format_template("{missing} {a}", args), "{missing} 1");
  EXPECT_EQ(format_template("مبلغ {a} تومان", args), "مبلغ 1 تومان");
  EXPECT_EQ(format_template("{سلام}", args), "{سلام}");
}

TEST(FormatTemplateTest, ValuesAreNotExpandedAgain) {
  // A value typed by a user must not pull in other arguments.
  EXPECT_EQ(format_template("{a}{b}", {{"a", "{b}"}, {"b", "x"}}), "{b}x");
}

TEST(CatalogJsonTest, ImportsFlatAndNestedObjects) {
  Catalog catalog;
  const auto r = catalog.load_json(Lang::kFa, R"({"menu.buy": "خرید اشتراک", "error": {"not_found": "پیدا نشد!"},
                                                  "shop": {"rules": {"refund": "بازپرداخت تا {days} روز"}}})");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(*r, 3u);
  EXPECT_EQ(catalog.render(Lang::kFa, "menu.buy"), "خرید اشتراک");
  EXPECT_EQ(catalog.render(Lang::kFa, "error.not_found"), "پیدا نشد!");
  EXPECT_EQ(catalog.render(Lang::kFa, "shop.rules.refund", {{"days", "۳"}}), "بازپرداخت تا ۳ روز");
  EXPECT_EQ(catalog.render(Lang::kEn, "menu.buy"), "Buy a service");
  EXPECT_EQ(catalog.load_json(Lang::kEn, "{}").value(), 0u);
}

TEST(CatalogJsonTest, RejectsBadInputWithoutChangingAnything) {
  Catalog catalog;
  for (const char* json :
       {"", "not json", "[\"a\"]", "\"text\"", "42", R"({"menu.buy": "ok", "x": 5})",
        R"({"menu.buy": "ok", "x": null})", R"({"menu.buy": "ok", "x": ["a"]})",
        R"({"menu.buy": "ok", "": "empty key"})", R"({"menu": {"buy": "ok", "n": true}})", R"({"menu.buy": "ok")"}) {
    const auto r = catalog.load_json(Lang::kEn, json);
    ASSERT_FALSE(r.has_value()) << json;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
  EXPECT_EQ(catalog.override_count(Lang::kEn), 0u);
  EXPECT_EQ(catalog.render(Lang::kEn, "menu.buy"), "Buy a service");
}

TEST(CatalogTest, ReadsRunConcurrentlyWithOverrides) {
  Catalog catalog;
  const std::string first = "Upgrade to go past {limit} users";
  const std::string second = "Your plan stops at {limit} users";
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      for (int i = 0; i < 3000; ++i) {
        const std::string text = catalog.render(Lang::kEn, "error.limit_reached", {{"limit", "7"}});
        if (text != "Upgrade your plan to sell to more than 7 users." && text != "Upgrade to go past 7 users" &&
            text != "Your plan stops at 7 users") {
          bad.fetch_add(1);
        }
      }
    });
  }
  for (int i = 0; i < 300; ++i) {
    catalog.set_override(Lang::kEn, "error.limit_reached", i % 2 == 0 ? first : second);
    if (i % 3 == 0) catalog.clear_override(Lang::kEn, "error.limit_reached");
    EXPECT_TRUE(catalog.load_json(Lang::kEn, R"({"error": {"limit_reached": "Your plan stops at {limit} users"}})"));
  }
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(catalog.render(Lang::kEn, "error.limit_reached", {{"limit", "7"}}), "Your plan stops at 7 users");
}

}  // namespace
}  // namespace ms::i18n
