// The Emulator's core: construction and threads, BotFather, the Bot API dispatcher, update
// queues with getUpdates long polling, and webhooks.
#include <algorithm>
#include <cctype>
#include <future>
#include <regex>

#include "core/crypto/primitives.hpp"
#include "sandbox/emulator_impl.hpp"
#include "sandbox/webhook_client.hpp"

namespace ms::sandbox {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

const std::set<std::string>& known_update_types() {
  static const std::set<std::string> kTypes = {
      "message", "edited_message", "channel_post", "edited_channel_post", "business_connection",
      "business_message", "edited_business_message", "deleted_business_messages", "inline_query",
      "chosen_inline_result", "callback_query", "shipping_query", "pre_checkout_query", "purchased_paid_media",
      "poll", "poll_answer", "my_chat_member", "chat_member", "chat_join_request", "chat_boost",
      "removed_chat_boost", "message_reaction", "message_reaction_count", "managed_bot", "guest_message"};
  return kTypes;
}

bool allowed(const BotRec& bot, const std::string& type) {
  if (bot.allowed.empty()) return type != "chat_member" && type != "message_reaction" && type != "message_reaction_count";
  return bot.allowed.count(type) > 0;
}

// allowed_updates: missing, unparsable or not an array changes nothing; [] or no known name
// restores the default set; names match case-insensitively.
void apply_allowed_updates(BotRec& bot, const Params& p) {
  auto raw = p.get("allowed_updates");
  if (!raw) return;
  auto list = json::parse(*raw, nullptr, false);
  if (list.is_discarded() || !list.is_array()) return;
  std::set<std::string> chosen;
  for (const auto& v : list) {
    if (!v.is_string()) continue;
    std::string name = lower(v.get<std::string>());
    if (known_update_types().count(name)) chosen.insert(name);
  }
  bot.allowed = std::move(chosen);
}

bool token_well_formed(std::string_view token) {
  static const std::regex kPattern("^[1-9][0-9]{0,15}:[A-Za-z0-9_-]{24,}$");
  return token.size() <= 80 && std::regex_match(token.begin(), token.end(), kPattern);
}

}  // namespace

ApiReply api_ok(json result, std::string description) {
  json body = {{"ok", true}, {"result", std::move(result)}};
  if (!description.empty()) body["description"] = std::move(description);
  return ApiReply{200, std::move(body), 0};
}

ApiReply api_error(int code, std::string description, int retry_after) {
  json body = {{"ok", false}, {"error_code", code}, {"description", std::move(description)}};
  if (retry_after > 0) body["parameters"] = {{"retry_after", retry_after}};
  return ApiReply{code, std::move(body), retry_after};
}

ApiReply api_error(const telegram::limits::LimitError& err) { return api_error(err.code, err.description); }

Emulator::Impl::Impl(EmulatorOptions o, const Clock& c) : options(std::move(o)), clock(c), limiter(c, options.limits) {
  threads.emplace_back([this] { timer_loop(); });
  for (int i = 0; i < std::max(1, options.webhook_threads); ++i) threads.emplace_back([this] { deliver_loop(); });
}

Emulator::Impl::~Impl() {
  Effects fx;
  {
    std::lock_guard lock(mu);
    stopping = true;
    for (auto& [id, bot] : bots) {
      if (bot.poll) fx.push_back([done = take_poll_locked(bot)] { done(api_ok(json::array())); });
    }
    for (auto& [id, checkout] : checkouts) {
      fx.push_back([done = std::move(checkout.done)] { done(fail(ErrorCode::kUnavailable, "the sandbox is stopping")); });
    }
    checkouts.clear();
  }
  changed.notify_all();
  for (auto& t : threads) t.join();
  for (auto& f : fx) f();
}

