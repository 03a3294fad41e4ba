// Tenant database schema (one per customer). Append new migrations; never edit an applied one.
#include "storage/migrations/migrations.hpp"

namespace ms::storage::migrations {

namespace {

constexpr std::string_view kInitial = R"sql(
CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE texts (
  lang TEXT NOT NULL,
  key TEXT NOT NULL,
  text TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (lang, key)
);
CREATE TABLE users (
  id {{pk}},
  telegram_id BIGINT NOT NULL UNIQUE,
  username TEXT,
  first_name TEXT NOT NULL DEFAULT '',
  language TEXT NOT NULL DEFAULT 'fa',
  balance_minor BIGINT NOT NULL DEFAULT 0 CHECK (balance_minor >= 0),
  currency TEXT NOT NULL DEFAULT 'IRR',
  referrer_id BIGINT REFERENCES users(id) {{deferrable}},
  banned BIGINT NOT NULL DEFAULT 0 CHECK (banned IN (0, 1)),
  blocked_bot BIGINT NOT NULL DEFAULT 0 CHECK (blocked_bot IN (0, 1)),
  campaign TEXT,
  phone TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  last_seen_at BIGINT
);
CREATE INDEX users_referrer ON users (referrer_id);
CREATE TABLE wallet_ledger (
  id {{pk}},
  user_id BIGINT NOT NULL REFERENCES users(id) {{deferrable}},
  delta_minor BIGINT NOT NULL CHECK (delta_minor <> 0),
  currency TEXT NOT NULL,
  balance_after_minor BIGINT NOT NULL CHECK (balance_after_minor >= 0),
  reason TEXT NOT NULL,
  ref TEXT,
  note TEXT,
  created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX wallet_ledger_reason_ref ON wallet_ledger (reason, ref) WHERE ref IS NOT NULL;
CREATE INDEX wallet_ledger_user ON wallet_ledger (user_id);
CREATE TABLE panels (
  id {{pk}},
  name TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL DEFAULT 'marzban',
  base_url TEXT NOT NULL,
  username TEXT NOT NULL,
  password_enc TEXT NOT NULL,
  access_token_enc TEXT,
  inbounds TEXT NOT NULL DEFAULT '{}',
  max_users BIGINT CHECK (max_users IS NULL OR max_users >= 0),
  enabled BIGINT NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  healthy BIGINT NOT NULL DEFAULT 1 CHECK (healthy IN (0, 1)),
  last_health_at BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE plans (
  id {{pk}},
  name TEXT NOT NULL,
  panel_id BIGINT REFERENCES panels(id) {{deferrable}},
  duration_days BIGINT NOT NULL CHECK (duration_days > 0),
  traffic_bytes BIGINT CHECK (traffic_bytes IS NULL OR traffic_bytes >= 0),
  price_minor BIGINT NOT NULL CHECK (price_minor >= 0),
  currency TEXT NOT NULL,
  inbounds TEXT NOT NULL DEFAULT '{}',
  active BIGINT NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
  sort_order BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE discount_codes (
  id {{pk}},
  code TEXT NOT NULL UNIQUE,
  percent BIGINT CHECK (percent IS NULL OR (percent >= 1 AND percent <= 100)),
  amount_minor BIGINT CHECK (amount_minor IS NULL OR amount_minor >= 0),
  currency TEXT,
  plan_id BIGINT REFERENCES plans(id) {{deferrable}},
  max_uses BIGINT CHECK (max_uses IS NULL OR max_uses > 0),
  used_count BIGINT NOT NULL DEFAULT 0 CHECK (used_count >= 0),
  per_user_limit BIGINT NOT NULL DEFAULT 1 CHECK (per_user_limit > 0),
  starts_at BIGINT,
  expires_at BIGINT,
  active BIGINT NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
  created_at BIGINT NOT NULL,
  CHECK (percent IS NOT NULL OR amount_minor IS NOT NULL)
);
CREATE TABLE orders (
  id {{pk}},
  user_id BIGINT NOT NULL REFERENCES users(id) {{deferrable}},
  plan_id BIGINT REFERENCES plans(id) {{deferrable}},
  kind TEXT NOT NULL DEFAULT 'new' CHECK (kind IN ('new', 'renew', 'topup', 'traffic')),
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN
    ('pending', 'awaiting_payment', 'paid', 'provisioning', 'completed', 'failed', 'cancelled', 'refunded')),
  amount_minor BIGINT NOT NULL CHECK (amount_minor >= 0),
  currency TEXT NOT NULL,
  discount_code_id BIGINT REFERENCES discount_codes(id) {{deferrable}},
  discount_minor BIGINT NOT NULL DEFAULT 0 CHECK (discount_minor >= 0),
  idempotency_key TEXT UNIQUE,
  note TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX orders_user ON orders (user_id, id);
CREATE INDEX orders_status ON orders (status);
CREATE TABLE discount_redemptions (
  id {{pk}},
  code_id BIGINT NOT NULL REFERENCES discount_codes(id) {{deferrable}},
  user_id BIGINT NOT NULL REFERENCES users(id) {{deferrable}},
  order_id BIGINT NOT NULL UNIQUE REFERENCES orders(id) {{deferrable}},
  created_at BIGINT NOT NULL
);
CREATE INDEX discount_redemptions_code_user ON discount_redemptions (code_id, user_id);
CREATE TABLE services (
  id {{pk}},
  user_id BIGINT NOT NULL REFERENCES users(id) {{deferrable}},
  plan_id BIGINT REFERENCES plans(id) {{deferrable}},
  panel_id BIGINT NOT NULL REFERENCES panels(id) {{deferrable}},
  order_id BIGINT REFERENCES orders(id) {{deferrable}},
  panel_username TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'reserved'
    CHECK (status IN ('reserved', 'active', 'disabled', 'expired', 'revoked', 'deleted')),
  subscription_url TEXT,
  traffic_limit_bytes BIGINT CHECK (traffic_limit_bytes IS NULL OR traffic_limit_bytes >= 0),
  traffic_used_bytes BIGINT NOT NULL DEFAULT 0 CHECK (traffic_used_bytes >= 0),
  expires_at BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE (panel_id, panel_username)
);
CREATE INDEX services_user ON services (user_id);
CREATE INDEX services_expiry ON services (status, expires_at);
CREATE TABLE payment_methods (
  id {{pk}},
  provider TEXT NOT NULL UNIQUE,
  enabled BIGINT NOT NULL DEFAULT 0 CHECK (enabled IN (0, 1)),
  config TEXT NOT NULL DEFAULT '{}',
  secret_enc TEXT,
  updated_at BIGINT NOT NULL
);
CREATE TABLE payments (
  id {{pk}},
  order_id BIGINT REFERENCES orders(id) {{deferrable}},
  user_id BIGINT NOT NULL REFERENCES users(id) {{deferrable}},
  provider TEXT NOT NULL,
  provider_ref TEXT,
  amount_minor BIGINT NOT NULL CHECK (amount_minor >= 0),
  currency TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'review', 'paid', 'rejected', 'expired', 'refunded')),
  receipt_file_id TEXT,
  receipt_file_unique_id TEXT,
  reviewed_by BIGINT,
  reviewed_at BIGINT,
  reject_reason TEXT,
  raw TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE (provider, provider_ref)
);
CREATE INDEX payments_order ON payments (order_id);
CREATE INDEX payments_receipt ON payments (receipt_file_unique_id);
CREATE TABLE referrals (
  id {{pk}},
  referrer_id BIGINT NOT NULL REFERENCES users(id) {{deferrable}},
  referred_id BIGINT NOT NULL UNIQUE REFERENCES users(id) {{deferrable}},
  reward_minor BIGINT NOT NULL DEFAULT 0 CHECK (reward_minor >= 0),
  currency TEXT NOT NULL DEFAULT 'IRR',
  rewarded_at BIGINT,
  created_at BIGINT NOT NULL,
  CHECK (referrer_id <> referred_id)
);
CREATE TABLE broadcasts (
  id {{pk}},
  bot_id BIGINT,
  text TEXT NOT NULL,
  media_file_id TEXT,
  filter TEXT NOT NULL DEFAULT '{}',
  status TEXT NOT NULL DEFAULT 'draft'
    CHECK (status IN ('draft', 'queued', 'running', 'paused', 'done', 'cancelled')),
  total BIGINT NOT NULL DEFAULT 0 CHECK (total >= 0),
  sent BIGINT NOT NULL DEFAULT 0 CHECK (sent >= 0),
  failed BIGINT NOT NULL DEFAULT 0 CHECK (failed >= 0),
  blocked BIGINT NOT NULL DEFAULT 0 CHECK (blocked >= 0),
  created_by BIGINT,
  created_at BIGINT NOT NULL,
  started_at BIGINT,
  finished_at BIGINT
);
CREATE TABLE broadcast_recipients (
  broadcast_id BIGINT NOT NULL REFERENCES broadcasts(id) ON DELETE CASCADE {{deferrable}},
  user_id BIGINT NOT NULL REFERENCES users(id) {{deferrable}},
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed', 'blocked')),
  attempts BIGINT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  error TEXT,
  sent_at BIGINT,
  PRIMARY KEY (broadcast_id, user_id)
);
CREATE INDEX broadcast_recipients_pending ON broadcast_recipients (broadcast_id, status);
CREATE TABLE tickets (
  id {{pk}},
  user_id BIGINT NOT NULL REFERENCES users(id) {{deferrable}},
  subject TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'answered', 'closed')),
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  closed_at BIGINT
);
CREATE TABLE ticket_messages (
  id {{pk}},
  ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE {{deferrable}},
  author_kind TEXT NOT NULL CHECK (author_kind IN ('user', 'admin', 'system')),
  author_id BIGINT,
  body TEXT NOT NULL,
  attachment_file_id TEXT,
  created_at BIGINT NOT NULL
);
CREATE INDEX ticket_messages_ticket ON ticket_messages (ticket_id);
-- user_id is the Telegram user id: a conversation can begin before the users row exists
CREATE TABLE conversation_state (
  bot_id BIGINT NOT NULL,
  user_id BIGINT NOT NULL,
  state TEXT NOT NULL,
  data TEXT NOT NULL DEFAULT '{}',
  updated_at BIGINT NOT NULL,
  expires_at BIGINT,
  PRIMARY KEY (bot_id, user_id)
);
-- cycle is the service's expires_at when the notice went out, so a renewal gets fresh notices
CREATE TABLE notices_sent (
  id {{pk}},
  service_id BIGINT NOT NULL REFERENCES services(id) ON DELETE CASCADE {{deferrable}},
  kind TEXT NOT NULL,
  cycle BIGINT NOT NULL DEFAULT 0,
  sent_at BIGINT NOT NULL,
  UNIQUE (service_id, kind, cycle)
)
)sql";

