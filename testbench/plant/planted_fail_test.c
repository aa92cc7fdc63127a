// SPDX-License-Identifier: GPL-2.0
/* Planted failure for the bench's self-check: one passing, one failing test. */
#include "kselftest_harness.h"

TEST(planted_pass)
{
	EXPECT_EQ(1, 1);
}

TEST(planted_failure)
{
	EXPECT_EQ(1, 2) TH_LOG("planted: the bench must report this test as failed");
}

TEST_HARNESS_MAIN
