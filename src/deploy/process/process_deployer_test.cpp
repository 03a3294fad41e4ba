// ProcessDeployer with a shell script standing in for `mothership runner`: the script's
// mode comes from the environment the deployer gives it (MS_TEST_MODE), and it writes
// its arguments and start time to stdout (the instance log). The real runner is tested in
// tests/deploy/runner_test.cpp.
#include "deploy/process/process_deployer.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace ms::deploy {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds within = 10s) {
  const auto until = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// /proc/<pid>/cmdline or environ with the NULs as spaces.
std::string proc(pid_t pid, const char* what) {
  auto text = read_file("/proc/" + std::to_string(pid) + "/" + what);
  for (auto& c : text)
    if (c == '\0') c = ' ';
  return text;
}

// A process that is gone or a zombie no longer runs.
bool alive(pid_t pid) {
  auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}

constexpr const char* kScript = R"sh(#!/bin/sh
echo "started $* at $(date +%s%N)"
case "$MS_TEST_MODE" in
  crash) echo "crashing"; exit 3 ;;
  short) sleep 0.4; exit 4 ;;
  stubborn) trap '' TERM; echo "ignoring SIGTERM" ;;
  chatty) while :; do echo "0123456789012345678901234567890123456789012345678901234567890123456789"; done ;;
esac
while :; do sleep 0.05; done
)sh";

class ProcessDeployerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ms_process_deployer_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    script_ = dir_ / "fake-runner.sh";
    std::ofstream(script_) << kScript;
    fs::permissions(script_, fs::perms::owner_all);
  }
  void TearDown() override { fs::remove_all(dir_); }

  ProcessDeployerOptions options(const std::string& mode = "") {
    ProcessDeployerOptions o;
    o.binary = script_.string();
    o.data_dir = (dir_ / "data").string();
    o.environment = {"MS_TEST_MODE=" + mode, "MOTHERSHIP_DATA_DIR=" + o.data_dir, "PATH=/usr/bin:/bin"};
    o.initial_backoff = 100ms;
    o.max_backoff = 400ms;
    o.stop_grace = 2s;
    o.tick = 20ms;
    return o;
  }
  static InstanceSpec spec(std::int64_t id, std::string token = "123456:AAFsecretSECRETsecretSECRETsecret00") {
    InstanceSpec s;
    s.instance_id = id;
    s.tenant_id = id;
    s.token = std::move(token);
    s.template_version = "1";
    return s;
  }
  static pid_t wait_pid(ProcessDeployer& d, std::int64_t id, pid_t other = 0) {
    pid_t pid = 0;
    eventually([&] {
      auto p = d.pid(id);
      pid = p.value_or(0);
      return pid > 0 && pid != other;
    });
    return pid;
  }
  // The start times the script logged, in milliseconds.
  static std::vector<std::int64_t> starts(const std::string& log) {
    std::vector<std::int64_t> out;
    std::istringstream in(read_file(log));
    std::string line;
    while (std::getline(in, line)) {
      auto at = line.find(" at ");
      if (line.rfind("started", 0) == 0 && at != std::string::npos)
        out.push_back(std::stoll(line.substr(at + 4)) / 1'000'000);
    }
    return out;
  }

  fs::path dir_;
  fs::path script_;
};