// Panels: how their certificate is checked, and the version last seen. Services: at most
// one account per order, so no path can provision an order twice.
constexpr std::string_view kPanelsTlsAndOneServicePerOrder = R"sql(
ALTER TABLE panels ADD COLUMN tls_mode TEXT NOT NULL DEFAULT 'verify'
  CHECK (tls_mode IN ('verify', 'insecure', 'pinned'));
ALTER TABLE panels ADD COLUMN tls_pin TEXT;
ALTER TABLE panels ADD COLUMN version TEXT;
ALTER TABLE panels ADD COLUMN last_error TEXT;
CREATE UNIQUE INDEX services_order ON services (order_id)
)sql";

// v3: what the payment service needs (src/payments/). payments is rebuilt because its
// status CHECK lacked the domain's `created` and `awaiting_review` states (nothing
// references payments, so the copy keeps every row; ids are re-assigned in order).
// Orders get a payment deadline and the reason they were cancelled ('expired' when the
// deadline passed unpaid). payment_events logs every gateway notification once;
// payment_outbox holds side effects due after a payment (fulfil the order, tell the
// owner), written in the same transaction as the payment so a crash never loses one.
constexpr std::string_view kPayments = R"sql(
CREATE TABLE payments_v2 (
  id {{pk}},
  order_id BIGINT REFERENCES orders(id) {{deferrable}},
  user_id BIGINT NOT NULL REFERENCES users(id) {{deferrable}},
  purpose TEXT NOT NULL DEFAULT 'order' CHECK (purpose IN ('order', 'wallet_top_up')),
  provider TEXT NOT NULL,
  provider_ref TEXT,
  amount_minor BIGINT NOT NULL CHECK (amount_minor >= 0),
  currency TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'created' CHECK (status IN
    ('created', 'pending', 'awaiting_review', 'paid', 'rejected', 'expired', 'refunded')),
  flag TEXT,
  flag_detail TEXT,
  received_minor BIGINT,
  received_currency TEXT,
  payer_action TEXT,
  receipt_file_id TEXT,
  receipt_file_unique_id TEXT,
  reviewed_by BIGINT,
  reviewed_at BIGINT,
  reject_reason TEXT,
  raw TEXT,
  expires_at BIGINT,
  paid_at BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE (provider, provider_ref)
);
INSERT INTO payments_v2 (order_id, user_id, provider, provider_ref, amount_minor, currency, status, receipt_file_id,
  receipt_file_unique_id, reviewed_by, reviewed_at, reject_reason, raw, created_at, updated_at)
  SELECT order_id, user_id, provider, provider_ref, amount_minor, currency,
    CASE status WHEN 'review' THEN 'awaiting_review' ELSE status END, receipt_file_id, receipt_file_unique_id,
    reviewed_by, reviewed_at, reject_reason, raw, created_at, updated_at
  FROM payments ORDER BY id;