std::string Emulator::Impl::next_id_locked() { return std::to_string(5'000'000'000'000'000ULL + (counter++) * 7919); }

TimerKey Emulator::Impl::schedule_locked(Steady::time_point when, std::function<void()> fn) {
  TimerKey key{when, counter++};
  timers.emplace(key, std::move(fn));
  changed.notify_all();
  return key;
}

ApiCallback Emulator::Impl::take_poll_locked(BotRec& bot) {
  if (!bot.poll) return {};
  ApiCallback done = std::move(bot.poll->done);
  timers.erase(bot.poll->timer);
  bot.poll.reset();
  return done;
}

void Emulator::Impl::timer_loop() {
  std::unique_lock lock(mu);
  while (!stopping) {
    if (timers.empty()) {
      changed.wait(lock);
      continue;
    }
    auto first = timers.begin();
    const Steady::time_point due = first->first.first;  // a copy: the node may go while we wait
    if (due > Steady::now()) {
      changed.wait_until(lock, due);
      continue;
    }
    auto fn = std::move(first->second);
    timers.erase(first);
    lock.unlock();
    fn();
    lock.lock();
  }
}

BotRec* Emulator::Impl::find_bot_locked(std::string_view ref) {
  std::string name = lower(ref);
  if (!name.empty() && name.front() == '@') name.erase(0, 1);
  if (auto it = bot_by_username.find(name); it != bot_by_username.end()) return &bots.at(it->second);
  if (!name.empty() && std::all_of(name.begin(), name.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    auto it = bots.find(std::stoll(name));
    if (it != bots.end()) return &it->second;
  }
  return nullptr;
}

json Emulator::Impl::user_json(const UserRec& u) const {
  json j = {{"id", u.id}, {"is_bot", false}, {"first_name", u.first_name}};
  if (!u.last_name.empty()) j["last_name"] = u.last_name;
  if (!u.username.empty()) j["username"] = u.username;
  if (!u.language_code.empty()) j["language_code"] = u.language_code;
  return j;
}

json Emulator::Impl::bot_json(const BotRec& b) const {
  return {{"id", b.id}, {"is_bot", true}, {"first_name", b.name}, {"username", b.username}};
}

json Emulator::Impl::chat_json(const ChatRec& c) const {
  json j = {{"id", c.id}};
  if (c.type == "private") {
    const UserRec& u = users.at(c.user);
    j["first_name"] = u.first_name;
    if (!u.last_name.empty()) j["last_name"] = u.last_name;
    if (!u.username.empty()) j["username"] = u.username;
  } else {
    j["title"] = c.title;
    if (!c.username.empty()) j["username"] = c.username;
  }
  j["type"] = c.type;
  return j;
}

ChatRec* Emulator::Impl::private_chat_locked(std::int64_t bot, std::int64_t user, bool create) {
  auto key = std::make_pair(bot, user);
  auto it = privates.find(key);
  if (it != privates.end()) return &it->second;
  if (!create) return nullptr;
  ChatRec chat;
  chat.id = user;
  chat.type = "private";
  chat.bot = bot;
  chat.user = user;
  return &privates.emplace(key, std::move(chat)).first->second;
}

MessageRec& Emulator::Impl::add_message_locked(ChatRec& chat, std::int64_t sender, bool by_bot, json from) {
  MessageRec rec;
  rec.sender = sender;
  rec.by_bot = by_bot;
  std::int64_t id = chat.next_message_id++;
  rec.message = {{"message_id", id}};
  if (!from.is_null()) rec.message["from"] = std::move(from);
  if (chat.type == "channel") rec.message["sender_chat"] = chat_json(chat);
  rec.message["chat"] = chat_json(chat);
  rec.message["date"] = clock.unix_seconds();
  return chat.messages.emplace(id, std::move(rec)).first->second;
}

void Emulator::Impl::enqueue_locked(BotRec& bot, const std::string& type, json payload, Effects& fx) {
  if (!allowed(bot, type)) return;
  UpdateRec u;
  u.id = bot.next_update_id++;
  u.type = type;
  u.body = {{"update_id", u.id}, {type, std::move(payload)}};
  bool short_lived = type == "callback_query" || type == "pre_checkout_query" || type == "shipping_query";
  u.expires = clock.unix_seconds() + (short_lived ? 150 : 86'400);
  bot.queue.push_back(std::move(u));
  answer_poll_locked(bot, fx);
  if (!bot.webhook_url.empty()) changed.notify_all();
}

json Emulator::Impl::take_updates_locked(BotRec& bot, std::int64_t offset, int limit) {
  const auto now = clock.unix_seconds();
  while (!bot.queue.empty() && bot.queue.front().expires <= now) bot.queue.pop_front();
  json out = json::array();
  for (const auto& u : bot.queue) {
    if (static_cast<int>(out.size()) >= limit) break;
    if (u.id >= offset && u.expires > now) out.push_back(u.body);
  }
  return out;
}

void Emulator::Impl::answer_poll_locked(BotRec& bot, Effects& fx) {
  if (!bot.poll) return;
  json result = take_updates_locked(bot, bot.poll->offset, bot.poll->limit);
  if (result.empty()) return;
  fx.push_back([done = take_poll_locked(bot), result = std::move(result)]() mutable { done(api_ok(std::move(result))); });
}

void Emulator::Impl::get_updates_locked(BotRec& bot, const Params& p, ApiCallback done, Effects& fx) {
  if (!bot.webhook_url.empty()) {
    fx.push_back([done = std::move(done)] {
      done(api_error(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
                          "the webhook first"));
    });
    return;
  }
  std::int64_t offset = p.integer("offset", 0);
  int limit = static_cast<int>(std::clamp<std::int64_t>(p.integer("limit", 100), 1, 100));
  std::int64_t timeout = std::clamp<std::int64_t>(p.integer("timeout", 0), 0, options.max_long_poll.count());
  apply_allowed_updates(bot, p);
  if (offset > 0) {
    while (!bot.queue.empty() && bot.queue.front().id < offset) bot.queue.pop_front();
  } else if (offset < 0) {
    while (static_cast<std::int64_t>(bot.queue.size()) > -offset) bot.queue.pop_front();
  }
  std::int64_t from = offset > 0 ? offset : 0;
  json result = take_updates_locked(bot, from, limit);
  if (!result.empty() || timeout == 0) {
    fx.push_back([done = std::move(done), result = std::move(result)]() mutable { done(api_ok(std::move(result))); });
    return;
  }
  if (bot.poll) {
    fx.push_back([old = take_poll_locked(bot)] {
      old(api_error(409, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is "
                         "running"));
    });
  }
  std::uint64_t ticket = counter++;
  bot.poll = PollRec{ticket, from, limit, std::move(done), {}};
  std::int64_t bot_id = bot.id;
  bot.poll->timer = schedule_locked(Steady::now() + std::chrono::seconds(timeout), [this, bot_id, ticket] {
    ApiCallback expired;
    {
      std::lock_guard lock(mu);
      auto it = bots.find(bot_id);
      if (it == bots.end() || !it->second.poll || it->second.poll->ticket != ticket) return;
      expired = take_poll_locked(it->second);
    }
    expired(api_ok(json::array()));
  });
}

// ---- webhooks ---------------------------------------------------------------------------

ApiReply Emulator::Impl::m_set_webhook(BotRec& bot, const Params& p, Effects& fx) {
  std::string url = p.str("url");
  if (url.empty()) return m_delete_webhook(bot, p, fx);
  std::string secret = p.str("secret_token");
  if (auto bad = telegram::limits::check_secret_token(secret)) return api_error(*bad);
  auto parsed = parse_webhook_url(url);
  if (!parsed) {
    if (parsed.error().code == ErrorCode::kPermissionDenied || lower(url).rfind("https://", 0) == 0) {
      return api_error(400, "Bad Request: bad webhook: the sandbox delivers webhooks only to http:// loopback URLs");
    }
    return api_error(400, "Bad Request: invalid webhook URL specified");
  }
  const auto now = clock.steady_now();
  if (bot.last_webhook_set && now - *bot.last_webhook_set < std::chrono::seconds(1)) {
    return api_error(429, telegram::limits::make_error(429, "", 1).description, 1);
  }
  bot.last_webhook_set = now;
  int max_connections = static_cast<int>(std::clamp<std::int64_t>(p.integer("max_connections", 40), 1, 100));
  bool drop = p.boolean("drop_pending_updates");
  auto before = bot.allowed;
  apply_allowed_updates(bot, p);
  if (drop) bot.queue.clear();
  if (bot.webhook_url == url && bot.secret == secret && bot.max_connections == max_connections && !drop &&
      before == bot.allowed) {
    return api_ok(true, "Webhook is already set");
  }
  if (bot.poll) {
    fx.push_back([old = take_poll_locked(bot)] { old(api_error(409, "Conflict: terminated by setWebhook request")); });
  }
  bot.webhook_url = url;
  bot.secret = secret;
  bot.max_connections = max_connections;
  bot.failures = 0;
  bot.next_attempt = Steady::now();
  bot.last_error_date = 0;
  bot.last_error_message.clear();
  changed.notify_all();
  return api_ok(true, "Webhook was set");
}

ApiReply Emulator::Impl::m_delete_webhook(BotRec& bot, const Params& p, Effects&) {
  if (p.boolean("drop_pending_updates")) bot.queue.clear();
  if (bot.webhook_url.empty()) return api_ok(true, "Webhook is already deleted");
  bot.webhook_url.clear();
  bot.secret.clear();
  bot.last_error_date = 0;
  bot.last_error_message.clear();
  return api_ok(true, "Webhook was deleted");
}

ApiReply Emulator::Impl::m_get_webhook_info(BotRec& bot, const Params&, Effects&) {
  take_updates_locked(bot, 0, 0);  // drops expired updates
  json info = {{"url", bot.webhook_url}, {"has_custom_certificate", false}, {"pending_update_count", bot.queue.size()}};
  if (!bot.webhook_url.empty()) info["ip_address"] = "127.0.0.1";
  if (bot.last_error_date > 0) {
    info["last_error_date"] = bot.last_error_date;
    info["last_error_message"] = bot.last_error_message;
  }
  if (!bot.webhook_url.empty()) info["max_connections"] = bot.max_connections;
  if (!bot.allowed.empty()) info["allowed_updates"] = json(std::vector<std::string>(bot.allowed.begin(), bot.allowed.end()));
  return api_ok(std::move(info));
}

void Emulator::Impl::deliver_loop() {
  std::unique_lock lock(mu);
  while (!stopping) {
    BotRec* pick = nullptr;
    std::optional<Steady::time_point> earliest;
    const auto now = Steady::now();
    for (auto& [id, bot] : bots) {
      if (bot.webhook_url.empty() || bot.delivering || bot.queue.empty()) continue;
      if (bot.next_attempt <= now) {
        pick = &bot;
        break;
      }
      if (!earliest || bot.next_attempt < *earliest) earliest = bot.next_attempt;
    }
    if (!pick) {
      if (earliest) {
        changed.wait_until(lock, *earliest);
      } else {
        changed.wait(lock);
      }
      continue;
    }
    take_updates_locked(*pick, 0, 0);
    if (pick->queue.empty()) continue;
    BotRec& bot = *pick;
    const std::int64_t update_id = bot.queue.front().id;
    const std::string body = bot.queue.front().body.dump(-1, ' ', false, json::error_handler_t::replace);
    const std::string url = bot.webhook_url;
    std::vector<std::pair<std::string, std::string>> headers;
    if (!bot.secret.empty()) headers.emplace_back("X-Telegram-Bot-Api-Secret-Token", bot.secret);
    bot.delivering = true;
    lock.unlock();

    std::string error;
    auto target = parse_webhook_url(url);
    if (!target) {
      error = "Can't connect to the webhook";
    } else {
      auto response = post_json(*target, body, headers, options.webhook_timeout);
      if (!response) {
        error = response.error().message;
      } else if (response->status < 200 || response->status > 299) {
        error = "Wrong response from the webhook: " + std::to_string(response->status) + " " + response->reason;
      }
    }

    lock.lock();
    bot.delivering = false;
    if (error.empty()) {
      if (!bot.queue.empty() && bot.queue.front().id == update_id) bot.queue.pop_front();
      bot.failures = 0;
      bot.next_attempt = Steady::now();
    } else {
      bot.last_error_date = clock.unix_seconds();
      bot.last_error_message = error;
      ++bot.failures;
      // Telegram retries once at once, then waits 2, 4, 8... units up to the cap.
      auto delay = bot.failures <= 1 ? std::chrono::milliseconds(0)
                                     : std::min(options.webhook_retry_cap,
                                                std::chrono::milliseconds(options.webhook_retry_unit.count() *
                                                                          (1LL << std::min(bot.failures - 1, 20))));
      bot.next_attempt = Steady::now() + delay;
    }
    changed.notify_all();
  }
}

// ---- BotFather and dispatch -----------------------------------------------------------

ApiReply Emulator::Impl::m_get_me(BotRec& bot, const Params&, Effects&) {
  json me = bot_json(bot);
  me["can_join_groups"] = true;
  me["can_read_all_group_messages"] = false;
  me["supports_inline_queries"] = false;
  me["supports_guest_queries"] = false;
  me["can_connect_to_business"] = false;
  me["has_main_web_app"] = false;
  me["has_topics_enabled"] = false;
  me["allows_users_to_create_topics"] = false;
  me["can_manage_bots"] = false;
  return api_ok(std::move(me));
}

Emulator::Emulator(EmulatorOptions options, const Clock& clock) : impl_(std::make_unique<Impl>(std::move(options), clock)) {}

Emulator::~Emulator() = default;

Result<BotCredentials> Emulator::create_bot(std::string_view username, std::string_view name) {
  static const std::regex kUsername("^[A-Za-z][A-Za-z0-9_]{3,31}$");
  std::string low = lower(username);
  if (!std::regex_match(low, kUsername) || low.size() < 5 || low.substr(low.size() - 3) != "bot") {
    return fail(ErrorCode::kInvalidArgument, "a bot username is 5-32 letters, digits or _ and ends in 'bot'");
  }
  if (name.empty() || name.size() > 64) return fail(ErrorCode::kInvalidArgument, "a bot name is 1-64 characters");
  std::lock_guard lock(impl_->mu);
  if (impl_->bot_by_username.count(low)) return fail(ErrorCode::kAlreadyExists, "username is taken");
  BotRec bot;
  bot.id = impl_->next_bot_id++;
  bot.username = std::string(username);
  bot.name = std::string(name);
  bot.token = std::to_string(bot.id) + ":" + crypto::random_token(27).substr(0, 35);
  // Update ids start from "a certain positive number", not 1.
  bot.next_update_id = 100'000'000 + static_cast<std::int64_t>(crypto::random_bytes(2)[0] & 0x7f) * 1'000'000;
  impl_->bot_by_username[low] = bot.id;
  impl_->bot_by_token[bot.token] = bot.id;
  BotCredentials out{bot.id, bot.username, bot.token};
  impl_->bots.emplace(bot.id, std::move(bot));
  return out;
}

Result<BotCredentials> Emulator::revoke_token(std::string_view ref) {
  std::lock_guard lock(impl_->mu);
  BotRec* bot = impl_->find_bot_locked(ref);
  if (!bot) return fail(ErrorCode::kNotFound, "no such bot");
  impl_->bot_by_token.erase(bot->token);
  bot->token = std::to_string(bot->id) + ":" + crypto::random_token(27).substr(0, 35);
  impl_->bot_by_token[bot->token] = bot->id;
  return BotCredentials{bot->id, bot->username, bot->token};
}

std::int64_t Emulator::unauthorized_calls(std::string_view token) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->unauthorized_calls.find(std::string(token));
  return it == impl_->unauthorized_calls.end() ? 0 : it->second;
}

Result<json> Emulator::bot_profile(std::string_view ref) {
  std::lock_guard lock(impl_->mu);
  BotRec* bot = impl_->find_bot_locked(ref);
  if (!bot) return fail(ErrorCode::kNotFound, "no such bot");
  auto commands = bot->commands.find(json({{"type", "default"}}).dump() + "|");
  return json{{"id", bot->id},
              {"username", bot->username},
              {"name", bot->name},
              {"description", bot->description[""]},
              {"short_description", bot->short_description[""]},
              {"commands", commands == bot->commands.end() ? json::array() : commands->second},
              {"webhook_url", bot->webhook_url},
              {"pending_update_count", bot->queue.size()}};
}

void Emulator::call(std::string_view token, std::string_view method, Params params, ApiCallback done) {
  if (!token_well_formed(token)) return done(api_error(404, "Not Found"));
  Effects fx;
  std::optional<ApiReply> reply;
  {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->bot_by_token.find(std::string(token));
    if (it == impl_->bot_by_token.end()) {
      ++impl_->unauthorized_calls[std::string(token)];
      reply = api_error(401, "Unauthorized");
    } else {
      BotRec& bot = impl_->bots.at(it->second);
      std::string name = lower(method);
      if (name == "getupdates") {
        impl_->get_updates_locked(bot, params, std::move(done), fx);
      } else if (auto m = Impl::methods().find(name); m != Impl::methods().end()) {
        reply = (impl_.get()->*(m->second))(bot, params, fx);
      } else {
        reply = api_error(404, "Not Found");
      }
    }
    if (!fx.empty()) impl_->changed.notify_all();
  }
  for (auto& f : fx) f();
  if (reply) done(std::move(*reply));
}

ApiReply Emulator::call_sync(std::string_view token, std::string_view method, Params params) {
  auto promise = std::make_shared<std::promise<ApiReply>>();
  auto future = promise->get_future();
  call(token, method, std::move(params), [promise](ApiReply r) { promise->set_value(std::move(r)); });
  return future.get();
}

bool Emulator::wait_for_poller(std::string_view ref, std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mu);
  return impl_->changed.wait_for(lock, timeout, [&] {
    BotRec* bot = impl_->find_bot_locked(ref);
    return bot && bot->poll.has_value();
  });
}

}  // namespace ms::sandbox
