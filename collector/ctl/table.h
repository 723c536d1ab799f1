#pragma once
// Plain-text tables for people: a header row, left-aligned columns sized to
// their widest cell, two spaces between columns. Cells are made printable
// (EscapeForDisplay): text from agents cannot draw fake rows or move the
// cursor. Not thread-safe.

#include <string>
#include <vector>

namespace steward::ctl {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void AddRow(std::vector<std::string> row);
  size_t size() const { return rows_.size(); }
  std::string Render() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace steward::ctl
