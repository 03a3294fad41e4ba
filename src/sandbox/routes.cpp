#include "sandbox/routes.hpp"

#include <string>

#include <nlohmann/json.hpp>

#include "core/crypto/primitives.hpp"
#include "sandbox/params.hpp"

namespace ms::sandbox {
namespace {

using http::Method;
using http::Request;
using http::Responder;
using http::Response;
using nlohmann::json;

Response to_response(const ApiReply& reply) {
  Response r = Response::json(reply.status, reply.body);
  if (reply.retry_after > 0) r.headers.set("Retry-After", std::to_string(reply.retry_after));
  return r;
}

Response not_found() { return to_response(ApiReply{404, {{"ok", false}, {"error_code", 404}, {"description", "Not Found"}}, 0}); }

// "bot<token>" -> token; "" when the segment does not start with "bot".
std::string token_of(std::string_view segment) {
  if (segment.size() <= 3 || segment.substr(0, 3) != "bot") return {};
  return std::string(segment.substr(3));
}

Result<json> body_json(const Request& req) {
  if (req.body.empty()) return json::object();
  auto j = json::parse(req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(ErrorCode::kInvalidArgument, "the body must be a JSON object");
  return j;
}

std::string str(const json& j, const char* key) {
  if (!j.contains(key)) return {};
  return j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
}

std::int64_t integer(const json& j, const char* key) {
  if (!j.contains(key)) return 0;
  if (j[key].is_number_integer()) return j[key].get<std::int64_t>();
  if (j[key].is_string()) return std::strtoll(j[key].get<std::string>().c_str(), nullptr, 10);
  return 0;
}

std::int64_t path_int(const Request& req, std::string_view name) {
  return std::strtoll(std::string(req.path_param(name).value_or("0")).c_str(), nullptr, 10);
}

Response result_response(const Result<json>& r, int status = 200) {
  if (!r) return Response::from_error(r.error());
  return Response::json(status, *r);
}

Response done_response(const Result<void>& r) {
  if (!r) return Response::from_error(r.error());
  return Response::json(200, {{"ok", true}});
}

json credentials_json(const BotCredentials& c) { return {{"id", c.id}, {"username", c.username}, {"token", c.token}}; }

// The person's actions in their chat with a bot.
void person_action(Emulator& emu, Request& req, const Responder& respond) {
  auto body = body_json(req);
  if (!body) return void(respond(Response::from_error(body.error())));
  const json& b = *body;
  std::int64_t user = path_int(req, "user");
  std::string bot(req.path_param("bot").value_or(""));
  std::string action(req.path_param("action").value_or(""));
  if (action == "text") return void(respond(result_response(emu.send_text(user, bot, str(b, "text")))));
  if (action == "command") {
    return void(respond(result_response(emu.send_command(user, bot, str(b, "command"), str(b, "payload")))));
  }
  if (action == "photo") {
    auto data = crypto::base64_decode(str(b, "photo_base64"));
    if (!data) return void(respond(Response::error(400, "invalid_argument", "photo_base64 is not base64")));
    return void(respond(result_response(emu.send_photo(user, bot, std::move(*data), str(b, "caption")))));
  }
  if (action == "contact") {
    return void(respond(result_response(
        emu.send_contact(user, bot, str(b, "phone_number"), str(b, "first_name"), str(b, "last_name")))));
  }
  if (action == "press") {
    auto id = emu.press_button(user, bot, integer(b, "message_id"), str(b, "callback_data"));
    if (!id) return void(respond(Response::from_error(id.error())));
    return void(respond(Response::json(200, {{"callback_query_id", *id}})));
  }
  if (action == "block") return void(respond(done_response(emu.block_bot(user, bot))));
  if (action == "unblock") return void(respond(done_response(emu.unblock_bot(user, bot))));
  if (action == "pay") {
    emu.pay_invoice(user, bot, integer(b, "message_id"), str(b, "invoice_link"),
                    [respond](Result<json> r) { respond(result_response(r)); });
    return;
  }
  respond(Response::error(404, "not_found", "unknown action " + action));
}

void chat_action(Emulator& emu, Request& req, const Responder& respond) {
  auto body = body_json(req);
  if (!body) return void(respond(Response::from_error(body.error())));
  const json& b = *body;
  std::int64_t chat = path_int(req, "chat");
  std::string action(req.path_param("action").value_or(""));
  if (action == "join") return void(respond(done_response(emu.join_chat(chat, integer(b, "user")))));
  if (action == "leave") return void(respond(done_response(emu.leave_chat(chat, integer(b, "user")))));
  if (action == "promote") return void(respond(done_response(emu.promote_user(chat, integer(b, "user")))));
  if (action == "add_bot") {
    bool admin = b.contains("admin") && b["admin"].is_boolean() && b["admin"].get<bool>();
    return void(respond(done_response(emu.add_bot_to_chat(chat, str(b, "bot"), admin))));
  }
  respond(Response::error(404, "not_found", "unknown action " + action));
}

}  // namespace

void add_sandbox_routes(http::Router& router, Emulator& emulator) {
  Emulator* emu = &emulator;
  auto bot_api = [emu](Request& req, Responder respond) {
    std::string token = token_of(req.path_param("bot").value_or(""));
    if (token.empty()) return void(respond(not_found()));
    auto params = parse_params(req.target, req.header("content-type").value_or(""), req.body);
    if (!params) {
      return void(respond(to_response(ApiReply{400, {{"ok", false}, {"error_code", 400},
                                                     {"description", "Bad Request: " + params.error().message}}, 0})));
    }
    emu->call(token, req.path_param("method").value_or(""), std::move(*params),
              [respond](ApiReply reply) { respond(to_response(reply)); });
  };
  router.add(Method::kGet, "/sandbox/{bot}/{method}", bot_api);
  router.add(Method::kPost, "/sandbox/{bot}/{method}", bot_api);

  router.add_sync(Method::kGet, "/sandbox/file/{bot}/{dir}/{name}", [emu](Request& req) {
    std::string token = token_of(req.path_param("bot").value_or(""));
    if (token.empty()) return not_found();
    auto file = emu->download_file(token, std::string(*req.path_param("dir")) + "/" + std::string(*req.path_param("name")));
    if (!file) {
      if (file.error().code == ErrorCode::kUnauthenticated) {
        return to_response(ApiReply{401, {{"ok", false}, {"error_code", 401}, {"description", "Unauthorized"}}, 0});
      }
      return not_found();
    }
    return Response::text(200, std::move(file->data), file->content_type);
  });

  router.add_sync(Method::kPost, "/sandbox/api/bots", [emu](Request& req) {
    auto b = body_json(req);
    if (!b) return Response::from_error(b.error());
    auto c = emu->create_bot(str(*b, "username"), str(*b, "name"));
    if (!c) return Response::from_error(c.error());
    return Response::json(201, credentials_json(*c));
  });
  router.add_sync(Method::kGet, "/sandbox/api/bots/{bot}",
                  [emu](Request& req) { return result_response(emu->bot_profile(*req.path_param("bot"))); });
  router.add_sync(Method::kPost, "/sandbox/api/bots/{bot}/revoke", [emu](Request& req) {
    auto c = emu->revoke_token(*req.path_param("bot"));
    if (!c) return Response::from_error(c.error());
    return Response::json(200, credentials_json(*c));
  });

  router.add_sync(Method::kPost, "/sandbox/api/users", [emu](Request& req) {
    auto b = body_json(req);
    if (!b) return Response::from_error(b.error());
    PersonSpec spec{integer(*b, "id"), str(*b, "first_name"), str(*b, "last_name"), str(*b, "username"),
                    str(*b, "language_code")};
    return result_response(emu->create_user(spec), 201);
  });
  router.add_sync(Method::kGet, "/sandbox/api/users/{user}/chats/{bot}", [emu](Request& req) {
    return result_response(emu->read_chat(path_int(req, "user"), *req.path_param("bot")));
  });
  router.add(Method::kPost, "/sandbox/api/users/{user}/chats/{bot}/{action}",
             [emu](Request& req, Responder respond) { person_action(*emu, req, respond); });
  router.add_sync(Method::kGet, "/sandbox/api/callbacks/{id}",
                  [emu](Request& req) { return result_response(emu->callback_answer(*req.path_param("id"))); });

  router.add_sync(Method::kPost, "/sandbox/api/chats", [emu](Request& req) {
    auto b = body_json(req);
    if (!b) return Response::from_error(b.error());
    return result_response(emu->create_chat(str(*b, "type"), str(*b, "title"), str(*b, "username"), integer(*b, "owner")), 201);
  });
  router.add_sync(Method::kGet, "/sandbox/api/chats/{chat}",
                  [emu](Request& req) { return result_response(emu->read_group(path_int(req, "chat"))); });
  router.add(Method::kPost, "/sandbox/api/chats/{chat}/{action}",
             [emu](Request& req, Responder respond) { chat_action(*emu, req, respond); });
}

}  // namespace ms::sandbox
