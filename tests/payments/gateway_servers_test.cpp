// The test servers' own signing code against the documentation's vectors, so that what they
// sign is what the real gateways sign.
#include "gateway_servers.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/crypto/primitives.hpp"
#include "http/client.hpp"

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

// ---- the servers are strict: what the real gateways refuse, they refuse ----------------------

class StrictServers : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(gw_.start()); }
  void TearDown() override { gw_.stop(); }

  http::ClientResponse call(const std::string& method, const std::string& path, const std::string& body,
                            std::vector<std::pair<std::string, std::string>> headers = {}) {
    http::ClientRequest r;
    r.method = method;
    r.url = gw_.base_url() + path;
    r.body = body;
    r.headers = std::move(headers);
    auto res = client_.send_sync(r);
    EXPECT_TRUE(res) << res.error().to_string();
    return res.value_or(http::ClientResponse{});
  }
  static nlohmann::json json(const http::ClientResponse& r) { return nlohmann::json::parse(r.body, nullptr, false); }

  GatewayTestServers gw_;
  http::CurlClient client_;
};

TEST_F(StrictServers, StripeIdempotencyKeysAndValidation) {
  const std::vector<std::pair<std::string, std::string>> auth = {{"Authorization", "Bearer sk_test_mothership"},
                                                                 {"Idempotency-Key", "order-1"}};
  const std::string form =
      "mode=payment&line_items[0][price_data][currency]=usd&line_items[0][price_data][unit_amount]=1000&"
      "line_items[0][price_data][product_data][name]=Plan&line_items[0][quantity]=1&success_url=https%3A%2F%2Fx";
  auto first = call("POST", "/v1/checkout/sessions", form, auth);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(json(first)["amount_total"], 1000);
  EXPECT_EQ(json(first)["status"], "open");
  auto replay = call("POST", "/v1/checkout/sessions", form, auth);
  EXPECT_EQ(replay.status, 200);
  EXPECT_EQ(json(replay)["id"], json(first)["id"]);
  EXPECT_EQ(replay.headers.get("Idempotent-Replayed").value_or(""), "true");
  auto changed = call("POST", "/v1/checkout/sessions", form + "&client_reference_id=x", auth);
  EXPECT_EQ(changed.status, 400);
  EXPECT_EQ(json(changed)["error"]["type"], "idempotency_error");
  auto no_mode = call("POST", "/v1/checkout/sessions", "line_items[0][quantity]=1", {auth[0]});
  EXPECT_EQ(no_mode.status, 400);
  EXPECT_EQ(json(no_mode)["error"]["param"], "mode");
  auto soon = call("POST", "/v1/checkout/sessions",
                   form + "&expires_at=" + std::to_string(SystemClock::instance().unix_seconds() + 60), {auth[0]});
  EXPECT_EQ(soon.status, 400);
  EXPECT_EQ(json(soon)["error"]["param"], "expires_at");
  EXPECT_EQ(call("POST", "/v1/checkout/sessions", form, {{"Authorization", "Bearer sk_test_wrong"}}).status, 401);
  EXPECT_EQ(call("POST", "/v1/checkout/sessions", form,
                 {{"Authorization", "Basic " + crypto::base64_encode("sk_test_mothership:")}})
                .status,
            200);
}

