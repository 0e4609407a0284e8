// Text alignment as Go's text/tabwriter does it, so help and usage texts line up with
// the same tabs as etcdctl's (minwidth 0, tabwidth 8, padding 1, padchar '\t').
#pragma once

#include <string>

namespace etcpp::ctl {

// Aligns the tab-separated cells of `text` into columns.
std::string TabAlign(const std::string& text);

}  // namespace etcpp::ctl
