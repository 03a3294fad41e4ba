// Master database schema. Append new migrations; never edit an applied one.
#include "storage/migrations/migrations.hpp"

namespace ms::storage::migrations {

namespace {

constexpr std::string_view kInitial = R"sql(
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE tenants (
  id BIGINT PRIMARY KEY CHECK (id > 0),
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
  created_at BIGINT NOT NULL
);
CREATE TABLE operators (
  id {{pk}},
  email TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL DEFAULT '',
  password_hash TEXT NOT NULL,
  totp_secret_enc TEXT,
  role TEXT NOT NULL DEFAULT 'admin' CHECK (role IN ('owner', 'admin', 'support')),
  disabled BIGINT NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE customers (
  id {{pk}},
  tenant_id BIGINT UNIQUE REFERENCES tenants(id) {{deferrable}},
  telegram_id BIGINT UNIQUE,
  email TEXT UNIQUE,
  name TEXT NOT NULL DEFAULT '',
  language TEXT NOT NULL DEFAULT 'fa',
  password_hash TEXT,
  totp_secret_enc TEXT,
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'deleted')),
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE packages (
  id {{pk}},
  code TEXT NOT NULL UNIQUE,
  name_fa TEXT NOT NULL,
  name_en TEXT NOT NULL,
  monthly_price_minor BIGINT NOT NULL CHECK (monthly_price_minor >= 0),
  yearly_price_minor BIGINT NOT NULL CHECK (yearly_price_minor >= 0),
  currency TEXT NOT NULL,
  max_bots BIGINT CHECK (max_bots IS NULL OR max_bots >= 0),
  max_end_users BIGINT CHECK (max_end_users IS NULL OR max_end_users >= 0),
  max_panels BIGINT CHECK (max_panels IS NULL OR max_panels >= 0),
  support_level TEXT NOT NULL DEFAULT 'email_ticket' CHECK (support_level IN ('email_ticket', '24_7', 'dedicated')),
  analytics_level TEXT NOT NULL DEFAULT 'basic' CHECK (analytics_level IN ('basic', 'advanced')),
  white_label BIGINT NOT NULL DEFAULT 0 CHECK (white_label IN (0, 1)),
  api_access BIGINT NOT NULL DEFAULT 0 CHECK (api_access IN (0, 1)),
  active BIGINT NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
  sort_order BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE subscriptions (
  id {{pk}},
  customer_id BIGINT NOT NULL REFERENCES customers(id) {{deferrable}},
  package_id BIGINT NOT NULL REFERENCES packages(id) {{deferrable}},
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'active', 'expired', 'cancelled')),
  billing_period TEXT NOT NULL DEFAULT 'monthly' CHECK (billing_period IN ('monthly', 'yearly')),
  starts_at BIGINT,
  expires_at BIGINT,
  auto_renew BIGINT NOT NULL DEFAULT 0 CHECK (auto_renew IN (0, 1)),
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX subscriptions_customer ON subscriptions (customer_id);
CREATE TABLE payments (
  id {{pk}},
  customer_id BIGINT NOT NULL REFERENCES customers(id) {{deferrable}},
  subscription_id BIGINT REFERENCES subscriptions(id) {{deferrable}},
  provider TEXT NOT NULL,
  provider_ref TEXT,
  amount_minor BIGINT NOT NULL CHECK (amount_minor >= 0),
  currency TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'review', 'paid', 'rejected', 'expired', 'refunded')),
  purpose TEXT NOT NULL DEFAULT 'subscription',
  receipt_file_unique_id TEXT,
  reviewed_by BIGINT,
  reviewed_at BIGINT,
  idempotency_key TEXT UNIQUE,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE (provider, provider_ref)
);
CREATE INDEX payments_customer ON payments (customer_id);
CREATE INDEX payments_receipt ON payments (receipt_file_unique_id);
CREATE TABLE payment_gateways (
  id {{pk}},
  provider TEXT NOT NULL UNIQUE,
  enabled BIGINT NOT NULL DEFAULT 0 CHECK (enabled IN (0, 1)),
  config TEXT NOT NULL DEFAULT '{}',
  secret_enc TEXT,
  updated_at BIGINT NOT NULL
);
CREATE TABLE templates (
  id {{pk}},
  kind TEXT NOT NULL,
  version TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  config_schema TEXT NOT NULL DEFAULT '{}',
  active BIGINT NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
  created_at BIGINT NOT NULL,
  UNIQUE (kind, version)
);
CREATE TABLE bot_instances (
  id {{pk}},
  customer_id BIGINT NOT NULL REFERENCES customers(id) {{deferrable}},
  template_id BIGINT REFERENCES templates(id) {{deferrable}},
  name TEXT NOT NULL DEFAULT '',
  bot_username TEXT,
  telegram_bot_id BIGINT,
  token_enc TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  admin_telegram_id BIGINT NOT NULL,
  channel TEXT,
  deploy_backend TEXT NOT NULL DEFAULT 'inprocess'
    CHECK (deploy_backend IN ('inprocess', 'process', 'docker', 'kubernetes')),
  status TEXT NOT NULL DEFAULT 'created'
    CHECK (status IN ('created', 'configuring', 'deploying', 'running', 'stopped', 'failed', 'deleted')),
  webhook_secret_enc TEXT,
  last_error TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  deployed_at BIGINT
);
CREATE INDEX bot_instances_customer ON bot_instances (customer_id);
CREATE TABLE tickets (
  id {{pk}},
  customer_id BIGINT NOT NULL REFERENCES customers(id) {{deferrable}},
  subject TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'answered', 'closed')),
  priority TEXT NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
  rating BIGINT CHECK (rating IS NULL OR (rating >= 1 AND rating <= 5)),
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  closed_at BIGINT
);
CREATE INDEX tickets_customer ON tickets (customer_id);
CREATE TABLE ticket_messages (
  id {{pk}},
  ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE {{deferrable}},
  author_kind TEXT NOT NULL CHECK (author_kind IN ('customer', 'operator', 'system')),
  author_id BIGINT,
  body TEXT NOT NULL,
  attachment_file_id TEXT,
  created_at BIGINT NOT NULL
);
CREATE INDEX ticket_messages_ticket ON ticket_messages (ticket_id);
CREATE TABLE audit_log (
  id {{pk}},
  at BIGINT NOT NULL,
  actor_kind TEXT NOT NULL,
  actor_id TEXT,
  action TEXT NOT NULL,
  target_kind TEXT,
  target_id TEXT,
  details TEXT NOT NULL DEFAULT '{}',
  ip TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE TABLE jobs (
  id {{pk}},
  kind TEXT NOT NULL,
  payload TEXT NOT NULL DEFAULT '{}',
  status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
  priority BIGINT NOT NULL DEFAULT 0,
  tenant_id BIGINT,
  run_at BIGINT NOT NULL,
  attempts BIGINT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  max_attempts BIGINT NOT NULL DEFAULT 5 CHECK (max_attempts > 0),
  last_error TEXT,
  idempotency_key TEXT UNIQUE,
  locked_by TEXT,
  locked_until BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (status, run_at);
CREATE TABLE api_keys (
  id {{pk}},
  customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE {{deferrable}},
  name TEXT NOT NULL DEFAULT '',
  prefix TEXT NOT NULL,
  key_hash TEXT NOT NULL UNIQUE,
  scopes TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  last_used_at BIGINT,
  revoked_at BIGINT
);
CREATE TABLE auth_sessions (
  id {{pk}},
  subject_kind TEXT NOT NULL CHECK (subject_kind IN ('operator', 'customer')),
  subject_id BIGINT NOT NULL,
  refresh_token_hash TEXT NOT NULL UNIQUE,
  rotated_from BIGINT REFERENCES auth_sessions(id) {{deferrable}},
  user_agent TEXT,
  ip TEXT,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  revoked_at BIGINT
);
CREATE INDEX auth_sessions_subject ON auth_sessions (subject_kind, subject_id);
CREATE TABLE login_tokens (
  id {{pk}},
  token_hash TEXT NOT NULL UNIQUE,
  subject_kind TEXT NOT NULL CHECK (subject_kind IN ('operator', 'customer')),
  subject_id BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at BIGINT
);
CREATE TABLE leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  version BIGINT NOT NULL DEFAULT 0
)
)sql";

