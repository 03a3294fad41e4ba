// SociSession: exec/query over one SOCI connection, with binding by name and rows
// converted to storage Values.
#include <ctime>
#include <deque>
#include <exception>

#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include "storage/pool.hpp"

namespace ms::storage::detail {

namespace {

// Keeps bound values alive (SOCI binds by reference) for one statement.
class Binder {
 public:
  void bind(soci::statement& st, const Params& params) {
    for (const Param& p : params) {
      indicators_.push_back(soci::i_ok);
      soci::indicator& ind = indicators_.back();
      if (const auto* i = std::get_if<std::int64_t>(&p.value)) {
        ints_.push_back(static_cast<long long>(*i));
        st.exchange(soci::use(ints_.back(), ind, p.name));
      } else if (const auto* d = std::get_if<double>(&p.value)) {
        doubles_.push_back(*d);
        st.exchange(soci::use(doubles_.back(), ind, p.name));
      } else if (const auto* s = std::get_if<std::string>(&p.value)) {
        st.exchange(soci::use(*s, ind, p.name));
      } else {
        ind = soci::i_null;
        strings_.emplace_back();
        st.exchange(soci::use(strings_.back(), ind, p.name));
      }
    }
  }

 private:
  // deques: growing them never moves what is already bound
  std::deque<soci::indicator> indicators_;
  std::deque<long long> ints_;
  std::deque<double> doubles_;
  std::deque<std::string> strings_;
};

Value to_value(const soci::row& r, std::size_t i) {
  if (r.get_indicator(i) == soci::i_null) return std::monostate{};
  switch (r.get_properties(i).get_data_type()) {
    case soci::dt_string: return r.get<std::string>(i);
    case soci::dt_integer: return static_cast<std::int64_t>(r.get<int>(i));
    case soci::dt_long_long: return static_cast<std::int64_t>(r.get<long long>(i));
    case soci::dt_unsigned_long_long: return static_cast<std::int64_t>(r.get<unsigned long long>(i));
    case soci::dt_double: return r.get<double>(i);
    case soci::dt_date: {
      std::tm t = r.get<std::tm>(i);
      char buf[32];
      std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &t);
      return std::string(buf);
    }
    default: throw soci::soci_error("column '" + r.get_properties(i).get_name() + "' has a type storage does not read");
  }
}

void prepare(soci::statement& st, std::string_view sql) {
  st.alloc();
  st.prepare(std::string(sql));
  st.define_and_bind();
}

}  // namespace

Result<std::int64_t> SociSession::exec(std::string_view sql, const Params& params) {
  try {
    soci::statement st(*conn_.sql);
    Binder binder;
    binder.bind(st, params);
    prepare(st, sql);
    st.execute(true);
    return static_cast<std::int64_t>(st.get_affected_rows());
  } catch (const std::exception& e) {
    return fail(map_exception(backend_, conn_, e));
  }
}

Result<Rows> SociSession::query(std::string_view sql, const Params& params) {
  try {
    soci::statement st(*conn_.sql);
    Binder binder;
    binder.bind(st, params);
    soci::row r;
    st.exchange(soci::into(r));
    prepare(st, sql);
    Rows rows;
    std::shared_ptr<std::vector<std::string>> columns;
    for (bool got = st.execute(true); got; got = st.fetch()) {
      if (!columns) {
        columns = std::make_shared<std::vector<std::string>>();
        for (std::size_t i = 0; i < r.size(); ++i) columns->push_back(r.get_properties(i).get_name());
      }
      std::vector<Value> values;
      values.reserve(r.size());
      for (std::size_t i = 0; i < r.size(); ++i) values.push_back(to_value(r, i));
      rows.emplace_back(columns, std::move(values));
    }
    return rows;
  } catch (const std::exception& e) {
    return fail(map_exception(backend_, conn_, e));
  }
}

Error map_exception(Backend backend, Connection& conn, const std::exception& e) {
  Error err;
  if (const auto* se = dynamic_cast<const soci::sqlite3_soci_error*>(&e)) {
    err = map_sqlite_error(se->result(), se->get_error_message());
  } else if (const auto* pe = dynamic_cast<const soci::postgresql_soci_error*>(&e)) {
    bool lost = false;
    if (backend == Backend::kPostgres && conn.sql) {
      auto* be = static_cast<soci::postgresql_session_backend*>(conn.sql->get_backend());
      lost = be != nullptr && PQstatus(be->conn_) != CONNECTION_OK;
    }
    err = map_pg_error(pe->sqlstate(), pe->get_error_message(), lost);
  } else if (const auto* soe = dynamic_cast<const soci::soci_error*>(&e)) {
    bool lost = false;
    if (backend == Backend::kPostgres && conn.sql) {
      auto* be = static_cast<soci::postgresql_session_backend*>(conn.sql->get_backend());
      lost = be != nullptr && PQstatus(be->conn_) != CONNECTION_OK;
    }
    // SOCI's own messages (binding, types) carry no values; keep the first line only.
    std::string msg = soe->get_error_message();
    msg = msg.substr(0, msg.find('\n'));
    err = lost ? Error{ErrorCode::kUnavailable, "database connection lost: " + msg} : Error{ErrorCode::kInternal, msg};
  } else {
    err = Error{ErrorCode::kInternal, std::string("storage: ") + e.what()};
  }
  if (err.code == ErrorCode::kUnavailable) conn.broken = true;
  return err;
}

}  // namespace ms::storage::detail
