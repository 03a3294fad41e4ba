#include "panels/provision.hpp"

#include "domain/rules.hpp"

namespace ms::panels {

using storage::Session;
using storage::Value;

namespace {

// Keeps `text` within `max` characters (UTF-8 code points), never cutting one in half.
std::string clip(const std::string& text, std::size_t max) {
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      if (chars == max) return text.substr(0, i);
      ++chars;
    }
  }
  return text;
}

Error panel_error(const PanelError& e) { return e.to_error(); }

}  // namespace

std::string Provisioner::marker(std::int64_t tenant_id, std::int64_t order_id) {
  return "[ms:t" + std::to_string(tenant_id) + ":o" + std::to_string(order_id) + "]";
}

Result<Provisioner::Reservation> Provisioner::reserve(const ProvisionRequest& req, const std::string& username) {
  auto find = [&](Session& s) -> Result<std::optional<Reservation>> {
    auto row = s.query_one("SELECT id, panel_id, panel_username, status FROM services WHERE order_id = :o",
                           {{"o", req.order_id}});
    if (!row) return fail(std::move(row.error()));
    if (!*row) return std::optional<Reservation>();
    return std::optional<Reservation>(Reservation{(*row)->get_int("id"), (*row)->get_int("panel_id"),
                                                  (*row)->get_string("panel_username"), (*row)->get_string("status"),
                                                  true});
  };
  auto attempt = db_.transaction([&](Session& s) -> Result<Reservation> {
    auto existing = find(s);
    if (!existing) return fail(std::move(existing.error()));
    if (*existing) return **existing;
    const std::int64_t now = clock_.unix_seconds();
    auto row = s.query_one(
        "INSERT INTO services (user_id, plan_id, panel_id, order_id, panel_username, status, traffic_limit_bytes, "
        "expires_at, created_at, updated_at) VALUES (:user, :plan, :panel, :order, :name, 'reserved', :limit, "
        ":expires, :now, :now) RETURNING id",
        {{"user", req.user_id},
         {"plan", req.plan_id ? Value{*req.plan_id} : Value{}},
         {"panel", req.panel_id},
         {"order", req.order_id},
         {"name", username},
         {"limit", req.account.data_limit_bytes > 0 ? Value{req.account.data_limit_bytes} : Value{}},
         {"expires", req.account.expire_at > 0 ? Value{req.account.expire_at} : Value{}},
         {"now", now}});
    if (!row) return fail(std::move(row.error()));
    return Reservation{(*row)->get_int("id"), req.panel_id, username, "reserved", false};
  });
  if (attempt || attempt.error().code != ErrorCode::kAlreadyExists) return attempt;
  // Another attempt reserved this order between our read and our insert: use its row.
  auto again = db_.with_session(find);
  if (!again) return fail(std::move(again.error()));
  if (!*again) {
    return fail(ErrorCode::kAlreadyExists,
                "panel account name " + username + " is reserved by another order on this panel");
  }
  return **again;
}

Result<void> Provisioner::activate(std::int64_t service_id, const Account& a) {
  return db_.with_session([&](Session& s) -> Result<void> {
    auto changed = s.exec(
        "UPDATE services SET status = 'active', subscription_url = :url, traffic_limit_bytes = :limit, "
        "traffic_used_bytes = :used, expires_at = :expires, updated_at = :now WHERE id = :id AND status = 'reserved'",
        {{"url", a.subscription_url},
         {"limit", a.data_limit_bytes > 0 ? Value{a.data_limit_bytes} : Value{}},
         {"used", a.used_bytes},
         {"expires", a.expire_at > 0 ? Value{a.expire_at} : Value{}},
         {"now", clock_.unix_seconds()},
         {"id", service_id}});
    if (!changed) return fail(std::move(changed.error()));
    return ok();  // 0 rows: a concurrent attempt activated it first
  });
}

Result<Provisioned> Provisioner::provision(Panel& panel, const ProvisionRequest& req) {
  if (req.panel_id <= 0) return fail(ErrorCode::kInvalidArgument, "provisioning needs a panel id");
  auto derived = domain::panel_username(req.tenant_id, req.user_id, req.order_id);
  if (!derived) return fail(derived.error());
  auto reservation = reserve(req, *derived);
  if (!reservation) return fail(reservation.error());
  if (reservation->panel_id != req.panel_id) {
    // Its account may exist on that panel: never make a second one on this one.
    return fail(ErrorCode::kConflict, "order " + std::to_string(req.order_id) + " is already reserved on panel " +
                                          std::to_string(reservation->panel_id));
  }
  Provisioned out;
  out.service_id = reservation->service_id;
  out.username = reservation->username;  // the reserved name wins over a re-derived one
  if (reservation->status != "reserved") {
    out.how = Provisioned::How::kAlreadyDone;
    return out;
  }
  step("reserved");

  const std::string mark = marker(req.tenant_id, req.order_id);
  // An account with our name: ours only if it carries this order's marker.
  auto adopt_if_ours = [&](const Account& found) -> Result<Provisioned> {
    if (found.note.find(mark) == std::string::npos) {
      return fail(ErrorCode::kAlreadyExists,
                  "panel account " + out.username + " exists but was not made for this order; not touching it");
    }
    out.how = Provisioned::How::kAdopted;
    out.account = found;
    return out;
  };
  auto finish = [&](Result<Provisioned> done) -> Result<Provisioned> {
    if (!done) return done;
    step("created");
    if (auto a = activate(done->service_id, *done->account); !a) return fail(a.error());
    step("activated");
    return done;
  };

  // Resuming: a previous attempt may have created the account already.
  if (reservation->existed) {
    auto found = panel.get(out.username);
    if (found) return finish(adopt_if_ours(*found));
    if (found.error().kind != PanelErrorKind::kNotFound) return fail(panel_error(found.error()));
  }

  NewAccount account = req.account;
  account.username = out.username;
  account.note = clip(mark + (req.account.note.empty() ? "" : " " + req.account.note), 500);
  for (int attempt = 1; attempt <= std::max(1, options_.create_attempts); ++attempt) {
    auto created = panel.create(account);
    if (created) {
      out.how = Provisioned::How::kCreated;
      out.account = std::move(*created);
      return finish(out);
    }
    const PanelError& e = created.error();
    if (e.kind != PanelErrorKind::kConflict && !e.transient()) return fail(panel_error(e));
    if (e.kind == PanelErrorKind::kDown || e.kind == PanelErrorKind::kBusy) return fail(panel_error(e));
    // 409, or the answer was lost: read before anything else.
    auto found = panel.get(out.username);
    if (found) return finish(adopt_if_ours(*found));
    if (found.error().kind != PanelErrorKind::kNotFound) return fail(panel_error(found.error()));
    if (e.kind == PanelErrorKind::kConflict) {
      // Taken a moment ago and gone now (deleted in between): try again.
      continue;
    }
  }
  return fail(ErrorCode::kUnavailable, "panel account " + out.username + " could not be created; it stays reserved");
}

}  // namespace ms::panels