// The master bot's conversations (customers buying a package), like a tenant's.
constexpr std::string_view kConversations = R"sql(
CREATE TABLE conversation_state (
  bot_id BIGINT NOT NULL,
  user_id BIGINT NOT NULL,
  state TEXT NOT NULL,
  data TEXT NOT NULL DEFAULT '{}',
  updated_at BIGINT NOT NULL,
  expires_at BIGINT,
  PRIMARY KEY (bot_id, user_id)
);
CREATE INDEX conversation_state_expiry ON conversation_state (bot_id, expires_at);
)sql";

// v3: customers pay for packages through the same PaymentService as a tenant's end users
// (payments/schema.hpp: Schema::master()). customers get a wallet (currency, balance and a
// ledger whose rows sum to it); package_orders are what they buy (a package for a billing
// period: new, renew or upgrade); payments is rebuilt in the tenant's v2 shape (created ->
// pending -> awaiting_review -> paid | rejected | expired | refunded, flags, the payer's
// action, the gateway's ids; v1 rows kept, 'review' becoming 'awaiting_review'); and the
// event log, outbox, exchange rates and refunds are the tenant's tables.
constexpr std::string_view kBilling = R"sql(
ALTER TABLE customers ADD COLUMN currency TEXT NOT NULL DEFAULT 'IRR';
ALTER TABLE customers ADD COLUMN balance_minor BIGINT NOT NULL DEFAULT 0 CHECK (balance_minor >= 0);
CREATE TABLE customer_ledger (
  id {{pk}},
  customer_id BIGINT NOT NULL REFERENCES customers(id) {{deferrable}},
  delta_minor BIGINT NOT NULL CHECK (delta_minor <> 0),
  currency TEXT NOT NULL,
  balance_after_minor BIGINT NOT NULL CHECK (balance_after_minor >= 0),
  reason TEXT NOT NULL,
  ref TEXT,
  note TEXT,
  created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX customer_ledger_reason_ref ON customer_ledger (reason, ref) WHERE ref IS NOT NULL;
CREATE INDEX customer_ledger_customer ON customer_ledger (customer_id);
CREATE TABLE package_orders (
  id {{pk}},
  customer_id BIGINT NOT NULL REFERENCES customers(id) {{deferrable}},
  package_id BIGINT NOT NULL REFERENCES packages(id) {{deferrable}},
  subscription_id BIGINT REFERENCES subscriptions(id) {{deferrable}},
  billing_period TEXT NOT NULL DEFAULT 'monthly' CHECK (billing_period IN ('monthly', 'yearly')),
  kind TEXT NOT NULL DEFAULT 'new' CHECK (kind IN ('new', 'renew', 'upgrade')),
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN
    ('pending', 'awaiting_payment', 'paid', 'provisioning', 'completed', 'failed', 'cancelled', 'refunded')),
  amount_minor BIGINT NOT NULL CHECK (amount_minor >= 0),
  currency TEXT NOT NULL,
  expires_at BIGINT,
  cancel_reason TEXT,
  idempotency_key TEXT UNIQUE,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX package_orders_customer ON package_orders (customer_id, id);
CREATE INDEX package_orders_status ON package_orders (status);
CREATE TABLE payments_v2 (
  id {{pk}},
  order_id BIGINT REFERENCES package_orders(id) {{deferrable}},
  customer_id BIGINT NOT NULL REFERENCES customers(id) {{deferrable}},
  subscription_id BIGINT REFERENCES subscriptions(id) {{deferrable}},
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
  charge_ref TEXT,
  idempotency_key TEXT UNIQUE,
  expires_at BIGINT,
  paid_at BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE (provider, provider_ref)
);
INSERT INTO payments_v2 (customer_id, subscription_id, provider, provider_ref, amount_minor, currency, status,
  receipt_file_unique_id, reviewed_by, reviewed_at, idempotency_key, paid_at, created_at, updated_at)
  SELECT customer_id, subscription_id, provider, provider_ref, amount_minor, currency,
    CASE status WHEN 'review' THEN 'awaiting_review' ELSE status END, receipt_file_unique_id, reviewed_by,
    reviewed_at, idempotency_key, CASE status WHEN 'paid' THEN updated_at ELSE NULL END, created_at, updated_at
  FROM payments ORDER BY id;
DROP TABLE payments;
ALTER TABLE payments_v2 RENAME TO payments;
CREATE INDEX payments_customer ON payments (customer_id);
CREATE INDEX payments_order ON payments (order_id);
CREATE INDEX payments_receipt ON payments (receipt_file_unique_id);
CREATE INDEX payments_open ON payments (status, expires_at);
CREATE UNIQUE INDEX payments_open_card_amount ON payments (amount_minor, currency)
  WHERE provider = 'card_to_card' AND status IN ('created', 'pending', 'awaiting_review');
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
);
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

