#include <array>
#include <utility>

#include "deploy/deploy.hpp"

namespace ms::deploy {
namespace {

constexpr auto kBackends = std::to_array<std::pair<Backend, std::string_view>>({
    {Backend::kInProcess, "inprocess"},
    {Backend::kProcess, "process"},
    {Backend::kDocker, "docker"},
    {Backend::kKubernetes, "kubernetes"},
});
constexpr auto kSteps = std::to_array<std::pair<Step, std::string_view>>({
    {Step::kTokenVerified, "token_verified"},
    {Step::kTenantReady, "tenant_ready"},
    {Step::kConfigured, "configured"},
    {Step::kStarted, "started"},
    {Step::kHealthy, "healthy"},
});
constexpr auto kStatuses = std::to_array<std::pair<StepStatus, std::string_view>>({
    {StepStatus::kStarted, "started"},
    {StepStatus::kDone, "done"},
    {StepStatus::kRetrying, "retrying"},
    {StepStatus::kFailed, "failed"},
});

template <class E, std::size_t N>
std::string_view name_of(const std::array<std::pair<E, std::string_view>, N>& table, E value) {
  for (const auto& [v, name] : table) {
    if (v == value) return name;
  }
  return "unknown";
}

}  // namespace

std::string_view to_string(Backend backend) { return name_of(kBackends, backend); }
std::string_view to_string(Step step) { return name_of(kSteps, step); }
std::string_view to_string(StepStatus status) { return name_of(kStatuses, status); }

std::optional<Backend> parse_backend(std::string_view text) {
  for (const auto& [v, name] : kBackends) {
    if (name == text) return v;
  }
  return std::nullopt;
}

}  // namespace ms::deploy
