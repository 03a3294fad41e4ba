#include "bots/shop/settings.hpp"

#include <array>

namespace ms::shop {

namespace {

using nlohmann::json;

constexpr std::array<std::string_view, 7> kKeys = {"channels", "trial",    "referral_percent", "delivery",
                                                   "admins",   "antispam", "currency"};

json to_json_value(const ShopSettings& s, std::string_view key) {
  if (key == "channels") {
    json out = json::array();
    for (const auto& c : s.channels) out.push_back({{"chat_id", c.chat_id}, {"title", c.title}, {"url", c.url}});
    return out;
  }
  if (key == "trial") {
    json t = {{"enabled", s.trial.enabled}, {"traffic_bytes", s.trial.traffic_bytes}, {"days", s.trial.days}};
    if (s.trial.panel_id) t["panel_id"] = *s.trial.panel_id;
    return t;
  }
  if (key == "referral_percent") return s.referral_percent;
  if (key == "delivery") return s.delivery == Delivery::kLink ? "link" : "link_and_configs";
  if (key == "admins") {
    json out = json::array();
    for (const auto& a : s.admins) out.push_back({{"telegram_id", a.telegram_id}, {"role", to_string(a.role)}});
    return out;
  }
  if (key == "antispam") {
    return {{"max_updates", s.antispam.max_updates},
            {"window_seconds", s.antispam.window_seconds},
            {"mute_seconds", s.antispam.mute_seconds}};
  }
  return std::string(currency_code(s.currency));
}

// Applies one stored value; throws json errors for a wrong shape (caught by the caller).
Result<void> apply(ShopSettings& s, std::string_view key, const json& v) {
  if (key == "channels") {
    s.channels.clear();
    for (const auto& c : v) {
      s.channels.push_back({c.at("chat_id").get<std::int64_t>(), c.value("title", ""), c.value("url", "")});
    }
  } else if (key == "trial") {
    s.trial.enabled = v.at("enabled").get<bool>();
    s.trial.traffic_bytes = v.at("traffic_bytes").get<std::int64_t>();
    s.trial.days = v.at("days").get<std::int64_t>();
    if (v.contains("panel_id") && !v["panel_id"].is_null()) s.trial.panel_id = v["panel_id"].get<std::int64_t>();
    if (s.trial.traffic_bytes <= 0 || s.trial.days <= 0) return fail(ErrorCode::kInvalidArgument, "size and days > 0");
  } else if (key == "referral_percent") {
    s.referral_percent = v.get<int>();
    if (s.referral_percent < 0 || s.referral_percent > 100) return fail(ErrorCode::kInvalidArgument, "0 to 100");
  } else if (key == "delivery") {
    const auto text = v.get<std::string>();
    if (text == "link") {
      s.delivery = Delivery::kLink;
    } else if (text == "link_and_configs") {
      s.delivery = Delivery::kLinkAndConfigs;
    } else {
      return fail(ErrorCode::kInvalidArgument, "link or link_and_configs");
    }
  } else if (key == "admins") {
    s.admins.clear();
    for (const auto& a : v) {
      auto role = parse_admin_role(a.at("role").get<std::string>());
      if (!role) return fail(ErrorCode::kInvalidArgument, "role owner, admin or support");
      s.admins.push_back({a.at("telegram_id").get<std::int64_t>(), *role});
    }
  } else if (key == "antispam") {
    s.antispam.max_updates = v.at("max_updates").get<int>();
    s.antispam.window_seconds = v.at("window_seconds").get<int>();
    s.antispam.mute_seconds = v.at("mute_seconds").get<int>();
    if (s.antispam.max_updates <= 0 || s.antispam.window_seconds <= 0 || s.antispam.mute_seconds < 0) {
      return fail(ErrorCode::kInvalidArgument, "positive numbers");
    }
  } else if (key == "currency") {
    auto c = currency_from_code(v.get<std::string>());
    if (!c) return fail(ErrorCode::kInvalidArgument, "a currency code");
    s.currency = *c;
  }
  return ok();
}

}  // namespace

std::string_view to_string(AdminRole role) {
  switch (role) {
    case AdminRole::kOwner: return "owner";
    case AdminRole::kAdmin: return "admin";
    case AdminRole::kSupport: return "support";
  }
  return "admin";
}

std::optional<AdminRole> parse_admin_role(std::string_view text) {
  if (text == "owner") return AdminRole::kOwner;
  if (text == "admin") return AdminRole::kAdmin;
  if (text == "support") return AdminRole::kSupport;
  return std::nullopt;
}

std::optional<AdminRole> ShopSettings::role_of(std::int64_t telegram_id) const {
  for (const auto& a : admins) {
    if (a.telegram_id == telegram_id) return a.role;
  }
  return std::nullopt;
}

Result<ShopSettings> load_settings(storage::Database& db) {
  auto rows = db.with_session([](storage::Session& s) { return s.query("SELECT key, value FROM settings"); });
  if (!rows) return fail(std::move(rows.error()));
  ShopSettings out;
  for (const auto& row : *rows) {
    const auto key = row.get_string("key");
    bool known = false;
    for (auto k : kKeys) known = known || k == key;
    if (!known) continue;  // other subsystems keep their own keys here
    try {
      auto r = apply(out, key, json::parse(row.get_string("value")));
      if (!r) return fail(ErrorCode::kCorrupted, "setting '" + key + "': " + r.error().message);
    } catch (const json::exception& e) {
      return fail(ErrorCode::kCorrupted, "setting '" + key + "' cannot be read: " + e.what());
    }
  }
  return out;
}

Result<void> save_setting(storage::Database& db, const ShopSettings& settings, std::string_view key, std::int64_t now) {
  bool known = false;
  for (auto k : kKeys) known = known || k == key;
  if (!known) return fail(ErrorCode::kInvalidArgument, "unknown shop setting '" + std::string(key) + "'");
  const std::string value = to_json_value(settings, key).dump();
  return db.with_session([&](storage::Session& s) -> Result<void> {
    auto r = s.exec(
        "INSERT INTO settings (key, value, updated_at) VALUES (:key, :value, :now) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        {{"key", std::string(key)}, {"value", value}, {"now", now}});
    if (!r) return fail(std::move(r.error()));
    return ok();
  });
}

Result<void> save_settings(storage::Database& db, const ShopSettings& settings, std::int64_t now) {
  for (auto key : kKeys) {
    auto r = save_setting(db, settings, key, now);
    if (!r) return r;
  }
  return ok();
}

}  // namespace ms::shop