// Issue 7, the `process` deployment backend: each `mothership runner --instance ID` writes
// its sign of life here every few seconds (ProcessDeployer::health and "My bots" read it).
// No foreign key to bot_instances: that table is rebuilt by a later migration on SQLite.
constexpr std::string_view kInstanceHeartbeats = R"sql(
CREATE TABLE instance_heartbeats (
  instance_id BIGINT PRIMARY KEY,
  pid BIGINT NOT NULL,
  host TEXT NOT NULL,
  started_at BIGINT NOT NULL,
  heartbeat_at BIGINT NOT NULL,
  restarts BIGINT NOT NULL DEFAULT 0
)
)sql";

// v5 (issue 7, the subscription lifecycle; engineer O): subscriptions rebuilt on
// domain::SubscriptionState (trial, active, grace, suspended, cancelled, erased) with the
// current period (period_start, period_end) and its cycle; rows kept with their ids:
//   pending   -> trial ending at expires_at (or when it was created): never paid, so no
//                paid days are invented; paying makes it active, otherwise it is suspended
//                like an unpaid trial (nothing is erased before the retention ran out)
//   active    -> active; a missing expires_at becomes starts_at (or created_at) + one cycle
//   expired   -> suspended (its period is over; renewing brings it back)
//   cancelled -> cancelled, cancelled_at = updated_at
// Other tables reference subscriptions, so the rebuild differs: SQLite defers the foreign
// key checks to the commit (the rows come back with the same ids before it); PostgreSQL
// drops the references with the table and adds them again.
// subscription_notices: the lifecycle's notices sent, one per (subscription, kind, period
// end), so a reminder goes once even across restarts. customers.username (lower case, no
// '@'): operators find a customer by @username.
constexpr std::string_view kSubscriptionLifecycle = R"sql(
{{sqlite}} PRAGMA defer_foreign_keys = ON;
CREATE TABLE subscriptions_v3_rows AS SELECT * FROM subscriptions;
{{sqlite}} DROP TABLE subscriptions;
{{postgres}} DROP TABLE subscriptions CASCADE;
CREATE TABLE subscriptions (
  id {{pk}},
  customer_id BIGINT NOT NULL REFERENCES customers(id) {{deferrable}},
  package_id BIGINT NOT NULL REFERENCES packages(id) {{deferrable}},
  state TEXT NOT NULL DEFAULT 'trial'
    CHECK (state IN ('trial', 'active', 'grace', 'suspended', 'cancelled', 'erased')),
  cycle TEXT NOT NULL DEFAULT 'monthly' CHECK (cycle IN ('monthly', 'yearly')),
  period_start BIGINT NOT NULL,
  period_end BIGINT NOT NULL,
  cancelled_at BIGINT,
  auto_renew BIGINT NOT NULL DEFAULT 0 CHECK (auto_renew IN (0, 1)),
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
INSERT INTO subscriptions (id, customer_id, package_id, state, cycle, period_start, period_end, cancelled_at,
  auto_renew, created_at, updated_at)
  SELECT id, customer_id, package_id,
    CASE status WHEN 'pending' THEN 'trial' WHEN 'expired' THEN 'suspended' ELSE status END,
    billing_period, COALESCE(starts_at, created_at),
    CASE WHEN status = 'pending' THEN COALESCE(expires_at, created_at)
      ELSE COALESCE(expires_at, COALESCE(starts_at, created_at) +
        CASE billing_period WHEN 'yearly' THEN 31536000 ELSE 2592000 END) END,
    CASE status WHEN 'cancelled' THEN updated_at ELSE NULL END,
    auto_renew, created_at, updated_at
  FROM subscriptions_v3_rows ORDER BY id;
DROP TABLE subscriptions_v3_rows;
{{postgres}} SELECT setval(pg_get_serial_sequence('subscriptions', 'id'), COALESCE((SELECT MAX(id) FROM subscriptions), 0) + 1, false);
{{postgres}} ALTER TABLE package_orders ADD CONSTRAINT package_orders_subscription_fk FOREIGN KEY (subscription_id)
  REFERENCES subscriptions(id) DEFERRABLE INITIALLY IMMEDIATE;
{{postgres}} ALTER TABLE payments ADD CONSTRAINT payments_subscription_fk FOREIGN KEY (subscription_id)
  REFERENCES subscriptions(id) DEFERRABLE INITIALLY IMMEDIATE;
CREATE INDEX subscriptions_customer ON subscriptions (customer_id);
CREATE INDEX subscriptions_state ON subscriptions (state, period_end);
CREATE TABLE subscription_notices (
  id {{pk}},
  subscription_id BIGINT NOT NULL REFERENCES subscriptions(id) {{deferrable}},
  kind TEXT NOT NULL
    CHECK (kind IN ('end_7d', 'end_3d', 'end_1d', 'grace', 'suspended', 'erase_7d', 'erase_1d', 'erased')),
  period_end BIGINT NOT NULL,
  sent_at BIGINT NOT NULL,
  UNIQUE (subscription_id, kind, period_end)
);
ALTER TABLE customers ADD COLUMN username TEXT;
CREATE INDEX customers_username ON customers (username)
)sql";

