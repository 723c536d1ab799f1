#pragma once
// RETURN_IF_ERROR / ASSIGN_OR_RETURN for absl::Status and absl::StatusOr.
// Debian's Abseil 20220623 ships neither, so they are defined here, once.

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define STEWARD_CONCAT_INNER_(a, b) a##b
#define STEWARD_CONCAT_(a, b) STEWARD_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status); returns it from the caller when not OK.
#define RETURN_IF_ERROR(expr)                          \
  do {                                                 \
    ::absl::Status steward_status_ = (expr);           \
    if (!steward_status_.ok()) return steward_status_; \
  } while (false)

// `ASSIGN_OR_RETURN(auto x, MakeX());` — declares/assigns on success, returns
// the error status from the caller otherwise.
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  STEWARD_ASSIGN_OR_RETURN_IMPL_(STEWARD_CONCAT_(steward_statusor_, __LINE__), lhs, rexpr)

#define STEWARD_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                   \
  if (!statusor.ok()) return std::move(statusor).status();   \
  lhs = std::move(statusor).value()
