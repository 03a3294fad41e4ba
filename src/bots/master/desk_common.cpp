#include "bots/master/desk_common.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <stdexcept>

#include "core/i18n/calendar.hpp"
#include "core/i18n/digits.hpp"
#include "core/i18n/money_format.hpp"

namespace ms::master::desk {

namespace {

const i18n::Catalog& catalog() {
  static const i18n::Catalog texts;
  return texts;
}

constexpr std::string_view kCustomerColumns = "id, telegram_id, tenant_id, name, username, status, created_at";

CustomerRow customer_from(const storage::Row& r) {
  CustomerRow c;
  c.id = r.get_int("id");
  c.telegram_id = r.opt_int("telegram_id");
  c.tenant_id = r.opt_int("tenant_id");
  c.name = r.get_string("name");
  c.username = r.opt_string("username").value_or("");
  c.status = r.get_string("status");
  c.created_at = r.get_int("created_at");
  return c;
}

Result<std::optional<CustomerRow>> one_customer(storage::Database& db, const std::string& where,
                                                const storage::Params& params) {
  return db.with_session([&](storage::Session& s) -> Result<std::optional<CustomerRow>> {
    auto row = s.query_one("SELECT " + std::string(kCustomerColumns) + " FROM customers WHERE " + where, params);
    if (!row) return fail(std::move(row.error()));
    if (!*row) return std::optional<CustomerRow>();
    return std::optional<CustomerRow>(customer_from(**row));
  });
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

}  // namespace

Lang lang_of(const MasterContext& ctx, std::int64_t telegram_id) {
  if (!ctx.language_of) return Lang::kFa;
  return i18n::parse_lang(ctx.language_of(telegram_id)).value_or(Lang::kFa);
}

std::string t(Lang lang, std::string_view key, const i18n::Args& args) { return catalog().render(lang, key, args); }

std::string number(std::int64_t n, Lang lang) {
  return lang == Lang::kFa ? i18n::to_persian_digits(std::to_string(n)) : std::to_string(n);
}

std::string money(Money m, Lang lang) { return i18n::format_money(m, lang); }

std::string date(std::int64_t unix_seconds, Lang lang) { return i18n::format_date(unix_seconds, lang); }

std::string moment(std::int64_t unix_seconds, Lang lang) {
  // Tehran time (UTC+3:30, no daylight saving since 2022), like the dates.
  const std::int64_t local = unix_seconds + i18n::kIranOffsetMinutes * 60;
  const std::int64_t minutes = ((local % 86'400) + 86'400) % 86'400 / 60;
  char hm[8];
  std::snprintf(hm, sizeof hm, "%02d:%02d", static_cast<int>(minutes / 60), static_cast<int>(minutes % 60));
  std::string text = date(unix_seconds, lang) + " " + hm;
  return lang == Lang::kFa ? i18n::to_persian_digits(text) : text;
}

telegram::InlineKeyboardBuilder keyboard(const MasterContext& ctx, Lang lang) {
  return telegram::InlineKeyboardBuilder(ctx.callback_key,
                                         lang == Lang::kFa ? telegram::Direction::kRtl : telegram::Direction::kLtr);
}

telegram::InlineKeyboardMarkup built(const telegram::InlineKeyboardBuilder& b) {
  auto markup = b.build();
  if (!markup) throw std::logic_error("master keyboard: " + markup.error().to_string());
  return std::move(*markup);
}

void send(telegram::BotContext& bot, std::int64_t chat_id, const std::string& text,
          const std::optional<std::string>& photo_file_id, std::optional<telegram::InlineKeyboardMarkup> markup) {
  if (photo_file_id) {
    telegram::SendPhoto ph;
    ph.chat_id = chat_id;
    ph.photo = telegram::InputFile::from_reference(*photo_file_id);
    // A caption is at most 1024 characters; the whole text stays in the ticket.
    auto parts = telegram::split_message(text, 1000);
    ph.caption = parts.empty() ? std::string() : parts.front();
    ph.parse_mode = "HTML";
    if (markup) ph.reply_markup = std::move(*markup);
    bot.send(ph);
    return;
  }
  auto parts = telegram::split_message(text);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    telegram::SendMessage m;
    m.chat_id = chat_id;
    m.text = std::move(parts[i]);
    m.parse_mode = "HTML";
    m.disable_link_preview = true;
    if (i + 1 == parts.size() && markup) m.reply_markup = *markup;  // the buttons under the last part
    bot.send(m);
  }
}

std::optional<std::string> photo_of(const telegram::Turn& turn) {
  if (!turn.update.message || turn.update.message->photo.empty()) return std::nullopt;
  return turn.update.message->photo.back().file_id;
}

Result<CustomerRow> ensure_customer(storage::Database& db, const telegram::User& user, std::int64_t now) {
  const std::string username = user.username ? lower(*user.username) : std::string();
  return db.transaction([&](storage::Session& s) -> Result<CustomerRow> {
    auto row = s.query_one("SELECT " + std::string(kCustomerColumns) + " FROM customers WHERE telegram_id = :tg",
                           {{"tg", user.id}});
    if (!row) return fail(std::move(row.error()));
    if (*row) {
      CustomerRow c = customer_from(**row);
      if (c.username != username) {
        auto u =
            s.exec("UPDATE customers SET username = :u, updated_at = :now WHERE id = :id",
                   {{"u", username.empty() ? storage::Value{} : storage::Value{username}}, {"now", now}, {"id", c.id}});
        if (!u) return fail(std::move(u.error()));
        c.username = username;
      }
      return c;
    }
    std::string name = user.first_name;
    if (user.last_name && !user.last_name->empty()) name += " " + *user.last_name;
    auto lang = user.language_code && user.language_code->rfind("en", 0) == 0 ? "en" : "fa";
    auto inserted = s.query_one(
        "INSERT INTO customers (telegram_id, name, username, language, created_at, updated_at) "
        "VALUES (:tg, :name, :u, :lang, :now, :now) RETURNING " +
            std::string(kCustomerColumns),
        {{"tg", user.id},
         {"name", name},
         {"u", username.empty() ? storage::Value{} : storage::Value{username}},
         {"lang", std::string(lang)},
         {"now", now}});
    if (!inserted) return fail(std::move(inserted.error()));
    return customer_from(**inserted);
  });
}

Result<std::optional<CustomerRow>> customer_by_id(storage::Database& db, std::int64_t id) {
  return one_customer(db, "id = :id", {{"id", id}});
}

Result<std::optional<CustomerRow>> customer_by_telegram(storage::Database& db, std::int64_t telegram_id) {
  return one_customer(db, "telegram_id = :tg", {{"tg", telegram_id}});
}

Result<std::optional<CustomerRow>> customer_by_username(storage::Database& db, std::string_view username) {
  std::string name = trimmed(username);
  if (!name.empty() && name[0] == '@') name.erase(0, 1);
  if (name.empty()) return std::optional<CustomerRow>();
  return one_customer(db, "username = :u", {{"u", lower(name)}});
}

std::string trimmed(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return "";
  const auto last = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(first, last - first + 1));
}

}  // namespace ms::master::desk
