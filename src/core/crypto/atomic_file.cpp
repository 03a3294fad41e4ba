#include "core/crypto/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

namespace ms::crypto {
namespace {

tl::unexpected<Error> io_error(std::string_view what, const std::string& path, int err) {
  return fail(ErrorCode::kUnavailable, std::string(what) + " " + path + ": " + errno_text(err));
}

// Makes the rename itself durable; best effort because some filesystems refuse it.
void fsync_parent_dir(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

std::string errno_text(int err) { return std::generic_category().message(err); }

Result<AtomicFileWriter> AtomicFileWriter::open(std::string dst_path, const AtomicFileOptions& options) {
  if (!options.temp_path_override.empty()) {
    const std::string& temp = options.temp_path_override;
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, options.mode);
    bool owns = fd >= 0;
    if (fd < 0 && errno == EEXIST) fd = ::open(temp.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0) return io_error("cannot create temporary file", temp, errno);
    return AtomicFileWriter(std::move(dst_path), temp, fd, owns);
  }
  std::string pattern = dst_path + ".tmp-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  // mkstemp creates the file with mode 0600, so no other user can open it at any moment.
  int fd = ::mkstemp(buf.data());
  if (fd < 0) return io_error("cannot create temporary file next to", dst_path, errno);
  std::string temp(buf.data());
  if (::fchmod(fd, options.mode) != 0) {
    int err = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    return io_error("cannot set mode of", temp, err);
  }
  return AtomicFileWriter(std::move(dst_path), std::move(temp), fd, true);
}

AtomicFileWriter::AtomicFileWriter(AtomicFileWriter&& other) noexcept
    : dst_path_(std::move(other.dst_path_)),
      temp_path_(std::move(other.temp_path_)),
      fd_(std::exchange(other.fd_, -1)),
      owns_temp_(other.owns_temp_),
      done_(std::exchange(other.done_, true)) {}

AtomicFileWriter::~AtomicFileWriter() { discard(); }

void AtomicFileWriter::discard() {
  if (done_) return;
  done_ = true;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (owns_temp_) ::unlink(temp_path_.c_str());
}

Result<void> AtomicFileWriter::write(std::string_view bytes) {
  if (done_ || fd_ < 0) return fail(ErrorCode::kInternal, "write to a closed file " + dst_path_);
  while (!bytes.empty()) {
    ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("cannot write", dst_path_, errno);
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return ok();
}

Result<void> AtomicFileWriter::flush_and_close() {
  if (done_ || fd_ < 0) return fail(ErrorCode::kInternal, "commit of a closed file " + dst_path_);
  if (::fsync(fd_) != 0) return io_error("cannot flush", dst_path_, errno);
  int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0) return io_error("cannot close", dst_path_, errno);
  return ok();
}

Result<void> AtomicFileWriter::commit() {
  if (auto r = flush_and_close(); !r) {
    discard();
    return r;
  }
  if (::rename(temp_path_.c_str(), dst_path_.c_str()) != 0) {
    int err = errno;
    discard();
    return io_error("cannot rename temporary file to", dst_path_, err);
  }
  done_ = true;
  fsync_parent_dir(dst_path_);
  return ok();
}

Result<void> AtomicFileWriter::commit_no_replace() {
  if (auto r = flush_and_close(); !r) {
    discard();
    return r;
  }
  // link() fails with EEXIST instead of replacing, which rename() would do silently.
  if (::link(temp_path_.c_str(), dst_path_.c_str()) != 0) {
    int err = errno;
    discard();
    if (err == EEXIST) return fail(ErrorCode::kAlreadyExists, dst_path_ + " already exists");
    return io_error("cannot create", dst_path_, err);
  }
  discard();  // removes the temporary name; the destination keeps the inode
  fsync_parent_dir(dst_path_);
  return ok();
}

}  // namespace ms::crypto
