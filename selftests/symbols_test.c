// SPDX-License-Identifier: GPL-2.0
/*
 * vapicvm's global symbols are its own: none shares a name with a symbol of
 * the kernel or of KVM, next to which vapicvm is meant to run, so that a
 * backtrace, a kprobe or a perf profile names one function, not two.
 * Static functions are not checked: they are file-local on both sides.
 * /proc/kallsyms shows a module's non-exported symbols as local, so which
 * of vapicvm's symbols are global is read from the module file itself.
 */
#include <elf.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <string.h>

#include "kselftest_harness.h"
#include "vapicvm_util.h"

#ifndef MODULE_FILE
#define MODULE_FILE	"/lib/vapicvm-bench/vapicvm.ko"
#endif
#define MAX_SYMS	(1 << 20)

struct sym {
	char name[128];
	char type;
	bool ours;
};

static int cmp_sym(const void *a, const void *b)
{
	return strcmp(((const struct sym *)a)->name, ((const struct sym *)b)->name);
}

/*
 * Every module has these: the module loader's entry points and their
 * padding labels (__pfx_, with CONFIG_FUNCTION_PADDING since 6.2), and the
 * bounds of sections the module linker script places, such as 6.10's
 * __start_alloc_tags. They are the build's, not ours.
 */
static bool loader_symbol(const char *name)
{
	if (!strncmp(name, "__pfx_", 6))
		name += 6;
	return !strcmp(name, "init_module") || !strcmp(name, "cleanup_module") ||
	       !strcmp(name, "__this_module") || !strncmp(name, "__start_", 8) ||
	       !strncmp(name, "__stop_", 7);
}

/* The defined global symbols of an ELF64 relocatable file, into syms. */
static size_t read_module_globals(const char *path, struct sym *syms, size_t max)
{
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh;
	struct stat st;
	size_t n = 0;
	void *map;
	int fd, i;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st))
		return 0;
	map = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return 0;
	eh = map;
	sh = (const Elf64_Shdr *)((const char *)map + eh->e_shoff);
	for (i = 0; i < eh->e_shnum; i++) {
		const Elf64_Sym *sym = (const void *)((const char *)map + sh[i].sh_offset);
		const char *strtab = (const char *)map + sh[sh[i].sh_link].sh_offset;
		size_t j, count = sh[i].sh_size / sizeof(*sym);

		if (sh[i].sh_type != SHT_SYMTAB)
			continue;
		for (j = 0; j < count && n < max; j++) {
			if (ELF64_ST_BIND(sym[j].st_info) != STB_GLOBAL ||
			    sym[j].st_shndx == SHN_UNDEF)
				continue;
			snprintf(syms[n].name, sizeof(syms[n].name), "%s", strtab + sym[j].st_name);
			syms[n].ours = true;
			n++;
		}
	}
	munmap(map, st.st_size);
	return n;
}

TEST(global_symbols_are_unique)
{
	static struct sym syms[MAX_SYMS];
	char line[512], module[64];
	size_t n = 0, i, ours = 0, clashes = 0;
	FILE *f;

	if (kvm_modules_available()) {
		ASSERT_EQ(0, load_kvm_modules());
	} else {
		TH_LOG("KVM's modules are not available: checking against the kernel only");
	}
	ours = read_module_globals(MODULE_FILE, syms, MAX_SYMS);
	ASSERT_GT(ours, 20) TH_LOG("cannot read the global symbols of " MODULE_FILE);
	n = ours;
	/* Theirs: every symbol of the kernel and of the other modules. */
	f = fopen("/proc/kallsyms", "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f) && n < MAX_SYMS) {
		struct sym *s = &syms[n];
		unsigned long long addr;

		module[0] = 0;
		if (sscanf(line, "%llx %c %127s [%63[^]]]", &addr, &s->type, s->name, module) < 3)
			continue;
		if (!strcmp(module, "vapicvm"))
			continue;
		s->ours = false;
		n++;
	}
	fclose(f);
	ASSERT_LT(n, MAX_SYMS);
	for (i = 0; i < ours; i++)
		if (loader_symbol(syms[i].name))
			syms[i].name[0] = 0;
	qsort(syms, n, sizeof(syms[0]), cmp_sym);
	for (i = 0; i + 1 < n; i++) {
		if (strcmp(syms[i].name, syms[i + 1].name) ||
		    syms[i].ours == syms[i + 1].ours)
			continue;
		TH_LOG("vapicvm's %s is also a symbol of the kernel or KVM", syms[i].name);
		clashes++;
	}
	EXPECT_EQ(0, clashes);
	unload_kvm_modules();
}

TEST_HARNESS_MAIN
