#include "telegram/conversation.hpp"

#include <map>
#include <mutex>

#include "core/clock.hpp"

namespace ms::telegram {
namespace {

class MemoryStore final : public ConversationStore {
 public:
  Result<std::optional<Conversation>> load(std::int64_t bot, std::int64_t user) override {
    std::lock_guard lock(mutex_);
    auto it = rows_.find({bot, user});
    if (it == rows_.end()) return std::optional<Conversation>();
    return std::optional<Conversation>(it->second);
  }
  Result<void> save(std::int64_t bot, std::int64_t user, const Conversation& c) override {
    std::lock_guard lock(mutex_);
    rows_[{bot, user}] = c;
    return ok();
  }
  Result<void> erase(std::int64_t bot, std::int64_t user) override {
    std::lock_guard lock(mutex_);
    rows_.erase({bot, user});
    return ok();
  }
  Result<std::vector<std::pair<std::int64_t, Conversation>>> take_expired(std::int64_t bot, std::int64_t now,
                                                                          std::size_t limit) override {
    std::lock_guard lock(mutex_);
    std::vector<std::pair<std::int64_t, Conversation>> out;
    for (auto it = rows_.lower_bound({bot, INT64_MIN}); it != rows_.end() && it->first.first == bot;) {
      if (out.size() >= limit) break;
      if (it->second.expires_at && *it->second.expires_at <= now) {
        out.emplace_back(it->first.second, std::move(it->second));
        it = rows_.erase(it);
      } else {
        ++it;
      }
    }
    return out;
  }

 private:
  std::mutex mutex_;
  std::map<std::pair<std::int64_t, std::int64_t>, Conversation> rows_;
};

Result<Conversation> from_row(const storage::Row& r) {
  Conversation c;
  c.state = r.get_string("state");
  c.data = nlohmann::json::parse(r.get_string("data"), nullptr, false);
  if (c.data.is_discarded() || !c.data.is_object())
    return fail(ErrorCode::kCorrupted, "conversation data is not a JSON object");
  c.expires_at = r.opt_int("expires_at");
  return c;
}

class DatabaseStore final : public ConversationStore {
 public:
  explicit DatabaseStore(storage::Database& db) : db_(db) {}

  Result<std::optional<Conversation>> load(std::int64_t bot, std::int64_t user) override {
    return db_.with_session([&](storage::Session& s) -> Result<std::optional<Conversation>> {
      auto row =
          s.query_one("SELECT state, data, expires_at FROM conversation_state WHERE bot_id = :b AND user_id = :u",
                      {{"b", bot}, {"u", user}});
      if (!row) return fail(std::move(row.error()));
      if (!*row) return std::optional<Conversation>();
      auto c = from_row(**row);
      if (!c) return fail(std::move(c.error()));
      return std::optional<Conversation>(std::move(*c));
    });
  }

  Result<void> save(std::int64_t bot, std::int64_t user, const Conversation& c) override {
    const storage::Value expires = c.expires_at ? storage::Value{*c.expires_at} : storage::Value{};
    return db_.with_session([&](storage::Session& s) -> Result<void> {
      auto r = s.exec(
          "INSERT INTO conversation_state (bot_id, user_id, state, data, updated_at, expires_at) "
          "VALUES (:b, :u, :s, :d, :now, :e) ON CONFLICT (bot_id, user_id) DO UPDATE SET state = excluded.state, "
          "data = excluded.data, updated_at = excluded.updated_at, expires_at = excluded.expires_at",
          {{"b", bot},
           {"u", user},
           {"s", c.state},
           {"d", c.data.dump()},
           {"now", SystemClock::instance().unix_seconds()},
           {"e", expires}});
      if (!r) return fail(std::move(r.error()));
      return ok();
    });
  }

  Result<void> erase(std::int64_t bot, std::int64_t user) override {
    return db_.with_session([&](storage::Session& s) -> Result<void> {
      auto r = s.exec("DELETE FROM conversation_state WHERE bot_id = :b AND user_id = :u", {{"b", bot}, {"u", user}});
      if (!r) return fail(std::move(r.error()));
      return ok();
    });
  }

  Result<std::vector<std::pair<std::int64_t, Conversation>>> take_expired(std::int64_t bot, std::int64_t now,
                                                                          std::size_t limit) override {
    using Out = std::vector<std::pair<std::int64_t, Conversation>>;
    return db_.transaction([&](storage::Session& s) -> Result<Out> {
      auto rows = s.query(
          "SELECT user_id, state, data, expires_at FROM conversation_state WHERE bot_id = :b AND expires_at IS NOT "
          "NULL AND expires_at <= :now ORDER BY expires_at LIMIT :n",
          {{"b", bot}, {"now", now}, {"n", static_cast<std::int64_t>(limit)}});
      if (!rows) return fail(std::move(rows.error()));
      Out out;
      for (const auto& r : *rows) {
        const std::int64_t user = r.get_int("user_id");
        // Only what is still expired now: a turn may have renewed it since the SELECT.
        auto gone = s.exec(
            "DELETE FROM conversation_state WHERE bot_id = :b AND user_id = :u AND expires_at IS NOT NULL AND "
            "expires_at <= :now",
            {{"b", bot}, {"u", user}, {"now", now}});
        if (!gone) return fail(std::move(gone.error()));
        if (*gone == 0) continue;
        auto c = from_row(r);
        if (!c) c = Conversation{};  // unreadable data: still timed out, with nothing gathered
        out.emplace_back(user, std::move(*c));
      }
      return out;
    });
  }

 private:
  storage::Database& db_;
};

}  // namespace

std::shared_ptr<ConversationStore> make_memory_conversation_store() { return std::make_shared<MemoryStore>(); }

std::shared_ptr<ConversationStore> make_database_conversation_store(storage::Database& db) {
  return std::make_shared<DatabaseStore>(db);
}

}  // namespace ms::telegram
