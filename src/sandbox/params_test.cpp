// Parameter parsing (all four encodings) and text formatting, as plain functions.
#include <gtest/gtest.h>

#include "sandbox/params.hpp"
#include "sandbox/text_format.hpp"
#include "sandbox/webhook_client.hpp"

namespace ms::sandbox {
namespace {

TEST(Params, QueryStringWinsOverBodyAndJsonKeepsRawValues) {
  auto p = parse_params("/x?chat_id=1&text=from+query", "application/json; charset=utf-8",
                        R"({"chat_id":2,"text":"body","reply_markup":{"inline_keyboard":[]},"flag":true})");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->str("chat_id"), "1");
  EXPECT_EQ(p->str("text"), "from query");
  EXPECT_EQ(p->str("reply_markup"), R"({"inline_keyboard":[]})");
  EXPECT_TRUE(p->boolean("flag"));
  EXPECT_EQ(p->integer("missing", 7), 7);
}

TEST(Params, UrlencodedAndMultipart) {
  auto form = parse_params("/x", "application/x-www-form-urlencoded", "a=%D8%B3%D9%84%D8%A7%D9%85&b=YES&a=second");
  ASSERT_TRUE(form);
  EXPECT_EQ(form->str("a"), "\xD8\xB3\xD9\x84\xD8\xA7\xD9\x85");
  EXPECT_TRUE(form->boolean("b"));
  EXPECT_FALSE(parse_params("/x", "application/x-www-form-urlencoded", "a=%zz"));

  std::string body =
      "--B\r\nContent-Disposition: form-data; name=\"chat_id\"\r\n\r\n42\r\n"
      "--B\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"p.png\"\r\nContent-Type: image/png\r\n\r\n"
      "\x01\x02\r\n\x03\r\n--B--\r\n";
  auto multi = parse_params("/x", "multipart/form-data; boundary=B", body);
  ASSERT_TRUE(multi) << multi.error().to_string();
  EXPECT_EQ(multi->integer("chat_id"), 42);
  ASSERT_NE(multi->file("photo"), nullptr);
  EXPECT_EQ(multi->file("photo")->data, "\x01\x02\r\n\x03");
  EXPECT_EQ(multi->file("photo")->file_name, "p.png");
  EXPECT_FALSE(parse_params("/x", "multipart/form-data", body));
  EXPECT_FALSE(parse_params("/x", "multipart/form-data; boundary=B", "--B\r\nno end"));
}

TEST(TextFormat, ParseModes) {

  auto html = parse_entities("\xF0\x9F\x98\x80 <a href=\"https://t.me\">link</a>", ParseMode::kHtml);
  ASSERT_TRUE(html);
  EXPECT_EQ(html->text, "\xF0\x9F\x98\x80 link");
  EXPECT_EQ(html->entities[0]["offset"], 3);
  EXPECT_EQ(html->entities[0]["url"], "https://t.me");
  EXPECT_EQ(parse_entities("<foo>x</foo>", ParseMode::kHtml).error().message, "Unsupported start tag \"foo\" at byte offset 0");
  EXPECT_EQ(parse_entities("<b>x</i>", ParseMode::kHtml).error().message,
            "Unmatched end tag at byte offset 4, expected \"</b>\", found \"</i>\"");

  auto md = parse_entities("*bold* and \\. `code`", ParseMode::kMarkdownV2);
  ASSERT_TRUE(md);
  EXPECT_EQ(md->text, "bold and . code");
  EXPECT_EQ(md->entities.size(), 2u);
  EXPECT_EQ(parse_entities("price 1.5", ParseMode::kMarkdownV2).error().message,
            "Character '.' is reserved and must be escaped with the preceding '\\'");
  EXPECT_EQ(parse_entities("*open", ParseMode::kMarkdownV2).error().message, "Can't find end of Bold entity at byte offset 0");

  FormattedText t{"  /start now  ", nlohmann::json::array()};
  trim_formatted(t);
  add_command_entities(t);
  EXPECT_EQ(t.text, "/start now");
  EXPECT_EQ(t.entities, nlohmann::json::parse(R"([{"type":"bot_command","offset":0,"length":6}])"));
}

TEST(WebhookUrl, OnlyLoopbackHttp) {
  auto ok = parse_webhook_url("http://127.0.0.1:8443/telegram/7?x=1");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->port, 8443);
  EXPECT_EQ(ok->target, "/telegram/7?x=1");
  EXPECT_EQ(parse_webhook_url("http://localhost").value().target, "/");
  EXPECT_EQ(parse_webhook_url("http://example.com/x").error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(parse_webhook_url("ftp://127.0.0.1/").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(parse_webhook_url("http://127.0.0.1:99999/").error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace ms::sandbox