// v6 (issue 7, the deployment pipeline): durable jobs and deployed bot instances.
// jobs is rebuilt with millisecond due times and leases (backoffs shorter than a second),
// the steps a multi-step job finished, and 'dead' for a job out of attempts (old 'failed'
// rows become 'dead'); job_attempts records every attempt. bot_instances is rebuilt with
// the states of domain::BotState (old configuring/deploying rows become configured; the old
// table is renamed first so the new one is created under its own name), the
// template version, the deployment's request time and duration, the start and heartbeat
// times, and deletion (deleted_at, purge_after); a token is unique among instances not
// deleted (rows are copied in id order without their ids, as v3 did for payments: ids stay
// 1..n where nothing was ever removed). deployment_steps records each step of each deployment.
constexpr std::string_view kDeployments = R"sql(
CREATE TABLE jobs_v2 (
  id {{pk}},
  kind TEXT NOT NULL,
  payload TEXT NOT NULL DEFAULT '{}',
  status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'dead', 'cancelled')),
  priority BIGINT NOT NULL DEFAULT 0,
  tenant_id BIGINT,
  run_at_ms BIGINT NOT NULL,
  attempts BIGINT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  max_attempts BIGINT NOT NULL DEFAULT 5 CHECK (max_attempts > 0),
  steps_done TEXT NOT NULL DEFAULT '[]',
  last_error TEXT,
  idempotency_key TEXT UNIQUE,
  locked_by TEXT,
  locked_until_ms BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  finished_at BIGINT
);
INSERT INTO jobs_v2 (kind, payload, status, priority, tenant_id, run_at_ms, attempts, max_attempts, last_error,
  idempotency_key, locked_by, locked_until_ms, created_at, updated_at)
  SELECT kind, payload, CASE status WHEN 'failed' THEN 'dead' ELSE status END, priority, tenant_id, run_at * 1000,
    attempts, max_attempts, last_error, idempotency_key, locked_by, locked_until * 1000, created_at, updated_at
  FROM jobs ORDER BY id;
