#include "collector/deploy/rollout_plan.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace steward::collector {
namespace {

constexpr size_t kMaxWaves = 20;
constexpr size_t kMaxText = 1024;

absl::Status WaveError(size_t index, absl::string_view item, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("wave ", index + 1, " '", item.substr(0, 40), "': ", why,
                   " (expected sizes like 1,10%,50%,100%: a host count or a percentage, each larger)"));
}

// Percent of the cumulative target as hosts; 0 for a count.
double Cumulative(const WaveSize& w, uint32_t hosts) {
  if (!w.percent_form) return std::min<double>(w.count, hosts);
  return std::min<double>(hosts, std::max(1.0, std::ceil(w.percent * hosts / 100.0 - 1e-9)));
}

}  // namespace

absl::StatusOr<std::vector<WaveSize>> ParseWaves(const std::vector<std::string>& items) {
  std::vector<std::string> parts;
  for (const std::string& item : items) {
    if (item.size() > kMaxText) return absl::InvalidArgumentError("the wave list is too long");
    for (absl::string_view p : absl::StrSplit(item, ',')) parts.emplace_back(absl::StripAsciiWhitespace(p));
  }
  if (parts.empty()) parts = {"100%"};
  if (parts.size() > kMaxWaves) {
    return absl::InvalidArgumentError(absl::StrCat(parts.size(), " waves; at most ", kMaxWaves));
  }
  std::vector<WaveSize> out;
  for (size_t i = 0; i < parts.size(); ++i) {
    absl::string_view p = parts[i];
    WaveSize w;
    if (p.empty()) return WaveError(i, p, "empty");
    if (absl::ConsumeSuffix(&p, "%")) {
      double pct = 0;
      if (p.empty() || !std::all_of(p.begin(), p.end(), [](char c) { return absl::ascii_isdigit(c) || c == '.'; }) ||
          !absl::SimpleAtod(p, &pct) || !(pct > 0) || pct > 100) {
        return WaveError(i, parts[i], "a percentage must be above 0 and at most 100");
      }
      w.percent_form = true;
      w.percent = pct;
    } else {
      if (!std::all_of(p.begin(), p.end(), [](char c) { return absl::ascii_isdigit(c); }) ||
          !absl::SimpleAtoi(p, &w.count) || w.count == 0) {
        return WaveError(i, parts[i], "a host count must be a whole number of at least 1");
      }
    }
    if (!out.empty()) {
      const WaveSize& prev = out.back();
      const bool larger = prev.percent_form == w.percent_form
                              ? (w.percent_form ? w.percent > prev.percent : w.count > prev.count)
                              : true;  // a count and a percentage compare only per target size
      if (!larger) return WaveError(i, parts[i], "each wave must be larger than the one before");
      if (prev.percent_form && prev.percent >= 100) return WaveError(i, parts[i], "comes after 100%");
    }
    out.push_back(w);
  }
  if (!out.back().percent_form || out.back().percent < 100) {
    if (out.size() == kMaxWaves) {
      return absl::InvalidArgumentError(absl::StrCat("the last of ", kMaxWaves, " waves must be 100%"));
    }
    out.push_back(WaveSize{0, 100, true});
  }
  return out;
}

std::vector<uint32_t> PlanWaves(uint32_t hosts, const std::vector<WaveSize>& waves) {
  std::vector<uint32_t> out;
  uint32_t done = 0;
  for (const WaveSize& w : waves) {
    const uint32_t upto = static_cast<uint32_t>(std::max<double>(done, Cumulative(w, hosts)));
    if (upto > done) out.push_back(upto - done);
    done = std::max(done, upto);
  }
  if (done < hosts) out.push_back(hosts - done);
  return out;
}

namespace {

constexpr const char* kDays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

absl::Status WindowError(absl::string_view text, size_t pos, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(
      "window '", text.substr(0, 80), "' at byte ", pos, ": ", why,
      " (expected [DAYS ]HH:MM-HH:MM in UTC, e.g. \"Sat 01:00-05:00\" or \"Mon-Fri 22:00-02:00\"; several "
      "separated by ';')"));
}

int Day(absl::string_view s) {
  const std::string lower = absl::AsciiStrToLower(s);
  for (int d = 0; d < 7; ++d) {
    if (lower == kDays[d]) return d;
  }
  return -1;
}

