#include "collector/ctl/artifact_commands.h"
#include "collector/ctl/command.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "collector/ctl/admin_client.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "collector/ctl/table.h"
#include "common/crypto.h"
#include "common/duration.h"
#include "common/exec/tool_runner.h"
#include "common/file_util.h"
#include "common/grpc/status_convert.h"
#include "common/json_writer.h"
#include "common/signing/artifact_signature.h"
#include "common/signing/ed25519.h"
#include "common/status_macros.h"

namespace steward::ctl {
namespace {

constexpr size_t kChunk = 256 << 10;

std::string HumanSize(uint64_t bytes) {
  char buf[32];
  if (bytes < 1024) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  } else if (bytes < (uint64_t{1} << 20)) {
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(bytes) / 1024);
  } else if (bytes < (uint64_t{1} << 30)) {
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  } else {
    std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(bytes) / (1 << 30));
  }
  return buf;
}

// One line redrawn in place on a terminal: "pushing NAME  42%  1.2/2.9 MiB".
class ProgressBar {
 public:
  ProgressBar(std::ostream* out, std::string label, uint64_t total)
      : out_(out), label_(std::move(label)), total_(total) {}
  void Update(uint64_t done) {
    if (out_ == nullptr) return;
    const absl::Time now = absl::Now();
    if (done < total_ && now - last_ < absl::Milliseconds(100)) return;
    last_ = now;
    const int pct = total_ == 0 ? 100 : static_cast<int>(done * 100 / total_);
    const int filled = pct * 30 / 100;
    *out_ << "\r" << label_ << " [" << std::string(filled, '#') << std::string(30 - filled, ' ') << "] " << pct
          << "%  " << HumanSize(done) << " / " << HumanSize(total_) << std::flush;
  }
  void Done() {
    if (out_ != nullptr) *out_ << "\n" << std::flush;
  }

 private:
  std::ostream* out_;
  std::string label_;
  uint64_t total_;
  absl::Time last_ = absl::InfinitePast();
};

// Package and Version of a .deb, read by dpkg-deb.
absl::Status DebFields(const std::string& file, std::string* name, std::string* version) {
  std::string dpkg_deb = FindTool("dpkg-deb");
  if (dpkg_deb.empty()) {
    return absl::FailedPreconditionError("dpkg-deb is not installed; pass --name and --version");
  }
  auto out = RunTool({dpkg_deb, "--field", file, "Package", "Version"}, absl::Seconds(30));
  if (!out.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(file, " looks like a .deb but dpkg-deb cannot read it (",
                                                   out.status().message(), "); pass --name and --version"));
  }
  for (absl::string_view line : absl::StrSplit(*out, '\n')) {
    if (absl::ConsumePrefix(&line, "Package: ") && name->empty()) *name = std::string(absl::StripAsciiWhitespace(line));
    if (absl::ConsumePrefix(&line, "Version: ") && version->empty()) {
      *version = std::string(absl::StripAsciiWhitespace(line));
    }
  }
  return absl::OkStatus();
}

// NAME and [EPOCH:]VERSION-RELEASE of an .rpm, read by rpm -qp.
absl::Status RpmFields(const std::string& file, std::string* name, std::string* version) {
  std::string rpm = FindTool("rpm");
  if (rpm.empty()) return absl::FailedPreconditionError("rpm is not installed; pass --name and --version");
  auto out = RunTool({rpm, "-qp", "--nosignature", "--nodigest", "--queryformat",
                      "%{NAME}\\t%{EPOCHNUM}\\t%{VERSION}\\t%{RELEASE}\\n", "--", file},
                     absl::Seconds(30));
  std::vector<std::string> f;
  if (out.ok()) f = absl::StrSplit(absl::StripAsciiWhitespace(*out), '\t');
  if (!out.ok() || f.size() != 4) {
    return absl::InvalidArgumentError(absl::StrCat(file, " looks like an .rpm but rpm cannot read it; pass --name and --version"));
  }
  if (name->empty()) *name = f[0];
  if (version->empty()) *version = absl::StrCat(f[1] == "0" ? "" : f[1] + ":", f[2], "-", f[3]);
  return absl::OkStatus();
}