TEST_F(ProcessDeployerTest, RunsOneProcessPerInstanceWithOnlyItsConfigurationAndNoToken) {
  ::setenv("MS_PARENT_ONLY", "parent-secret", 1);
  ProcessDeployer d(options(), nullptr);
  ASSERT_TRUE(d.start(spec(7)));
  ASSERT_TRUE(d.start(spec(8, "654321:AAFothertokenOTHERtokenOTHERtoken")));
  const pid_t a = wait_pid(d, 7), b = wait_pid(d, 8);
  ASSERT_GT(a, 0);
  ASSERT_GT(b, 0);
  EXPECT_NE(a, b);
  EXPECT_EQ(d.running(), (std::vector<std::int64_t>{7, 8}));
  // Until the child's exec, /proc shows the parent's command line and environment.
  EXPECT_TRUE(eventually([&] { return proc(a, "cmdline").find("runner --instance 7") != std::string::npos; }));
  const auto cmdline = proc(a, "cmdline"), environ = proc(a, "environ");
  EXPECT_NE(cmdline.find("runner --instance 7 --restarts 0"), std::string::npos) << cmdline;
  EXPECT_EQ(cmdline.find("secretSECRET"), std::string::npos) << cmdline;
  EXPECT_EQ(environ.find("secretSECRET"), std::string::npos) << environ;
  EXPECT_EQ(environ.find("MS_PARENT_ONLY"), std::string::npos) << "the parent's environment leaked: " << environ;
  EXPECT_NE(environ.find("MOTHERSHIP_DATA_DIR="), std::string::npos) << environ;
  // Each instance its own log.
  ASSERT_TRUE(eventually([&] { return read_file(d.log_path(7)).find("runner --instance 7") != std::string::npos; }));
  ASSERT_TRUE(eventually([&] { return read_file(d.log_path(8)).find("runner --instance 8") != std::string::npos; }));
  EXPECT_EQ(read_file(d.log_path(7)).find("--instance 8"), std::string::npos);
  EXPECT_EQ(d.log_path(7), (dir_ / "data" / "logs" / "instance-7.log").string());
  ::unsetenv("MS_PARENT_ONLY");
}

TEST_F(ProcessDeployerTest, TheSameSpecIsANoOpAChangedOneRestarts) {
  ProcessDeployer d(options(), nullptr);
  auto s = spec(3);
  ASSERT_TRUE(d.start(s));
  const pid_t first = wait_pid(d, 3);
  ASSERT_TRUE(d.start(s));
  EXPECT_EQ(d.pid(3), first);
  s.suspended = true;
  ASSERT_TRUE(d.start(s));
  const pid_t second = wait_pid(d, 3, first);
  EXPECT_NE(second, first);
  EXPECT_FALSE(alive(first));
  // Until the child's exec, /proc shows the parent's command line: wait for the runner's.
  EXPECT_TRUE(eventually([&] { return proc(second, "cmdline").find("--suspended") != std::string::npos; }))
      << proc(second, "cmdline");
  s.template_version = "2";
  ASSERT_TRUE(d.start(s));
  const pid_t third = wait_pid(d, 3, second);
  EXPECT_FALSE(alive(second));
  s.token = "123456:AAFanotherANOTHERanotherANOTHER000";
  ASSERT_TRUE(d.start(s));
  EXPECT_NE(wait_pid(d, 3, third), third);
  EXPECT_FALSE(alive(third));
  auto h = d.health(3);
  ASSERT_TRUE(h);
  EXPECT_TRUE(h->running);
  EXPECT_EQ(h->restarts, 0) << "a new spec is not a crash";
}

TEST_F(ProcessDeployerTest, ACrashingRunnerIsRestartedWithGrowingBackoffUpToTheCap) {
  ProcessDeployer d(options("crash"), nullptr);
  ASSERT_TRUE(d.start(spec(5)));
  ASSERT_TRUE(eventually([&] { return d.health(5)->restarts >= 5; }));
  auto h = d.health(5);
  EXPECT_NE(h->last_error.find("exited with code 3"), std::string::npos) << h->last_error;
  auto at = starts(d.log_path(5));
  ASSERT_GE(at.size(), 5u);
  // Backoffs 100, 200, 400, 400 ms (the cap): each gap at least its backoff, and the capped
  // ones well below what doubling again would give.
  const std::int64_t backoff[] = {100, 200, 400, 400};
  for (int i = 0; i < 4; ++i) EXPECT_GE(at[i + 1] - at[i], backoff[i] - 10) << "gap " << i;
  EXPECT_LT(at[4] - at[3], 800) << "the backoff is capped at 400 ms";
  EXPECT_FALSE(d.health(99));
  EXPECT_EQ(d.health(99).error().code, ErrorCode::kNotFound);
}