DROP TABLE jobs;
ALTER TABLE jobs_v2 RENAME TO jobs;
CREATE INDEX jobs_due ON jobs (status, run_at_ms);
CREATE TABLE job_attempts (
  id {{pk}},
  job_id BIGINT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE {{deferrable}},
  attempt BIGINT NOT NULL,
  worker TEXT NOT NULL,
  started_at_ms BIGINT NOT NULL,
  finished_at_ms BIGINT,
  outcome TEXT CHECK (outcome IS NULL OR outcome IN ('done', 'retry', 'dead', 'lost')),
  steps TEXT NOT NULL DEFAULT '',
  error TEXT,
  UNIQUE (job_id, attempt)
);
ALTER TABLE bot_instances RENAME TO bot_instances_v1;
CREATE TABLE bot_instances (
  id {{pk}},
  customer_id BIGINT NOT NULL REFERENCES customers(id) {{deferrable}},
  template_id BIGINT REFERENCES templates(id) {{deferrable}},
  template_version TEXT NOT NULL DEFAULT '',
  name TEXT NOT NULL DEFAULT '',
  bot_username TEXT,
  telegram_bot_id BIGINT,
  token_enc TEXT NOT NULL,
  token_hash TEXT NOT NULL,
  admin_telegram_id BIGINT NOT NULL,
  channel TEXT,
  deploy_backend TEXT NOT NULL DEFAULT 'inprocess'
    CHECK (deploy_backend IN ('inprocess', 'process', 'docker', 'kubernetes')),
  status TEXT NOT NULL DEFAULT 'created' CHECK (status IN ('created', 'token_verified', 'tenant_ready', 'configured',
    'starting', 'running', 'restarting', 'stopped', 'failed', 'suspended', 'deleting', 'deleted')),
  webhook_secret_enc TEXT,
  last_error TEXT,
  deploy_generation BIGINT NOT NULL DEFAULT 0,
  deploy_requested_at_ms BIGINT,
  deploy_ms BIGINT,
  started_at BIGINT,
  heartbeat_at BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  deployed_at BIGINT,
  deleted_at BIGINT,
  purge_after BIGINT
);
INSERT INTO bot_instances (customer_id, template_id, name, bot_username, telegram_bot_id, token_enc, token_hash,
  admin_telegram_id, channel, deploy_backend, status, webhook_secret_enc, last_error, created_at, updated_at,
  deployed_at, deleted_at)
  SELECT customer_id, template_id, name, bot_username, telegram_bot_id, token_enc, token_hash, admin_telegram_id,
    channel, deploy_backend, CASE status WHEN 'configuring' THEN 'configured' WHEN 'deploying' THEN 'configured'
    ELSE status END, webhook_secret_enc, last_error, created_at, updated_at, deployed_at,
    CASE status WHEN 'deleted' THEN updated_at ELSE NULL END
  FROM bot_instances_v1 ORDER BY id;
