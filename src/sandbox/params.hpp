// Params: the parameters of one Bot API call, gathered the way the Bot API server does it:
// the query string first, then the body (application/x-www-form-urlencoded, application/json
// or multipart/form-data, chosen by a case-insensitive substring match on Content-Type).
// The first occurrence of a name wins. In a JSON body, string values are taken as their
// decoded text and every other value as its raw JSON text, so "reply_markup" may arrive as
// an object or as a string holding JSON. Multipart parts with a filename are files.
//
// Values, no shared state: safe to use from one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace ms::sandbox {

struct UploadedFile {
  std::string field;
  std::string file_name;
  std::string content_type;
  std::string data;
};

class Params {
 public:
  // Appends a value; an earlier value of the same name keeps priority.
  void add(std::string name, std::string value);
  void add_file(UploadedFile file);

  // The first value of `name`, or nullopt.
  std::optional<std::string_view> get(std::string_view name) const;
  // The value, or "" when absent.
  std::string str(std::string_view name) const;
  bool has(std::string_view name) const { return get(name).has_value(); }
  // The Bot API's lenient integer: absent/empty -> fallback; leading number otherwise.
  std::int64_t integer(std::string_view name, std::int64_t fallback = 0) const;
  // The Bot API's boolean: true, yes or 1 (case-insensitive, trimmed); anything else false.
  bool boolean(std::string_view name) const;
  // An uploaded file part called `name`, or nullptr.
  const UploadedFile* file(std::string_view name) const;

  const std::vector<std::pair<std::string, std::string>>& values() const { return values_; }

 private:
  std::vector<std::pair<std::string, std::string>> values_;
  std::vector<UploadedFile> files_;
};

// Adds the pairs of a query string or urlencoded body. Fails with kInvalidArgument on a bad
// percent escape.
Result<void> parse_urlencoded(std::string_view text, Params& out);

// Adds the members of a JSON object body. A malformed body adds nothing (the Bot API server
// only logs it), so this never fails.
void parse_json_body(std::string_view body, Params& out);

// Adds the fields and files of a multipart/form-data body. Fails with kInvalidArgument on a
// missing boundary or a malformed body.
Result<void> parse_multipart(std::string_view content_type, std::string_view body, Params& out);

// Builds Params from a request target (for its query string), Content-Type and body.
Result<Params> parse_params(std::string_view target, std::string_view content_type, std::string_view body);

}  // namespace ms::sandbox
