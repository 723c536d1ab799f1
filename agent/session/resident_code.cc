#include "agent/session/resident_code.h"

#include <elf.h>
#include <link.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "spdlog/spdlog.h"

namespace steward::agent {
namespace {

struct Walk {
  std::uintptr_t page = 4096;
  std::uintptr_t vdso = 0;
  ReleasedCode result;
};

bool HasTextRelocations(const dl_phdr_info* info) {
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_DYNAMIC) continue;
    const auto* dyn = reinterpret_cast<const ElfW(Dyn)*>(info->dlpi_addr + ph.p_vaddr);
    for (; dyn->d_tag != DT_NULL; ++dyn) {
      if (dyn->d_tag == DT_TEXTREL) return true;
      if (dyn->d_tag == DT_FLAGS && (dyn->d_un.d_val & DF_TEXTREL) != 0) return true;
    }
  }
  return false;
}

int ReleaseObject(dl_phdr_info* info, std::size_t, void* data) {
  auto& walk = *static_cast<Walk*>(data);
  // The vDSO is the kernel's special mapping, not a file.
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    std::uintptr_t start = info->dlpi_addr + ph.p_vaddr;
    if (ph.p_type == PT_LOAD && walk.vdso >= start && walk.vdso < start + ph.p_memsz) return 0;
  }
  if (HasTextRelocations(info)) return 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || (ph.p_flags & PF_W) != 0 || ph.p_memsz == 0) continue;
    // Whole pages inside the segment only: a page shared with a writable
    // neighbour must keep what the loader wrote to it.
    std::uintptr_t start = info->dlpi_addr + ph.p_vaddr;
    std::uintptr_t end = start + ph.p_memsz;
    start = (start + walk.page - 1) & ~(walk.page - 1);
    end &= ~(walk.page - 1);
    if (end <= start) continue;
    ++walk.result.segments;
    walk.result.bytes += end - start;
    if (::madvise(reinterpret_cast<void*>(start), end - start, MADV_DONTNEED) != 0) {
      ++walk.result.failures;
      spdlog::debug("madvise(DONTNEED) of {} [{:#x}, {:#x}) failed: {}", info->dlpi_name, start, end,
                   std::strerror(errno));
    }
  }
  return 0;
}

}  // namespace

ReleasedCode ReleaseResidentCode() {
  Walk walk;
  long page = ::sysconf(_SC_PAGESIZE);
  if (page > 0) walk.page = static_cast<std::uintptr_t>(page);
  walk.vdso = static_cast<std::uintptr_t>(::getauxval(AT_SYSINFO_EHDR));
  ::dl_iterate_phdr(&ReleaseObject, &walk);
  return walk.result;
}

}  // namespace steward::agent