TEST_F(ProcessDeployerTest, ARunLongerThanStableAfterResetsTheBackoff) {
  auto o = options("short");  // each run lasts 0.4 s
  o.max_backoff = 4s;
  o.stable_after = 200ms;
  ProcessDeployer d(o, nullptr);
  ASSERT_TRUE(d.start(spec(6)));
  ASSERT_TRUE(eventually([&] { return starts(d.log_path(6)).size() >= 5; }, 20s));
  auto at = starts(d.log_path(6));
  // Without the reset the gaps would be 0.5, 0.6, 0.8, 1.2 s; with it each is 0.4 + 0.1 s.
  for (std::size_t i = 1; i < 5; ++i) EXPECT_LT(at[i] - at[i - 1], 1100) << "gap " << i;
  EXPECT_GE(at[4] - at[0], 4 * 400);
}

TEST_F(ProcessDeployerTest, StopSendsTermThenKillAndLeavesNoProcess) {
  auto o = options("stubborn");
  o.stop_grace = 300ms;
  ProcessDeployer d(o, nullptr);
  ASSERT_TRUE(d.start(spec(4)));
  const pid_t pid = wait_pid(d, 4);
  ASSERT_TRUE(eventually([&] { return read_file(d.log_path(4)).find("ignoring SIGTERM") != std::string::npos; }));
  const auto began = std::chrono::steady_clock::now();
  ASSERT_TRUE(d.stop(4));
  EXPECT_GE(std::chrono::steady_clock::now() - began, 300ms);
  EXPECT_FALSE(alive(pid));
  EXPECT_EQ(::kill(pid, 0), -1) << "reaped, not a zombie";
  EXPECT_TRUE(d.running().empty());
  EXPECT_FALSE(d.pid(4));
  EXPECT_NE(read_file(d.log_path(4)).find("killed by signal"), std::string::npos) << read_file(d.log_path(4));
  EXPECT_TRUE(d.stop(4)) << "stopping what does not run is not an error";
  EXPECT_FALSE(fs::exists(dir_ / "data" / "run" / "instance-4.pid"));
}

TEST_F(ProcessDeployerTest, ADestroyedDeployerLeavesNoOrphans) {
  std::vector<pid_t> pids;
  {
    ProcessDeployer d(options(), nullptr);
    for (std::int64_t id : {1, 2, 3}) ASSERT_TRUE(d.start(spec(id, "12345" + std::to_string(id) + ":AAFxyz")));
    for (std::int64_t id : {1, 2, 3}) pids.push_back(wait_pid(d, id));
  }
  for (auto pid : pids) {
    EXPECT_FALSE(alive(pid));
    EXPECT_EQ(::kill(pid, 0), -1);
  }
}

TEST_F(ProcessDeployerTest, TheLogIsCappedWithOneRotation) {
  auto o = options("chatty");
  o.log_max_bytes = 64 * 1024;
  ProcessDeployer d(o, nullptr);
  ASSERT_TRUE(d.start(spec(2)));
  const std::string log = d.log_path(2);
  ASSERT_TRUE(eventually([&] { return fs::exists(log + ".1"); }));
  ASSERT_TRUE(d.stop(2));
  EXPECT_FALSE(fs::exists(log + ".2"));
  // Rotated within a second of passing the cap; the script writes fast, so allow for that.
  EXPECT_GT(fs::file_size(log + ".1"), 64u * 1024);
  const auto tail = read_file(log);
  EXPECT_NE(tail.find("runner stopped"), std::string::npos)
      << "the runner's log goes on after a rotation: " << tail.substr(tail.size() > 300 ? tail.size() - 300 : 0);
}

