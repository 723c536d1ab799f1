#include "common/wire/agent_text.h"

#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/utf8.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/reflection.h"

namespace steward {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

const absl::flat_hash_map<std::string_view, TextRule>& TextRules() {
  static const auto* rules = new absl::flat_hash_map<std::string_view, TextRule>{
      {"steward.v1.HostFacts.hostname", {255, false}},
      {"steward.v1.SoftwareItem.version", {4096, false}},
      {"steward.v1.SoftwareItem.location", {4096, false}},
      {"steward.v1.SoftwareItem.vendor", {1024, false}},
      {"steward.v1.Label.value", {4096, false}},
      {"steward.v1.CheckState.reason", {4096, false}},
      {"steward.v1.ServiceUnit.description", {4096, false}},
      {"steward.v1.ServiceUnit.load_state", {64, false}},
      {"steward.v1.ServiceUnit.active_state", {64, false}},
      {"steward.v1.ServiceUnit.sub_state", {64, false}},
      {"steward.v1.ServiceUnit.unit_file_state", {64, false}},
      {"steward.v1.JobResult.output", {(64 << 10) + 1024, true}},
      {"steward.v1.JobResult.message", {8192, true}},
      {"steward.v1.SeriesColumns.symbols", {4096, false}},
      {"steward.v1.EnrollRequest.csr_pem", {8192, true}},
  };
  return *rules;
}

const absl::flat_hash_map<std::string_view, int>& RepeatedLimits() {
  static const auto* limits = new absl::flat_hash_map<std::string_view, int>{
      {"steward.v1.InventorySnapshot.items", 200000},
      {"steward.v1.InventoryDelta.added", 200000},
      {"steward.v1.InventoryDelta.removed", 200000},
      {"steward.v1.InventoryDelta.changed", 200000},
      {"steward.v1.MetricBatch.series", 20000},
      {"steward.v1.Series.labels", 32},
      {"steward.v1.Series.points", 200000},
      {"steward.v1.SeriesColumns.symbols", 1 << 21},
      {"steward.v1.SeriesColumns.series", 1 << 21},
      {"steward.v1.SeriesColumns.time_deltas", 1 << 18},
      {"steward.v1.SeriesColumns.values", 1 << 18},
      {"steward.v1.HealthReport.checks", 1000},
      {"steward.v1.ServiceReport.units", 20000},
      {"steward.v1.HostFacts.interfaces", 4096},
      {"steward.v1.NetworkInterface.addresses", 256},
      {"steward.v1.Hello.capabilities", 256},
  };
  return *limits;
}

// What is wrong at s[i] (a sequence of `len` bytes, 0 when invalid), or
// nullptr when it is fine.
const char* Problem(absl::string_view s, size_t i, size_t len, bool multiline) {
  if (len == 0) return "a byte that is not UTF-8";
  auto c = static_cast<unsigned char>(s[i]);
  if (len == 1) {
    if (c == 0x7f) return "a control character";
    if (c < 0x20 && !(multiline && (c == '\n' || c == '\t' || c == '\r'))) return "a control character";
    return nullptr;
  }
  auto c1 = static_cast<unsigned char>(s[i + 1]);
  if (len == 2 && c == 0xC2 && c1 < 0xA0) return "a control character";  // C1: U+0080..U+009F
  if (len == 3 && c == 0xE2) {
    auto c2 = static_cast<unsigned char>(s[i + 2]);
    // Bidi embeddings/overrides U+202A..U+202E and isolates U+2066..U+2069:
    // they reorder what a terminal shows after them.
    if ((c1 == 0x80 && c2 >= 0xAA && c2 <= 0xAE) || (c1 == 0x81 && c2 >= 0xA6 && c2 <= 0xA9)) {
      return "a bidirectional formatting character";
    }
  }
  return nullptr;
}

struct TextIssue {
  const char* what = nullptr;
  size_t at = 0;
};

TextIssue FindIssue(absl::string_view s, bool multiline) {
  for (size_t i = 0; i < s.size();) {
    size_t len = Utf8SequenceLength(s, i);
    if (const char* what = Problem(s, i, len, multiline)) return {what, i};
    i += len;
  }
  return {};
}

std::string SanitizedText(absl::string_view s, const TextRule& rule) {
  std::string out;
  out.reserve(std::min(s.size(), rule.max_bytes));
  for (size_t i = 0; i < s.size();) {
    size_t len = Utf8SequenceLength(s, i);
    absl::string_view piece = Problem(s, i, len, rule.multiline) ? "\xEF\xBF\xBD" : s.substr(i, len);
    if (out.size() + piece.size() > rule.max_bytes) break;  // cut at a character boundary
    out.append(piece.data(), piece.size());
    i += len == 0 ? 1 : len;
  }
  return out;
}

std::string Describe(absl::string_view s, const TextIssue& issue) {
  return absl::StrCat("has ", issue.what, " at byte ", issue.at, " (0x",
                      absl::Hex(static_cast<unsigned char>(s[issue.at]), absl::kZeroPad2),
                      "); text from agents must be printable UTF-8");
}

absl::Status Prefixed(const absl::Status& s, absl::string_view prefix) {
  return absl::InvalidArgumentError(absl::StrCat(prefix, s.message()));
}

absl::Status CheckMessage(const Message& msg) {
  const Reflection* r = msg.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(msg, &fields);
  std::string scratch;
  for (const FieldDescriptor* f : fields) {
    if (f->is_repeated()) {
      int n = r->FieldSize(msg, f);
      int limit = RepeatedLimitFor(*f);
      if (n > limit) {
        return absl::InvalidArgumentError(
            absl::StrCat(f->name(), ": ", n, " entries; the limit is ", limit));
      }
      if (f->type() == FieldDescriptor::TYPE_STRING) {
        TextRule rule = TextRuleFor(*f);
        for (int i = 0; i < n; ++i) {
          const std::string& s = r->GetRepeatedStringReference(msg, f, i, &scratch);
          if (s.size() > rule.max_bytes) {
            return absl::InvalidArgumentError(absl::StrCat(f->name(), "[", i, "]: ", s.size(),
                                                           " bytes; the limit is ", rule.max_bytes));
          }
          if (TextIssue issue = FindIssue(s, rule.multiline); issue.what != nullptr) {
            return absl::InvalidArgumentError(absl::StrCat(f->name(), "[", i, "] ", Describe(s, issue)));
          }
        }
      } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        for (int i = 0; i < n; ++i) {
          if (auto s = CheckMessage(r->GetRepeatedMessage(msg, f, i)); !s.ok()) {
            return Prefixed(s, absl::StrCat(f->name(), "[", i, "]."));
          }
        }
      }
      continue;
    }
    if (f->type() == FieldDescriptor::TYPE_STRING) {
      TextRule rule = TextRuleFor(*f);
      const std::string& s = r->GetStringReference(msg, f, &scratch);
      if (s.size() > rule.max_bytes) {
        return absl::InvalidArgumentError(
            absl::StrCat(f->name(), ": ", s.size(), " bytes; the limit is ", rule.max_bytes));
      }
      if (TextIssue issue = FindIssue(s, rule.multiline); issue.what != nullptr) {
        return absl::InvalidArgumentError(absl::StrCat(f->name(), " ", Describe(s, issue)));
      }
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (auto s = CheckMessage(r->GetMessage(msg, f)); !s.ok()) return Prefixed(s, absl::StrCat(f->name(), "."));
    }
  }
  return absl::OkStatus();
}

