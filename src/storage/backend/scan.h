// Internal to storage/backend: an ordered cursor walk over [from, to) of one database,
// used by both read and write transactions.
#pragma once

#include <lmdb.h>

#include <functional>
#include <string_view>

#include "base/status.h"

namespace etcpp::backend {

base::Status Scan(MDB_txn* txn, MDB_dbi dbi, std::string_view from, std::string_view to,
                  const std::function<bool(std::string_view, std::string_view)>& fn);

}  // namespace etcpp::backend