DROP TABLE payments;
ALTER TABLE payments_v2 RENAME TO payments;
CREATE INDEX payments_order ON payments (order_id);
CREATE INDEX payments_receipt ON payments (receipt_file_unique_id);
CREATE INDEX payments_open ON payments (status, expires_at);
CREATE UNIQUE INDEX payments_open_card_amount ON payments (amount_minor, currency)
  WHERE provider = 'card_to_card' AND status IN ('created', 'pending', 'awaiting_review');
ALTER TABLE orders ADD COLUMN expires_at BIGINT;
ALTER TABLE orders ADD COLUMN cancel_reason TEXT;
CREATE TABLE payment_events (
  id {{pk}},
  payment_id BIGINT REFERENCES payments(id) {{deferrable}},
  provider TEXT NOT NULL,
  event_key TEXT NOT NULL,
  status TEXT NOT NULL,
  outcome TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  UNIQUE (provider, event_key)
);
CREATE TABLE payment_outbox (
  id {{pk}},
  kind TEXT NOT NULL CHECK (kind IN ('fulfil_order', 'owner_notice', 'user_notice')),
  topic TEXT NOT NULL DEFAULT '',
  payment_id BIGINT NOT NULL REFERENCES payments(id) {{deferrable}},
  order_id BIGINT,
  payload TEXT NOT NULL DEFAULT '{}',
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done')),
  attempts BIGINT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  claimed_until BIGINT,
  last_error TEXT,
  created_at BIGINT NOT NULL,
  done_at BIGINT,
  UNIQUE (kind, payment_id, topic)
);
CREATE INDEX payment_outbox_due ON payment_outbox (status, id);
CREATE TABLE exchange_rates (
  base TEXT NOT NULL,
  quote TEXT NOT NULL,
  quote_minor_per_base_major BIGINT NOT NULL CHECK (quote_minor_per_base_major > 0),
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (base, quote)
)
)sql";

