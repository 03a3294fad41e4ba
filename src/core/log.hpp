// Logging set-up: spdlog, as text for people or one JSON object per line for machines.
// Call init_logging once at start-up, before other threads start; afterwards spdlog's own
// thread-safe loggers are used everywhere (spdlog::info(...)). Never log a secret: wrap it
// in crypto::Secret, which prints as [redacted].
#pragma once

#include <string>

#include "core/config.hpp"

namespace ms {

void init_logging(LogFormat format, LogLevel level);

// Escapes text for a JSON string body (without the quotes).
std::string json_escape(std::string_view text);

}  // namespace ms