// "HH:MM" -> minutes; 24:00 allowed as an end.
int Minutes(absl::string_view s, bool end) {
  if (s.size() != 5 || s[2] != ':' || !absl::ascii_isdigit(s[0]) || !absl::ascii_isdigit(s[1]) ||
      !absl::ascii_isdigit(s[3]) || !absl::ascii_isdigit(s[4])) {
    return -1;
  }
  const int h = (s[0] - '0') * 10 + (s[1] - '0');
  const int m = (s[3] - '0') * 10 + (s[4] - '0');
  if (m > 59 || h > 24 || (h == 24 && (m != 0 || !end))) return -1;
  return h * 60 + m;
}

}  // namespace

absl::StatusOr<MaintenanceWindows> MaintenanceWindows::Parse(absl::string_view text) {
  MaintenanceWindows out;
  if (text.size() > kMaxText) return WindowError(text, kMaxText, "too long");
  if (absl::StripAsciiWhitespace(text).empty()) return out;
  size_t offset = 0;
  for (absl::string_view part : absl::StrSplit(text, ';')) {
    const size_t at = offset;
    offset += part.size() + 1;
    absl::string_view p = absl::StripAsciiWhitespace(part);
    const size_t lead = p.empty() ? at : at + static_cast<size_t>(p.data() - part.data());
    if (p.empty()) return WindowError(text, lead, "an empty window");
    Span span;
    absl::string_view times = p;
    if (const size_t sp = p.find(' '); sp != absl::string_view::npos) {
      absl::string_view days = p.substr(0, sp);
      times = absl::StripLeadingAsciiWhitespace(p.substr(sp));
      for (absl::string_view item : absl::StrSplit(days, ',')) {
        const size_t ipos = lead + static_cast<size_t>(item.data() - p.data());
        std::vector<absl::string_view> range = absl::StrSplit(item, '-');
        if (range.size() > 2) return WindowError(text, ipos, "a day range is FROM-TO, e.g. Mon-Fri");
        const int from = Day(range[0]);
        const int to = range.size() == 2 ? Day(range[1]) : from;
        if (from < 0 || to < 0) return WindowError(text, ipos, "days are Mon Tue Wed Thu Fri Sat Sun");
        for (int d = from;; d = (d + 1) % 7) {
          span.days |= static_cast<uint8_t>(1u << d);
          if (d == to) break;
        }
      }
    } else {
      span.days = 0x7f;
    }
    const size_t tpos = lead + static_cast<size_t>(times.data() - p.data());
    std::vector<absl::string_view> hm = absl::StrSplit(times, '-');
    if (hm.size() != 2) return WindowError(text, tpos, "the time range is HH:MM-HH:MM");
    span.start_min = Minutes(hm[0], false);
    span.end_min = Minutes(hm[1], true);
    if (span.start_min < 0) return WindowError(text, tpos, "a start time is HH:MM from 00:00 to 23:59");
    if (span.end_min < 0) {
      return WindowError(text, tpos + hm[0].size() + 1, "an end time is HH:MM from 00:00 to 24:00");
    }
    if (span.start_min == span.end_min) return WindowError(text, tpos, "the window is empty (start = end)");
    out.spans_.push_back(span);
  }
  return out;
}

bool MaintenanceWindows::Contains(absl::Time t) const {
  if (spans_.empty()) return true;
  const absl::CivilMinute m = absl::ToCivilMinute(t, absl::UTCTimeZone());
  const int minute = m.hour() * 60 + m.minute();
  // absl::Weekday: monday = 0.
  const int today = static_cast<int>(absl::GetWeekday(absl::CivilDay(m)));
  const int yesterday = (today + 6) % 7;
  for (const Span& s : spans_) {
    if (s.start_min < s.end_min) {
      if ((s.days >> today & 1) && minute >= s.start_min && minute < s.end_min) return true;
    } else {
      if ((s.days >> today & 1) && minute >= s.start_min) return true;
      if ((s.days >> yesterday & 1) && minute < s.end_min) return true;
    }
  }
  return false;
}

absl::Time MaintenanceWindows::NextOpen(absl::Time t) const {
  // Minute steps over at most a week (10,080 checks, only for messages).
  absl::Time probe = t;
  for (int i = 0; i <= 7 * 24 * 60; ++i) {
    if (Contains(probe)) return probe;
    probe = absl::FromCivil(absl::ToCivilMinute(probe, absl::UTCTimeZone()) + 1, absl::UTCTimeZone());
  }
  return absl::InfiniteFuture();
}

}  // namespace steward::collector