TEST_F(ProcessDeployerTest, ARestartedParentAdoptsItsRunnerOrReplacesItButNeverRunsTwo) {
  // A parent that crashes: a forked copy of this process starts the runner and dies by
  // SIGKILL, so no destructor runs. The runner lives on, reparented.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t parent = ::fork();
  ASSERT_GE(parent, 0);
  if (parent == 0) {
    ::close(fds[0]);
    auto* d = new ProcessDeployer(options(), nullptr);
    pid_t runner = 0;
    if (d->start(spec(9))) runner = wait_pid(*d, 9);
    (void)!::write(fds[1], &runner, sizeof runner);
    ::raise(SIGKILL);
  }
  ::close(fds[1]);
  pid_t runner = 0;
  ASSERT_EQ(::read(fds[0], &runner, sizeof runner), static_cast<ssize_t>(sizeof runner));
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(parent, &status, 0), parent);
  ASSERT_TRUE(WIFSIGNALED(status));
  ASSERT_GT(runner, 0);
  ASSERT_TRUE(alive(runner));

  {
    ProcessDeployer d(options(), nullptr);
    EXPECT_EQ(d.running(), (std::vector<std::int64_t>{9}));
    EXPECT_EQ(d.pid(9), runner);
    ASSERT_TRUE(d.start(spec(9)));  // the same spec: adopted, not started twice
    EXPECT_EQ(d.pid(9), runner);
    EXPECT_TRUE(alive(runner));
    // The adopted runner dies: it is restarted, now as our own child.
    ASSERT_EQ(::kill(runner, SIGKILL), 0);
    const pid_t own = wait_pid(d, 9, runner);
    ASSERT_GT(own, 0);
    EXPECT_EQ(d.health(9)->restarts, 1);
    EXPECT_FALSE(alive(runner));
    ASSERT_TRUE(alive(own));
    runner = own;
  }
  EXPECT_FALSE(alive(runner));
  EXPECT_TRUE(fs::is_empty(dir_ / "data" / "run"));
}

TEST_F(ProcessDeployerTest, ASurvivorWithAnotherSpecIsReplacedAndAReusedPidIsNotAdopted) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t parent = ::fork();
  ASSERT_GE(parent, 0);
  if (parent == 0) {
    ::close(fds[0]);
    auto* d = new ProcessDeployer(options(), nullptr);
    pid_t runner = 0;
    if (d->start(spec(11))) runner = wait_pid(*d, 11);
    (void)!::write(fds[1], &runner, sizeof runner);
    ::raise(SIGKILL);
  }
  ::close(fds[1]);
  pid_t survivor = 0;
  ASSERT_EQ(::read(fds[0], &survivor, sizeof survivor), static_cast<ssize_t>(sizeof survivor));
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(parent, &status, 0), parent);
  ASSERT_GT(survivor, 0);
  // A pid file naming a live process that is not that runner (this test, with another start time).
  std::ofstream(dir_ / "data" / "run" / "instance-12.pid") << ::getpid() << " 1 abc\n";

  ProcessDeployer d(options(), nullptr);
  EXPECT_EQ(d.running(), (std::vector<std::int64_t>{11}));
  EXPECT_FALSE(fs::exists(dir_ / "data" / "run" / "instance-12.pid"));
  ASSERT_TRUE(d.start(spec(11, "123456:AAFrotatedROTATEDrotatedROTATED0")));
  const pid_t replacement = wait_pid(d, 11);
  EXPECT_NE(replacement, survivor);
  EXPECT_FALSE(alive(survivor));
  int runners = 0;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const auto name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = std::stoi(name);
    if (alive(pid) && proc(pid, "cmdline").find("runner --instance 11 ") != std::string::npos) ++runners;
  }
  EXPECT_EQ(runners, 1);
  ASSERT_TRUE(d.stop(11));
  EXPECT_FALSE(alive(replacement));
}

}  // namespace
}  // namespace ms::deploy
