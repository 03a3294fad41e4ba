#include "storage/order_repository.hpp"

namespace ms::storage {

namespace {

constexpr std::string_view kColumns =
    "id, user_id, plan_id, kind, status, amount_minor, currency, idempotency_key, created_at, updated_at";

Result<Order> from_row(const Row& r) {
  Order o;
  o.id = r.get_int("id");
  o.user_id = r.get_int("user_id");
  o.plan_id = r.opt_int("plan_id");
  o.kind = r.get_string("kind");
  o.status = r.get_string("status");
  auto currency = currency_from_code(r.get_string("currency"));
  if (!currency) return fail(ErrorCode::kCorrupted, "order " + std::to_string(o.id) + " has an unknown currency");
  o.amount = Money{r.get_int("amount_minor"), *currency};
  o.idempotency_key = r.opt_string("idempotency_key");
  o.created_at = r.get_int("created_at");
  o.updated_at = r.get_int("updated_at");
  return o;
}

Value optional_value(const std::optional<std::int64_t>& v) { return v ? Value{*v} : Value{}; }
Value optional_value(const std::optional<std::string>& v) { return v ? Value{*v} : Value{}; }

}  // namespace

Result<std::int64_t> OrderRepository::insert(Session& s, const Order& o) {
  auto row = s.query_one(
      "INSERT INTO orders (user_id, plan_id, kind, status, amount_minor, currency, idempotency_key, created_at, "
      "updated_at) VALUES (:user, :plan, :kind, :status, :amount, :currency, :key, :created, :updated) RETURNING id",
      {{"user", o.user_id},
       {"plan", optional_value(o.plan_id)},
       {"kind", o.kind},
       {"status", o.status},
       {"amount", o.amount.minor},
       {"currency", std::string(currency_code(o.amount.currency))},
       {"key", optional_value(o.idempotency_key)},
       {"created", o.created_at},
       {"updated", o.updated_at}});
  if (!row) return fail(std::move(row.error()));
  if (!*row) return fail(ErrorCode::kInternal, "INSERT ... RETURNING returned no row");
  return (*row)->get_int("id");
}

Result<std::int64_t> OrderRepository::insert(const Order& order) {
  return db_.with_session([&](Session& s) { return insert(s, order); });
}

Result<std::optional<Order>> OrderRepository::get(Session& s, std::int64_t id) {
  auto row = s.query_one("SELECT " + std::string(kColumns) + " FROM orders WHERE id = :id", {{"id", id}});
  if (!row) return fail(std::move(row.error()));
  if (!*row) return std::optional<Order>();
  auto o = from_row(**row);
  if (!o) return fail(std::move(o.error()));
  return std::optional<Order>(std::move(*o));
}

Result<std::optional<Order>> OrderRepository::get(std::int64_t id) {
  return db_.with_session([&](Session& s) { return get(s, id); });
}

Result<std::vector<Order>> OrderRepository::list_by_user(std::int64_t user_id, int limit) {
  return db_.with_session([&](Session& s) -> Result<std::vector<Order>> {
    auto rows =
        s.query("SELECT " + std::string(kColumns) + " FROM orders WHERE user_id = :user ORDER BY id DESC LIMIT :limit",
                {{"user", user_id}, {"limit", std::int64_t{limit}}});
    if (!rows) return fail(std::move(rows.error()));
    std::vector<Order> out;
    out.reserve(rows->size());
    for (const Row& r : *rows) {
      auto o = from_row(r);
      if (!o) return fail(std::move(o.error()));
      out.push_back(std::move(*o));
    }
    return out;
  });
}

Result<void> OrderRepository::update_status(std::int64_t id, const std::string& from, const std::string& to,
                                            std::int64_t now) {
  return db_.transaction([&](Session& s) -> Result<void> {
    auto changed = s.exec("UPDATE orders SET status = :to, updated_at = :now WHERE id = :id AND status = :from",
                          {{"to", to}, {"now", now}, {"id", id}, {"from", from}});
    if (!changed) return fail(std::move(changed.error()));
    if (*changed == 1) return ok();
    auto exists = s.query_one("SELECT status FROM orders WHERE id = :id", {{"id", id}});
    if (!exists) return fail(std::move(exists.error()));
    if (!*exists) return fail(ErrorCode::kNotFound, "order " + std::to_string(id) + " does not exist");
    return fail(ErrorCode::kConflict,
                "order " + std::to_string(id) + " is " + (*exists)->get_string("status") + ", not " + from);
  });
}

}  // namespace ms::storage
