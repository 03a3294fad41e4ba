// ServeProcess: the real `mothership serve` as a child process of a test, for tests that must
// kill it (SIGKILL) at a chosen moment and start it again on the same data.
//
// Each ServeProcess owns a scratch directory (the SQLite data dir, the key file, the port
// file, one log file per run) and, for PostgreSQL, a fresh database made through
// MOTHERSHIP_TEST_PG_URL and dropped at the end. The child gets its configuration only
// from MOTHERSHIP_* environment variables (every inherited MOTHERSHIP_* is removed first);
// it listens on 127.0.0.1, on a port the kernel picks at the first start and the same port
// on every later start (so URLs handed out stay valid).
//
// Telegram: by default serve runs in sandbox mode with its built-in emulator at /sandbox,
// which lives in serve's memory and dies with it. Tests that kill serve point it at a Bot
// API that outlives it instead (`telegram_api_url` + `master_bot_token`, e.g. an emulator in
// the test process), as real Telegram outlives a crash of ours.
//
// When the test has failed (gtest), the directory and its logs are kept and their paths
// printed; otherwise everything is removed.
//
// Threads: not thread-safe, except kill() and pid(), which may be called from any thread
// (e.g. a hook on a test server's thread). start() must be called from a thread that outlives
// the child (the child gets SIGKILL when that thread ends: PR_SET_PDEATHSIG).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/crypto/keyring.hpp"
#include "core/result.hpp"
#include "storage/storage.hpp"

namespace ms::test_support {

struct ServeSetup {
  storage::Backend backend = storage::Backend::kSqlite;
  // Empty: sandbox mode (serve's own emulator). Otherwise the Bot API serve uses, with the
  // master bot's token there (required by serve outside sandbox mode).
  std::string telegram_api_url;
  std::string master_bot_token;
  // More MOTHERSHIP_* settings (they win over the harness's own).
  std::map<std::string, std::string> env;
  std::string log_level = "info";
};

// What a finished `mothership <args>` printed (stdout and stderr together) and its exit code.
struct CommandOutput {
  int exit_code = -1;
  std::string output;
};

class ServeProcess {
 public:
  // Makes the scratch directory, the key file and (PostgreSQL) the database. Failure:
  // kUnavailable when PostgreSQL is wanted but MOTHERSHIP_TEST_PG_URL is unset or unreachable
  // (tests skip on it unless MOTHERSHIP_TEST_REQUIRE_PG=1), kInternal otherwise.
  static Result<std::unique_ptr<ServeProcess>> create(ServeSetup setup);
  ~ServeProcess();  // SIGKILLs a running child, then cleans up (see above)
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  // Spawns `mothership serve`, waits for its port and for /readyz to answer 200. Failure
  // (with the log's tail in the message): the child exited, or `within` passed (the child
  // is then killed).
  Result<void> start(std::chrono::milliseconds within = std::chrono::seconds(60));
  // SIGKILL and reap: the process is gone when this returns. Safe from any thread; a no-op
  // when nothing runs. Success: it was running and is now dead.
  Result<void> kill();
  // SIGTERM and wait for the exit (SIGKILL after `within`). Success: the exit code.
  Result<int> stop(std::chrono::milliseconds within = std::chrono::seconds(20));
  bool running() const { return pid_.load() > 0; }
  pid_t pid() const { return pid_.load(); }
  int starts() const { return starts_; }

  // Runs another subcommand (`shop create ...`) with the same configuration and waits for it.
  // Failure: it could not be spawned, or did not end within `within` (then killed).
  Result<CommandOutput> run(const std::vector<std::string>& args,
                            std::chrono::milliseconds within = std::chrono::seconds(60));

  std::uint16_t port() const { return port_; }
  std::string base_url() const;     // http://127.0.0.1:<port>
  std::string sandbox_url() const;  // <base_url>/sandbox (sandbox mode only)
  // Where the data lives, for a test that opens the same databases (to write a shop's catalog
  // while serve is stopped, or to read what serve did).
  storage::StorageOptions storage_options() const;
  // The key that encrypts secrets at rest (the key file serve reads).
  const crypto::Keyring& keyring() const { return *keyring_; }
  const std::filesystem::path& dir() const { return dir_; }
  // The log of the current (or last) run, and all runs' logs in order.
  std::filesystem::path log_path() const;
  std::string log() const;

 private:
  ServeProcess() = default;
  std::map<std::string, std::string> environment() const;
  Result<pid_t> spawn(const std::vector<std::string>& args, const std::filesystem::path& output) const;
  Result<std::optional<int>> reap(pid_t pid, std::chrono::milliseconds within) const;
  std::string log_tail(std::size_t bytes = 4000) const;

  ServeSetup setup_;
  std::filesystem::path dir_;
  std::unique_ptr<crypto::Keyring> keyring_;
  std::string pg_admin_url_;
  std::string pg_database_;
  std::atomic<pid_t> pid_{0};
  std::uint16_t port_ = 0;
  int starts_ = 0;
  int commands_ = 0;
};

}  // namespace ms::test_support
