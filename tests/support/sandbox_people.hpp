// What every end-to-end test in the sandbox needs: `eventually` (wait for a condition
// another thread brings about), and SandboxPeople, a base for fixtures where people talk to
// a bot through the Bot API emulator behind a real HTTP server on 127.0.0.1. People press
// buttons and send text and commands through the emulator's person side; every check reads
// what Telegram (the emulator) holds, in the order the bot sent it.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "http/server.hpp"
#include "sandbox/emulator.hpp"
#include "sandbox/routes.hpp"

namespace ms::test_support {

// Polls `pred` until it holds or `within` has passed; the last answer of `pred` is returned.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds within = std::chrono::seconds(30)) {
  const auto until = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

class SandboxPeople {
 protected:
  using json = nlohmann::json;

  // The emulator behind an HTTP server at base_url(); `more` adds the fixture's own routes
  // or middleware before the server starts.
  void start_sandbox(sandbox::EmulatorOptions options = {}, const std::function<void(http::Server&)>& more = {}) {
    emulator_ = std::make_unique<sandbox::Emulator>(options, SystemClock::instance());
    http::ServerOptions so;
    so.listen = "127.0.0.1:0";
    so.handler_timeout = std::chrono::seconds(30);
    server_ = std::make_unique<http::Server>(so);
    sandbox::add_sandbox_routes(server_->router(), *emulator_);
    if (more) more(*server_);
    auto started = server_->start();
    ASSERT_TRUE(started) << started.error().to_string();
  }
  void stop_sandbox() {
    if (server_) server_->stop(std::chrono::milliseconds(200));
  }

  std::string server_url() const { return "http://127.0.0.1:" + std::to_string(server_->bound_port()); }
  std::string base_url() const { return server_url() + "/sandbox"; }

  std::int64_t person(const std::string& name, const std::string& lang = "en", const std::string& username = "") {
    auto p = emulator_->create_user({0, name, "", username, lang});
    EXPECT_TRUE(p) << p.error().to_string();
    return p ? (*p)["id"].get<std::int64_t>() : 0;
  }

  // ---- what a person sees (in the chat with `bot`, default bot_username_) ----
  json chat(std::int64_t who, const std::string& bot = {}) {
    auto c = emulator_->read_chat(who, bot.empty() ? bot_username_ : bot);
    return c ? *c : json::object();
  }
  json messages(std::int64_t who, const std::string& bot = {}) {
    return chat(who, bot).value("messages", json::array());
  }
  std::size_t message_count(std::int64_t who, const std::string& bot = {}) { return messages(who, bot).size(); }
  // Every text (and caption) the bot sent the person, current versions, in order; _since:
  // of the chat's messages from index `from` on (message_count() before an action).
  std::vector<std::string> texts_since(std::int64_t who, std::size_t from, const std::string& bot = {}) {
    std::vector<std::string> out;
    auto all = messages(who, bot);
    for (std::size_t i = from; i < all.size(); ++i) {
      if (!all[i].value("from_bot", false)) continue;
      const auto& msg = all[i]["message"];
      if (msg.contains("text")) out.push_back(msg["text"]);
      if (msg.contains("caption")) out.push_back(msg["caption"]);
    }
    return out;
  }
  std::vector<std::string> texts(std::int64_t who, const std::string& bot = {}) { return texts_since(who, 0, bot); }
  int count_saw(std::int64_t who, const std::string& part, const std::string& bot = {}) {
    int n = 0;
    for (const auto& t : texts(who, bot)) n += t.find(part) != std::string::npos;
    return n;
  }
  bool saw(std::int64_t who, const std::string& part, const std::string& bot = {}) {
    return count_saw(who, part, bot) > 0;
  }
  bool wait_saw(std::int64_t who, const std::string& part, const std::string& bot = {}) {
    return eventually([&] { return saw(who, part, bot); });
  }
  bool saw_since(std::int64_t who, std::size_t from, const std::string& part, const std::string& bot = {}) {
    for (const auto& t : texts_since(who, from, bot))
      if (t.find(part) != std::string::npos) return true;
    return false;
  }
  bool wait_saw_since(std::int64_t who, std::size_t from, const std::string& part, const std::string& bot = {}) {
    return eventually([&] { return saw_since(who, from, part, bot); });
  }
  // The newest text (or caption) since `from` that holds `part`, waited for; "" if none came.
  std::string wait_text(std::int64_t who, const std::string& part, std::size_t from = 0, const std::string& bot = {}) {
    std::string found;
    eventually([&] {
      for (const auto& t : texts_since(who, from, bot))
        if (t.find(part) != std::string::npos) found = t;
      return !found.empty();
    });
    return found;
  }
  int photos(std::int64_t who) {
    int n = 0;
    for (const auto& m : messages(who)) {
      if (m.value("from_bot", false) && m["message"].contains("photo")) ++n;
    }
    return n;
  }
  // A message of the bot since `from` with a button whose label holds `label`.
  bool saw_button_since(std::int64_t who, std::size_t from, const std::string& label, const std::string& bot = {}) {
    auto all = messages(who, bot);
    for (std::size_t i = from; i < all.size(); ++i) {
      if (!all[i].value("from_bot", false)) continue;
      for (const auto& row :
           all[i]["message"].value("reply_markup", json::object()).value("inline_keyboard", json::array()))
        for (const auto& b : row)
          if (b.value("text", "").find(label) != std::string::npos) return true;
    }
    return false;
  }
  // The newest bot message with a button whose text contains `label`: {message_id, data}.
  std::optional<std::pair<std::int64_t, std::string>> find_button(std::int64_t who, const std::string& label,
                                                                  const std::string& bot = {}) {
    auto all = messages(who, bot);
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
      const auto& msg = (*it)["message"];
      if (!(*it).value("from_bot", false) || !msg.contains("reply_markup")) continue;
      for (const auto& row : msg["reply_markup"].value("inline_keyboard", json::array())) {
        for (const auto& b : row) {
          if (b.value("text", "").find(label) != std::string::npos && b.contains("callback_data")) {
            return std::pair{msg["message_id"].get<std::int64_t>(), b["callback_data"].get<std::string>()};
          }
        }
      }
    }
    return std::nullopt;
  }

