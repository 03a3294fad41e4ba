#include "telegram/errors.hpp"

#include <gtest/gtest.h>

namespace ms::telegram {
namespace {

using nlohmann::json;

TEST(Errors, SuccessEnvelopeYieldsResult) {
  auto r = parse_envelope(json::parse(R"({"ok":true,"result":true,"description":"Webhook was set"})"));
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, json(true));
  auto m = parse_envelope(json::parse(R"({"ok":true,"result":{"message_id":5}})"));
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["message_id"], 5);
}

TEST(Errors, RateLimitEnvelopeCarriesRetryAfter) {
  auto r = parse_envelope(json::parse(
      R"({"ok":false,"error_code":429,"description":"Too Many Requests: retry after 17","parameters":{"retry_after":17}})"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error_code, 429);
  EXPECT_EQ(r.error().retry_after, 17);
  EXPECT_TRUE(is_rate_limited(r.error()));
  EXPECT_FALSE(is_blocked(r.error()));
  const Error e = to_error(r.error());
  EXPECT_EQ(e.code, ErrorCode::kLimitExceeded);
  EXPECT_EQ(e.message, "telegram 429: Too Many Requests: retry after 17 (retry after 17 s)");
}

TEST(Errors, MigrateToChatId) {
  auto r = parse_envelope(json::parse(
      R"({"ok":false,"error_code":400,"description":"Bad Request: group chat was upgraded to a supergroup chat","parameters":{"migrate_to_chat_id":-1001234567890}})"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().migrate_to_chat_id, -1001234567890);
  EXPECT_FALSE(r.error().retry_after);
  EXPECT_EQ(to_error(r.error()).code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(
      error_envelope(r.error()),
      json::parse(
          R"({"ok":false,"error_code":400,"description":"Bad Request: group chat was upgraded to a supergroup chat","parameters":{"migrate_to_chat_id":-1001234567890}})"));
}

TEST(Errors, Classifiers) {
  auto err = [](int code, const char* d) {
    return parse_envelope(json{{"ok", false}, {"error_code", code}, {"description", d}}).error();
  };
  EXPECT_TRUE(is_blocked(err(403, "Forbidden: bot was blocked by the user")));
  EXPECT_TRUE(is_unreachable_user(err(403, "Forbidden: bot was blocked by the user")));
  EXPECT_TRUE(is_unreachable_user(err(403, "Forbidden: user is deactivated")));
  EXPECT_FALSE(is_blocked(err(403, "Forbidden: bot was kicked from the group chat")));
  EXPECT_FALSE(is_unreachable_user(err(403, "Forbidden: bot was kicked from the group chat")));
  EXPECT_TRUE(is_unauthorized(err(401, "Unauthorized")));
  EXPECT_EQ(to_error(err(401, "Unauthorized")).code, ErrorCode::kUnauthenticated);
  EXPECT_TRUE(is_conflict(
      err(409, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running")));
  EXPECT_EQ(to_error(err(409, "Conflict")).code, ErrorCode::kConflict);
  EXPECT_EQ(to_error(err(403, "Forbidden: bot was blocked by the user")).code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(to_error(err(404, "Not Found")).code, ErrorCode::kNotFound);
  EXPECT_EQ(to_error(err(502, "Bad Gateway")).code, ErrorCode::kUnavailable);
  EXPECT_TRUE(is_transient(err(500, "Internal Server Error: restart")));
  EXPECT_FALSE(is_transient(err(400, "Bad Request: chat not found")));
  EXPECT_TRUE(is_not_modified(err(400,
                                  "Bad Request: message is not modified: specified new message content and reply "
                                  "markup are exactly the same as a current content and reply markup of the message")));
}

TEST(Errors, MalformedEnvelopesAreValuesNotCrashes) {
  for (const char* body :
       {R"([1,2])", R"({"result":1})", R"({"ok":"yes"})", R"({"ok":false,"description":"x"})", R"({"ok":true})"}) {
    auto r = parse_envelope(json::parse(body));
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error().error_code, 0) << body;
    EXPECT_TRUE(is_transient(r.error()));
  }
  auto html = parse_envelope_text("<html><body>502 Bad Gateway</body></html>", 502);
  ASSERT_FALSE(html);
  EXPECT_EQ(html.error().error_code, 502);
  auto empty413 = parse_envelope_text("", 413);
  ASSERT_FALSE(empty413);
  EXPECT_EQ(empty413.error().error_code, 413);
  EXPECT_EQ(to_error(empty413.error()).code, ErrorCode::kInvalidArgument);
  auto good = parse_envelope_text(R"({"ok":true,"result":[]})", 200);
  ASSERT_TRUE(good);
  EXPECT_TRUE(good->is_array());
}

TEST(Errors, BuildersMatchServerShapes) {
  EXPECT_EQ(
      error_envelope(too_many_requests(3)),
      json::parse(
          R"({"ok":false,"error_code":429,"description":"Too Many Requests: retry after 3","parameters":{"retry_after":3}})"));
  EXPECT_EQ(ok_envelope(true, "Webhook was deleted"),
            json::parse(R"({"ok":true,"result":true,"description":"Webhook was deleted"})"));
  EXPECT_EQ(ok_envelope(json{{"message_id", 1}}), json::parse(R"({"ok":true,"result":{"message_id":1}})"));
  // The envelope we write is the envelope we read.
  TelegramError e = too_many_requests(9);
  EXPECT_EQ(parse_envelope(error_envelope(e)).error(), e);
}

}  // namespace
}  // namespace ms::telegram
