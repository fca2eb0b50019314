#pragma once

// The security matrix: every attack of docs/threat-model.md run against
// every delivery mode of attestation. The table is data
// (tests/testlib/attack_matrix.cc); tests/unit/attack_matrix_test.cc runs one
// GoogleTest case per cell and records its outcome, and
// scripts/security_matrix.py turns the run into docs/security-matrix.md
// (`make security-matrix`).

#include <atls/error.h>
#include <atls/result.h>

#include <functional>
#include <string>
#include <vector>

namespace atls::test::matrix {

// Attack is a row: |id| names it in test names (letters and digits only),
// |title| in the matrix.
struct Attack {
  std::string id;
  std::string title;
};

// Mode is a column, one way of carrying attestation in TLS.
struct Mode {
  std::string id;
  std::string title;
};

enum class Outcome {
  Rejected,       // the victim refuses the attack with |code|
  Succeeds,       // the attack works, by design (|note| says why); the test asserts it
  NotApplicable,  // no test: the attack has no meaning in this mode (|note| says why)
};

// Runner runs the attack for real and returns the victim's outcome: the
// error with which it refused, or ok when the attack got through.
using Runner = std::function<Result<void>()>;

// Cell is one attack against one mode.
struct Cell {
  std::string attack;  // Attack::id
  std::string mode;    // Mode::id
  Outcome outcome;
  ErrorCode code = ErrorCode::Ok;  // for Rejected
  std::string note;                // why (Succeeds, NotApplicable), or how (optional)
  Runner run;                      // null for NotApplicable
};

// The rows, the columns and the cells, in the matrix's order.
const std::vector<Attack>& attacks();
const std::vector<Mode>& modes();
const std::vector<Cell>& cells();

// find_cell returns the cell of |attack| × |mode|, or nullptr when the table
// has none (a test failure: every mode needs a row for every attack).
const Cell* find_cell(const std::string& attack, const std::string& mode);

// outcome_name is the word recorded for the generator: "rejected",
// "succeeds" or "n/a".
const char* outcome_name(Outcome o);

}  // namespace atls::test::matrix
