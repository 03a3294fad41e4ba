// `mothership shop create`: records a customer's shop bot through the deployment pipeline
// (deploy::DeployPipeline::create_unmetered: the operator's tool has no package limit).
// The deployment is a durable job: a running `serve` deploys it at once, a stopped one when
// it next starts.
#include <spdlog/spdlog.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "app/app.hpp"
#include "app/deploy_stack.hpp"
#include "app/runtime.hpp"
#include "deploy/pipeline.hpp"
#include "domain/rules.hpp"
#include "http/client.hpp"
#include "jobs/jobs.hpp"

namespace ms::app {

using storage::Session;

int shop_create(const Config& config, const ShopCreateOptions& options) {
  if (auto valid = domain::validate_bot_token(options.token); !valid) {
    std::cerr << "mothership: shop create: " << valid.error().message << "\n";
    return 2;
  }
  auto rt = open_runtime(config);
  if (!rt) return report_failure("shop create", rt.error());
  auto& master = rt->storage->master();
  const std::int64_t now = SystemClock::instance().unix_seconds();
  // The customer, by Telegram id; the pipeline makes their tenant database.
  auto customer = master.transaction([&](Session& s) -> Result<std::int64_t> {
    auto found = s.query_one("SELECT id FROM customers WHERE telegram_id = :tg", {{"tg", options.owner}});
    if (!found) return fail(std::move(found.error()));
    if (*found) return (*found)->get_int("id");
    auto made = s.query_one(
        "INSERT INTO customers (telegram_id, name, created_at, updated_at) VALUES (:tg, :name, :now, :now) RETURNING "
        "id",
        {{"tg", options.owner}, {"name", options.name}, {"now", now}});
    if (!made) return fail(std::move(made.error()));
    return (*made)->get_int("id");
  });
  if (!customer) return report("shop create", customer.error());
  // This process only records the deployment; `serve`'s runner carries it out.
  http::CurlClient unused_http;
  jobs::JobRunner runner(master, SystemClock::instance());
  deploy::DeployPipeline pipeline(*rt->storage, *rt->keyring, unused_http, runner, SystemClock::instance(),
                                  pipeline_options(config, config.telegram_api_url));
  deploy::NewInstance instance;
  instance.customer_id = *customer;
  instance.token = options.token;
  instance.owner_telegram_id = options.owner;
  auto id = pipeline.create_unmetered(instance);
  if (!id) return report("shop create", id.error(), id.error().code == ErrorCode::kAlreadyExists ? 2 : 1);
  if (!options.name.empty() || !options.username.empty()) {
    auto named = master.with_session([&](Session& s) {
      if (!options.username.empty()) {
        auto u =
            s.exec("UPDATE bot_instances SET bot_username = :u WHERE id = :id", {{"u", options.username}, {"id", *id}});
        if (!u) return u;
      }
      return s.exec("UPDATE bot_instances SET name = :name WHERE id = :id", {{"name", options.name}, {"id", *id}});
    });
    if (!named) return report("shop create", named.error());
  }
  std::cout << "shop bot instance " << *id << " created for customer " << *customer
            << "; its deployment is queued: a running `mothership serve` deploys it within seconds\n";
  return 0;
}

int templates_roll(const Config& config, const TemplatesRollOptions& options) {
  auto rt = open_runtime(config);
  if (!rt) return report_failure("templates roll", rt.error());
  http::CurlClient unused_http;
  jobs::JobRunner runner(rt->storage->master(), SystemClock::instance());
  deploy::DeployPipeline pipeline(*rt->storage, *rt->keyring, unused_http, runner, SystemClock::instance(),
                                  pipeline_options(config, config.telegram_api_url));
  auto job = pipeline.roll(options.version);
  if (!job) return report("templates roll", job.error(), job.error().code == ErrorCode::kInvalidArgument ? 2 : 1);
  std::cout << "rolling restart to shop template " << options.version << " queued (job " << *job << ")\n";
  if (options.wait_seconds <= 0) {
    std::cout << "a running `mothership serve` carries it out, one bot at a time\n";
    return 0;
  }
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(options.wait_seconds);
  while (std::chrono::steady_clock::now() < until) {
    auto state = runner.get(*job);
    if (!state) return report("templates roll", state.error());
    if (state->status == jobs::JobStatus::kDone || state->status == jobs::JobStatus::kDead) {
      auto result = pipeline.roll_result(*job);
      if (!result) return report("templates roll", result.error());
      std::cout << "restarted " << result->restarted.size() << " bot(s) on version " << result->version << "\n";
      if (state->status == jobs::JobStatus::kDone) return 0;
      std::cerr << "mothership: templates roll: stopped: " << result->error << "\n";
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  std::cerr << "mothership: templates roll: not finished after " << options.wait_seconds
            << " s (is `mothership serve` running?); job " << *job << " goes on\n";
  return 1;
}

}  // namespace ms::app
