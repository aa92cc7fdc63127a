// SPDX-License-Identifier: GPL-2.0
/*
 * main() for the GoogleTest executables: TAP on stdout ("1..N", then
 * "ok N suite.test" / "not ok N suite.test", failure details as "#"
 * comments), exit status non-zero on any failure.  GoogleTest's own
 * printer is removed; --gtest_* options still work.
 */
#include <cstdio>
#include <string>

#include <gtest/gtest.h>

namespace
{

class TapListener : public testing::EmptyTestEventListener
{
public:
	void OnTestProgramStart(const testing::UnitTest &u) override
	{
		std::printf("TAP version 13\n1..%d\n", u.test_to_run_count());
		std::fflush(stdout);
	}

	void OnTestPartResult(const testing::TestPartResult &r) override
	{
		if (!r.failed())
			return;
		std::string msg = r.message();
		std::printf("# %s:%d: failure\n", r.file_name() ? r.file_name() : "?",
			    r.line_number());
		std::size_t pos = 0;
		while (pos <= msg.size()) {
			auto nl = msg.find('\n', pos);
			if (nl == std::string::npos)
				nl = msg.size();
			std::printf("#   %s\n", msg.substr(pos, nl - pos).c_str());
			pos = nl + 1;
		}
	}

	void OnTestEnd(const testing::TestInfo &t) override
	{
		const auto *r = t.result();
		++n_;
		if (r->Skipped())
			std::printf("ok %d %s.%s # SKIP\n", n_, t.test_suite_name(), t.name());
		else if (r->Failed())
			std::printf("not ok %d %s.%s\n", n_, t.test_suite_name(), t.name());
		else
			std::printf("ok %d %s.%s\n", n_, t.test_suite_name(), t.name());
		std::fflush(stdout);
	}

private:
	int n_ = 0;
};

} // namespace

int main(int argc, char **argv)
{
	testing::InitGoogleTest(&argc, argv);
	auto &listeners = testing::UnitTest::GetInstance()->listeners();
	delete listeners.Release(listeners.default_result_printer());
	listeners.Append(new TapListener);
	return RUN_ALL_TESTS() == 0 ? 0 : 1;
}
