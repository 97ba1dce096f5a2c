#include "store/sqlite/sqlite_job_row.hpp"

#include <boost/json/basic_parser_impl.hpp>

#include "common/error.hpp"

namespace mljobs::store::sqlite {
namespace {

// A Boost.JSON parser event handler that builds nothing: the parse only validates.
struct ValidateOnly {
  using error_code = boost::system::error_code;
  using string_view = boost::json::string_view;
  static constexpr std::size_t max_array_size = -1;
  static constexpr std::size_t max_object_size = -1;
  static constexpr std::size_t max_string_size = -1;
  static constexpr std::size_t max_key_size = -1;
  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_array_begin(error_code&) { return true; }
  bool on_array_end(std::size_t, error_code&) { return true; }
  bool on_object_begin(error_code&) { return true; }
  bool on_object_end(std::size_t, error_code&) { return true; }
  bool on_string_part(string_view, std::size_t, error_code&) { return true; }
  bool on_string(string_view, std::size_t, error_code&) { return true; }
  bool on_key_part(string_view, std::size_t, error_code&) { return true; }
  bool on_key(string_view, std::size_t, error_code&) { return true; }
  bool on_number_part(string_view, error_code&) { return true; }
  bool on_int64(std::int64_t, string_view, error_code&) { return true; }
  bool on_uint64(std::uint64_t, string_view, error_code&) { return true; }
  bool on_double(double, string_view, error_code&) { return true; }
  bool on_bool(bool, error_code&) { return true; }
  bool on_null(error_code&) { return true; }
  bool on_comment_part(string_view, error_code&) { return true; }
  bool on_comment(string_view, error_code&) { return true; }
};

// One complete JSON text, as Boost.JSON's parse accepts it (UTF-8 checked, depth 32).
bool IsJsonText(std::string_view text) {
  boost::json::basic_parser<ValidateOnly> parser(boost::json::parse_options{});
  boost::system::error_code ec;
  const std::size_t used = parser.write_some(false, text.data(), text.size(), ec);
  return !ec && used == text.size();
}

}  // namespace

jobs::Job ReadJob(const Statement& statement, HeavyColumns heavy) {
  jobs::Job job;
  job.id = statement.Int64(0);
  job.uuid = statement.Text(1);
  job.owner = statement.Text(2);
  job.model = statement.Text(3);
  std::string status = statement.Text(4);
  auto parsed = jobs::ParseStatus(status);
  if (!parsed) throw Error(ErrorCode::kInternal, "sqlite: unknown job status '" + status + "'");
  job.status = *parsed;
  job.priority = static_cast<int>(statement.Int64(5));
  job.result_label = statement.OptionalText(6);
  job.result_score = statement.OptionalDouble(7);
  job.error = statement.OptionalText(8);
  job.attempts = static_cast<int>(statement.Int64(9));
  job.max_attempts = static_cast<int>(statement.Int64(10));
  job.run_after = statement.Int64(11);
  job.lease_token = statement.OptionalText(12);
  job.lease_expires_at = statement.OptionalInt64(13);
  job.worker = statement.OptionalText(14);
  job.created_at = statement.Int64(15);
  job.started_at = statement.OptionalInt64(16);
  job.completed_at = statement.OptionalInt64(17);
  job.updated_at = statement.Int64(18);
  int column = kLightColumnCount;
  if (heavy.input_text) job.input_text = statement.Text(column++);
  if (heavy.metadata) {
    // The column is plain TEXT: nothing in the schema keeps other writers from storing
    // something that is not JSON. Job::metadata promises valid JSON text (responses copy
    // it as is), so such a value reads as absent, like a bad row would have rendered before.
    job.metadata = statement.OptionalText(column++);
    if (job.metadata && !IsJsonText(*job.metadata)) job.metadata.reset();
  }
  return job;
}

}  // namespace mljobs::store::sqlite
