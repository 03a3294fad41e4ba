#include "telegram/limits.hpp"

#include <gtest/gtest.h>

#include <string>

namespace ms::telegram::limits {
namespace {

using nlohmann::json;

std::string repeat(std::string_view s, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += s;
  return out;
}

std::string description(const Check& c) { return c ? c->description : std::string("ok"); }

TEST(Limits, MakeErrorFollowsServerRule) {
  EXPECT_EQ(make_error(400, "Message text is empty").description, "Bad Request: message text is empty");
  EXPECT_EQ(make_error(400, "BUTTON_DATA_INVALID").description, "Bad Request: BUTTON_DATA_INVALID");
  EXPECT_EQ(make_error(400, "Bad Request: chat not found").description, "Bad Request: chat not found");
  EXPECT_EQ(make_error(403, "Bot was blocked by the user").description, "Forbidden: bot was blocked by the user");
  EXPECT_EQ(make_error(401, "Unauthorized").description, "Unauthorized");
  EXPECT_EQ(make_error(404, "Chat not found"), (LimitError{400, "Bad Request: chat not found"}));
  EXPECT_EQ(make_error(429, "", 17), (LimitError{429, "Too Many Requests: retry after 17"}));
  EXPECT_EQ(make_error(500, "Restart").description, "Internal Server Error: restart");
}

TEST(Limits, Utf16LengthCountsSurrogatePairs) {
  EXPECT_EQ(utf16_length(""), 0u);
  EXPECT_EQ(utf16_length("abc"), 3u);
  EXPECT_EQ(utf16_length("سلام"), 4u);  // 8 bytes, 4 units
  EXPECT_EQ(utf16_length("😀"), 2u);     // 4 bytes, a surrogate pair
  EXPECT_EQ(utf16_length("a😀ب"), 4u);
  EXPECT_EQ(utf16_length("\xff\xfe"), 2u);  // invalid bytes count one each
  EXPECT_TRUE(is_valid_utf8("سلام 😀"));
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));      // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));  // a surrogate
  EXPECT_FALSE(is_valid_utf8("\xe2\x82"));      // truncated
}

TEST(Limits, MessageTextBounds) {
  EXPECT_EQ(description(check_message_text("")), "Bad Request: message text is empty");
  EXPECT_EQ(description(check_message_text(" \n\t ")), "Bad Request: text must be non-empty");
  EXPECT_EQ(description(check_message_text(repeat("a", 4096))), "ok");
  EXPECT_EQ(description(check_message_text(repeat("a", 4097))), "Bad Request: message is too long");
  // Persian letters are one unit each: 4096 of them (8192 bytes) fit.
  EXPECT_EQ(description(check_message_text(repeat("س", 4096))), "ok");
  EXPECT_EQ(description(check_message_text(repeat("س", 4097))), "Bad Request: message is too long");
  // Emoji are two units each.
  EXPECT_EQ(description(check_message_text(repeat("😀", 2048))), "ok");
  EXPECT_EQ(description(check_message_text(repeat("😀", 2049))), "Bad Request: message is too long");
  // Leading/trailing whitespace is trimmed before counting.
  EXPECT_EQ(description(check_message_text("   " + repeat("a", 4096) + "\n\n")), "ok");
  EXPECT_EQ(description(check_message_text(repeat("a", 32769))), "Bad Request: text is too long");
  EXPECT_EQ(description(check_message_text("hi", "Markdown2")), "Bad Request: unsupported parse_mode");
  EXPECT_EQ(description(check_message_text("hi", "html")), "ok");
}

TEST(Limits, LengthIsCountedAfterEntityParsing) {
  const std::string bold_html = "<b>" + repeat("a", 4000) + "</b>" + repeat("&lt;", 96);
  EXPECT_GT(bold_html.size(), 4096u);
  EXPECT_EQ(description(check_message_text(bold_html, "HTML")), "ok");
  EXPECT_EQ(description(check_message_text(bold_html + "x", "HTML")), "Bad Request: message is too long");
  EXPECT_EQ(description(check_message_text("<b></b>", "HTML")), "Bad Request: text must be non-empty");
  EXPECT_EQ(visible_text("<a href=\"https://x.y\">لینک</a> &amp; &#1575;", "HTML"), "لینک & ا");
  EXPECT_EQ(visible_text("*bold* _it_ [link](https://e.com/a\\)b) \\. ||sp||", "MarkdownV2"), "bold it link . sp");
  EXPECT_EQ(visible_text("```cpp\nint x;```", "MarkdownV2"), "int x;");
  EXPECT_EQ(visible_text("*b* `c`", "Markdown"), "b c");
  EXPECT_EQ(visible_text("*b*", ""), "*b*");
}

