#include "tabwriter.h"

#include <vector>

namespace etcpp::ctl {
namespace {

constexpr int kTabWidth = 8;
constexpr int kPadding = 1;

struct Cell {
  std::string text;
  int width = 0;  // in runes, as Go counts
};
using Line = std::vector<Cell>;

int RuneCount(const std::string& s) {
  int n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Go's tabwriter: a column block is a run of consecutive lines that have a cell in that
// column (a tab-terminated cell); its width is the widest cell plus padding. Blocks nest.
class Formatter {
 public:
  explicit Formatter(std::vector<Line> lines) : lines_(std::move(lines)) {}

  std::string Run() {
    Format(0, lines_.size());
    return out_;
  }

 private:
  void Format(size_t line0, size_t line1) {
    const size_t column = widths_.size();
    for (size_t i = line0; i < line1; ++i) {
      if (column + 1 >= lines_[i].size()) continue;
      WriteLines(line0, i);
      line0 = i;
      int width = 0;
      for (; i < line1 && column + 1 < lines_[i].size(); ++i)
        width = std::max(width, lines_[i][column].width + kPadding);
      widths_.push_back(width);
      Format(line0, i);
      widths_.pop_back();
      line0 = i;
      if (i == line1) break;
      --i;  // the loop's ++i must revisit line i
    }
    WriteLines(line0, line1);
  }

  void WriteLines(size_t line0, size_t line1) {
    for (size_t i = line0; i < line1; ++i) {
      const Line& line = lines_[i];
      for (size_t j = 0; j < line.size(); ++j) {
        out_ += line[j].text;
        if (j < widths_.size()) Pad(line[j].width, widths_[j]);
      }
      if (i + 1 < lines_.size()) out_ += '\n';
    }
  }

  void Pad(int text_width, int cell_width) {
    cell_width = (cell_width + kTabWidth - 1) / kTabWidth * kTabWidth;
    const int n = cell_width - text_width;
    out_.append((n + kTabWidth - 1) / kTabWidth, '\t');
  }

  std::vector<Line> lines_;
  std::vector<int> widths_;
  std::string out_;
};

}  // namespace

std::string TabAlign(const std::string& text) {
  // A line without tabs ends a block (Go flushes there), so format block by block.
  std::string out;
  std::vector<Line> block;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    const bool last = end == std::string::npos;
    if (last) end = text.size();
    Line line;
    size_t cell_start = start;
    for (size_t k = start; k <= end; ++k) {
      if (k == end || text[k] == '\t') {
        std::string cell = text.substr(cell_start, k - cell_start);
        line.push_back(Cell{cell, RuneCount(cell)});
        cell_start = k + 1;
      }
    }
    const bool has_tabs = line.size() > 1;
    block.push_back(std::move(line));
    if (last) {
      out += Formatter(std::move(block)).Run();
      break;
    }
    if (!has_tabs) {
      // Terminate the block with this line; the trailing newline belongs to it.
      block.push_back(Line{Cell{}});
      std::string formatted = Formatter(std::move(block)).Run();
      out += formatted;
      block.clear();
    }
    start = end + 1;
  }
  return out;
}

}  // namespace etcpp::ctl
