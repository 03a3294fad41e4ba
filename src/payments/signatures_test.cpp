// The gateways' signature schemes against the vectors in reference/payments.md.
#include "payments/signatures.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace ms::payments {
namespace {

// NOWPayments: the documented IPN example (comma fixed, order_id set, five keys removed).
const char* kNowBody =
    R"({"payment_id":123456789,"payment_status":"finished","pay_address":"address","price_amount":1,)"
    R"("price_currency":"usd","pay_amount":15,"actually_paid":15,"pay_currency":"trx","order_id":"RGDBP-21314",)"
    R"("order_description":null,"purchase_id":"123456789","outcome_amount":14.8106,"outcome_currency":"trx",)"
    R"("fee":{"currency":"btc","depositFee":0.09853637216235617,"withdrawalFee":0,"serviceFee":0}})";
const char* kNowCanonical =
    R"({"actually_paid":15,"fee":{"currency":"btc","depositFee":0.09853637216235617,"serviceFee":0,)"
    R"("withdrawalFee":0},"order_description":null,"order_id":"RGDBP-21314","outcome_amount":14.8106,)"
    R"("outcome_currency":"trx","pay_address":"address","pay_amount":15,"pay_currency":"trx","payment_id":123456789,)"
    R"("payment_status":"finished","price_amount":1,"price_currency":"usd","purchase_id":"123456789"})";
const char* kNowSig =
    "1acf4cb7ce0805a7e46528c5811ed06744e52bf0385da3ca9e99bfc8520adbb10738d80eed44af78e1b33959a5cc74ab1165afef9f055f"
    "5343d853f8c9a32589";

TEST(NowPaymentsSignature, ReproducesTheReferenceVector) {
  auto body = nlohmann::json::parse(kNowBody);
  EXPECT_EQ(nowpayments_canonical(body), kNowCanonical);
  EXPECT_EQ(nowpayments_signature("test_ipn_secret", body), kNowSig);
  // The PHP example trims the secret.
  EXPECT_EQ(nowpayments_signature("  test_ipn_secret\n", body), kNowSig);
}

TEST(NowPaymentsSignature, VerifiesTheRawBodyInAnyKeyOrder) {
  auto ok = verify_nowpayments("test_ipn_secret", kNowBody, kNowSig);
  ASSERT_TRUE(ok) << ok.error().to_string();
  EXPECT_EQ((*ok)["order_id"], "RGDBP-21314");
  std::string upper(kNowSig);
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(verify_nowpayments("test_ipn_secret", kNowBody, upper));
}

TEST(NowPaymentsSignature, RejectsForgeriesAndGarbage) {
  EXPECT_EQ(verify_nowpayments("other_secret", kNowBody, kNowSig).error().code, ErrorCode::kUnauthenticated);
  std::string tampered(kNowBody);
  tampered.replace(tampered.find("\"price_amount\":1"), 16, "\"price_amount\":2");
  EXPECT_EQ(verify_nowpayments("test_ipn_secret", tampered, kNowSig).error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(verify_nowpayments("test_ipn_secret", kNowBody, "").error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(verify_nowpayments("", kNowBody, kNowSig).error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(verify_nowpayments("test_ipn_secret", "not json", kNowSig).error().code, ErrorCode::kInvalidArgument);
}

// Stripe: the SDK fixture with t=1700000000 (reference/payments.md, locally computed).
const char* kStripePayload =
    "{\n  \"id\": \"evt_test_webhook\",\n  \"object\": \"event\",\n  \"data\": { \"object\": { \"id\": \"rdr_123\", "
    "\"object\": \"terminal.reader\" } }\n}";
const char* kStripeSig = "3bfab77baf5f7b6991a46c9b53b6547d7afc56148b10468fcad9f35c1992ffbd";

TEST(StripeSignature, ReproducesTheReferenceVector) {
  EXPECT_EQ(stripe_signature("whsec_test_secret", 1700000000, kStripePayload), kStripeSig);
  EXPECT_TRUE(verify_stripe("whsec_test_secret", kStripePayload, std::string("t=1700000000,v1=") + kStripeSig,
                            1700000000 + 299));
}

TEST(StripeSignature, FollowsTheSdkCases) {
  const std::string good = std::string("t=1700000000,v1=") + kStripeSig;
  auto bad_header = verify_stripe("whsec_test_secret", kStripePayload, "bad_header", 1700000000);
  EXPECT_EQ(bad_header.error().message, "Unable to extract timestamp and signatures from header");
  auto v0_only = verify_stripe("whsec_test_secret", kStripePayload, "t=1700000000,v0=abc", 1700000000);
  EXPECT_EQ(v0_only.error().message, "No signatures found with expected scheme v1");
  auto wrong = verify_stripe("whsec_test_secret", kStripePayload, "t=1700000000,v1=bad_signature", 1700000000);
  EXPECT_EQ(wrong.error().message, "No signatures found matching the expected signature for payload");
  EXPECT_TRUE(verify_stripe("whsec_test_secret", kStripePayload, good + ",v1=bad_signature", 1700000000));
  // Too old; the future passes (as in the SDKs); tolerance 0 disables the check.
  auto old = verify_stripe("whsec_test_secret", kStripePayload, good, 1700000000 + 301);
  EXPECT_EQ(old.error().message, "Timestamp outside the tolerance zone");
  EXPECT_TRUE(verify_stripe("whsec_test_secret", kStripePayload, good, 1700000000 - 5000));
  EXPECT_TRUE(verify_stripe("whsec_test_secret", kStripePayload, good, 1800000000, 0));
  // The key is the whole whsec_ string, and a byte of the body changes everything.
  EXPECT_FALSE(verify_stripe("test_secret", kStripePayload, good, 1700000000));
  EXPECT_FALSE(verify_stripe("whsec_test_secret", std::string(kStripePayload) + " ", good, 1700000000));
}

// PayPal: the Java SDK's published vector (message and CRC; the RSA check is the test
// server's, see tests/payments).
TEST(PayPalSignature, BuildsThePublishedSignedMessage) {
  std::ifstream in(std::string(MS_SOURCE_DIR) + "/tests/payments/vectors/paypal_body.json", std::ios::binary);
  ASSERT_TRUE(in) << "vector file missing";
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string body = ss.str();
  EXPECT_EQ(crc32(body), 3494065244u);
  EXPECT_EQ(
      paypal_signed_message("071f7d20-1584-11e7-abf0-6b62a8a99ac4", "2017-03-30T20:04:05Z", "96605875FF6516633", body),
      "071f7d20-1584-11e7-abf0-6b62a8a99ac4|2017-03-30T20:04:05Z|96605875FF6516633|3494065244");
  EXPECT_EQ(crc32("123456789"), 0xCBF43926u);  // the CRC-32 check value
}

}  // namespace
}  // namespace ms::payments