DROP TABLE bot_instances_v1;
CREATE INDEX bot_instances_customer ON bot_instances (customer_id);
CREATE UNIQUE INDEX bot_instances_token ON bot_instances (token_hash) WHERE deleted_at IS NULL;
CREATE TABLE deployment_steps (
  id {{pk}},
  instance_id BIGINT NOT NULL REFERENCES bot_instances(id) {{deferrable}},
  job_id BIGINT NOT NULL,
  step TEXT NOT NULL CHECK (step IN ('token_verified', 'tenant_ready', 'configured', 'started', 'healthy')),
  status TEXT NOT NULL CHECK (status IN ('started', 'done', 'retrying', 'failed')),
  attempts BIGINT NOT NULL DEFAULT 0,
  started_at_ms BIGINT NOT NULL,
  finished_at_ms BIGINT,
  error TEXT,
  UNIQUE (job_id, step)
);
CREATE INDEX deployment_steps_instance ON deployment_steps (instance_id, id)
)sql";

// v7 (the master bot, issue 7): the one progress message a customer sees while their shop
// bot deploys, kept per instance so that a restarted master bot goes on editing it; the
// first Marzban panel the wizard gathered waits here (encrypted) until the tenant is ready.
constexpr std::string_view kMasterBotProgress = R"sql(
CREATE TABLE master_bot_progress (
  id {{pk}},
  instance_id BIGINT NOT NULL UNIQUE,
  chat_id BIGINT NOT NULL,
  message_id BIGINT NOT NULL,
  lang TEXT NOT NULL DEFAULT 'fa',
  steps TEXT NOT NULL DEFAULT '{}',
  panel_enc TEXT,
  bot_username TEXT NOT NULL DEFAULT '',
  finished BIGINT NOT NULL DEFAULT 0 CHECK (finished IN (0, 1)),
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX master_bot_progress_open ON master_bot_progress (finished)
)sql";

// The tenant a subscription's erasure is to delete, written with the move to 'erased' in one
// transaction (the customer is unlinked from it then): a crash before the files are gone
// leaves the id here for the next lifecycle pass, and a payment meanwhile gets a new tenant.
constexpr const char* kSubscriptionErasure = R"sql(
ALTER TABLE subscriptions ADD COLUMN erased_tenant_id BIGINT
)sql";

}  // namespace

const std::vector<Migration>& master() {
  static const std::vector<Migration> list = {
      {1, "initial", kInitial},
      {2, "conversation_state", kConversations},
      {3, "billing", kBilling},
      {4, "instance_heartbeats", kInstanceHeartbeats},
      {5, "subscription_lifecycle", kSubscriptionLifecycle},
      {6, "deployments", kDeployments},
      {7, "master_bot_progress", kMasterBotProgress},
      {8, "subscription_erasure", kSubscriptionErasure},
  };
  return list;
}

}  // namespace ms::storage::migrations
