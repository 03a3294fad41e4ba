#include "telegram/keyboard.hpp"

#include <gtest/gtest.h>

#include "telegram/limits.hpp"

namespace ms::telegram {
namespace {

constexpr std::string_view kKey = "keyboard-test-key";

TEST(InlineKeyboardBuilder, PersianRowsAreMirroredAndButtonsDecodeBack) {
  auto fa = InlineKeyboardBuilder(kKey, Direction::kRtl)
                .button("خرید", "buy")
                .button("سرویس‌های من", "svc", {std::int64_t{7}})
                .row()
                .link("راهنما", "https://example.org/help")
                .build();
  ASSERT_TRUE(fa) << fa.error().to_string();
  ASSERT_EQ(fa->inline_keyboard.size(), 2u);
  // Reading order starts on the right: the first button given is the last in the row.
  EXPECT_EQ(fa->inline_keyboard[0][0].text, "سرویس‌های من");
  EXPECT_EQ(fa->inline_keyboard[0][1].text, "خرید");
  auto decoded = decode_callback(*fa->inline_keyboard[0][0].callback_data, kKey);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->action, "svc");
  EXPECT_EQ(decoded->int_at(0).value(), 7);
  EXPECT_EQ(fa->inline_keyboard[1][0].url, "https://example.org/help");

  auto en = InlineKeyboardBuilder(kKey, Direction::kLtr).button("Buy", "buy").button("My services", "svc").build();
  ASSERT_TRUE(en);
  EXPECT_EQ(en->inline_keyboard[0][0].text, "Buy");
}

TEST(InlineKeyboardBuilder, ColumnsWrapAndLimitsAreErrors) {
  InlineKeyboardBuilder plans(kKey, Direction::kLtr);
  plans.columns(2);
  for (int i = 0; i < 5; ++i) plans.button("plan " + std::to_string(i), "plan", {std::int64_t{i}});
  auto k = plans.build();
  ASSERT_TRUE(k);
  ASSERT_EQ(k->inline_keyboard.size(), 3u);
  EXPECT_EQ(k->inline_keyboard[2].size(), 1u);

  auto long_arg = InlineKeyboardBuilder(kKey, Direction::kLtr).button("x", "a", {std::string(60, 'z')}).build();
  ASSERT_FALSE(long_arg);
  EXPECT_EQ(long_arg.error().code, ErrorCode::kInvalidArgument);

  InlineKeyboardBuilder wide(kKey, Direction::kLtr);
  for (int i = 0; i < 9; ++i) wide.button(std::to_string(i), "n");
  EXPECT_FALSE(wide.build());
  EXPECT_FALSE(InlineKeyboardBuilder(kKey, Direction::kLtr).button("", "n").build());
}

TEST(ReplyKeyboard, MirroredForPersianAndResized) {
  auto k = reply_keyboard({{"🛒 خرید", "👤 حساب"}, {}, {"☎️ پشتیبانی"}}, Direction::kRtl);
  ASSERT_EQ(k.keyboard.size(), 2u);
  EXPECT_EQ(k.keyboard[0][0].text, "👤 حساب");
  EXPECT_TRUE(k.resize_keyboard);
}

TEST(MessageText, EscapeSplitAndBars) {
  EXPECT_EQ(escape_html("<b>\"A&B\"</b>"), "&lt;b&gt;&quot;A&amp;B&quot;&lt;/b&gt;");

  // Persian lines and emoji (two UTF-16 units each): no piece over the limit, nothing lost,
  // cut at line breaks.
  std::string text;
  for (int i = 0; i < 300; ++i) text += "سرویس شماره " + std::to_string(i) + " 🚀 فعال است\n";
  auto pieces = split_message(text, 4096);
  ASSERT_GT(pieces.size(), 1u);
  std::string joined;
  for (const auto& p : pieces) {
    EXPECT_LE(limits::utf16_length(p), 4096u);
    EXPECT_EQ(p.rfind("سرویس", 0), 0u) << "a piece must start at a line";
    joined += p + "\n";
  }
  EXPECT_EQ(joined, text);

  // One long word: cut at characters, never inside one.
  const std::string word(10, 'a');
  auto cut = split_message("🚀🚀🚀" + word, 5);
  ASSERT_GE(cut.size(), 2u);
  EXPECT_EQ(cut[0], "🚀🚀");
  for (const auto& p : cut) EXPECT_LE(limits::utf16_length(p), 5u);
  EXPECT_TRUE(split_message("", 10).empty());

  EXPECT_EQ(progress_bar(0.5, 4), "▰▰▱▱");
  EXPECT_EQ(progress_bar(2.0, 3), "▰▰▰");
  EXPECT_EQ(progress_bar(-1, 2), "▱▱");
}

}  // namespace
}  // namespace ms::telegram
