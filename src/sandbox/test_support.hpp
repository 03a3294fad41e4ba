// Test support for the sandbox tests (a header, so it never becomes part of ms_sandbox): a
// real HTTP server on 127.0.0.1 port 0 with the sandbox routes, and helpers that call the
// Bot API and the person API through real HTTP.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "http/server.hpp"
#include "http/test_client.hpp"
#include "sandbox/emulator.hpp"
#include "sandbox/routes.hpp"

namespace ms::sandbox::testing {

using nlohmann::json;
using http::testing::ClientResponse;
using http::testing::TestConnection;

struct Reply {
  int status = 0;
  json body;
  std::string retry_after_header;
};

inline Reply to_reply(const std::optional<ClientResponse>& r) {
  if (!r) return Reply{0, nullptr, ""};
  auto body = json::parse(r->body, nullptr, false);
  return Reply{r->status, body.is_discarded() ? json(r->body) : body, r->header("retry-after")};
}

// A minimal PNG header: enough for Telegram-style size detection.
inline std::string png(std::uint32_t w, std::uint32_t h, std::string tail = "pixels") {
  std::string d("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", 16);
  for (std::uint32_t v : {w, h}) {
    for (int shift = 24; shift >= 0; shift -= 8) d += static_cast<char>((v >> shift) & 0xFF);
  }
  return d + tail;
}

class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override { start(EmulatorOptions{}); }
  void TearDown() override {
    if (server_) server_->stop(std::chrono::milliseconds(100));
    server_.reset();
    emu_.reset();
  }

  void start(EmulatorOptions options) {
    if (server_) server_->stop(std::chrono::milliseconds(100));
    server_.reset();
    emu_ = std::make_unique<Emulator>(options, clock_);
    http::ServerOptions so;
    so.listen = "127.0.0.1:0";
    so.handler_timeout = std::chrono::seconds(60);
    server_ = std::make_unique<http::Server>(so, clock_);
    add_sandbox_routes(server_->router(), *emu_);
    auto started = server_->start();
    ASSERT_TRUE(started) << started.error().to_string();
    port_ = server_->bound_port();
  }

  // POSTs a JSON body to the Bot API.
  Reply api(const std::string& token, const std::string& method, const json& params = json::object(), int timeout_ms = 10'000) {
    TestConnection c(port_, timeout_ms);
    return to_reply(c.request("POST", "/sandbox/bot" + token + "/" + method, params.dump(),
                              "Content-Type: application/json\r\n"));
  }
  Reply get(const std::string& target, int timeout_ms = 10'000) {
    TestConnection c(port_, timeout_ms);
    return to_reply(c.request("GET", target));
  }
  Reply post(const std::string& target, const std::string& body, const std::string& content_type = "application/json") {
    TestConnection c(port_, 10'000);
    return to_reply(c.request("POST", target, body, "Content-Type: " + content_type + "\r\n"));
  }

  // A bot through the BotFather route, and a person who has started it.
  std::string make_bot(const std::string& username = "shop_bot") {
    auto r = post("/sandbox/api/bots", json{{"username", username}, {"name", "Shop"}}.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return r.body.value("token", "");
  }
  std::int64_t make_user(const std::string& first_name = "Sara", const std::string& username = "") {
    auto r = post("/sandbox/api/users", json{{"first_name", first_name}, {"username", username}}.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return r.body.value("id", std::int64_t{0});
  }
  Reply person(std::int64_t user, const std::string& bot, const std::string& action, const json& body = json::object()) {
    return post("/sandbox/api/users/" + std::to_string(user) + "/chats/" + bot + "/" + action, body.dump());
  }
  // Drains and confirms the bot's pending updates; returns them.
  json updates(const std::string& token) {
    auto r = api(token, "getUpdates");
    EXPECT_EQ(r.status, 200) << r.body;
    json result = r.body["result"];
    if (!result.empty()) api(token, "getUpdates", {{"offset", result.back()["update_id"].get<std::int64_t>() + 1}});
    return result;
  }

  ManualClock clock_{1'700'000'000};
  std::unique_ptr<Emulator> emu_;
  std::unique_ptr<http::Server> server_;
  std::uint16_t port_ = 0;
};

}  // namespace ms::sandbox::testing
