#include "api/request_parsing.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>

#include "api/json_fields.hpp"
#include "common/error.hpp"
#include "jobs/time_format.hpp"

namespace mljobs::api {
namespace {

namespace json = boost::json;

std::optional<jobs::Micros> ParseTimeParam(const http::Request& r, std::string_view name) {
  auto text = r.Query(name);
  if (!text) return std::nullopt;
  auto t = jobs::ParseRfc3339(*text);
  if (!t) {
    ThrowInvalid(std::string(name) + ": '" + std::string(*text) +
                 "' is not an RFC 3339 time such as 2026-01-31T12:00:00Z");
  }
  return t;
}

jobs::JobFilter ParseFilter(const http::Request& r) {
  jobs::JobFilter filter;
  if (auto list = r.Query("status")) {
    std::string_view rest = *list;
    while (true) {
      std::size_t comma = rest.find(',');
      std::string_view name = rest.substr(0, comma);
      auto status = jobs::ParseStatus(name);
      if (!status) {
        ThrowInvalid("status: unknown status '" + std::string(name) +
                     "' (pending, running, completed, failed, cancelled)");
      }
      filter.statuses.push_back(*status);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    std::sort(filter.statuses.begin(), filter.statuses.end());
    filter.statuses.erase(std::unique(filter.statuses.begin(), filter.statuses.end()),
                          filter.statuses.end());
  }
  if (auto model = r.Query("model")) {
    if (model->empty() || model->size() > jobs::kMaxModelBytes) {
      ThrowInvalid("model: must be 1 to 128 bytes");
    }
    filter.model = std::string(*model);
  }
  filter.created_after = ParseTimeParam(r, "created_after");
  filter.created_before = ParseTimeParam(r, "created_before");
  if (auto archived = r.Query("include_archived")) {
    if (*archived == "true")
      filter.include_archived = true;
    else if (*archived != "false")
      ThrowInvalid("include_archived: must be true or false");
  }
  return filter;
}

jobs::SortOrder ParseOrder(const http::Request& r) {
  auto order = r.Query("order");
  if (!order || *order == "desc") return jobs::SortOrder::kDesc;
  if (*order == "asc") return jobs::SortOrder::kAsc;
  ThrowInvalid("order: must be desc or asc");
}

jobs::FieldSet ParseFields(const http::Request& r, jobs::FieldSet fallback) {
  auto list = r.Query("fields");
  if (!list) return fallback;
  std::string unknown;
  auto fields = jobs::FieldSet::Parse(*list, &unknown);
  if (!fields) ThrowInvalid("fields: unknown field '" + unknown + "'");
  return *fields;
}

}  // namespace

json::object ParseJsonObject(const std::string& body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) ThrowInvalid("body is not valid JSON: " + ec.message());
  if (!v.is_object()) ThrowInvalid(std::string("body must be a JSON object, not ") + KindName(v));
  return std::move(v.get_object());
}

jobs::JobRequest ParseJobRequest(const json::value& value, const std::string& where) {
  if (!value.is_object()) {
    ThrowInvalid(where.empty() ? std::string("body must be a JSON object")
                               : where.substr(0, where.size() - 1) + ": must be an object, not " +
                                     KindName(value));
  }
  const json::object& o = value.get_object();
  RequireKnownFields(o, {"model", "input_text", "priority", "metadata", "max_attempts"}, where);
  jobs::JobRequest r;
  r.model = RequireString(o, "model", where);
  r.input_text = RequireString(o, "input_text", where);
  if (const json::value* p = o.if_contains("priority"))
    r.priority = RequireInt(*p, "priority", where);
  if (const json::value* m = o.if_contains("max_attempts")) {
    r.max_attempts = RequireInt(*m, "max_attempts", where);
  }
  if (const json::value* m = o.if_contains("metadata"); m && !m->is_null()) {
    if (!m->is_object()) ThrowInvalid(where + "metadata: must be an object, not " + KindName(*m));
    r.metadata = json::serialize(*m);
  }
  jobs::JobService::Validate(r, where);
  return r;
}

std::vector<jobs::JobRequest> ParseBatchRequest(const json::object& body) {
  RequireKnownFields(body, {"jobs"}, "");
  const json::value* list = body.if_contains("jobs");
  if (list == nullptr) ThrowInvalid("jobs: is required");
  if (!list->is_array())
    ThrowInvalid(std::string("jobs: must be an array, not ") + KindName(*list));
  const json::array& items = list->get_array();
  if (items.empty()) ThrowInvalid("jobs: must hold at least one job");
  if (items.size() > jobs::kMaxBatchJobs) {
    ThrowInvalid("jobs: at most 10000 jobs per batch (got " + std::to_string(items.size()) + ")");
  }
  std::vector<jobs::JobRequest> out;
  out.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    out.push_back(ParseJobRequest(items[i], "jobs[" + std::to_string(i) + "]."));
  }
  return out;
}

void RequireKnownParams(const http::Request& r, std::initializer_list<std::string_view> allowed) {
  for (std::size_t i = 0; i < r.query.size(); ++i) {
    const std::string& key = r.query[i].first;
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string names;
      for (auto a : allowed) names += (names.empty() ? "" : ", ") + std::string(a);
      ThrowInvalid(key + ": unknown parameter (" + names + ")");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (r.query[j].first == key) ThrowInvalid(key + ": given more than once");
    }
  }
}

jobs::ListRequest ParseListRequest(const http::Request& r) {
  RequireKnownParams(r, {"limit", "cursor", "status", "model", "created_after", "created_before",
                         "include_archived", "order", "fields", "count"});
  jobs::ListRequest out;
  out.filter = ParseFilter(r);
  out.order = ParseOrder(r);
  out.fields = ParseFields(r, jobs::FieldSet::Light());
  if (auto limit = r.Query("limit")) {
    int n = 0;
    auto [end, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), n);
    if (ec != std::errc() || end != limit->data() + limit->size() || n < 1 ||
        n > jobs::kMaxPageSize) {
      ThrowInvalid("limit: must be an integer from 1 to 1000 (got '" + std::string(*limit) + "')");
    }
    out.limit = n;
  }
  if (auto cursor = r.Query("cursor")) {
    if (cursor->empty() || cursor->size() > 256) {
      throw Error(ErrorCode::kInvalidArgument, "cursor: is malformed", "invalid_cursor");
    }
    out.cursor = std::string(*cursor);
  }
  if (auto count = r.Query("count")) {
    if (*count == "none")
      out.count = jobs::CountMode::kNone;
    else if (*count == "exact")
      out.count = jobs::CountMode::kExact;
    else if (*count == "estimated")
      out.count = jobs::CountMode::kEstimated;
    else
      ThrowInvalid("count: must be none, exact or estimated");
  }
  return out;
}

ExportRequest ParseExportRequest(const http::Request& r) {
  RequireKnownParams(r, {"status", "model", "created_after", "created_before", "include_archived",
                         "order", "fields"});
  ExportRequest out;
  out.filter = ParseFilter(r);
  out.order = ParseOrder(r);
  out.fields = ParseFields(r, jobs::FieldSet::All());
  return out;
}

}  // namespace mljobs::api
