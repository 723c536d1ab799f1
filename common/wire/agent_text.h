#pragma once
// The rules for text an agent sends (host facts, inventory, units, checks,
// job results): every string field has a byte limit and must be printable
// UTF-8 (no C0 or C1 control characters, no DEL; job output and messages
// may hold newlines and tabs), and every repeated field has a bound on its
// entries. One table, read by both sides: the agent sanitizes what it
// sends with it (so text from the host, such as a Latin-1 pip `Author:` or
// a terminal escape in a unit description, never makes a message
// unparseable or refused), and the collector refuses what breaks it before
// anything is stored or printed.
//
// The rules are keyed by the fields' full protobuf names
// ("steward.v1.HostFacts.hostname"); a string field without an entry gets
// kDefaultTextBytes, a repeated field without one kDefaultRepeated.

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace google::protobuf {
class Message;
class FieldDescriptor;
}  // namespace google::protobuf

namespace steward {

inline constexpr size_t kDefaultTextBytes = 256;
inline constexpr int kDefaultRepeated = 1024;

struct TextRule {
  size_t max_bytes = kDefaultTextBytes;
  // Newlines, carriage returns and tabs allowed.
  bool multiline = false;
};

TextRule TextRuleFor(const google::protobuf::FieldDescriptor& field);
// Most entries of a repeated field.
int RepeatedLimitFor(const google::protobuf::FieldDescriptor& field);

// INVALID_ARGUMENT naming the field's path ("facts.hostname",
// "items[12].vendor") and the rule it breaks. Bytes fields are not text and
// are only bounded in number, not checked.
absl::Status CheckAgentText(const google::protobuf::Message& msg);

// Makes `msg` pass CheckAgentText where it can: invalid UTF-8 and control
// characters become U+FFFD, over-long text is cut at a character boundary,
// repeated fields over their bound lose their last entries. Returns the
// number of fields changed.
size_t SanitizeAgentText(google::protobuf::Message* msg);

// One string made printable: invalid bytes and control characters become
// \xNN (C1 characters \u00NN), a backslash stays a backslash. For tables
// and log lines that show text from agents. With `multiline`, newlines and
// tabs are kept (messages of several lines).
std::string EscapeForDisplay(absl::string_view text, bool multiline = false);
// True when EscapeForDisplay would change nothing.
bool IsDisplaySafe(absl::string_view text, bool multiline = false);

}  // namespace steward
