// The composition root's commands: each turns a Config into running parts and does one
// job of the `mothership` command line. Only app/ sees concrete classes. Every function
// prints what a person needs to stdout/stderr and returns the process exit code:
//   0 success, 1 the job failed (reason printed), 2 bad configuration or usage.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/config.hpp"
#include "deploy/process/process_deployer.hpp"

namespace ms::deploy {
class Deployments;
}

namespace ms::app {

struct ServeOptions {
  std::optional<std::string> port_file;  // write the bound port here once listening (tests)
  // The deployment pipeline the master bot creates and manages shop bots with (issue 7's
  // src/deploy/, wired here by the integrator). Without it the master bot still sells
  // packages and sends /panel links, and answers that bots cannot be created yet.
  deploy::Deployments* deployments = nullptr;
};

int serve(const Config& config, const ServeOptions& options);

// `mothership sandbox`: only the Bot API emulator (and health routes), e.g. as the Telegram
// of another process or a test harness.
int sandbox_serve(const Config& config, const ServeOptions& options);

struct SandboxChatOptions {
  std::string url;        // the sandbox base URL; empty: <public url>/sandbox
  std::string bot;        // the bot's username
  std::int64_t user = 0;  // the person's id; 0: a new person is created
  std::string first_name = "Me";
  std::string language = "en";
};
// `mothership sandbox chat`: talk to a bot as a person, in the terminal.
int sandbox_chat(const Config& config, const SandboxChatOptions& options);
struct ShopCreateOptions {
  std::string token;        // the shop bot's token (BotFather, or the sandbox's /sandbox/api/bots)
  std::int64_t owner = 0;   // the owner's Telegram id: the customer, and the shop's first admin
  std::string name;         // the owner's name for it
  std::string username;     // the bot's @username; empty: asked of Telegram when it starts
};
// `mothership shop create`: records a customer's shop bot (the customer if new, an instance
// with its token encrypted) and queues its deployment; `serve` deploys it within seconds.
int shop_create(const Config& config, const ShopCreateOptions& options);
struct RunnerOptions {
  std::int64_t instance = 0;
  bool suspended = false;  // tell every person the service is paused (until the instance row says so)
  int restarts = 0;        // how often the deployer restarted it, for the heartbeat row
  int heartbeat_ms = 5'000;
};
// `mothership runner --instance ID`: runs one shop bot in this process (the `process`
// backend's child) until SIGTERM; then finishes the updates in hand and exits 0. Exits 1
// with the reason when the instance does not exist, has no tenant, its token cannot be
// opened, or another runner of it is running here.
int runner(const Config& config, const RunnerOptions& options);
// What a ProcessDeployer of this configuration gives its runners: this binary, the data
// directory, and only configuration in their environment; `telegram_api_url` is the Bot API
// they poll (serve's own /sandbox in sandbox mode).
deploy::ProcessDeployerOptions process_deployer_options(const Config& config, const std::string& telegram_api_url);
struct TemplatesRollOptions {
  std::string version;
  int wait_seconds = 0;  // 0: queue and return; else wait this long for the roll to finish
};
// `mothership templates roll --version V`: records shop template version V and queues a
// rolling restart of every instance onto it (one at a time, each healthy before the next;
// a failure stops the roll and names the instance). A running `serve` carries it out.
int templates_roll(const Config& config, const TemplatesRollOptions& options);
int migrate(const Config& config);
int tenant_create(const Config& config, std::int64_t id);
int tenant_list(const Config& config);
int tenant_export(const Config& config, std::int64_t id, const std::string& output);
int tenant_erase(const Config& config, std::int64_t id);
int secrets_rotate(const Config& config);
int backup(const Config& config, const std::optional<std::string>& output);
int restore(const Config& config, const std::string& archive, bool force);
int doctor(const Config& config);
// Prints every package as JSON (the format packages_import reads).
int packages_list(const Config& config);
// Validates the packages in a JSON file and writes them (insert or update by code).
int packages_import(const Config& config, const std::string& file);

struct PanelProbeOptions {
  std::string type = "marzban";
  std::string url;
  std::string username;
  std::string password;
  bool insecure = false;  // no certificate check at all
  std::string pin;        // SHA-256 fingerprint of a self-signed certificate
  int timeout_ms = 15'000;
};
// `mothership panel probe`: login, system, inbounds, then create/get/modify/reset/revoke/
// delete a probe account; prints one JSON report; 0 only if every step passed (1 if one
// failed, 2 for bad options). The probe account is always removed.
int panel_probe(const PanelProbeOptions& options);

}  // namespace ms::app