TEST_F(StrictServers, PayPalOrdersCaptureOnceAndVerifyOnlyGenuineEvents) {
  auto token = call("POST", "/v1/oauth2/token", "grant_type=client_credentials",
                    {{"Authorization", "Basic " + crypto::base64_encode("paypal-client:paypal-secret")},
                     {"Content-Type", "application/x-www-form-urlencoded"}});
  ASSERT_EQ(token.status, 200);
  EXPECT_EQ(call("POST", "/v1/oauth2/token", "grant_type=client_credentials",
                 {{"Authorization", "Basic " + crypto::base64_encode("paypal-client:wrong")}})
                .status,
            401);
  const std::pair<std::string, std::string> bearer{"Authorization",
                                                   "Bearer " + json(token)["access_token"].get<std::string>()};
  auto bad =
      call("POST", "/v2/checkout/orders",
           R"({"intent":"CAPTURE","purchase_units":[{"amount":{"currency_code":"USD","value":"1,00"}}]})", {bearer});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(json(bad)["name"], "INVALID_REQUEST");
  EXPECT_EQ(json(bad)["details"][0]["issue"], "INVALID_PARAMETER_SYNTAX");
  const std::string order_body =
      R"({"intent":"CAPTURE","purchase_units":[{"custom_id":"pay-1","amount":{"currency_code":"USD","value":"25.00"}}]})";
  auto created = call("POST", "/v2/checkout/orders", order_body, {bearer, {"PayPal-Request-Id", "req-1"}});
  ASSERT_EQ(created.status, 201);
  const std::string id = json(created)["id"];
  auto again = call("POST", "/v2/checkout/orders", order_body, {bearer, {"PayPal-Request-Id", "req-1"}});
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(json(again)["id"], id);
  auto early = call("POST", "/v2/checkout/orders/" + id + "/capture", "{}", {bearer});
  EXPECT_EQ(early.status, 422);
  EXPECT_EQ(json(early)["details"][0]["issue"], "ORDER_NOT_APPROVED");
  ASSERT_TRUE(gw_.paypal_approve(id));
  auto captured = call("POST", "/v2/checkout/orders/" + id + "/capture", "{}", {bearer, {"PayPal-Request-Id", "c-1"}});
  EXPECT_EQ(captured.status, 201);
  EXPECT_EQ(json(captured)["purchase_units"][0]["payments"]["captures"][0]["status"], "COMPLETED");
  EXPECT_EQ(call("POST", "/v2/checkout/orders/" + id + "/capture", "{}", {bearer, {"PayPal-Request-Id", "c-1"}}).status,
            200);
  auto twice = call("POST", "/v2/checkout/orders/" + id + "/capture", "{}", {bearer});
  EXPECT_EQ(twice.status, 422);
  EXPECT_EQ(json(twice)["details"][0]["issue"], "ORDER_ALREADY_CAPTURED");
  EXPECT_EQ(gw_.paypal_capture_calls(), 1);
  EXPECT_EQ(call("GET", "/v2/checkout/orders/NOPE", "", {bearer}).status, 404);

  auto event = gw_.paypal_event(id, "PAYMENT.CAPTURE.COMPLETED");
  ASSERT_TRUE(event);
  auto header = [&](const std::string& name) {
    for (const auto& [k, v] : event->headers)
      if (k == name) return v;
    return std::string();
  };
  auto verify = [&](const std::string& body, const std::string& webhook_id, const std::string& cert_url) {
    nlohmann::json req = {{"auth_algo", header("PAYPAL-AUTH-ALGO")},
                          {"cert_url", cert_url},
                          {"transmission_id", header("PAYPAL-TRANSMISSION-ID")},
                          {"transmission_sig", header("PAYPAL-TRANSMISSION-SIG")},
                          {"transmission_time", header("PAYPAL-TRANSMISSION-TIME")},
                          {"webhook_id", webhook_id},
                          {"webhook_event", nlohmann::json::parse(body)}};
    auto r = call("POST", "/v1/notifications/verify-webhook-signature", req.dump(), {bearer});
    return json(r).value("verification_status", "HTTP " + std::to_string(r.status));
  };
  const std::string cert = header("PAYPAL-CERT-URL");
  EXPECT_EQ(verify(event->body, "8PT597110X687430LKGECATA", cert), "SUCCESS");
  EXPECT_EQ(verify(event->body, "OTHERWEBHOOK1", cert), "FAILURE");
  std::string tampered = event->body;
  tampered.replace(tampered.find("25.00"), 5, "99.00");
  EXPECT_EQ(verify(tampered, "8PT597110X687430LKGECATA", cert), "FAILURE");
  EXPECT_EQ(verify(event->body, "8PT597110X687430LKGECATA", "https://evil.example/cert.pem"), "FAILURE");
  EXPECT_EQ(verify(event->body, "bad id!", cert), "HTTP 400");
}

TEST_F(StrictServers, ZarinpalVerifyCodes) {
  const std::string merchant = "1344b5d4-0048-11e8-94db-005056a205be";
  auto req = call("POST", "/pg/v4/payment/request.json",
                  nlohmann::json({{"merchant_id", merchant},
                                  {"amount", 50000},
                                  {"description", "test"},
                                  {"callback_url", "http://127.0.0.1/cb"}})
                      .dump());
  ASSERT_EQ(req.status, 200) << req.body;
  const std::string authority = json(req)["data"]["authority"];
  EXPECT_EQ(authority.size(), 36u);
  auto verify = [&](std::int64_t amount, const std::string& auth) {
    return json(call("POST", "/pg/v4/payment/verify.json",
                     nlohmann::json({{"merchant_id", merchant}, {"amount", amount}, {"authority", auth}}).dump()));
  };
  EXPECT_EQ(verify(50000, authority)["errors"]["code"], -51);
  ASSERT_TRUE(gw_.zarinpal_pay(authority));
  EXPECT_EQ(verify(49000, authority)["errors"]["code"], -50);
  EXPECT_EQ(verify(50000, "A000000000000000000000000000000000nope")["errors"]["code"], -54);
  EXPECT_EQ(verify(50000, authority)["data"]["code"], 100);
  EXPECT_EQ(verify(50000, authority)["data"]["code"], 101);
  auto wrong_merchant = call("POST", "/pg/v4/payment/request.json",
                             nlohmann::json({{"merchant_id", std::string(36, 'x')},
                                             {"amount", 50000},
                                             {"description", "test"},
                                             {"callback_url", "http://127.0.0.1/cb"}})
                                 .dump());
  EXPECT_EQ(json(wrong_merchant)["errors"]["code"], -10);
}

TEST_F(StrictServers, NowPaymentsChecksKeyAndFields) {
  auto no_key = call("POST", "/v1/invoice", R"({"price_amount":10,"price_currency":"usd"})");
  EXPECT_EQ(no_key.status, 403);
  EXPECT_EQ(json(no_key)["code"], "INVALID_API_KEY");
  auto no_price = call("POST", "/v1/invoice", R"({"price_currency":"usd"})", {{"x-api-key", "NP-TEST-KEY"}});
  EXPECT_EQ(no_price.status, 400);
  EXPECT_EQ(json(no_price)["code"], "INVALID_REQUEST_PARAMS");
  auto ok =
      call("POST", "/v1/invoice",
           R"({"price_amount":10.5,"price_currency":"usd","order_id":"pay-1","ipn_callback_url":"http://127.0.0.1/i"})",
           {{"x-api-key", "NP-TEST-KEY"}});
  ASSERT_EQ(ok.status, 200);
  auto ipn = gw_.nowpayments_pay(json(ok)["id"], "finished");
  ASSERT_TRUE(ipn);
  EXPECT_EQ(ipn->headers[1].second, sign_nowpayments_ipn("np_test_ipn_secret", ipn->body));
}

}  // namespace
}  // namespace ms::payments::testing
