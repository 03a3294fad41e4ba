// `mothership sandbox chat`: a person's Telegram in the terminal. It talks to the sandbox's
// person-side API (docs/sandbox.md): what you type is sent to the bot, a number presses that
// button (a backslash first sends the number as text: \30), and the chat is re-read twice a
// second so the bot's messages and edits appear as they happen.
#include <poll.h>
#include <unistd.h>

#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "app/app.hpp"
#include "core/i18n/digits.hpp"
#include "http/client.hpp"

namespace ms::app {
namespace {

using nlohmann::json;

struct Button {
  std::int64_t message_id = 0;
  std::string text;
  std::string callback_data;  // empty: a reply-keyboard button (pressing it sends its text)
  std::string url;

  friend bool operator==(const Button&, const Button&) = default;
};

class ChatSession {
 public:
  ChatSession(std::string base, std::string bot) : base_(std::move(base)), bot_(std::move(bot)) {}

  Result<json> request(const std::string& method, const std::string& path, const json& body = nullptr) {
    http::ClientRequest r;
    r.method = method;
    r.url = base_ + path;
    r.timeout = std::chrono::seconds(15);
    if (!body.is_null()) {
      r.headers.emplace_back("Content-Type", "application/json");
      r.body = body.dump();
    }
    auto response = http_.send_sync(std::move(r));
    if (!response) return fail(response.error());
    json parsed = json::parse(response->body, nullptr, false);
    if (response->status >= 400) {
      std::string why = parsed.is_object() ? parsed.dump() : response->body;
      return fail(ErrorCode::kInvalidArgument, "HTTP " + std::to_string(response->status) + ": " + why);
    }
    if (parsed.is_discarded()) return fail(ErrorCode::kInternal, "the sandbox did not answer JSON");
    return parsed;
  }

  std::string chat_path() const { return "/api/users/" + std::to_string(user_) + "/chats/" + bot_; }

  Result<void> ensure_user(std::int64_t user, const std::string& first_name, const std::string& language) {
    if (user != 0) {
      user_ = user;
      return ok();
    }
    auto created = request("POST", "/api/users", {{"first_name", first_name}, {"language_code", language}});
    if (!created) return fail(created.error());
    user_ = (*created)["id"].get<std::int64_t>();
    std::cout << "You are person " << user_ << " (" << first_name << ").\n";
    return ok();
  }

  // Prints messages that are new or changed since the last refresh; renumbers buttons.
  Result<void> refresh() {
    auto chat = request("GET", chat_path());
    if (!chat) return fail(chat.error());
    buttons_.clear();
    for (const auto& entry : (*chat)["messages"]) {
      const json& m = entry["message"];
      const std::int64_t id = m.value("message_id", std::int64_t{0});
      std::string fingerprint = m.dump();
      auto seen = seen_.find(id);
      const bool changed = seen == seen_.end() || seen->second != fingerprint;
      collect_buttons(id, m);
      if (!changed) continue;
      const bool edited = seen != seen_.end();
      seen_[id] = fingerprint;
      print_message(m, entry.value("from_bot", false), edited);
    }
    if ((*chat).contains("reply_keyboard") && (*chat)["reply_keyboard"].is_object()) {
      for (const auto& row : (*chat)["reply_keyboard"].value("keyboard", json::array()))
        for (const auto& b : row)
          buttons_.push_back({0, b.is_string() ? b.get<std::string>() : b.value("text", ""), "", ""});
    }
    if (buttons_ != last_buttons_) {
      print_buttons();
      last_buttons_ = buttons_;
    }
    return ok();
  }