TEST(Limits, CaptionCallbackAndAnswerText) {
  EXPECT_EQ(description(check_caption("")), "ok");
  EXPECT_EQ(description(check_caption(repeat("ر", 1024))), "ok");
  EXPECT_EQ(description(check_caption(repeat("ر", 1025))), "Bad Request: message caption is too long");
  // The raw size is checked before parsing, for captions too.
  EXPECT_EQ(description(check_caption("<b>" + repeat("a", 1000) + "</b>" + repeat("<i></i>", 4000), "HTML")), "ok");
  EXPECT_EQ(description(check_caption(repeat("<i></i>", 4700), "HTML")), "Bad Request: text is too long");
  // The halves, for a caller that parses markup itself.
  EXPECT_EQ(description(check_raw_text("", false)), "ok");
  EXPECT_EQ(description(check_raw_text("")), "Bad Request: message text is empty");
  EXPECT_EQ(description(check_visible_text(" \n")), "Bad Request: text must be non-empty");
  EXPECT_EQ(description(check_visible_text(repeat("😀", 2049))), "Bad Request: message is too long");
  EXPECT_EQ(description(check_visible_caption("")), "ok");
  EXPECT_EQ(description(check_visible_caption(repeat("a", 1025))), "Bad Request: message caption is too long");
  EXPECT_EQ(description(check_callback_data(repeat("x", 64))), "ok");
  EXPECT_EQ(description(check_callback_data(repeat("x", 65))), "Bad Request: BUTTON_DATA_INVALID");
  // 64 bytes, not characters: 33 Persian letters are 66 bytes.
  EXPECT_EQ(description(check_callback_data(repeat("ب", 33))), "Bad Request: BUTTON_DATA_INVALID");
  EXPECT_EQ(description(check_callback_data("")),
            "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard");
  EXPECT_EQ(description(check_callback_answer_text(repeat("ا", 200))), "ok");
  EXPECT_EQ(description(check_callback_answer_text(repeat("ا", 201))), "Bad Request: MESSAGE_TOO_LONG");
}

TEST(Limits, ReplyMarkupStructure) {
  EXPECT_EQ(description(check_reply_markup(json::parse(R"({"inline_keyboard":[[{"text":"a","callback_data":"b"}]]})"))),
            "ok");
  EXPECT_EQ(description(check_reply_markup(json::parse(R"({"keyboard":[["a",{"text":"b","request_contact":true}]]})"))),
            "ok");
  EXPECT_EQ(description(check_reply_markup(json::parse(R"({"remove_keyboard":true})"))), "ok");
  EXPECT_EQ(description(check_reply_markup(json::parse(R"("x")"))), "Bad Request: object expected as reply markup");
  EXPECT_EQ(description(check_reply_markup(json::parse(R"({"keyboard":["a"]})"))),
            "Bad Request: field \"keyboard\" must be an Array of Arrays");
  EXPECT_EQ(description(check_reply_markup(json::parse(R"({"inline_keyboard":[{"text":"a"}]})"))),
            "Bad Request: field \"inline_keyboard\" of the InlineKeyboardMarkup must be an Array of Arrays");
  EXPECT_EQ(description(check_reply_markup(json::parse(R"({"inline_keyboard":[[{"text":"a"}]]})"))),
            "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard");
  EXPECT_EQ(description(check_reply_markup(json::parse(R"({"inline_keyboard":[[{"callback_data":"a"}]]})"))),
            "Bad Request: can't parse inline keyboard button: Can't find field \"text\"");
  EXPECT_EQ(description(check_reply_markup(json::parse(R"({"inline_keyboard":[[{"text":1,"url":"u"}]]})"))),
            "Bad Request: can't parse inline keyboard button: Field \"text\" must be of type String");
  EXPECT_EQ(description(check_reply_markup(json::parse(R"({"inline_keyboard":[["a"]]})"))),
            "Bad Request: can't parse inline keyboard button: InlineKeyboardButton must be an Object");
  EXPECT_EQ(description(check_reply_markup(json::parse(R"({"keyboard":[[1]]})"))),
            "Bad Request: can't parse keyboard button: KeyboardButton must be a String or an Object");
  json long_data = {{"inline_keyboard", {{{{"text", "a"}, {"callback_data", repeat("z", 65)}}}}}};
  EXPECT_EQ(description(check_reply_markup(long_data)), "Bad Request: BUTTON_DATA_INVALID");

  json row = json::array();
  for (int i = 0; i < 9; ++i) row.push_back({{"text", "b"}, {"callback_data", "d"}});
  EXPECT_EQ(description(check_reply_markup({{"inline_keyboard", {row}}})), "Bad Request: reply markup is too long");
  row.erase(row.begin());
  json rows = json::array();
  for (int i = 0; i < 12; ++i) rows.push_back(row);  // 96 buttons
  EXPECT_EQ(description(check_reply_markup({{"inline_keyboard", rows}})), "ok");
  rows.push_back(row);  // 104
  EXPECT_EQ(description(check_reply_markup({{"inline_keyboard", rows}})), "Bad Request: reply markup is too long");
}

