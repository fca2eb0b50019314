// The security matrix: one case per attack × mode of the table in
// tests/testlib/attack_matrix.cc (how to add a mode is written there). Each
// case runs the attack for real, asserts the table's outcome and records
// it as test properties; scripts/security_matrix.py reads them from
// --gtest_output=json and writes docs/security-matrix.md.

#include "tests/testlib/attack_matrix.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace atls::test::matrix {
namespace {

// A cell's position: indices into attacks() and modes().
using Position = std::pair<std::size_t, std::size_t>;

std::vector<Position> positions() {
  std::vector<Position> v;
  for (std::size_t a = 0; a < attacks().size(); ++a) {
    for (std::size_t m = 0; m < modes().size(); ++m) {
      v.emplace_back(a, m);
    }
  }
  return v;
}

std::string position_name(const ::testing::TestParamInfo<Position>& info) {
  return attacks()[info.param.first].id + "_" + modes()[info.param.second].id;
}

class AttackMatrix : public ::testing::TestWithParam<Position> {};

TEST_P(AttackMatrix, Cell) {
  const Attack& attack = attacks()[GetParam().first];
  const Mode& mode = modes()[GetParam().second];
  RecordProperty("matrix_attack", attack.id);
  RecordProperty("matrix_attack_title", attack.title);
  RecordProperty("matrix_attack_index", static_cast<int>(GetParam().first));
  RecordProperty("matrix_mode", mode.id);
  RecordProperty("matrix_mode_title", mode.title);
  RecordProperty("matrix_mode_index", static_cast<int>(GetParam().second));
  const Cell* cell = find_cell(attack.id, mode.id);
  if (cell == nullptr) {
    RecordProperty("matrix_expected", "missing");
    FAIL() << "the table has no cell for " << attack.id << " × " << mode.id;
  }
  RecordProperty("matrix_expected", outcome_name(cell->outcome));
  RecordProperty("matrix_note", cell->note);
  switch (cell->outcome) {
    case Outcome::NotApplicable:
      // Nothing to run; what is checked is that the table says why.
      EXPECT_FALSE(cell->run) << "a cell that does not apply runs no attack";
      EXPECT_FALSE(cell->note.empty()) << "a cell that does not apply says why";
      return;
    case Outcome::Succeeds: {
      ASSERT_TRUE(cell->run);
      ASSERT_FALSE(cell->note.empty()) << "an attack that succeeds says why";
      const Result<void> r = cell->run();
      EXPECT_TRUE(r) << "expected to succeed by design, but: " << r.error().to_string();
      return;
    }
    case Outcome::Rejected: {
      ASSERT_TRUE(cell->run);
      RecordProperty("matrix_code", std::string(error_name(cell->code)));
      const Result<void> r = cell->run();
      ASSERT_FALSE(r) << "the attack succeeded";
      EXPECT_EQ(r.error().code, cell->code) << r.error().to_string();
      return;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Matrix, AttackMatrix, ::testing::ValuesIn(positions()), position_name);

// Every attack has a cell in every mode, and the table names only known
// attacks and modes.
TEST(AttackMatrixTable, EveryCellIsInTheTable) {
  for (const Attack& a : attacks()) {
    for (const Mode& m : modes()) {
      EXPECT_NE(find_cell(a.id, m.id), nullptr) << a.id << " × " << m.id;
    }
  }
  EXPECT_EQ(cells().size(), attacks().size() * modes().size()) << "a cell is listed twice";
}

}  // namespace
}  // namespace atls::test::matrix