  Result<void> act(const std::string& line) {
    // "\30" sends the text "30" (a bare number presses that button).
    if (line.size() > 1 && line[0] == '\\') return send_text(line.substr(1));
    std::string normalized = i18n::normalize_digits(line);
    if (auto n = i18n::parse_int(normalized); n && *n >= 1 && static_cast<std::size_t>(*n) <= buttons_.size()) {
      const Button& b = buttons_[static_cast<std::size_t>(*n - 1)];
      if (!b.url.empty()) {
        std::cout << "  (a link: " << b.url << ")\n";
        return ok();
      }
      if (b.callback_data.empty()) return send_text(b.text);
      auto pressed =
          request("POST", chat_path() + "/press", {{"message_id", b.message_id}, {"callback_data", b.callback_data}});
      if (!pressed) return fail(pressed.error());
      return ok();
    }
    if (!line.empty() && line[0] == '/') {
      auto space = line.find(' ');
      std::string command = line.substr(1, space == std::string::npos ? std::string::npos : space - 1);
      std::string payload = space == std::string::npos ? "" : line.substr(space + 1);
      auto sent = request("POST", chat_path() + "/command", {{"command", command}, {"payload", payload}});
      if (!sent) return fail(sent.error());
      return ok();
    }
    return send_text(line);
  }

 private:
  Result<void> send_text(const std::string& text) {
    auto sent = request("POST", chat_path() + "/text", {{"text", text}});
    if (!sent) return fail(sent.error());
    return ok();
  }

  void collect_buttons(std::int64_t id, const json& m) {
    if (!m.contains("reply_markup")) return;
    for (const auto& row : m["reply_markup"].value("inline_keyboard", json::array()))
      for (const auto& b : row)
        buttons_.push_back({id, b.value("text", ""), b.value("callback_data", ""), b.value("url", "")});
  }

  static void print_message(const json& m, bool from_bot, bool edited) {
    std::string who = from_bot ? "bot" : "you";
    std::string body = m.value("text", m.value("caption", ""));
    if (m.contains("photo")) body = "[photo] " + body;
    if (m.contains("document")) body = "[document " + m["document"].value("file_name", "") + "] " + body;
    if (m.contains("invoice"))
      body = "[invoice " + m["invoice"].value("title", "") + ": " +
             std::to_string(m["invoice"].value("total_amount", 0)) + " " + m["invoice"].value("currency", "") + "]";
    if (m.contains("successful_payment")) body = "[payment received]";
    std::cout << (edited ? "~ " : "") << "[" << who << "] " << body << "\n";
  }

  void print_buttons() const {
    if (buttons_.empty()) return;
    std::cout << "  buttons:";
    for (std::size_t i = 0; i < buttons_.size(); ++i) std::cout << "  [" << i + 1 << "] " << buttons_[i].text;
    std::cout << "\n";
  }

  http::CurlClient http_;
  std::string base_;
  std::string bot_;
  std::int64_t user_ = 0;
  std::map<std::int64_t, std::string> seen_;
  std::vector<Button> buttons_;
  std::vector<Button> last_buttons_;
};

}  // namespace

int sandbox_chat(const Config& config, const SandboxChatOptions& options) {
  std::string base = options.url.empty() ? config.effective_public_url() + "/sandbox" : options.url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  ChatSession chat(base, options.bot);
  if (auto user = chat.ensure_user(options.user, options.first_name, options.language); !user) {
    std::cerr << "mothership: sandbox chat: cannot reach the sandbox at " << base << ": " << user.error().message
              << "\n(is `mothership serve` running without a master bot token?)\n";
    return 1;
  }
  std::cout << "Chatting with @" << options.bot << ". Type a message, /command, or a button's number "
            << "(\\30 sends the text 30); Ctrl-D quits.\n";
  if (auto r = chat.refresh(); !r) {
    std::cerr << "mothership: sandbox chat: " << r.error().message << "\n";
    return 1;
  }
  std::string pending;
  while (true) {
    pollfd in{STDIN_FILENO, POLLIN, 0};
    int ready = ::poll(&in, 1, 500);
    if (ready > 0) {
      char buf[4096];
      ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
      if (n <= 0) break;  // end of input
      pending.append(buf, static_cast<std::size_t>(n));
      std::size_t eol;
      while ((eol = pending.find('\n')) != std::string::npos) {
        std::string line = pending.substr(0, eol);
        pending.erase(0, eol + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) continue;
        if (auto r = chat.act(line); !r) std::cout << "  (not sent: " << r.error().message << ")\n";
        (void)chat.refresh();
      }
    }
    if (auto r = chat.refresh(); !r) std::cout << "  (cannot read the chat: " << r.error().message << ")\n";
    std::cout.flush();
  }
  // Show what arrived for the last input before leaving.
  (void)chat.refresh();
  return 0;
}

}  // namespace ms::app