void ArtifactJson(JsonWriter& w, const v1::Artifact& a) {
  w.BeginObject()
      .Key("sha256").String(a.sha256())
      .Key("name").String(a.name())
      .Key("version").String(a.version())
      .Key("size").Uint(a.size())
      .Key("kind").String(a.kind())
      .Key("pushed").String(a.pushed_ms() > 0 ? FormatRfc3339(absl::FromUnixMillis(a.pushed_ms())) : "")
      .Key("pushed_by").String(a.pushed_by())
      .Key("signed_by").BeginArray(true);
  for (const v1::ArtifactSignature& s : a.signatures()) w.String(s.key_id());
  w.EndArray();
}

std::string SignedBy(const v1::Artifact& a) {
  std::vector<std::string> ids;
  for (const v1::ArtifactSignature& s : a.signatures()) ids.push_back(s.key_id());
  return ids.empty() ? "(unsigned)" : absl::StrJoin(ids, ",");
}

}  // namespace

absl::Status KeysGenerate(const std::string& prefix, bool force, bool json, std::ostream& out) {
  if (prefix.empty()) return absl::InvalidArgumentError("keys generate needs --out PREFIX (writes PREFIX.key and PREFIX.pub)");
  ASSIGN_OR_RETURN(Ed25519PublicKey pub, GenerateKeyFiles(prefix, force));
  if (json) {
    JsonWriter w;
    w.BeginObject()
        .Key("key_id").String(pub.key_id())
        .Key("private_key").String(prefix + ".key")
        .Key("public_key").String(prefix + ".pub")
        .EndObject();
    out << w.str() << "\n";
  } else {
    out << "key " << pub.key_id() << ": private " << prefix << ".key (mode 0600; keep it off the collector), public "
        << prefix << ".pub (give it to agents with --trusted-key)\n";
  }
  return absl::OkStatus();
}