TEST(Limits, CommandsDescriptionsSecretTokensAndChatIds) {
  EXPECT_EQ(description(check_bot_commands(json::parse(R"([{"command":"/start","description":"شروع"}])"))), "ok");
  EXPECT_EQ(description(check_bot_commands(json::parse(R"([{"command":"/","description":"x"}])"))),
            "Bad Request: command must be non-empty");
  EXPECT_EQ(description(check_bot_commands(json{{{"command", repeat("a", 33)}, {"description", "x"}}})),
            "Bad Request: command length must not exceed 32");
  EXPECT_EQ(description(check_bot_commands(json::parse(R"([{"command":"help","description":"  "}])"))),
            "Bad Request: command description must be non-empty");
  EXPECT_EQ(description(check_bot_commands(json{{{"command", "help"}, {"description", repeat("d", 257)}}})),
            "Bad Request: command description length must not exceed 256");
  EXPECT_EQ(description(check_bot_commands(json::parse(R"({"command":"x"})"))),
            "Bad Request: expected an Array of BotCommand");
  EXPECT_EQ(description(check_description(repeat("د", 512))), "ok");
  EXPECT_NE(description(check_description(repeat("د", 513))), "ok");
  EXPECT_EQ(description(check_short_description(repeat("د", 120))), "ok");
  EXPECT_NE(description(check_short_description(repeat("د", 121))), "ok");
  EXPECT_EQ(description(check_secret_token("Abc_09-x")), "ok");
  EXPECT_EQ(description(check_secret_token("a b")), "Bad Request: secret token contains unallowed characters");
  EXPECT_EQ(description(check_secret_token(repeat("a", 257))), "Bad Request: secret token is too long");
  EXPECT_EQ(description(check_chat_id(json(""))), "Bad Request: chat_id is empty");
  EXPECT_EQ(description(check_chat_id(json())), "Bad Request: chat_id is empty");
  EXPECT_EQ(description(check_chat_id(json(-1001234567890))), "ok");
}

TEST(Limits, StarsInvoice) {
  const json one = json::parse(R"([{"label":"1 month","amount":250}])");
  StarsInvoice inv{"VPN 1 month", "30 days, 50 GB", "order:77", "XTR", &one, std::nullopt};
  EXPECT_EQ(description(check_stars_invoice(inv)), "ok");
  StarsInvoice no_title = inv;
  no_title.title = "";
  EXPECT_EQ(description(check_stars_invoice(no_title)), "Bad Request: parameter \"title\" is required");
  StarsInvoice usd = inv;
  usd.currency = "USD";
  EXPECT_NE(description(check_stars_invoice(usd)), "ok");
  const json two = json::parse(R"([{"label":"a","amount":1},{"label":"b","amount":2}])");
  StarsInvoice many = inv;
  many.prices = &two;
  EXPECT_NE(description(check_stars_invoice(many)), "ok");
  const json none = json::array();
  StarsInvoice empty = inv;
  empty.prices = &none;
  EXPECT_EQ(description(check_stars_invoice(empty)), "Bad Request: there must be at least one price");
  const json not_array = json::object();
  StarsInvoice obj = inv;
  obj.prices = &not_array;
  EXPECT_EQ(description(check_stars_invoice(obj)), "Bad Request: expected an Array of labeled prices");
  const json no_amount = json::parse(R"([{"label":"a"}])");
  StarsInvoice missing = inv;
  missing.prices = &no_amount;
  EXPECT_EQ(description(check_stars_invoice(missing)), "Bad Request: can't parse labeled price: Can't find field \"amount\"");
  const json numeric_label = json::parse(R"([{"label":5,"amount":1}])");
  missing.prices = &numeric_label;
  EXPECT_EQ(description(check_stars_invoice(missing)),
            "Bad Request: can't parse labeled price: Field \"label\" must be of type String");
  StarsInvoice bad_payload = inv;
  bad_payload.payload = "\xff";
  EXPECT_EQ(description(check_stars_invoice(bad_payload)), "Bad Request: the payload must be encoded in UTF-8");
  const std::string long_payload = repeat("p", 129);
  StarsInvoice big = inv;
  big.payload = long_payload;
  EXPECT_NE(description(check_stars_invoice(big)), "ok");
  StarsInvoice sub = inv;
  sub.subscription_period = 2592000;
  EXPECT_EQ(description(check_stars_invoice(sub)), "ok");
  sub.subscription_period = 86400;
  EXPECT_NE(description(check_stars_invoice(sub)), "ok");
  EXPECT_EQ(description(check_pre_checkout_answer(false, "")), "Bad Request: parameter \"error_message\" is required");
  EXPECT_EQ(description(check_pre_checkout_answer(false, "sold out")), "ok");
  EXPECT_EQ(description(check_pre_checkout_answer(true, "")), "ok");
}

}  // namespace
}  // namespace ms::telegram::limits
