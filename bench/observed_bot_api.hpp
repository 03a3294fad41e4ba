// The sandbox emulator's Bot API route with the bench watching each answer the moment the
// emulator gives it (same paths as sandbox::add_sandbox_routes, which such a server does
// not use). Shared by the benches that time a bot's answers.
#pragma once

#include <cctype>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "http/router.hpp"
#include "sandbox/emulator.hpp"
#include "sandbox/params.hpp"

namespace ms::bench {

// (method in lower case, the call's chat_id or 0, the emulator's answer); runs on the
// server's threads and must not block.
using OnBotApiReply = std::function<void(const std::string& method, std::int64_t chat, const sandbox::ApiReply&)>;

inline void add_observed_bot_api(http::Router& router, sandbox::Emulator& emu, OnBotApiReply on_reply) {
  auto shared = std::make_shared<OnBotApiReply>(std::move(on_reply));
  auto bot_api = [&emu, shared](http::Request& req, http::Responder respond) {
    const std::string segment(req.path_param("bot").value_or(""));
    if (segment.size() <= 3 || segment.rfind("bot", 0) != 0) {
      return void(respond(http::Response::json(404, {{"ok", false}, {"error_code", 404}})));
    }
    auto params = sandbox::parse_params(req.target, req.header("content-type").value_or(""), req.body);
    if (!params) return void(respond(http::Response::json(400, {{"ok", false}, {"error_code", 400}})));
    std::string method(req.path_param("method").value_or(""));
    for (auto& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const std::int64_t chat = params->integer("chat_id");
    emu.call(segment.substr(3), method, std::move(*params), [respond, method, chat, shared](sandbox::ApiReply reply) {
      (*shared)(method, chat, reply);
      http::Response r = http::Response::json(reply.status, reply.body);
      if (reply.retry_after > 0) r.headers.set("Retry-After", std::to_string(reply.retry_after));
      respond(std::move(r));
    });
  };
  router.add(http::Method::kGet, "/sandbox/{bot}/{method}", bot_api);
  router.add(http::Method::kPost, "/sandbox/{bot}/{method}", bot_api);
}

}  // namespace ms::bench