absl::Status ArtifactPush(v1::AdminService::Stub& stub, const PushOptions& opts, std::ostream& out) {
  if (opts.file.empty()) return absl::InvalidArgumentError("artifact push needs a FILE");
  struct stat st;
  if (stat(opts.file.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat("cannot read ", opts.file, ": ", std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) return absl::InvalidArgumentError(absl::StrCat(opts.file, " is not a regular file"));
  const uint64_t size = static_cast<uint64_t>(st.st_size);

  // The key first: a wrong key file fails before the file is read.
  std::optional<Ed25519PrivateKey> key;
  if (!opts.sign_key.empty()) {
    ASSIGN_OR_RETURN(key, ReadPrivateKeyFile(opts.sign_key));
  }
  std::string name = opts.name;
  std::string version = opts.version;
  int fd = open(opts.file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(absl::StrCat("cannot open ", opts.file, ": ", std::strerror(errno)));
  std::unique_ptr<int, void (*)(int*)> closer(&fd, [](int* f) { close(*f); });
  char magic[21] = {};
  const bool is_deb = pread(fd, magic, sizeof magic, 0) == static_cast<ssize_t>(sizeof magic) &&
                      absl::string_view(magic, sizeof magic) == absl::string_view("!<arch>\ndebian-binary", 21);
  const bool is_rpm = absl::string_view(magic, 4) == absl::string_view("\xed\xab\xee\xdb", 4);
  if (is_deb && (name.empty() || version.empty())) RETURN_IF_ERROR(DebFields(opts.file, &name, &version));
  if (is_rpm && (name.empty() || version.empty())) RETURN_IF_ERROR(RpmFields(opts.file, &name, &version));
  if (name.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(opts.file, " is not a .deb or .rpm: pass --name (and --version)"));
  }

  // SHA-256 in one pass over the file.
  Sha256Stream sha;
  std::vector<char> buf(kChunk);
  {
    ProgressBar hashing(size > (64u << 20) ? opts.progress : nullptr, "hashing  " + name, size);
    uint64_t done = 0;
    for (;;) {
      ssize_t n = pread(fd, buf.data(), buf.size(), static_cast<off_t>(done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return absl::InternalError(absl::StrCat("cannot read ", opts.file, ": ", std::strerror(errno)));
      if (n == 0) break;
      sha.Update(absl::string_view(buf.data(), static_cast<size_t>(n)));
      done += static_cast<uint64_t>(n);
      hashing.Update(done);
    }
    if (done != size) return absl::AbortedError(absl::StrCat(opts.file, " changed size while it was read; try again"));
    if (size > (64u << 20)) hashing.Done();
  }
  v1::PushArtifactHeader header;
  header.set_name(name);
  header.set_version(version);
  header.set_size(size);
  header.set_sha256(sha.HexDigest());
  if (key.has_value()) {
    header.mutable_signature()->set_public_key(key->public_key().raw());
    header.mutable_signature()->set_signature(key->Sign(ArtifactStatement(header.sha256(), name, version)));
  }

  // Content already there: the header alone records the push (and adds a
  // new signature).
  bool send_content = true;
  {
    grpc::ClientContext ctx;
    v1::GetArtifactRequest req;
    req.set_sha256(header.sha256());
    v1::GetArtifactResponse resp;
    grpc::Status got = stub.GetArtifact(WithDeadline(&ctx, opts.timeout), req, &resp);
    if (got.ok()) {
      send_content = false;
    } else if (got.error_code() != grpc::StatusCode::NOT_FOUND) {
      return FromGrpcStatus(got);
    }
  }
  grpc::ClientContext ctx;
  WithDeadline(&ctx, opts.timeout + absl::Seconds(static_cast<int64_t>(size >> 20)));
  v1::PushArtifactResponse resp;
  std::unique_ptr<grpc::ClientWriter<v1::PushArtifactRequest>> writer(stub.PushArtifact(&ctx, &resp));
  v1::PushArtifactRequest msg;
  *msg.mutable_header() = header;
  bool open = writer->Write(msg);
  if (send_content && open) {
    ProgressBar bar(opts.progress, "pushing  " + name + " " + version, size);
    uint64_t done = 0;
    while (open && done < size) {
      ssize_t n = pread(fd, buf.data(), buf.size(), static_cast<off_t>(done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // the server reports the short upload
      msg.set_chunk(buf.data(), static_cast<size_t>(n));
      open = writer->Write(msg);
      done += static_cast<uint64_t>(n);
      bar.Update(done);
    }
    bar.Done();
  }
  writer->WritesDone();
  RETURN_IF_ERROR(FromGrpcStatus(writer->Finish()));
  const v1::Artifact& a = resp.artifact();
  if (opts.json) {
    JsonWriter w;
    ArtifactJson(w, a);
    w.Key("already_stored").Bool(resp.already_stored()).EndObject();
    out << w.str() << "\n";
  } else {
    out << (resp.already_stored() ? "already stored: " : "stored: ") << a.name() << " " << a.version() << " ("
        << a.kind() << ", " << HumanSize(a.size()) << ") sha256 " << a.sha256() << ", signed by " << SignedBy(a)
        << "\n";
  }
  return absl::OkStatus();
}

absl::Status ArtifactList(v1::AdminService::Stub& stub, absl::Duration timeout, bool json, std::ostream& out) {
  grpc::ClientContext ctx;
  v1::ListArtifactsResponse resp;
  RETURN_IF_ERROR(FromGrpcStatus(stub.ListArtifacts(WithDeadline(&ctx, timeout), v1::ListArtifactsRequest(), &resp)));
  if (json) {
    JsonWriter w;
    w.BeginArray();
    for (const v1::Artifact& a : resp.artifacts()) {
      ArtifactJson(w, a);
      w.EndObject();
    }
    w.EndArray();
    out << w.str() << "\n";
    return absl::OkStatus();
  }
  Table t({"SHA256", "NAME", "VERSION", "KIND", "SIZE", "SIGNED BY", "PUSHED"});
  for (const v1::Artifact& a : resp.artifacts()) {
    t.AddRow({a.sha256().substr(0, 12), a.name(), a.version(), a.kind(), HumanSize(a.size()), SignedBy(a),
              FormatRfc3339(absl::FromUnixMillis(a.pushed_ms()))});
  }
  out << t.Render();
  if (t.size() == 0) out << "(no artifacts yet: push one with 'stewardctl artifact push FILE --sign-key KEY')\n";
  return absl::OkStatus();
}

absl::StatusOr<std::string> ResolveArtifact(v1::AdminService::Stub& stub, const std::string& sha,
                                            const std::string& flag, absl::Duration timeout) {
  if (sha.size() >= 64) return sha;
  // A prefix as `artifact list` shows it: must name exactly one.
  if (sha.size() < 6) {
    return absl::InvalidArgumentError(absl::StrCat(flag.empty() ? "" : flag + " ", "'", sha,
                                                   "' is too short: give the SHA-256 or at least 6 of its first digits"));
  }
  grpc::ClientContext ctx;
  v1::ListArtifactsResponse all;
  RETURN_IF_ERROR(FromGrpcStatus(stub.ListArtifacts(WithDeadline(&ctx, timeout), v1::ListArtifactsRequest(), &all)));
  std::vector<std::string> hits;
  for (const v1::Artifact& a : all.artifacts()) {
    if (absl::StartsWith(a.sha256(), sha)) hits.push_back(a.sha256());
  }
  if (hits.empty()) {
    return absl::NotFoundError(
        absl::StrCat("no artifact's SHA-256 starts with ", sha, "; 'stewardctl artifact list' shows them"));
  }
  if (hits.size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat(sha, " names ", hits.size(), " artifacts; give more digits"));
  }
  return hits[0];
}

absl::Status ArtifactRm(v1::AdminService::Stub& stub, const std::string& sha256, absl::Duration timeout, bool json,
                        std::ostream& out) {
  ASSIGN_OR_RETURN(std::string full, ResolveArtifact(stub, sha256, "", timeout));
  grpc::ClientContext ctx;
  v1::DeleteArtifactRequest req;
  req.set_sha256(full);
  v1::DeleteArtifactResponse resp;
  RETURN_IF_ERROR(FromGrpcStatus(stub.DeleteArtifact(WithDeadline(&ctx, timeout), req, &resp)));
  if (json) {
    out << "{}\n";
  } else {
    out << "artifact " << full << " removed\n";
  }
  return absl::OkStatus();
}

CommandNoun ArtifactNoun() {
  return {"artifact", "packages stored on the collector for jobs and rollouts",
          {
              {.path = "artifact push",
               .args_usage = "FILE",
               .min_args = 1,
               .max_args = 1,
               .summary = "upload a package (a .deb or .rpm names itself), signed",
               .details = "Agents install only artifacts signed by a publisher key they trust (--trusted-key).",
               .flags = {TextFlag("sign-key", "PREFIX.key", "publisher key that signs it (stewardctl keys generate)"),
                         TextFlag("name", "NAME", "package name (default: from the .deb/.rpm)"),
                         TextFlag("version", "VERSION", "package version (default: from the .deb/.rpm)")},
               .examples = {"artifact push nginx_1.24.0-1_amd64.deb --sign-key ops.key"},
               .json_keys = {"sha256", "name", "version"},
               .run =
                   [](CommandContext& c) {
                     PushOptions o;
                     o.file = c.args()[0];
                     o.name = c.Get("name");
                     o.version = c.Get("version");
                     o.sign_key = c.Get("sign-key");
                     o.json = c.json();
                     o.timeout = c.timeout();
                     o.progress = c.json() ? nullptr : c.progress();
                     return ArtifactPush(c.stub(), o, c.out());
                   }},
              {.path = "artifact list",
               .summary = "stored artifacts with their signers",
               .examples = {"artifact list --json"},
               .json_keys = {"sha256", "name", "version"},
               .run = [](CommandContext& c) { return ArtifactList(c.stub(), c.timeout(), c.json(), c.out()); }},
              {.path = "artifact rm",
               .args_usage = "SHA256",
               .min_args = 1,
               .max_args = 1,
               .summary = "remove one (or a unique prefix of 6+ digits); refused while a job or rollout uses it",
               .examples = {"artifact rm 3f2a9c"},
               .run = [](CommandContext& c) {
                 return ArtifactRm(c.stub(), c.args()[0], c.timeout(), c.json(), c.out());
               }},
          }};
}

}  // namespace steward::ctl
