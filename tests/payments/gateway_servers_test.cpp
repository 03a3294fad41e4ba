// The test servers' own signing code against the documentation's vectors, so that what they
// sign is what the real gateways sign.
#include "gateway_servers.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace ms::payments::testing {
namespace {

std::string read(const std::string& name) {
  std::ifstream in(std::string(MS_SOURCE_DIR) + "/tests/payments/vectors/" + name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const char* kSig =
    "aBjgm5/xljRYu3G64Q0axISrP2xcy7WbW1u4UTCKnQvyprOZ1a1BBmqn2Jdr6ce8E76I3Ti/AL9y4VYSHyGSEaoE6dVQcCDebLbOXLH0fjTAbTc1/"
    "rmfdWmsk0DPltW84Y8W8jOHe3CLWDOwg5zmozyt+AceG2x5eOiw7mLSycaEoj/5RG+dOIWXnmWcLEArbG3VFshy0wuhZrKuGa9C/"
    "bD4Ku+"
    "Y9gK7Bv5I5IuGRVnTGpcFnVG0KxOyJxccLGyBVCIUMY5IZS7LkmJszQ3HZZFDTNihvgJHECSLwLhzUaysIye5G6CbbLdtAmeeb6wiDciEAvr2"
    "dFf+SplOR4Lrng==";

TEST(PayPalVector, TheSdksPublishedSignatureVerifies) {
  const std::string cert = read("paypal_testClientCert.crt");
  const std::string body = read("paypal_body.json");
  ASSERT_FALSE(cert.empty());
  ASSERT_FALSE(body.empty());
  auto ok = paypal_verify_offline(cert, "071f7d20-1584-11e7-abf0-6b62a8a99ac4", "2017-03-30T20:04:05Z",
                                  "96605875FF6516633", body, kSig);
  ASSERT_TRUE(ok) << ok.error().to_string();
  EXPECT_TRUE(*ok);
  // The SDK's negative case: another webhook id.
  auto wrong = paypal_verify_offline(cert, "071f7d20-1584-11e7-abf0-6b62a8a99ac4", "2017-03-30T20:04:05Z",
                                     "NotToBeFound", body, kSig);
  ASSERT_TRUE(wrong);
  EXPECT_FALSE(*wrong);
  auto tampered = paypal_verify_offline(cert, "071f7d20-1584-11e7-abf0-6b62a8a99ac4", "2017-03-30T20:04:05Z",
                                        "96605875FF6516633", body + " ", kSig);
  ASSERT_TRUE(tampered);
  EXPECT_FALSE(*tampered);
}

TEST(NowPaymentsVector, TheServersSigningReproducesIt) {
  const std::string body =
      R"({"payment_id":123456789,"payment_status":"finished","pay_address":"address","price_amount":1,)"
      R"("price_currency":"usd","pay_amount":15,"actually_paid":15,"pay_currency":"trx","order_id":"RGDBP-21314",)"
      R"("order_description":null,"purchase_id":"123456789","outcome_amount":14.8106,"outcome_currency":"trx",)"
      R"("fee":{"currency":"btc","depositFee":0.09853637216235617,"withdrawalFee":0,"serviceFee":0}})";
  EXPECT_EQ(sign_nowpayments_ipn("test_ipn_secret", body),
            "1acf4cb7ce0805a7e46528c5811ed06744e52bf0385da3ca9e99bfc8520adbb10738d80eed44af78e1b33959a5cc74ab1165afef9"
            "f055f5343d853f8c9a32589");
}

TEST(StripeVector, TheServersSigningReproducesIt) {
  const std::string payload =
      "{\n  \"id\": \"evt_test_webhook\",\n  \"object\": \"event\",\n  \"data\": { \"object\": { \"id\": \"rdr_123\", "
      "\"object\": \"terminal.reader\" } }\n}";
  EXPECT_EQ(sign_stripe("whsec_test_secret", 1700000000, payload),
            "3bfab77baf5f7b6991a46c9b53b6547d7afc56148b10468fcad9f35c1992ffbd");
}

}  // namespace
}  // namespace ms::payments::testing
