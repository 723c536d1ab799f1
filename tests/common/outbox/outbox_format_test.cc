#include "common/outbox/outbox_format.h"

#include <string>
#include <vector>

#include "common/outbox/crc32c.h"
#include "gtest/gtest.h"

namespace steward::outbox_internal {
namespace {

std::string Record(uint8_t kind, uint64_t id, const std::string& payload) {
  char header[kRecordHeaderBytes];
  EncodeRecordHeader(kind, id, payload, header);
  return std::string(header, sizeof header) + payload;
}

struct Scan {
  std::vector<uint64_t> ids;
  std::vector<BadRegion> bad;
};

Scan ScanAll(const std::string& data, uint64_t min_id = 1, uint64_t limit = kIdLimit) {
  Scan s;
  ScanSegment(
      data, min_id, limit, [&](const ScannedRecord& r) { s.ids.push_back(r.id); }, &s.bad);
  return s;
}

TEST(Crc32c, MatchesTheStandardCheckValue) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c(""), 0u);
  EXPECT_EQ(Crc32cExtend(Crc32c("1234"), "56789"), Crc32c("123456789"));
}

TEST(SegmentFileName, RoundTripsAndRejectsOtherNames) {
  EXPECT_EQ(SegmentFileName(42), "seg-00000000000000000042.log");
  EXPECT_EQ(ParseSegmentFileName(SegmentFileName(42)), 42u);
  EXPECT_EQ(ParseSegmentFileName("seg-42.log"), std::nullopt);
  EXPECT_EQ(ParseSegmentFileName("seg-0000000000000000004x.log"), std::nullopt);
  EXPECT_EQ(ParseSegmentFileName("seg-00000000000000000042.log.tmp"), std::nullopt);
  EXPECT_EQ(ParseSegmentFileName("seg-+0000000000000000042.log"), std::nullopt);
}

TEST(ScanSegment, ReadsBackToBackRecords) {
  std::string data = Record(1, 1, "a") + Record(2, 2, "") + Record(5, 7, std::string(1000, 'x'));
  Scan s = ScanAll(data);
  EXPECT_EQ(s.ids, (std::vector<uint64_t>{1, 2, 7}));
  EXPECT_TRUE(s.bad.empty());
}

TEST(ScanSegment, ReportsATornTailAsReachingTheEnd) {
  std::string data = Record(1, 1, "first") + Record(1, 2, "second");
  data.resize(data.size() - 3);
  Scan s = ScanAll(data);
  EXPECT_EQ(s.ids, (std::vector<uint64_t>{1}));
  ASSERT_EQ(s.bad.size(), 1u);
  EXPECT_TRUE(s.bad[0].reaches_end);
  EXPECT_EQ(s.bad[0].offset, kRecordHeaderBytes + 5);
  EXPECT_NE(s.bad[0].reason.find("runs past the end"), std::string::npos) << s.bad[0].reason;
}

TEST(ScanSegment, ResynchronisesAfterACorruptRecord) {
  std::string a = Record(1, 1, "one"), b = Record(1, 2, "two"), c = Record(1, 3, "three");
  std::string data = a + b + c;
  data[a.size() + kRecordHeaderBytes] ^= 1;  // b's payload
  Scan s = ScanAll(data);
  EXPECT_EQ(s.ids, (std::vector<uint64_t>{1, 3}));
  ASSERT_EQ(s.bad.size(), 1u);
  EXPECT_FALSE(s.bad[0].reaches_end);
  EXPECT_EQ(s.bad[0].offset, a.size());
  EXPECT_EQ(s.bad[0].length, b.size());
  EXPECT_NE(s.bad[0].reason.find("checksum mismatch"), std::string::npos) << s.bad[0].reason;
}

TEST(ScanSegment, RejectsIdsOutOfOrderOrOutsideTheSegment) {
  Scan s = ScanAll(Record(1, 5, "x") + Record(1, 4, "y") + Record(1, 9, "z"), 5, 9);
  EXPECT_EQ(s.ids, (std::vector<uint64_t>{5}));
  ASSERT_EQ(s.bad.size(), 1u);
  EXPECT_TRUE(s.bad[0].reaches_end);
  EXPECT_NE(s.bad[0].reason.find("outside the expected range"), std::string::npos);
}

TEST(ScanSegment, ZerosAreNotRecords) {
  Scan s = ScanAll(std::string(100, '\0'));
  EXPECT_TRUE(s.ids.empty());
  ASSERT_EQ(s.bad.size(), 1u);
  EXPECT_EQ(s.bad[0].length, 100u);
}

TEST(OutboxState, RoundTripsAndNamesTheBadLine) {
  OutboxState st{7, 12, 3};
  absl::StatusOr<OutboxState> back = ParseState(EncodeState(st));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->acked_up_to, 7u);
  EXPECT_EQ(back->next_id, 12u);
  EXPECT_EQ(back->dropped, 3u);

  absl::Status bad = ParseState("steward-outbox-state 1\nacked_up_to x\n").status();
  EXPECT_TRUE(absl::IsInvalidArgument(bad));
  EXPECT_NE(bad.message().find("line 2"), absl::string_view::npos) << bad;
  EXPECT_FALSE(ParseState("").ok());
  EXPECT_FALSE(ParseState("steward-outbox-state 1\nacked_up_to 5\nnext_id 5\ndropped 0\n").ok());
}

}  // namespace
}  // namespace steward::outbox_internal
