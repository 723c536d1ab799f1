#pragma once
// Gives back the page-table entries of the agent's clean, read-only code and
// constants (the executable's and every loaded library's read-only PT_LOAD
// segments), so that its resident set is the code it actually runs.
//
// Why: a page of a mapped file counts in VmRSS from the first touch until
// the process unmaps it, and the kernel maps up to 16 neighbouring pages of
// the page cache at every fault ("fault-around"). Start-up, enrollment, the
// first inventory scan and OpenSSL's initialisation touch most of the
// binary and of libcrypto once; without this the agent shows ~17 MB of
// file-backed RSS for code it no longer runs.
//
// How: madvise(MADV_DONTNEED) on each read-only segment. For a private
// mapping of a file that was never written this only drops the mapping: the
// pages stay in the page cache (shared with every other process mapping
// them) and the next instruction that needs one takes a minor fault. Writable
// segments (.data, .bss, and RELRO, which the loader wrote to) are never
// touched, nor is an object with text relocations, nor the vDSO. Segments of
// objects loaded by the dynamic linker stay mapped while the object stays
// loaded, and the agent unloads none, so the ranges cannot be reused by
// another mapping while this runs.
//
// The agent calls it after a collection cycle that scanned (next to
// malloc_trim): the code that only a scan runs is then dropped again.

#include <cstddef>

namespace steward::agent {

struct ReleasedCode {
  int segments = 0;       // read-only segments advised
  std::size_t bytes = 0;  // their size (mapped or not), rounded to pages
  int failures = 0;       // madvise calls that failed (logged at debug)
};

ReleasedCode ReleaseResidentCode();

}  // namespace steward::agent
