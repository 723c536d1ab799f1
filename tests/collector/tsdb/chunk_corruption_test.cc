// Broken input: truncations, flipped bytes and garbage must yield an error
// or a valid decode, never a crash, and errors must say what is wrong.

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "collector/tsdb/chunk_encoder.h"
#include "collector/tsdb/chunk_iterator.h"
#include "gtest/gtest.h"
#include "tests/collector/tsdb/chunk_test_util.h"

namespace steward::collector::tsdb {
namespace {

using chunk_test::Encode;
using chunk_test::MakeTimes;
using chunk_test::MakeValues;
using chunk_test::TimeKind;
using chunk_test::ValueKind;
using chunk_test::Zip;

// One valid chunk of each value encoding, and a few odd ones.
std::vector<std::string> ValidChunks() {
  std::mt19937_64 rng(11);
  std::vector<std::string> chunks;
  for (int kind = 0; kind < chunk_test::kValueKinds; ++kind) {
    chunks.push_back(Encode(Zip(MakeTimes(rng, TimeKind::kRegularWithJitter, 120),
                                MakeValues(rng, static_cast<ValueKind>(kind), 120))));
  }
  std::vector<Sample> counter, walk;
  for (int i = 0; i < 50; ++i) counter.push_back({i * 1000LL, 7.0 * i * i});
  for (int i = 0; i < 50; ++i) walk.push_back({i * 1000LL, (i % 7) * 100.0 + (i % 3)});
  chunks.push_back(Encode(counter));
  chunks.push_back(Encode(walk));
  chunks.push_back(Encode({{-5, 1.0}}));
  chunks.push_back(Encode(
      Zip(MakeTimes(rng, TimeKind::kExtremes, 20), MakeValues(rng, ValueKind::kAdversarial, 20))));
  return chunks;
}

// Decodes `bytes`; if that succeeds, the result must be a valid series that
// survives its own round trip. Returns whether decoding succeeded.
bool DecodeIsErrorOrValid(const std::string& bytes) {
  absl::StatusOr<std::vector<Sample>> decoded = DecodeChunk(bytes);
  if (!decoded.ok()) {
    EXPECT_TRUE(absl::StartsWith(decoded.status().message(), "chunk: ")) << decoded.status();
    return false;
  }
  for (size_t i = 1; i < decoded->size(); ++i) {
    EXPECT_LT((*decoded)[i - 1].time_ms, (*decoded)[i].time_ms);
  }
  absl::StatusOr<std::vector<Sample>> again = DecodeChunk(Encode(*decoded));
  EXPECT_TRUE(again.ok()) << again.status();
  if (again.ok()) {
    EXPECT_TRUE(chunk_test::SameSamples(*decoded, *again));
  }
  return true;
}

TEST(ChunkCorruption, EveryTruncationOfAValidChunkIsAnError) {
  std::vector<std::string> chunks = ValidChunks();
  for (size_t c = 0; c < chunks.size(); ++c) {
    const std::string& chunk = chunks[c];
    ASSERT_TRUE(DecodeChunk(chunk).ok()) << "chunk " << c;
    for (size_t len = 0; len < chunk.size(); ++len) {
      absl::StatusOr<std::vector<Sample>> decoded = DecodeChunk(chunk.substr(0, len));
      ASSERT_FALSE(decoded.ok()) << "chunk " << c << " cut to " << len << " of " << chunk.size();
      EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss);
    }
  }
}

TEST(ChunkCorruption, TruncationNamesTheSample) {
  std::vector<Sample> samples;
  for (int i = 0; i < 120; ++i) samples.push_back({i * 10'000LL, i * 1.25});
  std::string chunk = Encode(samples, ValuePolicy::kGorillaOnly);
  const std::string half = chunk.substr(0, chunk.size() / 2);
  absl::StatusOr<std::vector<Sample>> decoded = DecodeChunk(half);
  ASSERT_FALSE(decoded.ok());
  EXPECT_TRUE(absl::StrContains(decoded.status().message(), "chunk: truncated in sample "))
      << decoded.status();
  EXPECT_TRUE(absl::StrContains(decoded.status().message(), " of 120")) << decoded.status();

  // The iterator hands out the samples before the damage, then stops.
  absl::StatusOr<ChunkIterator> it = ChunkIterator::Open(half);
  ASSERT_TRUE(it.ok());
  int read = 0;
  while (it->Next()) {
    EXPECT_EQ(it->sample().time_ms, samples[static_cast<size_t>(read)].time_ms);
    ++read;
  }
  EXPECT_GT(read, 10);
  EXPECT_LT(read, 120);
  EXPECT_FALSE(it->status().ok());
  EXPECT_FALSE(it->Next());
}

TEST(ChunkCorruption, HeaderErrorsSayWhatIsWrong) {
  auto message = [](const std::string& bytes) {
    return std::string(DecodeChunk(bytes).status().message());
  };
  EXPECT_EQ(message(""), "chunk: header: truncated (0 bytes)");
  EXPECT_EQ(message(std::string("\x07\x00\x01", 3)), "chunk: header: unknown format version 7");
  EXPECT_EQ(message(std::string("\x01\x09\x01", 3)), "chunk: header: unknown value encoding 9");
  // 300 samples claimed, one timestamp byte and nothing else.
  EXPECT_EQ(message(std::string("\x01\x00\xac\x02\x00", 5)),
            "chunk: header: claims 300 samples but only 0 bytes follow");
  EXPECT_EQ(message(std::string("\x01\x00\xff\xff\xff\x7f", 6)),
            "chunk: header: claims 268435455 samples, more than the limit of 65536");
  EXPECT_EQ(message(std::string("\x01\x01\x01\x00\x0a", 5)), "chunk: header: decimals 10 > 9");

  std::string chunk = Encode({{1, 1.0}, {2, 2.0}});
  EXPECT_EQ(message(chunk + std::string(3, '\0')), "chunk: 3 bytes after the last of 2 samples");
}

TEST(ChunkCorruption, RandomByteFlipsNeverCrash) {
  std::mt19937_64 rng(5);
  int errors = 0, decodes = 0;
  for (const std::string& chunk : ValidChunks()) {
    for (int round = 0; round < 400; ++round) {
      std::string bad = chunk;
      int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) {
        bad[rng() % bad.size()] ^= static_cast<char>(1 + rng() % 255);
      }
      (DecodeIsErrorOrValid(bad) ? decodes : errors)++;
      if (HasFailure()) return;
    }
  }
  EXPECT_GT(errors, 0);
  EXPECT_GT(decodes, 0);  // flips in value bits decode to other values
}

TEST(ChunkCorruption, RandomGarbageNeverCrashes) {
  std::mt19937_64 rng(6);
  for (int round = 0; round < 20000; ++round) {
    std::string bytes(rng() % 64, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    // A plausible header half of the time, so the sample decoders get run.
    if (bytes.size() >= 3 && round % 2 == 0) {
      bytes[0] = kChunkFormatVersion;
      bytes[1] = static_cast<char>(rng() % (kMaxValueEncoding + 1));
      bytes[2] = static_cast<char>(rng() % 100);
    }
    DecodeIsErrorOrValid(bytes);
    if (HasFailure()) return;
  }
}

}  // namespace
}  // namespace steward::collector::tsdb
