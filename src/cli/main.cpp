// `mothership`: the one binary. This file only parses the command line; app/ does the work.
#include <CLI/CLI.hpp>

#include <iostream>

#include "app/app.hpp"
#include "core/config.hpp"
#include "core/log.hpp"
#include "core/version.hpp"

namespace {

// Loads the configuration and runs one command with it; a configuration error exits 2.
template <class F>
int with_config(const std::optional<std::string>& config_path, F&& run) {
  auto config = ms::load_config(config_path);
  if (!config) {
    std::cerr << "mothership: configuration error: " << config.error().to_string() << "\n";
    return 2;
  }
  ms::init_logging(config->log_format, config->log_level);
  return run(*config);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{
      "Mothership: sell VPN shop bots to business owners and run them.\n"
      "Configuration: --config FILE or MOTHERSHIP_CONFIG, then MOTHERSHIP_* variables\n"
      "(see config/mothership.example.yaml)."};
  cli.require_subcommand(1);
  std::optional<std::string> config_path;
  cli.add_option("--config", config_path, "YAML configuration file (overrides MOTHERSHIP_CONFIG)");
  int code = 0;

  auto* serve = cli.add_subcommand("serve", "Run the platform: HTTP server, bots, jobs. SIGTERM stops it gracefully.");
  ms::app::ServeOptions serve_options;
  serve->add_option("--port-file", serve_options.port_file, "Write the bound HTTP port to this file once listening");
  serve->callback(
      [&] { code = with_config(config_path, [&](const ms::Config& c) { return ms::app::serve(c, serve_options); }); });

  auto* sandbox = cli.add_subcommand("sandbox", "Run only the Bot API emulator (Telegram without Telegram)");
  sandbox->require_subcommand(0, 1);
  sandbox->add_option("--port-file", serve_options.port_file, "Write the bound HTTP port to this file once listening");
  ms::app::SandboxChatOptions chat_options;
  auto* chat = sandbox->add_subcommand("chat", "Talk to a bot in the sandbox as a person, in this terminal");
  chat->add_option("--bot", chat_options.bot, "The bot's username")->required();
  chat->add_option("--user", chat_options.user, "Your person id in the sandbox (default: a new person)");
  chat->add_option("--name", chat_options.first_name, "Your first name, for a new person");
  chat->add_option("--lang", chat_options.language, "Your language_code, for a new person (fa or en)");
  chat->add_option("--url", chat_options.url, "Sandbox base URL (default: <public url>/sandbox)");
  chat->callback([&] {
    code = with_config(config_path, [&](const ms::Config& c) { return ms::app::sandbox_chat(c, chat_options); });
  });
  sandbox->callback([&] {
    if (sandbox->got_subcommand(chat)) return;
    code = with_config(config_path, [&](const ms::Config& c) { return ms::app::sandbox_serve(c, serve_options); });
  });

  cli.add_subcommand("migrate", "Apply pending database migrations to the master and every tenant database")
      ->callback([&] { code = with_config(config_path, ms::app::migrate); });

  auto* tenant = cli.add_subcommand("tenant", "Manage customer (tenant) databases");
  tenant->require_subcommand(1);
  std::int64_t tenant_id = 0;
  auto* t_create = tenant->add_subcommand("create", "Create a tenant database and migrate it");
  t_create->add_option("id", tenant_id, "Tenant id (a positive number)")->required()->check(CLI::PositiveNumber);
  t_create->callback([&] {
    code = with_config(config_path, [&](const ms::Config& c) { return ms::app::tenant_create(c, tenant_id); });
  });
  tenant->add_subcommand("list", "List tenant databases")->callback([&] {
    code = with_config(config_path, ms::app::tenant_list);
  });
  std::string export_output;
  auto* t_export = tenant->add_subcommand("export", "Export every row of one tenant as one JSON file");
  t_export->add_option("id", tenant_id, "Tenant id")->required()->check(CLI::PositiveNumber);
  t_export->add_option("-o,--output", export_output, "Output file (default: tenant-<id>.json)");
  t_export->callback([&] {
    code = with_config(config_path, [&](const ms::Config& c) {
      return ms::app::tenant_export(
          c, tenant_id, export_output.empty() ? "tenant-" + std::to_string(tenant_id) + ".json" : export_output);
    });
  });
  bool yes = false;
  auto* t_erase = tenant->add_subcommand("erase", "Erase a tenant: drop its database file or schema for good");
  t_erase->add_option("id", tenant_id, "Tenant id")->required()->check(CLI::PositiveNumber);
  t_erase->add_flag("--yes", yes, "Confirm: the data cannot be brought back except from a backup");
  t_erase->callback([&] {
    if (!yes) {
      std::cerr << "mothership: tenant erase deletes tenant " << tenant_id
                << "'s data for good; add --yes to confirm (export or back it up first)\n";
      code = 2;
      return;
    }
    code = with_config(config_path, [&](const ms::Config& c) { return ms::app::tenant_erase(c, tenant_id); });
  });

  auto* secrets = cli.add_subcommand("secrets", "Manage the key that encrypts secrets at rest");
  secrets->require_subcommand(1);
  secrets->add_subcommand("rotate", "Make a new key and re-encrypt every stored secret with it")->callback([&] {
    code = with_config(config_path, ms::app::secrets_rotate);
  });

  std::optional<std::string> backup_output;
  auto* backup = cli.add_subcommand("backup", "Write one consistent, encrypted archive of every database");
  backup->add_option("-o,--output", backup_output, "Archive path (default: <backup dir>/mothership-<time>.msbk)");
  backup->callback(
      [&] { code = with_config(config_path, [&](const ms::Config& c) { return ms::app::backup(c, backup_output); }); });

  std::string archive;
  bool force = false;
  auto* restore = cli.add_subcommand("restore", "Bring back every database from an archive made by `backup`");
  restore->add_option("archive", archive, "Archive file")->required()->check(CLI::ExistingFile);
  restore->add_flag("--force", force, "Replace existing data (otherwise restore only into an empty installation)");
  restore->callback([&] {
    code = with_config(config_path, [&](const ms::Config& c) { return ms::app::restore(c, archive, force); });
  });

  auto* packages = cli.add_subcommand("packages", "Show or edit the platform packages (prices and limits)");
  packages->require_subcommand(1);
  packages->add_subcommand("list", "Print every package as JSON")->callback([&] {
    code = with_config(config_path, ms::app::packages_list);
  });
  std::string packages_file;
  auto* p_import = packages->add_subcommand("import", "Insert or update packages from a JSON file (as `list` prints)");
  p_import->add_option("file", packages_file, "JSON file")->required();
  p_import->callback([&] {
    code = with_config(config_path, [&](const ms::Config& c) { return ms::app::packages_import(c, packages_file); });
  });

  auto* shop = cli.add_subcommand("shop", "Customers' VPN shop bots");
  shop->require_subcommand(1);
  ms::app::ShopCreateOptions shop_create;
  auto* s_create = shop->add_subcommand(
      "create", "Record a shop bot for an owner (customer, tenant database, instance); `serve` starts it");
  s_create->add_option("--token", shop_create.token, "The bot's token")->required();
  s_create->add_option("--owner", shop_create.owner, "The owner's Telegram id (the shop's first admin)")->required();
  s_create->add_option("--name", shop_create.name, "A name for the shop");
  s_create->add_option("--username", shop_create.username, "The bot's @username (default: asked of Telegram)");
  s_create->callback([&] {
    code = with_config(config_path, [&](const ms::Config& c) { return ms::app::shop_create(c, shop_create); });
  });

  ms::app::RunnerOptions runner_options;
  auto* runner = cli.add_subcommand(
      "runner", "Run one customer's shop bot in this process (started by the `process` deploy backend)");
  runner->add_option("--instance", runner_options.instance, "The bot instance id")
      ->required()
      ->check(CLI::PositiveNumber);
  runner->add_flag("--suspended", runner_options.suspended, "Tell every person the service is paused; sell nothing");
  runner->add_option("--restarts", runner_options.restarts, "Restarts so far (recorded with the heartbeat)");
  runner->add_option("--heartbeat-ms", runner_options.heartbeat_ms, "Milliseconds between heartbeats")
      ->check(CLI::Range(100, 600'000));
  runner->callback([&] {
    code = with_config(config_path, [&](const ms::Config& c) { return ms::app::runner(c, runner_options); });
  });

  auto* templates = cli.add_subcommand("templates", "Versions of the shop bot template");
  templates->require_subcommand(1);
  ms::app::TemplatesRollOptions roll;
  auto* t_roll = templates->add_subcommand(
      "roll", "Move every shop bot to a template version with a rolling restart (one at a time, each healthy first)");
  t_roll->add_option("--version", roll.version, "The template version")->required();
  t_roll->add_option("--wait", roll.wait_seconds, "Wait up to this many seconds for the roll and print its outcome");
  t_roll->callback([&] {
    code = with_config(config_path, [&](const ms::Config& c) { return ms::app::templates_roll(c, roll); });
  });

  auto* panel = cli.add_subcommand("panel", "Work with VPN panels");
  panel->require_subcommand(1);
  ms::app::PanelProbeOptions probe;
  auto* p_probe = panel->add_subcommand(
      "probe", "Try every call a shop bot needs on a panel with a throwaway account; print one JSON report");
  p_probe->add_option("--type", probe.type, "Panel type")->check(CLI::IsMember({"marzban"}));
  p_probe->add_option("--url", probe.url, "Panel URL, e.g. https://panel.example.com:8443[/path]")->required();
  p_probe->add_option("--username", probe.username, "Panel admin username")->required();
  p_probe->add_option("--password", probe.password, "Panel admin password")->required();
  auto* insecure = p_probe->add_flag("--insecure", probe.insecure, "Do not check the panel's certificate at all");
  p_probe->add_option("--pin", probe.pin, "Accept only the certificate with this SHA-256 fingerprint (self-signed)")
      ->excludes(insecure);
  p_probe->add_option("--timeout-ms", probe.timeout_ms, "Timeout of each call in milliseconds")
      ->check(CLI::Range(100, 300'000));
  p_probe->callback(
      [&] { code = with_config(config_path, [&](const ms::Config&) { return ms::app::panel_probe(probe); }); });

  cli.add_subcommand("doctor", "Check configuration, database, disk and key file; say what is wrong")->callback([&] {
    code = with_config(config_path, ms::app::doctor);
  });

  cli.add_subcommand("version", "Print the version")->callback([&] {
    std::cout << "mothership " << ms::kVersion << "\n";
  });

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e) == 0 ? 0 : 2;
  }
  return code;
}