size_t SanitizeMessage(Message* msg) {
  const Reflection* r = msg->GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(*msg, &fields);
  size_t changed = 0;
  std::string scratch;
  auto fix = [&](const std::string& s, const TextRule& rule, std::string* out) {
    if (s.size() <= rule.max_bytes && FindIssue(s, rule.multiline).what == nullptr) return false;
    *out = SanitizedText(s, rule);
    return true;
  };
  for (const FieldDescriptor* f : fields) {
    if (f->is_repeated()) {
      int limit = RepeatedLimitFor(*f);
      if (r->FieldSize(*msg, f) > limit) {
        while (r->FieldSize(*msg, f) > limit) r->RemoveLast(msg, f);
        ++changed;
      }
      int n = r->FieldSize(*msg, f);
      if (f->type() == FieldDescriptor::TYPE_STRING) {
        TextRule rule = TextRuleFor(*f);
        for (int i = 0; i < n; ++i) {
          std::string fixed;
          if (fix(r->GetRepeatedStringReference(*msg, f, i, &scratch), rule, &fixed)) {
            r->SetRepeatedString(msg, f, i, std::move(fixed));
            ++changed;
          }
        }
      } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        for (int i = 0; i < n; ++i) changed += SanitizeMessage(r->MutableRepeatedMessage(msg, f, i));
      }
      continue;
    }
    if (f->type() == FieldDescriptor::TYPE_STRING) {
      std::string fixed;
      if (fix(r->GetStringReference(*msg, f, &scratch), TextRuleFor(*f), &fixed)) {
        r->SetString(msg, f, std::move(fixed));
        ++changed;
      }
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      changed += SanitizeMessage(r->MutableMessage(msg, f));
    }
  }
  return changed;
}

}  // namespace

TextRule TextRuleFor(const FieldDescriptor& field) {
  auto it = TextRules().find(field.full_name());
  return it == TextRules().end() ? TextRule{} : it->second;
}

int RepeatedLimitFor(const FieldDescriptor& field) {
  auto it = RepeatedLimits().find(field.full_name());
  return it == RepeatedLimits().end() ? kDefaultRepeated : it->second;
}

absl::Status CheckAgentText(const Message& msg) { return CheckMessage(msg); }

size_t SanitizeAgentText(Message* msg) { return SanitizeMessage(msg); }

bool IsDisplaySafe(absl::string_view text, bool multiline) {
  return FindIssue(text, multiline).what == nullptr;
}

std::string EscapeForDisplay(absl::string_view s, bool multiline) {
  if (IsDisplaySafe(s, multiline)) return std::string(s);
  std::string out;
  out.reserve(s.size() + 16);
  for (size_t i = 0; i < s.size();) {
    size_t len = Utf8SequenceLength(s, i);
    if (Problem(s, i, len, multiline) == nullptr) {
      out.append(s.data() + i, len);
      i += len;
    } else if (len == 2) {  // C1 control
      absl::StrAppendFormat(&out, "\\u%04x", ((s[i] & 0x1f) << 6) | (s[i + 1] & 0x3f));
      i += 2;
    } else if (len == 3) {  // bidi formatting
      absl::StrAppendFormat(&out, "\\u%04x", ((s[i] & 0x0f) << 12) | ((s[i + 1] & 0x3f) << 6) | (s[i + 2] & 0x3f));
      i += 3;
    } else {
      absl::StrAppendFormat(&out, "\\x%02x", static_cast<unsigned char>(s[i]));
      ++i;
    }
  }
  return out;
}

}  // namespace steward
