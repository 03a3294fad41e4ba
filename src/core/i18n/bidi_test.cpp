#include "core/i18n/bidi.hpp"

#include <string>

#include <gtest/gtest.h>

namespace ms::i18n {
namespace {

TEST(BidiTest, IsolateWrapsWithFirstStrongIsolate) {
  EXPECT_EQ(isolate("@ali_92"), "\u2068@ali_92\u2069");
  EXPECT_EQ(isolate("https://example.com/a?b=1"), "\u2068https://example.com/a?b=1\u2069");
  EXPECT_EQ(isolate("125,000"), "\u2068125,000\u2069");
}

TEST(BidiTest, IsolateLtrForcesLeftToRight) { EXPECT_EQ(isolate_ltr("علی"), "\u2066علی\u2069"); }

TEST(BidiTest, EmptyFragmentStaysEmpty) {
  EXPECT_EQ(isolate(""), "");
  EXPECT_EQ(isolate_ltr(""), "");
  EXPECT_EQ(isolate("\u200F\u2069"), "");  // only controls: nothing left to show
}

TEST(BidiTest, UserTextCannotEscapeTheIsolate) {
  // A username carrying PDI then RLO would otherwise close our isolate and flip what follows.
  EXPECT_EQ(isolate("evil\u2069\u202Egnp.exe"), "\u2068evilgnp.exe\u2069");
  EXPECT_EQ(isolate_ltr("\u2067x\u202Ay\u202C"), "\u2066xy\u2069");
}

TEST(BidiTest, StripKeepsEverythingButControls) {
  // ZWNJ (U+200C) is part of Persian spelling, not a bidi control.
  EXPECT_EQ(strip_bidi_controls("سرویس\u200cهای من"), "سرویس\u200cهای من");
  EXPECT_EQ(strip_bidi_controls("a\u200Eb\u200Fc\u061Cd"), "abcd");
  EXPECT_EQ(strip_bidi_controls("\u202A\u202B\u202C\u202D\u202E\u2066\u2067\u2068\u2069"), "");
  EXPECT_EQ(strip_bidi_controls("⭐ 150"), "⭐ 150");
  EXPECT_EQ(strip_bidi_controls(""), "");
  EXPECT_EQ(strip_bidi_controls("ok\xE2\x81"), "ok\xE2\x81");  // truncated sequence passes through
  EXPECT_EQ(strip_bidi_controls("\xFF\xFE"), "\xFF\xFE");
}

TEST(BidiTest, ContainsRtl) {
  EXPECT_TRUE(contains_rtl("سلام"));
  EXPECT_TRUE(contains_rtl("hello سلام"));
  EXPECT_TRUE(contains_rtl("שלום"));
  EXPECT_TRUE(contains_rtl("\uFEFB"));  // Arabic presentation form
  EXPECT_FALSE(contains_rtl("hello"));
  EXPECT_FALSE(contains_rtl("۱۲۳ ٤٥"));  // digits are not letters
  EXPECT_FALSE(contains_rtl(""));
  EXPECT_FALSE(contains_rtl("\xD8"));  // a lone lead byte is not a letter
}

TEST(BidiTest, IsolatedFragmentInsidePersianText) {
  const std::string text = "برای پشتیبانی به " + isolate("@shop_support") + " پیام دهید.";
  EXPECT_EQ(text, "برای پشتیبانی به \u2068@shop_support\u2069 پیام دهید.");
}

}  // namespace
}  // namespace ms::i18n