// v4: gateway refunds, in full or in parts. payments.charge_ref is the gateway's id of the
// money itself (a PayPal capture; a Stars charge, which was kept as provider_ref). Each
// refund is a payment_refunds row written 'requested' before the gateway is called; at
// most one is open per payment, and its id is in the idempotency key the gateway sees, so
// a retry after a lost answer asks about that refund instead of making another.
constexpr std::string_view kPaymentRefunds = R"sql(
ALTER TABLE payments ADD COLUMN charge_ref TEXT;
UPDATE payments SET charge_ref = provider_ref WHERE provider = 'telegram_stars';
CREATE TABLE payment_refunds (
  id {{pk}},
  payment_id BIGINT NOT NULL REFERENCES payments(id) {{deferrable}},
  amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
  currency TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL DEFAULT 'requested' CHECK (status IN ('requested', 'pending', 'completed', 'failed')),
  provider_ref TEXT,
  last_error TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX payment_refunds_payment ON payment_refunds (payment_id);
CREATE UNIQUE INDEX payment_refunds_one_open ON payment_refunds (payment_id) WHERE status = 'requested'
)sql";

// v5: the shop bot (src/bots/shop/). An order names the service it renews or adds traffic to;
// a person's free trial is remembered (once per person); services may renew themselves
// from the wallet; plans have a description and are either a service or a traffic add-on.
constexpr std::string_view kShop = R"sql(
ALTER TABLE orders ADD COLUMN service_id BIGINT REFERENCES services(id) {{deferrable}};
ALTER TABLE users ADD COLUMN trial_used_at BIGINT;
ALTER TABLE services ADD COLUMN auto_renew BIGINT NOT NULL DEFAULT 0 CHECK (auto_renew IN (0, 1));
ALTER TABLE plans ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE plans ADD COLUMN kind TEXT NOT NULL DEFAULT 'service' CHECK (kind IN ('service', 'traffic'));
CREATE INDEX orders_user_status ON orders (user_id, status);
CREATE INDEX plans_panel ON plans (panel_id, active, sort_order)
)sql";

// v6: indexes for the owner's statistics (src/bots/shop/stats.cpp), so each figure stays one
// indexed query with 100,000 people and 1,000,000 orders: sales in a time window (one
// range read per sale status), active services and the people who have one, people per
// campaign tag, people who took a trial.
constexpr std::string_view kShopStats = R"sql(
CREATE INDEX orders_status_created ON orders (status, created_at);
CREATE INDEX services_status_user ON services (status, user_id);
CREATE INDEX users_campaign ON users (campaign);
CREATE INDEX users_trial ON users (trial_used_at)
)sql";

// v7: indexes for per-update lookups that scanned a whole table (found by bench/shop_bench):
// a person's referral screen counts their referrals, and a support message looks for the
// person's open ticket.
constexpr std::string_view kPerPersonIndexes = R"sql(
CREATE INDEX referrals_referrer ON referrals (referrer_id);
CREATE INDEX tickets_user ON tickets (user_id)
)sql";

}  // namespace

const std::vector<Migration>& tenant() {
  static const std::vector<Migration> list = {
      {1, "initial", kInitial},
      {2, "panels_tls_and_one_service_per_order", kPanelsTlsAndOneServicePerOrder},
      {3, "payments", kPayments},
      {4, "payment_refunds", kPaymentRefunds},
      {5, "shop", kShop},
      {6, "shop_stats", kShopStats},
      {7, "per_person_indexes", kPerPersonIndexes},
  };
  return list;
}

}  // namespace ms::storage::migrations