  // ---- what a person does ----
  // Presses the button once it is there, then waits until the bot has dealt with it: the
  // press is answered and, unless the answer was a notice of its own, the chat changed (an
  // edited screen or a new message). Success: the callback query id.
  std::string press(std::int64_t who, const std::string& label, const std::string& bot = {}) {
    std::optional<std::pair<std::int64_t, std::string>> b;
    EXPECT_TRUE(eventually([&] { return (b = find_button(who, label, bot)).has_value(); }, std::chrono::seconds(20)))
        << "no button " << label << " in " << chat(who, bot).dump().substr(0, 6000);
    if (!b) return "";
    const std::string before = messages(who, bot).dump();
    auto q = press_exact(who, *b, bot);
    if (q.empty()) return "";
    eventually(
        [&] {
          auto a = emulator_->callback_answer(q);
          if (!a || !(*a).value("answered", false)) return false;
          if (!(*a).value("text", "").empty()) return true;
          return messages(who, bot).dump() != before;
        },
        std::chrono::seconds(5));
    return q;
  }
  // Presses a button found earlier ({message_id, data}) as it is, e.g. on an old screen;
  // does not wait. Success: the callback query id.
  std::string press_exact(std::int64_t who, const std::pair<std::int64_t, std::string>& button,
                          const std::string& bot = {}) {
    auto q = emulator_->press_button(who, bot.empty() ? bot_username_ : bot, button.first, button.second);
    EXPECT_TRUE(q) << q.error().to_string();
    return q ? *q : "";
  }
  // What the bot answered to a pressed button (waits for the answer).
  std::string answer_text(const std::string& query) {
    std::string text;
    EXPECT_TRUE(eventually([&] {
      auto a = emulator_->callback_answer(query);
      if (!a || !(*a).value("answered", false)) return false;
      text = (*a).value("text", "");
      return true;
    }));
    return text;
  }
  // A message, a command or a press, then the bot's answer that says `expect`.
  void say(std::int64_t who, const std::string& text, const std::string& expect, const std::string& bot = {}) {
    const auto before = message_count(who, bot);
    ASSERT_TRUE(emulator_->send_text(who, bot.empty() ? bot_username_ : bot, text));
    ASSERT_TRUE(eventually([&] { return saw_since(who, before, expect, bot); }))
        << "after '" << text << "' no '" << expect << "' in " << chat(who, bot).dump().substr(0, 4000);
  }
  void command(std::int64_t who, const std::string& cmd, const std::string& expect, const std::string& bot = {}) {
    const auto before = message_count(who, bot);
    ASSERT_TRUE(emulator_->send_command(who, bot.empty() ? bot_username_ : bot, cmd));
    ASSERT_TRUE(eventually([&] { return saw_since(who, before, expect, bot); }))
        << "/" << cmd << ": no '" << expect << "' in " << chat(who, bot).dump().substr(0, 4000);
  }
  // Presses, then waits for `expect` in what the press brought: a new message of the bot or
  // one it edited (a text that was on the screen before and stayed as it was does not count).
  void press_to(std::int64_t who, const std::string& label, const std::string& expect, const std::string& bot = {}) {
    const json before = messages(who, bot);
    press(who, label, bot);
    auto brought = [&] {
      auto now = messages(who, bot);
      for (std::size_t i = 0; i < now.size(); ++i) {
        if (!now[i].value("from_bot", false)) continue;
        if (i < before.size() && now[i] == before[i]) continue;
        const auto& m = now[i]["message"];
        if (m.value("text", "").find(expect) != std::string::npos) return true;
        if (m.value("caption", "").find(expect) != std::string::npos) return true;
      }
      return false;
    };
    ASSERT_TRUE(eventually(brought)) << "after " << label << " no new '" << expect << "' in "
                                     << chat(who, bot).dump().substr(0, 4000);
  }

  std::string bot_username_;  // the bot's username people talk to
  std::unique_ptr<sandbox::Emulator> emulator_;
  std::unique_ptr<http::Server> server_;
};

}  // namespace ms::test_support
