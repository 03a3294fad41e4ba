#include "telegram/bot_client.hpp"

#include <charconv>

namespace ms::telegram {

BotClient::BotClient(http::HttpClient& http, std::string api_base_url, std::string token)
    : http_(http), base_url_(std::move(api_base_url)), token_(std::move(token)) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
  auto colon = token_.find(':');
  if (colon != std::string::npos) std::from_chars(token_.data(), token_.data() + colon, bot_id_);
}

void BotClient::call_raw(Request request, std::function<void(RawReply)> done) {
  http::ClientRequest http_request;
  http_request.method = "POST";
  http_request.url = base_url_ + "/bot" + token_ + "/" + request.method;
  http_request.timeout = request_timeout_;
  if (request.method == "getUpdates") {
    // A long poll answers after up to `timeout` seconds: wait that long plus a margin.
    int poll = request.params.value("timeout", 0);
    http_request.timeout = std::chrono::seconds(poll) + std::chrono::seconds(15);
  }
  if (request.needs_multipart()) {
    for (auto& [name, value] : form_fields(request.params))
      http_request.multipart.push_back(http::MultipartField::field(name, value));
    for (auto& part : request.uploads)
      http_request.multipart.push_back(
          http::MultipartField::file(part.field, part.filename, part.mime_type, std::move(part.bytes)));
  } else {
    http_request.headers.emplace_back("Content-Type", "application/json");
    http_request.body = request.params.dump();
  }
  const std::string method = request.method;
  http_.send(std::move(http_request), [done = std::move(done), method](Result<http::ClientResponse> response) {
    if (!response) {
      // Transport failure: never a Bot API answer; the description must not carry the URL.
      done(tl::unexpected(
          local_error(method + ": " + std::string(ms::to_string(response.error().code)) + " reaching the Bot API")));
      return;
    }
    done(parse_envelope_text(response->body, response->status));
  });
}

}  // namespace ms::telegram
