// SPDX-License-Identifier: GPL-2.0
/*
 * vapicvm's global symbols are its own: none shares a name with a symbol of
 * the kernel or of KVM, next to which vapicvm is meant to run, so that a
 * backtrace, a kprobe or a perf profile names one function, not two.
 * Static functions are not checked: they are file-local on both sides.
 */
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "vapicvm_util.h"

#define KVM_MODULE_DIR	"/lib/vapicvm-bench/kvm"
#define MAX_SYMS	(1 << 20)

static int load_module(const char *name)
{
	char path[256];
	int fd, r;

	snprintf(path, sizeof(path), "%s/%s.ko", KVM_MODULE_DIR, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = syscall(SYS_finit_module, fd, "", 0);
	r = r && errno != EEXIST ? -errno : 0;
	close(fd);
	return r;
}

struct sym {
	char name[128];
	char type;
	bool ours;
};

static int cmp_sym(const void *a, const void *b)
{
	return strcmp(((const struct sym *)a)->name, ((const struct sym *)b)->name);
}

/* Every module has these: they are the module loader's, not ours. */
static bool loader_symbol(const char *name)
{
	return !strcmp(name, "init_module") || !strcmp(name, "cleanup_module") ||
	       !strcmp(name, "__this_module");
}

TEST(global_symbols_are_unique)
{
	static struct sym syms[MAX_SYMS];
	char line[512], module[64];
	size_t n = 0, i, ours = 0, clashes = 0;
	FILE *f;

	if (access(KVM_MODULE_DIR "/kvm-intel.ko", R_OK) == 0) {
		ASSERT_EQ(0, load_module("irqbypass"));
		ASSERT_EQ(0, load_module("kvm"));
		ASSERT_EQ(0, load_module("kvm-intel"));
	} else {
		TH_LOG("KVM's modules are not available: checking against the kernel only");
	}
	f = fopen("/proc/kallsyms", "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f) && n < MAX_SYMS) {
		struct sym *s = &syms[n];
		unsigned long long addr;

		module[0] = 0;
		if (sscanf(line, "%llx %c %127s [%63[^]]]", &addr, &s->type, s->name, module) < 3)
			continue;
		s->ours = !strcmp(module, "vapicvm");
		/* Ours: only global ones.  Theirs: anything with that name. */
		if (s->ours && (s->type < 'A' || s->type > 'Z'))
			continue;
		if (loader_symbol(s->name))
			continue;
		ours += s->ours;
		n++;
	}
	fclose(f);
	ASSERT_LT(n, MAX_SYMS);
	ASSERT_GT(ours, 20) TH_LOG("vapicvm's symbols are not in /proc/kallsyms");
	qsort(syms, n, sizeof(syms[0]), cmp_sym);
	for (i = 0; i + 1 < n; i++) {
		if (strcmp(syms[i].name, syms[i + 1].name) ||
		    syms[i].ours == syms[i + 1].ours)
			continue;
		TH_LOG("vapicvm's %s is also a symbol of the kernel or KVM", syms[i].name);
		clashes++;
	}
	EXPECT_EQ(0, clashes);
	syscall(SYS_delete_module, "kvm_intel", O_NONBLOCK);
	syscall(SYS_delete_module, "kvm", O_NONBLOCK);
	syscall(SYS_delete_module, "irqbypass", O_NONBLOCK);
}

TEST_HARNESS_MAIN
