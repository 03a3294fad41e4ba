// AtomicFileWriter: writes a file so that readers see either the old content or the
// complete new content, never a half-written file. Bytes go to a temporary file created
// with the final mode (0600 by default) in the destination's directory; commit() fsyncs
// and renames it over the destination. Destroying an uncommitted writer removes the
// temporary file and leaves any existing destination untouched.
//
// Threads: one writer belongs to one thread. Distinct writers for distinct paths are
// independent.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "core/result.hpp"

namespace ms::crypto {

struct AtomicFileOptions {
  mode_t mode = 0600;
  // For tests: write to this path instead of a fresh temporary file (e.g. "/dev/full" to
  // simulate a full disk). A path that already exists is never removed by the writer.
  std::string temp_path_override;
};

class AtomicFileWriter {
 public:
  // Creates the temporary file. Fails with kUnavailable (errno text) when it cannot.
  static Result<AtomicFileWriter> open(std::string dst_path, const AtomicFileOptions& options = {});

  AtomicFileWriter(AtomicFileWriter&& other) noexcept;
  AtomicFileWriter& operator=(AtomicFileWriter&&) = delete;
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;
  ~AtomicFileWriter();

  // Appends all of `bytes`. Fails with kUnavailable carrying the errno text (e.g. ENOSPC).
  Result<void> write(std::string_view bytes);
  // Flushes to disk and renames over the destination, replacing it.
  Result<void> commit();
  // Like commit() but never replaces: fails with kAlreadyExists if the destination exists
  // (used when two processes may create the same key file at once).
  Result<void> commit_no_replace();

  const std::string& dst_path() const { return dst_path_; }

 private:
  AtomicFileWriter(std::string dst_path, std::string temp_path, int fd, bool owns_temp)
      : dst_path_(std::move(dst_path)), temp_path_(std::move(temp_path)), fd_(fd), owns_temp_(owns_temp) {}
  Result<void> flush_and_close();
  void discard();

  std::string dst_path_;
  std::string temp_path_;
  int fd_ = -1;
  bool owns_temp_ = false;
  bool done_ = false;
};

// Human-readable text for an errno value, e.g. "No space left on device".
std::string errno_text(int err);

}  // namespace ms::crypto
