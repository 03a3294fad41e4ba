#include "core/i18n/lang.hpp"

#include <gtest/gtest.h>

namespace ms::i18n {
namespace {

TEST(LangTest, PrintsCodes) {
  EXPECT_EQ(to_string(Lang::kFa), "fa");
  EXPECT_EQ(to_string(Lang::kEn), "en");
}

TEST(LangTest, RoundTrips) {
  for (const Lang lang : {Lang::kFa, Lang::kEn}) EXPECT_EQ(parse_lang(to_string(lang)), lang);
}

TEST(LangTest, AcceptsRegionsAndCase) {
  EXPECT_EQ(parse_lang("FA"), Lang::kFa);
  EXPECT_EQ(parse_lang("fa-IR"), Lang::kFa);
  EXPECT_EQ(parse_lang("fa_IR"), Lang::kFa);
  EXPECT_EQ(parse_lang("En"), Lang::kEn);
  EXPECT_EQ(parse_lang("en-US"), Lang::kEn);
  EXPECT_EQ(parse_lang("en-GB"), Lang::kEn);
}

TEST(LangTest, RejectsOthers) {
  for (const char* tag : {"", "f", "fas", "de", "ar", "fa-", "-fa", "e n", "english", "persian", "fa IR"}) {
    EXPECT_EQ(parse_lang(tag), std::nullopt) << tag;
  }
}

TEST(LangTest, Direction) {
  EXPECT_TRUE(is_rtl(Lang::kFa));
  EXPECT_FALSE(is_rtl(Lang::kEn));
}

}  // namespace
}  // namespace ms::i18n
