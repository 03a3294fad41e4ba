#include "telegram/callback_data.hpp"

#include <gtest/gtest.h>

namespace ms::telegram {
namespace {

const std::string kKey = "per-bot-secret-key-0123456789abcdef";

TEST(CallbackData, RoundTripsIntsAndStrings) {
  const std::vector<CallbackArg> args{std::int64_t{42}, std::int64_t{-7}, std::string("a|b~c"), std::string("")};
  auto data = encode_callback("plan.buy", args, kKey);
  ASSERT_TRUE(data) << data.error().to_string();
  EXPECT_LE(data->size(), 64u);
  auto back = decode_callback(*data, kKey);
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->action, "plan.buy");
  EXPECT_EQ(back->args, args);
  EXPECT_EQ(back->int_at(0).value(), 42);
  EXPECT_EQ(back->string_at(2).value(), "a|b~c");
  EXPECT_FALSE(back->int_at(2));
  EXPECT_FALSE(back->string_at(9));

  auto bare = encode_callback("menu", {}, kKey);
  ASSERT_TRUE(bare);
  EXPECT_EQ(decode_callback(*bare, kKey)->args.size(), 0u);
  EXPECT_EQ(decode_callback(*bare, kKey)->action, "menu");
}

TEST(CallbackData, PersianArguments) {
  const std::vector<CallbackArg> args{std::string("سرور آلمان"), std::int64_t{3}};
  auto data = encode_callback("srv", args, kKey);
  ASSERT_TRUE(data) << data.error().to_string();
  auto back = decode_callback(*data, kKey);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->string_at(0).value(), "سرور آلمان");
  EXPECT_EQ(back->int_at(1).value(), 3);
}

TEST(CallbackData, SixtyFourByteBound) {
  // "a" + "|'" + n + "|" + 12-char tag = n + 16 bytes.
  auto exact = encode_callback("a", {std::string(48, 'x')}, kKey);
  ASSERT_TRUE(exact);
  EXPECT_EQ(exact->size(), 64u);
  EXPECT_TRUE(decode_callback(*exact, kKey));
  auto over = encode_callback("a", {std::string(49, 'x')}, kKey);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, ErrorCode::kInvalidArgument);
  // Persian letters take 2 bytes each: 25 of them (50 bytes) no longer fit.
  std::string fa;
  for (int i = 0; i < 25; ++i) fa += "ب";
  EXPECT_FALSE(encode_callback("a", {fa}, kKey));
  // Escapes count too.
  EXPECT_FALSE(encode_callback("a", {std::string(25, '|')}, kKey));
  EXPECT_TRUE(encode_callback("a", {std::string(24, '|')}, kKey));
  EXPECT_EQ(decode_callback(*encode_callback("a", {std::string(24, '|')}, kKey), kKey)->string_at(0).value(),
            std::string(24, '|'));
}

TEST(CallbackData, RejectsBadInputToEncode) {
  EXPECT_EQ(encode_callback("", {}, kKey).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(encode_callback("has space", {}, kKey).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(encode_callback("a|b", {}, kKey).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(encode_callback(std::string(17, 'a'), {}, kKey).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(encode_callback("ok", {std::string("\xff")}, kKey).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(encode_callback("ok", {}, "").error().code, ErrorCode::kInvalidArgument);
}

TEST(CallbackData, EverySingleByteTamperIsDetected) {
  auto data = encode_callback("approve", {std::int64_t{9001}, std::string("رسید")}, kKey);
  ASSERT_TRUE(data);
  for (std::size_t pos = 0; pos < data->size(); ++pos) {
    for (int v = 0; v < 256; ++v) {
      if (static_cast<char>(v) == (*data)[pos]) continue;
      std::string forged = *data;
      forged[pos] = static_cast<char>(v);
      auto r = decode_callback(forged, kKey);
      ASSERT_FALSE(r) << "tamper at " << pos << " to " << v << " accepted";
      ASSERT_EQ(r.error().code, ErrorCode::kPermissionDenied);
    }
  }
}

TEST(CallbackData, ForgedTruncatedAndForeignDataIsDenied) {
  auto data = encode_callback("approve", {std::int64_t{1}}, kKey);
  ASSERT_TRUE(data);
  EXPECT_EQ(decode_callback(*data, "another-bot-key").error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(decode_callback(data->substr(0, data->size() - 1), kKey).error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(decode_callback(*data + "A", kKey).error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(decode_callback("approve|2", kKey).error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(decode_callback("", kKey).error().code, ErrorCode::kPermissionDenied);
  // Swapping the argument while keeping the old tag.
  std::string swapped = *data;
  swapped.replace(swapped.find("|1|"), 3, "|2|");
  EXPECT_EQ(decode_callback(swapped, kKey).error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(decode_callback(*data, "").error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace ms::telegram
